//! The lease table: one record per address that has (or had) a binding, indexed by address, by
//! client, and by expiry time.
//!
//! A record outlives its binding: after RELEASE or expiry it stays as history (state `Released`
//! or `Expired`, address free in the allocator), so the same client gets the same address back,
//! until the allocator hands the address to somebody else and the record is replaced.
//! Conflicts (DECLINE, or the server's own address found in a pool) are records in state
//! `Declined` that no client owns.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::net::Ipv4Addr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time in milliseconds since the Unix epoch; the driver passes it in, tests use virtual time.
pub type Millis = u64;
/// `expires` of a lease that never expires (`expired unlimited`).
pub const NEVER: Millis = u64::MAX;

/// What the server uses to recognise a client: option 61 if the client sent one, else its
/// hardware address (RFC 2131 section 4.2).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    Id(Box<[u8]>),
    Hw(Box<[u8]>),
}

impl ClientKey {
    pub fn bytes(&self) -> &[u8] {
        match self {
            ClientKey::Id(b) | ClientKey::Hw(b) => b,
        }
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `id:0100aabbccddee` or `hw:00aabbccddee`: the text form used in records and displays.
impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tag, b) = match self {
            ClientKey::Id(b) => ("id", b),
            ClientKey::Hw(b) => ("hw", b),
        };
        write!(f, "{tag}:{}", hex(b))
    }
}

impl Serialize for ClientKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClientKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad =
            || serde::de::Error::custom(format!("bad client key {s:?}: want id:HEX or hw:HEX"));
        let (tag, h) = s.split_once(':').ok_or_else(bad)?;
        let b = unhex(h).ok_or_else(bad)?.into_boxed_slice();
        match tag {
            "id" => Ok(ClientKey::Id(b)),
            "hw" => Ok(ClientKey::Hw(b)),
            _ => Err(bad()),
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where a binding is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseState {
    /// Sent in an OFFER, held briefly for the client's REQUEST (never journaled).
    Offered,
    /// ACKed: the client holds it until `expires`.
    Committed,
    /// The client released it; history only.
    Released,
    /// It expired; history only.
    Expired,
    /// In the conflict list (DECLINE, or found in use): not allocated until `expires`, the end
    /// of its probation (`dhcp server conflict auto-recycle interval`), or an operator reset.
    Declined,
    /// A tombstone: the binding was removed (`reset dhcp server ...`, or revoked by hot backup)
    /// at `updated`. Kept, not dropped, so that the removal is a versioned record that wins the
    /// hot-backup merge over the peer's older copy of the binding.
    Removed,
}

impl LeaseState {
    /// Whether the address is in use (not available to the allocator).
    pub fn holds_address(self) -> bool {
        matches!(
            self,
            LeaseState::Offered | LeaseState::Committed | LeaseState::Declined
        )
    }

    /// The state's byte in the lease journal and on the hot-backup wire (both formats share it).
    pub fn code(self) -> u8 {
        match self {
            LeaseState::Offered => 0,
            LeaseState::Committed => 1,
            LeaseState::Released => 2,
            LeaseState::Expired => 3,
            LeaseState::Declined => 4,
            LeaseState::Removed => 5,
        }
    }

    /// The state a [`LeaseState::code`] byte names.
    pub fn from_code(code: u8) -> Option<LeaseState> {
        Some(match code {
            0 => LeaseState::Offered,
            1 => LeaseState::Committed,
            2 => LeaseState::Released,
            3 => LeaseState::Expired,
            4 => LeaseState::Declined,
            5 => LeaseState::Removed,
            _ => return None,
        })
    }
}

/// The flag bits of an encoded [`LeaseRecord`] (journal and hot-backup wire alike): which
/// optional parts follow and how to read the client key.
pub mod record_flags {
    pub const STATIC: u8 = 1;
    /// The client key is a client identifier (option 61), not a hardware address.
    pub const CLIENT_ID: u8 = 2;
    pub const RELAY: u8 = 4;
    pub const HOSTNAME: u8 = 8;
    pub const ALL: u8 = STATIC | CLIENT_ID | RELAY | HOSTNAME;
}

/// One binding: what the journal stores and hot backup replicates. Full state, not a delta, so
/// applying a record twice is harmless and "the newer `updated` wins" merges two tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub ip: Ipv4Addr,
    pub state: LeaseState,
    pub client: ClientKey,
    /// The client's hardware address (chaddr up to hlen), for displays and raw unicast.
    #[serde(with = "hex_box")]
    pub chaddr: Box<[u8]>,
    /// When the binding ends ([`NEVER`] for unlimited); for conflicts, the end of the
    /// probation, when the address returns to the pool (`updated` is the detect time).
    pub expires: Millis,
    /// When this record last changed.
    pub updated: Millis,
    /// Option 82 data (sub-options) the request arrived with.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_bytes"
    )]
    pub relay_info: Option<Box<[u8]>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_bytes"
    )]
    pub hostname: Option<Box<[u8]>>,
    /// From a static binding (Comware `Static(C)`), not from the allocator.
    #[serde(default)]
    pub is_static: bool,
}

impl LeaseRecord {
    /// The [`record_flags`] byte of this record.
    pub fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.is_static {
            flags |= record_flags::STATIC;
        }
        if matches!(self.client, ClientKey::Id(_)) {
            flags |= record_flags::CLIENT_ID;
        }
        if self.relay_info.is_some() {
            flags |= record_flags::RELAY;
        }
        if self.hostname.is_some() {
            flags |= record_flags::HOSTNAME;
        }
        flags
    }
}

/// Serde for bytes as a hex string (`Box<[u8]>`).
pub(crate) mod hex_box {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<[u8]>, D::Error> {
        let s = String::deserialize(d)?;
        super::unhex(&s)
            .map(Vec::into_boxed_slice)
            .ok_or_else(|| serde::de::Error::custom("bad hex"))
    }
}

/// Serde for bytes as a hex string (`Vec<u8>`).
pub(crate) mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::unhex(&s).ok_or_else(|| serde::de::Error::custom("bad hex"))
    }
}

mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &Option<Box<[u8]>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_str(&super::hex(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<[u8]>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| {
            super::unhex(&s)
                .map(Vec::into_boxed_slice)
                .ok_or_else(|| serde::de::Error::custom("bad hex"))
        })
        .transpose()
    }
}

/// Hashes the address index's keys (an address as its `u32`). The low 32 bits, which pick the
/// bucket, are the address shifted by an offset drawn from its /16: the addresses of a pool
/// (one contiguous range) fill neighbouring buckets, so a batch backup or a journal replay
/// walking a pool in order touches memory in order instead of missing the cache on every
/// record, while pools in different /16s (10.1.0.0/24, 10.2.0.0/24, ...) do not pile onto the
/// same buckets. The high bits, the table's tag, are a multiplicative mix of the address. Only
/// pool addresses are stored, which nobody outside chooses the way client keys are chosen, so
/// this needs no random seed; the client index keeps one.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddressHasher(u32);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        let ip = self.0;
        let bucket = ip.wrapping_add((ip >> 16).wrapping_mul(0x9E37_79B9));
        let tag = u64::from(ip).wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xFFFF_FFFF_0000_0000;
        tag | u64::from(bucket)
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = n;
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u32` keys are hashed here; other input still hashes consistently.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u32::from(b);
        }
    }
}

impl BuildHasher for AddressHasher {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

/// Hashes the client index's keys, which are already seeded 64-bit hashes of client keys:
/// they pass through instead of being hashed a second time.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; other input still hashes consistently.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

impl BuildHasher for PrehashedHasher {
    type Hasher = PrehashedHasher;
    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

/// The lease table.
///
/// Memory matters at a million leases: records live in one `Vec` (no per-entry slack of a map
/// of large values), the address index maps to a slot, and the client index is keyed by a
/// 64-bit hash of the client key (16 bytes per entry instead of a second copy of the key). Two
/// keys with the same hash are exact anyway: the second goes to a small `collisions` map.
#[derive(Debug, Default)]
pub struct LeaseTable<S = RandomState> {
    slots: Vec<LeaseRecord>,
    /// Address (as `u32`) -> slot.
    by_ip: HashMap<u32, u32, AddressHasher>,
    /// Hash of the client key -> the address of the client's latest binding (active or
    /// history); conflicts and tombstones are not indexed.
    by_client: HashMap<u64, Ipv4Addr, PrehashedHasher>,
    /// Clients whose key hash is already taken in `by_client` by another client.
    collisions: HashMap<ClientKey, Ipv4Addr>,
    hasher: S,
    /// Active bindings (offered, committed) that expire, by time.
    /// The address as `u32`: the set is ordered by plain integer comparisons.
    expiry: BTreeSet<(Millis, u32)>,
    /// Conflicts (declined addresses) by the end of their probation. Apart from `expiry`:
    /// only the serving device ends a probation (the server asks for these separately).
    probation: BTreeSet<(Millis, u32)>,
}

impl LeaseTable {
    pub fn new() -> LeaseTable {
        LeaseTable::default()
    }
}

impl<S: BuildHasher> LeaseTable<S> {
    /// A table hashing client keys with `hasher` (tests use a constant one to force collisions).
    pub fn with_hasher(hasher: S) -> LeaseTable<S> {
        LeaseTable {
            slots: Vec::new(),
            by_ip: HashMap::default(),
            by_client: HashMap::default(),
            collisions: HashMap::new(),
            hasher,
            expiry: BTreeSet::new(),
            probation: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Room for `additional` more records without rehashing the indexes as they grow (a batch
    /// backup says how many bindings are coming).
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.by_ip.reserve(additional);
        self.by_client.reserve(additional);
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, ip: Ipv4Addr) -> Option<&LeaseRecord> {
        self.by_ip
            .get(&u32::from(ip))
            .map(|&i| &self.slots[i as usize])
    }

    /// The client's latest binding.
    pub fn by_client(&self, key: &ClientKey) -> Option<&LeaseRecord> {
        let h = self.hasher.hash_one(key);
        if let Some(r) = self.by_client.get(&h).and_then(|&ip| self.get(ip))
            && r.client == *key
        {
            return Some(r);
        }
        self.collisions.get(key).and_then(|&ip| self.get(ip))
    }

    pub fn iter(&self) -> impl Iterator<Item = &LeaseRecord> {
        self.slots.iter()
    }

    /// Insert or replace the record for `rec.ip`.
    pub fn upsert(&mut self, rec: LeaseRecord) {
        self.remove(rec.ip);
        // A conflict or a tombstone belongs to no client.
        if !matches!(rec.state, LeaseState::Declined | LeaseState::Removed) {
            self.index_client(&rec.client, rec.ip);
        }
        if matches!(rec.state, LeaseState::Offered | LeaseState::Committed) && rec.expires != NEVER
        {
            self.expiry.insert((rec.expires, rec.ip.into()));
        }
        if rec.state == LeaseState::Declined && rec.expires != NEVER {
            self.probation.insert((rec.expires, rec.ip.into()));
        }
        self.by_ip.insert(rec.ip.into(), self.slots.len() as u32);
        self.slots.push(rec);
    }

    fn index_client(&mut self, key: &ClientKey, ip: Ipv4Addr) {
        let h = self.hasher.hash_one(key);
        let holder = self
            .by_client
            .get(&h)
            .and_then(|&old| self.get(old))
            .map(|r| &r.client);
        if holder.is_none_or(|k| k == key) {
            self.by_client.insert(h, ip);
            // Hashing the key for an empty map costs as much as the lookup above.
            if !self.collisions.is_empty() {
                self.collisions.remove(key);
            }
        } else {
            self.collisions.insert(key.clone(), ip);
        }
    }

    pub fn remove(&mut self, ip: Ipv4Addr) -> Option<LeaseRecord> {
        let i = self.by_ip.remove(&u32::from(ip))? as usize;
        let old = self.slots.swap_remove(i);
        if let Some(moved) = self.slots.get(i) {
            self.by_ip.insert(moved.ip.into(), i as u32);
        }
        self.expiry.remove(&(old.expires, ip.into()));
        self.probation.remove(&(old.expires, ip.into()));
        let h = self.hasher.hash_one(&old.client);
        if self.by_client.get(&h) == Some(&ip) {
            self.by_client.remove(&h);
            // A colliding client moves up into the freed hash entry.
            let promote = self
                .collisions
                .keys()
                .find(|k| self.hasher.hash_one(*k) == h)
                .cloned();
            if let Some(k) = promote {
                let ip = self.collisions.remove(&k).expect("key just found");
                self.by_client.insert(h, ip);
            }
        } else if !self.collisions.is_empty() && self.collisions.get(&old.client) == Some(&ip) {
            self.collisions.remove(&old.client);
        }
        Some(old)
    }

    /// The earliest expiry of an active binding.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.expiry.first().map(|&(t, _)| t)
    }

    /// The addresses whose active binding expires at or before `now`, earliest first.
    pub fn due(&self, now: Millis) -> Vec<Ipv4Addr> {
        self.expiry
            .range(..=(now, u32::MAX))
            .map(|&(_, ip)| Ipv4Addr::from(ip))
            .collect()
    }

    /// The earliest end of a conflict's probation.
    pub fn next_probation_end(&self) -> Option<Millis> {
        self.probation.first().map(|&(t, _)| t)
    }

    /// The conflicts whose probation ends at or before `now`, earliest first.
    pub fn probation_over(&self, now: Millis) -> Vec<Ipv4Addr> {
        self.probation
            .range(..=(now, u32::MAX))
            .map(|&(_, ip)| Ipv4Addr::from(ip))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u8, client: u8, state: LeaseState, expires: Millis) -> LeaseRecord {
        LeaseRecord {
            ip: Ipv4Addr::new(10, 0, 0, n),
            state,
            client: ClientKey::Hw(vec![0, 0, 0, 0, 0, client].into()),
            chaddr: vec![0, 0, 0, 0, 0, client].into(),
            expires,
            updated: 0,
            relay_info: None,
            hostname: None,
            is_static: false,
        }
    }

    #[test]
    fn indexes_follow_upserts_and_removals() {
        let mut t = LeaseTable::new();
        t.upsert(rec(1, 1, LeaseState::Committed, 100));
        t.upsert(rec(2, 2, LeaseState::Offered, 50));
        assert_eq!(t.next_expiry(), Some(50));
        assert_eq!(t.due(60), vec![Ipv4Addr::new(10, 0, 0, 2)]);
        // Replacing the record of .2 by another client's moves the index entry.
        t.upsert(rec(2, 3, LeaseState::Released, 50));
        assert_eq!(t.next_expiry(), Some(100));
        assert!(
            t.by_client(&rec(0, 2, LeaseState::Offered, 0).client)
                .is_none()
        );
        assert_eq!(
            t.by_client(&rec(0, 3, LeaseState::Offered, 0).client)
                .unwrap()
                .ip,
            Ipv4Addr::new(10, 0, 0, 2)
        );
        // Conflicts are not a client's binding.
        t.upsert(rec(1, 1, LeaseState::Declined, 100));
        assert!(
            t.by_client(&rec(0, 1, LeaseState::Offered, 0).client)
                .is_none()
        );
        assert_eq!(t.next_expiry(), None);
        assert_eq!(t.len(), 2);
        t.remove(Ipv4Addr::new(10, 0, 0, 2));
        assert!(
            t.by_client(&rec(0, 3, LeaseState::Offered, 0).client)
                .is_none()
        );
    }

    fn address_hash(ip: Ipv4Addr) -> u64 {
        AddressHasher::default().hash_one(u32::from(ip))
    }

    #[test]
    fn address_hashes_keep_a_pool_together_and_pools_apart() {
        // Neighbours in a pool are neighbours in the table.
        let base = Ipv4Addr::new(10, 7, 3, 0);
        for i in 0..255u32 {
            let (a, b) = (u32::from(base) + i, u32::from(base) + i + 1);
            assert_eq!(
                address_hash(b.into()) as u32,
                (address_hash(a.into()) as u32).wrapping_add(1)
            );
        }
        // One /24 in each of 256 /16s (10.K.0.0/24): 65,280 addresses in a table of 2^17
        // buckets. The address alone would put them on 512 buckets.
        let mut buckets = std::collections::HashSet::new();
        for k in 0..=255u8 {
            for h in 1..=255u8 {
                buckets.insert(address_hash(Ipv4Addr::new(10, k, 0, h)) & 0x1_FFFF);
            }
        }
        assert!(buckets.len() > 60_000, "{} buckets", buckets.len());
    }

    /// Every key hashes alike, so every client after the first goes through `collisions`.
    #[derive(Default)]
    struct Constant;
    struct ConstantHasher;
    impl std::hash::Hasher for ConstantHasher {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }
    impl BuildHasher for Constant {
        type Hasher = ConstantHasher;
        fn build_hasher(&self) -> ConstantHasher {
            ConstantHasher
        }
    }

    #[test]
    fn client_index_is_exact_when_hashes_collide() {
        let mut t = LeaseTable::with_hasher(Constant);
        for n in 1..=4 {
            t.upsert(rec(n, n, LeaseState::Committed, 100));
        }
        let key = |c| rec(0, c, LeaseState::Offered, 0).client;
        for n in 1..=4u8 {
            assert_eq!(t.by_client(&key(n)).unwrap().ip, Ipv4Addr::new(10, 0, 0, n));
        }
        // Removing the holder of the hash entry promotes a colliding client.
        t.remove(Ipv4Addr::new(10, 0, 0, 1));
        assert!(t.by_client(&key(1)).is_none());
        for n in 2..=4u8 {
            assert_eq!(t.by_client(&key(n)).unwrap().ip, Ipv4Addr::new(10, 0, 0, n));
        }
        // A client moving to another address keeps one index entry.
        t.upsert(rec(9, 3, LeaseState::Committed, 100));
        assert_eq!(t.by_client(&key(3)).unwrap().ip, Ipv4Addr::new(10, 0, 0, 9));
        t.remove(Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(t.by_client(&key(3)).unwrap().ip, Ipv4Addr::new(10, 0, 0, 9));
        t.remove(Ipv4Addr::new(10, 0, 0, 9));
        assert!(t.by_client(&key(3)).is_none());
        assert_eq!(t.by_client(&key(4)).unwrap().ip, Ipv4Addr::new(10, 0, 0, 4));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn records_serialize_readably_and_back() {
        let mut r = rec(7, 9, LeaseState::Committed, NEVER);
        r.relay_info = Some(vec![1, 2, 0xab, 0xcd].into());
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.contains(r#""client":"hw:000000000009""#), "{j}");
        assert!(j.contains(r#""relay_info":"0102abcd""#), "{j}");
        assert_eq!(serde_json::from_str::<LeaseRecord>(&j).unwrap(), r);
        assert!(serde_json::from_str::<ClientKey>(r#""xx:00""#).is_err());
        assert!(serde_json::from_str::<ClientKey>(r#""id:0""#).is_err());
    }
}
