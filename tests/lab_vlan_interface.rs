//! Lab test of a Vlan-interface mapped onto a Linux interface (`--port
//! Vlan-interface100=eth0.100`), in network namespaces (root needed). This kernel has no 8021q
//! link type, so the Linux interface is a veth that merely carries the name a VLAN
//! subinterface would have: Duet cannot tell the difference, which is the point of `--port`.
//!
//! ```text
//!  [A: Duet] eth0.100 --+                         +-- eth0.100 [B: Duet]
//!                       +-- br0 [observer O] -----+
//!  [C: udhcpc]    c0 ---+
//!                10.9.0.0/24, virtual IP 10.9.0.254
//! ```
//!
//! A (priority 120) and B (priority 100) run VRRP group 1 on `Vlan-interface100`; A is master,
//! serves DHCP from a pool applied on the Vlan-interface, and the displays name the interface
//! `Vlan100` / `Vlan-interface100`. Killing A hands the virtual IP over to B.
//!
//! LoopBacks: this kernel has no `dummy` link type, so their addresses go on the namespace's
//! `lo`; they appear there, leave with `undo interface LoopBackN`, and all leave when Duet
//! stops on SIGTERM, while 127.0.0.1 stays.
//!
//! Without root or udhcpc the test skips with the reason; `DUET_REQUIRE_LAB=1` turns the skip
//! into a failure.

use std::fs;
use std::process::Command;
use std::time::Duration;

#[path = "common/netns.rs"]
mod netns;

use netns::{LabRun, add_bridge, bridge_port, ip, lab_or_skip, link_up, wait_until};

const DUET: &str = env!("CARGO_BIN_EXE_duet");
const VIP: &str = "10.9.0.254";

/// Namespaces, files and processes of one run ([`LabRun`]: all removed on drop, also when a
/// check fails), with this test's steps.
type Lab = LabRun;

impl Lab {
    fn new() -> Lab {
        let mut lab = Lab::with_prefix("dv");
        for n in ["O", "A", "B", "C"] {
            lab.add_namespace(n);
        }
        lab.add_resolv_conf("C", "# lab namespace\n");
        let o = lab.ns("O");
        add_bridge(&o, "br0");
        for (n, port, inner) in [
            ("A", "pa", "eth0.100"),
            ("B", "pb", "eth0.100"),
            ("C", "pc", "c0"),
        ] {
            bridge_port(&o, "br0", port, &lab.ns(n), inner);
        }
        link_up(&lab.ns("C"), "c0");
        link_up(&o, "br0");
        lab
    }

    /// Start Duet in namespace `n` with `Vlan-interface100=eth0.100` and this configuration;
    /// returns the child's index once its address is on `eth0.100`.
    fn duet(&mut self, n: &str, addr: &str, config: &str) -> usize {
        fs::write(self.path(&format!("{n}.cfg")), config).unwrap();
        let child = netns::spawn_duet(
            &self.ns(n),
            &self.path(&format!("{n}.out")),
            &[
                "--port",
                "Vlan-interface100=eth0.100",
                "--data-dir",
                &self.p(&format!("{n}-data")),
                "--config",
                &self.p(&format!("{n}.cfg")),
            ],
        );
        self.children.push(child);
        let ns = self.ns(n);
        wait_until(
            &format!("Duet {n} to put {addr} on eth0.100"),
            Duration::from_secs(20),
            || {
                ip(&["-n", &ns, "-o", "-4", "addr", "show", "dev", "eth0.100"])
                    .contains(&format!("{addr}/24"))
            },
        );
        self.children.len() - 1
    }

    fn display(&self, n: &str, command: &str) -> String {
        self.run(n, &[command])
    }

    /// Run commands in order in one `duet connect` session on device `n`; returns the output.
    fn run(&self, n: &str, commands: &[&str]) -> String {
        let command = commands.join("; ");
        let out = Command::new(DUET)
            .args(["connect", "--data-dir", &self.p(&format!("{n}-data"))])
            .args(commands.iter().flat_map(|c| ["-c", c]))
            .output()
            .expect("duet connect");
        assert!(
            out.status.success(),
            "{command} on {n} failed: {}\nduet output:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.read(&format!("{n}.out"))
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn has_vip(&self, n: &str) -> bool {
        ip(&["-n", &self.ns(n), "-o", "-4", "addr", "show"]).contains(&format!("{VIP}/"))
    }
}

fn config(sysname: &str, addr: &str, priority: u8, dhcp: bool) -> String {
    let pool = if dhcp {
        "#\n dhcp enable\n#\ndhcp server ip-pool vlan100\n gateway-list 10.9.0.254\n \
         network 10.9.0.0 mask 255.255.255.0\n address range 10.9.0.100 10.9.0.150\n"
    } else {
        ""
    };
    let apply = if dhcp {
        " dhcp server apply ip-pool vlan100\n"
    } else {
        ""
    };
    format!(
        "#\n sysname {sysname}\n{pool}#\ninterface Vlan-interface100\n \
         ip address {addr} 255.255.255.0\n vrrp vrid 1 virtual-ip {VIP}\n \
         vrrp vrid 1 priority {priority}\n vrrp vrid 1 timer advertise 10\n{apply}#\nreturn\n"
    )
}

#[test]
fn vlan_interface_on_a_linux_interface_runs_vrrp_and_dhcp() {
    if !lab_or_skip(
        "vlan_interface_on_a_linux_interface_runs_vrrp_and_dhcp",
        &["udhcpc"],
    ) {
        return;
    }
    let mut lab = Lab::new();
    let a = lab.duet("A", "10.9.0.1", &config("A", "10.9.0.1", 120, true));
    lab.duet("B", "10.9.0.2", &config("B", "10.9.0.2", 100, false));

    // VRRP against the peer: A is master (the virtual IP is its own), B backs it up.
    wait_until("A to own the virtual IP", Duration::from_secs(10), || {
        lab.has_vip("A")
    });
    wait_until("B to see A as master", Duration::from_secs(10), || {
        lab.display("B", "display vrrp").contains("Backup")
    });
    assert!(!lab.has_vip("B"));
    let vrrp = lab.display("A", "display vrrp");
    assert!(
        vrrp.contains("Vlan-interface100") || vrrp.contains("Vlan100"),
        "{vrrp}"
    );
    assert!(vrrp.contains("Master"), "{vrrp}");
    let brief = lab.display("A", "display interface brief");
    assert!(
        brief
            .lines()
            .any(|l| l.starts_with("Vlan100") && l.contains("10.9.0.1")),
        "{brief}"
    );

    // The DHCP server on the Vlan-interface serves a client on the VLAN.
    let log = lab.p("udhcpc.log");
    let script = lab.path("udhcpc.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  bound|renew) ip addr replace \"$ip/$mask\" dev \"$interface\" ;;\nesac\n\
             echo \"event=$1 ip=$ip router=$router\" >> {log}\nexit 0\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    let pid = lab.p("udhcpc.pid");
    let client = netns::spawn_in(
        &lab.ns("C"),
        &lab.path("udhcpc.out"),
        &[
            "udhcpc", "-f", "-i", "c0", "-s", &script, "-p", &pid, "-t", "5", "-T", "1",
        ],
    );
    lab.children.push(client);
    wait_until("udhcpc to be bound", Duration::from_secs(15), || {
        lab.read("udhcpc.log").contains("event=bound")
    });
    let bound = lab.read("udhcpc.log");
    assert!(
        bound.contains("ip=10.9.0.1") && bound.contains(&format!("router={VIP}")),
        "{bound}"
    );
    let in_use = lab.display("A", "display dhcp server ip-in-use");
    assert!(in_use.contains("10.9.0.1"), "{in_use}");

    // The master goes away: B takes the virtual IP over on its Vlan-interface.
    let _ = lab.children[a].kill();
    let _ = lab.children[a].wait();
    wait_until(
        "B to take the virtual IP over",
        Duration::from_secs(5),
        || lab.has_vip("B"),
    );
}

/// The IPv4 addresses on the namespace's `lo`.
fn lo_addresses(lab: &Lab, n: &str) -> String {
    ip(&["-n", &lab.ns(n), "-o", "-4", "addr", "show", "dev", "lo"])
}

#[test]
fn loopback_addresses_live_on_lo_and_leave_with_the_interface() {
    if !lab_or_skip(
        "loopback_addresses_live_on_lo_and_leave_with_the_interface",
        &[],
    ) {
        return;
    }
    let mut lab = Lab::new();
    let config = format!(
        "{}#\ninterface LoopBack0\n ip address 10.255.0.1 255.255.255.255\n#\n\
         interface LoopBack1\n ip address 10.255.0.2 24\n#\nreturn\n",
        config("A", "10.9.0.1", 100, false).trim_end_matches("return\n")
    );
    let a = lab.duet("A", "10.9.0.1", &config);
    // A mask typed on a LoopBack becomes 32 bits, as on Comware.
    wait_until(
        "both LoopBack addresses on lo",
        Duration::from_secs(10),
        || {
            let lo = lo_addresses(&lab, "A");
            lo.contains("10.255.0.1/32") && lo.contains("10.255.0.2/32")
        },
    );
    let brief = lab.display("A", "display interface brief");
    assert!(
        brief
            .lines()
            .any(|l| l.starts_with("Loop0") && l.contains("UP(s)") && l.contains("10.255.0.1")),
        "{brief}"
    );

    lab.run("A", &["system-view", "undo interface LoopBack1"]);
    wait_until(
        "LoopBack1's address to leave lo",
        Duration::from_secs(10),
        || !lo_addresses(&lab, "A").contains("10.255.0.2/"),
    );
    assert!(lo_addresses(&lab, "A").contains("10.255.0.1/32"));

    // SIGTERM: Duet takes its LoopBack addresses off the shared lo before it exits.
    let pid = nix::unistd::Pid::from_raw(lab.children[a].id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until("Duet to exit", Duration::from_secs(10), || {
        lab.children[a].try_wait().ok().flatten().is_some()
    });
    let lo = lo_addresses(&lab, "A");
    assert!(!lo.contains("10.255.0."), "{lo}");
    assert!(lo.contains("127.0.0.1/8"), "{lo}");
}
