//! Lab test of the conflict probe (`dhcp server ping`) with real hosts, in network namespaces
//! (root needed):
//!
//! ```text
//!  [Duet ns S] s0 ---+
//!                    |  br0 [switch ns X]     10.79.1.0/24
//!  [client ns C] c0 -+
//!  [squatter ns Q] q0 (10.79.1.100, the pool's first address, configured by hand)
//! ```
//!
//! Duet probes the address it is about to offer with ICMP echo from its namespace; the
//! squatter answers, so Duet lists 10.79.1.100 in `display dhcp server conflict` and the
//! ISC dhclient client is given 10.79.1.101. Without root or dhclient the test skips with the
//! reason; `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

#[path = "common/netns.rs"]
mod netns;

use netns::{NsGuard, ip, lab_or_skip, unique_tag, wait_until};

const DUET: &str = env!("CARGO_BIN_EXE_duet");

const CONFIG: &str = "\
#
 sysname Lab
#
 dhcp enable
 dhcp server ping packets 1
 dhcp server ping timeout 300
#
dhcp server ip-pool lan
 gateway-list 10.79.1.1
 network 10.79.1.0 mask 255.255.255.0
 address range 10.79.1.100 10.79.1.150
#
interface GigabitEthernet1/0/1
 ip address 10.79.1.1 255.255.255.0
 dhcp server apply ip-pool lan
#
return
";

/// Namespaces, files and processes of one run; all removed on drop, also when a check fails.
struct Lab {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    client_ns: String,
    /// Dropped after the processes are killed (`Drop for Lab` runs first).
    _namespaces: Vec<NsGuard>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = fs::remove_dir_all(format!("/etc/netns/{}", self.client_ns));
    }
}

impl Lab {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }
    /// One command run through Duet's control socket.
    fn display(&self, command: &str) -> String {
        let out = Command::new(DUET)
            .args(["connect", "--data-dir", &self.p("data"), "-c", command])
            .output()
            .expect("run duet connect");
        assert!(
            out.status.success(),
            "{command} failed; duet output:\n{}",
            self.read("duet.out")
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn an_address_a_squatter_answers_for_is_skipped_and_listed_as_a_conflict() {
    if !lab_or_skip(
        "an_address_a_squatter_answers_for_is_skipped_and_listed_as_a_conflict",
        &["dhclient"],
    ) {
        return;
    }
    let tag = unique_tag();
    let (s, c, q, x) = (
        format!("dpS{tag}"),
        format!("dpC{tag}"),
        format!("dpQ{tag}"),
        format!("dpX{tag}"),
    );
    let mut lab = Lab {
        dir: tempfile::tempdir().unwrap(),
        children: Vec::new(),
        client_ns: c.clone(),
        _namespaces: vec![
            NsGuard::new(&s),
            NsGuard::new(&c),
            NsGuard::new(&q),
            NsGuard::new(&x),
        ],
    };
    let etc = PathBuf::from(format!("/etc/netns/{c}"));
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("resolv.conf"), "# lab namespace\n").unwrap();
    for ns in [&s, &c, &q, &x] {
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    ip(&["-n", &x, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &x, "link", "set", "br0", "up"]);
    for (ns, inner, outer) in [(&s, "s0", "xs"), (&c, "c0", "xc"), (&q, "q0", "xq")] {
        ip(&[
            "-n", &x, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns,
        ]);
        ip(&["-n", &x, "link", "set", outer, "master", "br0", "up"]);
    }
    ip(&["-n", &c, "link", "set", "c0", "up"]);
    ip(&["-n", &q, "addr", "add", "10.79.1.100/24", "dev", "q0"]);
    ip(&["-n", &q, "link", "set", "q0", "up"]);
    fs::write(lab.path("duet.cfg"), CONFIG).unwrap();
    let log = lab.p("dhclient.log");
    let script = lab.path("script.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$reason\" = BOUND ] && env | grep '^new_' | sort > {log}.tmp && mv {log}.tmp {log}\nexit 0\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();

    let duet = netns::spawn_duet(
        &s,
        &lab.path("duet.out"),
        &[
            "--port",
            "GigabitEthernet1/0/1=s0",
            "--data-dir",
            &lab.p("data"),
            "--config",
            &lab.p("duet.cfg"),
        ],
    );
    lab.children.push(duet);
    wait_until("Duet's address on s0", Duration::from_secs(15), || {
        ip(&["-n", &s, "-4", "addr", "show", "dev", "s0"]).contains("10.79.1.1/24")
    });
    let (pf, lf, sf) = (
        lab.p("dhclient.pid"),
        lab.p("dhclient.leases"),
        script.display().to_string(),
    );
    let client = netns::spawn_in(
        &c,
        &lab.path("dhclient.out"),
        &[
            "dhclient",
            "-4",
            "-d",
            "-v",
            "-cf",
            "/dev/null",
            "-sf",
            &sf,
            "-pf",
            &pf,
            "-lf",
            &lf,
            "c0",
        ],
    );
    lab.children.push(client);
    // Bounded: one probe of 300 ms (or three if more squatters appeared), then the offer;
    // dhclient's first DISCOVER goes out within seconds.
    let bound = std::panic::catch_unwind(|| {
        wait_until("the client bound", Duration::from_secs(30), || {
            !fs::read_to_string(&log).unwrap_or_default().is_empty()
        })
    });
    assert!(
        bound.is_ok(),
        "no lease; dhclient:\n{}\nduet:\n{}",
        lab.read("dhclient.out"),
        lab.read("duet.out")
    );
    let env = lab.read("dhclient.log");
    assert!(
        env.contains("new_ip_address=10.79.1.101"),
        "the client should get the next address:\n{env}\nduet:\n{}",
        lab.read("duet.out")
    );
    let conflicts = lab.display("display dhcp server conflict");
    assert!(
        conflicts.lines().any(|l| l.starts_with("10.79.1.100 ")),
        "the squatted address is listed:\n{conflicts}"
    );
}
