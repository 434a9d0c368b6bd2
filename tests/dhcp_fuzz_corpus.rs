//! Runs every file of the DHCP fuzz corpus (`fuzz/corpus/dhcp_packet/`) through the fuzz
//! target's oracle and through the server, on stable Rust: no panic, and decodable seeds
//! round-trip. New crashes found by `cargo fuzz` go into the corpus and stay tested here.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use duet::dhcp::config::{DhcpConfig, Network, PoolConfig};
use duet::dhcp::event::Ingress;
use duet::dhcp::packet::check_round_trip;
use duet::dhcp::server::{Server, ServerOptions};

#[test]
fn corpus_decodes_or_fails_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/dhcp_packet");
    let mut cfg = DhcpConfig {
        enabled: true,
        ..DhcpConfig::default()
    };
    cfg.pools.insert(
        "lan".into(),
        PoolConfig {
            network: Some(Network {
                address: Ipv4Addr::new(10, 1, 1, 0),
                prefix_len: 24,
            }),
            ..PoolConfig::default()
        },
    );
    let mut server = Server::new(cfg, ServerOptions::default()).unwrap();
    let ingress = Ingress {
        interface: "GigabitEthernet1/0/1".into(),
        address: Ipv4Addr::new(10, 1, 1, 1),
        pool: None,
    };
    let (mut ok, mut bad) = (0, 0);
    for entry in fs::read_dir(&dir).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        match check_round_trip(&bytes) {
            Ok(_) => ok += 1,
            Err(_) => bad += 1,
        }
        server.handle_packet(0, &ingress, &bytes);
    }
    assert!(
        ok >= 5 && bad >= 3,
        "corpus should hold valid and invalid seeds ({ok} valid, {bad} invalid)"
    );
    // Every invalid seed is counted as a bad message or a request the server does not answer.
    let s = server.stats();
    assert_eq!(
        s.bad_total() + s.bootp_requests + s.received.values().sum::<u64>(),
        (ok + bad) as u64
    );
}
