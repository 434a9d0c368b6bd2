//! Lab test of `info-center loghost` with a real syslog server, in network namespaces (root
//! needed):
//!
//! ```text
//!   [ns A: duet A] a0 --+                       +-- b0 [ns B: duet B]
//!     10.1.1.2     a1 --|------ failover -------|-- b1   10.1.1.3
//!                       +-- br0 [ns L] --+------+
//!                                        +-- s0 [ns S: rsyslogd, 10.1.1.50, UDP 514]
//!                                        +-- c0 [ns C: ISC dhclient]
//! ```
//!
//! Debian's rsyslog runs with a configuration of the test's own (imudp on 10.1.1.50 only, one
//! file output in the test's temporary directory, its own pid file and work directory; the
//! host's rsyslog is never touched). Two `duet run --net linux` devices in synchronous hot
//! backup send their logs to it. The test finds in rsyslog's file, as Comware's RFC 3164 form
//! with facility local7:
//!
//! - A's VRRP state change to Master (`VRRP_STATUS_CHANGE`);
//! - the hot-backup phase change to Real-time backup (`HOTBACKUP_PHASE`);
//! - a DHCP decline (`DHCPS_DECLINE`): dhclient's script exits non-zero on BOUND, which makes
//!   ISC dhclient send a DHCPDECLINE for the address it was given;
//! - after `info-center timestamp loghost no-year-date` and `facility local5` (typed through
//!   `duet connect`), the logged commands arrive with that facility and rsyslog reads the
//!   sysname as the host name (with the year of the default `date` form it reads the year).
//!
//! Without root, iproute2, rsyslogd or dhclient the test skips with the reason;
//! `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::fs;
use std::process::Command;
use std::time::Duration;

#[path = "common/netns.rs"]
mod netns;

use netns::{LabRun, add_bridge, bridge_port, ip, lab_or_skip, link_up, veth, wait_until};

const TOOLS: &[&str] = &["rsyslogd", "dhclient"];
const LOGHOST: &str = "10.1.1.50";

/// Namespaces, files and processes of one run ([`LabRun`]: all removed on drop, also when a
/// check fails), with this test's steps.
type Lab = LabRun;

impl Lab {
    fn new() -> Lab {
        let mut lab = Lab::with_prefix("lh");
        for n in ["L", "A", "B", "S", "C"] {
            lab.add_namespace(n);
        }
        let l = lab.ns("L");
        add_bridge(&l, "br0");
        link_up(&l, "br0");
        // One bridge port per namespace on the LAN.
        for (side, dev) in [("A", "a0"), ("B", "b0"), ("S", "s0"), ("C", "c0")] {
            bridge_port(&l, "br0", &format!("l{dev}"), &lab.ns(side), dev);
        }
        veth(&lab.ns("A"), "a1", &lab.ns("B"), "b1");
        let s = lab.ns("S");
        ip(&[
            "-n",
            &s,
            "addr",
            "add",
            &format!("{LOGHOST}/16"),
            "dev",
            "s0",
        ]);
        link_up(&s, "s0");
        link_up(&lab.ns("C"), "c0");
        lab.add_resolv_conf("C", "# lab namespace\n");
        lab
    }

    /// rsyslogd in S with the test's own configuration, in the foreground (`-n`), until UDP
    /// 514 on the log host's address is open.
    fn start_rsyslog(&mut self) {
        fs::create_dir_all(self.path("rsyslog-work")).unwrap();
        let conf = format!(
            r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="{LOGHOST}" port="514")
template(name="lab" type="string" string="from=%fromhost-ip% facility=%syslogfacility-text% severity=%syslogseverity% host=%hostname% msg=%rawmsg%\n")
*.* action(type="omfile" file="{file}" template="lab")
"#,
            work = self.p("rsyslog-work"),
            file = self.p("received.log"),
        );
        fs::write(self.path("rsyslog.conf"), conf).unwrap();
        let (conf, pid) = (self.p("rsyslog.conf"), self.p("rsyslog.pid"));
        self.spawn(
            "S",
            "rsyslog.out",
            &["rsyslogd", "-n", "-f", &conf, "-i", &pid],
        );
        let s = self.ns("S");
        wait_until("rsyslogd listening", Duration::from_secs(15), || {
            let out = Command::new("ip")
                .args(["netns", "exec", &s, "ss", "-Hnul"])
                .output()
                .expect("ss runs");
            String::from_utf8_lossy(&out.stdout).contains(&format!("{LOGHOST}:514"))
        });
    }

    fn start_duet(&mut self, name: &str, lan: &str, link: (&str, &str), priority: u8) {
        let lower = name.to_ascii_lowercase();
        let cfg = config(name, lan, link, priority);
        fs::write(self.path(&format!("{name}.cfg")), cfg).unwrap();
        let child = netns::spawn_duet(
            &self.ns(name),
            &self.path(&format!("{name}.out")),
            &[
                "--port",
                &format!("GigabitEthernet1/0/1={lower}0"),
                "--port",
                &format!("GigabitEthernet1/0/2={lower}1"),
                "--data-dir",
                &self.p(&format!("{name}-data")),
                "--config",
                &self.p(&format!("{name}.cfg")),
            ],
        );
        self.children.push(child);
    }

    /// Wait (bounded) until rsyslog's file has a line containing every one of `parts`; returns it.
    fn received(&self, what: &str, parts: &[&str]) -> String {
        let find = || {
            self.read("received.log")
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))
                .map(str::to_string)
        };
        let found = std::cell::RefCell::new(None);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(what, Duration::from_secs(40), || {
                *found.borrow_mut() = find();
                found.borrow().is_some()
            })
        }));
        match (ok, found.into_inner()) {
            (Ok(()), Some(line)) => line,
            _ => panic!(
                "{what}: not in rsyslog's file\n--- received.log:\n{}\n--- A:\n{}\n--- B:\n{}\n--- rsyslog:\n{}",
                self.read("received.log"),
                self.read("A.out"),
                self.read("B.out"),
                self.read("rsyslog.out")
            ),
        }
    }
}

fn config(name: &str, lan: &str, (source, peer): (&str, &str), priority: u8) -> String {
    format!(
        "#
 sysname {name}
#
 info-center loghost {LOGHOST}
#
 dhcp enable
 dhcp server hot-backup
#
dhcp server ip-pool lan
 gateway-list 10.1.1.1
 network 10.1.0.0 mask 255.255.0.0
 address range 10.1.1.10 10.1.1.60
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
 vrrp vrid 1 priority {priority}
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

#[test]
fn vrrp_dhcp_and_hot_backup_logs_reach_a_real_rsyslog() {
    if !lab_or_skip("vrrp_dhcp_and_hot_backup_logs_reach_a_real_rsyslog", TOOLS) {
        return;
    }
    let mut lab = Lab::new();
    lab.start_rsyslog();
    lab.start_duet("A", "10.1.1.2", ("10.9.0.1", "10.9.0.2"), 120);
    lab.start_duet("B", "10.1.1.3", ("10.9.0.2", "10.9.0.1"), 100);

    // <190> = local7 * 8 + informational: rsyslog parsed Comware's PRI, and the message is
    // the Comware line after `%%10`.
    let vrrp = lab.received(
        "A's VRRP state change to Master",
        &[
            "from=10.1.1.2",
            "%%10VRRP/6/VRRP_STATUS_CHANGE:",
            "to Master",
        ],
    );
    assert!(vrrp.contains("facility=local7 severity=6"), "{vrrp}");
    assert!(vrrp.contains("msg=<190>"), "{vrrp}");
    let phase = lab.received(
        "A's hot-backup phase change to Real-time backup",
        &[
            "from=10.1.1.2",
            "%%10HOTBACKUP/5/HOTBACKUP_PHASE:",
            "to Real-time backup",
        ],
    );
    assert!(phase.contains("facility=local7 severity=5"), "{phase}");

    // A client that declines the address it was given: dhclient sends DHCPDECLINE when its
    // script fails on BOUND. A, the master, serves it.
    let script = lab.path("decline.sh");
    fs::write(
        &script,
        "#!/bin/sh\n[ \"$reason\" = BOUND ] && exit 1\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let (script, pf, lf) = (
        script.display().to_string(),
        lab.p("dhclient.pid"),
        lab.p("dhclient.leases"),
    );
    lab.spawn(
        "C",
        "dhclient.out",
        &[
            "dhclient", "-4", "-d", "-v", "-sf", &script, "-pf", &pf, "-lf", &lf, "c0",
        ],
    );
    let decline = lab.received(
        "A's DHCP decline",
        &[
            "from=10.1.1.2",
            "%%10DHCPS/4/DHCPS_DECLINE:",
            "declined 10.1.1.",
        ],
    );
    assert!(decline.contains("facility=local7 severity=4"), "{decline}");

    // With Comware's default `date` timestamp rsyslog takes the year for the host name
    // (`host=2026` above: RFC 3164 has no year); `no-year-date` gives it the sysname.
    // Configuration commands are logged (SHELL_CMD), so the next ones show both changes.
    let out = Command::new(env!("CARGO_BIN_EXE_duet"))
        .args(["connect", "--data-dir", &lab.p("A-data")])
        .args(["-c", "system-view"])
        .args(["-c", "info-center timestamp loghost no-year-date"])
        .args(["-c", "info-center loghost 10.1.1.50 facility local5"])
        .args(["-c", "sysname A"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shell = lab.received(
        "A's SHELL_CMD with the new timestamp and facility",
        &[
            "facility=local5 severity=6 host=A msg=<174>",
            "%%10SHELL/6/SHELL_CMD:",
        ],
    );
    eprintln!("as rsyslog stored them:\n{vrrp}\n{phase}\n{decline}\n{shell}");
}
