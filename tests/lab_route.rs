//! Lab test of static routes on Linux, in network namespaces (root needed):
//!
//! ```text
//!  [host ns A] eth0 ---- d1 [Duet ns D] d2 ---- r1 [router ns R] r2 ---- eth0 [host ns C]
//!  10.61.1.2/24          10.61.1.1    10.61.2.1  10.61.2.2     10.61.3.1     10.61.3.2/24
//! ```
//!
//! `duet run --net linux` in D holds `ip route-static 10.61.3.0 24 10.61.2.2`: the route is in
//! D's kernel table with Duet's protocol (208) and metric 60, forwarding is on, and a ping from
//! A reaches C through D and R. `undo ip route-static` takes the route out of the kernel (the
//! ping fails); a route whose port is shut down leaves the kernel and comes back with
//! `undo shutdown`. A Duet killed with SIGKILL leaves its route behind; the next one started
//! on the namespace removes it (it finds Duet's routes by their protocol). SIGTERM removes
//! Duet's routes and nothing else: a route added by hand stays. Without root, iproute2 or a ping (iputils or busybox) the test skips with the
//! reason; `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "common/netns.rs"]
mod netns;

use netns::{NsGuard, ip, lab_or_skip, unique_tag, wait_until};

const DUET: &str = env!("CARGO_BIN_EXE_duet");

/// `ping` (iputils) or busybox's: the program and the arguments before the options.
fn ping_program() -> Option<Vec<&'static str>> {
    let has = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has("ping") {
        Some(vec!["ping"])
    } else if has("busybox") {
        Some(vec!["busybox", "ping"])
    } else {
        None
    }
}

/// Namespaces, files and the Duet process of one run; all removed on drop, also when a check
/// fails.
struct Lab {
    a: String,
    d: String,
    ping: Vec<&'static str>,
    dir: tempfile::TempDir,
    duet: Option<Child>,
    // Last: the namespaces go after the process in them.
    _guards: Vec<NsGuard>,
}

impl Lab {
    fn new(ping: Vec<&'static str>) -> Lab {
        let tag = unique_tag();
        let [a, d, r, c] = ["a", "d", "r", "c"].map(|n| format!("droute-{n}{tag}"));
        let guards = vec![
            NsGuard::new(&a),
            NsGuard::new(&d),
            NsGuard::new(&r),
            NsGuard::new(&c),
        ];
        let veth = |ns: &str, name: &str, peer_ns: &str, peer: &str| {
            ip(&[
                "-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer, "netns",
                peer_ns,
            ]);
        };
        veth(&d, "d1", &a, "eth0");
        veth(&d, "d2", &r, "r1");
        veth(&r, "r2", &c, "eth0");
        for ns in [&a, &d, &r, &c] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let up = |ns: &str, dev: &str, addr: &str| {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        };
        up(&a, "eth0", "10.61.1.2/24");
        up(&r, "r1", "10.61.2.2/24");
        up(&r, "r2", "10.61.3.1/24");
        up(&c, "eth0", "10.61.3.2/24");
        ip(&["-n", &a, "route", "add", "default", "via", "10.61.1.1"]);
        ip(&["-n", &c, "route", "add", "default", "via", "10.61.3.1"]);
        ip(&["-n", &r, "route", "add", "10.61.1.0/24", "via", "10.61.2.1"]);
        let forwarding = Command::new("ip")
            .args([
                "netns",
                "exec",
                &r,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ])
            .status()
            .expect("sysctl");
        assert!(
            forwarding.success(),
            "forwarding on in the router namespace"
        );
        Lab {
            a,
            d,
            ping,
            dir: tempfile::tempdir().unwrap(),
            duet: None,
            _guards: guards,
        }
    }

    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn start_duet(&mut self, config: &str) {
        std::fs::write(self.p("route.cfg"), config).unwrap();
        let log = std::fs::File::create(self.p("duet.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.d, DUET, "run", "--net", "linux"])
            .args([
                "--port",
                "ge1/0/1=d1",
                "--port",
                "ge1/0/2=d2",
                "--no-console",
            ])
            .args([
                "--config",
                &self.p("route.cfg"),
                "--data-dir",
                &self.p("data"),
            ])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start duet");
        self.duet = Some(child);
    }

    /// SIGTERM, and wait (bounded) for Duet to end.
    fn stop_duet(&mut self) {
        let mut child = self.duet.take().expect("duet running");
        // SAFETY: signalling our own child (`ip netns exec` execs Duet: the pid is Duet's).
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            assert!(
                Instant::now() < deadline,
                "duet ignored SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: nothing is cleaned up.
    fn kill_duet(&mut self) {
        let mut child = self.duet.take().expect("duet running");
        let _ = child.kill();
        let _ = child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.p("duet.log")).unwrap_or_default()
    }

    fn connect(&self, commands: &[&str]) -> Output {
        let mut cmd = Command::new(DUET);
        cmd.args(["connect", "--data-dir", &self.p("data")]);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let out = cmd.stdin(Stdio::null()).output().expect("duet connect");
        assert!(
            out.status.success(),
            "{commands:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        out
    }

    /// D's IPv4 routes (`ip -o route`), one per line.
    fn routes(&self) -> String {
        ip(&["-n", &self.d, "-o", "-4", "route", "show", "table", "main"])
    }

    /// D's routes with Duet's protocol number.
    fn duet_routes(&self) -> String {
        let all = self.routes();
        let ours: Vec<&str> = all.lines().filter(|l| l.contains(" proto 208 ")).collect();
        ours.join("\n")
    }

    /// One echo request from A to C, one second to answer.
    fn ping_crosses(&self) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.a])
            .args(&self.ping)
            .args(["-c", "1", "-W", "1", "10.61.3.2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut d) = self.duet.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// D's ports' addresses, as a configuration file starts.
const ADDRESSES: &str = "#\ninterface GigabitEthernet1/0/1\n ip address 10.61.1.1 255.255.255.0\n\
     #\ninterface GigabitEthernet1/0/2\n ip address 10.61.2.1 255.255.255.0\n";

const ROUTE: &str = "10.61.3.0/24 via 10.61.2.2 dev d2 proto 208 metric 60";

#[test]
fn static_routes_reach_the_kernel_carry_traffic_and_leave_with_undo_and_stop() {
    let test = "static_routes_reach_the_kernel_carry_traffic_and_leave_with_undo_and_stop";
    if !lab_or_skip(test, &[]) {
        return;
    }
    let Some(ping) = ping_program() else {
        assert!(
            std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
            "{test}: lab required but neither ping nor busybox is installed"
        );
        eprintln!("skipping {test}: neither ping nor busybox is installed");
        return;
    };
    let mut lab = Lab::new(ping);
    lab.start_duet(&format!(
        "{ADDRESSES}#\n ip route-static 10.61.3.0 24 10.61.2.2\n#\nreturn\n"
    ));
    let limit = Duration::from_secs(20);
    wait_until("Duet's route in the kernel", limit, || {
        lab.duet_routes().contains(ROUTE)
    });
    let forwarding = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.d,
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&forwarding.stdout).trim(), "1");
    wait_until("a ping from A to C through D and R", limit, || {
        lab.ping_crosses()
    });
    let shown = lab.connect(&["display ip routing-table protocol static"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout)
            .contains("10.61.3.0/24       Static  60  0           10.61.2.2       GE1/0/2"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );

    // undo: out of the kernel, and the ping no longer crosses.
    lab.connect(&["system-view", "undo ip route-static 10.61.3.0 24"]);
    wait_until("the route removed", limit, || {
        lab.duet_routes().trim().is_empty()
    });
    assert!(!lab.ping_crosses(), "no route, no crossing");

    // A route whose port is down is kept and comes back with the port.
    lab.connect(&["system-view", "ip route-static 10.61.3.0 24 10.61.2.2"]);
    wait_until("the route back", limit, || {
        lab.duet_routes().contains(ROUTE)
    });
    lab.connect(&["system-view", "interface ge1/0/2", "shutdown"]);
    wait_until("the route gone with its port", limit, || {
        lab.duet_routes().trim().is_empty()
    });
    lab.connect(&["system-view", "interface ge1/0/2", "undo shutdown"]);
    wait_until("the route back with its port", limit, || {
        lab.duet_routes().contains(ROUTE)
    });
    wait_until("the ping crossing again", limit, || lab.ping_crosses());

    // A Duet killed with SIGKILL leaves its route; the next one removes it at start (it was
    // recorded in the data directory: `duet cleanup`), or else finds it by its protocol and
    // removes it when its configuration does not have it.
    ip(&[
        "-n",
        &lab.d,
        "route",
        "add",
        "10.61.9.0/24",
        "via",
        "10.61.2.2",
    ]);
    lab.kill_duet();
    assert!(lab.duet_routes().contains(ROUTE), "{}", lab.routes());
    lab.start_duet(ADDRESSES);
    wait_until("the stale route removed", limit, || {
        lab.duet_routes().trim().is_empty()
    });
    // The start-up cleanup runs before the control socket exists.
    wait_until("the device to answer", limit, || {
        Command::new(DUET)
            .args([
                "connect",
                "--data-dir",
                &lab.p("data"),
                "-c",
                "display version",
            ])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    });

    // Stopping removes Duet's routes and nothing else.
    lab.connect(&["system-view", "ip route-static 10.61.3.0 24 10.61.2.2"]);
    wait_until("the route back", limit, || {
        lab.duet_routes().contains(ROUTE)
    });
    lab.stop_duet();
    let left = lab.routes();
    assert!(lab.duet_routes().trim().is_empty(), "{left}");
    assert!(
        left.contains("10.61.9.0/24 via 10.61.2.2 dev d2"),
        "the hand-made route stays: {left}"
    );
}

/// The Linux route I/O reads back exactly what it installed, one next hop or several
/// (multipath), and its removal leaves a route of another protocol to the same destination.
#[test]
fn linux_route_io_reads_back_what_it_installs() {
    use duet::route::io::{LinuxRouteIo, RouteIo};
    use duet::route::table::FibRoute;

    let test = "linux_route_io_reads_back_what_it_installs";
    if !lab_or_skip(test, &[]) {
        return;
    }
    let ns = format!("droute-io{}", unique_tag());
    let _guard = NsGuard::new(&ns);
    ip(&[
        "-n", &ns, "link", "add", "p1", "type", "veth", "peer", "name", "p2",
    ]);
    ip(&["-n", &ns, "addr", "add", "10.62.0.1/24", "dev", "p1"]);
    ip(&["-n", &ns, "link", "set", "p1", "up"]);
    ip(&["-n", &ns, "link", "set", "p2", "up"]);
    ip(&[
        "-n",
        &ns,
        "route",
        "add",
        "10.62.5.0/24",
        "via",
        "10.62.0.9",
        "metric",
        "5",
    ]);
    let port: duet::interface::name::IfName = "ge1/0/1".parse().unwrap();
    let route = |hops: &[&str], metric| FibRoute {
        dest: "10.62.5.0".parse().unwrap(),
        len: 24,
        metric,
        next_hops: hops
            .iter()
            .map(|h| (h.parse().unwrap(), port.clone()))
            .collect(),
    };
    let single = route(&["10.62.0.2"], 60);
    let multi = route(&["10.62.0.2", "10.62.0.3"], 60);
    let default = FibRoute {
        dest: "0.0.0.0".parse().unwrap(),
        len: 0,
        ..route(&["10.62.0.4"], 70)
    };
    let ns_thread = ns.clone();
    let port_map = vec![(port.clone(), "p1".to_string())];
    let worker = std::thread::spawn(move || {
        netns::enter(&ns_thread);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // Every route is recorded for `duet cleanup` while it is installed (net::ledger).
            let data = tempfile::tempdir().unwrap();
            let kernel = std::sync::Arc::new(duet::net::ledger::Ledger::open(data.path()).0);
            let mut io = LinuxRouteIo::new(&port_map, kernel.clone()).expect("netlink");
            assert_eq!(io.installed().await.unwrap(), []);
            io.replace(&single).await.unwrap();
            assert_eq!(io.installed().await.unwrap(), std::slice::from_ref(&single));
            let recorded: Vec<String> = kernel.objects().iter().map(|o| o.to_string()).collect();
            assert_eq!(
                recorded,
                [format!(
                    "route {}/{} table 254 metric {} protocol 208",
                    single.dest, single.len, single.metric
                )]
            );
            io.replace(&multi).await.unwrap();
            io.replace(&default).await.unwrap();
            let mut have = io.installed().await.unwrap();
            have.sort();
            assert_eq!(have, [default.clone(), multi.clone()]);
            io.remove(&multi).await.unwrap();
            io.remove(&default).await.unwrap();
            // Removing what is gone already is success.
            io.remove(&default).await.unwrap();
            assert_eq!(io.installed().await.unwrap(), []);
            assert_eq!(kernel.objects(), []);
        });
    });
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
    let left = ip(&["-n", &ns, "-o", "-4", "route", "show"]);
    assert!(
        left.contains("10.62.5.0/24 via 10.62.0.9 dev p1 metric 5"),
        "the hand-made route stays: {left}"
    );
}
