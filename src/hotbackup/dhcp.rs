//! DHCP bindings as the first replicated service: the entry encoding and merge order of a
//! [`LeaseRecord`], the [`Replica`] over [`dhcp::Server`](crate::dhcp::Server), the pool
//! halves of a split brain, the configuration digest, and what the session does with
//! bindings the peer never acknowledged.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use sha2::{Digest, Sha256};

use super::event::Unconfirmed;
use super::merge::Conflict;
use super::service::{Change, EntryError, Replica, Service};
use super::session::Session;
use crate::dhcp::config::MAX_LEASE_SECS;
use crate::dhcp::lease::{NEVER, record_flags};
use crate::dhcp::pool::Half;
use crate::dhcp::{
    ClientKey, DhcpConfig, LeaseChange, LeaseEvent, LeaseRecord, LeaseState, Millis, Origin, Server,
};

/// DHCP bindings: one [`LeaseRecord`] per address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhcpBindings;

impl From<LeaseChange> for Change<DhcpBindings> {
    fn from(c: LeaseChange) -> Self {
        match c {
            LeaseChange::Upsert(r) => Change::Upsert(r),
            LeaseChange::Remove(ip) => Change::Remove(ip),
        }
    }
}

impl From<Change<DhcpBindings>> for LeaseChange {
    fn from(c: Change<DhcpBindings>) -> Self {
        match c {
            Change::Upsert(r) => LeaseChange::Upsert(r),
            Change::Remove(ip) => LeaseChange::Remove(ip),
        }
    }
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    // Client ids, hardware addresses, option 82 and host names are each under 256 bytes on
    // the DHCP wire; a u8 length would do, u16 leaves room.
    let n = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&b[..n]);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn err(reason: &'static str) -> EntryError {
        EntryError {
            service: DhcpBindings::NAME,
            reason,
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(Self::err("truncated"));
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64, EntryError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn ip(&mut self) -> Result<Ipv4Addr, EntryError> {
        let b = self.take(4)?;
        Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
    fn bytes(&mut self) -> Result<Box<[u8]>, EntryError> {
        let b = self.take(2)?;
        let n = u16::from_be_bytes([b[0], b[1]]) as usize;
        Ok(self.take(n)?.into())
    }
}

impl Service for DhcpBindings {
    const ID: u8 = 1;
    const NAME: &'static str = "dhcp-server";
    type Key = Ipv4Addr;
    type Entry = LeaseRecord;

    fn key(entry: &LeaseRecord) -> Ipv4Addr {
        entry.ip
    }

    /// `ip(4) state(1) flags(1) updated(8) expires(8) client(2+n) chaddr(2+n) [relay(2+n)]
    /// [hostname(2+n)]`, big-endian. `updated` comes first so that the byte order of two
    /// encodings agrees with "newer" as far as the time goes.
    fn encode_entry(r: &LeaseRecord, out: &mut Vec<u8>) {
        out.extend_from_slice(&r.ip.octets());
        out.push(r.state.code());
        out.push(r.flags());
        out.extend_from_slice(&r.updated.to_be_bytes());
        out.extend_from_slice(&r.expires.to_be_bytes());
        put(out, r.client.bytes());
        put(out, &r.chaddr);
        if let Some(b) = &r.relay_info {
            put(out, b);
        }
        if let Some(b) = &r.hostname {
            put(out, b);
        }
    }

    fn decode_entry(b: &[u8]) -> Result<LeaseRecord, EntryError> {
        let mut c = Cursor(b);
        let ip = c.ip()?;
        let state = LeaseState::from_code(c.u8()?).ok_or(Cursor::err("state"))?;
        let flags = c.u8()?;
        if flags & !record_flags::ALL != 0 {
            return Err(Cursor::err("flags"));
        }
        let updated = c.u64()?;
        let expires = c.u64()?;
        let key = c.bytes()?;
        let client = if flags & record_flags::CLIENT_ID != 0 {
            ClientKey::Id(key)
        } else {
            ClientKey::Hw(key)
        };
        let chaddr = c.bytes()?;
        let relay_info = (flags & record_flags::RELAY != 0)
            .then(|| c.bytes())
            .transpose()?;
        let hostname = (flags & record_flags::HOSTNAME != 0)
            .then(|| c.bytes())
            .transpose()?;
        if !c.0.is_empty() {
            return Err(Cursor::err("trailing bytes"));
        }
        Ok(LeaseRecord {
            ip,
            state,
            client,
            chaddr,
            expires,
            updated,
            relay_info,
            hostname,
            is_static: flags & record_flags::STATIC != 0,
        })
    }

    fn encode_key(ip: &Ipv4Addr, out: &mut Vec<u8>) {
        out.extend_from_slice(&ip.octets());
    }

    fn decode_key(b: &[u8]) -> Result<Ipv4Addr, EntryError> {
        let mut c = Cursor(b);
        let ip = c.ip()?;
        if !c.0.is_empty() {
            return Err(Cursor::err("trailing bytes"));
        }
        Ok(ip)
    }

    fn replicated(r: &LeaseRecord) -> bool {
        r.state != LeaseState::Offered
    }

    fn claims(r: &LeaseRecord) -> bool {
        matches!(r.state, LeaseState::Committed | LeaseState::Declined)
    }

    /// Newer = later `updated` (the time of the change, in ms); equal times are decided by
    /// the canonical encoding compared byte by byte, so two different records are never
    /// "equally new" and both devices pick the same one.
    fn version_cmp(a: &LeaseRecord, b: &LeaseRecord) -> Ordering {
        a.updated.cmp(&b.updated).then_with(|| {
            // The same record again (a batch after a reconnect repeats most of the table):
            // equal, without encoding both.
            if a == b {
                return Ordering::Equal;
            }
            let (mut x, mut y) = (Vec::with_capacity(64), Vec::with_capacity(64));
            Self::encode_entry(a, &mut x);
            Self::encode_entry(b, &mut y);
            x.cmp(&y)
        })
    }

    /// Both hold the address (committed or conflict-listed... a declined address has no
    /// owner, so only two committed bindings) for different clients.
    fn conflicts(a: &LeaseRecord, b: &LeaseRecord) -> bool {
        a.state == LeaseState::Committed && b.state == LeaseState::Committed && a.client != b.client
    }
}

impl Replica<DhcpBindings> for Server {
    fn get(&self, ip: &Ipv4Addr) -> Option<&LeaseRecord> {
        self.leases().get(*ip)
    }

    fn keys(&self) -> Vec<Ipv4Addr> {
        self.leases()
            .iter()
            .filter(|r| DhcpBindings::replicated(r))
            .map(|r| r.ip)
            .collect()
    }

    /// A binding from the peer is admitted only if this device could have made it: its
    /// address is a host address of a configured pool's network, it changed no later than
    /// `latest`, and its lease ends at most the longest lease a pool can grant after that
    /// change (or never: `expired unlimited`, which a tombstone of such a binding keeps).
    fn admit(&self, r: &LeaseRecord, latest: Millis) -> Result<(), EntryError> {
        let in_pool = self.config().pools.values().any(|p| {
            p.network
                .is_some_and(|n| (n.hosts().start..=n.hosts().end).contains(&r.ip))
        });
        if !in_pool {
            return Err(Cursor::err("address outside every pool"));
        }
        if r.updated > latest {
            return Err(Cursor::err("changed later than the local clock allows"));
        }
        let longest = r.updated.saturating_add(u64::from(MAX_LEASE_SECS) * 1000);
        if r.expires != NEVER && r.expires > longest {
            return Err(Cursor::err("lease longer than any pool grants"));
        }
        Ok(())
    }

    fn apply(&mut self, change: Change<DhcpBindings>) {
        self.apply_remote(change.into());
    }

    fn reserve(&mut self, additional: usize) {
        self.reserve_leases(additional);
    }

    fn applied_mark(&self) -> u64 {
        self.last_event()
    }

    fn durable_mark(&self) -> u64 {
        self.durable()
    }
}

impl Conflict<DhcpBindings> {
    /// The `HOTBACKUP_CONFLICT` log line, the same on both devices: the address, the client
    /// whose binding both keep and the client whose binding both drop. Bindings are named by
    /// their clients, not versions: either may be renewed between the moments the two
    /// devices find the conflict.
    pub fn log_line(&self) -> String {
        format!(
            "Address {} was bound to two clients: both devices keep the binding of {} and drop that of {}.",
            self.key, self.kept.client, self.dropped.client,
        )
    }
}

/// This device's half of every pool while the peer is unreachable: the device with the lower
/// failover-link address takes the even offsets, the other the odd ones. Both devices know
/// both addresses from their configuration, so they agree without talking.
pub fn dhcp_half(local: Ipv4Addr, peer: Ipv4Addr) -> Half {
    if local < peer { Half::Even } else { Half::Odd }
}

/// Whether `ip` is in `half` of its pool's dynamic range, as the DHCP core's allocator
/// counts it (even or odd offset from the first dynamic address of the pool with the longest
/// prefix holding `ip`). Addresses outside every range are in both halves (static
/// bindings belong to their client whoever serves).
pub fn in_half(config: &DhcpConfig, ip: Ipv4Addr, half: Half) -> bool {
    let pool = config
        .pools
        .values()
        .filter_map(|p| Some((p.network?, p.range)))
        .filter(|(n, _)| n.contains(ip))
        .max_by_key(|(n, _)| n.prefix_len);
    let Some((network, range)) = pool else {
        return true;
    };
    let hosts = network.hosts();
    let range = range.unwrap_or(hosts);
    let (first, last) = (range.start.max(hosts.start), range.end.min(hosts.end));
    if ip < first || ip > last {
        return true;
    }
    let odd = (u32::from(ip) - u32::from(first)) % 2 == 1;
    odd == (half == Half::Odd)
}

/// Restrict the server to `half` of every pool (`Some`: the peer is unreachable or also
/// master) or lift the restriction (`None`). Turning it on also withdraws the offers
/// outstanding in the other half: the core would still confirm them (an offer counts as the
/// client's binding), and the peer may now hand out the same address.
pub fn apply_half(server: &mut Server, half: Option<Half>) {
    if let Some(h) = half {
        let stale: Vec<Ipv4Addr> = server
            .leases()
            .iter()
            .filter(|r| r.state == LeaseState::Offered && !in_half(server.config(), r.ip, h))
            .map(|r| r.ip)
            .collect();
        for ip in stale {
            server.apply_remote(LeaseChange::Remove(ip));
        }
    }
    server.set_half(half);
}

/// The configuration digest both devices compare in negotiation: SHA-256 over the canonical
/// JSON of the pools and forbidden ranges (vendors require the same DHCP configuration on both
/// devices; the pools are a `BTreeMap`, so the JSON is the same for the same configuration).
pub fn dhcp_config_digest(config: &DhcpConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    // Serializing maps of plain data to JSON cannot fail.
    h.update(serde_json::to_vec(&config.pools).unwrap_or_default());
    h.update(serde_json::to_vec(&config.forbidden).unwrap_or_default());
    h.finalize().into()
}

impl Session<DhcpBindings> {
    /// Feed one event of the DHCP server: local changes are replicated (their `seq` is the
    /// token of [`Event::Released`](super::Event::Released), i.e. the `commit` of the replies waiting for them),
    /// a new binding as a new claim; changes the peer made are not sent back.
    pub fn handle_lease_event(&mut self, ev: &LeaseEvent) {
        if ev.origin == Origin::Local {
            let change = ev.change.clone().into();
            if ev.new_binding {
                self.handle_new_claim(ev.seq, change);
            } else {
                self.handle_local_change(ev.seq, change);
            }
        }
    }

    /// Synchronous mode, the peer went down before acknowledging `changes` (from
    /// [`Event::Unconfirmed`](super::Event::Unconfirmed)). The peer, serving alone, allocates
    /// new bindings from its own half only, and renews every binding it holds. So a renewal,
    /// and any release, expiry or conflict, are safe to answer now, and so is a new binding in
    /// this device's half `own` of an address the peer knows to be free. Two kinds of new
    /// binding are not, since the peer never saw them:
    /// - one in the peer's half: the peer may give the address to another client;
    /// - one of an address that an earlier unconfirmed change took from another client (a
    ///   release or an expiry the peer never saw): the peer may renew the old binding.
    ///
    /// Such a binding is revoked ([`Server::revoke`]: a tombstone, which also wins the merge on
    /// the peer if the peer did apply the binding) and its reply dropped, as is the reply of a
    /// renewal of it made before the peer could confirm it; the client retries and gets an
    /// address from this device's half. And while the half restriction is on, an address an
    /// unconfirmed change freed is withheld from new bindings ([`Server::withhold`]) until the
    /// tables are reconciled, for the same reason.
    ///
    /// The tombstone also replaces the revoked binding in the resend log, so a reconcile
    /// never offers the peer the withdrawn binding. Returns (token, release?) per change; the
    /// revocations come out of [`Server::drain_events`] as local changes, to journal and
    /// replicate like any other.
    pub fn settle_unconfirmed(
        &mut self,
        server: &mut Server,
        own: Half,
        changes: Vec<Unconfirmed<DhcpBindings>>,
    ) -> Vec<(u64, bool)> {
        // (address, client) of the exposed new bindings, in the order they came.
        let mut exposed: Vec<(Ipv4Addr, &ClientKey)> = Vec::new();
        // (address, client whose binding it was) of the addresses freed.
        let mut freed: Vec<(Ipv4Addr, &ClientKey)> = Vec::new();
        let mut out = Vec::with_capacity(changes.len());
        for u in &changes {
            let release = match &u.change {
                Change::Upsert(r) if r.state == LeaseState::Committed => {
                    let taken_from_another =
                        freed.iter().any(|&(ip, c)| ip == r.ip && *c != r.client);
                    if u.new_claim && (!in_half(server.config(), r.ip, own) || taken_from_another) {
                        exposed.push((r.ip, &r.client));
                    }
                    !exposed.contains(&(r.ip, &r.client))
                }
                Change::Upsert(r) => {
                    if !r.state.holds_address() {
                        freed.push((r.ip, &r.client));
                    }
                    true
                }
                // A pool change: both devices drop the same bindings.
                Change::Remove(_) => true,
            };
            out.push((u.token, release));
        }
        for &(ip, client) in &exposed {
            // Still that client's binding (not released since, nor revoked already).
            if server
                .leases()
                .get(ip)
                .is_some_and(|r| r.state == LeaseState::Committed && r.client == *client)
            {
                server.revoke(ip);
                if let Some(tombstone) = server.leases().get(ip) {
                    self.supersede(tombstone);
                }
            }
        }
        if self.restrict_to_half() {
            for (ip, _) in freed {
                server.withhold(ip);
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_record() -> impl Strategy<Value = LeaseRecord> {
        (
            0u8..8,
            prop_oneof![
                Just(LeaseState::Committed),
                Just(LeaseState::Released),
                Just(LeaseState::Expired),
                Just(LeaseState::Declined),
                Just(LeaseState::Removed),
            ],
            0u8..4,
            any::<bool>(),
            0u64..20,
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            any::<bool>(),
        )
            .prop_map(|(ip, state, client, id, updated, relay, host, is_static)| {
                let mac = vec![0, 0x11, 0x22, 0x33, 0x44, client];
                LeaseRecord {
                    ip: Ipv4Addr::new(10, 0, 0, ip),
                    state,
                    client: if id {
                        let mut v = vec![1];
                        v.extend_from_slice(&mac);
                        ClientKey::Id(v.into())
                    } else {
                        ClientKey::Hw(mac.clone().into())
                    },
                    chaddr: mac.into(),
                    expires: updated + 3_600_000,
                    updated,
                    relay_info: relay.map(Into::into),
                    hostname: host.map(Into::into),
                    is_static,
                }
            })
    }

    proptest! {
        #[test]
        fn records_round_trip(r in arb_record()) {
            let mut b = Vec::new();
            DhcpBindings::encode_entry(&r, &mut b);
            prop_assert_eq!(DhcpBindings::decode_entry(&b), Ok(r));
        }

        #[test]
        fn decoding_garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = DhcpBindings::decode_entry(&b);
            let _ = DhcpBindings::decode_key(&b);
        }

        #[test]
        fn version_order_is_total_and_antisymmetric(a in arb_record(), b in arb_record()) {
            let ab = DhcpBindings::version_cmp(&a, &b);
            prop_assert_eq!(ab, DhcpBindings::version_cmp(&b, &a).reverse());
            prop_assert_eq!(ab == Ordering::Equal, a == b);
        }
    }

    #[test]
    fn truncated_record_is_an_error() {
        let r = LeaseRecord {
            ip: Ipv4Addr::new(10, 0, 0, 1),
            state: LeaseState::Committed,
            client: ClientKey::Hw(vec![1, 2, 3, 4, 5, 6].into()),
            chaddr: vec![1, 2, 3, 4, 5, 6].into(),
            expires: 10,
            updated: 5,
            relay_info: None,
            hostname: None,
            is_static: false,
        };
        let mut b = Vec::new();
        DhcpBindings::encode_entry(&r, &mut b);
        for n in 0..b.len() {
            assert!(DhcpBindings::decode_entry(&b[..n]).is_err());
        }
    }

    #[test]
    fn the_conflict_log_line_names_the_kept_and_the_dropped_binding() {
        let binding = |client: u8, updated| LeaseRecord {
            ip: Ipv4Addr::new(10, 0, 0, 7),
            state: LeaseState::Committed,
            client: ClientKey::Hw(vec![2, 0, 0, 0, 1, client].into()),
            chaddr: vec![2, 0, 0, 0, 1, client].into(),
            expires: updated + 3_600_000,
            updated,
            relay_info: None,
            hostname: None,
            is_static: false,
        };
        let c = Conflict::<DhcpBindings> {
            key: Ipv4Addr::new(10, 0, 0, 7),
            kept: binding(3, 200),
            dropped: binding(4, 100),
        };
        assert_eq!(
            c.log_line(),
            "Address 10.0.0.7 was bound to two clients: both devices keep the binding of \
             hw:020000000103 and drop that of hw:020000000104."
        );
    }

    #[test]
    fn the_two_devices_take_opposite_halves() {
        let (a, b) = (Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(dhcp_half(a, b), Half::Even);
        assert_eq!(dhcp_half(b, a), Half::Odd);
    }

    #[test]
    fn digest_follows_the_pools() {
        let a = DhcpConfig::default();
        let mut b = DhcpConfig::default();
        assert_eq!(dhcp_config_digest(&a), dhcp_config_digest(&b));
        b.pools.insert("p1".into(), Default::default());
        assert_ne!(dhcp_config_digest(&a), dhcp_config_digest(&b));
    }
}
