//! VRRP lab tests in Linux network namespaces with real peers: Duet against Duet and against
//! keepalived (Debian's package), VRRPv3 and v2, each side master in turn.
//!
//! Topology per test (names unique to the test): namespaces A and B each hold `eth0`, the
//! other end of which is a port of bridge `br0` in an observer namespace O. O captures every
//! frame on the bridge with an AF_PACKET socket (timestamps of adverts), and checks ARP for
//! the virtual IP with `ping` + `ip neigh`.
//!
//! A Duet device is the `duet` binary (`duet run --net linux --port ge1/0/1=eth0 --config F
//! --no-console`) started in its namespace, so killing it is a real SIGKILL. keepalived runs
//! in its own process group and is killed as a group.
//!
//! Without root, iproute2 or keepalived the tests skip with a printed reason;
//! `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet::vrrp::Version;

#[path = "common/netns.rs"]
mod netns;
use netns::{BridgedPair, ip, lab_or_skip, packet_socket, unique_tag, wait_until};

const VIP: &str = "10.9.0.254";
const VMAC: &str = "00:00:5e:00:01:01";
const VMAC_BYTES: [u8; 6] = [0, 0, 0x5e, 0, 1, 1];

/// One advert seen on the bridge.
#[derive(Clone, Copy, Debug)]
struct Advert {
    at: Instant,
    src: Ipv4Addr,
    priority: u8,
    /// Ethernet source.
    mac: [u8; 6],
}

/// Frames captured in the observer namespace.
struct Capture {
    adverts: Arc<Mutex<Vec<Advert>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    fn start(ns: &str, ifname: &str) -> Capture {
        let adverts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ns, ifname) = (ns.to_string(), ifname.to_string());
        let (a, s) = (adverts.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            netns::enter(&ns);
            let fd = packet_socket(&ifname);
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                // SAFETY: reading into a valid buffer of the given length.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                let at = Instant::now();
                if n <= 0 {
                    continue;
                }
                let f = &buf[..n as usize];
                // Ethernet + IPv4 carrying VRRP (protocol 112).
                if f.len() >= 14 + 20 + 8 && f[12..14] == [8, 0] && f[14 + 9] == 112 {
                    let ihl = usize::from(f[14] & 0x0f) * 4;
                    let src = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
                    let mac: [u8; 6] = f[6..12].try_into().unwrap();
                    if let Some(&priority) = f.get(14 + ihl + 2) {
                        a.lock().unwrap().push(Advert {
                            at,
                            src,
                            priority,
                            mac,
                        });
                    }
                }
            }
            // SAFETY: closing the descriptor this thread opened.
            unsafe { libc::close(fd) };
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("capture ready");
        Capture {
            adverts,
            stop,
            thread: Some(thread),
        }
    }

    fn adverts(&self) -> Vec<Advert> {
        self.adverts.lock().unwrap().clone()
    }

    /// Wait until `src` is the only sender of the last few adverts (it is master).
    fn wait_master(&self, src: Ipv4Addr, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let a = self.adverts();
            if a.len() >= 3
                && a[a.len() - 3..]
                    .iter()
                    .all(|x| x.src == src && x.priority > 0)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {src} to be master; last adverts: {:?}",
                &a[a.len().saturating_sub(8)..]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// RFC 5798 section 7.3: the next three adverts of master `src` leave from the virtual
    /// MAC, and nobody else advertises meanwhile (the backups hear them). Call once the
    /// master's macvlan is up (its first advert as master goes out before the macvlan is
    /// made, from the port's MAC).
    fn assert_adverts_from_vmac(&self, src: Ipv4Addr) {
        let since = Instant::now();
        let deadline = since + Duration::from_secs(10);
        loop {
            let a: Vec<Advert> = self
                .adverts()
                .into_iter()
                .filter(|x| x.at >= since)
                .collect();
            if a.iter().filter(|x| x.src == src).count() >= 3 {
                assert!(
                    a.iter().all(|x| x.src == src && x.mac == VMAC_BYTES),
                    "adverts not all from {src} and {VMAC}: {a:?}"
                );
                return;
            }
            assert!(Instant::now() < deadline, "too few adverts from {src}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The takeover gap: the last advert from `old` before the first from `new` that
    /// follows `since`, and that first advert.
    fn takeover(&self, since: Instant, old: Ipv4Addr, new: Ipv4Addr) -> Duration {
        let a = self.adverts();
        let first_new = a
            .iter()
            .find(|x| x.at >= since && x.src == new)
            .expect("an advert from the new master");
        let last_old = a
            .iter()
            .rfind(|x| x.src == old && x.at <= first_new.at)
            .expect("an advert from the old master");
        first_new.at - last_old.at
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A process the test started (a Duet device or keepalived), killed with SIGKILL on drop.
/// Its output goes to a file (named in failure messages).
struct Proc {
    child: Child,
    /// keepalived: kill the whole process group (parent and VRRP child).
    group: bool,
}

impl Proc {
    fn spawn(mut cmd: Command, group: bool, log: &std::path::Path) -> Proc {
        let out = std::fs::File::create(log).expect("log file");
        cmd.stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if group {
                    libc::setpgid(0, 0);
                }
                Ok(())
            });
        }
        Proc {
            child: cmd.spawn().expect("spawn"),
            group,
        }
    }

    /// SIGTERM, and wait (bounded) for the process to end.
    fn terminate(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "the process ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling our own child (or its process group).
        unsafe {
            if self.group {
                libc::kill(-pid, libc::SIGKILL);
            } else {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
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
        Lab::with_observer("dvrrp", "10.9.0.100/24")
    }

    /// Start Duet in `ns` with address `addr` and these group settings; returns once the
    /// interface engine has put the address on `eth0`.
    fn duet(&self, ns: &str, addr: &str, version: Version, group: &[&str]) -> Proc {
        let mut lines = vec![
            "interface GigabitEthernet1/0/1".to_string(),
            format!(" ip address {addr} 255.255.255.0"),
        ];
        if version == Version::V2 {
            lines.push(" vrrp version 2".into());
        }
        lines.push(format!(" vrrp vrid 1 virtual-ip {VIP}"));
        lines.extend(group.iter().map(|g| format!(" vrrp vrid 1 {g}")));
        let run = unique_tag();
        let config = self.dir.path().join(format!("{ns}-{run}.cfg"));
        std::fs::write(&config, format!("#\n{}\n#\nreturn\n", lines.join("\n"))).unwrap();
        let data = self.dir.path().join(format!("{ns}-{run}-data"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_duet"), "run"])
            .args(["--net", "linux", "--port", "ge1/0/1=eth0", "--no-console"])
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data);
        let p = Proc::spawn(cmd, false, &self.dir.path().join(format!("{ns}-{run}.log")));
        wait_until("Duet to configure eth0", Duration::from_secs(20), || {
            ip(&["-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"])
                .contains(&format!("{addr}/24"))
        });
        p
    }

    /// Start keepalived in `ns` (address already on eth0 by the caller).
    fn keepalived(
        &self,
        ns: &str,
        addr: &str,
        version: Version,
        priority: u8,
        interval: &str,
    ) -> Proc {
        ip(&[
            "-n",
            ns,
            "addr",
            "replace",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
        let conf = self.dir.path().join(format!("{ns}.conf"));
        let v = version.number();
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  router_id {ns}\n  vrrp_version {v}\n  vrrp_garp_master_repeat 3\n}}\n\
                 vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  use_vmac\n  \
                 virtual_router_id 1\n  priority {priority}\n  advert_int {interval}\n  \
                 virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
            ),
        )
        .unwrap();
        // Fresh pid files per start: a SIGKILLed keepalived's VRRP child may linger as a
        // zombie, and keepalived refuses to start while its pid file names a live process.
        let run = unique_tag();
        let file = |ext: &str| self.dir.path().join(format!("{ns}-{run}.{ext}"));
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns,
            "keepalived",
            "-n",
            "-l",
            "-D",
            "--vrrp",
            "-f",
        ])
        .arg(&conf)
        .arg("-p")
        .arg(file("pid"))
        .arg("-r")
        .arg(file("vrrp.pid"))
        .arg("-c")
        .arg(file("check.pid"));
        Proc::spawn(cmd, true, &file("log"))
    }

    /// Make the observer resolve the virtual IP afresh (a UDP datagram to it needs ARP) and
    /// check the MAC it resolved to.
    fn vip_answers_with_the_virtual_mac(&self) {
        ip(&["-n", &self.o, "neigh", "flush", "to", VIP]);
        wait_until(
            "the virtual IP to answer ARP",
            Duration::from_secs(10),
            || {
                let o = self.o.clone();
                std::thread::spawn(move || {
                    netns::enter(&o);
                    let s = std::net::UdpSocket::bind("10.9.0.100:0").expect("udp");
                    let _ = s.send_to(b"arp?", (VIP, 9));
                })
                .join()
                .unwrap();
                std::thread::sleep(Duration::from_millis(100));
                let neigh = ip(&["-n", &self.o, "neigh", "show", VIP]);
                neigh.contains(VMAC)
            },
        );
    }
}

impl Lab {
    /// Accept mode: the master takes packets addressed to the virtual IP as its own. A TCP
    /// connection from the observer to a closed port is refused (RST) by a host that owns the
    /// address; a host that does not would drop it (timeout).
    fn vip_is_a_local_address_of_the_master(&self) {
        let o = self.o.clone();
        let result = std::thread::spawn(move || {
            netns::enter(&o);
            std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from((addr(VIP), 9)),
                Duration::from_secs(2),
            )
            .map(|_| ())
            .map_err(|e| e.kind())
        })
        .join()
        .unwrap();
        assert_eq!(result, Err(std::io::ErrorKind::ConnectionRefused));
    }
}

fn addr(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Master_Down_Interval of a backup of `priority` with this advert interval (RFC 5798 6.1;
/// v2: Skew_Time in whole seconds' fractions, RFC 3768 6.1).
fn master_down(version: Version, priority: u8, interval_cs: u64) -> Duration {
    let interval = Duration::from_millis(interval_cs * 10);
    let skew = match version {
        Version::V3 => interval * (256 - u32::from(priority)) / 256,
        Version::V2 => Duration::from_secs(1) * (256 - u32::from(priority)) / 256,
    };
    3 * interval + skew
}

/// The handover bound of the issue for Duet taking over: Master_Down_Interval plus 50 ms.
/// A takeover cannot come before Master_Down_Interval less the capture's jitter either.
fn assert_handover(what: &str, took: Duration, mdi: Duration) {
    assert_within(what, took, mdi, Duration::from_millis(50));
}

/// When keepalived takes over, the test measures keepalived: on this shared machine its v2
/// takeover was seen up to 78 ms late under load, so it gets a wider bound; it still fails
/// a handover that is early, or late by a v2 advert interval or more.
fn assert_keepalived_handover(what: &str, took: Duration, mdi: Duration) {
    assert_within(what, took, mdi, Duration::from_millis(250));
}

fn assert_within(what: &str, took: Duration, mdi: Duration, margin: Duration) {
    eprintln!("{what}: takeover {took:?} (Master_Down_Interval {mdi:?})");
    assert!(
        took <= mdi + margin,
        "{what}: takeover {took:?} exceeds Master_Down_Interval {mdi:?} + {margin:?}"
    );
    assert!(
        took + Duration::from_millis(5) >= mdi,
        "{what}: takeover {took:?} before Master_Down_Interval {mdi:?}"
    );
}

const A: &str = "10.9.0.1";
const B: &str = "10.9.0.2";

#[test]
fn duet_vs_duet_v3() {
    if !lab_or_skip("duet_vs_duet_v3", &[]) {
        return;
    }
    let lab = Lab::new();
    let cap = Capture::start(&lab.o, "br0");
    let timers = ["timer advertise 10"];
    let mut a = lab.duet(
        &lab.a,
        A,
        Version::V3,
        &["priority 120", "preempt-mode delay 100", timers[0]],
    );
    let _b = lab.duet(&lab.b, B, Version::V3, &timers);
    cap.wait_master(addr(A), Duration::from_secs(10));
    lab.vip_answers_with_the_virtual_mac();
    cap.assert_adverts_from_vmac(addr(A));
    lab.vip_is_a_local_address_of_the_master();
    let mdi = master_down(Version::V3, 100, 10);

    // SIGKILL of the master: B takes over.
    let since = Instant::now();
    a.kill();
    cap.wait_master(addr(B), Duration::from_secs(5));
    assert_handover(
        "Duet->Duet after SIGKILL",
        cap.takeover(since, addr(A), addr(B)),
        mdi,
    );

    // A comes back and preempts after its delay (1 s) plus Master_Down_Interval, counted
    // from when it hears B (without the delay it would take over 0.36 s after starting).
    let mut a = lab.duet(
        &lab.a,
        A,
        Version::V3,
        &["priority 120", "preempt-mode delay 100", timers[0]],
    );
    let ready = Instant::now();
    cap.wait_master(addr(A), Duration::from_secs(10));
    let first = cap
        .adverts()
        .into_iter()
        .find(|x| x.at >= ready && x.src == addr(A))
        .unwrap();
    assert!(
        first.at - ready >= Duration::from_secs(1),
        "A preempted {:?} after starting, before its 1 s delay",
        first.at - ready
    );

    // Its LAN link goes down (the bridge end: an `ip link set down` of A's own eth0 would be
    // undone by A's interface engine, as `undo shutdown` is configured): B takes over; back
    // up, A preempts again.
    let since = Instant::now();
    ip(&["-n", &lab.o, "link", "set", "pa", "down"]);
    cap.wait_master(addr(B), Duration::from_secs(5));
    assert_handover(
        "Duet->Duet after link down",
        cap.takeover(since, addr(A), addr(B)),
        mdi,
    );
    ip(&["-n", &lab.o, "link", "set", "pa", "up"]);
    cap.wait_master(addr(A), Duration::from_secs(10));
    lab.vip_answers_with_the_virtual_mac();

    // SIGTERM: A resigns with priority 0, so B takes over after Skew_Time (61 ms), and A
    // leaves no virtual IP or macvlan behind.
    let since = Instant::now();
    a.terminate();
    cap.wait_master(addr(B), Duration::from_secs(5));
    let took = cap.takeover(since, addr(A), addr(B));
    let skew = Duration::from_millis(100) * 156 / 256;
    eprintln!("Duet->Duet after SIGTERM: takeover {took:?} (Skew_Time {skew:?})");
    assert!(
        took <= skew + Duration::from_millis(50),
        "takeover {took:?} after a resignation"
    );
    // The resignation leaves from the virtual MAC too: the macvlan goes after it.
    let resign: Vec<Advert> = cap
        .adverts()
        .into_iter()
        .filter(|x| x.src == addr(A) && x.priority == 0)
        .collect();
    assert!(!resign.is_empty(), "no priority 0 advert from A");
    assert!(
        resign.iter().all(|x| x.mac == VMAC_BYTES),
        "priority 0 advert not from {VMAC}: {resign:?}"
    );
    let links = ip(&["-n", &lab.a, "-o", "link", "show"]);
    assert!(!links.contains(": vrrp-"), "{links}");
    let addrs = ip(&["-n", &lab.a, "-o", "-4", "addr", "show"]);
    assert!(!addrs.contains(VIP), "{addrs}");
}

/// Duet (priority 120) is master over keepalived; SIGKILL hands over to keepalived, and Duet
/// preempts back when it returns.
fn duet_master_over_keepalived(version: Version, interval_cs: u64) {
    let lab = Lab::new();
    let cap = Capture::start(&lab.o, "br0");
    let timer = format!("timer advertise {interval_cs}");
    let ka_interval = format!("{}", interval_cs as f64 / 100.0);
    let _k = lab.keepalived(&lab.b, B, version, 100, &ka_interval);
    let group = ["priority 120", timer.as_str()];
    let mut a = lab.duet(&lab.a, A, version, &group);
    cap.wait_master(addr(A), Duration::from_secs(15));
    lab.vip_answers_with_the_virtual_mac();
    cap.assert_adverts_from_vmac(addr(A));
    let since = Instant::now();
    a.kill();
    cap.wait_master(addr(B), Duration::from_secs(10));
    assert_keepalived_handover(
        &format!("Duet->keepalived v{} after SIGKILL", version.number()),
        cap.takeover(since, addr(A), addr(B)),
        master_down(version, 100, interval_cs),
    );
    let _a = lab.duet(&lab.a, A, version, &group);
    cap.wait_master(addr(A), Duration::from_secs(15));
}

/// keepalived (priority 120) is master over Duet; SIGKILL of keepalived hands over to Duet,
/// whose virtual IP then answers ARP with the virtual MAC; keepalived preempts back.
fn keepalived_master_over_duet(version: Version, interval_cs: u64) {
    let lab = Lab::new();
    let cap = Capture::start(&lab.o, "br0");
    let timer = format!("timer advertise {interval_cs}");
    let ka_interval = format!("{}", interval_cs as f64 / 100.0);
    let mut k = lab.keepalived(&lab.a, A, version, 120, &ka_interval);
    cap.wait_master(addr(A), Duration::from_secs(15));
    let _b = lab.duet(&lab.b, B, version, &[timer.as_str()]);
    // Duet stays backup: keepalived keeps advertising alone.
    std::thread::sleep(Duration::from_millis(interval_cs * 10 * 5));
    cap.wait_master(addr(A), Duration::from_secs(1));
    let since = Instant::now();
    k.kill();
    // keepalived's macvlan stays behind after SIGKILL; remove it as its restart would.
    let _ = Command::new("ip")
        .args(["-n", &lab.a, "link", "del", "vrrp.1"])
        .status();
    cap.wait_master(addr(B), Duration::from_secs(10));
    assert_handover(
        &format!("keepalived->Duet v{} after SIGKILL", version.number()),
        cap.takeover(since, addr(A), addr(B)),
        master_down(version, 100, interval_cs),
    );
    lab.vip_answers_with_the_virtual_mac();
    cap.assert_adverts_from_vmac(addr(B));
    let _k = lab.keepalived(&lab.a, A, version, 120, &ka_interval);
    cap.wait_master(addr(A), Duration::from_secs(15));
}

#[test]
fn duet_master_over_keepalived_v3() {
    if lab_or_skip("duet_master_over_keepalived_v3", &["keepalived"]) {
        duet_master_over_keepalived(Version::V3, 10);
    }
}

#[test]
fn keepalived_master_over_duet_v3() {
    if lab_or_skip("keepalived_master_over_duet_v3", &["keepalived"]) {
        keepalived_master_over_duet(Version::V3, 10);
    }
}

#[test]
fn duet_master_over_keepalived_v2() {
    if lab_or_skip("duet_master_over_keepalived_v2", &["keepalived"]) {
        duet_master_over_keepalived(Version::V2, 100);
    }
}

#[test]
fn keepalived_master_over_duet_v2() {
    if lab_or_skip("keepalived_master_over_duet_v2", &["keepalived"]) {
        keepalived_master_over_duet(Version::V2, 100);
    }
}
