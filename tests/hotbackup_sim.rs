//! Deterministic simulation of a device pair: two DHCP `Server`s, two hot-backup `Session`s
//! wired back to back over a simulated failover link, a VRRP model, and twenty DHCP clients,
//! on a virtual clock. Each seed draws faults (dropped, corrupted, delayed and reordered
//! chunks of the byte stream, link cuts, device crashes and restarts, a split LAN) and then
//! heals everything. Crashes and splits strike a synchronized pair, also while a silent cut of
//! the failover link is not yet detected (a double fault); link cuts and stream faults strike
//! at any time, also during a split or while a device is down. Two scripted scenarios play the
//! double faults of docs/hot-backup-protocol.md step by step. The invariants are checked
//! during the run and at the end:
//! - no address is ACKed to a client while another client holds it;
//! - synchronous mode: when a device in real-time backup crashes, the survivor holds every
//!   binding it had ACKed;
//! - after healing both tables are equal and hold every client's binding;
//! - both devices reported the same conflicts (address, kept and dropped client).
//!
//! A failing seed prints itself; rerun one with `HOTBACKUP_SEED=N cargo test --test
//! hotbackup_sim one_seed -- --nocapture`.

mod dhcp_common;

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use dhcp_common::{PacketSpec, lan_config, lan_pool};
use duet::dhcp::config::{DhcpConfig, LeaseDuration, Network, PoolConfig};
use duet::dhcp::event::Ingress;
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::dhcp::pool::Half;
use duet::dhcp::server::{Server, ServerOptions};
use duet::dhcp::{LeaseRecord, LeaseState};
use duet::hotbackup::{AuthKey, Change, DhcpBindings, Role, apply_half, dhcp_config_digest};
use duet::hotbackup::{Event, Mode, Phase, Session, SessionConfig};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
const CLIENTS: usize = 20;
const TICK: u64 = 20;
const CHAOS_MS: u64 = 40_000;
const HEAL_MS: u64 = 20_000;

/// splitmix64: small, seedable, the same everywhere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `p` per mille.
    fn chance(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

fn config() -> DhcpConfig {
    lan_config(PoolConfig {
        // Longer than a run: expiry is not what this simulation is about.
        lease: LeaseDuration::Seconds(86_400),
        ..lan_pool(59)
    })
}

fn mac(c: usize) -> String {
    format!("02:00:00:00:01:{c:02x}")
}

struct Node {
    name: &'static str,
    id: u32,
    half: Half,
    boot: u64,
    alive: bool,
    down_until: u64,
    role: Role,
    server: Server,
    session: Session<DhcpBindings>,
    /// Replies waiting for their commit: (commit, client, reply).
    held: Vec<(u64, usize, Message)>,
    /// A batch from the peer was applied since this boot (VRRP may preempt).
    batch_received: bool,
    applied_half: Option<Half>,
    /// The session is in real-time backup and every local change is acknowledged.
    ingress: Ingress,
}

impl Node {
    fn new(name: &'static str, id: u32, half: Half, mode: Mode, boot: u64, now: u64) -> Node {
        let mut server = Server::new(config(), ServerOptions::default()).unwrap();
        server.set_server_id(Some(VIP));
        server.set_serving(false);
        Node {
            name,
            id,
            half,
            boot,
            alive: true,
            down_until: 0,
            role: Role::Initialize,
            server,
            session: Session::new(session_config(id, boot, mode), now),
            held: Vec::new(),
            batch_received: false,
            applied_half: None,
            ingress: Ingress {
                interface: "Vlan-interface10".into(),
                address: Ipv4Addr::new(10, 1, 1, 2 + id as u8),
                pool: None,
            },
        }
    }

    /// Crash: everything in memory is lost; the table survives (the journal).
    fn crash(&mut self, until: u64) {
        self.alive = false;
        self.down_until = until;
        self.held.clear();
    }

    fn restart(&mut self, mode: Mode, now: u64) {
        let records: Vec<LeaseRecord> = self
            .server
            .leases()
            .iter()
            .filter(|r| r.state != LeaseState::Offered)
            .cloned()
            .collect();
        let mut n = Node::new(self.name, self.id, self.half, mode, self.boot + 1, now);
        n.server.restore(records);
        *self = n;
    }
}

fn session_config(id: u32, boot: u64, mode: Mode) -> SessionConfig {
    let mut c = SessionConfig::new(id, boot);
    c.mode = mode;
    c.key = Some(AuthKey::new(b"duet-sim"));
    c.config_digest = dhcp_config_digest(&config());
    c.page_size = 8;
    c.resend_log = 64;
    c
}

#[derive(Clone, Debug, PartialEq)]
enum ClientState {
    Idle,
    Offered(Ipv4Addr),
    Requesting { since: u64 },
    Bound(Ipv4Addr),
}

struct Faults {
    /// Per mille per chunk.
    drop: u64,
    corrupt: u64,
    reorder: u64,
    max_delay: u64,
    /// Per mille per tick.
    cut: u64,
    crash: u64,
    split: u64,
}

impl Faults {
    const NONE: Faults = Faults {
        drop: 0,
        corrupt: 0,
        reorder: 0,
        max_delay: 1,
        cut: 0,
        crash: 0,
        split: 0,
    };
}

struct World {
    seed: u64,
    /// Log every ACK too (one seed rerun by hand).
    verbose: bool,
    rng: Rng,
    now: u64,
    mode: Mode,
    nodes: [Node; 2],
    link_up_at: u64,
    split_until: u64,
    connected: bool,
    next_connect: u64,
    /// Chunks in flight: [A->B, B->A], (delivery time, bytes).
    pipes: [VecDeque<(u64, Vec<u8>)>; 2],
    clients: Vec<ClientState>,
    faults: Faults,
    /// No client acts on its own: a scripted scenario drives the clients it names.
    quiet: bool,
    log: Vec<String>,
    /// The conflicts each device reported: (address, kept, dropped).
    conflicts: [Vec<(Ipv4Addr, LeaseRecord, LeaseRecord)>; 2],
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let mode = if seed.is_multiple_of(2) {
            Mode::Synchronous
        } else {
            Mode::Asynchronous
        };
        let faults = Faults {
            drop: [0, 0, 2, 10][rng.below(4) as usize],
            corrupt: [0, 0, 2, 10][rng.below(4) as usize],
            reorder: [0, 0, 5, 20][rng.below(4) as usize],
            max_delay: [1, 5, 30, 100][rng.below(4) as usize],
            cut: [0, 1, 2][rng.below(3) as usize],
            crash: [0, 1, 2][rng.below(3) as usize],
            split: [0, 0, 1][rng.below(3) as usize],
        };
        World {
            seed,
            verbose: std::env::var("HOTBACKUP_SEED").is_ok(),
            rng,
            now: 0,
            mode,
            nodes: [
                Node::new("A", 1, Half::Even, mode, 1000, 0),
                Node::new("B", 2, Half::Odd, mode, 2000, 0),
            ],
            link_up_at: 0,
            split_until: 0,
            connected: false,
            next_connect: 0,
            pipes: [VecDeque::new(), VecDeque::new()],
            clients: vec![ClientState::Idle; CLIENTS],
            faults,
            quiet: false,
            log: Vec::new(),
            conflicts: [Vec::new(), Vec::new()],
        }
    }

    fn context(&self) -> String {
        format!(
            "seed {}, mode {:?}\n{}",
            self.seed,
            self.mode,
            self.log.join("\n")
        )
    }

    fn note(&mut self, s: String) {
        self.log.push(format!("{:>6} {s}", self.now));
    }

    fn link_up(&self) -> bool {
        self.now >= self.link_up_at
    }

    fn split(&self) -> bool {
        self.now < self.split_until
    }

    fn close_connection(&mut self) {
        if !self.connected {
            return;
        }
        self.connected = false;
        self.pipes = [VecDeque::new(), VecDeque::new()];
        self.next_connect = self.now + 300;
        for n in &mut self.nodes {
            if n.alive {
                n.session.handle_closed(self.now);
            }
        }
    }

    /// The VRRP model: A is preferred but preempts only once it has the peer's batch (or
    /// the peer is gone); on a split LAN each side elects itself.
    fn elect(&mut self) {
        let [a, b] = &self.nodes;
        let split = self.split();
        let a_master = a.alive && (split || !b.alive || b.role != Role::Master || a.batch_received);
        let b_master = b.alive && (split || !a_master);
        for (n, m) in self.nodes.iter_mut().zip([a_master, b_master]) {
            if !n.alive {
                continue;
            }
            let role = if m { Role::Master } else { Role::Backup };
            if role != n.role {
                n.role = role;
                n.session.handle_role(role);
                n.server.set_serving(m);
            }
        }
    }

    /// Which serving node a client reaches: on a split LAN, clients 0..10 see A only.
    fn server_for(&mut self, c: usize) -> Option<usize> {
        let split = self.split();
        let reach: Vec<usize> = (0..2)
            .filter(|&i| {
                let n = &self.nodes[i];
                n.alive && n.role == Role::Master && (!split || (c < CLIENTS / 2) == (i == 0))
            })
            .collect();
        match reach.len() {
            0 => None,
            k => Some(reach[self.rng.below(k as u64) as usize]),
        }
    }

    fn client_step(&mut self, c: usize) {
        let Some(i) = self.server_for(c) else { return };
        let spec = match self.clients[c].clone() {
            ClientState::Idle => PacketSpec::new(MessageType::Discover, &mac(c), 1),
            ClientState::Offered(ip) => PacketSpec {
                server_id: Some(VIP),
                requested: Some(ip),
                ..PacketSpec::new(MessageType::Request, &mac(c), 2)
            },
            ClientState::Requesting { since } => {
                if self.now >= since + 2000 {
                    // No answer: start over (DHCP clients retry).
                    self.clients[c] = ClientState::Idle;
                }
                return;
            }
            ClientState::Bound(ip) => {
                if self.rng.chance(100) {
                    let spec = PacketSpec {
                        ciaddr: Some(ip),
                        server_id: Some(VIP),
                        ..PacketSpec::new(MessageType::Release, &mac(c), 4)
                    };
                    self.clients[c] = ClientState::Idle;
                    self.send(i, c, spec);
                    return;
                }
                PacketSpec {
                    ciaddr: Some(ip),
                    ..PacketSpec::new(MessageType::Request, &mac(c), 3)
                }
            }
        };
        if spec.kind == Some(MessageType::Request) {
            self.clients[c] = ClientState::Requesting { since: self.now };
        }
        self.send(i, c, spec);
    }

    fn send(&mut self, i: usize, c: usize, spec: PacketSpec) {
        let now = self.now;
        let n = &mut self.nodes[i];
        let replies = n
            .server
            .handle_packet(now, &n.ingress.clone(), &spec.message().encode());
        let mut now_replies = Vec::new();
        for r in replies {
            let m = Message::decode(&r.bytes).unwrap();
            match r.commit {
                Some(commit) => n.held.push((commit, c, m)),
                None => now_replies.push(m),
            }
        }
        for m in now_replies {
            self.deliver(c, m);
        }
        self.feed_events(i);
    }

    /// A reply reaches client `c`.
    fn deliver(&mut self, c: usize, m: Message) {
        match m.options.message_type {
            Some(MessageType::Offer) if self.clients[c] == ClientState::Idle => {
                self.clients[c] = ClientState::Offered(m.yiaddr);
            }
            Some(MessageType::Ack) => {
                let ip = m.yiaddr;
                // Asynchronous mode answers before the peer has the binding: after a failover
                // link failure the peer may give the address again (the documented loss
                // window), so only synchronous mode promises this.
                for (d, s) in self.clients.iter().enumerate() {
                    assert!(
                        self.mode == Mode::Asynchronous || d == c || *s != ClientState::Bound(ip),
                        "{ip} ACKed to client {c} while client {d} holds it; {}",
                        self.context()
                    );
                }
                self.clients[c] = ClientState::Bound(ip);
                if self.verbose {
                    self.note(format!("client {c} bound to {ip}"));
                }
            }
            Some(MessageType::Nak) => self.clients[c] = ClientState::Idle,
            _ => {}
        }
    }

    /// Server events to the session, session events to the world.
    fn feed_events(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        let evs = n.server.drain_events();
        for ev in &evs {
            n.session.handle_lease_event(ev);
        }
        if self.verbose
            && let Ok(watch) = std::env::var("HOTBACKUP_WATCH")
        {
            let name = self.nodes[i].name;
            for ev in evs.iter().filter(|e| e.change.ip().to_string() == watch) {
                self.note(format!("{name} event {ev:?}"));
            }
        }
        while let Some(ev) = self.nodes[i].session.poll_event() {
            match ev {
                Event::Released { upto } => {
                    let n = &mut self.nodes[i];
                    let (ready, wait): (Vec<_>, Vec<_>) =
                        n.held.drain(..).partition(|h| h.0 <= upto);
                    n.held = wait;
                    for (_, c, m) in ready {
                        self.deliver(c, m);
                    }
                }
                Event::Unconfirmed(changes) => {
                    let n = &mut self.nodes[i];
                    let verdicts = n.session.settle_unconfirmed(&mut n.server, n.half, changes);
                    for (token, release) in verdicts {
                        if !release {
                            let name = self.nodes[i].name;
                            self.note(format!("{name} revokes change {token}"));
                        }
                        let n = &mut self.nodes[i];
                        let (mine, rest): (Vec<_>, Vec<_>) =
                            n.held.drain(..).partition(|h| h.0 == token);
                        n.held = rest;
                        if release {
                            for (_, c, m) in mine {
                                self.deliver(c, m);
                            }
                        }
                    }
                    // Revocations are local changes: journaled and replicated.
                    let n = &mut self.nodes[i];
                    for ev in n.server.drain_events() {
                        n.session.handle_lease_event(&ev);
                    }
                }
                Event::BatchReceived => self.nodes[i].batch_received = true,
                Event::Close => {
                    let name = self.nodes[i].name;
                    self.note(format!("{name} closes the connection"));
                    self.close_connection();
                }
                Event::Error(e) => {
                    let name = self.nodes[i].name;
                    self.note(format!("{name}: {e}"));
                }
                Event::Conflict(c) => {
                    let name = self.nodes[i].name;
                    self.note(format!(
                        "{name}: conflict on {}: kept {} dropped {}",
                        c.key, c.kept.client, c.dropped.client
                    ));
                    self.conflicts[i].push((c.key, c.kept, c.dropped));
                }
                _ => {}
            }
        }
        let n = &mut self.nodes[i];
        let half = n.session.restrict_to_half().then_some(n.half);
        if half != n.applied_half {
            n.applied_half = half;
            apply_half(&mut n.server, half);
            for ev in n.server.drain_events() {
                n.session.handle_lease_event(&ev);
            }
        }
    }

    fn transmit(&mut self, i: usize) {
        let up = self.connected && self.link_up();
        loop {
            let n = &mut self.nodes[i];
            let Some(bytes) = n.session.poll_transmit(&n.server) else {
                break;
            };
            if !up {
                continue;
            }
            let f = &self.faults;
            let (drop, corrupt, reorder, max_delay) = (f.drop, f.corrupt, f.reorder, f.max_delay);
            if self.rng.chance(drop) {
                continue;
            }
            let mut bytes = bytes;
            if self.rng.chance(corrupt) {
                let k = self.rng.below(bytes.len() as u64) as usize;
                bytes[k] ^= 1 << self.rng.below(8);
            }
            let pipe = &mut self.pipes[i];
            let last = pipe.back().map_or(self.now, |p| p.0);
            let at = last.max(self.now + 1 + self.rng.below(max_delay));
            pipe.push_back((at, bytes));
            if self.rng.chance(reorder) && pipe.len() >= 2 {
                let k = pipe.len();
                let (x, y) = (pipe[k - 2].1.clone(), pipe[k - 1].1.clone());
                pipe[k - 2].1 = y;
                pipe[k - 1].1 = x;
            }
        }
    }

    fn step(&mut self, chaos: bool) {
        self.now += TICK;
        let now = self.now;
        // Faults.
        if chaos {
            if self.rng.chance(self.faults.cut) && self.link_up() {
                self.link_up_at = now + 500 + self.rng.below(8000);
                self.note("failover link cut".into());
            }
            // A crash or a LAN split strikes a pair in real-time backup, also while a silent
            // failover-link cut is not yet detected: the double fault of a fresh binding in
            // the peer's half, revoked at peer-down, that the peer then serves again.
            let synced = self.connected
                && self
                    .nodes
                    .iter()
                    .all(|n| n.alive && n.session.phase() == Phase::RealTime);
            if synced && self.rng.chance(self.faults.crash) {
                let i = self.rng.below(2) as usize;
                let until = now + 1000 + self.rng.below(10_000);
                self.check_survivor_holds_acked(i);
                self.nodes[i].crash(until);
                let name = self.nodes[i].name;
                self.note(format!("{name} crashes"));
                // The peer sees a reset half the time, silence otherwise.
                if self.rng.chance(500) {
                    self.close_connection();
                } else {
                    self.connected = false;
                    self.pipes = [VecDeque::new(), VecDeque::new()];
                }
            }
            if synced && self.rng.chance(self.faults.split) && !self.split() {
                self.split_until = now + 1000 + self.rng.below(10_000);
                self.note("LAN split".into());
            }
        }
        for i in 0..2 {
            if !self.nodes[i].alive && now >= self.nodes[i].down_until {
                let mode = self.mode;
                self.nodes[i].restart(mode, now);
                let name = self.nodes[i].name;
                self.note(format!("{name} restarts"));
                self.next_connect = self.next_connect.max(now + 300);
            }
        }
        // Connection: both alive and the link up.
        if !self.connected
            && self.link_up()
            && now >= self.next_connect
            && self.nodes.iter().all(|n| n.alive)
        {
            self.connected = true;
            self.pipes = [VecDeque::new(), VecDeque::new()];
            for n in &mut self.nodes {
                // A fresh challenge per connection and device.
                let nonce = u128::from(n.id) << 96 | u128::from(n.boot) << 64 | u128::from(now);
                n.session.handle_connected(now, nonce.to_be_bytes());
            }
        }
        // Bytes in flight.
        for i in 0..2 {
            while self.connected
                && self.link_up()
                && self.pipes[i].front().is_some_and(|p| p.0 <= now)
            {
                let (_, bytes) = self.pipes[i].pop_front().unwrap();
                let n = &mut self.nodes[1 - i];
                n.session.handle_bytes(now, &bytes, &mut n.server);
                self.feed_events(1 - i);
            }
        }
        // Timers.
        for i in 0..2 {
            let n = &mut self.nodes[i];
            if !n.alive {
                continue;
            }
            if n.session.poll_timeout().is_some_and(|t| t <= now) {
                n.session.handle_timeout(now);
            }
            if n.role == Role::Master {
                n.server.handle_timeout(now);
            }
            self.feed_events(i);
        }
        self.elect();
        // Clients.
        for c in 0..CLIENTS {
            if !self.quiet && self.rng.chance(if chaos { 30 } else { 10 }) {
                self.client_step(c);
            }
        }
        for i in 0..2 {
            if self.nodes[i].alive {
                self.feed_events(i);
                self.transmit(i);
            }
        }
    }

    /// Synchronous mode: node `dying` is about to crash; if it was in real-time backup, the
    /// peer must already hold every binding a client got an ACK for.
    fn check_survivor_holds_acked(&self, dying: usize) {
        let d = &self.nodes[dying];
        if self.mode != Mode::Synchronous || d.session.phase() != Phase::RealTime {
            return;
        }
        let peer = &self.nodes[1 - dying];
        for (c, s) in self.clients.iter().enumerate() {
            let ClientState::Bound(ip) = s else { continue };
            let mine = d.server.leases().get(*ip);
            let theirs = peer.server.leases().get(*ip);
            if let Some(m) = mine.filter(|r| r.state == LeaseState::Committed) {
                assert_eq!(
                    theirs.map(|r| (&r.client, r.state)),
                    Some((&m.client, LeaseState::Committed)),
                    "client {c}'s binding {ip} ACKed by {} is missing on {}; {}",
                    d.name,
                    peer.name,
                    self.context()
                );
            }
        }
    }

    /// Run without client activity or faults until nothing is in flight.
    fn settle(&mut self) {
        for _ in 0..500 {
            self.now += TICK;
            for i in 0..2 {
                let n = &mut self.nodes[i];
                if n.session.poll_timeout().is_some_and(|t| t <= self.now) {
                    n.session.handle_timeout(self.now);
                }
                self.feed_events(i);
                self.transmit(i);
            }
            for i in 0..2 {
                while let Some((_, bytes)) = self.pipes[i].pop_front() {
                    let n = &mut self.nodes[1 - i];
                    n.session.handle_bytes(self.now, &bytes, &mut n.server);
                    self.feed_events(1 - i);
                }
            }
        }
    }

    /// Both tables agree: the same version of every record both have, and no address
    /// bound to one client on one device and to another on the other. A record may be on one
    /// side only: history, or a binding whose address was released while the peer was away
    /// and then offered to a new client (offers are not replicated, so the release is not in
    /// the next batch); the peer keeps it until the new client commits or it expires. The
    /// binding of every client that holds an address is checked separately.
    fn tables_agree(&self) -> Result<(), String> {
        let (a, b) = (self.replicated(0), self.replicated(1));
        for (ip, r) in &a {
            if let Some(o) = b.get(ip)
                && o != r
            {
                return Err(format!("{ip}: {r:?} on A vs {o:?} on B"));
            }
        }
        Ok(())
    }

    fn replicated(&self, i: usize) -> BTreeMap<Ipv4Addr, LeaseRecord> {
        self.nodes[i]
            .server
            .leases()
            .iter()
            .filter(|r| r.state != LeaseState::Offered)
            .map(|r| (r.ip, r.clone()))
            .collect()
    }
}

fn run(seed: u64) -> World {
    let mut w = World::new(seed);
    while w.now < CHAOS_MS {
        w.step(true);
    }
    w.link_up_at = w.now;
    w.split_until = w.now;
    w.faults = Faults {
        max_delay: w.faults.max_delay,
        ..Faults::NONE
    };
    w.note("heal".into());
    while w.now < CHAOS_MS + HEAL_MS {
        w.step(false);
    }
    w.settle();
    w
}

fn check(seed: u64) {
    verify(&run(seed));
}

/// The invariants after healing: both devices in real-time backup, the same version of every
/// record both have, and (synchronous mode) every client's binding.
fn verify(w: &World) {
    let ctx = || w.context();
    for n in &w.nodes {
        assert_eq!(
            n.session.phase(),
            Phase::RealTime,
            "{} not in real time; {}",
            n.name,
            ctx()
        );
    }
    if let Err(e) = w.tables_agree() {
        panic!("tables differ after healing: {e}; {}", ctx());
    }
    // Both devices report every conflict, with the same kept and dropped bindings (by
    // client: either may be renewed between the moments the two devices find it).
    let reported = |i: usize| {
        let mut v: Vec<_> = w.conflicts[i]
            .iter()
            .map(|(ip, k, d)| (*ip, k.client.to_string(), d.client.to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        reported(0),
        reported(1),
        "conflicts reported by A and B; {}",
        ctx()
    );
    let a = w.replicated(0);
    for (c, s) in w.clients.iter().enumerate() {
        if w.mode == Mode::Synchronous
            && let ClientState::Bound(ip) = s
        {
            let r = a.get(ip);
            assert!(
                r.is_some_and(|r| r.state == LeaseState::Committed
                    && r.chaddr[..6] == dhcp_common::mac(&mac(c))[..]),
                "client {c} holds {ip} but the tables say {r:?}; {}",
                ctx()
            );
        }
    }
}

/// How many seeds of each mode (`HOTBACKUP_SEEDS` overrides).
fn seed_count() -> u64 {
    std::env::var("HOTBACKUP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

/// Even seeds run synchronous mode.
#[test]
fn synchronous_seeds() {
    for k in 0..seed_count() {
        check(2 * k);
    }
}

/// Odd seeds run asynchronous mode.
#[test]
fn asynchronous_seeds() {
    for k in 0..seed_count() {
        check(2 * k + 1);
    }
}

#[test]
fn one_seed() {
    if let Some(seed) = std::env::var("HOTBACKUP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let w = run(seed);
        println!("{}", w.log.join("\n"));
        for n in &w.nodes {
            println!(
                "{}: {:?}\n{:?}",
                n.name,
                n.session.status(),
                n.session.stats()
            );
        }
        check(seed);
    }
}

#[test]
fn a_calm_run_binds_every_client_on_both_devices() {
    let mut w = World::new(0);
    w.faults = Faults {
        max_delay: 5,
        ..Faults::NONE
    };
    while w.now < 20_000 {
        w.step(true);
    }
    let bound = w
        .clients
        .iter()
        .filter(|s| matches!(s, ClientState::Bound(_)))
        .count();
    assert!(bound >= CLIENTS / 2, "only {bound} clients bound");
    w.settle();
    w.tables_agree().unwrap();
    assert_eq!(w.nodes[0].role, Role::Master);
    assert_eq!(w.nodes[0].session.stats().reconnects, 0);
}

/// The double fault of "Known window" in docs/hot-backup-protocol.md, scripted: the failover
/// link fails silently while master A, in real-time backup, binds client 0 to a fresh address
/// in B's half; A declares B down and settles that held ACK; then the LAN splits, B serves its
/// side alone and binds client 10 to the same address from its half. Client 0 must not have
/// been ACKed, and after healing both tables agree without a conflict.
#[test]
fn a_fresh_binding_in_the_peers_half_is_not_acked_across_a_silent_link_cut_and_a_split() {
    let mut w = World::new(0);
    assert_eq!(w.mode, Mode::Synchronous);
    w.faults = Faults {
        max_delay: 5,
        ..Faults::NONE
    };
    w.quiet = true;
    while !(w.nodes[0].role == Role::Master
        && w.nodes.iter().all(|n| n.session.phase() == Phase::RealTime))
    {
        assert!(
            w.now < 10_000,
            "the pair never synchronized; {}",
            w.context()
        );
        w.step(false);
    }
    let (c, d) = (0, CLIENTS / 2);
    // B's half is the odd offsets from .10; an address neither device has a record of.
    let ip = (0..25u8)
        .map(|k| Ipv4Addr::new(10, 1, 1, 11 + 2 * k))
        .find(|ip| w.nodes.iter().all(|n| n.server.leases().get(*ip).is_none()))
        .unwrap();
    w.link_up_at = u64::MAX;
    w.note(format!(
        "failover link cut silently; client {c} asks A for {ip}"
    ));
    let discover = |c: usize| PacketSpec {
        requested: Some(ip),
        ..PacketSpec::new(MessageType::Discover, &mac(c), 1)
    };
    let request = |c: usize| PacketSpec {
        server_id: Some(VIP),
        requested: Some(ip),
        ..PacketSpec::new(MessageType::Request, &mac(c), 2)
    };
    w.send(0, c, discover(c));
    assert_eq!(w.clients[c], ClientState::Offered(ip));
    w.clients[c] = ClientState::Requesting { since: w.now };
    w.send(0, c, request(c));
    // Synchronous mode: the ACK waits for B, which never answers.
    assert_eq!(w.clients[c], ClientState::Requesting { since: w.now });
    let until = w.now + 3_500;
    while w.now < until {
        w.step(false);
    }
    assert!(w.nodes.iter().all(|n| n.session.phase() == Phase::Silence));
    w.split_until = u64::MAX;
    w.note("LAN split".into());
    w.step(false);
    assert_eq!(w.nodes[1].role, Role::Master);
    w.send(1, d, discover(d));
    assert_eq!(w.clients[d], ClientState::Offered(ip), "{}", w.context());
    w.send(1, d, request(d));
    assert_eq!(w.clients[d], ClientState::Bound(ip), "{}", w.context());
    // Client 0 tries again and gets an address of A's half.
    w.clients[c] = ClientState::Idle;
    w.client_step(c);
    let ClientState::Offered(other) = w.clients[c] else {
        panic!("no offer for client {c}; {}", w.context());
    };
    assert!(other != ip && (u32::from(other) - u32::from(Ipv4Addr::new(10, 1, 1, 10))) % 2 == 0);
    w.client_step(c);
    assert_eq!(w.clients[c], ClientState::Bound(other), "{}", w.context());
    w.link_up_at = w.now;
    w.split_until = w.now;
    w.quiet = false;
    w.note("heal".into());
    let until = w.now + HEAL_MS;
    while w.now < until {
        w.step(false);
    }
    w.settle();
    verify(&w);
    for n in &w.nodes {
        assert_eq!(n.session.stats().conflicts, 0, "{}", w.context());
        let r = n.server.leases().get(ip).unwrap();
        assert_eq!(
            r.chaddr[..6],
            dhcp_common::mac(&mac(d))[..],
            "{}",
            w.context()
        );
    }
}

/// The sibling of the double fault: during a LAN split, client 10 releases its address (in
/// B's half) to B, and the failover link fails silently before the release reaches A; B binds
/// the address to client 11; the LAN heals and client 10 comes back to A, which still holds
/// its binding and renews it. B must not ACK client 11, and both tables end with client 10.
#[test]
fn a_release_the_peer_never_saw_is_not_reused_while_it_renews_the_old_binding() {
    let mut w = World::new(2);
    assert_eq!(w.mode, Mode::Synchronous);
    w.faults = Faults {
        max_delay: 5,
        ..Faults::NONE
    };
    w.quiet = true;
    let synced = |w: &World| {
        w.nodes[0].role == Role::Master
            && w.nodes.iter().all(|n| n.session.phase() == Phase::RealTime)
    };
    while !synced(&w) {
        assert!(
            w.now < 10_000,
            "the pair never synchronized; {}",
            w.context()
        );
        w.step(false);
    }
    let (c, d) = (CLIENTS / 2, CLIENTS / 2 + 1);
    let ip = (0..25u8)
        .map(|k| Ipv4Addr::new(10, 1, 1, 11 + 2 * k))
        .find(|ip| w.nodes.iter().all(|n| n.server.leases().get(*ip).is_none()))
        .unwrap();
    let discover = |c: usize| PacketSpec {
        requested: Some(ip),
        ..PacketSpec::new(MessageType::Discover, &mac(c), 1)
    };
    let request = |c: usize| PacketSpec {
        server_id: Some(VIP),
        requested: Some(ip),
        ..PacketSpec::new(MessageType::Request, &mac(c), 2)
    };
    // Client 10 binds `ip` through A, confirmed by B.
    w.send(0, c, discover(c));
    w.clients[c] = ClientState::Requesting { since: w.now };
    w.send(0, c, request(c));
    while w.clients[c] != ClientState::Bound(ip) {
        assert!(w.now < 20_000, "client {c} never bound; {}", w.context());
        w.step(false);
    }
    for _ in 0..10 {
        w.step(false);
    }
    assert!(synced(&w));
    w.split_until = u64::MAX;
    w.note("LAN split".into());
    w.step(false);
    assert_eq!(w.nodes[1].role, Role::Master);
    w.link_up_at = u64::MAX;
    w.note(format!(
        "failover link cut silently; client {c} releases {ip} to B"
    ));
    let release = PacketSpec {
        ciaddr: Some(ip),
        server_id: Some(VIP),
        ..PacketSpec::new(MessageType::Release, &mac(c), 4)
    };
    w.clients[c] = ClientState::Idle;
    w.send(1, c, release);
    w.send(1, d, discover(d));
    assert_eq!(w.clients[d], ClientState::Offered(ip), "{}", w.context());
    w.clients[d] = ClientState::Requesting { since: w.now };
    w.send(1, d, request(d));
    // The LAN heals; client 10 comes back to A, the master again, which renews its binding.
    w.split_until = w.now;
    w.note("LAN heals".into());
    w.step(false);
    assert_eq!(w.nodes[0].role, Role::Master);
    w.send(0, c, discover(c));
    assert_eq!(w.clients[c], ClientState::Offered(ip), "{}", w.context());
    w.clients[c] = ClientState::Requesting { since: w.now };
    w.send(0, c, request(c));
    let until = w.now + 3_500;
    while w.now < until {
        w.step(false);
    }
    assert!(w.nodes.iter().all(|n| n.session.phase() == Phase::Silence));
    assert_eq!(w.clients[c], ClientState::Bound(ip), "{}", w.context());
    assert_ne!(w.clients[d], ClientState::Bound(ip), "{}", w.context());
    w.link_up_at = w.now;
    w.quiet = false;
    w.note("heal".into());
    let until = w.now + HEAL_MS;
    while w.now < until {
        w.step(false);
    }
    w.settle();
    verify(&w);
    for n in &w.nodes {
        assert_eq!(n.session.stats().conflicts, 0, "{}", w.context());
    }
}

/// A big batch goes through paging and transmit chunking whole, while the master keeps
/// changing the table; prints how long it took. `HOTBACKUP_BATCH=1000000` for a million
/// (measure with `--release`).
#[test]
fn a_batch_of_100k_bindings_arrives_whole() {
    let n: u32 = std::env::var("HOTBACKUP_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut cfg = config();
    let pool = cfg.pools.get_mut("lan").unwrap();
    pool.network = Some(Network {
        address: Ipv4Addr::new(10, 0, 0, 0),
        prefix_len: 12,
    });
    pool.range = None;
    let records = (0..n).map(|i| {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 10)) + i);
        let mac: Box<[u8]> = [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1].into();
        LeaseRecord {
            ip,
            state: LeaseState::Committed,
            client: duet::dhcp::ClientKey::Hw(mac.clone()),
            chaddr: mac,
            expires: 86_400_000,
            updated: 1,
            relay_info: None,
            hostname: None,
            is_static: false,
        }
    });
    let mut a = Server::new(cfg.clone(), ServerOptions::default()).unwrap();
    a.restore(records);
    let mut b = Server::new(cfg, ServerOptions::default()).unwrap();
    let mut sa: Session<DhcpBindings> = Session::new(session_config(1, 1, Mode::Synchronous), 0);
    let mut sb: Session<DhcpBindings> = Session::new(session_config(2, 2, Mode::Synchronous), 0);
    let start = Instant::now();
    sa.handle_connected(0, [1; 16]);
    sb.handle_connected(0, [2; 16]);
    let mut changed = 0;
    let (mut sending, mut receiving) = (Duration::ZERO, Duration::ZERO);
    for round in 0.. {
        let t = Instant::now();
        let x = sa.poll_transmit(&a);
        sending += t.elapsed();
        let y = sb.poll_transmit(&b);
        if x.is_none() && y.is_none() {
            break;
        }
        if let Some(x) = x {
            let t = Instant::now();
            sb.handle_bytes(0, &x, &mut b);
            receiving += t.elapsed();
        }
        if let Some(y) = y {
            sa.handle_bytes(0, &y, &mut a);
        }
        // The master keeps serving: one binding changes every few chunks.
        if round % 4 == 1 && changed < 50 {
            let mut r = a
                .leases()
                .get(Ipv4Addr::new(10, 0, 0, 10 + changed))
                .unwrap()
                .clone();
            r.updated = 2;
            r.state = LeaseState::Released;
            a.apply_remote(duet::dhcp::LeaseChange::Upsert(r.clone()));
            a.drain_events();
            sa.handle_local_change(u64::from(changed) + 1, Change::Upsert(r));
            changed += 1;
        }
    }
    let took = start.elapsed();
    assert_eq!(sa.phase(), Phase::RealTime);
    assert_eq!(sb.phase(), Phase::RealTime);
    assert_eq!(b.leases().len(), n as usize);
    let mismatched = a
        .leases()
        .iter()
        .filter(|r| b.leases().get(r.ip) != Some(*r))
        .count();
    assert_eq!(mismatched, 0);
    assert_eq!(
        sb.stats().entries_received,
        u64::from(n) + u64::from(changed)
    );
    println!(
        "batch of {n} bindings: {took:?} in all, master encoding {sending:?}, \
         backup decoding, merging and applying {receiving:?} (this build)"
    );
}

/// The protocol core does no I/O: no tokio, sockets, files or clock. The engine that runs it
/// (`driver.rs` and its submodules in `driver/`) is the one place in the folder that does.
#[test]
fn hotbackup_core_modules_do_no_io() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/hotbackup");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() || name == "driver.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in [
            "tokio",
            "TcpStream",
            "UdpSocket",
            "socket2",
            "std::fs",
            "SystemTime",
            "Instant",
            "thread::sleep",
        ] {
            assert!(!text.contains(word), "{path:?} mentions {word}");
        }
    }
}
