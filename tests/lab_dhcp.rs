//! Lab test of the DHCP server with real clients, in network namespaces (root needed):
//!
//! ```text
//!  [client ns C] c0 ---- s0 [Duet ns S] s1 ---- r0 [relay ns R: dhcrelay -a] r1 ---- d0 [client ns D]
//!                10.77.1.0/24          10.77.2.0/24                        10.77.3.0/24
//! ```
//!
//! `duet run --net linux --no-console` serves pool `direct` on GE1/0/1 (10-second leases, so
//! clients renew quickly) and pool `relayed` (10.77.3.0/24) to requests relayed with giaddr
//! 10.77.3.1. ISC dhclient and busybox udhcpc obtain, renew by unicast and release a lease; a
//! udhcpc behind isc-dhcp-relay (which adds Option 82) gets an address of the relayed pool,
//! which `display dhcp server ip-in-use` shows, also after `kill -9` and a restart. Malformed
//! datagrams are counted under `Bad Messages` and change nothing else.
//!
//! Clients run with scripts that only log and set the address inside their namespace; each
//! client namespace has its own /etc/netns/NAME/resolv.conf. Without root or one of the tools
//! the test skips with the reason; `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::fs;

#[path = "common/netns.rs"]
mod netns;

use netns::{LabRun, duet_command, ip, lab_or_skip, link_up, poll_for, run, veth};

const TOOLS: &[&str] = &["dhclient", "udhcpc", "dhcrelay"];

/// Namespaces, files, Duet and other processes of one run ([`LabRun`]: all removed on drop,
/// also when a check fails), with this test's steps.
type Lab = LabRun;

impl Lab {
    fn new() -> Lab {
        let mut lab = Lab::with_prefix("dl");
        for n in ["S", "C", "R", "D"] {
            lab.add_namespace(n);
        }
        for n in ["C", "D"] {
            lab.add_resolv_conf(n, "# lab namespace\n");
        }
        let (s, c, r, d) = (lab.ns("S"), lab.ns("C"), lab.ns("R"), lab.ns("D"));
        veth(&s, "s0", &c, "c0");
        veth(&s, "s1", &r, "r0");
        veth(&r, "r1", &d, "d0");
        ip(&["-n", &r, "addr", "add", "10.77.2.2/24", "dev", "r0"]);
        ip(&["-n", &r, "addr", "add", "10.77.3.1/24", "dev", "r1"]);
        for (ns, dev) in [(&c, "c0"), (&r, "r0"), (&r, "r1"), (&d, "d0")] {
            link_up(ns, dev);
        }
        fs::write(lab.path("duet.cfg"), CONFIG).unwrap();
        lab
    }

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
                "--config",
                &self.p("duet.cfg"),
            ],
        );
        self.duet = Some(child);
        let s = self.ns("S");
        poll_for("Duet answering with its addresses applied", 15, || {
            let addrs = run("ip", &["-n", &s, "-4", "addr", "show"]);
            String::from_utf8_lossy(&addrs.stdout).contains("10.77.2.1/24")
                && self.try_display("display dhcp server pool").is_some()
        });
        // Replies to the relay go to giaddr, on the relay's side of R.
        let _ = run(
            "ip",
            &[
                "-n",
                &s,
                "route",
                "replace",
                "10.77.3.0/24",
                "via",
                "10.77.2.2",
            ],
        );
    }

    fn try_display(&self, command: &str) -> Option<String> {
        duet_command(&self.p("data"), command)
    }

    fn display(&self, command: &str) -> String {
        self.try_display(command)
            .unwrap_or_else(|| panic!("{command} failed; duet output:\n{}", self.read("duet.out")))
    }

    /// Wait (bounded) until the file `name` contains `text`.
    fn wait_log(&self, name: &str, text: &str, secs: u64) {
        poll_for(&format!("{text:?} in {name}"), secs, || {
            self.read(name).contains(text)
        });
        assert!(
            self.read(name).contains(text),
            "{name}:\n{}\nduet:\n{}",
            self.read(name),
            self.read("duet.out")
        );
    }

    fn signal(&self, child: usize, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.children[child].id() as i32);
        nix::sys::signal::kill(pid, sig).expect("signal the client");
    }
}

const CONFIG: &str = "\
#
 sysname Lab
#
 dhcp enable
#
dhcp server ip-pool direct
 gateway-list 10.77.1.1
 network 10.77.1.0 mask 255.255.255.0
 address range 10.77.1.100 10.77.1.150
 expired day 0 hour 0 minute 0 second 8
#
dhcp server ip-pool relayed
 gateway-list 10.77.3.1
 network 10.77.3.0 mask 255.255.255.0
 address range 10.77.3.100 10.77.3.150
#
interface GigabitEthernet1/0/1
 ip address 10.77.1.1 255.255.255.0
 dhcp server apply ip-pool direct
#
interface GigabitEthernet1/0/2
 ip address 10.77.2.1 255.255.255.0
#
return
";

/// The address in a `KEY=VALUE` log line such as `reason=BOUND ip=10.77.1.100`.
fn logged_ip(log: &str, event: &str) -> String {
    log.lines()
        .find(|l| l.starts_with(event))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("ip=")))
        .unwrap_or_else(|| panic!("no {event} in:\n{log}"))
        .to_string()
}

#[test]
fn real_clients_lease_renew_release_relay_and_survive_a_restart() {
    if !lab_or_skip(
        "real_clients_lease_renew_release_relay_and_survive_a_restart",
        TOOLS,
    ) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_duet();

    // ISC dhclient: DORA (reply by unicast to its MAC), unicast renewal at T1, release.
    let script = lab.script(
        "dhclient",
        r#"case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  RELEASE|EXPIRE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
echo "reason=$reason ip=$new_ip_address" >> LOG"#,
    );
    let (pf, lf) = (lab.p("dhclient.pid"), lab.p("dhclient.leases"));
    let dhclient = [
        "dhclient", "-4", "-d", "-v", "-sf", &script, "-pf", &pf, "-lf", &lf, "c0",
    ];
    lab.spawn("C", "dhclient.out", &dhclient);
    lab.wait_log("dhclient.log", "reason=BOUND", 15);
    let ip = logged_ip(&lab.read("dhclient.log"), "reason=BOUND");
    let shown = lab.display("display dhcp server ip-in-use");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with(&ip) && l.ends_with("Auto(C)")),
        "{ip} not shown:\n{shown}"
    );
    // Malformed datagrams (garbage, a cut BOOTP header, 3000 bytes of zeros) are counted
    // under Bad Messages; the server keeps serving (the renewal below).
    let garbage = "printf 'not dhcp' > /dev/udp/10.77.1.1/67; \
                   head -c 100 /dev/zero > /dev/udp/10.77.1.1/67; \
                   head -c 3000 /dev/zero > /dev/udp/10.77.1.1/67";
    let out = run(
        "ip",
        &["netns", "exec", &lab.ns("C"), "bash", "-c", garbage],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        poll_for("Bad Messages: 3", 5, || {
            lab.display("display dhcp server statistics")
                .lines()
                .any(|l| l.starts_with("    Bad Messages:") && l.ends_with(" 3"))
        }),
        "{}",
        lab.display("display dhcp server statistics")
    );
    // 8-second lease: T1 at 4 s; RENEW (not REBIND) means the unicast REQUEST was answered.
    lab.wait_log("dhclient.log", "reason=RENEW", 10);
    lab.wait_log("dhclient.out", "DHCPREQUEST for", 1);
    assert!(
        lab.read("dhclient.out")
            .contains(&format!("DHCPREQUEST for {ip} on c0 to 10.77.1.1 port 67")),
        "no unicast renewal:\n{}",
        lab.read("dhclient.out")
    );
    let release = [
        "dhclient", "-4", "-r", "-sf", &script, "-pf", &pf, "-lf", &lf, "c0",
    ];
    let out = run(
        "ip",
        &[&["netns", "exec", &lab.ns("C")][..], &release[..]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab.wait_log("dhclient.log", "reason=RELEASE", 5);
    assert!(poll_for("the release to reach Duet", 5, || {
        !lab.display("display dhcp server ip-in-use").contains(&ip)
    }));

    // busybox udhcpc: DORA, SIGUSR1 renews by unicast, SIGUSR2 releases.
    let script = lab.script(
        "udhcpc",
        r#"case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
echo "event=$1 ip=$ip" >> LOG"#,
    );
    let pid = lab.p("udhcpc.pid");
    let u = lab.spawn(
        "C",
        "udhcpc.out",
        &[
            "udhcpc", "-f", "-i", "c0", "-s", &script, "-p", &pid, "-t", "5", "-T", "1",
        ],
    );
    lab.wait_log("udhcpc.log", "event=bound", 15);
    let ip = logged_ip(&lab.read("udhcpc.log"), "event=bound");
    assert!(lab.display("display dhcp server ip-in-use").contains(&ip));
    lab.signal(u, nix::sys::signal::Signal::SIGUSR1);
    lab.wait_log("udhcpc.log", "event=renew", 5);
    lab.wait_log("udhcpc.out", "sending renew to server 10.77.1.1", 1);
    lab.signal(u, nix::sys::signal::Signal::SIGUSR2);
    lab.wait_log("udhcpc.out", "entering released state", 5);
    assert!(poll_for("the release to reach Duet", 5, || {
        !lab.display("display dhcp server ip-in-use").contains(&ip)
    }));

    // Through isc-dhcp-relay (adds Option 82, giaddr 10.77.3.1): the relayed pool.
    let relay_pid = lab.p("relay.pid");
    lab.spawn(
        "R",
        "dhcrelay.out",
        &[
            "dhcrelay",
            "-4",
            "-d",
            "-a",
            "-pf",
            &relay_pid,
            "-id",
            "r1",
            "-iu",
            "r0",
            "10.77.2.1",
        ],
    );
    let script = lab.script(
        "relayed",
        r#"case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
esac
echo "event=$1 ip=$ip" >> LOG"#,
    );
    lab.spawn(
        "D",
        "relayed.out",
        &[
            "udhcpc", "-f", "-q", "-i", "d0", "-s", &script, "-t", "10", "-T", "1",
        ],
    );
    lab.wait_log("relayed.log", "event=bound", 20);
    let relayed = logged_ip(&lab.read("relayed.log"), "event=bound");
    assert!(relayed.starts_with("10.77.3."), "{relayed}");
    let shown = lab.display("display dhcp server ip-in-use pool relayed");
    assert!(shown.contains(&relayed), "{shown}");
    assert!(lab.read("dhcrelay.out").contains("relay agent option"));

    // kill -9, start again: every lease is still there.
    let before = lab.display("display dhcp server ip-in-use");
    lab.kill_duet();
    lab.start_duet();
    let after = lab.display("display dhcp server ip-in-use");
    assert!(
        after.contains(&relayed),
        "lease lost in the restart:\n{after}"
    );
    let rows = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("10."))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(rows(&after), rows(&before));
}
