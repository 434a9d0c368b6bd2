//! End to end: `duet demo` with its console on piped input, device B reached with
//! `duet connect`. The story of the README: twenty clients get leases from A and hot backup
//! copies them to B; `shutdown` of A's LAN port; B becomes VRRP master and the same clients
//! renew the same addresses with B; the demo's closing summary says every client kept its
//! address.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DUET: &str = env!("CARGO_BIN_EXE_duet");

/// Run commands on a device of the demo through its control socket (None until it answers).
fn connect(dir: &Path, commands: &[&str]) -> Option<String> {
    let mut cmd = Command::new(DUET);
    cmd.arg("connect").arg("--data-dir").arg(dir);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// (IP, hardware address) of every binding `display dhcp server ip-in-use` lists.
fn bindings(dir: &Path) -> BTreeSet<(String, String)> {
    connect(dir, &["display dhcp server ip-in-use"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("10.0.0."))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

/// Starts `duet demo` with `clients` clients in `demo` (stdin, stdout and stderr piped) and
/// waits until hot backup has copied all their bindings from A to B; returns the bindings.
fn start_demo(demo: &Path, clients: usize) -> (Child, BTreeSet<(String, String)>) {
    let child = Command::new(DUET)
        .args([
            "demo",
            "--lease",
            "10",
            "--clients",
            &clients.to_string(),
            "--dir",
        ])
        .arg(demo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (demo.join("A"), demo.join("B"));
    let on_a = wait_for(
        Duration::from_secs(60),
        &format!("{clients} bindings on A"),
        || {
            let got = bindings(&a);
            (got.len() == clients).then_some(got)
        },
    );
    wait_for(
        Duration::from_secs(30),
        "hot backup to copy them to B",
        || (bindings(&b) == on_a).then_some(()),
    );
    (child, on_a)
}

/// Poll `what` until it gives `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn demo_switchover_keeps_every_client_address() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let b = demo.join("B");
    let (mut child, on_a) = start_demo(&demo, 20);
    let mut stdin = child.stdin.take().unwrap();
    let acks = |log: &str| log.lines().filter(|l| l.contains(" ACK ")).count();
    let log = demo.join("clients.log");

    stdin
        .write_all(b"system-view\ninterface GigabitEthernet1/0/1\nshutdown\n")
        .unwrap();
    stdin.flush().unwrap();
    wait_for(Duration::from_secs(30), "B to become master", || {
        connect(&b, &["display vrrp"])
            .filter(|o| o.contains("Master"))
            .map(|_| ())
    });
    // Clients renew at T1 (5 s) with whichever device is master: B, which ACKs their
    // addresses (every client has renewed once 20 more ACKs are in the log).
    let before = acks(&std::fs::read_to_string(&log).unwrap_or_default());
    wait_for(Duration::from_secs(60), "renewals ACKed by B", || {
        let now = acks(&std::fs::read_to_string(&log).unwrap_or_default());
        (now >= before + 20).then_some(())
    });
    assert_eq!(bindings(&b), on_a, "B holds the same bindings");

    stdin.write_all(b"return\nquit\n").unwrap();
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "demo failed: {err}\n{out}");
    assert!(
        out.contains("This console is device A. Device B: duet connect --data-dir"),
        "{out}"
    );
    assert!(out.contains("[A-GigabitEthernet1/0/1]shutdown"), "{out}");
    assert!(out.contains("Clients: 20 in total, 20 bound"), "{out}");
    assert!(
        out.contains("Every client kept its address; no address was held by two clients."),
        "{out}"
    );
    assert!(!demo.join("A/duet.sock").exists(), "socket removed at exit");
}

/// SIGTERM while the console waits for input (piped, so SIGINT would do the same): both
/// devices stop, the control sockets go, and the closing summary is printed.
#[test]
fn demo_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let (a, b) = (demo.join("A"), demo.join("B"));
    let (mut child, _) = start_demo(&demo, 3);
    let stdin = child.stdin.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(status.success(), "demo ended with {status}: {out}");
    assert!(out.contains("Clients: 3 in total, 3 bound"), "{out}");
    assert!(
        !a.join("duet.sock").exists() && !b.join("duet.sock").exists(),
        "sockets removed"
    );
    let journal_has_leases = std::fs::read_dir(a.join("dhcp"))
        .unwrap()
        .flatten()
        .any(|e| e.metadata().is_ok_and(|m| m.len() > 0));
    assert!(journal_has_leases, "A's lease store holds the bindings");
}
