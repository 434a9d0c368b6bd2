//! Hot backup against an attacker and a broken peer (issue 10, items 6 and 7), on two real
//! `dhcp::Server`s and sessions wired back to back:
//! - a session recorded on the failover link and sent again from the peer's address, without
//!   the key, fails at its first authenticated frame and is counted (`replayed-session`);
//! - entries outside every pool, or dated beyond the clock-skew bound, are refused, counted
//!   (`bad-entry`), never applied and so never forwarded to the other device;
//! - a peer whose clock is more than 60 s off is refused at negotiation (`clock-skew`).

mod dhcp_common;

use std::net::Ipv4Addr;

use dhcp_common::{lan_config, lan_pool};
use duet::dhcp::config::{DhcpConfig, LeaseDuration, PoolConfig};
use duet::dhcp::lease::NEVER;
use duet::dhcp::server::{Server, ServerOptions};
use duet::dhcp::{ClientKey, LeaseChange, LeaseRecord, LeaseState};
use duet::hotbackup::{AuthKey, Change, DhcpBindings, Event, Role, dhcp_config_digest};
use duet::hotbackup::{Mode, Phase, Session, SessionConfig};

/// Wall-clock milliseconds of a day in 2026: the sessions compare real clocks.
const T0: u64 = 1_796_000_000_000;

fn config() -> DhcpConfig {
    lan_config(PoolConfig {
        lease: LeaseDuration::Seconds(86_400),
        ..lan_pool(59)
    })
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, 1, n)
}

fn binding(ip: Ipv4Addr, client: u8, updated: u64) -> LeaseRecord {
    let mac: Box<[u8]> = [2, 0, 0, 0, 0, client].into();
    LeaseRecord {
        ip,
        state: LeaseState::Committed,
        client: ClientKey::Hw(mac.clone()),
        chaddr: mac,
        expires: updated.saturating_add(86_400_000),
        updated,
        relay_info: None,
        hostname: None,
        is_static: false,
    }
}

struct Dev {
    id: u32,
    s: Session<DhcpBindings>,
    t: Server,
    ev: Vec<Event<DhcpBindings>>,
    /// The device's own clock: `T0 + skew` when the virtual time is `T0`.
    skew: i64,
    /// Connections started, for fresh challenges.
    conns: u64,
}

impl Dev {
    fn new(id: u32, boot: u64, key: &[u8]) -> Dev {
        let mut cfg = SessionConfig::new(id, boot);
        cfg.mode = Mode::Synchronous;
        cfg.key = Some(AuthKey::new(key));
        cfg.config_digest = dhcp_config_digest(&config());
        Dev {
            id,
            s: Session::new(cfg, T0),
            t: Server::new(config(), ServerOptions::default()).unwrap(),
            ev: Vec::new(),
            skew: 0,
            conns: 0,
        }
    }

    fn clock(&self, now: u64) -> u64 {
        now.saturating_add_signed(self.skew)
    }

    /// A new connection, with a challenge never used on this device.
    fn connected(&mut self, now: u64) {
        self.conns += 1;
        let nonce = (u128::from(self.id) << 64 | u128::from(self.conns)).to_be_bytes();
        self.s.handle_connected(self.clock(now), nonce);
    }

    fn closed(&mut self, now: u64) {
        self.s.handle_closed(self.clock(now));
        self.drain();
    }

    fn bytes(&mut self, now: u64, b: &[u8]) {
        let now = self.clock(now);
        self.s.handle_bytes(now, b, &mut self.t);
    }

    /// A binding made on this device: into the table, then to the session.
    fn commit(&mut self, r: LeaseRecord, token: u64) {
        self.t.apply_remote(LeaseChange::Upsert(r.clone()));
        self.t.drain_events();
        self.s.handle_new_claim(token, Change::Upsert(r));
    }

    fn drain(&mut self) {
        while let Some(e) = self.s.poll_event() {
            self.ev.push(e);
        }
    }

    fn has(&self, f: impl Fn(&Event<DhcpBindings>) -> bool) -> bool {
        self.ev.iter().any(f)
    }

    fn bad(&self, reason: &str) -> u64 {
        self.s.stats().bad.get(reason).copied().unwrap_or(0)
    }
}

/// Shuttle bytes both ways until both are quiet; returns what `a` sent (a capture of the
/// failover link in that direction).
fn pump(a: &mut Dev, b: &mut Dev, now: u64) -> Vec<u8> {
    let mut sent = Vec::new();
    for _ in 0..1000 {
        let x = a.s.poll_transmit(&a.t);
        let y = b.s.poll_transmit(&b.t);
        if x.is_none() && y.is_none() {
            break;
        }
        if let Some(x) = x {
            sent.extend_from_slice(&x);
            b.bytes(now, &x);
        }
        if let Some(y) = y {
            a.bytes(now, &y);
        }
    }
    a.drain();
    b.drain();
    sent
}

fn connect(a: &mut Dev, b: &mut Dev, now: u64) -> Vec<u8> {
    a.connected(now);
    b.connected(now);
    pump(a, b, now)
}

#[test]
fn a_recorded_session_replayed_without_the_key_fails_at_its_first_authenticated_frame() {
    let mut a = Dev::new(1, 11, b"s3cret");
    let mut b = Dev::new(2, 22, b"s3cret");
    a.s.handle_role(Role::Master);
    b.s.handle_role(Role::Backup);
    for n in 10..14 {
        a.commit(binding(ip(n), n, T0 - 1000), u64::from(n));
    }
    // The attacker records everything A sends on the failover link: the batch, the acks of
    // B's changes, keepalives with A's master role.
    let mut capture = connect(&mut a, &mut b, T0);
    assert_eq!(b.s.phase(), Phase::RealTime);
    b.commit(binding(ip(20), 20, T0 + 10), 1);
    capture.extend(pump(&mut a, &mut b, T0 + 10));
    a.s.handle_timeout(T0 + 1000);
    capture.extend(pump(&mut a, &mut b, T0 + 1000));
    assert!(b.has(|e| matches!(e, Event::Released { upto: 1 })));

    // A dies. The attacker connects from A's address and sends the capture again.
    b.closed(T0 + 5000);
    b.ev.clear();
    b.connected(T0 + 60_000);
    b.bytes(T0 + 60_000, &capture);
    b.drain();
    assert!(
        !b.has(|e| matches!(e, Event::PeerUp { .. })),
        "the replay was taken for the peer: {:?}",
        b.ev
    );
    assert_eq!(b.s.phase(), Phase::Silence, "{:?}", b.ev);
    assert_eq!(b.s.status().peer_role, None);
    assert_eq!(b.bad("replayed-session"), 1, "{:?}", b.s.stats().bad);
    assert!(b.has(|e| matches!(e, Event::Close)));
    // Serving alone: B's next bindings are answered at once, none waits for a dead peer.
    for t in 2..11 {
        b.commit(binding(ip(20 + t as u8), 20 + t as u8, T0 + 60_000), t);
    }
    b.drain();
    assert!(
        b.has(|e| matches!(e, Event::Released { upto: 10 })),
        "{:?}",
        b.ev
    );
    assert_eq!(b.s.status().unacked, 0);
}

#[test]
fn entries_outside_every_pool_or_from_the_future_are_refused_counted_and_never_forwarded() {
    // M holds the key (a compromised or badly broken peer) and sends entries no Duet device
    // makes: addresses outside every pool, a tombstone dated near 2^64, a lease ending near
    // 2^64 that is not "unlimited", a change dated an hour ahead.
    let mut m = Dev::new(2, 22, b"s3cret");
    let far = u64::MAX - 5;
    let mut tombstone = binding(ip(21), 9, far);
    tombstone.state = LeaseState::Removed;
    let mut forever = binding(ip(22), 8, T0);
    forever.expires = u64::MAX - 1;
    let bad = [
        binding(Ipv4Addr::UNSPECIFIED, 1, T0),
        binding(Ipv4Addr::BROADCAST, 2, T0),
        binding(Ipv4Addr::new(192, 168, 7, 7), 3, T0),
        tombstone,
        forever,
        binding(ip(23), 7, T0 + 3_600_000),
    ];
    let good = binding(ip(24), 6, T0 - 10);
    for r in bad.iter().chain([&good]) {
        m.t.apply_remote(LeaseChange::Upsert(r.clone()));
    }
    m.t.drain_events();
    let mut a = Dev::new(1, 11, b"s3cret");
    connect(&mut a, &mut m, T0);
    assert_eq!(a.t.leases().get(good.ip), Some(&good));
    for r in &bad {
        assert_eq!(a.t.leases().get(r.ip), None, "{r:?} was applied");
    }
    assert_eq!(
        a.bad("bad-entry"),
        bad.len() as u64,
        "{:?}",
        a.s.stats().bad
    );
    // Refused entries do not stop the session: the rest of the table is in sync.
    assert_eq!(a.s.phase(), Phase::RealTime);
    // Also as real-time updates.
    let mut late = binding(ip(25), 5, u64::MAX - 7);
    late.state = LeaseState::Removed;
    m.commit(late.clone(), 1);
    pump(&mut a, &mut m, T0 + 5);
    assert_eq!(a.t.leases().get(late.ip), None);
    assert_eq!(a.bad("bad-entry"), bad.len() as u64 + 1);

    // The real peer C comes back: A's batch carries nothing M sent but the good entry, and a
    // later binding of the address M tried to block with a far-future tombstone is applied.
    m.closed(T0 + 10);
    a.closed(T0 + 10);
    let mut c = Dev::new(3, 33, b"s3cret");
    connect(&mut a, &mut c, T0 + 20);
    assert_eq!(c.t.leases().get(good.ip), Some(&good));
    assert_eq!(c.t.leases().len(), 1, "forwarded: {:?}", c.t.leases());
    let fresh = binding(ip(21), 4, T0 + 30);
    c.commit(fresh.clone(), 1);
    pump(&mut a, &mut c, T0 + 30);
    assert_eq!(a.t.leases().get(fresh.ip), Some(&fresh));
    assert_eq!(
        c.bad("bad-entry") + a.bad("bad-entry"),
        bad.len() as u64 + 1
    );
    let _ = NEVER;
}

#[test]
fn an_unlimited_lease_and_a_peer_clock_within_the_bound_are_accepted() {
    let mut b = Dev::new(2, 22, b"s3cret");
    b.skew = 59_000;
    let mut unlimited = binding(ip(30), 1, b.clock(T0));
    unlimited.expires = NEVER;
    b.t.apply_remote(LeaseChange::Upsert(unlimited.clone()));
    b.t.drain_events();
    let mut a = Dev::new(1, 11, b"s3cret");
    connect(&mut a, &mut b, T0);
    assert_eq!(a.s.phase(), Phase::RealTime, "{:?}", a.ev);
    assert_eq!(a.t.leases().get(unlimited.ip), Some(&unlimited));
    assert_eq!(a.bad("bad-entry"), 0);
}

#[test]
fn a_peer_clock_more_than_60_s_off_is_refused_at_negotiation() {
    for skew in [61_000, -61_000] {
        let mut a = Dev::new(1, 11, b"s3cret");
        let mut b = Dev::new(2, 22, b"s3cret");
        b.skew = skew;
        b.commit(binding(ip(12), 1, b.clock(T0)), 1);
        connect(&mut a, &mut b, T0);
        for d in [&a, &b] {
            assert_eq!(d.s.phase(), Phase::Silence, "skew {skew}: {:?}", d.ev);
            assert!(!d.has(|e| matches!(e, Event::PeerUp { .. })));
            assert_eq!(d.bad("clock-skew"), 1, "{:?}", d.s.stats().bad);
        }
        assert_eq!(a.t.leases().get(ip(12)), None);
    }
}
