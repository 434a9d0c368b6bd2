//! The hot-backup engine end to end without root: two devices on the simulated LAN run VRRP
//! and DHCP, and hot backup over real TCP on loopback addresses (127.0.0.1 and 127.0.0.2).
//! A simulated client gets a lease from the master; the backup holds it; when the master
//! stops, the backup takes over and ACKs the client's renewal with the same address.

mod dhcp_common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhcp_common::{PacketSpec, client_broadcast, run_lines};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::frame;
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::hotbackup::Phase;
use duet::interface::name::IfName;
use duet::net::sim::{Frame, Lan, PortId, SegmentId};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x31];
const CLIENT: &str = "02:00:00:00:00:31";

fn ge(n: u32) -> IfName {
    format!("ge1/0/{n}").parse().unwrap()
}

fn run(device: &Arc<Device>, lines: &[&str]) -> String {
    run_lines(device, lines).concat()
}

/// A device's configuration: its LAN address, VRRP priority, and failover-link ends.
fn setup(
    lan_ip: &str,
    priority: u8,
    source: &str,
    peer: &str,
    port: u16,
    mode: &str,
) -> Vec<String> {
    [
        "system-view".to_string(),
        "dhcp enable".into(),
        "dhcp server ip-pool lan".into(),
        "network 10.1.1.0 24".into(),
        "address range 10.1.1.10 10.1.1.200".into(),
        "gateway-list 10.1.1.1".into(),
        "expired day 0 hour 1".into(),
        "quit".into(),
        "interface ge1/0/1".into(),
        format!("ip address {lan_ip} 24"),
        "dhcp server apply ip-pool lan".into(),
        "vrrp vrid 1 virtual-ip 10.1.1.1".into(),
        format!("vrrp vrid 1 priority {priority}"),
        "quit".into(),
        "dhcp server hot-backup".into(),
        "hot-backup".into(),
        format!("peer {peer} source {source} port {port}"),
        "track vrrp vrid 1 interface ge1/0/1".into(),
        "authentication-key plain pair-secret".into(),
        format!("backup-mode {mode}"),
        "hot-backup enable".into(),
        "return".into(),
    ]
    .into()
}

struct Pair {
    rt: Runtime,
    lan: Lan,
    a: Arc<Device>,
    b: Arc<Device>,
    client: PortId,
    seg: SegmentId,
    rx: mpsc::Receiver<Frame>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn pair(mode: &str) -> Pair {
    let port = 20_000 + (std::process::id() % 20_000) as u16 + u16::from(mode == "asynchronous");
    pair_with(
        mode,
        port,
        ("127.0.0.1", "127.0.0.2"),
        ("127.0.0.2", "127.0.0.1"),
    )
}

/// A pair whose ends are `(source, peer)` for A and for B.
fn pair_with(mode: &str, port: u16, ea: (&str, &str), eb: (&str, &str)) -> Pair {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = |dir: &tempfile::TempDir| {
        Device::new(DeviceOptions {
            data_dir: dir.path().to_path_buf(),
            net: NetKind::Sim,
        })
    };
    let (a, b) = (device(&dirs.0), device(&dirs.1));
    let lines = |v: Vec<String>| v;
    let la = lines(setup("10.1.1.2", 120, ea.0, ea.1, port, mode));
    let lb = lines(setup("10.1.1.3", 100, eb.0, eb.1, port, mode));
    run(&a, &la.iter().map(String::as_str).collect::<Vec<_>>());
    run(&b, &lb.iter().map(String::as_str).collect::<Vec<_>>());
    run(&a, &["system-view", "sysname A"]);
    run(&b, &["system-view", "sysname B"]);
    let lan = Lan::new();
    let seg = lan.segment();
    let na = lan.add_node("A", &a.ports);
    let nb = lan.add_node("B", &b.ports);
    let nc = lan.add_node("client", &[ge(1)]);
    for node in [na, nb, nc] {
        lan.attach(&PortId { node, port: ge(1) }, seg).unwrap();
    }
    let client = PortId {
        node: nc,
        port: ge(1),
    };
    let rx = lan.listen(&client).unwrap();
    a.start_on_lan(rt.handle(), &lan, na).unwrap();
    b.start_on_lan(rt.handle(), &lan, nb).unwrap();
    Pair {
        rt,
        lan,
        a,
        b,
        client,
        seg,
        rx,
        _dirs: dirs,
    }
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn phase(d: &Device) -> Option<Phase> {
    d.hotbackup.get()?.report().status.as_ref().map(|s| s.phase)
}

fn bound(d: &Device, ip: Ipv4Addr) -> bool {
    d.dhcp
        .get()
        .unwrap()
        .query(move |s, _| s.leases().get(ip).is_some_and(|r| r.state.holds_address()))
        .unwrap()
}

impl Pair {
    fn send(&self, payload: &[u8]) {
        let f = client_broadcast(CLIENT_MAC, payload);
        self.lan.send(&self.client, &f).unwrap();
    }

    /// Every DHCP reply within `wait` (replies to every client: tests run one at a time).
    fn replies(&mut self, wait: Duration) -> Vec<Message> {
        let rx = &mut self.rx;
        self.rt.block_on(async {
            let mut out = Vec::new();
            let _ = tokio::time::timeout(wait, async {
                loop {
                    let f = rx.recv().await.expect("LAN open");
                    if let Some(d) = frame::parse_ethernet(&f.bytes)
                        && d.addrs.dst_port == 68
                        && let Ok(m) = Message::decode(d.payload)
                    {
                        out.push(m);
                    }
                }
            })
            .await;
            out
        })
    }

    /// Send until a reply of `kind` comes (10 tries, 500 ms apart); every reply seen.
    fn ask(&mut self, payload: &[u8], kind: MessageType) -> Vec<Message> {
        for _ in 0..10 {
            self.send(payload);
            let got = self.replies(Duration::from_millis(500));
            if got.iter().any(|m| m.options.message_type == Some(kind)) {
                return got;
            }
        }
        panic!("no {kind:?} after 10 transmissions");
    }

    fn dora(&mut self, xid: u32) -> Ipv4Addr {
        self.dora_as(CLIENT, xid)
    }

    fn dora_as(&mut self, client: &str, xid: u32) -> Ipv4Addr {
        let discover = PacketSpec::new(MessageType::Discover, client, xid)
            .message()
            .encode();
        let offers = self.ask(&discover, MessageType::Offer);
        let offers: Vec<_> = offers
            .iter()
            .filter(|m| m.options.message_type == Some(MessageType::Offer))
            .collect();
        // Only the master answers, and it names the virtual IP as the server.
        assert_eq!(offers.len(), 1, "{offers:?}");
        assert_eq!(offers[0].options.server_id, Some(VIP));
        let ip = offers[0].yiaddr;
        let req = PacketSpec {
            requested: Some(ip),
            server_id: Some(VIP),
            ..PacketSpec::new(MessageType::Request, client, xid + 1)
        };
        let acks = self.ask(&req.message().encode(), MessageType::Ack);
        let ack = acks
            .iter()
            .find(|m| m.options.message_type == Some(MessageType::Ack))
            .unwrap();
        assert_eq!(ack.yiaddr, ip);
        ip
    }

    /// A renewal as a client in REBINDING sends it (broadcast, ciaddr set): the ACK's address.
    fn renew(&mut self, ip: Ipv4Addr, xid: u32) -> Message {
        let req = PacketSpec {
            ciaddr: Some(ip),
            ..PacketSpec::new(MessageType::Request, CLIENT, xid)
        };
        let got = self.ask(&req.message().encode(), MessageType::Ack);
        got.into_iter()
            .find(|m| m.options.message_type == Some(MessageType::Ack))
            .unwrap()
    }
}

fn takeover(mode: &str) {
    let mut p = pair(mode);
    wait_for(
        "real-time backup on both devices",
        Duration::from_secs(15),
        || phase(&p.a) == Some(Phase::RealTime) && phase(&p.b) == Some(Phase::RealTime),
    );
    wait_for("A as VRRP master", Duration::from_secs(15), || {
        p.a.vrrp_status.borrow().is_master(&ge(1), 1)
    });
    let ip = p.dora(100);
    // Synchronous: the ACK left after B confirmed. Asynchronous: B has it a moment later.
    if mode == "synchronous" {
        assert!(bound(&p.b, ip), "B lacks {ip} after the ACK");
    } else {
        wait_for("the binding on B", Duration::from_secs(5), || {
            bound(&p.b, ip)
        });
    }
    let shown = run(&p.a, &["display hot-backup verbose"]);
    assert!(shown.contains("Real-time backup"), "{shown}");
    assert!(
        shown.contains("Local VRRP role           : Master"),
        "{shown}"
    );
    assert!(
        shown.contains("Peer VRRP role            : Backup"),
        "{shown}"
    );
    assert!(
        shown.contains("DHCP server identifier    : 10.1.1.1"),
        "{shown}"
    );
    // A dies without a word (no VRRP resignation).
    p.a.stop();
    wait_for("B as VRRP master", Duration::from_secs(10), || {
        p.b.vrrp_status.borrow().is_master(&ge(1), 1)
    });
    let ack = p.renew(ip, 300);
    assert_eq!(ack.yiaddr, ip);
    assert_eq!(ack.options.server_id, Some(VIP));
    let in_use = run(&p.b, &["display dhcp server ip-in-use"]);
    assert!(in_use.contains(&ip.to_string()), "{in_use}");
    wait_for("B in Silence", Duration::from_secs(10), || {
        phase(&p.b) == Some(Phase::Silence)
    });
    let stats = run(&p.b, &["display hot-backup statistics"]);
    assert!(stats.contains("Bindings received"), "{stats}");
}

#[test]
fn synchronous_backup_takes_over_with_the_lease() {
    takeover("synchronous");
}

#[test]
fn asynchronous_backup_takes_over_with_the_lease() {
    takeover("asynchronous");
}

/// Bindings that hold an address on a device, sorted (IP, client MAC).
fn table(d: &Device) -> Vec<(Ipv4Addr, Vec<u8>)> {
    d.dhcp
        .get()
        .unwrap()
        .query(|s, _| {
            let mut v: Vec<_> = s
                .leases()
                .iter()
                .filter(|r| r.state.holds_address() && r.state != duet::dhcp::LeaseState::Offered)
                .map(|r| (r.ip, r.chaddr.to_vec()))
                .collect();
            v.sort();
            v
        })
        .unwrap()
}

/// A TCP relay standing in for the failover link: it accepts A's connection on `listen` and
/// carries it to B at `to`, from A's address; `cut` closes every connection and refuses new
/// ones until `mend`.
struct Link {
    up: Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
}

impl Link {
    fn start(rt: &Runtime, listen: &str, from: &str, to: &str) -> Link {
        use std::sync::atomic::{AtomicBool, Ordering};
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, cut_rx) = tokio::sync::watch::channel(0u64);
        let listen: std::net::SocketAddr = listen.parse().unwrap();
        let from: std::net::SocketAddr = from.parse().unwrap();
        let to: std::net::SocketAddr = to.parse().unwrap();
        let flag = up.clone();
        let listener = rt.block_on(async {
            let s = tokio::net::TcpSocket::new_v4().unwrap();
            s.set_reuseaddr(true).unwrap();
            s.bind(listen).unwrap();
            s.listen(4).unwrap()
        });
        rt.spawn(async move {
            loop {
                let Ok((mut a, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let mut cut = cut_rx.clone();
                cut.borrow_and_update();
                tokio::spawn(async move {
                    let s = tokio::net::TcpSocket::new_v4().unwrap();
                    s.bind(from).unwrap();
                    let Ok(mut b) = s.connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Link { up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn mend(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_cut_failover_link_halves_the_pool_and_heals_to_equal_tables() {
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 2;
    // A (127.0.0.1) dials its peer 127.0.0.2, which is the relay; B listens on 127.0.0.3.
    let mut p = pair_with(
        "synchronous",
        port,
        ("127.0.0.1", "127.0.0.2"),
        ("127.0.0.3", "127.0.0.1"),
    );
    let link = Link::start(
        &p.rt,
        &format!("127.0.0.2:{port}"),
        "127.0.0.1:0",
        &format!("127.0.0.3:{port}"),
    );
    wait_for("real-time backup", Duration::from_secs(15), || {
        phase(&p.a) == Some(Phase::RealTime) && phase(&p.b) == Some(Phase::RealTime)
    });
    wait_for("A as VRRP master", Duration::from_secs(15), || {
        p.a.vrrp_status.borrow().is_master(&ge(1), 1)
    });
    let first = p.dora_as("02:00:00:00:01:01", 1000);
    assert_eq!(table(&p.a), table(&p.b));
    link.cut();
    // A re-dials the relay, which accepts at the TCP level and then closes: between its
    // dials A can show a short-lived Connected/Negotiating, so wait for the settled view.
    let mut shown = String::new();
    wait_for(
        "A in Silence, disconnected",
        Duration::from_secs(10),
        || {
            shown = run(&p.a, &["display hot-backup verbose"]);
            phase(&p.a) == Some(Phase::Silence)
                && shown.contains("Channel state             : Disconnected")
        },
    );
    assert!(
        shown.contains("New addresses from        : Even half of each pool"),
        "{shown}"
    );
    // A keeps serving alone, from its half only (even offsets from 10.1.1.10).
    let mut alone = Vec::new();
    for i in 0..6u32 {
        let ip = p.dora_as(&format!("02:00:00:00:02:{i:02x}"), 2000 + 10 * i);
        assert_eq!((ip.octets()[3] - 10) % 2, 0, "{ip} is in B's half");
        alone.push(ip);
    }
    assert!(alone.iter().all(|ip| !bound(&p.b, *ip)));
    link.mend();
    wait_for("real-time backup again", Duration::from_secs(15), || {
        phase(&p.a) == Some(Phase::RealTime) && phase(&p.b) == Some(Phase::RealTime)
    });
    wait_for("equal tables", Duration::from_secs(5), || {
        table(&p.a) == table(&p.b)
    });
    let t = table(&p.b);
    assert_eq!(t.len(), 7, "{t:?}");
    assert!(t.iter().any(|(ip, _)| *ip == first));
    let stats = run(&p.a, &["display hot-backup statistics"]);
    assert!(stats.contains("Reconnections             : 1"), "{stats}");
}

#[test]
fn a_restarted_backup_is_filled_by_batch_backup() {
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 3;
    let mut p = pair_with(
        "synchronous",
        port,
        ("127.0.0.1", "127.0.0.4"),
        ("127.0.0.4", "127.0.0.1"),
    );
    wait_for(
        "A as VRRP master in real time",
        Duration::from_secs(15),
        || p.a.vrrp_status.borrow().is_master(&ge(1), 1) && phase(&p.a) == Some(Phase::RealTime),
    );
    for i in 0..5u32 {
        p.dora_as(&format!("02:00:00:00:03:{i:02x}"), 3000 + 10 * i);
    }
    // B goes away with its data directory; a fresh B (empty table) comes back.
    p.b.stop();
    let dir = tempfile::tempdir().unwrap();
    let b2 = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    let lines = setup(
        "10.1.1.3",
        100,
        "127.0.0.4",
        "127.0.0.1",
        port,
        "synchronous",
    );
    run(&b2, &lines.iter().map(String::as_str).collect::<Vec<_>>());
    let node = p.lan.add_node("B2", &b2.ports);
    p.lan.attach(&PortId { node, port: ge(1) }, p.seg).unwrap();
    b2.start_on_lan(p.rt.handle(), &p.lan, node).unwrap();
    assert!(table(&b2).len() < 5, "B2 must start without A's bindings");
    wait_for("B2 in real-time backup", Duration::from_secs(15), || {
        phase(&b2) == Some(Phase::RealTime)
    });
    assert_eq!(table(&b2), table(&p.a));
    assert_eq!(table(&b2).len(), 5);
    let shown = run(&b2, &["display hot-backup"]);
    assert!(shown.contains("Last batch duration"), "{shown}");
}

/// A relay like [`Link`] that also keeps every byte A sent: what an attacker on the failover
/// link records.
fn tap(rt: &Runtime, listen: &str, from: &str, to: &str) -> Arc<std::sync::Mutex<Vec<u8>>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let capture = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listen: std::net::SocketAddr = listen.parse().unwrap();
    let from: std::net::SocketAddr = from.parse().unwrap();
    let to: std::net::SocketAddr = to.parse().unwrap();
    let listener = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        s.bind(listen).unwrap();
        s.listen(4).unwrap()
    });
    let kept = capture.clone();
    rt.spawn(async move {
        let Ok((a, _)) = listener.accept().await else {
            return;
        };
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(from).unwrap();
        let Ok(b) = s.connect(to).await else { return };
        let ((mut ar, mut aw), (mut br, mut bw)) = (a.into_split(), b.into_split());
        let back = tokio::spawn(async move { tokio::io::copy(&mut br, &mut aw).await });
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = ar.read(&mut buf).await {
            kept.lock().unwrap().extend_from_slice(&buf[..n]);
            if bw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        back.abort();
    });
    capture
}

#[test]
fn a_recorded_session_replayed_from_the_peers_address_is_refused_and_counted() {
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 4;
    // A (127.0.0.1) dials the tap at 127.0.0.5, which carries the connection to B (127.0.0.6)
    // from A's address and records what A sends.
    let mut p = pair_with(
        "synchronous",
        port,
        ("127.0.0.1", "127.0.0.5"),
        ("127.0.0.6", "127.0.0.1"),
    );
    let capture = tap(
        &p.rt,
        &format!("127.0.0.5:{port}"),
        "127.0.0.1:0",
        &format!("127.0.0.6:{port}"),
    );
    wait_for(
        "A as VRRP master in real time",
        Duration::from_secs(15),
        || p.a.vrrp_status.borrow().is_master(&ge(1), 1) && phase(&p.b) == Some(Phase::RealTime),
    );
    for i in 0..3u32 {
        p.dora_as(&format!("02:00:00:00:04:{i:02x}"), 4000 + 10 * i);
    }
    // A dies; B takes over alone.
    p.a.stop();
    wait_for("B alone, VRRP master", Duration::from_secs(10), || {
        phase(&p.b) == Some(Phase::Silence) && p.b.vrrp_status.borrow().is_master(&ge(1), 1)
    });
    let recorded = capture.lock().unwrap().clone();
    assert!(recorded.len() > 100, "nothing recorded");
    // The attacker connects from A's address and sends the recording, holding the
    // connection open.
    let conn = p.rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut c = s
            .connect(format!("127.0.0.6:{port}").parse().unwrap())
            .await
            .unwrap();
        c.write_all(&recorded).await.unwrap();
        c
    });
    let counted = || {
        p.b.hotbackup
            .get()
            .unwrap()
            .report()
            .stats
            .bad
            .get("replayed-session")
            .copied()
    };
    wait_for("the replay counted", Duration::from_secs(5), || {
        counted() == Some(1)
    });
    assert_ne!(phase(&p.b), Some(Phase::RealTime));
    let shown = run(&p.b, &["display hot-backup"]);
    assert!(shown.contains("Peer VRRP role            : -"), "{shown}");
    let stats = run(&p.b, &["display hot-backup statistics"]);
    assert!(stats.contains("replayed-session"), "{stats}");
    // B answers new clients at once: nothing waits for the dead peer.
    let start = Instant::now();
    for i in 0..9u32 {
        p.dora_as(&format!("02:00:00:00:05:{i:02x}"), 5000 + 10 * i);
    }
    println!("9 of 9 new clients ACKed by B in {:?}", start.elapsed());
    assert_eq!(phase(&p.b), Some(Phase::Silence));
    drop(conn);
}
