//! Lab tests of the everyday operations commands in network namespaces (root needed):
//!
//! ```text
//!  [client ns C] c0 ---- s1 [Duet ns S] s0 ---- r0 [router ns R] r1 ---- h0 [host ns H]
//!     (DHCP)   10.78.3.0/24            10.78.1.0/24             10.78.2.0/24
//! ```
//!
//! - `ping` and `tracert` from Duet reach the host through the router (forwarding on), with
//!   Comware's lines; `ping -a` uses a source of the device; an `interrupt` on the control
//!   socket (Ctrl+C of `duet connect` and SSH) stops a long ping at once.
//! - `display arp` lists a DHCP client after its lease (busybox udhcpc) on GE1/0/2, and the
//!   VRRP master's virtual IP with the virtual MAC.
//! - `reboot` restarts the device in place (same PID): unsaved changes are gone, the startup
//!   configuration is back, and the VRRP virtual IP is re-established by the new start.
//!
//! Without root or udhcpc the tests skip with the reason; `DUET_REQUIRE_LAB=1` makes that a
//! failure.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/netns.rs"]
mod netns;

use netns::{
    LabRun, NsGuard, duet_command, ip, lab_or_skip, link_up, poll_for, run, sysctl_in, unique_tag,
    veth,
};

const DUET: &str = env!("CARGO_BIN_EXE_duet");

const CONFIG: &str = "\
#
 sysname Ops
#
 dhcp enable
#
dhcp server ip-pool clients
 gateway-list 10.78.3.1
 network 10.78.3.0 mask 255.255.255.0
 address range 10.78.3.100 10.78.3.150
#
interface GigabitEthernet1/0/1
 ip address 10.78.1.1 255.255.255.0
 vrrp vrid 7 virtual-ip 10.78.1.254
#
interface GigabitEthernet1/0/2
 ip address 10.78.3.1 255.255.255.0
 dhcp server apply ip-pool clients
#
return
";

/// Namespaces, files, Duet and other processes of one run ([`LabRun`]: all removed on drop,
/// also when a check fails), with this test's steps.
type Lab = LabRun;

impl Lab {
    fn new() -> Lab {
        let mut lab = Lab::with_prefix("do");
        for n in ["S", "R", "H", "C"] {
            lab.add_namespace(n);
        }
        lab.add_resolv_conf("C", "# lab namespace\n");
        let (s, r, h, c) = (lab.ns("S"), lab.ns("R"), lab.ns("H"), lab.ns("C"));
        veth(&s, "s0", &r, "r0");
        veth(&r, "r1", &h, "h0");
        veth(&s, "s1", &c, "c0");
        ip(&["-n", &r, "addr", "add", "10.78.1.2/24", "dev", "r0"]);
        ip(&["-n", &r, "addr", "add", "10.78.2.1/24", "dev", "r1"]);
        ip(&["-n", &h, "addr", "add", "10.78.2.2/24", "dev", "h0"]);
        for (ns, dev) in [(&r, "r0"), (&r, "r1"), (&h, "h0"), (&c, "c0")] {
            link_up(ns, dev);
        }
        ip(&["-n", &h, "route", "add", "default", "via", "10.78.2.1"]);
        sysctl_in(&r, "net.ipv4.ip_forward=1");
        // The router's ICMP errors are not rate limited per peer (`icmp_ratemask=0`), so the
        // time exceeded of tracert leave the bucket that forwarding errors (net unreachable,
        // 1 s each, 5 s of burst, not settable per namespace) draw on untouched.
        sysctl_in(&r, "net.ipv4.icmp_ratemask=0");
        fs::create_dir_all(lab.path("data")).unwrap();
        fs::write(lab.path("data/startup.cfg"), CONFIG).unwrap();
        lab
    }

    /// Start Duet on data/startup.cfg and wait until it answers with its addresses applied,
    /// then give it the route to the host's subnet.
    fn start_duet(&mut self) {
        let child = netns::spawn_duet(
            &self.ns("S"),
            &self.path("duet.out"),
            &[
                "--port",
                "GigabitEthernet1/0/1=s0",
                "--port",
                "GigabitEthernet1/0/2=s1",
                "--data-dir",
                &self.p("data"),
            ],
        );
        self.duet = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let s = self.ns("S");
        let ready = poll_for("Duet answering with its addresses applied", 20, || {
            let addrs = run("ip", &["-n", &s, "-4", "addr", "show"]);
            String::from_utf8_lossy(&addrs.stdout).contains("10.78.1.1/24")
                && self.try_display("display version").is_some()
        });
        assert!(ready, "duet output:\n{}", self.read("duet.out"));
        let _ = run(
            "ip",
            &[
                "-n",
                &s,
                "route",
                "replace",
                "10.78.2.0/24",
                "via",
                "10.78.1.2",
            ],
        );
    }

    fn try_display(&self, command: &str) -> Option<String> {
        // `duet connect -c` echoes the prompt and the command first (as a terminal would show
        // them); the tests look at what follows.
        duet_command(&self.p("data"), command).map(|text| match text.split_once('\n') {
            Some((first, rest)) if first.ends_with(command) => rest.to_string(),
            _ => text,
        })
    }

    fn display(&self, command: &str) -> String {
        self.try_display(command)
            .unwrap_or_else(|| panic!("{command} failed; duet output:\n{}", self.read("duet.out")))
    }

    /// `duet connect -c COMMAND` with `answers` on stdin (the command's questions).
    fn run_answering(&self, command: &str, answers: &str) -> Output {
        common::connect_with_input(&self.path("data"), &[command], answers)
    }

    fn vrrp_master(&self) -> bool {
        self.try_display("display vrrp")
            .is_some_and(|t| t.contains("Master"))
    }
}

/// One request on the control socket, then every reply up to `done`, as JSON values.
fn exchange_with_interrupt(
    socket: &str,
    line: &str,
    interrupt_after: usize,
) -> Vec<serde_json::Value> {
    let stream = UnixStream::connect(socket).expect("control socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut read = || {
        let mut text = String::new();
        reader.read_line(&mut text).expect("a reply");
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")
    };
    let greeting = read();
    assert_eq!(greeting["type"], "done", "{greeting}");
    let request = serde_json::json!({"op": "exec", "line": line});
    writeln!(writer, "{request}").unwrap();
    let mut replies = Vec::new();
    let mut progress = 0;
    loop {
        let reply = read();
        let done = reply["type"] == "done";
        if reply["type"] == "progress" {
            progress += 1;
            if progress == interrupt_after {
                writeln!(writer, "{{\"op\":\"interrupt\"}}").unwrap();
            }
        }
        replies.push(reply);
        if done {
            return replies;
        }
    }
}

#[test]
fn ping_and_tracert_through_a_router() {
    if !lab_or_skip("ping_and_tracert_through_a_router", &[]) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_duet();

    let out = lab.display("ping -c 3 10.78.2.2");
    assert!(
        out.starts_with("Ping 10.78.2.2 (10.78.2.2): 56 data bytes, press CTRL+C to break\n"),
        "{out}"
    );
    // One hop away: the host's 64 less the router's one.
    assert!(
        out.contains("56 bytes from 10.78.2.2: icmp_seq=0 ttl=63 time="),
        "{out}"
    );
    assert!(
        out.contains("\n--- Ping statistics for 10.78.2.2 ---\n"),
        "{out}"
    );
    assert!(
        out.contains("3 packet(s) transmitted, 3 packet(s) received, 0.0% packet loss\n"),
        "{out}"
    );
    assert!(out.contains("round-trip min/avg/max/std-dev = "), "{out}");

    let out = lab.display("ping -c 1 -s 200 -a 10.78.1.1 10.78.2.2");
    assert!(
        out.contains("(10.78.2.2) from 10.78.1.1: 200 data bytes"),
        "{out}"
    );
    assert!(
        out.contains("200 bytes from 10.78.2.2: icmp_seq=0"),
        "{out}"
    );
    assert!(
        !lab.try_display("ping -c 1 -a 10.9.9.9 10.78.2.2")
            .is_some_and(|o| o.contains("bytes from"))
    );

    // Nobody there (the router has no route back to it either): timeouts.
    let out = lab.display("ping -c 2 -t 300 10.78.2.77");
    assert_eq!(out.matches("Request time out\n").count(), 2, "{out}");
    assert!(
        out.contains("2 packet(s) transmitted, 0 packet(s) received, 100.0% packet loss"),
        "{out}"
    );

    let out = lab.display("tracert 10.78.2.2");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "traceroute to 10.78.2.2 (10.78.2.2), 30 hops at most, 40 bytes each packet, press CTRL+C to break",
        "{out}"
    );
    assert!(lines[1].starts_with(" 1  10.78.1.2 (10.78.1.2)  "), "{out}");
    assert!(lines[2].starts_with(" 2  10.78.2.2 (10.78.2.2)  "), "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[1].matches(" ms").count(), 3, "{out}");

    // A router without a route answers net unreachable: ping says so, tracert ends there.
    let _ = run(
        "ip",
        &[
            "-n",
            &lab.ns("S"),
            "route",
            "replace",
            "10.78.9.0/24",
            "via",
            "10.78.1.2",
        ],
    );
    let out = lab.display("ping -c 1 10.78.9.9");
    assert!(
        out.contains("Destination unreachable (reported by 10.78.1.2)\n"),
        "{out}"
    );
    let out = lab.display("tracert 10.78.9.9");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with(" 1  10.78.1.2 (10.78.1.2)  "), "{out}");
    assert!(lines[1].ends_with(" ms !N"), "{out}");

    // Ctrl+C (`interrupt` on the control socket) stops a long ping after its second reply.
    let socket = lab.p("data/duet.sock");
    let started = Instant::now();
    let replies = exchange_with_interrupt(&socket, "ping -c 1000 10.78.2.2", 3);
    assert!(started.elapsed() < Duration::from_secs(10), "{replies:?}");
    let shown: String = replies.iter().filter_map(|r| r["text"].as_str()).collect();
    let sent: u64 = shown
        .lines()
        .find_map(|l| l.strip_suffix(" packet(s) received, 0.0% packet loss"))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no statistics in {shown}"));
    assert!((2..10).contains(&sent), "stopped early: {shown}");
    assert_eq!(replies.last().unwrap()["ok"], true);
}

#[test]
fn display_arp_after_a_lease() {
    if !lab_or_skip("display_arp_after_a_lease", &["udhcpc"]) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_duet();
    let script = lab.path("udhcpc.sh");
    let log = lab.p("udhcpc.log");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  bound|renew) ip addr replace \"$ip/$mask\" dev \"$interface\" ;;\nesac\necho \"event=$1 ip=$ip\" >> {log}\nexit 0\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let child = netns::spawn_in(
        &lab.ns("C"),
        &lab.path("udhcpc.out"),
        &[
            "udhcpc",
            "-f",
            "-i",
            "c0",
            "-s",
            &script.display().to_string(),
            "-t",
            "5",
            "-T",
            "1",
        ],
    );
    lab.children.push(child);
    assert!(
        poll_for("a lease", 20, || lab
            .read("udhcpc.log")
            .contains("event=bound")),
        "udhcpc: {}\nduet: {}",
        lab.read("udhcpc.out"),
        lab.read("duet.out")
    );
    let leased = lab
        .read("udhcpc.log")
        .lines()
        .find_map(|l| l.strip_prefix("event=bound ip="))
        .unwrap()
        .to_string();
    let mac = run("ip", &["-n", &lab.ns("C"), "-br", "link", "show", "c0"]);
    let mac = String::from_utf8_lossy(&mac.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replace(':', "");
    let mac = format!("{}-{}-{}", &mac[0..4], &mac[4..8], &mac[8..12]);
    // Talking to the client puts it in the kernel's neighbour table.
    assert!(
        lab.display(&format!("ping -c 1 {leased}"))
            .contains("1 packet(s) received")
    );
    assert!(poll_for("the VRRP master", 10, || lab.vrrp_master()));

    let out = lab.display("display arp");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1],
        "IP address      MAC address    VLAN/VSI name Interface                Aging Type",
        "{out}"
    );
    let client = format!("{leased:<15} {mac} N/A           GE1/0/2                  N/A   D");
    assert!(lines.contains(&client.as_str()), "{client:?} in\n{out}");
    let vip = "10.78.1.254     0000-5e00-0107 N/A           GE1/0/1                  N/A   S";
    assert!(lines.contains(&vip), "{vip:?} in\n{out}");
    let only = lab.display("display arp interface GigabitEthernet1/0/2");
    assert!(
        only.contains(&client) && !only.contains("10.78.1.254"),
        "{only}"
    );
    let dynamic = lab.display("display arp dynamic");
    assert!(
        dynamic.contains(&client) && !dynamic.contains("10.78.1.254"),
        "{dynamic}"
    );
}

#[test]
fn reboot_restarts_with_the_startup_configuration() {
    if !lab_or_skip("reboot_restarts_with_the_startup_configuration", &[]) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_duet();
    let pid = lab.duet.as_ref().unwrap().id();
    assert!(poll_for("the VRRP master", 10, || lab.vrrp_master()));
    let sysname = run(
        DUET,
        &[
            "connect",
            "--data-dir",
            &lab.p("data"),
            "-c",
            "system-view",
            "-c",
            "sysname Unsaved",
        ],
    );
    assert!(sysname.status.success(), "{sysname:?}");
    let started = Instant::now();
    // Do not save the change; do reboot.
    let out = lab.run_answering("reboot", "n\ny\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains("Current configuration may be lost after the reboot, save current configuration? [Y/N]:n\n"),
        "{shown}"
    );
    assert!(shown.contains("Now rebooting, please wait..."), "{shown}");
    // The same process (exec keeps the PID) comes back with the startup configuration.
    lab.wait_ready();
    let config = lab.display("display current-configuration");
    assert!(config.contains("\n sysname Ops\n"), "{config}");
    assert!(!config.contains("Unsaved"), "{config}");
    assert_eq!(
        lab.duet.as_mut().unwrap().try_wait().unwrap(),
        None,
        "still running"
    );
    let status = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        status.contains("run"),
        "pid {pid} is Duet again: {status:?}"
    );
    assert!(poll_for("the VRRP master again", 15, || lab.vrrp_master()));
    eprintln!("reboot to master again: {:?}", started.elapsed());
}

/// Two devices on one link, both in VRRP group 9 (A at priority 120, B at 100).
struct Pair {
    dir: tempfile::TempDir,
    duets: Vec<Child>,
    names: [String; 2],
    _namespaces: Vec<NsGuard>,
}

impl Pair {
    fn new() -> Pair {
        let tag = unique_tag();
        let names = [format!("dopA{tag}"), format!("dopB{tag}")];
        let guards: Vec<NsGuard> = names.iter().map(|n| NsGuard::new(n)).collect();
        veth(&names[0], "x0", &names[1], "x0");
        let dir = tempfile::tempdir().unwrap();
        let mut duets = Vec::new();
        for (i, (ns, (addr, priority))) in names
            .iter()
            .zip([("10.79.1.1", 120), ("10.79.1.2", 100)])
            .enumerate()
        {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            let data = dir.path().join(format!("data{i}"));
            fs::create_dir_all(&data).unwrap();
            fs::write(
                data.join("startup.cfg"),
                format!(
                    "#\n sysname Dev{i}\n#\ninterface GigabitEthernet1/0/1\n ip address {addr} 255.255.255.0\n vrrp vrid 9 virtual-ip 10.79.1.254\n vrrp vrid 9 priority {priority}\n#\nreturn\n"
                ),
            )
            .unwrap();
            duets.push(netns::spawn_duet(
                ns,
                &dir.path().join(format!("duet{i}.out")),
                &[
                    "--port",
                    "GigabitEthernet1/0/1=x0",
                    "--data-dir",
                    &data.display().to_string(),
                ],
            ));
        }
        Pair {
            dir,
            duets,
            names,
            _namespaces: guards,
        }
    }

    fn data(&self, i: usize) -> String {
        self.dir
            .path()
            .join(format!("data{i}"))
            .display()
            .to_string()
    }

    fn connect(&self, i: usize, commands: &[&str], answers: &str) -> Output {
        let mut args = vec!["connect", "--data-dir"];
        let data = self.data(i);
        args.push(&data);
        for c in commands {
            args.extend(["-c", c]);
        }
        let mut child = Command::new(DUET)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn state(&self, i: usize) -> Option<String> {
        let out = self.connect(i, &["display vrrp"], "");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        ["Master", "Backup", "Initialize"]
            .into_iter()
            .find(|s| text.contains(&format!(" {s} ")))
            .map(str::to_string)
    }

    fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.path().join(format!("duet{i}.out"))).unwrap_or_default()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for d in &mut self.duets {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

#[test]
fn reboot_of_the_master_hands_over_to_the_peer() {
    if !lab_or_skip("reboot_of_the_master_hands_over_to_the_peer", &[]) {
        return;
    }
    let pair = Pair::new();
    let states = || (pair.state(0), pair.state(1));
    let master_a = (Some("Master".to_string()), Some("Backup".to_string()));
    assert!(
        poll_for("A master, B backup", 20, || states() == master_a),
        "{:?}\nA: {}\nB: {}",
        states(),
        pair.log(0),
        pair.log(1)
    );
    // Running = saved, so reboot asks only whether to go on.
    assert!(pair.connect(0, &["save force"], "").status.success());
    let started = Instant::now();
    let out = pair.connect(0, &["reboot"], "y\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("Now rebooting, please wait..."), "{shown}");
    assert!(
        poll_for("B to take over", 10, || pair.state(1).as_deref()
            == Some("Master")),
        "{:?}\nB: {}",
        states(),
        pair.log(1)
    );
    let takeover = started.elapsed();
    // A comes back as the same process and, preempting, is master again.
    assert!(
        poll_for("A master again", 30, || states() == master_a),
        "{:?}\nA: {}",
        states(),
        pair.log(0)
    );
    eprintln!(
        "reboot of the master: B master after {takeover:?}, A master again after {:?}",
        started.elapsed()
    );
    let vip_on_a = ip(&["-n", &pair.names[0], "-4", "addr", "show"]);
    let vip_on_b = ip(&["-n", &pair.names[1], "-4", "addr", "show"]);
    assert!(vip_on_a.contains("10.79.1.254/32"), "{vip_on_a}");
    assert!(!vip_on_b.contains("10.79.1.254"), "{vip_on_b}");
}
