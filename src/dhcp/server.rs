//! The sans-IO DHCPv4 server (RFC 2131 section 4.3): it takes a datagram, the time and the
//! ingress interface, and returns the replies to send; lease changes come out as numbered
//! [`LeaseEvent`]s for the journal and hot backup, and a reply that grants a lease names the
//! event (its `commit`) that must be durable before the driver sends it.
//!
//! Driver loop: `handle_packet` / `handle_timeout` -> `drain_events` -> journal append -> flush
//! once per batch -> send the replies whose `commit` is durable; re-arm at `poll_timeout`.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::config::{BindingClient, ConfigError, DhcpConfig, LeaseDuration, Network, PoolConfig};
use super::event::{Ingress, LeaseChange, LeaseEvent, Origin, Reply, Stats};
use super::lease::{ClientKey, LeaseRecord, LeaseState, LeaseTable, Millis, NEVER};
use super::options::MessageType;
use super::packet::{Message, Op};
use super::pool::{Allocator, Half};

/// Removing bindings: operator resets and hot-backup revocations, as versioned tombstones.
mod removal;

/// Tunables that are not Comware configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerOptions {
    /// How long an offered address is held for the client's REQUEST.
    pub offer_hold_ms: Millis,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            offer_hold_ms: 30_000,
        }
    }
}

/// An ICMP echo probe the driver must run before the server offers `ip` (`dhcp server ping`),
/// reporting the result with [`Server::probe_result`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    pub ip: Ipv4Addr,
    /// Echo requests to send; the address answers if any of them is answered.
    pub packets: u8,
    /// How long each request waits for its answer.
    pub timeout_ms: u32,
}

/// How many addresses one DISCOVER may probe: after this many answered, the DISCOVER is
/// dropped (the client retransmits) so a LAN full of squatters cannot keep the server probing.
pub const MAX_PROBES_PER_DISCOVER: u8 = 3;

/// A DISCOVER waiting for the probe of its candidate address. The address is taken in its
/// pool's allocator but offered to nobody (no lease record) until the probe comes back.
#[derive(Debug)]
struct Probing {
    ingress: Ingress,
    /// The DISCOVER as received: the offer is built from it when the probe comes back.
    bytes: Vec<u8>,
    client: ClientKey,
    /// Addresses probed for this DISCOVER so far, this one included.
    attempts: u8,
}

/// One configured pool, ready to serve.
#[derive(Debug)]
struct Pool {
    name: String,
    cfg: PoolConfig,
    network: Network,
    alloc: Allocator,
}

/// Whether a client may be bound to an address (RFC 2131 section 4.3.2 checks).
#[derive(Debug, PartialEq, Eq)]
enum Fit {
    Yes,
    /// Not on the pool's network, or not the client's static address.
    WrongNetwork,
    /// Bound to, offered to, or reserved for somebody else.
    Taken,
}

/// The DHCP server state machine.
#[derive(Debug)]
pub struct Server {
    config: DhcpConfig,
    opts: ServerOptions,
    pools: Vec<Pool>,
    /// Static bindings: client -> (pool index, address).
    statics: HashMap<ClientKey, (usize, Ipv4Addr)>,
    /// Static addresses -> their owner.
    static_owner: HashMap<Ipv4Addr, ClientKey>,
    /// The captive-portal API URI of each network behind a portal (option 114), from the
    /// portal's configuration (`set_captive_portals`).
    captive_portals: Vec<(Network, String)>,
    leases: LeaseTable,
    events: Vec<LeaseEvent>,
    next_seq: u64,
    /// Every event up to this one is on disk, as the driver last reported
    /// ([`Server::set_durable`]); `None` while no driver journals this server (tests, the
    /// fuzzer), when every change counts as durable.
    durable: Option<u64>,
    server_id: Option<Ipv4Addr>,
    serving: bool,
    /// While the hot-backup peer is unreachable: new bindings only from this half of each pool.
    half: Option<Half>,
    /// Addresses kept from new bindings until the half restriction is lifted ([`Server::withhold`]).
    withheld: Vec<Ipv4Addr>,
    /// Candidate addresses being probed, with the DISCOVER each is for.
    probing: HashMap<Ipv4Addr, Probing>,
    /// Probes for the driver to run ([`Server::drain_probes`]).
    probes: Vec<ProbeRequest>,
    stats: Stats,
}

impl Server {
    /// A server with this configuration and no leases, serving.
    pub fn new(config: DhcpConfig, opts: ServerOptions) -> Result<Server, ConfigError> {
        config.validate()?;
        let mut s = Server {
            config: DhcpConfig::default(),
            opts,
            pools: Vec::new(),
            statics: HashMap::new(),
            static_owner: HashMap::new(),
            captive_portals: Vec::new(),
            leases: LeaseTable::new(),
            events: Vec::new(),
            next_seq: 1,
            durable: None,
            server_id: None,
            serving: true,
            half: None,
            withheld: Vec::new(),
            probing: HashMap::new(),
            probes: Vec::new(),
            stats: Stats::default(),
        };
        s.set_config(config)?;
        Ok(s)
    }

    /// Load records recovered from the store (at start-up), without events. Records of
    /// addresses outside every pool are dropped.
    pub fn restore(&mut self, records: impl IntoIterator<Item = LeaseRecord>) {
        for r in records {
            if self.pool_of(r.ip).is_some() {
                self.leases.upsert(r);
            }
        }
        self.rebuild_allocators();
    }

    /// Make room for `additional` more lease records at once (a hot-backup batch announces
    /// its size), so a million bindings do not rehash the indexes twenty times on the way in.
    /// The number comes from the peer: it is capped at the pool addresses not yet in the
    /// table, so a wrong or hostile count cannot make the device allocate more than its pools
    /// need.
    pub fn reserve_leases(&mut self, additional: usize) {
        let addresses: usize = self.pools.iter().map(|p| p.alloc.size() as usize).sum();
        let room = addresses.saturating_sub(self.leases.len());
        self.leases.reserve(additional.min(room));
    }

    /// The captive-portal API URI (RFC 8908) to offer as option 114 (RFC 8910) to clients of
    /// each network: the networks of the interfaces where portal authentication is on.
    pub fn set_captive_portals(&mut self, portals: Vec<(Network, String)>) {
        self.captive_portals = portals;
    }

    /// Apply a new configuration (already validated by the shell; validated again here).
    /// Pools are rebuilt; bindings whose address left every pool are removed (with events),
    /// like Comware dropping leases when a pool's network changes.
    pub fn set_config(&mut self, config: DhcpConfig) -> Result<(), ConfigError> {
        config.validate()?;
        // The allocators are rebuilt from the lease records: addresses held for a probe would
        // come back free, so the probes are forgotten (their results are ignored) and the
        // clients retransmit.
        self.forget_probes();
        self.pools.clear();
        self.statics.clear();
        self.static_owner.clear();
        for (name, cfg) in &config.pools {
            let Some(network) = cfg.network else { continue };
            // Dynamic addresses: the range (or the network), never its network or broadcast
            // address.
            let hosts = network.hosts();
            let range = cfg.range.unwrap_or(hosts);
            let mut alloc = Allocator::new(range.start.max(hosts.start), range.end.min(hosts.end));
            for r in &config.forbidden {
                reserve_range(&mut alloc, r.start, r.end);
            }
            for &ip in cfg.forbidden.iter().chain(&cfg.gateways).chain(&cfg.dns) {
                alloc.reserve(ip);
            }
            let idx = self.pools.len();
            for b in &cfg.static_bindings {
                alloc.reserve(b.ip);
                let key = match &b.client {
                    BindingClient::ClientIdentifier(id) => ClientKey::Id(id.clone().into()),
                    BindingClient::HardwareAddress(mac) => ClientKey::Hw(mac.to_vec().into()),
                };
                self.static_owner.insert(b.ip, key.clone());
                self.statics.insert(key, (idx, b.ip));
            }
            self.pools.push(Pool {
                name: name.clone(),
                cfg: cfg.clone(),
                network,
                alloc,
            });
        }
        self.config = config;
        // Bindings that no pool covers any more, or static bindings that were undone.
        let gone: Vec<Ipv4Addr> = self
            .leases
            .iter()
            .filter(|r| {
                self.pool_of(r.ip).is_none()
                    || (r.is_static && !self.static_owner.contains_key(&r.ip))
            })
            .map(|r| r.ip)
            .collect();
        for ip in gone {
            // Offers were never journaled: nothing to tell the store about them.
            if self
                .leases
                .remove(ip)
                .is_some_and(|r| r.state != LeaseState::Offered)
            {
                self.emit(Origin::Local, LeaseChange::Remove(ip));
            }
        }
        self.rebuild_allocators();
        Ok(())
    }

    /// Mark every address a record holds as used.
    fn rebuild_allocators(&mut self) {
        let held: Vec<Ipv4Addr> = self
            .leases
            .iter()
            .filter(|r| r.state.holds_address())
            .map(|r| r.ip)
            .collect();
        for ip in held {
            if let Some(p) = self.pool_of(ip) {
                self.pools[p].alloc.take(ip);
            }
        }
    }

    pub fn config(&self) -> &DhcpConfig {
        &self.config
    }

    /// Use `id` as the server identifier instead of the ingress address (hot backup sets the
    /// VRRP virtual address so that renewals reach whichever device is master).
    pub fn set_server_id(&mut self, id: Option<Ipv4Addr>) {
        self.server_id = id;
    }

    /// Answer clients (master) or stay silent while keeping the table (backup).
    pub fn set_serving(&mut self, serving: bool) {
        self.serving = serving;
        if !serving {
            // A backup offers nothing: what it was probing goes back to the pools.
            for ip in self.forget_probes() {
                self.free_address(ip);
            }
        }
    }

    /// Restrict new bindings to one half of every pool (hot backup with the peer unreachable),
    /// or lift the restriction. Existing bindings renew wherever they are.
    pub fn set_half(&mut self, half: Option<Half>) {
        self.half = half;
        if half.is_none() {
            // Reconciled with the peer (or it is declared down): what was withheld is free.
            for ip in std::mem::take(&mut self.withheld) {
                if !self.leases.get(ip).is_some_and(|r| r.state.holds_address()) {
                    self.free_address(ip);
                }
            }
        }
    }

    pub fn serving(&self) -> bool {
        self.serving
    }

    pub fn leases(&self) -> &LeaseTable {
        &self.leases
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The driver sent `reply`: count it under `Messages sent`.
    pub fn reply_sent(&mut self, reply: &Reply) {
        *self.stats.sent.entry(reply.kind).or_default() += 1;
    }

    /// The driver dropped a reply for `reason` (see [`Stats::withheld`]); the client
    /// retransmits.
    pub fn reply_withheld(&mut self, reason: &str) {
        *self.stats.withheld.entry(reason.to_string()).or_default() += 1;
    }

    /// `reset dhcp server statistics`.
    pub fn reset_statistics(&mut self) {
        self.stats = Stats::default();
    }

    /// The name of the pool whose network holds `ip` (longest prefix first).
    pub fn pool_name_of(&self, ip: Ipv4Addr) -> Option<&str> {
        self.pool_of(ip).map(|p| self.pools[p].name.as_str())
    }

    /// Whether the allocator of `ip`'s pool would hand `ip` out now.
    pub fn is_free(&self, ip: Ipv4Addr) -> bool {
        self.pool_of(ip)
            .is_some_and(|p| self.pools[p].alloc.is_free(ip))
    }

    /// Per pool: name, and the runs of addresses the allocator would hand out now
    /// (`display dhcp server free-ip`).
    pub fn free_ranges(&self) -> Vec<(&str, Vec<(Ipv4Addr, Ipv4Addr)>)> {
        self.pools
            .iter()
            .map(|p| {
                // u64: a range may end at 255.255.255.255.
                let first = u64::from(u32::from(p.alloc.first()));
                let end = first + u64::from(p.alloc.size());
                let addr = |n: u64| Ipv4Addr::from(n as u32);
                let mut runs: Vec<(Ipv4Addr, Ipv4Addr)> = Vec::new();
                let mut open: Option<u64> = None;
                for n in first..end {
                    match (p.alloc.is_free(addr(n)), open) {
                        (true, None) => open = Some(n),
                        (false, Some(start)) => {
                            runs.push((addr(start), addr(n - 1)));
                            open = None;
                        }
                        _ => {}
                    }
                }
                if let Some(start) = open {
                    runs.push((addr(start), addr(end - 1)));
                }
                (p.name.as_str(), runs)
            })
            .collect()
    }

    /// Per pool: name, dynamic addresses, how many of them are free.
    pub fn pool_usage(&self) -> impl Iterator<Item = (&str, u32, u32)> {
        self.pools
            .iter()
            .map(|p| (p.name.as_str(), p.alloc.size(), p.alloc.free_count()))
    }

    /// The sequence number of the last lease event made (0 before the first).
    pub fn last_event(&self) -> u64 {
        self.next_seq - 1
    }

    /// The driver journaled and flushed every event up to `seq`. Hot backup acknowledges the
    /// peer's changes only once they are durable here (`Replica::durable_mark`).
    pub fn set_durable(&mut self, seq: u64) {
        self.durable = Some(seq);
    }

    /// Every event up to this one is durable (all of them, if no driver reports durability).
    pub fn durable(&self) -> u64 {
        self.durable.unwrap_or_else(|| self.last_event())
    }

    /// Probes to run since the last call (`dhcp server ping`).
    pub fn drain_probes(&mut self) -> Vec<ProbeRequest> {
        std::mem::take(&mut self.probes)
    }

    /// The probe of `ip` came back: `answered` if some host answered an echo request. An
    /// unanswered address is offered to the DISCOVER it was chosen for; an answered one goes
    /// to the conflict list (journaled and replicated to the hot-backup peer as a DECLINE's
    /// conflict is) and the next candidate is probed, up to [`MAX_PROBES_PER_DISCOVER`]
    /// addresses. A result for an address not being probed (forgotten after a configuration
    /// change or a switch to backup) is ignored.
    pub fn probe_result(&mut self, now: Millis, ip: Ipv4Addr, answered: bool) -> Vec<Reply> {
        let Some(p) = self.probing.remove(&ip) else {
            return Vec::new();
        };
        let Ok(msg) = Message::decode(&p.bytes) else {
            // It was decoded when it arrived.
            self.free_address(ip);
            return Vec::new();
        };
        let (Some(pool), true) = (self.select_pool(&p.ingress, &msg), self.serving) else {
            self.free_address(ip);
            return Vec::new();
        };
        let c = Ctx {
            now,
            ingress: &p.ingress,
            msg: &msg,
            pool,
            server_id: self.server_id.unwrap_or(p.ingress.address),
            key: p.client.clone(),
        };
        if !answered {
            return self.offer(&c, ip).into_iter().collect();
        }
        let until = self.conflict(now, ip, c.key.clone(), msg.hw_addr());
        tracing::warn!(
            module = "DHCPS",
            severity = 4u8,
            mnemonic = "DHCPS_PING_CONFLICT",
            %ip,
            "{ip} answered the conflict probe: it is in the conflict list for {} s.",
            until.saturating_sub(now) / 1000
        );
        if p.attempts >= MAX_PROBES_PER_DISCOVER {
            self.stats.ignored("probe-conflicts");
            return Vec::new();
        }
        self.discover_attempt(&c, p.attempts + 1)
            .into_iter()
            .collect()
    }

    /// Drop every probe in progress; returns the addresses they held.
    fn forget_probes(&mut self) -> Vec<Ipv4Addr> {
        self.probes.clear();
        self.probing.drain().map(|(ip, _)| ip).collect()
    }

    /// Lease changes since the last call, in order.
    pub fn drain_events(&mut self) -> Vec<LeaseEvent> {
        std::mem::take(&mut self.events)
    }

    /// When `handle_timeout` next has work (an offer or lease expiring, or, on a serving
    /// device, a conflict's probation ending).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let probation = self
            .serving
            .then(|| self.leases.next_probation_end())
            .flatten();
        match (self.leases.next_expiry(), probation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Apply a binding the peer sent (hot backup). It is journaled like a local change but
    /// marked as the peer's, so it is not sent back.
    pub fn apply_remote(&mut self, change: LeaseChange) {
        let ip = change.ip();
        if let Some(old) = self.leases.remove(ip)
            && old.state.holds_address()
        {
            self.free_address(ip);
        }
        if let LeaseChange::Upsert(r) = &change {
            if r.state.holds_address()
                && let Some(p) = self.pool_of(ip)
            {
                self.pools[p].alloc.take(ip);
            }
            self.leases.upsert(r.clone());
        }
        self.emit(Origin::Peer, change);
    }

    /// Expire offers and leases that are due (RFC 2131 section 4.4.5 on the server side).
    ///
    /// Both devices of a hot-backup pair run expiry, the backup too, on their own copies.
    /// Two invariants make that safe (docs/hot-backup-protocol.md, "Expiry while the peer is
    /// unreachable"):
    /// - an expiry is dated one millisecond after the binding it ends, not when the timer
    ///   fired: it decides nothing new, it is that binding running out. Any later change the
    ///   peer made to the binding (a renewal this device never saw) is newer and wins the
    ///   merge, and two devices expiring the same binding write the same record;
    /// - while the half restriction is on (the peer unreachable or not yet reconciled), the
    ///   expired address is withheld, not freed: the peer may be renewing the binding for its
    ///   client right now, so no other client gets it until the tables are reconciled
    ///   ([`Server::set_half`] lifts it) or the partner is declared down.
    pub fn handle_timeout(&mut self, now: Millis) {
        for ip in self.leases.due(now) {
            let Some(mut r) = self.leases.get(ip).cloned() else {
                continue;
            };
            match r.state {
                // An offer nobody took: the address goes back, nothing to journal.
                LeaseState::Offered => {
                    self.leases.remove(ip);
                    self.free_address(ip);
                }
                LeaseState::Committed => {
                    r.state = LeaseState::Expired;
                    r.updated += 1;
                    self.leases.upsert(r.clone());
                    if self.half.is_some() {
                        // Still taken in the allocator: it stays so until `set_half(None)`.
                        self.withheld.push(ip);
                    } else {
                        self.free_address(ip);
                    }
                    self.emit(Origin::Local, LeaseChange::Upsert(r));
                }
                _ => {}
            }
        }
        self.end_probations(now);
    }

    /// Handle one datagram received on UDP port 67.
    pub fn handle_packet(&mut self, now: Millis, ingress: &Ingress, bytes: &[u8]) -> Vec<Reply> {
        let msg = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(interface = %ingress.interface, error = %e, "bad DHCP message");
                self.stats.bad(e.reason());
                return Vec::new();
            }
        };
        if msg.op != Op::Request {
            self.stats.bad("bootreply-to-server");
            return Vec::new();
        }
        let Some(t) = msg.message_type() else {
            self.stats.bootp_requests += 1;
            return Vec::new();
        };
        if !matches!(
            t,
            MessageType::Discover
                | MessageType::Request
                | MessageType::Decline
                | MessageType::Release
                | MessageType::Inform
        ) {
            self.stats.bad("server-message-type");
            return Vec::new();
        }
        *self.stats.received.entry(t).or_default() += 1;
        if !self.config.enabled || !self.serving {
            self.stats.ignored(if self.serving {
                "dhcp-disabled"
            } else {
                "not-serving"
            });
            return Vec::new();
        }
        let Some(pool) = self.select_pool(ingress, &msg) else {
            self.stats.ignored("no-pool");
            return Vec::new();
        };
        let server_id = self.server_id.unwrap_or(ingress.address);
        let ctx = Ctx {
            now,
            ingress,
            msg: &msg,
            pool,
            server_id,
            key: client_key(&msg),
        };
        let reply = match t {
            MessageType::Discover => self.discover(&ctx),
            MessageType::Request => self.request(&ctx),
            MessageType::Decline => {
                self.decline(&ctx);
                None
            }
            MessageType::Release => {
                self.release(&ctx);
                None
            }
            _ => Some(self.reply(&ctx, MessageType::Ack, Ipv4Addr::UNSPECIFIED, None, None)),
        };
        reply.into_iter().collect()
    }

    /// RFC 2131 section 4.3.1: pick an address for a DISCOVER and offer it.
    fn discover(&mut self, c: &Ctx) -> Option<Reply> {
        if self.probing.values().any(|p| p.client == c.key) {
            // A retransmission while its candidate is probed: the probe's result answers it.
            self.stats.ignored("probe-in-progress");
            return None;
        }
        self.discover_attempt(c, 1)
    }

    /// Choose an address for a DISCOVER and offer it, or probe it first when `dhcp server
    /// ping` is on; `attempt` counts the addresses probed for this DISCOVER.
    fn discover_attempt(&mut self, c: &Ctx, attempt: u8) -> Option<Reply> {
        let Some(ip) = self.choose(c) else {
            self.stats.ignored("pool-exhausted");
            tracing::warn!(pool = %self.pools[c.pool].name, "no free address to offer");
            return None;
        };
        let committed_here = self
            .leases
            .get(ip)
            .is_some_and(|r| r.state == LeaseState::Committed && r.client == c.key);
        // Probe an address new to the client, not its own binding (it answers for it) nor a
        // static binding (its owner may still be configured with it).
        if self.config.ping_packets > 0 && !committed_here && !self.static_owner.contains_key(&ip) {
            self.pools[c.pool].alloc.take(ip);
            self.probing.insert(
                ip,
                Probing {
                    ingress: c.ingress.clone(),
                    bytes: c.msg.encode(),
                    client: c.key.clone(),
                    attempts: attempt,
                },
            );
            self.probes.push(ProbeRequest {
                ip,
                packets: self.config.ping_packets,
                timeout_ms: self.config.ping_timeout_ms,
            });
            return None;
        }
        self.offer(c, ip)
    }

    /// Offer `ip` to the client, holding it for the REQUEST.
    fn offer(&mut self, c: &Ctx, ip: Ipv4Addr) -> Option<Reply> {
        let committed_here = self
            .leases
            .get(ip)
            .is_some_and(|r| r.state == LeaseState::Committed && r.client == c.key);
        if !committed_here {
            // Hold the address for the REQUEST (not journaled: an offer lost in a crash costs
            // the client one more DISCOVER).
            self.pools[c.pool].alloc.take(ip);
            let rec = self.record(c, ip, LeaseState::Offered, c.now + self.opts.offer_hold_ms);
            self.replace(rec);
        }
        let lease = self.pools[c.pool].cfg.lease;
        Some(self.reply(c, MessageType::Offer, ip, Some(lease), None))
    }

    /// The address to offer, in RFC 2131 section 4.3.1 order: the client's static binding, its
    /// current binding, its previous address, the address it asks for, then any free address.
    fn choose(&mut self, c: &Ctx) -> Option<Ipv4Addr> {
        if let Some(ip) = self.static_for(c) {
            return (self.fit(c, ip) == Fit::Yes).then_some(ip);
        }
        if let Some(r) = self.leases.by_client(&c.key)
            && self.fit(c, r.ip) == Fit::Yes
            && self.pools[c.pool].alloc.contains(r.ip)
        {
            return Some(r.ip);
        }
        if let Some(ip) = c.msg.options.requested_ip
            && self.fit(c, ip) == Fit::Yes
            && self.pools[c.pool].alloc.contains(ip)
        {
            return Some(ip);
        }
        loop {
            let ip = self.pools[c.pool].alloc.allocate_in(self.half)?;
            if ip == c.ingress.address || ip == c.server_id {
                // The server's own address is in the pool: a conflict, as Comware lists it.
                self.conflict(c.now, ip, c.key.clone(), c.msg.hw_addr());
                continue;
            }
            // The address was free; a history record of another client there is replaced.
            return Some(ip);
        }
    }

    /// RFC 2131 section 4.3.2: REQUEST in SELECTING, INIT-REBOOT, RENEWING or REBINDING.
    fn request(&mut self, c: &Ctx) -> Option<Reply> {
        let o = &c.msg.options;
        // SELECTING answers our own offer; the other states claim a lease the client holds.
        let selecting = o.server_id.is_some();
        let ip = if let Some(sid) = o.server_id {
            // SELECTING: the client chose a server. If not us, our offer is withdrawn.
            if sid != c.server_id {
                if let Some(r) = self.leases.by_client(&c.key)
                    && r.state == LeaseState::Offered
                {
                    let ip = r.ip;
                    self.leases.remove(ip);
                    self.free_address(ip);
                }
                self.stats.ignored("other-server-selected");
                return None;
            }
            match o
                .requested_ip
                .or(Some(c.msg.ciaddr).filter(|a| !a.is_unspecified()))
            {
                Some(ip) => ip,
                None => {
                    self.stats.bad("request-without-address");
                    return None;
                }
            }
        } else if let Some(ip) = o.requested_ip.filter(|_| c.msg.ciaddr.is_unspecified()) {
            // INIT-REBOOT: the client must be silent-ignored when we have no record of it.
            if self.fit(c, ip) == Fit::WrongNetwork {
                return Some(self.nak(c));
            }
            let known = self.leases.by_client(&c.key);
            if known.is_none() && self.static_for(c).is_none() {
                self.stats.ignored("init-reboot-unknown-client");
                return None;
            }
            // Asking for another address than the one it holds here: incorrect, NAK.
            if known.is_some_and(|r| {
                r.ip != ip
                    && r.state == LeaseState::Committed
                    && self.pools[c.pool].network.contains(r.ip)
            }) {
                return Some(self.nak(c));
            }
            ip
        } else if !c.msg.ciaddr.is_unspecified() {
            // RENEWING (unicast) or REBINDING (broadcast): ciaddr holds the address.
            c.msg.ciaddr
        } else {
            self.stats.bad("request-without-address");
            return None;
        };
        match self.fit(c, ip) {
            Fit::Yes => {
                let seq = self.commit(c, ip);
                let lease = self.pools[c.pool].cfg.lease;
                Some(self.reply(c, MessageType::Ack, ip, Some(lease), Some(seq)))
            }
            Fit::Taken if !selecting && self.peer_may_hold(c, ip) => {
                self.stats.ignored("peer-may-hold");
                None
            }
            Fit::WrongNetwork | Fit::Taken => Some(self.nak(c)),
        }
    }

    /// Hot backup, the half restriction on (the peer unreachable, or the tables not yet
    /// reconciled): whether the peer may hold a binding of `ip` for this client that this
    /// device does not know of. The peer renews every binding it holds and binds new ones in
    /// its half, so for an address of the peer's half that is unbound here, or whose binding
    /// expired here, only the peer can say. The request is then ignored rather than refused
    /// (as RFC 2131 section 4.3.2 has a server with no record of an INIT-REBOOT client stay
    /// silent, for servers that cannot talk to each other to coexist): a DHCPNAK would
    /// take a valid lease from a client the peer serves (after a split heals, its renewal may
    /// reach this device before the peer's batch has). The client retries, and this device
    /// answers once the tables are reconciled. History saying the client itself gave the
    /// address up (a release, a revocation, a reset) is refused as before.
    fn peer_may_hold(&self, c: &Ctx, ip: Ipv4Addr) -> bool {
        let Some(half) = self.half else {
            return false;
        };
        let pool = &self.pools[c.pool];
        if !pool.alloc.contains(ip)
            || pool.alloc.in_half(ip, half)
            || self.static_owner.contains_key(&ip)
        {
            return false;
        }
        match self.leases.get(ip) {
            None => true,
            Some(r) => match r.state {
                LeaseState::Expired => true,
                LeaseState::Released => r.client != c.key,
                _ => false,
            },
        }
    }

    /// Bind `ip` to the client until now + lease time; returns the event's sequence number.
    fn commit(&mut self, c: &Ctx, ip: Ipv4Addr) -> u64 {
        // A renewal, or a binding this client did not hold here (hot backup needs to know).
        let new_binding = !self
            .leases
            .get(ip)
            .is_some_and(|o| o.client == c.key && o.state == LeaseState::Committed);
        // A client holds one binding per pool: an older one elsewhere in the pool is released.
        if let Some(old) = self.leases.by_client(&c.key).cloned()
            && old.ip != ip
            && old.state.holds_address()
            && self.pools[c.pool].network.contains(old.ip)
        {
            self.leases.remove(old.ip);
            self.free_address(old.ip);
            if old.state == LeaseState::Committed {
                let released = LeaseRecord {
                    state: LeaseState::Released,
                    updated: c.now,
                    ..old
                };
                self.leases.upsert(released.clone());
                self.emit(Origin::Local, LeaseChange::Upsert(released));
            }
        }
        let expires = match self.pools[c.pool].cfg.lease {
            LeaseDuration::Seconds(s) => c.now.saturating_add(u64::from(s) * 1000),
            LeaseDuration::Unlimited => NEVER,
        };
        self.pools[c.pool].alloc.take(ip);
        let mut rec = self.record(c, ip, LeaseState::Committed, expires);
        // A renewal unicast straight to us carries no option 82 (and often no host name): keep
        // what the binding was made with.
        if let Some(old) = self.leases.get(ip).filter(|o| o.client == c.key) {
            rec.relay_info = rec.relay_info.or_else(|| old.relay_info.clone());
            rec.hostname = rec.hostname.or_else(|| old.hostname.clone());
        }
        self.replace(rec.clone());
        self.push_event(Origin::Local, LeaseChange::Upsert(rec), new_binding)
    }

    /// RFC 2131 section 4.3.3: the client found the address in use.
    fn decline(&mut self, c: &Ctx) {
        let o = &c.msg.options;
        if o.server_id.is_some_and(|s| s != c.server_id) {
            self.stats.ignored("other-server-selected");
            return;
        }
        let Some(ip) = o.requested_ip else {
            self.stats.bad("decline-without-address");
            return;
        };
        if !self
            .leases
            .get(ip)
            .is_some_and(|r| r.client == c.key && r.state.holds_address())
        {
            self.stats.ignored("decline-not-bound");
            return;
        }
        let until = self.conflict(c.now, ip, c.key.clone(), c.msg.hw_addr());
        tracing::warn!(
            module = "DHCPS",
            severity = 4u8,
            mnemonic = "DHCPS_DECLINE",
            %ip,
            client = %c.key,
            "Client {} declined {ip}: the address is in the conflict list for {} s.",
            super::render::dashed_hex(c.msg.hw_addr()),
            until.saturating_sub(c.now) / 1000
        );
    }

    /// RFC 2131 section 4.3.4: the client gives the address back.
    fn release(&mut self, c: &Ctx) {
        let ip = c.msg.ciaddr;
        if c.msg.options.server_id.is_some_and(|s| s != c.server_id) {
            self.stats.ignored("other-server-selected");
            return;
        }
        let Some(r) = self
            .leases
            .get(ip)
            .filter(|r| r.client == c.key && r.state == LeaseState::Committed)
        else {
            self.stats.ignored("release-not-bound");
            return;
        };
        let rec = LeaseRecord {
            state: LeaseState::Released,
            updated: c.now,
            expires: c.now,
            ..r.clone()
        };
        self.leases.upsert(rec.clone());
        self.free_address(ip);
        self.emit(Origin::Local, LeaseChange::Upsert(rec));
    }

    /// Put `ip` in the conflict list (journaled: a conflict survives a restart) until its
    /// probation ends, `conflict_recycle_secs` from now; returns that time. The end is in the
    /// record, so it survives a restart and travels with the record to the hot-backup peer.
    fn conflict(&mut self, now: Millis, ip: Ipv4Addr, client: ClientKey, chaddr: &[u8]) -> Millis {
        let until = now.saturating_add(u64::from(self.config.conflict_recycle_secs) * 1000);
        let rec = LeaseRecord {
            ip,
            state: LeaseState::Declined,
            client,
            chaddr: chaddr.into(),
            expires: until,
            updated: now,
            relay_info: None,
            hostname: None,
            is_static: false,
        };
        if let Some(p) = self.pool_of(ip) {
            self.pools[p].alloc.take(ip);
        }
        self.leases.upsert(rec.clone());
        self.emit(Origin::Local, LeaseChange::Upsert(rec));
        until
    }

    /// Whether the client may have `ip` from the selected pool.
    fn fit(&self, c: &Ctx, ip: Ipv4Addr) -> Fit {
        let pool = &self.pools[c.pool];
        let net = pool.network;
        if !net.contains(ip) || (net.prefix_len < 31 && (ip == net.base() || ip == net.broadcast()))
        {
            return Fit::WrongNetwork;
        }
        if let Some(owner) = self.static_owner.get(&ip) {
            return if *owner == c.key || Some(owner) == hw_key(c.msg).as_ref() {
                Fit::Yes
            } else {
                Fit::Taken
            };
        }
        if self.static_for(c).is_some() {
            // A client with a static binding gets that address only.
            return Fit::WrongNetwork;
        }
        if ip == c.ingress.address || ip == c.server_id {
            return Fit::Taken;
        }
        match self.leases.get(ip) {
            Some(r) if r.state == LeaseState::Declined => Fit::Taken,
            // The client's own binding renews anywhere. Its history, and an offer (the peer
            // may be offering the address too), only in our half while the half restriction
            // is on.
            Some(r)
                if r.client == c.key
                    && (r.state == LeaseState::Committed
                        || self.half.is_none_or(|h| pool.alloc.in_half(ip, h))) =>
            {
                Fit::Yes
            }
            Some(r) if r.state.holds_address() => Fit::Taken,
            // A new binding outside our half could be the peer's during a split brain.
            _ if self.half.is_some_and(|h| !pool.alloc.in_half(ip, h)) => Fit::Taken,
            _ if pool.alloc.is_free(ip) => Fit::Yes,
            _ => Fit::Taken,
        }
    }

    /// The client's static address in the selected pool, if it has one.
    fn static_for(&self, c: &Ctx) -> Option<Ipv4Addr> {
        let hit = self
            .statics
            .get(&c.key)
            .or_else(|| hw_key(c.msg).and_then(|k| self.statics.get(&k)));
        hit.filter(|(p, _)| *p == c.pool).map(|&(_, ip)| ip)
    }

    /// A record for the client of this request.
    fn record(&self, c: &Ctx, ip: Ipv4Addr, state: LeaseState, expires: Millis) -> LeaseRecord {
        let o = &c.msg.options;
        LeaseRecord {
            ip,
            state,
            client: c.key.clone(),
            chaddr: c.msg.hw_addr().into(),
            expires,
            updated: c.now,
            relay_info: o
                .relay_agent_info
                .as_ref()
                .map(|s| super::options::encode_relay_info(s).into()),
            hostname: o.hostname.as_ref().map(|h| h.clone().into()),
            is_static: self.static_owner.contains_key(&ip),
        }
    }

    /// Upsert a record for a client, dropping its older offer in another place.
    fn replace(&mut self, rec: LeaseRecord) {
        if let Some(old) = self.leases.by_client(&rec.client)
            && old.ip != rec.ip
            && old.state == LeaseState::Offered
        {
            let ip = old.ip;
            self.leases.remove(ip);
            self.free_address(ip);
        }
        self.leases.upsert(rec);
    }

    fn free_address(&mut self, ip: Ipv4Addr) {
        if let Some(p) = self.pool_of(ip) {
            self.pools[p].alloc.release(ip);
        }
    }

    fn emit(&mut self, origin: Origin, change: LeaseChange) -> u64 {
        self.push_event(origin, change, false)
    }

    fn push_event(&mut self, origin: Origin, change: LeaseChange, new_binding: bool) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push(LeaseEvent {
            seq,
            origin,
            change,
            new_binding,
        });
        seq
    }

    /// The pool whose network holds `ip` (longest prefix first).
    fn pool_of(&self, ip: Ipv4Addr) -> Option<usize> {
        (0..self.pools.len())
            .filter(|&i| self.pools[i].network.contains(ip))
            .max_by_key(|&i| self.pools[i].network.prefix_len)
    }

    /// The client's subnet (RFC 2131 section 4.3.1, RFC 3011 section 2): giaddr for a relayed
    /// request; ciaddr for a client that has an address (a RENEWING client unicasts straight
    /// to the server, from any subnet); else the interface's applied pool or the pool of its
    /// address.
    fn select_pool(&self, ingress: &Ingress, msg: &Message) -> Option<usize> {
        if !msg.giaddr.is_unspecified() {
            return self.pool_of(msg.giaddr);
        }
        if !msg.ciaddr.is_unspecified()
            && let Some(p) = self.pool_of(msg.ciaddr)
        {
            return Some(p);
        }
        if let Some(name) = &ingress.pool {
            return self
                .pools
                .iter()
                .position(|p| p.name.eq_ignore_ascii_case(name));
        }
        self.pool_of(ingress.address)
    }

    fn nak(&mut self, c: &Ctx) -> Reply {
        self.reply(c, MessageType::Nak, Ipv4Addr::UNSPECIFIED, None, None)
    }

    /// Build a reply, held for `commit` if given. It is counted when the driver reports its
    /// fate ([`Server::reply_sent`], [`Server::reply_withheld`]): a reply built is not a reply
    /// sent (an ACK waits for the journal and, with hot backup, for the peer).
    fn reply(
        &mut self,
        c: &Ctx,
        t: MessageType,
        yiaddr: Ipv4Addr,
        lease: Option<LeaseDuration>,
        commit: Option<u64>,
    ) -> Reply {
        let pool = &self.pools[c.pool];
        let (msg, to) = super::reply::build(&super::reply::Params {
            req: c.msg,
            kind: t,
            yiaddr,
            server_id: c.server_id,
            network: pool.network,
            pool: &pool.cfg,
            lease,
            echo_relay_info: self.config.relay_information,
            always_broadcast: self.config.always_broadcast,
            captive_portal: self
                .captive_portals
                .iter()
                .find(|(n, _)| *n == pool.network)
                .map(|(_, uri)| uri.as_str()),
        });
        Reply {
            interface: c.ingress.interface.clone(),
            kind: t,
            to,
            bytes: msg.encode(),
            commit,
        }
    }
}

/// The request being handled.
struct Ctx<'a> {
    now: Millis,
    ingress: &'a Ingress,
    msg: &'a Message,
    pool: usize,
    server_id: Ipv4Addr,
    key: ClientKey,
}

/// Option 61 if present, else the hardware address (RFC 2131 section 4.2).
pub fn client_key(msg: &Message) -> ClientKey {
    match &msg.options.client_id {
        Some(id) => ClientKey::Id(id.clone().into()),
        None => ClientKey::Hw(msg.hw_addr().into()),
    }
}

/// The hardware-address key, for static bindings by `hardware-address` of a client that sends
/// option 61.
fn hw_key(msg: &Message) -> Option<ClientKey> {
    msg.options
        .client_id
        .is_some()
        .then(|| ClientKey::Hw(msg.hw_addr().into()))
}

fn reserve_range(alloc: &mut Allocator, start: Ipv4Addr, end: Ipv4Addr) {
    let first = u32::from(alloc.first());
    let last = first.saturating_add(alloc.size().saturating_sub(1));
    let (s, e) = (u32::from(start).max(first), u32::from(end).min(last));
    if alloc.size() == 0 || s > e {
        return;
    }
    for a in s..=e {
        alloc.reserve(a.into());
    }
}
