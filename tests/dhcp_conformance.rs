//! Conformance tests of the sans-IO DHCP server from recorded events.
//!
//! Each folder in `tests/dhcp_cases/` holds `config.json` (the DHCP configuration and the
//! ingress interface), `input.jsonl` (one step per line on virtual time: a packet, raw bytes, a
//! timeout, a restart from the lease store, a switch) and `expected.jsonl` (per step: the replies
//! decoded, the lease events, the next timeout). Steps may carry an `expect` with hand-checked
//! facts (reply type, address, destination) that hold whatever the expected file says.
//! `DUET_BLESS=1 cargo test --test dhcp_conformance` rewrites the expected files.

mod dhcp_common;

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use dhcp_common::PacketSpec;
use duet::dhcp::config::DhcpConfig;
use duet::dhcp::event::{Destination, Ingress, LeaseChange, LeaseEvent, Stats};
use duet::dhcp::lease::{LeaseState, unhex};
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::dhcp::server::{Server, ServerOptions};
use duet::dhcp::store::LeaseStore;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseConfig {
    dhcp: DhcpConfig,
    ingress: Ingress,
    #[serde(default)]
    offer_hold_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: u64,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    packet: Option<PacketSpec>,
    #[serde(default)]
    raw_hex: Option<String>,
    #[serde(default)]
    ingress: Option<Ingress>,
    #[serde(default)]
    timeout: bool,
    #[serde(default)]
    restart: bool,
    #[serde(default)]
    serving: Option<bool>,
    #[serde(default)]
    server_id: Option<Ipv4Addr>,
    #[serde(default)]
    reset_conflicts: bool,
    #[serde(default)]
    show_stats: bool,
    #[serde(default)]
    expect: Option<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// offer, ack, nak or none.
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    yiaddr: Option<Ipv4Addr>,
    /// broadcast, unicast, hardware or relay.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    lease_time: Option<u32>,
    /// The header's next server.
    #[serde(default)]
    siaddr: Option<Ipv4Addr>,
    /// The header's boot file name ("" for an empty field).
    #[serde(default)]
    file: Option<String>,
    /// Exactly the codes of the options without a field of their own (66, 67, 150, ...).
    #[serde(default)]
    other_codes: Option<Vec<u8>>,
    /// The state of the last event of the step.
    #[serde(default)]
    event: Option<LeaseState>,
}

#[derive(Serialize)]
struct OutReply {
    interface: String,
    to: Destination,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<u64>,
    message: Message,
}

#[derive(Serialize)]
struct Out {
    at: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    replies: Vec<OutReply>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<LeaseEvent>,
    next_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<Stats>,
}

fn open(cfg: &CaseConfig, dir: &Path) -> (Server, LeaseStore, usize) {
    let opts = ServerOptions {
        offer_hold_ms: cfg
            .offer_hold_ms
            .unwrap_or(ServerOptions::default().offer_hold_ms),
    };
    let mut server = Server::new(cfg.dhcp.clone(), opts).expect("case config is valid");
    let (store, rec) = LeaseStore::open(dir).expect("store opens");
    assert!(rec.torn.is_none(), "a clean shutdown leaves no torn record");
    let n = rec.leases.len();
    server.restore(rec.leases);
    (server, store, n)
}

fn run_case(case: &Path) -> Result<(), String> {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let cfg: CaseConfig = serde_json::from_str(
        &fs::read_to_string(case.join("config.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{name}/config.json: {e}"))?;
    let input = fs::read_to_string(case.join("input.jsonl"))
        .map_err(|e| format!("{name}/input.jsonl: {e}"))?;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, mut store, _) = open(&cfg, dir.path());
    let mut lines = Vec::new();
    for (i, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let step: Step =
            serde_json::from_str(line).map_err(|e| format!("{name}/input.jsonl:{}: {e}", i + 1))?;
        let at = format!(
            "{name}/input.jsonl:{}{}",
            i + 1,
            step.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        let mut out = Out {
            at: step.at,
            replies: vec![],
            events: vec![],
            next_timeout: None,
            recovered: None,
            stats: None,
        };
        if step.restart {
            drop((server, store));
            let (s, st, n) = open(&cfg, dir.path());
            (server, store) = (s, st);
            out.recovered = Some(n);
        }
        if let Some(s) = step.serving {
            server.set_serving(s);
        }
        if step.server_id.is_some() {
            server.set_server_id(step.server_id);
        }
        if step.reset_conflicts {
            server.reset_conflicts(step.at, None);
        }
        if step.timeout {
            server.handle_timeout(step.at);
        }
        let ingress = step.ingress.clone().unwrap_or_else(|| cfg.ingress.clone());
        let bytes = match (&step.packet, &step.raw_hex) {
            (Some(p), _) => Some(p.message().encode()),
            (None, Some(h)) => Some(unhex(h).ok_or(format!("{at}: bad raw_hex"))?),
            (None, None) => None,
        };
        let replies = bytes
            .map(|b| server.handle_packet(step.at, &ingress, &b))
            .unwrap_or_default();
        // The driver's part: journal the events, flush once, then release the held replies.
        let events = server.drain_events();
        for e in &events {
            store.append(&e.change);
        }
        store.flush().map_err(|e| format!("{at}: {e}"))?;
        let last_durable = events.last().map(|e| e.seq);
        for r in replies {
            // Every reply of a case is sent: count it as the driver does.
            server.reply_sent(&r);
            if let Some(c) = r.commit
                && (last_durable.is_none_or(|d| c > d) || !events.iter().any(|e| e.seq == c))
            {
                return Err(format!(
                    "{at}: reply held for event {c}, which this step did not produce"
                ));
            }
            let message = Message::decode(&r.bytes)
                .map_err(|e| format!("{at}: server sent an undecodable reply: {e}"))?;
            out.replies.push(OutReply {
                interface: r.interface,
                to: r.to,
                commit: r.commit,
                message,
            });
        }
        out.events = events;
        out.next_timeout = server.poll_timeout();
        if step.show_stats {
            out.stats = Some(server.stats().clone());
        }
        if let Some(x) = &step.expect {
            check(&at, x, &out)?;
        }
        lines.push(serde_json::to_string(&out).unwrap());
    }
    let got = lines.join("\n") + "\n";
    let path = case.join("expected.jsonl");
    if std::env::var_os("DUET_BLESS").is_some() {
        fs::write(&path, &got).unwrap();
        return Ok(());
    }
    let want = fs::read_to_string(&path)
        .map_err(|e| format!("{name}/expected.jsonl: {e} (run with DUET_BLESS=1)"))?;
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return Err(format!(
                "{name}/expected.jsonl:{}:\n  want {w}\n  got  {g}",
                n + 1
            ));
        }
    }
    if got.lines().count() != want.lines().count() {
        return Err(format!(
            "{name}: {} output lines, expected {}",
            got.lines().count(),
            want.lines().count()
        ));
    }
    Ok(())
}

fn check(at: &str, x: &Expect, out: &Out) -> Result<(), String> {
    let r = out.replies.first();
    let kind = r.map(|r| match r.message.options.message_type {
        Some(MessageType::Offer) => "offer",
        Some(MessageType::Ack) => "ack",
        Some(MessageType::Nak) => "nak",
        _ => "other",
    });
    if kind.unwrap_or("none") != x.kind {
        return Err(format!(
            "{at}: expected {} reply, got {}",
            x.kind,
            kind.unwrap_or("none")
        ));
    }
    if let (Some(want), Some(r)) = (x.yiaddr, r)
        && r.message.yiaddr != want
    {
        return Err(format!(
            "{at}: expected yiaddr {want}, got {}",
            r.message.yiaddr
        ));
    }
    if let (Some(want), Some(r)) = (&x.to, r) {
        let got = serde_json::to_value(&r.to).unwrap()["kind"]
            .as_str()
            .unwrap()
            .to_string();
        if &got != want {
            return Err(format!("{at}: expected a reply to {want}, got {got}"));
        }
    }
    if let (Some(want), Some(r)) = (x.lease_time, r)
        && r.message.options.lease_time != Some(want)
    {
        return Err(format!(
            "{at}: expected lease time {want}, got {:?}",
            r.message.options.lease_time
        ));
    }
    if let (Some(want), Some(r)) = (x.siaddr, r)
        && r.message.siaddr != want
    {
        return Err(format!(
            "{at}: expected siaddr {want}, got {}",
            r.message.siaddr
        ));
    }
    if let (Some(want), Some(r)) = (&x.file, r)
        && r.message.file != want.as_bytes()
    {
        return Err(format!(
            "{at}: expected file {want:?}, got {:?}",
            String::from_utf8_lossy(&r.message.file)
        ));
    }
    if let (Some(want), Some(r)) = (&x.other_codes, r) {
        let got: Vec<u8> = r.message.options.other.keys().copied().collect();
        if &got != want {
            return Err(format!("{at}: expected options {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = x.event {
        let got = out.events.last().and_then(|e| match &e.change {
            LeaseChange::Upsert(r) => Some(r.state),
            LeaseChange::Remove(_) => None,
        });
        if got != Some(want) {
            return Err(format!("{at}: expected a {want:?} event, got {got:?}"));
        }
    }
    Ok(())
}

#[test]
fn dhcp_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dhcp_cases");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 27, "the DHCP conformance cases are missing");
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
