//! `ping` over the control socket on the simulated network (no root needed): its lines come as
//! `progress` replies while it runs, and an `interrupt` request (what Ctrl+C in `duet connect`
//! and SSH sessions sends) stops it, the statistics and `done` following.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_running_ping_streams_its_lines_and_stops_on_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let mut raw = Raw::open(&device.socket);
    assert_eq!(raw.recv()["type"], "done");
    for line in [
        "system-view",
        "interface g1/0/1",
        "ip address 10.1.1.1 24",
        "return",
    ] {
        raw.send(&format!(r#"{{"op":"exec","line":"{line}"}}"#));
        while raw.recv()["type"] != "done" {}
    }
    // The most echo requests Comware allows, to an address nobody has: only an interrupt
    // ends it in reasonable time.
    raw.send(r#"{"op":"exec","line":"ping -c 4294967295 10.1.1.9"}"#);
    let started = Instant::now();
    let first = raw.recv();
    assert_eq!(first["type"], "progress", "{first}");
    assert_eq!(
        first["text"],
        "Ping 10.1.1.9 (10.1.1.9): 56 data bytes, press CTRL+C to break\n"
    );
    assert_eq!(raw.recv()["text"], "Request time out\n");
    raw.send(r#"{"op":"interrupt"}"#);
    let mut shown = String::new();
    let done = loop {
        let reply = raw.recv();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no end after the interrupt"
        );
        match reply["type"].as_str() {
            Some("progress") => shown.push_str(reply["text"].as_str().unwrap()),
            Some("done") => break reply,
            _ => panic!("unexpected {reply}"),
        }
    };
    assert_eq!(done["ok"], true);
    assert!(
        shown.contains("\n--- Ping statistics for 10.1.1.9 ---\n"),
        "{}",
        &shown[shown.len().saturating_sub(300)..]
    );
    let sent: u64 = shown
        .lines()
        .find_map(|l| l.strip_suffix(" packet(s) received, 100.0% packet loss"))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("statistics");
    assert!(sent < 4_294_967_295, "stopped after {sent}");
    // The session goes on; a late interrupt is ignored.
    raw.send(r#"{"op":"interrupt"}"#);
    raw.send(r#"{"op":"exec","line":"display arp"}"#);
    let reply = raw.recv();
    assert_eq!(reply["type"], "output", "{reply}");
    assert_eq!(raw.recv()["type"], "done");
}

/// Ctrl+C on the console (a PTY: the key arrives as 0x03 in the session's raw input mode)
/// stops a running ping; the statistics and the next prompt follow.
#[test]
fn ctrl_c_on_the_console_stops_a_ping() {
    let mut t = Terminal::start();
    t.type_and_expect("system-view\r", "[Duet]");
    t.type_and_expect("interface g1/0/1\r", "[Duet-GigabitEthernet1/0/1]");
    t.type_and_expect("ip address 10.1.1.1 24\r", "[Duet-GigabitEthernet1/0/1]");
    t.type_and_expect("return\r", "<Duet>");
    t.type_and_expect("ping -c 4294967295 10.1.1.9\r", "Request time out");
    let started = Instant::now();
    t.type_and_expect("\x03", "packet loss");
    t.expect("packet loss\n<Duet>");
    assert!(started.elapsed() < Duration::from_secs(10));
    let screen = t.plain();
    let stats = screen
        .lines()
        .find(|l| l.ends_with("packet(s) received, 100.0% packet loss"))
        .expect("statistics");
    assert!(!stats.starts_with("4294967295 "), "{stats}");
    // The shell goes on.
    t.type_and_expect("display arp\r", "IP address      MAC address");
}
