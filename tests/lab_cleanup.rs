//! A crashed VRRP master must not keep the gateway (issue 16): after `kill -9` of the master,
//! its namespace still holds the virtual IP on the macvlan and answers ARP for it from the
//! virtual MAC (the zombie, shown here); `duet cleanup`, run exactly as the systemd unit's
//! ExecStopPost names it, removes what the device recorded and the Duet-named macvlan, and
//! nothing else (an address and a route added by hand stay); with `--config` also an unrecorded
//! virtual IP on the port. Then the device comes back as backup, and `duet run` itself removes
//! what a crash left when no cleanup ran.
//!
//! Topology (names unique to the test): namespaces A and B each hold `eth0`, the other end of
//! which (`pa`, `pb`) is a port of bridge `br0` in an observer namespace O. O sees which
//! namespace answers ARP for the virtual IP with an AF_PACKET socket on `pa`.
//!
//! Without root, iproute2 or nft the test skips with a printed reason; `DUET_REQUIRE_LAB=1`
//! turns the skip into a failure.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/netns.rs"]
mod netns;
use netns::{BridgedPair, ip, lab_or_skip, packet_socket, unique_tag, wait_until};

const VIP: &str = "10.99.1.1";
const VMAC: [u8; 6] = [0, 0, 0x5e, 0, 1, 1];
const A: &str = "10.99.1.2";
const B: &str = "10.99.1.3";
const PORT: &str = "GigabitEthernet1/0/1=eth0";
const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/duet.service");

/// A Duet device the test started, killed with SIGKILL on drop.
struct Proc(Child);

impl Proc {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The lab: namespaces A, B and the observer O with the bridge ([`BridgedPair`]).
type Lab = BridgedPair;

impl Lab {
    fn new() -> Lab {
        Lab::with_observer("dclean", "10.99.1.100/24")
    }

    fn data(&self, ns: &str) -> PathBuf {
        self.dir.path().join(format!("{ns}-data"))
    }

    /// Start Duet in `ns` (group 1, adverts every 100 ms, no preemption: a device that comes
    /// back stays backup) and wait until it has put `addr` on eth0.
    fn duet(&self, ns: &str, addr: &str, priority: u8) -> Proc {
        let config = self.dir.path().join(format!("{ns}.cfg"));
        std::fs::write(
            &config,
            format!(
                "#\ninterface GigabitEthernet1/0/1\n ip address {addr} 255.255.255.0\n \
                 vrrp vrid 1 virtual-ip {VIP}\n vrrp vrid 1 priority {priority}\n \
                 undo vrrp vrid 1 preempt-mode\n vrrp vrid 1 timer advertise 10\n#\nreturn\n"
            ),
        )
        .unwrap();
        let run = unique_tag();
        let log = std::fs::File::create(self.dir.path().join(format!("{ns}-{run}.log"))).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_duet"), "run"])
            .args(["--net", "linux", "--port", PORT, "--no-console"])
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(self.data(ns))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: only an async-signal-safe call between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let p = Proc(cmd.spawn().expect("start duet"));
        wait_until("Duet to configure eth0", Duration::from_secs(20), || {
            self.addrs(ns).contains(&format!("{addr}/24"))
        });
        p
    }

    fn addrs(&self, ns: &str) -> String {
        ip(&["-n", ns, "-o", "-4", "addr", "show"])
    }

    fn macvlans(&self, ns: &str) -> Vec<String> {
        ip(&["-n", ns, "-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .filter(|name| name.starts_with("vrrp-"))
            .map(str::to_string)
            .collect()
    }

    fn holds_vip(&self, ns: &str) -> bool {
        self.addrs(ns).contains(&format!("{VIP}/32"))
    }

    /// `display vrrp` of the device in `ns`, over its control socket.
    fn display_vrrp(&self, ns: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_duet"))
            .args(["connect", "--data-dir"])
            .arg(self.data(ns))
            .args(["-c", "display vrrp"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Does A's namespace answer ARP for the virtual IP from the virtual MAC? O resolves the
    /// virtual IP afresh (a datagram to it) a few times and watches frames arriving on `pa`.
    fn a_answers_arp_for_the_vip(&self) -> bool {
        let o = self.o.clone();
        std::thread::spawn(move || {
            netns::enter(&o);
            let fd = packet_socket("pa");
            let mut seen = false;
            for _ in 0..4 {
                let _ = Command::new("ip")
                    .args(["-n", &o, "neigh", "flush", "to", VIP])
                    .status();
                let s = std::net::UdpSocket::bind("10.99.1.100:0").expect("udp");
                let _ = s.send_to(b"arp?", (VIP, 9));
                let until = Instant::now() + Duration::from_millis(300);
                while Instant::now() < until && !seen {
                    seen = arp_reply_from_vip(fd);
                }
                if seen {
                    break;
                }
            }
            // SAFETY: closing the descriptor this thread opened.
            unsafe { libc::close(fd) };
            seen
        })
        .join()
        .unwrap()
    }
}

/// Read one frame (or time out): is it an ARP reply that came in from the port, saying the
/// virtual IP is at the virtual MAC?
fn arp_reply_from_vip(fd: i32) -> bool {
    let mut buf = [0u8; 256];
    // SAFETY: sockaddr_ll is plain old data; the buffers are valid for the lengths given.
    let (n, sll) = unsafe {
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        let n = libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
            (&mut sll as *mut libc::sockaddr_ll).cast(),
            &mut len,
        );
        (n, sll)
    };
    if n < 42 || sll.sll_pkttype == libc::PACKET_OUTGOING || buf[12..14] != [8, 6] {
        return false;
    }
    let arp = &buf[14..n as usize];
    let vip: std::net::Ipv4Addr = VIP.parse().unwrap();
    // Opcode 2 (reply), sender hardware address, sender protocol address.
    arp[6..8] == [0, 2] && arp[8..14] == VMAC && arp[14..18] == vip.octets()
}

/// The unit's ExecStopPost line, with the paths of this test: the binary under test for
/// /usr/bin/duet, A's data directory for /var/lib/duet, and the port list for $DUET_PORTS
/// (what /etc/default/duet holds).
fn unit_cleanup_command(data: &Path) -> Vec<String> {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStopPost="))
        .expect("the unit has ExecStopPost=");
    line.split_whitespace()
        .flat_map(|w| match w {
            "/usr/bin/duet" => vec![env!("CARGO_BIN_EXE_duet").to_string()],
            "/var/lib/duet" => vec![data.display().to_string()],
            "$DUET_PORTS" => vec!["--port".to_string(), PORT.to_string()],
            w => vec![w.to_string()],
        })
        .collect()
}

fn run_in(ns: &str, command: &[String]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(command)
        .output()
        .unwrap()
}

#[test]
fn cleanup_removes_a_killed_masters_gateway_and_nothing_else() {
    if !lab_or_skip(
        "cleanup_removes_a_killed_masters_gateway_and_nothing_else",
        &["nft"],
    ) {
        return;
    }
    let lab = Lab::new();
    let mut a = lab.duet(&lab.a, A, 120);
    wait_until("A to be master", Duration::from_secs(10), || {
        lab.holds_vip(&lab.a) && lab.display_vrrp(&lab.a).contains("Master")
    });
    let b = lab.duet(&lab.b, B, 100);
    wait_until("B to be backup", Duration::from_secs(10), || {
        lab.display_vrrp(&lab.b).contains("Backup")
    });
    // The operator's own address on A's port: not Duet's, it must stay.
    ip(&["-n", &lab.a, "addr", "add", "192.0.2.7/32", "dev", "eth0"]);

    // A cleanup while the device runs is refused (it holds the data directory).
    let refused = run_in(&lab.b, &unit_cleanup_command(&lab.data(&lab.b)));
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("in use by another duet"),
        "{refused:?}"
    );
    assert!(lab.display_vrrp(&lab.b).contains("Backup"));

    // kill -9 of the master: B takes over, and A's namespace is a zombie gateway.
    a.kill();
    wait_until("B to take over", Duration::from_secs(5), || {
        lab.holds_vip(&lab.b)
    });
    assert!(lab.holds_vip(&lab.a), "{}", lab.addrs(&lab.a));
    assert_eq!(lab.macvlans(&lab.a).len(), 1, "{:?}", lab.macvlans(&lab.a));
    assert!(
        lab.a_answers_arp_for_the_vip(),
        "the killed master's namespace should still answer ARP for {VIP} (the zombie)"
    );

    // What the route and portal features record (net::ledger), standing in for them: a
    // route of Duet's protocol and an nftables table, both recorded; plus a route of the
    // operator's to the same prefix, which must stay.
    ip(&[
        "-n",
        &lab.a,
        "route",
        "add",
        "198.51.100.0/24",
        "dev",
        "eth0",
        "proto",
        "208",
    ]);
    ip(&[
        "-n",
        &lab.a,
        "route",
        "add",
        "198.51.100.0/24",
        "dev",
        "eth0",
        "metric",
        "50",
    ]);
    let nft = run_in(
        &lab.a,
        &["nft", "add", "table", "inet", "duet_lab"].map(String::from),
    );
    assert!(nft.status.success(), "{nft:?}");
    let ledger = lab.data(&lab.a).join("kernel-objects");
    let mut text = std::fs::read_to_string(&ledger).unwrap();
    assert!(text.contains("link vrrp-"), "{text}");
    text.push_str("route 198.51.100.0/24 table 254 metric 0 protocol 208\nnft inet duet_lab\n");
    std::fs::write(&ledger, text).unwrap();

    // The unit's ExecStopPost, as systemd runs it once the process is gone.
    let started = Instant::now();
    let out = run_in(&lab.a, &unit_cleanup_command(&lab.data(&lab.a)));
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    eprintln!("duet cleanup took {took:?}:\n{stdout}");
    assert!(!lab.holds_vip(&lab.a), "{}", lab.addrs(&lab.a));
    assert!(lab.macvlans(&lab.a).is_empty());
    assert!(!lab.a_answers_arp_for_the_vip());
    // Kept: the operator's address, and the port's own address (harmless, and removing it
    // would flush the operator's routes through its subnet).
    let addrs = lab.addrs(&lab.a);
    assert!(addrs.contains("192.0.2.7/32"), "{addrs}");
    assert!(addrs.contains(&format!("{A}/24")), "{addrs}");
    let routes = ip(&["-n", &lab.a, "route", "show", "198.51.100.0/24"]);
    assert!(!routes.contains("proto 208"), "{routes}");
    assert!(routes.contains("metric 50"), "{routes}");
    let tables = run_in(&lab.a, &["nft", "list", "tables"].map(String::from));
    assert!(!String::from_utf8_lossy(&tables.stdout).contains("duet_lab"));
    for line in [
        "removed link vrrp-",
        "removed route 198.51.100.0/24",
        "removed nft inet duet_lab",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
    let left = std::fs::read_to_string(&ledger).unwrap();
    assert!(left.lines().all(|l| l.starts_with('#')), "{left}");
    // B was not touched.
    assert!(lab.holds_vip(&lab.b));

    // A virtual IP on the port itself (where a device that cannot make a macvlan puts it),
    // left without a record: `--config` names it.
    ip(&[
        "-n",
        &lab.a,
        "addr",
        "add",
        &format!("{VIP}/32"),
        "dev",
        "eth0",
    ]);
    let mut by_config = unit_cleanup_command(&lab.data(&lab.a));
    by_config.push("--config".into());
    by_config.push(
        lab.dir
            .path()
            .join(format!("{}.cfg", lab.a))
            .display()
            .to_string(),
    );
    let out = run_in(&lab.a, &by_config);
    assert!(out.status.success(), "{out:?}");
    assert!(!lab.holds_vip(&lab.a), "{}", lab.addrs(&lab.a));
    assert!(lab.addrs(&lab.a).contains("192.0.2.7/32"));

    // The unit restarts A: it comes back as backup (no preemption) and takes nothing.
    let started = Instant::now();
    let mut a = lab.duet(&lab.a, A, 120);
    wait_until("A to be backup", Duration::from_secs(10), || {
        lab.display_vrrp(&lab.a).contains("Backup")
    });
    eprintln!("A back as backup {:?} after its restart", started.elapsed());
    assert!(!lab.holds_vip(&lab.a) && lab.holds_vip(&lab.b));

    // Without the unit: kill -9 of master B and no cleanup. A takes over; B's `duet run`
    // removes the leftover macvlan at start and B comes back as backup.
    let mut b = b;
    b.kill();
    wait_until("A to take over", Duration::from_secs(5), || {
        lab.holds_vip(&lab.a)
    });
    assert!(lab.holds_vip(&lab.b));
    let _b = lab.duet(&lab.b, B, 100);
    wait_until("B to be backup", Duration::from_secs(10), || {
        lab.display_vrrp(&lab.b).contains("Backup")
    });
    assert!(!lab.holds_vip(&lab.b), "{}", lab.addrs(&lab.b));
    assert!(lab.macvlans(&lab.b).is_empty());

    // The number of the issue: kill -9 of master A, then what systemd does once it has reaped
    // the process (ExecStopPost): the virtual IP and MAC gone from A after ...
    wait_until("A to have its macvlan", Duration::from_secs(5), || {
        lab.macvlans(&lab.a).len() == 1
    });
    let killed = Instant::now();
    a.kill();
    let out = run_in(&lab.a, &unit_cleanup_command(&lab.data(&lab.a)));
    assert!(out.status.success(), "{out:?}");
    let gone = killed.elapsed();
    assert!(!lab.holds_vip(&lab.a) && lab.macvlans(&lab.a).is_empty());
    eprintln!("kill -9 of the master -> virtual IP and MAC gone from it: {gone:?}");
}
