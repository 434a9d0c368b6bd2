//! Property tests of the DHCP server with its lease store: across random DISCOVER/REQUEST/
//! RENEW/INIT-REBOOT/RELEASE/DECLINE, time passing and restarts from the store, an address
//! ACKed to one client is never offered or ACKed to another while that lease lasts, and never
//! from a forbidden or another client's static address.

mod dhcp_common;

use std::collections::HashMap;
use std::net::Ipv4Addr;

use dhcp_common::{PacketSpec, lan_config, lan_pool};
use duet::dhcp::config::{BindingClient, DhcpConfig, LeaseDuration, PoolConfig, StaticBinding};
use duet::dhcp::event::Ingress;
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::dhcp::server::{Server, ServerOptions};
use duet::dhcp::store::LeaseStore;
use proptest::prelude::*;

const CLIENTS: u8 = 10;
const LEASE_MS: u64 = 100_000;
const SID: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
const FORBIDDEN: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 13);
const STATIC: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 12);

#[derive(Clone, Debug)]
enum Op {
    Discover(u8),
    Select(u8),
    Renew(u8),
    InitReboot(u8, u8),
    Release(u8),
    Decline(u8),
    Advance(u64),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CLIENTS;
    prop_oneof![
        4 => c.clone().prop_map(Op::Discover),
        4 => c.clone().prop_map(Op::Select),
        2 => c.clone().prop_map(Op::Renew),
        1 => (c.clone(), 10u8..22).prop_map(|(c, h)| Op::InitReboot(c, h)),
        1 => c.clone().prop_map(Op::Release),
        1 => c.prop_map(Op::Decline),
        2 => (1u64..60_000).prop_map(Op::Advance),
        1 => Just(Op::Restart),
    ]
}

fn mac(c: u8) -> String {
    format!("02:00:00:00:00:{c:02x}")
}

fn config() -> DhcpConfig {
    lan_config(PoolConfig {
        lease: LeaseDuration::Seconds((LEASE_MS / 1000) as u32),
        forbidden: vec![FORBIDDEN],
        static_bindings: vec![StaticBinding {
            ip: STATIC,
            prefix_len: None,
            client: BindingClient::HardwareAddress([2, 0, 0, 0, 0, 0]),
        }],
        ..lan_pool(17)
    })
}

struct World {
    dir: tempfile::TempDir,
    server: Server,
    store: LeaseStore,
    now: u64,
    ingress: Ingress,
    /// What each client was last offered and what it holds (address, lease end).
    offered: HashMap<u8, Ipv4Addr>,
    bound: HashMap<u8, (Ipv4Addr, u64)>,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (server, store) = Self::open(&dir);
        let ingress = Ingress {
            interface: "GigabitEthernet1/0/1".into(),
            address: SID,
            pool: None,
        };
        World {
            dir,
            server,
            store,
            now: 0,
            ingress,
            offered: HashMap::new(),
            bound: HashMap::new(),
        }
    }

    fn open(dir: &tempfile::TempDir) -> (Server, LeaseStore) {
        let mut server = Server::new(
            config(),
            ServerOptions {
                offer_hold_ms: 10_000,
            },
        )
        .unwrap();
        let (store, rec) = LeaseStore::open(dir.path()).unwrap();
        server.restore(rec.leases);
        (server, store)
    }

    /// Send a request, journal and flush like the driver, return the decoded replies.
    fn send(&mut self, spec: PacketSpec) -> Vec<Message> {
        let replies = self
            .server
            .handle_packet(self.now, &self.ingress, &spec.message().encode());
        for e in self.server.drain_events() {
            self.store.append(&e.change);
        }
        self.store.flush().unwrap();
        replies
            .iter()
            .map(|r| Message::decode(&r.bytes).unwrap())
            .collect()
    }

    /// The invariant: `ip` given to `c` is nobody else's live lease, not forbidden, and the
    /// static address only for its owner.
    fn check_grant(&self, c: u8, ip: Ipv4Addr) -> Result<(), TestCaseError> {
        prop_assert_ne!(ip, FORBIDDEN);
        prop_assert!(
            ip != STATIC || c == 0,
            "static address given to client {}",
            c
        );
        for (&other, &(held, until)) in &self.bound {
            prop_assert!(
                other == c || held != ip || until <= self.now,
                "{} given to client {} while client {} holds it until {} (now {})",
                ip,
                c,
                other,
                until,
                self.now
            );
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Discover(c) => {
                let r = self.send(PacketSpec::new(MessageType::Discover, &mac(c), 1));
                if let Some(m) = r.first() {
                    prop_assert_eq!(m.options.message_type, Some(MessageType::Offer));
                    self.check_grant(c, m.yiaddr)?;
                    self.offered.insert(c, m.yiaddr);
                }
            }
            Op::Select(c) => {
                let Some(&ip) = self.offered.get(&c) else {
                    return Ok(());
                };
                let spec = PacketSpec {
                    server_id: Some(SID),
                    requested: Some(ip),
                    ..PacketSpec::new(MessageType::Request, &mac(c), 2)
                };
                self.ack_or_nak(c, spec)?;
            }
            Op::Renew(c) => {
                let Some(&(ip, _)) = self.bound.get(&c) else {
                    return Ok(());
                };
                let spec = PacketSpec {
                    ciaddr: Some(ip),
                    ..PacketSpec::new(MessageType::Request, &mac(c), 3)
                };
                self.ack_or_nak(c, spec)?;
            }
            Op::InitReboot(c, host) => {
                let spec = PacketSpec {
                    requested: Some(Ipv4Addr::new(10, 1, 1, host)),
                    ..PacketSpec::new(MessageType::Request, &mac(c), 4)
                };
                self.ack_or_nak(c, spec)?;
            }
            Op::Release(c) => {
                let Some((ip, _)) = self.bound.remove(&c) else {
                    return Ok(());
                };
                let spec = PacketSpec {
                    ciaddr: Some(ip),
                    server_id: Some(SID),
                    ..PacketSpec::new(MessageType::Release, &mac(c), 5)
                };
                prop_assert!(self.send(spec).is_empty());
            }
            Op::Decline(c) => {
                let Some((ip, _)) = self.bound.remove(&c) else {
                    return Ok(());
                };
                let spec = PacketSpec {
                    requested: Some(ip),
                    server_id: Some(SID),
                    ..PacketSpec::new(MessageType::Decline, &mac(c), 6)
                };
                prop_assert!(self.send(spec).is_empty());
            }
            Op::Advance(ms) => {
                self.now += ms;
                self.server.handle_timeout(self.now);
                for e in self.server.drain_events() {
                    self.store.append(&e.change);
                }
                self.store.flush().unwrap();
                prop_assert!(self.server.poll_timeout().is_none_or(|t| t > self.now));
            }
            Op::Restart => {
                let (s, st) = Self::open(&self.dir);
                self.server = s;
                self.store = st;
                self.offered.clear();
            }
        }
        Ok(())
    }

    fn ack_or_nak(&mut self, c: u8, spec: PacketSpec) -> Result<(), TestCaseError> {
        let r = self.send(spec);
        match r.first().and_then(|m| m.options.message_type) {
            Some(MessageType::Ack) => {
                let ip = r[0].yiaddr;
                self.check_grant(c, ip)?;
                self.bound.insert(c, (ip, self.now + LEASE_MS));
            }
            Some(MessageType::Nak) | None => {}
            other => prop_assert!(false, "unexpected reply {:?}", other),
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn no_address_is_given_to_two_clients(ops in proptest::collection::vec(op(), 1..120)) {
        let mut w = World::new();
        for op in ops {
            w.apply(op)?;
        }
    }
}
