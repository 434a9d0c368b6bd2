//! Conformance of the VRRP router from recorded events. Each folder of `tests/vrrp_cases/`
//! holds `input.jsonl` (what a device saw, with times) and `expected.jsonl` (everything the
//! router produced: adverts, events, each change of its next deadline, and its statistics at
//! the end). The input is replayed on virtual time: before each input, every timer due at or
//! before its time fires at its exact deadline. `DUET_BLESS=1` rewrites the expected files.
//!
//! Input lines: `{"at_ms": T, "input": <vrrp::Input>}`, or for a received advert built by the
//! harness `{"at_ms": T, "advert": {"from": IP, "advert": <Advertisement>}}` with optional
//! `ttl`, `protocol` and `dst` overrides of the IPv4 header.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use duet::vrrp::packet::{IPPROTO_VRRP, VRRP_MULTICAST, VRRP_TTL};
use duet::vrrp::{Advertisement, Input, IpHeader, RejectReason, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    at_ms: u64,
    #[serde(default)]
    input: Option<Input>,
    #[serde(default)]
    advert: Option<Received>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Received {
    from: Ipv4Addr,
    advert: Advertisement,
    #[serde(default)]
    ttl: Option<u8>,
    #[serde(default)]
    protocol: Option<u8>,
    #[serde(default)]
    dst: Option<Ipv4Addr>,
}

impl InputLine {
    fn into_input(self, line: usize) -> Input {
        match (self.input, self.advert) {
            (Some(input), None) => input,
            (None, Some(r)) => {
                let ip = IpHeader {
                    src: r.from,
                    dst: r.dst.unwrap_or(VRRP_MULTICAST),
                    ttl: r.ttl.unwrap_or(VRRP_TTL),
                    protocol: r.protocol.unwrap_or(IPPROTO_VRRP),
                };
                let payload = r
                    .advert
                    .encode(ip.src, ip.dst)
                    .expect("case adverts must encode");
                Input::Packet { ip, payload }
            }
            _ => panic!("line {line}: give exactly one of `input` and `advert`"),
        }
    }
}

struct Recorder {
    lines: Vec<Value>,
    deadline: Option<Duration>,
}

impl Recorder {
    fn record(&mut self, now: Duration, router: &mut Router) {
        for out in router.drain_outputs() {
            self.lines
                .push(json!({ "at_ns": now.as_nanos() as u64, "out": out }));
        }
        let deadline = router.poll_timeout();
        if deadline != self.deadline {
            self.deadline = deadline;
            self.lines.push(json!({
                "at_ns": now.as_nanos() as u64,
                "deadline_ns": deadline.map(|d| d.as_nanos() as u64),
            }));
        }
    }
}

fn replay(input_file: &Path) -> Vec<Value> {
    let text = fs::read_to_string(input_file).unwrap();
    let mut router: Option<Router> = None;
    let mut rec = Recorder {
        lines: Vec::new(),
        deadline: None,
    };
    for (n, raw) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: InputLine = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", input_file.display(), n + 1));
        let now = Duration::from_millis(line.at_ms);
        let input = line.into_input(n + 1);
        if let Some(r) = router.as_mut() {
            while let Some(due) = r.poll_timeout().filter(|d| *d <= now) {
                r.handle_timeout(due);
                rec.record(due, r);
            }
        }
        let r = router.get_or_insert_with(|| match &input {
            Input::Config { config, .. } => Router::new(config.vrid, true),
            _ => panic!("{}: the first input must be a Config", input_file.display()),
        });
        if let Err(e) = r.handle(now, &input) {
            rec.lines
                .push(json!({ "at_ns": now.as_nanos() as u64, "config_error": e.to_string() }));
        }
        rec.record(now, r);
    }
    let router = router.expect("a case has inputs");
    rec.lines.push(json!({ "statistics": router.statistics() }));
    rec.lines
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vrrp_cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn recorded_cases_replay_to_the_expected_outputs() {
    let bless = std::env::var_os("DUET_BLESS").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(
        cases.len() >= 10,
        "expected the conformance cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let produced = replay(&case.join("input.jsonl"));
        let expected_file = case.join("expected.jsonl");
        if bless {
            let text: String = produced.iter().map(|v| format!("{v}\n")).collect();
            fs::write(&expected_file, text).unwrap();
            continue;
        }
        let expected: Vec<Value> = fs::read_to_string(&expected_file)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run with DUET_BLESS=1 to create it)",
                    expected_file.display()
                )
            })
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if produced != expected {
            let at = produced
                .iter()
                .zip(&expected)
                .position(|(p, e)| p != e)
                .unwrap_or(produced.len().min(expected.len()));
            failures.push(format!(
                "{}: line {} differs\n  expected: {}\n  produced: {}",
                case.file_name().unwrap().to_string_lossy(),
                at + 1,
                expected.get(at).map_or("<end>".into(), Value::to_string),
                produced.get(at).map_or("<end>".into(), Value::to_string),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Its name as recordings spell it. The match has no wildcard, so a new reason does not
/// compile until it is listed here, in `ALL_REASONS`, and given a case.
fn reason_name(r: RejectReason) -> &'static str {
    match r {
        RejectReason::BadIpHeader => "BadIpHeader",
        RejectReason::BadTtl => "BadTtl",
        RejectReason::BadVersion => "BadVersion",
        RejectReason::BadType => "BadType",
        RejectReason::Truncated => "Truncated",
        RejectReason::AddressCount => "AddressCount",
        RejectReason::ZeroInterval => "ZeroInterval",
        RejectReason::BadChecksum => "BadChecksum",
        RejectReason::UnknownAuthType => "UnknownAuthType",
        RejectReason::AuthMismatch => "AuthMismatch",
        RejectReason::IntervalMismatch => "IntervalMismatch",
        RejectReason::VridNotConfigured => "VridNotConfigured",
        RejectReason::AddressListMismatch => "AddressListMismatch",
        RejectReason::LocalIsOwner => "LocalIsOwner",
        RejectReason::OwnAdvert => "OwnAdvert",
        RejectReason::Inactive => "Inactive",
    }
}

const ALL_REASONS: [RejectReason; 16] = [
    RejectReason::BadIpHeader,
    RejectReason::BadTtl,
    RejectReason::BadVersion,
    RejectReason::BadType,
    RejectReason::Truncated,
    RejectReason::AddressCount,
    RejectReason::ZeroInterval,
    RejectReason::BadChecksum,
    RejectReason::UnknownAuthType,
    RejectReason::AuthMismatch,
    RejectReason::IntervalMismatch,
    RejectReason::VridNotConfigured,
    RejectReason::AddressListMismatch,
    RejectReason::LocalIsOwner,
    RejectReason::OwnAdvert,
    RejectReason::Inactive,
];

/// Recordings must say what they claim: every rejection reason appears in some case.
#[test]
fn every_rejection_reason_is_covered_by_a_case() {
    let mut seen = String::new();
    for case in cases() {
        seen += &fs::read_to_string(case.join("expected.jsonl")).unwrap_or_default();
    }
    for reason in ALL_REASONS {
        let name = reason_name(reason);
        assert_eq!(serde_json::to_value(reason).unwrap(), json!(name));
        assert!(
            seen.contains(&format!("\"reason\":\"{name}\"")),
            "no case rejects with {name}"
        );
    }
}
