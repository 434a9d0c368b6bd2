//! A VRRP failover is visible on the console of both devices as it happens: two `duet run`
//! on real interfaces (two network namespaces joined by a veth pair), each with its console on
//! a PTY. The master's priority drops below the backup's: the old master's console prints its
//! change to Backup and the new master's console its change to Master, without a command typed
//! there (info-center's console channel, on by default).
//!
//! Needs root (namespaces); skips without it, fails instead under `DUET_REQUIRE_LAB=1`.

mod common;
#[path = "common/netns.rs"]
mod netns;

use std::io::Write;
use std::time::Duration;

use common::Terminal;
use netns::{NsGuard, ip, lab_or_skip, unique_tag, wait_until};

/// A `duet run` on namespace `ns`'s `eth0`, its console on a PTY.
fn console(ns: &str, dir: &std::path::Path, address: &str, priority: u8) -> Terminal {
    let config = dir.join(format!("{ns}.cfg"));
    std::fs::write(
        &config,
        format!(
            "#\n sysname {ns}\n#\ninterface GigabitEthernet1/0/1\n ip address {address} 255.255.255.0\n \
             vrrp vrid 1 virtual-ip 10.7.0.254\n vrrp vrid 1 priority {priority}\n \
             vrrp vrid 1 timer advertise 10\n#\nreturn\n"
        ),
    )
    .unwrap();
    let args: Vec<String> = [
        "netns",
        "exec",
        ns,
        env!("CARGO_BIN_EXE_duet"),
        "run",
        "--net",
        "linux",
        "--port",
        "ge1/0/1=eth0",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.join(format!("{ns}-data")).to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let t = Terminal::spawn_program("ip", &args, None);
    t.expect(&format!("<{ns}>"));
    t
}

/// Wait (at most 10 s) until `t` shows `text` after byte `from` of its plain screen.
fn shows(t: &Terminal, from: usize, text: &str) {
    wait_until(text, Duration::from_secs(10), || {
        t.plain().get(from..).is_some_and(|s| s.contains(text))
    });
}

#[test]
fn a_failover_shows_on_both_consoles_as_it_happens() {
    if !lab_or_skip("a_failover_shows_on_both_consoles_as_it_happens", &[]) {
        return;
    }
    let tag = unique_tag();
    let (a, b) = (format!("dcon-a{tag}"), format!("dcon-b{tag}"));
    let _guards = [NsGuard::new(&a), NsGuard::new(&b)];
    ip(&[
        "-n", &a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &b,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut ta = console(&a, dir.path(), "10.7.0.1", 120);
    let tb = console(&b, dir.path(), "10.7.0.2", 100);
    // A becomes master, B (started later) backup; each console tells its own story, from
    // start-up on.
    shows(&ta, 0, "changed from Backup to Master");
    shows(&tb, 0, "changed from Initialize to Backup");

    let (from_a, from_b) = (ta.plain().len(), tb.plain().len());
    ta.master
        .write_all(
            b"system-view\rinterface GigabitEthernet1/0/1\rvrrp vrid 1 priority 50\rreturn\r",
        )
        .unwrap();
    shows(&ta, from_a, "changed from Master to Backup");
    shows(&tb, from_b, "changed from Backup to Master");
    for (t, ns) in [(&ta, &a), (&tb, &b)] {
        let screen = t.plain();
        assert!(
            screen.contains(&format!("{ns} VRRP/6/VRRP_STATUS_CHANGE")),
            "{screen}"
        );
    }
}
