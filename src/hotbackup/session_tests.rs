//! Unit tests of the session state machine: two sessions over in-memory tables, wired by hand.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::dhcp::DhcpBindings;
use super::frame::{AuthKey, FrameError};
use super::message::Role;
use super::service::{Change, EntryError, Replica};
use super::{Event, Mode, Phase, Progress, Session, SessionConfig, SessionError};
use crate::dhcp::{ClientKey, LeaseRecord, LeaseState};

/// An in-memory table: the entries, the changes applied (its applied mark) and how far they
/// are durable (`None`: all of them, as without a store). Tables compare by their entries.
#[derive(Default, Debug)]
struct Mem(BTreeMap<Ipv4Addr, LeaseRecord>, u64, Option<u64>);

impl PartialEq for Mem {
    fn eq(&self, other: &Mem) -> bool {
        self.0 == other.0
    }
}

impl Mem {
    /// A disk that refuses writes from now on (`false`: one that took everything so far).
    fn disk_full(&mut self, full: bool) {
        self.2 = full.then_some(self.1);
    }
}

impl Replica<DhcpBindings> for Mem {
    fn get(&self, k: &Ipv4Addr) -> Option<&LeaseRecord> {
        self.0.get(k)
    }
    fn keys(&self) -> Vec<Ipv4Addr> {
        self.0.keys().copied().collect()
    }
    fn applied_mark(&self) -> u64 {
        self.1
    }
    fn durable_mark(&self) -> u64 {
        self.2.unwrap_or(self.1)
    }
    /// Pools and clocks are checked by the DHCP replica (tests/hotbackup_attack.rs).
    fn admit(&self, _: &LeaseRecord, _: u64) -> Result<(), EntryError> {
        Ok(())
    }
    fn apply(&mut self, c: Change<DhcpBindings>) {
        self.1 += 1;
        match c {
            Change::Upsert(r) => {
                self.0.insert(r.ip, r);
            }
            Change::Remove(ip) => {
                self.0.remove(&ip);
            }
        }
    }
}

fn rec(n: u8, client: u8, updated: u64) -> LeaseRecord {
    LeaseRecord {
        ip: Ipv4Addr::new(10, 0, 0, n),
        state: LeaseState::Committed,
        client: ClientKey::Hw(vec![0, 0, 0, 0, 0, client].into()),
        chaddr: vec![0, 0, 0, 0, 0, client].into(),
        expires: updated + 86_400_000,
        updated,
        relay_info: None,
        hostname: None,
        is_static: false,
    }
}

type S = Session<DhcpBindings>;

struct Node {
    s: S,
    t: Mem,
    ev: Vec<Event<DhcpBindings>>,
    token: u64,
}

impl Node {
    fn new(id: u32, boot: u64, f: impl FnOnce(&mut SessionConfig)) -> Node {
        let mut cfg = SessionConfig::new(id, boot);
        f(&mut cfg);
        Node {
            s: Session::new(cfg, 0),
            t: Mem::default(),
            ev: Vec::new(),
            token: 0,
        }
    }
    /// A new connection, with a challenge never used before.
    fn connected(&mut self, now: u64) {
        static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.s.handle_connected(now, u128::from(n).to_be_bytes());
    }
    /// A local change: into the table and the session.
    fn change(&mut self, r: LeaseRecord) -> u64 {
        self.token += 1;
        self.t.0.insert(r.ip, r.clone());
        self.s.handle_local_change(self.token, Change::Upsert(r));
        self.token
    }
    /// A local change that claims an address for a new client.
    fn claim(&mut self, r: LeaseRecord) -> u64 {
        self.token += 1;
        self.t.0.insert(r.ip, r.clone());
        self.s.handle_new_claim(self.token, Change::Upsert(r));
        self.token
    }
    fn drain(&mut self) {
        while let Some(e) = self.s.poll_event() {
            self.ev.push(e);
        }
    }
    fn released(&self) -> Option<u64> {
        self.ev
            .iter()
            .filter_map(|e| match e {
                Event::Released { upto } => Some(*upto),
                _ => None,
            })
            .max()
    }
    fn has(&self, f: impl Fn(&Event<DhcpBindings>) -> bool) -> bool {
        self.ev.iter().any(f)
    }
}

/// Shuttle bytes both ways until neither side has anything to send.
fn pump(a: &mut Node, b: &mut Node, now: u64) {
    for _ in 0..1000 {
        let x = a.s.poll_transmit(&a.t);
        let y = b.s.poll_transmit(&b.t);
        if x.is_none() && y.is_none() {
            break;
        }
        if let Some(x) = x {
            b.s.handle_bytes(now, &x, &mut b.t);
        }
        if let Some(y) = y {
            a.s.handle_bytes(now, &y, &mut a.t);
        }
    }
    a.drain();
    b.drain();
}

fn connect(a: &mut Node, b: &mut Node, now: u64) {
    a.connected(now);
    b.connected(now);
    pump(a, b, now);
}

fn cut(a: &mut Node, b: &mut Node, now: u64) {
    a.s.handle_closed(now);
    b.s.handle_closed(now);
    a.drain();
    b.drain();
}

#[test]
fn first_connection_batches_both_ways_then_real_time() {
    let mut a = Node::new(1, 100, |c| c.page_size = 3);
    let mut b = Node::new(2, 200, |_| {});
    for n in 1..=10 {
        a.change(rec(n, n, 10));
    }
    b.change(rec(50, 50, 10));
    assert_eq!(a.s.phase(), Phase::Silence);
    assert!(a.s.may_preempt());
    a.connected(0);
    assert_eq!(a.s.phase(), Phase::Negotiating);
    assert!(!a.s.may_preempt());
    b.connected(0);
    // Challenges, then hellos: each side now knows it must send a batch.
    for _ in 0..2 {
        let ha = a.s.poll_transmit(&a.t).unwrap();
        let hb = b.s.poll_transmit(&b.t).unwrap();
        b.s.handle_bytes(0, &ha, &mut b.t);
        a.s.handle_bytes(0, &hb, &mut a.t);
        assert!(!a.has(|e| matches!(e, Event::Error(_))));
    }
    assert_eq!(a.s.phase(), Phase::BatchBackup);
    assert_eq!(a.s.status().sending, Some(Progress { done: 0, total: 10 }));
    assert!(!b.s.may_preempt());
    pump(&mut a, &mut b, 0);
    assert_eq!(a.s.phase(), Phase::RealTime);
    assert_eq!(b.s.phase(), Phase::RealTime);
    assert!(b.s.may_preempt());
    assert_eq!(a.t, b.t);
    assert_eq!(a.t.0.len(), 11);
    for n in [&a, &b] {
        assert!(n.has(|e| matches!(e, Event::BatchReceived)));
        assert!(n.has(|e| matches!(e, Event::Synchronized)));
        assert_eq!(n.s.stats().batches_sent, 1);
    }
    // Ten entries in pages of three.
    assert_eq!(a.s.stats().frames_sent["batch-page"], 4);
    assert_eq!(a.s.status().config_consistent, Some(true));
    assert!(!a.s.restrict_to_half());
}

#[test]
fn a_batch_page_ends_at_its_byte_budget() {
    let mut a = Node::new(1, 100, |c| c.page_size = usize::MAX);
    let mut b = Node::new(2, 200, |_| {});
    for i in 0..10_000u32 {
        let mut r = rec(0, 0, 10);
        r.ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i);
        r.client = ClientKey::Hw(i.to_be_bytes()[1..].to_vec().into());
        r.hostname = Some(vec![b'h'; 255].into());
        a.t.0.insert(r.ip, r);
    }
    connect(&mut a, &mut b, 0);
    assert_eq!(b.s.phase(), Phase::RealTime);
    assert_eq!(a.t, b.t);
    // Each entry is 297 bytes with its length: a page closes at the first entry that takes
    // it to 256 KiB, 883 entries, so 10,000 make 12 pages, every one far below MAX_FRAME.
    assert_eq!(a.s.stats().frames_sent["batch-page"], 12);
    assert!(!b.has(|e| matches!(e, Event::Error(_))));
}

#[test]
fn synchronous_change_is_released_only_after_the_peer_acks() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    a.ev.clear();
    let t = a.change(rec(7, 7, 50));
    a.drain();
    assert_eq!(a.released(), None);
    assert_eq!(a.s.status().unacked, 1);
    let bytes = a.s.poll_transmit(&a.t).unwrap();
    b.s.handle_bytes(1, &bytes, &mut b.t);
    assert_eq!(b.t.0.get(&Ipv4Addr::new(10, 0, 0, 7)), Some(&rec(7, 7, 50)));
    let ack = b.s.poll_transmit(&b.t).unwrap();
    a.drain();
    assert_eq!(a.released(), None, "not before the ack arrives");
    a.s.handle_bytes(2, &ack, &mut a.t);
    a.drain();
    assert_eq!(a.released(), Some(t));
    assert_eq!(a.s.status().unacked, 0);
}

/// An ack means "durable here": a backup whose disk refuses writes applies the change but
/// acknowledges nothing (and says so in its status) until the write succeeds.
#[test]
fn an_ack_covers_only_what_the_replica_has_saved() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    a.ev.clear();
    b.t.disk_full(true);
    let acks = b.s.stats().frames_sent.get("ack").copied();
    let t = a.change(rec(7, 7, 50));
    pump(&mut a, &mut b, 1);
    assert_eq!(b.t.0.get(&Ipv4Addr::new(10, 0, 0, 7)), Some(&rec(7, 7, 50)));
    assert_eq!(a.released(), None, "B has not saved it");
    assert_eq!((a.s.status().unacked, b.s.status().unsaved), (1, 1));
    assert_eq!(b.s.stats().frames_sent.get("ack").copied(), acks);
    b.t.disk_full(false);
    pump(&mut a, &mut b, 2);
    assert_eq!(a.released(), Some(t));
    assert_eq!((a.s.status().unacked, b.s.status().unsaved), (0, 0));
}

/// Synchronous mode: a peer that keeps talking but confirms none of the held changes for the
/// silence bound (interval x retransmit) is treated as down, and the held changes are handed
/// back as for any peer loss.
#[test]
fn a_peer_that_confirms_nothing_is_down_after_the_bound() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    a.ev.clear();
    b.t.disk_full(true);
    let t = a.change(rec(7, 7, 50));
    // The bound starts at the first moment A sees the change waiting: here, its keepalive
    // tick at 1000 (B sends nothing before).
    pump(&mut a, &mut b, 500);
    for now in (1000..=3500).step_by(500) {
        a.s.handle_timeout(now);
        b.s.handle_timeout(now);
        pump(&mut a, &mut b, now);
        assert_eq!(
            a.s.phase(),
            Phase::RealTime,
            "at {now}: B's keepalives keep it up"
        );
    }
    assert_eq!(a.s.poll_timeout(), Some(4000));
    a.s.handle_timeout(4000);
    a.drain();
    assert_eq!(a.s.phase(), Phase::Silence);
    assert!(a.has(|e| *e
        == Event::AckTimeout {
            held: 1,
            waited: 3000
        }));
    assert!(a.has(|e| matches!(e, Event::PeerDown)));
    assert!(a.has(|e| matches!(e, Event::Close)));
    assert!(a.has(|e| matches!(e, Event::Unconfirmed(u) if u.len() == 1 && u[0].token == t)));
    assert_eq!(a.s.stats().ack_timeouts, 1);
    assert!(a.s.restrict_to_half());
}

/// Acks that keep coming, however slowly, keep the peer up: the bound counts from the last
/// ack that confirmed something.
#[test]
fn a_slow_peer_that_confirms_something_within_the_bound_stays_up() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    b.t.disk_full(true);
    for now in (500..=10_000).step_by(500) {
        // A new change every half second; B's disk takes what it has every 2.5 s.
        a.change(rec((now / 500) as u8, 1, now));
        if now % 2500 == 0 {
            b.t.disk_full(false);
            b.t.disk_full(true);
        }
        a.s.handle_timeout(now);
        b.s.handle_timeout(now);
        pump(&mut a, &mut b, now);
        assert_eq!(a.s.phase(), Phase::RealTime, "at {now}");
    }
    assert_eq!(a.s.stats().ack_timeouts, 0);
}

#[test]
fn asynchronous_change_is_released_at_once() {
    let mut a = Node::new(1, 100, |c| c.mode = Mode::Asynchronous);
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    let t = a.change(rec(7, 7, 50));
    a.drain();
    assert_eq!(a.released(), Some(t));
}

#[test]
fn peer_down_hands_back_what_waited_for_it() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    a.change(rec(7, 7, 40));
    connect(&mut a, &mut b, 0);
    a.ev.clear();
    let t = a.change(rec(7, 7, 50));
    let fresh = a.claim(rec(9, 9, 50));
    a.drain();
    assert_eq!(a.released(), None);
    // B falls silent: after interval x retransmit (3 s) A declares it down.
    assert_eq!(a.s.poll_timeout(), Some(1000));
    for now in [1000, 2000] {
        a.s.handle_timeout(now);
        assert_eq!(a.s.phase(), Phase::RealTime);
    }
    a.s.handle_timeout(3000);
    a.drain();
    assert_eq!(a.s.phase(), Phase::Silence);
    assert!(a.has(|e| matches!(e, Event::PeerDown)));
    assert!(a.has(|e| matches!(e, Event::Close)));
    assert_eq!(a.released(), None);
    let unconfirmed =
        a.ev.iter()
            .find_map(|e| match e {
                Event::Unconfirmed(u) => Some(u.clone()),
                _ => None,
            })
            .unwrap();
    // Each held change, and whether it claimed its key for a new owner.
    let handed: Vec<_> = unconfirmed
        .iter()
        .map(|u| (u.token, u.change.clone(), u.new_claim))
        .collect();
    assert_eq!(
        handed,
        vec![
            (t, Change::Upsert(rec(7, 7, 50)), false),
            (fresh, Change::Upsert(rec(9, 9, 50)), true),
        ]
    );
    assert!(a.s.restrict_to_half());
    // Alone: later changes are released at once.
    let t2 = a.change(rec(8, 8, 60));
    a.drain();
    assert_eq!(a.released(), Some(t2));
}

#[test]
fn settling_unconfirmed_bindings_revokes_only_new_ones_in_the_peers_half() {
    use super::Unconfirmed;
    use crate::dhcp::config::{IpRange, Network, PoolConfig};
    use crate::dhcp::pool::Half;
    use crate::dhcp::{DhcpConfig, Server, ServerOptions};
    let mut config = DhcpConfig {
        enabled: true,
        ..DhcpConfig::default()
    };
    config.pools.insert(
        "lan".into(),
        PoolConfig {
            network: Some(Network {
                address: Ipv4Addr::new(10, 0, 0, 0),
                prefix_len: 24,
            }),
            range: Some(IpRange {
                start: Ipv4Addr::new(10, 0, 0, 10),
                end: Ipv4Addr::new(10, 0, 0, 59),
            }),
            ..PoolConfig::default()
        },
    );
    let mut server = Server::new(config, ServerOptions::default()).unwrap();
    // .11, .13 and .15 are at odd offsets from .10: the peer's half when ours is even.
    let (new_odd, even, renew_odd, released_odd) = (
        rec(11, 1, 50),
        rec(12, 2, 50),
        rec(13, 3, 50),
        LeaseRecord {
            state: LeaseState::Released,
            ..rec(15, 4, 50)
        },
    );
    // The client of .11 renewed its new binding before the peer could confirm either.
    let renewed_new_odd = rec(11, 1, 60);
    // In our half: client 5 released .14, and client 6 got it, before the peer confirmed
    // the release (it may still renew client 5's binding).
    let (released_even, rebound_even) = (
        LeaseRecord {
            state: LeaseState::Released,
            ..rec(14, 5, 50)
        },
        rec(14, 6, 55),
    );
    for r in [
        &renewed_new_odd,
        &even,
        &renew_odd,
        &released_odd,
        &rebound_even,
    ] {
        server.apply_remote(crate::dhcp::LeaseChange::Upsert(r.clone()));
    }
    server.drain_events();
    let mut s: S = Session::new(SessionConfig::new(1, 100), 0);
    let u = |token, r: &LeaseRecord, new_claim| Unconfirmed {
        token,
        change: Change::Upsert(r.clone()),
        new_claim,
    };
    let verdicts = s.settle_unconfirmed(
        &mut server,
        Half::Even,
        vec![
            u(1, &new_odd, true),
            u(2, &even, true),
            u(3, &renew_odd, false),
            u(4, &renewed_new_odd, false),
            u(5, &released_odd, false),
            u(6, &released_even, false),
            u(7, &rebound_even, true),
        ],
    );
    assert_eq!(
        verdicts,
        vec![
            (1, false),
            (2, true),
            (3, true),
            (4, false),
            (5, true),
            (6, true),
            (7, false)
        ]
    );
    // .11 is free again, under a tombstone newer than the binding; nothing else moved.
    let ip = Ipv4Addr::new(10, 0, 0, 11);
    let tombstone = server.leases().get(ip).unwrap().clone();
    assert_eq!(
        (tombstone.state, tombstone.updated, &tombstone.client),
        (LeaseState::Removed, 61, &new_odd.client)
    );
    assert!(server.is_free(ip));
    for r in [&even, &renew_odd, &released_odd] {
        assert_eq!(server.leases().get(r.ip), Some(r));
    }
    let even_ip = Ipv4Addr::new(10, 0, 0, 14);
    assert_eq!(
        server.leases().get(even_ip).map(|r| r.state),
        Some(LeaseState::Removed)
    );
    // The revocations are local changes of the server: journaled, and replicated as such.
    let events = server.drain_events();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e.origin == crate::dhcp::Origin::Local)
    );
    assert_eq!(
        events[0].change,
        crate::dhcp::LeaseChange::Upsert(tombstone)
    );
    // The addresses whose release the peer never saw are withheld until reconciled.
    for ip in [even_ip, released_odd.ip] {
        assert!(!server.is_free(ip));
    }
    server.set_half(None);
    for ip in [even_ip, released_odd.ip] {
        assert!(server.is_free(ip));
    }
}

#[test]
fn a_superseded_change_is_resent_as_its_newer_version() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    cut(&mut a, &mut b, 10);
    // A binding B never saw; B binds the address to another client meanwhile.
    a.change(rec(11, 1, 20));
    b.change(rec(11, 2, 30));
    // A withdraws its binding (a revocation) before the link returns.
    let tombstone = LeaseRecord {
        state: LeaseState::Removed,
        ..rec(11, 1, 25)
    };
    a.s.supersede(&tombstone);
    a.change(tombstone);
    connect(&mut a, &mut b, 40);
    assert_eq!(a.s.stats().frames_sent["reconcile"], 1);
    // B never saw the withdrawn binding: no conflict, and B's binding wins on both sides.
    assert_eq!((a.s.stats().conflicts, b.s.stats().conflicts), (0, 0));
    assert_eq!(a.t, b.t);
    assert_eq!(a.t.0[&Ipv4Addr::new(10, 0, 0, 11)], rec(11, 2, 30));
}

#[test]
fn reconnect_after_a_short_break_resends_only_what_was_missed() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    for n in 1..=20 {
        a.change(rec(n, n, 10));
    }
    connect(&mut a, &mut b, 0);
    let sent_before = a.s.stats().entries_sent;
    cut(&mut a, &mut b, 10);
    a.change(rec(30, 30, 20));
    a.change(rec(31, 31, 21));
    b.change(rec(40, 40, 22));
    connect(&mut a, &mut b, 20);
    assert_eq!(a.s.phase(), Phase::RealTime);
    assert_eq!(a.s.stats().batches_sent, 1, "no second batch");
    assert_eq!(a.s.stats().entries_sent - sent_before, 2);
    assert_eq!(a.s.stats().frames_sent["reconcile"], 1);
    assert_eq!(a.s.stats().reconnects, 1);
    assert_eq!(a.t, b.t);
}

#[test]
fn reconnect_beyond_the_resend_log_sends_the_whole_table() {
    let mut a = Node::new(1, 100, |c| c.resend_log = 4);
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    cut(&mut a, &mut b, 10);
    for n in 1..=10 {
        a.change(rec(n, n, 10));
    }
    connect(&mut a, &mut b, 20);
    assert_eq!(a.s.stats().batches_sent, 2);
    assert_eq!(a.t, b.t);
}

#[test]
fn a_restarted_peer_gets_a_full_batch() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    for n in 1..=5 {
        a.change(rec(n, n, 10));
    }
    connect(&mut a, &mut b, 0);
    cut(&mut a, &mut b, 10);
    // B restarts with a new boot id, no resume point and (here) an empty table.
    b = Node::new(2, 201, |_| {});
    connect(&mut a, &mut b, 20);
    assert_eq!(a.s.stats().batches_sent, 2);
    assert_eq!(b.t.0.len(), 5);
    assert!(b.has(|e| matches!(e, Event::BatchReceived)));
}

#[test]
fn split_brain_changes_are_reconciled_both_ways_with_conflicts_reported() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    connect(&mut a, &mut b, 0);
    cut(&mut a, &mut b, 10);
    a.change(rec(1, 1, 100));
    b.change(rec(1, 2, 200)); // the same address to another client, later
    b.change(rec(2, 3, 150));
    connect(&mut a, &mut b, 300);
    assert_eq!(a.t, b.t);
    assert_eq!(a.t.0[&Ipv4Addr::new(10, 0, 0, 1)], rec(1, 2, 200));
    for n in [&a, &b] {
        assert!(n.has(|e| matches!(e, Event::Conflict(c) if c.kept == rec(1, 2, 200))));
        assert_eq!(n.s.stats().conflicts, 1);
    }
}

/// The conflicts a node reported, as (address, kept client, dropped client, kept, dropped).
fn conflicts(n: &Node) -> Vec<(Ipv4Addr, LeaseRecord, LeaseRecord)> {
    n.ev.iter()
        .filter_map(|e| match e {
            Event::Conflict(c) => Some((c.key, c.kept.clone(), c.dropped.clone())),
            _ => None,
        })
        .collect()
}

/// The conflict of [`conflicting_pair`]: 10.0.0.1, A's newer binding kept, B's dropped.
fn the_conflict() -> Vec<(Ipv4Addr, LeaseRecord, LeaseRecord)> {
    vec![(Ipv4Addr::new(10, 0, 0, 1), rec(1, 1, 200), rec(1, 2, 100))]
}

/// Both devices reported [`the_conflict`], each exactly once.
fn assert_both_report_the_conflict_once(a: &Node, b: &Node) {
    assert_eq!(conflicts(a), the_conflict());
    assert_eq!(
        conflicts(b),
        the_conflict(),
        "the winner and the loser report it alike"
    );
    assert_eq!((a.s.stats().conflicts, b.s.stats().conflicts), (1, 1));
}

/// Two fresh devices (so batches both ways) whose tables bind 10.0.0.1 to different clients:
/// A's binding is the newer. Challenges and hellos are exchanged; the batches are not.
fn conflicting_pair() -> (Node, Node) {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    a.change(rec(1, 1, 200));
    b.change(rec(1, 2, 100));
    a.connected(0);
    b.connected(0);
    for _ in 0..2 {
        let ha = a.s.poll_transmit(&a.t).unwrap();
        let hb = b.s.poll_transmit(&b.t).unwrap();
        b.s.handle_bytes(0, &ha, &mut b.t);
        a.s.handle_bytes(0, &hb, &mut a.t);
    }
    assert_eq!(a.s.phase(), Phase::BatchBackup);
    (a, b)
}

#[test]
fn both_devices_report_a_conflict_when_the_loser_merges_before_its_page_is_sent() {
    let (mut a, mut b) = conflicting_pair();
    // A's whole batch reaches B before B has paged 10.0.0.1: B's page would now read A's
    // binding, which B took, and A would never see B's.
    let batch = a.s.poll_transmit(&a.t).unwrap();
    b.s.handle_bytes(1, &batch, &mut b.t);
    pump(&mut a, &mut b, 2);
    assert_eq!(a.t, b.t);
    assert_eq!(a.t.0[&Ipv4Addr::new(10, 0, 0, 1)], rec(1, 1, 200));
    assert_both_report_the_conflict_once(&a, &b);
}

#[test]
fn the_version_a_merge_dropped_reaches_the_peer_after_a_break_and_a_new_batch() {
    let (mut a, mut b) = conflicting_pair();
    // B takes A's binding; the link breaks before B sends anything.
    let batch = a.s.poll_transmit(&a.t).unwrap();
    b.s.handle_bytes(1, &batch, &mut b.t);
    cut(&mut a, &mut b, 2);
    // Neither batch completed, so both go again; B's table now holds A's binding only.
    connect(&mut a, &mut b, 3);
    assert_eq!(b.s.stats().frames_sent["batch-begin"], 2);
    assert_eq!(conflicts(&b), the_conflict());
    assert_eq!(conflicts(&a), the_conflict(), "the winner reports it too");
    assert_eq!(a.t, b.t);
}

#[test]
fn a_conflict_is_reported_once_though_the_dropped_binding_arrives_twice() {
    let (mut a, mut b) = conflicting_pair();
    // The pages cross: A sees B's binding in B's page, then again as the version B dropped.
    pump(&mut a, &mut b, 1);
    assert_eq!(a.t, b.t);
    assert_both_report_the_conflict_once(&a, &b);
}

#[test]
fn a_conflict_is_not_reported_again_by_the_batch_after_a_break() {
    let (mut a, mut b) = conflicting_pair();
    // B's page reaches A (A reports the conflict), but not its batch-end; the link breaks
    // before A's page reaches B.
    use super::frame::Encoder;
    use super::message::Message;
    let mut end = Vec::new();
    let m = Message::BatchEnd {
        service: 1,
        upto: 1,
    };
    Encoder::new(None).encode(&m, &mut end);
    let batch = b.s.poll_transmit(&b.t).unwrap();
    a.s.handle_bytes(1, &batch[..batch.len() - end.len()], &mut a.t);
    a.s.poll_transmit(&a.t);
    cut(&mut a, &mut b, 2);
    assert_eq!(a.s.stats().conflicts, 1);
    // Neither batch completed: the next connection sends both batches again, and B's still
    // carries its binding.
    connect(&mut a, &mut b, 3);
    assert_eq!(a.s.stats().batches_sent, 2);
    assert_eq!(a.t, b.t);
    assert_both_report_the_conflict_once(&a, &b);
}

#[test]
fn wrong_key_is_counted_and_closes_the_connection() {
    let mut a = Node::new(1, 100, |c| c.key = Some(AuthKey::new(b"one")));
    let mut b = Node::new(2, 200, |c| c.key = Some(AuthKey::new(b"two")));
    connect(&mut a, &mut b, 0);
    assert_eq!(a.s.phase(), Phase::Silence);
    assert_eq!(b.s.stats().bad["wrong-key"], 1);
    assert!(b.has(|e| matches!(e, Event::Error(SessionError::Frame(FrameError::WrongKey)))));
    assert!(b.has(|e| matches!(e, Event::Close)));
    assert!(!b.has(|e| matches!(e, Event::PeerUp { .. })));
}

#[test]
fn garbage_closes_the_connection_without_panicking() {
    let mut a = Node::new(1, 100, |_| {});
    a.connected(0);
    a.s.handle_bytes(0, &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3], &mut a.t);
    a.drain();
    assert!(a.has(|e| matches!(e, Event::Close)));
    assert_eq!(a.s.stats().bad["oversized"], 1);
    assert_eq!(a.s.phase(), Phase::Silence);
}

#[test]
fn same_device_id_and_config_mismatch() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(1, 200, |_| {});
    connect(&mut a, &mut b, 0);
    assert!(a.has(|e| matches!(e, Event::Close)));
    let mut a = Node::new(1, 100, |c| c.config_digest = [1; 32]);
    let mut b = Node::new(2, 200, |c| c.config_digest = [2; 32]);
    connect(&mut a, &mut b, 0);
    assert!(a.has(|e| matches!(e, Event::ConfigMismatch)));
    assert_eq!(a.s.status().config_consistent, Some(false));
    // A mismatch is reported, not fatal.
    assert_eq!(a.s.phase(), Phase::RealTime);
}

#[test]
fn partner_down_after_the_configured_silence_or_by_the_operator() {
    let mut a = Node::new(1, 100, |c| c.partner_down_after = Some(60_000));
    assert!(a.s.restrict_to_half());
    assert_eq!(a.s.poll_timeout(), Some(60_000));
    a.s.handle_timeout(59_999);
    assert!(a.s.restrict_to_half());
    a.s.handle_timeout(60_000);
    a.drain();
    assert!(a.has(|e| matches!(e, Event::PartnerDown)));
    assert!(!a.s.restrict_to_half());
    assert!(a.s.status().partner_down);
    let mut b = Node::new(2, 200, |_| {});
    assert_eq!(b.s.poll_timeout(), None);
    b.s.declare_partner_down();
    assert!(!b.s.restrict_to_half());
    // The peer coming back ends partner-down.
    connect(&mut a, &mut b, 70_000);
    assert!(!a.s.status().partner_down);
}

#[test]
fn roles_travel_and_two_masters_split_the_pool() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    a.s.handle_role(Role::Master);
    connect(&mut a, &mut b, 0);
    assert_eq!(b.s.status().peer_role, Some(Role::Master));
    b.s.handle_role(Role::Backup);
    pump(&mut a, &mut b, 1);
    assert!(a.has(|e| matches!(e, Event::PeerRole(Role::Backup))));
    assert!(!a.s.restrict_to_half());
    b.s.handle_role(Role::Master);
    pump(&mut a, &mut b, 2);
    assert!(a.s.restrict_to_half());
    assert!(b.s.restrict_to_half());
    assert_eq!(b.s.stats().switchovers, 1);
}

#[test]
fn a_frame_before_hello_is_a_protocol_error() {
    use super::frame::Encoder;
    use super::message::Message;
    let mut a = Node::new(1, 100, |_| {});
    a.connected(0);
    let mut wire = Vec::new();
    let mut e = Encoder::new(None);
    e.encode(&Message::Challenge { nonce: [7; 16] }, &mut wire);
    e.encode(&Message::Ack { upto: 3 }, &mut wire);
    a.s.handle_bytes(0, &wire, &mut a.t);
    a.drain();
    assert!(a.has(|e| matches!(e, Event::Close)));
    assert_eq!(a.s.stats().bad["protocol"], 1);
}

#[test]
fn removal_is_replicated() {
    let mut a = Node::new(1, 100, |_| {});
    let mut b = Node::new(2, 200, |_| {});
    a.change(rec(1, 1, 10));
    connect(&mut a, &mut b, 0);
    a.t.0.clear();
    a.s.handle_local_change(9, Change::Remove(Ipv4Addr::new(10, 0, 0, 1)));
    pump(&mut a, &mut b, 1);
    assert!(b.t.0.is_empty());
}

#[test]
fn a_second_challenge_is_out_of_place() {
    use super::frame::Encoder;
    use super::message::Message;
    let mut a = Node::new(1, 100, |_| {});
    a.connected(0);
    let mut wire = Vec::new();
    let mut e = Encoder::new(None);
    e.encode(&Message::Challenge { nonce: [7; 16] }, &mut wire);
    e.encode(&Message::Challenge { nonce: [8; 16] }, &mut wire);
    a.s.handle_bytes(0, &wire, &mut a.t);
    a.drain();
    assert!(a.has(|e| matches!(e, Event::Close)));
    assert_eq!(a.s.stats().bad["protocol"], 1);
    // Our hello went out once, answering the first challenge only.
    assert_eq!(a.s.stats().frames_sent["hello"], 1);
}
