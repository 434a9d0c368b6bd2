//! The systemd unit (packaging/duet.service) and Duet's side of it: `systemd-analyze verify`
//! accepts the unit with no warning, and `duet run` sends READY=1 once it runs and then
//! WATCHDOG=1 while its engines beat (Type=notify, WatchdogSec=), and STOPPING=1 on SIGTERM,
//! through NOTIFY_SOCKET as systemd would set it. No systemd needs to run.
//!
//! Without systemd-analyze (Debian package `systemd`) the unit check skips with a reason;
//! `DUET_REQUIRE_LAB=1` (CI) turns the skip into a failure.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/duet.service");

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if !have("systemd-analyze") {
        assert!(
            std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
            "systemd-analyze required (DUET_REQUIRE_LAB=1) but not installed (apt package systemd)"
        );
        eprintln!("skipping the_unit_passes_systemd_analyze_verify: systemd-analyze not installed");
        return;
    }
    // verify checks that the programs exist: point them at the binary under test. Manual
    // pages are checked by tests/package_deb.rs in the package, not here.
    let text = std::fs::read_to_string(UNIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("duet.service");
    std::fs::write(
        &unit,
        text.replace("/usr/bin/duet", env!("CARGO_BIN_EXE_duet")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {:?}\n{stderr}",
        out.status
    );
    // What the rest of the project relies on.
    for line in [
        "Type=notify",
        "Restart=always",
        "EnvironmentFile=/etc/default/duet",
        "ExecStopPost=/usr/bin/duet cleanup --data-dir /var/lib/duet $DUET_PORTS",
    ] {
        assert!(text.lines().any(|l| l == line), "the unit lacks `{line}`");
    }
    assert!(text.lines().any(|l| l.starts_with("WatchdogSec=")));
}

/// Wait (bounded) for a datagram on `socket` that contains `what`.
fn wait_for(socket: &UnixDatagram, what: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        assert!(!left.is_zero(), "no {what} within {limit:?}");
        socket.set_read_timeout(Some(left)).unwrap();
        if let Ok(n) = socket.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == what)
        {
            return start.elapsed();
        }
    }
}

#[test]
fn run_says_ready_then_feeds_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let log = std::fs::File::create(dir.path().join("duet.log")).unwrap();
    // systemd names the watched process in WATCHDOG_PID: the shell's pid is Duet's after exec.
    let mut child = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_duet"))
        .args(["run", "--net", "sim", "--no-console", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("NOTIFY_SOCKET", &path)
        // WatchdogSec=400ms: fed every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let ready = wait_for(&socket, "READY=1", Duration::from_secs(20));
    for _ in 0..3 {
        wait_for(&socket, "WATCHDOG=1", Duration::from_secs(2));
    }
    eprintln!("READY=1 after {ready:?}; WATCHDOG=1 three times");
    // systemctl stop: SIGTERM, and the device says it is stopping.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    wait_for(&socket, "STOPPING=1", Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    assert!(Path::new(&path).exists());
}

#[test]
fn the_shipped_configuration_loads_and_the_environment_file_names_what_the_unit_uses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging");
    let check = Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg("check")
        .arg(format!("{dir}/startup.cfg"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let default = std::fs::read_to_string(format!("{dir}/default")).unwrap();
    for var in ["DUET_PORTS", "DUET_OPTIONS"] {
        assert!(
            unit.contains(&format!("${var}")),
            "the unit does not use {var}"
        );
        assert!(
            default.lines().any(|l| l.starts_with(&format!("{var}="))),
            "/etc/default/duet does not set {var}"
        );
    }
}
