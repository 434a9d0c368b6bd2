//! DHCP benchmarks: the lease store's group commit (records/s at batch sizes 1, 64 and 1024,
//! each batch one fdatasync), and the server's DISCOVER/REQUEST handling with every lease
//! journaled and flushed before its ACK would leave (leases/s), against the journal on the
//! build directory's disk (not /tmp, which may be tmpfs where fsync costs nothing).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use duet::dhcp::config::{DhcpConfig, LeaseDuration, Network, PoolConfig};
use duet::dhcp::event::{Ingress, LeaseChange};
use duet::dhcp::lease::{ClientKey, LeaseRecord, LeaseState};
use duet::dhcp::options::{MessageType, Options};
use duet::dhcp::packet::{FLAG_BROADCAST, Message, Op};
use duet::dhcp::server::{Server, ServerOptions};
use duet::dhcp::store::LeaseStore;

fn scratch() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    tempfile::tempdir_in(base).expect("scratch directory in target/")
}

fn record(n: u32) -> LeaseRecord {
    let mac = n.to_be_bytes();
    LeaseRecord {
        ip: Ipv4Addr::from(0x0a00_0000 + n),
        state: LeaseState::Committed,
        client: ClientKey::Id(vec![1, 2, 0, mac[0], mac[1], mac[2], mac[3]].into()),
        chaddr: vec![2, 0, mac[0], mac[1], mac[2], mac[3]].into(),
        expires: 86_400_000,
        updated: 0,
        relay_info: None,
        hostname: None,
        is_static: false,
    }
}

fn store_group_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("store_flush");
    for batch in [1u32, 64, 1024] {
        let dir = scratch();
        let (mut store, _) = LeaseStore::open(dir.path()).unwrap();
        let changes: Vec<LeaseChange> =
            (0..batch).map(|n| LeaseChange::Upsert(record(n))).collect();
        g.throughput(Throughput::Elements(u64::from(batch)));
        g.bench_with_input(
            BenchmarkId::from_parameter(batch),
            &changes,
            |b, changes| {
                b.iter(|| {
                    for ch in changes {
                        store.append(ch);
                    }
                    black_box(store.flush().unwrap())
                })
            },
        );
    }
    g.finish();
}

fn server() -> Server {
    let mut cfg = DhcpConfig {
        enabled: true,
        ..DhcpConfig::default()
    };
    cfg.pools.insert(
        "big".into(),
        PoolConfig {
            network: Some(Network {
                address: Ipv4Addr::new(10, 0, 0, 0),
                prefix_len: 8,
            }),
            gateways: vec![Ipv4Addr::new(10, 0, 0, 1)],
            dns: vec![Ipv4Addr::new(10, 0, 0, 2)],
            lease: LeaseDuration::Seconds(3600),
            ..PoolConfig::default()
        },
    );
    Server::new(cfg, ServerOptions::default()).unwrap()
}

fn request(t: MessageType, n: u32, requested: Option<Ipv4Addr>) -> Vec<u8> {
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&[
        2,
        0,
        (n >> 24) as u8,
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
    ]);
    Message {
        op: Op::Request,
        htype: 1,
        hlen: 6,
        hops: 0,
        xid: n,
        secs: 0,
        flags: FLAG_BROADCAST,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr,
        sname: vec![],
        file: vec![],
        options: Options {
            message_type: Some(t),
            server_id: requested.map(|_| Ipv4Addr::new(10, 0, 0, 1)),
            requested_ip: requested,
            parameter_request_list: Some(vec![1, 3, 6, 15, 51, 58, 59]),
            ..Options::default()
        },
    }
    .encode()
}

/// One client's DISCOVER -> OFFER, REQUEST -> ACK (events stay queued in the server).
fn dora(s: &mut Server, ingress: &Ingress, n: u32, now: u64) {
    let offer = s.handle_packet(now, ingress, &request(MessageType::Discover, n, None));
    let yiaddr = Message::decode(&offer[0].bytes).unwrap().yiaddr;
    let ack = s.handle_packet(
        now,
        ingress,
        &request(MessageType::Request, n, Some(yiaddr)),
    );
    black_box(ack);
}

fn server_dora(c: &mut Criterion) {
    let ingress = Ingress {
        interface: "GigabitEthernet1/0/1".into(),
        address: Ipv4Addr::new(10, 0, 0, 1),
        pool: None,
    };
    let mut g = c.benchmark_group("dora");
    // The core alone: decode, allocate, encode, no journal.
    g.throughput(Throughput::Elements(1));
    g.bench_function("core", |b| {
        let mut s = server();
        let mut n = 0u32;
        b.iter(|| {
            n += 1;
            dora(&mut s, &ingress, n, 0);
            black_box(s.drain_events());
        })
    });
    // As the driver runs it: a batch of clients, their events journaled, one flush, then the ACKs.
    for batch in [1u32, 64] {
        g.throughput(Throughput::Elements(u64::from(batch)));
        g.bench_function(BenchmarkId::new("durable", batch), |b| {
            let dir = scratch();
            let (mut store, _) = LeaseStore::open(dir.path()).unwrap();
            let mut s = server();
            let mut n = 0u32;
            b.iter(|| {
                for _ in 0..batch {
                    n += 1;
                    dora(&mut s, &ingress, n, 0);
                }
                for e in s.drain_events() {
                    store.append(&e.change);
                }
                black_box(store.flush().unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, store_group_commit, server_dora);
criterion_main!(benches);
