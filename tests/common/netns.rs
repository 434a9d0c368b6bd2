//! Network-namespace helpers shared by the lab tests (`#[path = "common/netns.rs"] mod netns;`):
//! run `ip`, skip without root (a failure under `DUET_REQUIRE_LAB=1`), delete namespaces on
//! drop, enter a namespace, and wait on a condition with a bound.
//!
//! Each lab test binary uses a different part of this file.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `ip netns exec NS ARGS` in the background, stdout and stderr written to `log`.
pub fn spawn_in(ns: &str, log: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).args(args);
    spawn_logged(&mut cmd, log).expect("spawn in namespace")
}

/// `duet run --net linux --no-console ARGS` in namespace `ns`, in the background, output to
/// `log`. `RUST_LOG` is removed so that what Duet logs does not depend on the caller's shell.
/// `ip netns exec` execs the program: the child's pid is Duet's.
pub fn spawn_duet(ns: &str, log: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_duet")])
        .args(["run", "--net", "linux", "--no-console"])
        .args(args)
        .env_remove("RUST_LOG");
    spawn_logged(&mut cmd, log).expect("start duet")
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> std::io::Result<Child> {
    let out = File::create(log).expect("log file");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
}

/// Run `ip ARGS`, returning stdout; panics with stderr on failure.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Why the lab cannot run here, if it cannot: not root, or one of `programs` missing.
pub fn lab_unavailable(programs: &[&str]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("iproute2 (`ip`) not available".into()),
    }
    for p in programs {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{p} not installed"));
        }
    }
    None
}

/// Skip (or fail under `DUET_REQUIRE_LAB=1`) when the lab cannot run.
pub fn lab_or_skip(test: &str, programs: &[&str]) -> bool {
    match lab_unavailable(programs) {
        None => true,
        Some(reason) => {
            assert!(
                std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
                "{test}: lab required (DUET_REQUIRE_LAB=1) but unavailable: {reason}"
            );
            eprintln!("skipping {test}: {reason}");
            false
        }
    }
}

/// A tag unique to this process and call, for namespace and interface names.
pub fn unique_tag() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{}{n}", std::process::id() % 100_000)
}

/// Deletes the namespace (and the interfaces in it) when dropped, even when the test fails.
pub struct NsGuard(pub String);

impl NsGuard {
    /// Create a namespace that is deleted with the guard.
    pub fn new(name: &str) -> NsGuard {
        ip(&["netns", "add", name]);
        NsGuard(name.to_string())
    }
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Move the calling thread into a namespace (sockets opened afterwards live there).
pub fn enter(ns: &str) {
    let f = File::open(format!("/run/netns/{ns}")).expect("open netns");
    // SAFETY: setns on a valid namespace fd only changes this thread's network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// Poll (bounded, every 20 ms) until `cond` holds.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
