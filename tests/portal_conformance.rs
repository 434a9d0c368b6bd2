//! Conformance tests of the sans-IO portal user table from recorded events.
//!
//! Each folder in `tests/portal_cases/` holds `limits.json` (the table's limits), `input.jsonl`
//! (one step per line on virtual time: a login with the AAA verdict the driver got, a logoff, a
//! logout by selector and cause, activity, a timeout, new limits) and `expected.jsonl` (per
//! step: the call's result, the events in order, the next deadline). Steps may carry an `expect`
//! with hand-checked facts (the result's kind) that hold whatever the expected file says.
//! `DUET_BLESS=1 cargo test --test portal_conformance` rewrites the expected files.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use duet::aaa::network::{Grant, Refusal};
use duet::portal::users::{Cause, Event, Limits, LoginRequest, Selector, Table};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: u64,
    #[serde(default)]
    note: Option<String>,
    op: Op,
    /// `ok` or `refused`: what the call must answer, checked by hand.
    #[serde(default)]
    expect: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum Op {
    Login {
        req: LoginRequest,
        verdict: Result<Grant, Refusal>,
    },
    Logoff {
        ip: Ipv4Addr,
    },
    Logout {
        selector: Selector,
        cause: Cause,
    },
    Activity {
        ips: Vec<Ipv4Addr>,
    },
    Timeout,
    Limits(Limits),
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Outcome {
    at: u64,
    result: serde_json::Value,
    events: Vec<Event>,
    next_timeout: Option<u64>,
}

fn run_case(dir: &Path, bless: bool) {
    let limits: Limits =
        serde_json::from_str(&fs::read_to_string(dir.join("limits.json")).unwrap()).unwrap();
    let mut table = Table::new(limits);
    let mut outcomes = Vec::new();
    let input = fs::read_to_string(dir.join("input.jsonl")).unwrap();
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let step: Step = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", dir.display(), n + 1));
        let result = match step.op {
            Op::Login { req, verdict } => match table.login(step.at, req, verdict) {
                Ok(done) => serde_json::json!({ "ok": { "commit": done.commit } }),
                Err(e) => serde_json::json!({ "refused": e }),
            },
            Op::Logoff { ip } => serde_json::json!({ "ok": table.logoff(step.at, ip) }),
            Op::Logout { selector, cause } => {
                serde_json::json!({ "ok": table.logout(step.at, &selector, cause) })
            }
            Op::Activity { ips } => {
                table.activity(step.at, ips);
                serde_json::json!({ "ok": null })
            }
            Op::Timeout => {
                table.handle_timeout(step.at);
                serde_json::json!({ "ok": null })
            }
            Op::Limits(l) => {
                table.set_limits(step.at, l);
                serde_json::json!({ "ok": null })
            }
        };
        if let Some(want) = &step.expect {
            assert!(
                result.get(want).is_some(),
                "{}:{} ({}): expected {want}, got {result}",
                dir.display(),
                n + 1,
                step.note.as_deref().unwrap_or("")
            );
        }
        outcomes.push(Outcome {
            at: step.at,
            result,
            events: table.drain(),
            next_timeout: table.poll_timeout(),
        });
    }
    let path = dir.join("expected.jsonl");
    if bless {
        let text: String = outcomes
            .iter()
            .map(|o| serde_json::to_string(o).unwrap() + "\n")
            .collect();
        fs::write(&path, text).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing (DUET_BLESS=1 writes it)", path.display()));
    let expected: Vec<Outcome> = expected
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(expected.len(), outcomes.len(), "{}: steps", dir.display());
    for (i, (want, got)) in expected.iter().zip(&outcomes).enumerate() {
        assert_eq!(want, got, "{}: step {}", dir.display(), i + 1);
    }
}

#[test]
fn recorded_cases() {
    let bless = std::env::var_os("DUET_BLESS").is_some_and(|v| v == "1");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/portal_cases");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 4, "the recorded cases are there");
    for case in cases {
        run_case(&case, bless);
    }
}
