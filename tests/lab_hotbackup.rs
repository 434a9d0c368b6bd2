//! Lab test of hot backup with real binaries and clients, in network namespaces (root needed):
//!
//! ```text
//!            [ns A: duet A] a0 ---+                    +--- b0 [ns B: duet B]
//!             10.1.1.2     a1 ----|--- failover link --|---- b1  10.1.1.3
//!                          10.9.0.1/30                 |     10.9.0.2/30
//!                                 +-- br0 [ns C: dhclient, perfdhcp] --+
//!                                         LAN 10.1.0.0/16, VRRP VIP 10.1.1.1
//! ```
//!
//! Two `duet run --net linux --no-console` devices in synchronous hot backup; A is the VRRP
//! master. ISC dhclient (30-second leases) and perfdhcp get leases through A; A is killed with
//! SIGKILL while perfdhcp runs. B becomes master; every lease perfdhcp and dhclient got an ACK
//! for is in B's `display dhcp server ip-in-use`, and dhclient's next renewal is ACKed by B with
//! the same address. Failover-link cuts and a restarted backup are covered on the simulated
//! network (tests/hotbackup_pair.rs). Without root or a tool the test skips with the reason;
//! `DUET_REQUIRE_LAB=1` turns the skip into a failure.

#[path = "common/netns.rs"]
mod netns;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DUET: &str = env!("CARGO_BIN_EXE_duet");
const TOOLS: &[&str] = &["dhclient", "perfdhcp"];

fn sh(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Namespaces, files and processes of one run; all removed on drop, also when a check fails.
struct Lab {
    tag: String,
    dir: tempfile::TempDir,
    children: Vec<Child>,
    duets: Vec<(String, Option<Child>)>,
}

fn config(name: &str, lan: &str, prio: u8, source: &str, peer: &str) -> String {
    format!(
        "#
 sysname {name}
#
 dhcp enable
 dhcp server hot-backup
#
dhcp server ip-pool lan
 gateway-list 10.1.1.1
 network 10.1.0.0 mask 255.255.0.0
 address range 10.1.1.10 10.1.200.250
 expired day 0 hour 0 minute 0 second 30
#
hot-backup
 peer {peer} source {source}
 track vrrp vrid 1 interface GigabitEthernet1/0/1
 authentication-key plain lab-secret
 hot-backup enable
#
interface GigabitEthernet1/0/1
 ip address {lan} 255.255.0.0
 vrrp vrid 1 virtual-ip 10.1.1.1
 vrrp vrid 1 priority {prio}
 vrrp vrid 1 timer advertise 50
 dhcp server apply ip-pool lan
#
interface GigabitEthernet1/0/2
 ip address {source} 255.255.255.252
#
return
"
    )
}

impl Lab {
    fn ns(&self, which: &str) -> String {
        format!("dh{which}{}", self.tag)
    }

    fn new() -> Lab {
        let tag = netns::unique_tag();
        let lab = Lab {
            tag,
            dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
            duets: Vec::new(),
        };
        for n in ["A", "B", "C"] {
            netns::ip(&["netns", "add", &lab.ns(n)]);
            netns::ip(&["-n", &lab.ns(n), "link", "set", "lo", "up"]);
        }
        let etc = PathBuf::from(format!("/etc/netns/{}", lab.ns("C")));
        fs::create_dir_all(&etc).unwrap();
        fs::write(etc.join("resolv.conf"), "# lab namespace\n").unwrap();
        let (a, b, c) = (lab.ns("A"), lab.ns("B"), lab.ns("C"));
        netns::ip(&["-n", &c, "link", "add", "br0", "type", "bridge"]);
        for (ns, dev, peer) in [(&a, "a0", "ca"), (&b, "b0", "cb")] {
            netns::ip(&[
                "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", &c,
            ]);
            netns::ip(&["-n", &c, "link", "set", peer, "master", "br0", "up"]);
        }
        netns::ip(&["-n", &c, "link", "set", "br0", "up"]);
        netns::ip(&[
            "-n", &a, "link", "add", "a1", "type", "veth", "peer", "name", "b1", "netns", &b,
        ]);
        fs::write(
            lab.path("a.cfg"),
            config("A", "10.1.1.2", 120, "10.9.0.1", "10.9.0.2"),
        )
        .unwrap();
        fs::write(
            lab.path("b.cfg"),
            config("B", "10.1.1.3", 100, "10.9.0.2", "10.9.0.1"),
        )
        .unwrap();
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `ip netns exec NS ARGS` in the background, output to `log`.
    fn spawn(&mut self, ns: &str, log: &str, args: &[&str]) -> usize {
        let child = netns::spawn_in(&self.ns(ns), &self.path(log), args);
        self.children.push(child);
        self.children.len() - 1
    }

    /// Start device `which` ("A" or "B") with its ports on `x0` and `x1`.
    fn start_duet(&mut self, which: &str) {
        let lower = which.to_lowercase();
        let out = fs::File::create(self.path(&format!("duet-{lower}.out"))).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(which),
                DUET,
                "run",
                "--net",
                "linux",
            ])
            .args([
                "--no-console",
                "--port",
                &format!("GigabitEthernet1/0/1={lower}0"),
                "--port",
                &format!("GigabitEthernet1/0/2={lower}1"),
            ])
            .args([
                "--data-dir",
                &self.p(&format!("data-{lower}")),
                "--config",
                &self.p(&format!("{lower}.cfg")),
            ])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start duet");
        self.duets.push((which.to_string(), Some(child)));
    }

    fn kill_duet(&mut self, which: &str) {
        for (name, child) in &mut self.duets {
            if name == which
                && let Some(mut c) = child.take()
            {
                let _ = c.kill(); // SIGKILL
                let _ = c.wait();
            }
        }
    }

    fn try_display(&self, which: &str, command: &str) -> Option<String> {
        let data = self.p(&format!("data-{}", which.to_lowercase()));
        let out = sh(DUET, &["connect", "--data-dir", &data, "-c", command]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn display(&self, which: &str, command: &str) -> String {
        self.try_display(which, command)
            .unwrap_or_else(|| panic!("{command} on {which} failed\n{}", self.outputs()))
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        let client = self.read("dhclient.out");
        let tail: Vec<&str> = client.lines().rev().take(30).collect();
        format!(
            "duet A:\n{}\nduet B:\n{}\nB:\n{}{}{}\ndhclient (last lines, newest first):\n{}",
            self.read("duet-a.out"),
            self.read("duet-b.out"),
            self.try_display("B", "display dhcp server statistics").unwrap_or_default(),
            self.try_display("B", "display vrrp verbose").unwrap_or_default(),
            String::from_utf8_lossy(
                &sh("sh", &["-c", &format!(
                    "ip -n {c} neigh; ip -n {c} link; ip -n {b} addr; ip -n {b} link; ip netns exec {c} ping -c1 -W1 10.1.1.1",
                    c = self.ns("C"), b = self.ns("B")
                )]).stdout
            ),
            tail.join("\n")
        )
    }

    fn wait(&self, what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.outputs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn script(&self, name: &str, body: &str) -> String {
        let log = self.p(&format!("{name}.log"));
        let text = format!("#!/bin/sh\n{}\nexit 0\n", body.replace("LOG", &log));
        let path = self.path(&format!("{name}.sh"));
        fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.kill_duet("A");
        self.kill_duet("B");
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["A", "B", "C"] {
            let _ = sh("ip", &["netns", "del", &self.ns(n)]);
        }
        let _ = fs::remove_dir_all(format!("/etc/netns/{}", self.ns("C")));
    }
}

/// The addresses of `reason=EVENT ip=...` lines, in order.
fn logged(log: &str, event: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.starts_with(event))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("ip=")))
        .map(str::to_string)
        .collect()
}

/// perfdhcp's count of received packets in the `REQUEST-ACK` exchange.
fn acks(perfdhcp: &str) -> u64 {
    let mut in_ack = false;
    for line in perfdhcp.lines() {
        if line.contains("Statistics for: REQUEST-ACK") {
            in_ack = true;
        } else if in_ack && let Some(n) = line.trim().strip_prefix("received packets:") {
            return n.trim().parse().unwrap_or(0);
        }
    }
    panic!("no REQUEST-ACK statistics in perfdhcp output:\n{perfdhcp}");
}

#[test]
fn the_backup_takes_over_every_acked_lease_after_kill_9_of_the_master() {
    if !netns::lab_or_skip(
        "the_backup_takes_over_every_acked_lease_after_kill_9_of_the_master",
        TOOLS,
    ) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_duet("A");
    lab.start_duet("B");
    lab.wait("real-time backup with A as master", 30, || {
        let a = lab
            .try_display("A", "display hot-backup")
            .unwrap_or_default();
        a.contains("Real-time backup") && a.contains("Local VRRP role           : Master")
    });

    let script = lab.script(
        "dhclient",
        r#"echo "reason=$reason ip=$new_ip_address" >> LOG
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac"#,
    );
    let (pf, lf) = (lab.p("dhclient.pid"), lab.p("dhclient.leases"));
    let dhclient = [
        "dhclient", "-4", "-d", "-v", "-sf", &script, "-pf", &pf, "-lf", &lf, "br0",
    ];
    lab.spawn("C", "dhclient.out", &dhclient);
    lab.wait("dhclient bound", 15, || {
        !logged(&lab.read("dhclient.log"), "reason=BOUND").is_empty()
    });
    let ip = logged(&lab.read("dhclient.log"), "reason=BOUND")[0].clone();

    // Load: fresh clients at 200 DORA/s for 6 s; A dies 2 s in.
    let perf = [
        "perfdhcp", "-4", "-l", "br0", "-r", "200", "-R", "4000000", "-p", "6",
    ];
    let perf_child = lab.spawn("C", "perfdhcp.out", &perf);
    std::thread::sleep(Duration::from_secs(2));
    let killed = Instant::now();
    lab.kill_duet("A");
    lab.wait("B as VRRP master", 10, || {
        lab.try_display("B", "display hot-backup")
            .unwrap_or_default()
            .contains("Local VRRP role           : Master")
    });
    eprintln!(
        "B master {} ms after kill -9 of A",
        killed.elapsed().as_millis()
    );
    let renewals_before = logged(&lab.read("dhclient.log"), "reason=RENEW").len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(lab.children[perf_child].try_wait(), Ok(Some(_))) {
        assert!(Instant::now() < deadline, "perfdhcp did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    let perf_out = lab.read("perfdhcp.out");
    let acked = acks(&perf_out);
    assert!(acked > 0, "perfdhcp got no ACK:\n{perf_out}");

    // (1) Every lease a client got an ACK for is on B.
    let in_use = lab.display("B", "display dhcp server ip-in-use");
    let bound = in_use.lines().filter(|l| l.ends_with("Auto(C)")).count() as u64;
    assert!(
        in_use.lines().any(|l| l.starts_with(&ip)),
        "dhclient's {ip} is not on B:\n{in_use}"
    );
    assert!(
        bound > acked,
        "B holds {bound} bindings but clients got {acked} ACKs (plus dhclient's)\n{perf_out}"
    );
    // (2) dhclient's next renewal (unicast to the virtual IP) is ACKed by B, same address.
    lab.wait("a renewal answered by B", 30, || {
        logged(&lab.read("dhclient.log"), "reason=RENEW").len() > renewals_before
    });
    let renewed = logged(&lab.read("dhclient.log"), "reason=RENEW");
    assert_eq!(renewed.last(), Some(&ip), "{}", lab.read("dhclient.out"));
    let shown = lab.display("B", "display hot-backup verbose");
    assert!(
        shown.contains("Channel state             : Disconnected"),
        "{shown}"
    );
    assert!(
        shown.contains("DHCP server identifier    : 10.1.1.1"),
        "{shown}"
    );
}
