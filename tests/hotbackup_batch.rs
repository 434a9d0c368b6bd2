//! Batch backup through the whole engine (no root): device A on the simulated LAN holds N
//! bindings, B is empty; hot backup is enabled on both (TCP over loopback) and B must end in
//! real-time backup holding every binding. Meanwhile a simulated client does one DORA after
//! another with A (synchronous mode: each ACK waits for B to apply the binding, queued behind
//! the batch): A must keep serving. Prints the batch duration the session measured
//! (`display hot-backup`'s `Last batch duration`), the wall time to real-time backup and the
//! DORA times during the batch.
//! `HOTBACKUP_ENGINE_BATCH=1000000` for a million (bench/hot-backup.sh runs it in release).

mod dhcp_common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhcp_common::{PacketSpec, client_broadcast, run_lines};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::frame;
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::dhcp::{ClientKey, LeaseRecord, LeaseState};
use duet::hotbackup::Phase;
use duet::interface::name::IfName;
use duet::net::sim::{Frame, Lan, PortId};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// A's LAN address: its server identifier (no VRRP group here, so B answers too, from its
/// half of the pool; the client takes A's offer).
const A_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 15, 255, 2);

fn run(device: &Arc<Device>, lines: &[String]) {
    run_lines(device, lines);
}

fn base(lan_ip: &str) -> Vec<String> {
    [
        "system-view",
        "dhcp enable",
        "dhcp server ip-pool lan",
        "network 10.0.0.0 12",
        "quit",
        "interface ge1/0/1",
        &format!("ip address {lan_ip} 12"),
        "dhcp server apply ip-pool lan",
        "return",
    ]
    .map(String::from)
    .to_vec()
}

/// A simulated DHCP client on the LAN.
struct Client<'a> {
    rt: &'a Runtime,
    lan: &'a Lan,
    port: PortId,
    rx: mpsc::Receiver<Frame>,
}

impl Client<'_> {
    /// A's reply of `kind` to `payload` (sent again every second), or None after 20 tries.
    fn ask(
        &mut self,
        mac: [u8; 6],
        payload: &[u8],
        xid: u32,
        kind: MessageType,
    ) -> Option<Message> {
        let f = client_broadcast(mac, payload);
        for _ in 0..20 {
            self.lan.send(&self.port, &f).unwrap();
            let rx = &mut self.rx;
            let got = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), async {
                    loop {
                        let f = rx.recv().await?;
                        if let Some(d) = frame::parse_ethernet(&f.bytes)
                            && d.addrs.dst_port == 68
                            && let Ok(m) = Message::decode(d.payload)
                            && m.xid == xid
                            && m.options.message_type == Some(kind)
                            && m.options.server_id == Some(A_ADDRESS)
                        {
                            return Some(m);
                        }
                    }
                })
                .await
                .ok()
                .flatten()
            });
            if got.is_some() {
                return got;
            }
        }
        None
    }

    /// DISCOVER, OFFER, REQUEST, ACK with A as client number `n`: how long it took.
    fn dora(&mut self, n: u32) -> Duration {
        let mac = [0x02, 0x99, 0, (n >> 8) as u8, n as u8, 1];
        let text = mac.map(|b| format!("{b:02x}")).join(":");
        let xid = 0x5000_0000 + 2 * n;
        let start = Instant::now();
        let discover = PacketSpec::new(MessageType::Discover, &text, xid)
            .message()
            .encode();
        let offer = self
            .ask(mac, &discover, xid, MessageType::Offer)
            .expect("A answers DISCOVER during the batch");
        let req = PacketSpec {
            requested: Some(offer.yiaddr),
            server_id: Some(A_ADDRESS),
            ..PacketSpec::new(MessageType::Request, &text, xid + 1)
        };
        let ack = self
            .ask(mac, &req.message().encode(), xid + 1, MessageType::Ack)
            .expect("A ACKs during the batch");
        assert_eq!(ack.yiaddr, offer.yiaddr);
        start.elapsed()
    }
}

fn hot_backup(source: &str, peer: &str, port: u16) -> Vec<String> {
    [
        "system-view",
        "dhcp server hot-backup",
        "hot-backup",
        &format!("peer {peer} source {source} port {port}"),
        "hot-backup enable",
        "return",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_full_table_reaches_an_empty_peer_through_the_engine() {
    let n: u32 = std::env::var("HOTBACKUP_ENGINE_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let new = |d: &tempfile::TempDir| {
        Device::new(DeviceOptions {
            data_dir: d.path().to_path_buf(),
            net: NetKind::Sim,
        })
    };
    let (a, b) = (new(&dirs.0), new(&dirs.1));
    run(&a, &base("10.15.255.2"));
    run(&b, &base("10.15.255.3"));
    let lan = Lan::new();
    let seg = lan.segment();
    let ge1: IfName = "ge1/0/1".parse().unwrap();
    let client_node = lan.add_node("client", std::slice::from_ref(&ge1));
    let client_port = PortId {
        node: client_node,
        port: ge1.clone(),
    };
    lan.attach(&client_port, seg).unwrap();
    let mut client = Client {
        rt: &rt,
        lan: &lan,
        rx: lan.listen(&client_port).unwrap(),
        port: client_port,
    };
    for (d, name) in [(&a, "A"), (&b, "B")] {
        let node = lan.add_node(name, &d.ports);
        lan.attach(
            &PortId {
                node,
                port: ge1.clone(),
            },
            seg,
        )
        .unwrap();
        d.start_on_lan(rt.handle(), &lan, node).unwrap();
    }
    let records: Vec<LeaseRecord> = (0..n)
        .map(|i| {
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 10)) + i);
            let mac: Box<[u8]> = [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1].into();
            LeaseRecord {
                ip,
                state: LeaseState::Committed,
                client: ClientKey::Hw(mac.clone()),
                chaddr: mac,
                // Unlimited: nothing expires during the test (a finite end further than any
                // pool's lease would be refused by the receiver).
                expires: duet::dhcp::lease::NEVER,
                updated: 1,
                relay_info: None,
                hostname: None,
                is_static: false,
            }
        })
        .collect();
    a.dhcp
        .get()
        .unwrap()
        .query(move |s, _| s.restore(records))
        .unwrap();
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 7;
    let start = Instant::now();
    run(&a, &hot_backup("127.0.0.1", "127.0.0.5", port));
    run(&b, &hot_backup("127.0.0.5", "127.0.0.1", port));
    let limit = Duration::from_secs(60 + u64::from(n) / 10_000);
    let phase = |d: &Device| {
        d.hotbackup
            .get()
            .unwrap()
            .report()
            .status
            .as_ref()
            .map(|s| s.phase)
    };
    // DORAs while A sends its batch (once the peers are connected, until B is done).
    let mut doras = Vec::new();
    let mut wall = None;
    while wall.is_none() {
        if phase(&b) == Some(Phase::RealTime) {
            wall = Some(start.elapsed());
        } else if phase(&a) == Some(Phase::BatchBackup) {
            doras.push(client.dora(doras.len() as u32));
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        let report = b.hotbackup.get().unwrap().report();
        assert!(start.elapsed() < limit, "no real-time backup: {report:?}");
    }
    let wall = wall.unwrap_or_default();
    let held = b
        .dhcp
        .get()
        .unwrap()
        // B answers DISCOVERs too (no VRRP group here): its own offers are not bindings.
        .query(|s, _| {
            s.leases()
                .iter()
                .filter(|r| r.state != LeaseState::Offered)
                .count()
        })
        .unwrap();
    // The batch, and every binding A made for the client during it.
    assert_eq!(held, n as usize + doras.len());
    let batch_ms = a
        .hotbackup
        .get()
        .unwrap()
        .report()
        .status
        .as_ref()
        .and_then(|s| s.last_batch_ms);
    println!(
        "engine batch of {n} bindings: {} ms measured by the session, {} ms from enable to real-time backup",
        batch_ms.map_or("-".into(), |m| m.to_string()),
        wall.as_millis()
    );
    doras.sort();
    if let (Some(first), Some(last)) = (doras.first(), doras.last()) {
        println!(
            "DORA with A during the batch (synchronous): {} exchanges, fastest {} ms, median {} ms, slowest {} ms",
            doras.len(),
            first.as_millis(),
            doras[doras.len() / 2].as_millis(),
            last.as_millis()
        );
    }
    for (name, d) in [("A", &a), ("B", &b)] {
        let r = d.hotbackup.get().unwrap().report();
        eprintln!(
            "{name}: batches sent {} received {}, reconnects {}, bad {:?}",
            r.stats.batches_sent, r.stats.batches_received, r.stats.reconnects, r.stats.bad
        );
    }
}
