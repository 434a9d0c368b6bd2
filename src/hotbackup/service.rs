//! The service boundary: what the hot-backup engine needs from a replicated service (encode
//! and decode an entry and its key, the order between two versions of one entry, which
//! versions conflict) and from the table that holds its entries (read, list, apply). DHCP
//! bindings (`super::dhcp`) are the first service; another (portal users) implements the same
//! two traits.

use std::cmp::Ordering;
use std::fmt::Debug;

use thiserror::Error;

use crate::dhcp::Millis;

/// An entry or key the service could not decode.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("bad {service} entry: {reason}")]
pub struct EntryError {
    pub service: &'static str,
    pub reason: &'static str,
}

/// A replicated service: the entry type and the rules the engine applies to it.
pub trait Service: Copy + Debug + PartialEq + 'static {
    /// The service's code on the wire (frames carry it, so services can share a channel).
    const ID: u8;
    /// Its name in displays and logs.
    const NAME: &'static str;
    type Key: Clone + Ord + Debug;
    type Entry: Clone + Debug + PartialEq;

    fn key(entry: &Self::Entry) -> Self::Key;
    fn encode_entry(entry: &Self::Entry, out: &mut Vec<u8>);
    fn decode_entry(bytes: &[u8]) -> Result<Self::Entry, EntryError>;
    fn encode_key(key: &Self::Key, out: &mut Vec<u8>);
    fn decode_key(bytes: &[u8]) -> Result<Self::Key, EntryError>;
    /// Whether an entry is replicated at all (a DHCP offer is not: it lives for seconds and
    /// is never journaled). A local entry that is not replicated never wins a merge.
    fn replicated(entry: &Self::Entry) -> bool;
    /// Whether an entry claims its key (a DHCP binding or conflict, not history). Over a
    /// local entry that is not replicated, only a claim is taken: history received from the
    /// peer must not wipe out an offer that is under way here.
    fn claims(entry: &Self::Entry) -> bool;
    /// A total order over the versions of one key: `Greater` means `a` is newer. It must be
    /// the same function on both devices and consistent (antisymmetric, transitive), so that
    /// merging is commutative and both sides keep the same version.
    fn version_cmp(a: &Self::Entry, b: &Self::Entry) -> Ordering;
    /// Whether two versions of one key claim it for different owners (an address bound to
    /// two clients): the merge still keeps the newer, and reports the pair.
    fn conflicts(a: &Self::Entry, b: &Self::Entry) -> bool;
}

/// A change to one entry, as the engine carries it.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<S: Service> {
    Upsert(S::Entry),
    Remove(S::Key),
}

impl<S: Service> Change<S> {
    pub fn key(&self) -> S::Key {
        match self {
            Change::Upsert(e) => S::key(e),
            Change::Remove(k) => k.clone(),
        }
    }
}

/// The table that holds a service's entries on this device.
pub trait Replica<S: Service> {
    fn get(&self, key: &S::Key) -> Option<&S::Entry>;
    /// The keys of every replicated entry (a batch backup pages through them).
    fn keys(&self) -> Vec<S::Key>;
    /// Whether an entry the peer sent may enter this table at all, before any merge: its key
    /// is one this table holds (for DHCP, an address in a configured pool) and no time in it
    /// is later than `latest` (the local clock plus the clock-skew bound), apart from what the
    /// service defines as open-ended (an unlimited lease). An entry from the future would win
    /// every merge of its key and spread to both tables for good. A refused entry is counted
    /// and dropped: never applied, so never forwarded.
    fn admit(&self, entry: &S::Entry, latest: Millis) -> Result<(), EntryError>;
    /// Apply a change that came from the peer (and that won the merge).
    fn apply(&mut self, change: Change<S>);
    /// The peer announced a batch of `additional` entries: a table that can size its indexes
    /// for them at once does so (the number comes from the peer: cap it at what the table can
    /// hold). By default, nothing to prepare.
    fn reserve(&mut self, additional: usize) {
        let _ = additional;
    }
    /// Where the table's history stands after every change applied so far: a number that
    /// grows with each change (for DHCP, the server's last lease event). The session notes it
    /// after applying what the peer sent and acknowledges that only once
    /// [`Replica::durable_mark`] has reached it. A table without a store (tests) keeps the
    /// defaults: everything applied counts as durable at once.
    fn applied_mark(&self) -> u64 {
        0
    }
    /// Every change up to this mark is durable on this device (journaled and flushed; for
    /// DHCP, what the engine last reported with `Server::set_durable`). Invariant: an ack to
    /// the peer never covers a change above it, so an ack means "durable here", exactly like a
    /// DHCPACK after fdatasync.
    fn durable_mark(&self) -> u64 {
        u64::MAX
    }
}
