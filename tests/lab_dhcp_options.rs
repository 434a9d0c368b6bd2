//! Lab test of the pool's boot and NetBIOS options with a real client, in network namespaces
//! (root needed):
//!
//! ```text
//!  [client ns C] c0 ---- s0 [Duet ns S]
//!                10.78.1.0/24
//! ```
//!
//! A PXE-style ISC dhclient asks (its own configuration's `request` line) for options 66, 67 and
//! 150 besides the usual ones; Duet's pool has `next-server`, `bootfile-name`,
//! `tftp-server ip-address` / `domain-name`, `nbns-list` and `netbios-type`. The client's
//! script sees the asked-for options, the header's next server and boot file name, and not the
//! NetBIOS options it did not ask for (RFC 2132 section 9.8). Without root or dhclient the test
//! skips with the reason; `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

#[path = "common/netns.rs"]
mod netns;

use netns::{NsGuard, ip, lab_or_skip, unique_tag, wait_until};

const CONFIG: &str = "\
#
 sysname Lab
#
 dhcp enable
#
dhcp server ip-pool pxe
 gateway-list 10.78.1.1
 network 10.78.1.0 mask 255.255.255.0
 address range 10.78.1.100 10.78.1.150
 bootfile-name pxelinux.0
 next-server 10.78.1.5
 tftp-server ip-address 10.78.1.6
 tftp-server domain-name tftp.lab.example
 nbns-list 10.78.1.7
 netbios-type h-node
#
interface GigabitEthernet1/0/1
 ip address 10.78.1.1 255.255.255.0
 dhcp server apply ip-pool pxe
#
return
";

/// dhclient's configuration: option 150 has no name in dhclient, so it is declared; the
/// request list is the PXE one (no 44/46).
const DHCLIENT_CONF: &str = "\
option tftp150 code 150 = array of ip-address;
request subnet-mask, routers, tftp-server-name, bootfile-name, tftp150;
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
}

#[test]
fn pxe_client_gets_next_server_boot_file_and_tftp_options() {
    if !lab_or_skip(
        "pxe_client_gets_next_server_boot_file_and_tftp_options",
        &["dhclient"],
    ) {
        return;
    }
    let tag = unique_tag();
    let (s, c) = (format!("doS{tag}"), format!("doC{tag}"));
    let mut lab = Lab {
        dir: tempfile::tempdir().unwrap(),
        children: Vec::new(),
        client_ns: c.clone(),
        _namespaces: vec![NsGuard::new(&s), NsGuard::new(&c)],
    };
    let etc = PathBuf::from(format!("/etc/netns/{c}"));
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("resolv.conf"), "# lab namespace\n").unwrap();
    for ns in [&s, &c] {
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    ip(&[
        "-n", &s, "link", "add", "s0", "type", "veth", "peer", "name", "c0", "netns", &c,
    ]);
    ip(&["-n", &c, "link", "set", "c0", "up"]);
    fs::write(lab.path("duet.cfg"), CONFIG).unwrap();
    fs::write(lab.path("dhclient.conf"), DHCLIENT_CONF).unwrap();
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
        ip(&["-n", &s, "-4", "addr", "show", "dev", "s0"]).contains("10.78.1.1/24")
    });
    let (cf, pf, lf, sf) = (
        lab.p("dhclient.conf"),
        lab.p("dhclient.pid"),
        lab.p("dhclient.leases"),
        script.display().to_string(),
    );
    let client = netns::spawn_in(
        &c,
        &lab.path("dhclient.out"),
        &[
            "dhclient", "-4", "-d", "-v", "-cf", &cf, "-sf", &sf, "-pf", &pf, "-lf", &lf, "c0",
        ],
    );
    lab.children.push(client);
    // Bounded: the server answers at once; dhclient's first DISCOVER goes out within seconds.
    let bound = std::panic::catch_unwind(|| {
        wait_until("the client bound", Duration::from_secs(20), || {
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
    for want in [
        "new_ip_address=10.78.1.100",
        "new_filename=pxelinux.0",
        "new_bootfile_name=pxelinux.0",
        "new_tftp_server_name=tftp.lab.example",
        "new_tftp150=10.78.1.6",
        "new_next_server=10.78.1.5",
    ] {
        assert!(
            env.contains(want),
            "{want} missing from the client's view:\n{env}"
        );
    }
    // Not asked for: the NetBIOS options stay out.
    assert!(
        !env.contains("netbios"),
        "options the client did not ask for:\n{env}"
    );
}
