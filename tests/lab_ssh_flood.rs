//! Lab test of the SSH server under an unauthenticated password flood (issue 10, item 5), in
//! network namespaces (root needed):
//!
//! ```text
//!  [Duet ns S] s0 10.89.1.1/24 ------ c0 [client ns C] 10.89.1.2 (admin), 10.89.1.11-16 (flood)
//! ```
//!
//! `duet run --net linux` serves DHCP on GE1/0/1, is VRRP master of group 1 there, and runs
//! the SSH server. From six source addresses, [`FLOOD`] clients (russh) send wrong passwords
//! for `admin` in parallel, each again and again for [`FLOOD_SECS`]. Meanwhile the test checks
//! that Duet's RSS stays under [`RSS_LIMIT_KB`] (its peak, `VmHWM`, at the end), that VRRP
//! adverts keep coming at their interval (watched on c0 with a raw socket), that a DHCP
//! DISCOVER gets an OFFER, and that the admin logs in with the OpenSSH client from another
//! address. A sampler kills Duet at [`KILL_KB`] so that a regression cannot take the machine.
//!
//! `DUET_SSH_FLOOD=N` and `DUET_SSH_FLOOD_SECS=S` change the flood. Without root, `ssh` or
//! `sshpass` the test skips with the reason; `DUET_REQUIRE_LAB=1` turns the skip into a failure.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "common/netns.rs"]
mod netns;

use netns::{NsGuard, ip, lab_or_skip, unique_tag, wait_until};

const DUET: &str = env!("CARGO_BIN_EXE_duet");
/// Parallel flood clients (`DUET_SSH_FLOOD`).
const FLOOD: usize = 300;
/// How long each flood client keeps trying (`DUET_SSH_FLOOD_SECS`).
const FLOOD_SECS: u64 = 8;
/// Flood source addresses: 10.89.1.11 and up.
const SOURCES: u8 = 6;
/// The bound under test: Duet's resident memory, peak.
const RSS_LIMIT_KB: u64 = 100 * 1024;
/// The sampler kills Duet above this, so that a regression fails without exhausting memory.
const KILL_KB: u64 = 400 * 1024;
const PASSWORD: &str = "Admin-Pass-1";
const SSH_PORT: u16 = 2222;
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 89, 1, 1);
const ADMIN_ADDR: &str = "10.89.1.2";

const CONFIG: &str = "\
#
 sysname Flood
#
 dhcp enable
#
dhcp server ip-pool lan
 gateway-list 10.89.1.254
 network 10.89.1.0 mask 255.255.255.0
 address range 10.89.1.100 10.89.1.150
#
interface GigabitEthernet1/0/1
 ip address 10.89.1.1 255.255.255.0
 vrrp vrid 1 virtual-ip 10.89.1.254
 dhcp server apply ip-pool lan
#
line vty 0 63
 authentication-mode scheme
#
 ssh server enable
#
local-user admin class manage
 service-type ssh
 authorization-attribute user-role network-admin
#
return
";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Namespaces, files and the Duet process; all removed on drop, also when a check fails.
struct Lab {
    tag: String,
    dir: tempfile::TempDir,
    duet: Option<Child>,
    /// Dropped after the process is killed (`Drop for Lab` runs first).
    _namespaces: Vec<NsGuard>,
}

impl Lab {
    fn ns(&self, which: &str) -> String {
        format!("sf{which}{}", self.tag)
    }

    fn new() -> Lab {
        let mut lab = Lab {
            tag: unique_tag(),
            dir: tempfile::tempdir().unwrap(),
            duet: None,
            _namespaces: Vec::new(),
        };
        for n in ["S", "C"] {
            lab._namespaces.push(NsGuard::new(&lab.ns(n)));
            ip(&["-n", &lab.ns(n), "link", "set", "lo", "up"]);
        }
        let (s, c) = (lab.ns("S"), lab.ns("C"));
        ip(&[
            "-n", &s, "link", "add", "s0", "type", "veth", "peer", "name", "c0", "netns", &c,
        ]);
        ip(&[
            "-n",
            &c,
            "addr",
            "add",
            &format!("{ADMIN_ADDR}/24"),
            "dev",
            "c0",
        ]);
        for n in 0..SOURCES {
            let a = format!("10.89.1.{}/24", 11 + n);
            ip(&["-n", &c, "addr", "add", &a, "dev", "c0"]);
        }
        ip(&["-n", &c, "link", "set", "c0", "up"]);
        std::fs::write(lab.dir.path().join("duet.cfg"), CONFIG).unwrap();
        lab
    }

    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn start_duet(&mut self) -> u32 {
        let child = netns::spawn_duet(
            &self.ns("S"),
            &self.dir.path().join("duet.out"),
            &[
                "--port",
                "GigabitEthernet1/0/1=s0",
                "--ssh-address",
                "0.0.0.0",
                "--ssh-port",
                &SSH_PORT.to_string(),
                "--data-dir",
                &self.p("data"),
                "--config",
                &self.p("duet.cfg"),
            ],
        );
        // The child's pid is Duet's (see `spawn_duet`).
        let pid = child.id();
        self.duet = Some(child);
        wait_until("Duet listening for SSH", Duration::from_secs(20), || {
            self.try_display("display ssh server status")
                .is_some_and(|s| s.contains("Listening on"))
        });
        pid
    }

    fn connect(&self, commands: &[&str]) -> Output {
        let mut cmd = Command::new(DUET);
        cmd.args(["connect", "--data-dir", &self.p("data")]);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        cmd.stdin(Stdio::null()).output().expect("duet connect")
    }

    fn try_display(&self, command: &str) -> Option<String> {
        let out = self.connect(&[command]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
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

/// A `/proc/PID/status` field in kB (`VmRSS`, `VmHWM`); `None` once the process is gone.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A russh client that accepts any host key.
struct Client;

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// What the flood clients saw.
#[derive(Default)]
struct Tally {
    /// Password attempts the server answered with a failure.
    rejected: AtomicU64,
    /// Connections closed before an answer (refused at accept, locked out, ...).
    closed: AtomicU64,
    /// Wrong passwords accepted: must stay 0.
    accepted: AtomicU64,
}

/// Handshakes the flood runs at once while it connects (the test's client is a debug build:
/// hundreds of interleaved handshakes would all time out together).
const HANDSHAKES: usize = 16;

/// Connect from `source` and finish the SSH handshake.
async fn connect_from(source: Ipv4Addr) -> std::io::Result<russh::client::Handle<Client>> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(SocketAddr::from((SERVER, SSH_PORT))).await?;
    let config = Arc::new(russh::client::Config::default());
    russh::client::connect_stream(config, stream, Client)
        .await
        .map_err(std::io::Error::other)
}

/// Send wrong passwords on `handle` (up to 3), counting the answers; an error when the
/// server closed the connection.
async fn wrong_passwords(
    handle: &mut russh::client::Handle<Client>,
    n: usize,
    tally: &Tally,
) -> std::io::Result<()> {
    for k in 0..3 {
        let result = handle
            .authenticate_password("admin", format!("wrong-{n}-{k}"))
            .await
            .map_err(std::io::Error::other)?;
        match result {
            russh::client::AuthResult::Success => {
                tally.accepted.fetch_add(1, Ordering::Relaxed);
            }
            // The client reports a closed connection as a failure with no methods.
            russh::client::AuthResult::Failure {
                remaining_methods, ..
            } if remaining_methods.is_empty() => {
                return Err(std::io::Error::other("closed"));
            }
            russh::client::AuthResult::Failure { .. } => {
                tally.rejected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

/// One flood client: connect from `source` (at most [`HANDSHAKES`] at once), wait for `go`
/// so that every client's first wrong password is sent at the same moment, then keep
/// reconnecting and sending wrong passwords until `until`.
async fn flood_client(
    source: Ipv4Addr,
    n: usize,
    handshakes: Arc<tokio::sync::Semaphore>,
    mut go: tokio::sync::watch::Receiver<Option<Instant>>,
    tally: Arc<Tally>,
) {
    let first = {
        let _turn = handshakes.acquire().await;
        tokio::time::timeout(Duration::from_secs(20), connect_from(source)).await
    };
    let Ok(until) = go.wait_for(Option::is_some).await.map(|u| u.unwrap()) else {
        return;
    };
    let mut connection = first.ok().and_then(Result::ok);
    loop {
        let attempt = async {
            let mut handle = match connection.take() {
                Some(h) => h,
                None => connect_from(source).await?,
            };
            wrong_passwords(&mut handle, n, &tally).await
        };
        let left = until.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
        if !matches!(tokio::time::timeout(left, attempt).await, Ok(Ok(()))) {
            tally.closed.fetch_add(1, Ordering::Relaxed);
        }
        if Instant::now() >= until {
            return;
        }
        // A pause between connections keeps the clients from taking the machine's CPU.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Arrival times of VRRP adverts on c0 (raw socket, protocol 112, group 224.0.0.18), until
/// `stop`. Runs in namespace `ns`.
fn watch_adverts(ns: String, stop: Arc<AtomicBool>, ready: mpsc::Sender<()>) -> Vec<Instant> {
    use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
    netns::enter(&ns);
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
    let index = nix::net::if_::if_nametoindex("c0").unwrap();
    socket
        .join_multicast_v4_n(
            &Ipv4Addr::new(224, 0, 0, 18),
            &InterfaceIndexOrAddress::Index(index),
        )
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    ready.send(()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
    while !stop.load(Ordering::SeqCst) {
        if let Ok((n, from)) = socket.recv_from(&mut buf)
            && n > 20
            && from.as_socket_ipv4().map(|a| *a.ip()) == Some(SERVER)
        {
            seen.push(Instant::now());
        }
    }
    seen
}

/// A DHCPDISCOVER from c0 (broadcast, broadcast flag); how long the OFFER took, if it came.
fn dhcp_offer(ns: &str) -> Option<Duration> {
    use socket2::{Domain, Protocol, Socket, Type};
    netns::enter(ns);
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket.set_broadcast(true).unwrap();
    socket.bind_device(Some(b"c0")).unwrap();
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 68)).into())
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let xid: [u8; 4] = [0x5f, 0x10, 0x0d, 0x01];
    let mut packet = vec![0u8; 300];
    packet[..4].copy_from_slice(&[1, 1, 6, 0]); // BOOTREQUEST, Ethernet, 6-byte address
    packet[4..8].copy_from_slice(&xid);
    packet[10] = 0x80; // broadcast flag
    packet[28..34].copy_from_slice(&[0x02, 0x00, 0x5f, 0x10, 0x0d, 0x01]); // chaddr
    packet[236..240].copy_from_slice(&[99, 130, 83, 99]); // magic cookie
    packet[240..244].copy_from_slice(&[53, 1, 1, 255]); // DHCPDISCOVER, end
    let start = Instant::now();
    let to = SocketAddr::from((Ipv4Addr::BROADCAST, 67));
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
    for _ in 0..3 {
        socket.send_to(&packet, &to.into()).unwrap();
        let resend = Instant::now() + Duration::from_secs(1);
        while Instant::now() < resend {
            let Ok(n) = socket.recv(&mut buf) else {
                continue;
            };
            // SAFETY: `recv` initialized the first `n` bytes.
            let reply: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let offer = reply.len() > 243
                && reply[0] == 2
                && reply[4..8] == xid
                && reply[240..].windows(3).any(|w| w == [53, 1, 2]);
            if offer {
                return Some(start.elapsed());
            }
        }
    }
    None
}

/// `sshpass ssh -b ADMIN_ADDR admin@SERVER "display vrrp"` from namespace C.
fn admin_login(lab: &Lab) -> Output {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("C"),
            "sshpass",
            "-p",
            PASSWORD,
            "ssh",
        ])
        .args([
            "-F",
            "/dev/null",
            "-b",
            ADMIN_ADDR,
            "-p",
            &SSH_PORT.to_string(),
        ])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-o", "IdentityAgent=none", "-o", "PubkeyAuthentication=no"])
        .args(["-o", "ConnectTimeout=10", "-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "LogLevel=ERROR"])
        .arg(format!("admin@{SERVER}"))
        .arg("display vrrp")
        .stdin(Stdio::null())
        .output()
        .expect("run sshpass")
}

#[test]
fn unauthenticated_password_flood_keeps_memory_bounded_and_the_device_serving() {
    if !lab_or_skip(
        "unauthenticated_password_flood_keeps_memory_bounded_and_the_device_serving",
        &["ssh", "sshpass"],
    ) {
        return;
    }
    let flood: usize = env_or("DUET_SSH_FLOOD", FLOOD);
    let flood_secs: u64 = env_or("DUET_SSH_FLOOD_SECS", FLOOD_SECS);
    let mut lab = Lab::new();
    let pid = lab.start_duet();
    let set = lab.connect(&[
        "system-view",
        "local-user admin",
        &format!("password simple {PASSWORD}"),
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stdout)
    );
    wait_until("VRRP master", Duration::from_secs(10), || {
        lab.try_display("display vrrp")
            .is_some_and(|s| s.contains("Master"))
    });
    // The admin's password works before the flood (and its check has run once).
    let before = admin_login(&lab);
    assert!(
        before.status.success(),
        "admin login before the flood: {}",
        String::from_utf8_lossy(&before.stderr)
    );
    let baseline_kb = status_kb(pid, "VmRSS").expect("Duet runs");

    // Duet's memory, sampled every 10 ms; Duet is killed beyond KILL_KB.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(Ordering::SeqCst) {
                let Some(kb) = status_kb(pid, "VmRSS") else {
                    break;
                };
                peak = peak.max(kb);
                if kb > KILL_KB {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let (ready_tx, ready) = mpsc::channel();
    let adverts = {
        let (ns, stop) = (lab.ns("C"), stop.clone());
        std::thread::spawn(move || watch_adverts(ns, stop, ready_tx))
    };
    ready.recv().expect("advert watcher ready");

    // The flood: FLOOD clients from SOURCES addresses, on a runtime whose thread is in ns C.
    // Phase 1 connects them all; phase 2 sends every first wrong password at once and keeps
    // the clients trying for `flood_secs`.
    let tally = Arc::new(Tally::default());
    let (started_tx, started_rx) = mpsc::channel();
    let flooding = {
        let (ns, tally) = (lab.ns("C"), tally.clone());
        std::thread::spawn(move || {
            netns::enter(&ns);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
                let (go, wait) = tokio::sync::watch::channel(None);
                let clients: Vec<_> = (0..flood)
                    .map(|n| {
                        let source = Ipv4Addr::new(10, 89, 1, 11 + (n % SOURCES as usize) as u8);
                        let client = flood_client(
                            source,
                            n,
                            handshakes.clone(),
                            wait.clone(),
                            tally.clone(),
                        );
                        tokio::spawn(client)
                    })
                    .collect();
                // Let every client queue for its turn, then queue behind them (the semaphore
                // is fair): once all turns are free again, every client has connected or failed.
                tokio::task::yield_now().await;
                let all = handshakes.acquire_many(HANDSHAKES as u32).await.unwrap();
                drop(all);
                let started = Instant::now();
                let _ = go.send(Some(started + Duration::from_secs(flood_secs)));
                let _ = started_tx.send(started);
                for c in clients {
                    let _ = c.await;
                }
            });
        })
    };
    let started = started_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the flood clients connected");

    // During the flood: DHCP answers, and the admin logs in from another address (retrying
    // like a person would if a check is refused while the checkers are busy).
    let dhcp = {
        let ns = lab.ns("C");
        std::thread::spawn(move || dhcp_offer(&ns))
    };
    std::thread::sleep(Duration::from_millis(200));
    let mut admin_tries = 0;
    let mut logged_in = None;
    while logged_in.is_none() && admin_tries < 5 {
        admin_tries += 1;
        let out = admin_login(&lab);
        if out.status.success() {
            let shown = String::from_utf8_lossy(&out.stdout).into_owned();
            logged_in = Some((started.elapsed(), shown));
        } else {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let offer = dhcp.join().unwrap();
    flooding.join().unwrap();
    let flood_took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak_sampled = sampler.join().unwrap();
    let arrivals = adverts.join().unwrap();
    let alive = status_kb(pid, "VmRSS").is_some();
    let hwm_kb = status_kb(pid, "VmHWM").unwrap_or(peak_sampled);
    let status = lab
        .try_display("display ssh server status")
        .unwrap_or_default();

    // Adverts inside the flood window, and the longest silence among them.
    let in_window: Vec<Instant> = arrivals
        .iter()
        .copied()
        .filter(|t| *t >= started && *t <= started + flood_took)
        .collect();
    let mut marks = vec![started];
    marks.extend(in_window.iter().copied());
    marks.push(started + flood_took);
    let longest_gap = marks
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]))
        .max()
        .unwrap_or_default();

    eprintln!(
        "ssh flood: {flood} clients from {SOURCES} addresses for {flood_secs} s (took {:.1} s): \
         {} wrong passwords rejected, {} connections closed early, {} accepted",
        flood_took.as_secs_f64(),
        tally.rejected.load(Ordering::Relaxed),
        tally.closed.load(Ordering::Relaxed),
        tally.accepted.load(Ordering::Relaxed),
    );
    eprintln!(
        "ssh flood: Duet RSS {} MB before, peak {} MB (VmHWM; sampled {} MB); \
         {} VRRP adverts during the flood, longest silence {} ms; DHCP offer {:?}; \
         admin login {:?} after {} tries",
        baseline_kb / 1024,
        hwm_kb / 1024,
        peak_sampled / 1024,
        in_window.len(),
        longest_gap.as_millis(),
        offer,
        logged_in.as_ref().map(|(t, _)| *t),
        admin_tries,
    );
    eprintln!("{status}");

    assert!(
        alive,
        "Duet died during the flood (killed above {KILL_KB} kB?)"
    );
    assert!(
        hwm_kb < RSS_LIMIT_KB,
        "Duet's RSS peaked at {hwm_kb} kB (limit {RSS_LIMIT_KB} kB)"
    );
    assert_eq!(
        tally.accepted.load(Ordering::Relaxed),
        0,
        "a wrong password was accepted"
    );
    assert!(
        tally.rejected.load(Ordering::Relaxed) > 0,
        "the flood never reached a password check"
    );
    let (_, vrrp) = logged_in.expect("the admin could not log in during the flood");
    assert!(vrrp.contains("Master"), "{vrrp}");
    assert!(offer.is_some(), "no DHCP OFFER during the flood");
    // VRRP adverts every second; a backup would take over after ~3.6 s of silence.
    assert!(
        longest_gap < Duration::from_millis(2500),
        "VRRP adverts stopped for {longest_gap:?} during the flood"
    );
}
