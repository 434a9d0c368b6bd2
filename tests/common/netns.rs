//! Network-namespace helpers shared by the lab tests (`#[path = "common/netns.rs"] mod netns;`):
//! run `ip`, skip without root (a failure under `DUET_REQUIRE_LAB=1`), delete namespaces on
//! drop, build the links between namespaces (veth pairs, bridges), enter a namespace, and wait
//! on a condition with a bound.
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

    /// Create a namespace with its loopback up (the control socket and local services need
    /// it); deleted with the guard.
    pub fn with_loopback(name: &str) -> NsGuard {
        let guard = NsGuard::new(name);
        link_up(name, "lo");
        guard
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

/// An AF_PACKET socket receiving every frame of `ifname` (in the calling thread's namespace:
/// [`enter`] first), with a 100 ms receive timeout.
/// ETH_P_ALL: a socket of one protocol would not see what arrives on a bridge port (the
/// bridge takes the frame before protocol handlers run; only taps of all protocols see it).
pub fn packet_socket(ifname: &str) -> i32 {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket/setsockopt/bind calls on values built here; results checked.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        let name = std::ffi::CString::new(ifname).unwrap();
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
        let rc = libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        fd
    }
}

/// Poll (bounded, every 20 ms) until `cond` holds.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ip -n NS link set DEV up`.
pub fn link_up(ns: &str, dev: &str) {
    ip(&["-n", ns, "link", "set", dev, "up"]);
}

/// A veth pair: `name` in namespace `ns`, its peer `peer` in namespace `peer_ns` (both down).
pub fn veth(ns: &str, name: &str, peer_ns: &str, peer: &str) {
    ip(&[
        "-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer, "netns", peer_ns,
    ]);
}

/// A bridge `name` in `ns` that forwards at once (`forward_delay 0`: no STP listening delay,
/// which would drop the first seconds of every test); left down.
pub fn add_bridge(ns: &str, name: &str) {
    ip(&["-n", ns, "link", "add", name, "type", "bridge"]);
    ip(&[
        "-n",
        ns,
        "link",
        "set",
        name,
        "type",
        "bridge",
        "forward_delay",
        "0",
    ]);
}

/// A veth pair whose end `port` (in `ns`) is a port of `bridge`, up; the peer `peer` is in
/// `peer_ns`, down.
pub fn bridge_port(ns: &str, bridge: &str, port: &str, peer_ns: &str, peer: &str) {
    veth(ns, port, peer_ns, peer);
    ip(&["-n", ns, "link", "set", port, "master", bridge, "up"]);
}

/// `/etc/netns/NS/resolv.conf` with `content`: `ip netns exec` binds it over /etc/resolv.conf,
/// so that a DHCP client's script in the namespace writes there and not into the host's file.
/// Returns the folder, for the tests that remove it.
pub fn private_resolv_conf(ns: &str, content: &str) -> std::path::PathBuf {
    let etc = std::path::PathBuf::from(format!("/etc/netns/{ns}"));
    std::fs::create_dir_all(&etc).expect("create /etc/netns/NS");
    std::fs::write(etc.join("resolv.conf"), content).expect("write resolv.conf");
    etc
}

/// `sysctl -qw SETTING` inside namespace `ns` (`net.ipv4.ip_forward=1`); panics on failure.
pub fn sysctl_in(ns: &str, setting: &str) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-qw", setting])
        .output()
        .expect("run sysctl");
    assert!(
        out.status.success(),
        "sysctl {setting} in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `program ARGS` to its end and collect its output; panics only when it cannot start.
pub fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Poll `cond` every 50 ms for at most `secs` seconds; returns whether it held (the caller
/// says what a timeout means, with the logs it has).
pub fn poll_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!("timed out waiting for {what}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `duet connect --data-dir DATA -c COMMAND` over the device's control socket: its stdout
/// (which starts with the echoed prompt and command) when it succeeds, `None` while the
/// device does not answer or refuses the command.
pub fn duet_command(data_dir: &str, command: &str) -> Option<String> {
    let out = run(
        env!("CARGO_BIN_EXE_duet"),
        &["connect", "--data-dir", data_dir, "-c", command],
    );
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One lab run: its namespaces (named `PREFIX WHICH TAG`), a scratch folder for configs and
/// logs, the Duet under test if the test keeps one here, the programs started in the
/// background, and the namespaces' private resolv.conf folders. Everything goes on drop, also
/// when a check fails: Duet is killed first, then the programs are killed (SIGKILL) and reaped,
/// then the resolv.conf folders removed, then the namespaces deleted (field order). A test
/// adds its own steps with `impl LabRun` in its crate.
pub struct LabRun {
    pub tag: String,
    prefix: &'static str,
    pub dir: tempfile::TempDir,
    /// The device under test, killed before the other programs.
    pub duet: Option<Child>,
    pub children: Vec<Child>,
    resolv_dirs: Vec<std::path::PathBuf>,
    namespaces: Vec<NsGuard>,
}

impl LabRun {
    /// An empty run whose namespaces are named `{prefix}{which}{tag}`.
    pub fn with_prefix(prefix: &'static str) -> LabRun {
        LabRun {
            tag: unique_tag(),
            prefix,
            dir: tempfile::tempdir().expect("scratch folder"),
            duet: None,
            children: Vec::new(),
            resolv_dirs: Vec::new(),
            namespaces: Vec::new(),
        }
    }

    /// The name of namespace `which` of this run.
    pub fn ns(&self, which: &str) -> String {
        format!("{}{which}{}", self.prefix, self.tag)
    }

    /// Create namespace `which` with its loopback up, deleted with the run.
    pub fn add_namespace(&mut self, which: &str) {
        self.namespaces
            .push(NsGuard::with_loopback(&self.ns(which)));
    }

    /// Give namespace `which` its own resolv.conf ([`private_resolv_conf`]), removed with the
    /// run.
    pub fn add_resolv_conf(&mut self, which: &str, content: &str) {
        let dir = private_resolv_conf(&self.ns(which), content);
        self.resolv_dirs.push(dir);
    }

    /// A file in the scratch folder.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// [`LabRun::path`] as a string, for command lines.
    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// A file of the scratch folder, empty while it does not exist.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// `ip netns exec NS ARGS` in the background in namespace `which`, output to the file
    /// `log`; killed with the run. Returns its index in `children`.
    pub fn spawn(&mut self, which: &str, log: &str, args: &[&str]) -> usize {
        let child = spawn_in(&self.ns(which), &self.path(log), args);
        self.children.push(child);
        self.children.len() - 1
    }

    /// A DHCP client script in the scratch folder ([`client_script`]).
    pub fn script(&self, name: &str, body: &str) -> String {
        client_script(self.dir.path(), name, body)
    }

    /// Kill (SIGKILL) and reap the Duet under test, if it runs.
    pub fn kill_duet(&mut self) {
        if let Some(mut d) = self.duet.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// A DHCP client script `DIR/NAME.sh` (executable) that runs `body` and exits 0; `LOG` in
/// `body` stands for `DIR/NAME.log`. A body sets the address inside its namespace only, then
/// logs the event (in that order: a test acts on the log line and needs the address in
/// place). Returns the script's path.
pub fn client_script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join(format!("{name}.log")).display().to_string();
    let text = format!("#!/bin/sh\n{}\nexit 0\n", body.replace("LOG", &log));
    let path = dir.join(format!("{name}.sh"));
    std::fs::write(&path, text).expect("write client script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("make client script executable");
    path.display().to_string()
}

impl Drop for LabRun {
    fn drop(&mut self) {
        self.kill_duet();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for dir in &self.resolv_dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Two devices' namespaces A and B, each with `eth0` on the bridge `br0` of the observer's
/// namespace O (ports `pa`, `pb`), the observer with an address on the bridge, and a scratch
/// folder; the namespaces are deleted on drop. A test adds its own steps with
/// `impl BridgedPair` in its crate.
pub struct BridgedPair {
    pub a: String,
    pub b: String,
    pub o: String,
    pub dir: tempfile::TempDir,
    _guards: Vec<NsGuard>,
}

impl BridgedPair {
    /// Namespaces `{prefix}-a{tag}`, `-b`, `-o`; the observer at `observer_cidr` on `br0`.
    pub fn with_observer(prefix: &str, observer_cidr: &str) -> BridgedPair {
        let tag = unique_tag();
        let (a, b, o) = (
            format!("{prefix}-a{tag}"),
            format!("{prefix}-b{tag}"),
            format!("{prefix}-o{tag}"),
        );
        let guards = vec![
            NsGuard::new(&o),
            NsGuard::with_loopback(&a),
            NsGuard::with_loopback(&b),
        ];
        add_bridge(&o, "br0");
        for (ns, port) in [(&a, "pa"), (&b, "pb")] {
            bridge_port(&o, "br0", port, ns, "eth0");
        }
        ip(&["-n", &o, "addr", "add", observer_cidr, "dev", "br0"]);
        link_up(&o, "br0");
        BridgedPair {
            a,
            b,
            o,
            dir: tempfile::tempdir().expect("scratch folder"),
            _guards: guards,
        }
    }
}
