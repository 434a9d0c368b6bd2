//! Batch backup through the whole engine (no root): device A on the simulated LAN holds N
//! bindings, B is empty; hot backup is enabled on both (TCP over loopback) and B must end in
//! real-time backup holding every binding. Prints the batch duration the session measured
//! (`display hot-backup`'s `Last batch duration`) and the wall time to real-time backup.
//! `HOTBACKUP_ENGINE_BATCH=1000000` for a million (bench/hot-backup.sh runs it in release).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::{ClientKey, LeaseRecord, LeaseState};
use duet::hotbackup::Phase;
use duet::interface::name::IfName;
use duet::net::sim::{Lan, PortId};
use duet::session::{Interaction, Role, Session, SessionState};

struct NoQuestions;
impl Interaction for NoQuestions {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn run(device: &Arc<Device>, lines: &[String]) {
    let mut s = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "test", "con0", "-"),
    );
    for l in lines {
        let o = s.execute(l, &mut NoQuestions);
        assert!(o.ok, "{l}: {}", o.output);
    }
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
                expires: u64::MAX / 2,
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
    loop {
        let report = b.hotbackup.get().unwrap().report();
        if report.status.as_ref().map(|s| s.phase) == Some(Phase::RealTime) {
            break;
        }
        assert!(start.elapsed() < limit, "no real-time backup: {report:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let held = b
        .dhcp
        .get()
        .unwrap()
        .query(|s, _| s.leases().len())
        .unwrap();
    assert_eq!(held, n as usize);
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
    for (name, d) in [("A", &a), ("B", &b)] {
        let r = d.hotbackup.get().unwrap().report();
        eprintln!(
            "{name}: batches sent {} received {}, reconnects {}, bad {:?}",
            r.stats.batches_sent, r.stats.batches_received, r.stats.reconnects, r.stats.bad
        );
    }
}
