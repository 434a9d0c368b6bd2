//! The DHCP engine end to end on the simulated LAN (no root needed): configured through the
//! shell, a client node exchanges Ethernet frames with the device, the displays show the
//! lease, malformed packets are counted, and a restart on the same data directory keeps it.

mod dhcp_common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dhcp_common::{NoQuestions, PacketSpec, admin_session, client_broadcast, run_lines};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::frame::{self, UdpAddrs};
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::interface::name::IfName;
use duet::net::sim::{Frame, Lan, PortId, SegmentId};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];

fn ge(n: u32) -> IfName {
    format!("ge1/0/{n}").parse().unwrap()
}

/// A device on the sim LAN with GigabitEthernet1/0/1 on a segment shared with a client node.
struct Bed {
    rt: Runtime,
    lan: Lan,
    device: Arc<Device>,
    client: PortId,
    /// The segment the device and the client share.
    seg: SegmentId,
    rx: mpsc::Receiver<Frame>,
}

const SETUP: &[&str] = &[
    "system-view",
    "dhcp enable",
    "dhcp server ip-pool lan",
    "network 10.1.1.0 24",
    "address range 10.1.1.10 10.1.1.20",
    "gateway-list 10.1.1.1",
    "dns-list 10.1.1.2",
    "expired day 0 hour 1",
    "quit",
    "interface ge1/0/1",
    "ip address 10.1.1.1 24",
    "dhcp server apply ip-pool lan",
    "return",
];

fn run(device: &Arc<Device>, lines: &[&str]) -> String {
    run_lines(device, lines).concat()
}

/// The last word of the line of `display dhcp server statistics` output that starts with
/// `label`; panics when there is no such line.
fn stat_value(stats: &str, label: &str) -> String {
    stats
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("{label} missing:\n{stats}"))
        .split_whitespace()
        .last()
        .unwrap()
        .to_string()
}

fn bed(data: &Path, configure: bool) -> Bed {
    bed_with(data, if configure { SETUP } else { &[] })
}

/// A device configured with `setup` before it starts (so its engines start with it).
fn bed_with(data: &Path, setup: &[&str]) -> Bed {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let device = Device::new(DeviceOptions {
        data_dir: data.to_path_buf(),
        net: NetKind::Sim,
    });
    run(&device, setup);
    let lan = Lan::new();
    let node = lan.add_node("duet", &device.ports);
    let client_node = lan.add_node("client", &[ge(1)]);
    let seg = lan.segment();
    let port = PortId { node, port: ge(1) };
    let client = PortId {
        node: client_node,
        port: ge(1),
    };
    lan.attach(&port, seg).unwrap();
    lan.attach(&client, seg).unwrap();
    let rx = lan.listen(&client).unwrap();
    device.start_on_lan(rt.handle(), &lan, node).unwrap();
    Bed {
        rt,
        lan,
        device,
        client,
        seg,
        rx,
    }
}

impl Bed {
    fn send(&self, payload: &[u8]) {
        let f = client_broadcast(CLIENT_MAC, payload);
        self.lan.send(&self.client, &f).unwrap();
    }

    /// The next DHCP reply to the client within `wait`, with where it was sent.
    fn reply_within(&mut self, wait: Duration) -> Option<([u8; 6], UdpAddrs, Message)> {
        let rx = &mut self.rx;
        self.rt.block_on(async {
            tokio::time::timeout(wait, async {
                loop {
                    let f = rx.recv().await.expect("LAN open");
                    if let Some(d) = frame::parse_ethernet(&f.bytes)
                        && d.addrs.dst_port == 68
                    {
                        return (d.dst_mac, d.addrs, Message::decode(d.payload).unwrap());
                    }
                }
            })
            .await
            .ok()
        })
    }

    /// Send as a client does: retransmit (every 500 ms, 10 times at most) until answered.
    /// The first frames may meet a port the interface engine has not brought up yet.
    fn exchange(&mut self, payload: &[u8]) -> ([u8; 6], UdpAddrs, Message) {
        for _ in 0..10 {
            self.send(payload);
            if let Some(r) = self.reply_within(Duration::from_millis(500)) {
                return r;
            }
        }
        panic!("no reply after 10 transmissions");
    }

    /// DISCOVER from `mac` (xid `xid`) until an OFFER comes, then one REQUEST (xid `xid + 1`)
    /// for the offered address, whose reply is left for the caller. The offer, and the REQUEST
    /// as sent (for a retransmission).
    fn request_an_offer(&mut self, mac: &str, xid: u32) -> (Message, Vec<u8>) {
        let discover = PacketSpec::new(MessageType::Discover, mac, xid)
            .message()
            .encode();
        let (_, _, offer) = self.exchange(&discover);
        let req = PacketSpec {
            requested: Some(offer.yiaddr),
            server_id: Some(Ipv4Addr::new(10, 1, 1, 1)),
            ..PacketSpec::new(MessageType::Request, mac, xid + 1)
        }
        .message()
        .encode();
        self.send(&req);
        (offer, req)
    }

    /// DISCOVER/OFFER/REQUEST/ACK; returns the address.
    fn dora(&mut self, xid: u32) -> Ipv4Addr {
        let mac = "02:00:00:00:00:21";
        let discover = PacketSpec::new(MessageType::Discover, mac, xid)
            .message()
            .encode();
        let (dst_mac, addrs, offer) = self.exchange(&discover);
        assert_eq!(offer.options.message_type, Some(MessageType::Offer));
        // Broadcast flag clear, no address yet: a frame to the client's MAC (RFC 2131 4.1).
        assert_eq!(dst_mac, CLIENT_MAC);
        assert_eq!(addrs.dst, offer.yiaddr);
        assert_eq!(addrs.src, Ipv4Addr::new(10, 1, 1, 1));
        assert_eq!(offer.options.server_id, Some(Ipv4Addr::new(10, 1, 1, 1)));
        let req = PacketSpec {
            requested: Some(offer.yiaddr),
            server_id: Some(Ipv4Addr::new(10, 1, 1, 1)),
            ..PacketSpec::new(MessageType::Request, mac, xid + 1)
        };
        self.send(&req.message().encode());
        // Skip a late OFFER to a retransmitted DISCOVER.
        let ack = loop {
            let Some((_, _, m)) = self.reply_within(Duration::from_secs(5)) else {
                panic!(
                    "no ACK within 5 s:\n{}",
                    run(&self.device, &["display dhcp server statistics"])
                );
            };
            if m.options.message_type != Some(MessageType::Offer) {
                break m;
            }
        };
        assert_eq!(ack.options.message_type, Some(MessageType::Ack));
        assert_eq!(ack.yiaddr, offer.yiaddr);
        ack.yiaddr
    }
}

#[test]
fn shell_configured_server_leases_counts_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = bed(dir.path(), true);
    // The interface engine applies the address; the DHCP engine serves at once from config.
    let ip = b.dora(100);
    assert!((10..=20).contains(&ip.octets()[3]), "{ip}");

    // Garbage and a truncated message are counted, and the server keeps answering.
    b.send(b"not a dhcp message");
    b.send(
        &PacketSpec::new(MessageType::Discover, "02:00:00:00:00:21", 7)
            .message()
            .encode()[..100],
    );
    assert_eq!(
        b.dora(200),
        ip,
        "the same client gets the same address back"
    );

    let shown = run(&b.device, &["display dhcp server ip-in-use"]);
    let row = shown
        .lines()
        .find(|l| l.starts_with(&ip.to_string()))
        .unwrap_or_else(|| panic!("no row for {ip}:\n{shown}"));
    assert!(
        row.contains("0200-0000-0021") && row.ends_with("Auto(C)"),
        "{row}"
    );
    assert!(
        shown.starts_with("IP address       Client identifier/    Lease expiration      Type\n")
    );

    let stats = run(&b.device, &["display dhcp server statistics"]);
    let value = |label: &str| stat_value(&stats, label);
    assert_eq!(value("Bad Messages:"), "2", "{stats}");
    assert_eq!(value("DHCPDISCOVER:"), "2");
    assert_eq!(value("DHCPACK:"), "2");
    assert_eq!(value("Automatic:"), "1");
    assert_eq!(value("Pool utilization:"), "9.09%");

    let free = run(&b.device, &["display dhcp server free-ip"]);
    assert!(
        free.starts_with("Pool name: lan\n  Network: 10.1.1.0 mask 255.255.255.0\n"),
        "{free}"
    );
    assert!(
        !free.contains(&format!(" {ip} ")) || free.contains("ranges"),
        "{free}"
    );

    // kill: the engine stops without any goodbye; the journal is all there is.
    b.device.stop();
    drop(b);
    let b = bed(dir.path(), true);
    let shown = run(&b.device, &["display dhcp server ip-in-use ip 10.1.1.0"]);
    assert_eq!(shown.lines().count(), 2, "filtered to nothing:\n{shown}");
    let shown = run(&b.device, &["display dhcp server ip-in-use pool lan"]);
    assert!(
        shown.contains(&ip.to_string()),
        "lease lost in the restart:\n{shown}"
    );

    // reset ip-in-use frees it; reset statistics clears the counters.
    run(
        &b.device,
        &[
            "reset dhcp server ip-in-use",
            "reset dhcp server statistics",
        ],
    );
    let shown = run(&b.device, &["display dhcp server ip-in-use"]);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    let stats = run(&b.device, &["display dhcp server statistics"]);
    assert!(stats.contains("    Messages received:"), "{stats}");
}

#[test]
fn displays_say_when_the_server_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    let o = admin_session(&device).execute("display dhcp server ip-in-use", &mut NoQuestions);
    assert!(!o.ok);
    assert_eq!(o.output, "The DHCP server is not running.\n");
}

fn record(ip: [u8; 4], state: duet::dhcp::LeaseState, at: u64) -> duet::dhcp::LeaseRecord {
    duet::dhcp::LeaseRecord {
        ip: ip.into(),
        state,
        client: duet::dhcp::ClientKey::Hw(vec![0, 0x11, 0x22, 0x33, 0x44, 0x55].into()),
        chaddr: vec![0, 0x11, 0x22, 0x33, 0x44, 0x55].into(),
        expires: at,
        updated: at,
        relay_info: None,
        hostname: None,
        is_static: false,
    }
}

#[test]
fn conflict_expired_pool_and_free_ip_layouts() {
    use duet::dhcp::display::expiry_text;
    use duet::dhcp::{LeaseChange, LeaseRecord, LeaseState};
    let dir = tempfile::tempdir().unwrap();
    let b = bed(dir.path(), true);
    let (at, until) = (1_790_000_000_000, 4_000_000_000_000);
    let handle = b.device.dhcp.get().expect("engine started").clone();
    handle
        .query(move |s, _| {
            // Detected at `at`, back in the pool long after the test (2096).
            s.apply_remote(LeaseChange::Upsert(LeaseRecord {
                expires: until,
                ..record([10, 1, 1, 12], LeaseState::Declined, at)
            }));
            s.apply_remote(LeaseChange::Upsert(record(
                [10, 1, 1, 13],
                LeaseState::Expired,
                at,
            )));
        })
        .unwrap();
    let t = expiry_text(at);
    assert_eq!(
        run(&b.device, &["display dhcp server conflict"]),
        format!(
            "IP address          Detect time              Recycle time\n\
             10.1.1.12           {t:<25}{}\n",
            expiry_text(until)
        )
    );
    assert_eq!(
        run(&b.device, &["display dhcp server expired"]),
        format!(
            "IP address       Client-identifier/Hardware address    Lease expiration\n\
             10.1.1.13        0011-2233-4455                        {t}\n"
        )
    );
    assert_eq!(
        run(&b.device, &["display dhcp server free-ip"]),
        "Pool name: lan\n  Network: 10.1.1.0 mask 255.255.255.0\n    IP ranges from 10.1.1.10 to 10.1.1.11\n    \
         IP ranges from 10.1.1.13 to 10.1.1.20\n  Secondary networks:\n\n"
    );
    assert_eq!(
        run(&b.device, &["display dhcp server pool LAN"]),
        "Pool name: lan\n  Network 10.1.1.0 mask 255.255.255.0\n  address range 10.1.1.10 to 10.1.1.20\n  \
         gateway-list 10.1.1.1\n  dns-list 10.1.1.2\n  expired 0 1 0 0\n"
    );
    // Resets are journaled: after a restart the conflict and the expired record stay gone.
    run(
        &b.device,
        &["reset dhcp server conflict", "reset dhcp server expired"],
    );
    assert_eq!(
        run(&b.device, &["display dhcp server conflict"]),
        "IP address          Detect time              Recycle time\n"
    );
    b.device.stop();
    drop(b);
    let b = bed(dir.path(), true);
    assert_eq!(
        run(&b.device, &["display dhcp server expired"]),
        "IP address       Client-identifier/Hardware address    Lease expiration\n"
    );
    let stats = run(&b.device, &["display dhcp server statistics pool lan"]);
    assert_eq!(
        stats,
        "    Pool utilization:                  0.00%\n    Bindings:\n      Automatic:                       0\n      \
         Manual:                          0\n      Expired:                         0\n"
    );
}

#[test]
fn lease_events_reach_subscribers_once_durable_and_relayed_requests_go_to_the_relay() {
    use duet::dhcp::{LeaseChange, LeaseState};
    let dir = tempfile::tempdir().unwrap();
    let mut b = bed(dir.path(), true);
    let mut events = b.device.dhcp.get().unwrap().subscribe();
    let ip = b.dora(1);
    let ev =
        b.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), events.recv()).await })
            .expect("an event")
            .expect("not lagged");
    match ev.change {
        LeaseChange::Upsert(r) => {
            assert_eq!((r.ip, r.state), (ip, LeaseState::Committed));
        }
        other => panic!("unexpected {other:?}"),
    }
    let journal = dir.path().join("dhcp/leases.journal");
    assert!(
        std::fs::metadata(&journal).unwrap().len() > 16,
        "nothing journaled"
    );

    // A relayed DISCOVER (giaddr in the pool's network) is answered to the relay, port 67.
    let relayed = PacketSpec {
        giaddr: Some(Ipv4Addr::new(10, 1, 1, 254)),
        ..PacketSpec::new(MessageType::Discover, "02:00:00:00:00:99", 9)
    };
    b.send(&relayed.message().encode());
    let got = b.rt.block_on(async {
        loop {
            let f = tokio::time::timeout(Duration::from_secs(5), b.rx.recv())
                .await
                .expect("a reply")
                .unwrap();
            if let Some(d) = frame::parse_ethernet(&f.bytes)
                && d.addrs.dst_port == 67
            {
                return (d.addrs.dst, Message::decode(d.payload).unwrap());
            }
        }
    });
    assert_eq!(got.0, Ipv4Addr::new(10, 1, 1, 254));
    assert_eq!(got.1.options.message_type, Some(MessageType::Offer));
}

/// `ip-in-use` cuts a long client identifier into rows of 20 characters under its column;
/// `expired` prints it whole and pushes the expiry to the right (the table renderer's
/// overflow rule, docs/architecture.md).
#[test]
fn long_client_identifiers_in_ip_in_use_and_expired() {
    use duet::dhcp::display::expiry_text;
    use duet::dhcp::{ClientKey, LeaseChange, LeaseState};
    let dir = tempfile::tempdir().unwrap();
    let b = bed(dir.path(), true);
    // A day ahead: a lease that had already ended would be expired by the engine's timer
    // before the displays run, and show up in both.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let at = (now_ms / 1000 + 86_400) * 1000;
    let id: Vec<u8> = (1..=20).collect();
    let handle = b.device.dhcp.get().expect("engine started").clone();
    handle
        .query(move |s, _| {
            for (ip, state) in [
                ([10, 1, 1, 14], LeaseState::Committed),
                ([10, 1, 1, 15], LeaseState::Expired),
            ] {
                let mut r = record(ip, state, at);
                r.client = ClientKey::Id(id.clone().into());
                s.apply_remote(LeaseChange::Upsert(r));
            }
        })
        .unwrap();
    let t = expiry_text(at);
    assert_eq!(
        run(&b.device, &["display dhcp server ip-in-use"]),
        format!(
            "IP address       Client identifier/    Lease expiration      Type\n\
             \x20                Hardware address\n\
             10.1.1.14        0102-0304-0506-0708-  {t:<22}Auto(C)\n\
             \x20                090a-0b0c-0d0e-0f10-\n\
             \x20                1112-1314\n"
        )
    );
    assert_eq!(
        run(&b.device, &["display dhcp server expired"]),
        format!(
            "IP address       Client-identifier/Hardware address    Lease expiration\n\
             10.1.1.15        0102-0304-0506-0708-090a-0b0c-0d0e-0f10-1112-1314{t}\n"
        )
    );
}

/// Issue 10 item 4: a damaged record in the middle of the journal no longer stops the server:
/// it serves from what was recovered and `display dhcp server statistics` says what happened.
#[test]
fn a_damaged_journal_is_shown_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = bed(dir.path(), true);
    let ip = b.dora(100);
    assert_eq!(b.dora(300), ip);
    b.device.stop();
    drop(b);
    let journal = dir
        .path()
        .join("dhcp")
        .join(duet::dhcp::store::JOURNAL_FILE);
    let mut bytes = std::fs::read(&journal).unwrap();
    assert!(bytes.len() > 16 + 40, "two records at least");
    bytes[16 + 12] ^= 0x01; // inside the first record
    std::fs::write(&journal, &bytes).unwrap();

    let mut b = bed(dir.path(), true);
    let stats = run(&b.device, &["display dhcp server statistics"]);
    assert!(stats.contains("    Lease store:"), "{stats}");
    assert!(
        stats.contains("The lease journal is damaged:") && stats.contains("damaged-g"),
        "{stats}"
    );
    let shown = run(&b.device, &["display dhcp server ip-in-use"]);
    assert!(
        shown.contains(&ip.to_string()),
        "recovered after the damage:\n{shown}"
    );
    assert_eq!(b.dora(500), ip, "still serving");
}

/// The store's fault seam reaches a running engine (`DATA/dhcp`): with the disk full the
/// server withholds the ACK and `display dhcp server statistics` says why; with room again it
/// ACKs without a restart.
#[test]
fn a_full_disk_withholds_acks_shows_it_and_recovers_without_a_restart() {
    use duet::dhcp::store::faults::{Fault, StoreFaults};
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(&dir.path().join("dhcp"));
    let mut b = bed(dir.path(), true);
    faults.disk_full(Fault::NoSpace);
    let (offer, _) = b.request_an_offer("02:00:00:00:00:21", 7);
    assert_eq!(offer.options.message_type, Some(MessageType::Offer));
    if let Some((_, _, m)) = b.reply_within(Duration::from_millis(700)) {
        assert_ne!(
            m.options.message_type,
            Some(MessageType::Ack),
            "ACK without a journal"
        );
    }
    let stats = run(&b.device, &["display dhcp server statistics"]);
    assert!(
        stats.contains("Writes failing:") && stats.contains("No space left on device"),
        "{stats}"
    );
    faults.clear();
    assert_eq!(b.dora(9), offer.yiaddr, "ACKed once there is room");
    let stats = run(&b.device, &["display dhcp server statistics"]);
    assert!(!stats.contains("Lease store:"), "{stats}");
}

/// A journal write that failed is tried again once a second even when no client sends
/// anything (the hot-backup peer's changes applied during the full disk wait for it to be
/// acknowledged): with room again, the store stops reporting a failing write by itself.
#[test]
fn a_failed_journal_write_is_retried_without_new_traffic() {
    use duet::dhcp::store::faults::{Fault, StoreFaults};
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(&dir.path().join("dhcp"));
    let mut b = bed(dir.path(), true);
    faults.disk_full(Fault::NoSpace);
    b.request_an_offer("02:00:00:00:00:22", 7);
    // Read from the engine's status channel: a query would wake the engine (and flush).
    let handle = b.device.dhcp.get().expect("engine started").clone();
    let failing = || handle.store_status().write_error.is_some();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !failing() {
        assert!(
            std::time::Instant::now() < deadline,
            "the write never failed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    faults.clear();
    // No client message from here on: only the engine's retry can write the binding.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while failing() {
        assert!(
            std::time::Instant::now() < deadline,
            "still failing 5 s after the disk had room"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Hot backup (synchronous mode) holds an ACK until the peer confirms its binding, and drops it
/// if the peer goes down first. The client never saw that ACK, so `DHCPACK` must not count it:
/// it is counted under `Replies withheld`, and `DHCPACK` counts the ACKs that left.
#[test]
fn an_ack_that_never_left_is_counted_as_withheld_not_sent() {
    use duet::dhcp::driver::GateOrder;
    let dir = tempfile::tempdir().unwrap();
    let mut b = bed(dir.path(), true);
    let handle = b.device.dhcp.get().expect("engine started").clone();
    let mut events = handle.subscribe();
    b.rt.block_on(handle.gate(GateOrder::Hold(true))).unwrap();
    let (_, req) = b.request_an_offer("02:00:00:00:00:21", 1);
    let commit =
        b.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), events.recv()).await })
            .expect("the binding is journaled")
            .expect("event")
            .seq;
    // The peer "goes down" before confirming: the held ACK is dropped.
    b.rt.block_on(handle.gate(GateOrder::Settle(vec![(commit, false)])))
        .unwrap();
    let no_ack = |b: &mut Bed| {
        while let Some((_, _, m)) = b.reply_within(Duration::from_millis(300)) {
            assert_ne!(m.options.message_type, Some(MessageType::Ack), "{m:?}");
        }
    };
    no_ack(&mut b);
    let stats = run(&b.device, &["display dhcp server statistics"]);
    let value = stat_value;
    assert_eq!(value(&stats, "DHCPACK:"), "0", "{stats}");
    assert_eq!(value(&stats, "Replies withheld:"), "1", "{stats}");
    assert_eq!(value(&stats, "peer-unconfirmed:"), "1", "{stats}");
    // The client retransmits its REQUEST; with nothing held any more it gets its ACK, and
    // that one is counted as sent.
    b.rt.block_on(handle.gate(GateOrder::Hold(false))).unwrap();
    let (_, _, ack) = b.exchange(&req);
    assert_eq!(ack.options.message_type, Some(MessageType::Ack));
    let stats = run(&b.device, &["display dhcp server statistics"]);
    assert_eq!(value(&stats, "DHCPACK:"), "1", "{stats}");
    assert_eq!(value(&stats, "Replies withheld:"), "1", "{stats}");
}

/// `dhcp server ping packets 1` on the simulated LAN: a squatter host already using the first
/// pool address answers the probe, so the client gets another address and the squatted one is
/// in the conflict list.
#[test]
fn with_ping_on_an_address_a_host_answers_for_is_skipped_and_listed_as_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    // Configured before the start: the first DISCOVER meets the probe.
    let setup = [SETUP, &["system-view", "dhcp server ping packets 1"]].concat();
    let mut b = bed_with(dir.path(), &setup);
    let squatter = PortId {
        node: b.lan.add_node("squatter", &[ge(1)]),
        port: ge(1),
    };
    b.lan.attach(&squatter, b.seg).unwrap();
    let squatted = Ipv4Addr::new(10, 1, 1, 10);
    b.lan.add_address(&squatter, (squatted, 24)).unwrap();
    let got = b.dora(1);
    assert_ne!(got, squatted);
    let conflicts = run(&b.device, &["display dhcp server conflict"]);
    assert!(
        conflicts.contains("\n10.1.1.10 "),
        "the squatted address is listed:\n{conflicts}"
    );
}
