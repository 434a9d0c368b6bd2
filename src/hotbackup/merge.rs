//! The deterministic reconciliation rule. Every entry a device receives (batch page, resent or
//! real-time update) is merged with its own version of the same key: the newer version by the
//! service's total order ([`Service::version_cmp`]) wins; a local entry that is not replicated
//! (a DHCP offer) gives way to a claim (a binding) but not to history; and two versions that give one key to two owners are a
//! [`Conflict`], resolved by the same order and reported. The rule is a per-key maximum, so
//! merging is commutative, associative and idempotent: after both devices have sent each other
//! their tables, in any order and any number of times, they hold the same table.

use std::collections::BTreeMap;

use super::service::{Change, Replica, Service};

/// Two versions of one key that claimed it for different owners.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict<S: Service> {
    pub key: S::Key,
    /// The newer version: both devices keep it.
    pub kept: S::Entry,
    /// The older version: both devices drop it.
    pub dropped: S::Entry,
}

/// What merging one incoming version did.
#[derive(Clone, Debug, PartialEq)]
pub struct Merge<S: Service> {
    /// The incoming version replaced the local one (or there was none).
    pub taken: bool,
    pub conflict: Option<Conflict<S>>,
}

/// Decide between the local version of a key and an incoming one.
pub fn merge_one<S: Service>(local: Option<&S::Entry>, incoming: &S::Entry) -> Merge<S> {
    let none = Merge {
        taken: false,
        conflict: None,
    };
    if !S::replicated(incoming) {
        return none;
    }
    let Some(local) = local else {
        return Merge {
            taken: true,
            conflict: None,
        };
    };
    if !S::replicated(local) {
        return Merge {
            taken: S::claims(incoming),
            conflict: None,
        };
    }
    let taken = S::version_cmp(incoming, local).is_gt();
    let conflict = S::conflicts(local, incoming).then(|| {
        let (kept, dropped) = if taken {
            (incoming.clone(), local.clone())
        } else {
            (local.clone(), incoming.clone())
        };
        Conflict {
            key: S::key(incoming),
            kept,
            dropped,
        }
    });
    Merge { taken, conflict }
}

/// Merge an incoming version into the replica, applying it if it wins.
pub fn merge_into<S: Service, R: Replica<S>>(replica: &mut R, incoming: S::Entry) -> Merge<S> {
    let m = merge_one::<S>(replica.get(&S::key(&incoming)), &incoming);
    if m.taken {
        replica.apply(Change::Upsert(incoming));
    }
    m
}

/// A whole table of one service, by key.
pub type Table<S> = BTreeMap<<S as Service>::Key, <S as Service>::Entry>;

/// The table both devices end with after exchanging `a` and `b`, and the conflicts found.
/// (The session merges entry by entry with [`merge_into`]; this is the same rule over whole
/// tables, for tests and documentation.)
pub fn merge_tables<S: Service>(a: &Table<S>, b: &Table<S>) -> (Table<S>, Vec<Conflict<S>>) {
    let mut out: Table<S> = a
        .iter()
        .filter(|(_, e)| S::replicated(e))
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();
    let mut conflicts = Vec::new();
    for (k, e) in b {
        let m = merge_one::<S>(out.get(k), e);
        if m.taken {
            out.insert(k.clone(), e.clone());
        }
        conflicts.extend(m.conflict);
    }
    (out, conflicts)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::dhcp::{LeaseRecord, LeaseState};
    use crate::hotbackup::dhcp::DhcpBindings;
    use crate::hotbackup::dhcp::tests::arb_record;
    use proptest::prelude::*;

    type Table = super::Table<DhcpBindings>;

    fn table() -> impl Strategy<Value = Table> {
        proptest::collection::vec(arb_record(), 0..12)
            .prop_map(|v| v.into_iter().map(|r| (r.ip, r)).collect())
    }

    /// A device's table as a replica, to merge entry by entry as the session does.
    struct Mem(Table);
    impl Replica<DhcpBindings> for Mem {
        fn get(&self, k: &Ipv4Addr) -> Option<&LeaseRecord> {
            self.0.get(k)
        }
        fn keys(&self) -> Vec<Ipv4Addr> {
            self.0.keys().copied().collect()
        }
        fn admit(
            &self,
            _: &LeaseRecord,
            _: crate::dhcp::Millis,
        ) -> Result<(), crate::hotbackup::service::EntryError> {
            Ok(())
        }
        fn apply(&mut self, c: Change<DhcpBindings>) {
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

    fn conflict_keys(c: &[Conflict<DhcpBindings>]) -> Vec<(Ipv4Addr, LeaseRecord, LeaseRecord)> {
        let mut v: Vec<_> = c
            .iter()
            .map(|c| (c.key, c.kept.clone(), c.dropped.clone()))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    proptest! {
        #[test]
        fn both_sides_reach_the_same_table(a in table(), b in table()) {
            let (ab, cab) = merge_tables::<DhcpBindings>(&a, &b);
            let (ba, cba) = merge_tables::<DhcpBindings>(&b, &a);
            prop_assert_eq!(&ab, &ba);
            // The same conflicts, resolved the same way, are reported on both sides.
            prop_assert_eq!(conflict_keys(&cab), conflict_keys(&cba));
            // Every kept version is one of the inputs and no newer input was dropped.
            for (k, e) in &ab {
                prop_assert!(a.get(k) == Some(e) || b.get(k) == Some(e));
                for other in [a.get(k), b.get(k)].into_iter().flatten() {
                    prop_assert!(DhcpBindings::version_cmp(e, other).is_ge());
                }
            }
            // A conflict never survives: the kept version is the only binding of the address.
            for c in &cab {
                prop_assert_eq!(ab.get(&c.key), Some(&c.kept));
                prop_assert!(DhcpBindings::version_cmp(&c.kept, &c.dropped).is_gt());
            }
            // Idempotent: merging the result again changes nothing.
            prop_assert_eq!(merge_tables::<DhcpBindings>(&ab, &a).0, ab.clone());
            prop_assert_eq!(merge_tables::<DhcpBindings>(&ab, &b).0, ab);
        }

        #[test]
        fn entry_by_entry_exchange_in_any_order_agrees(
            a in table(), b in table(), rev in any::<bool>(),
        ) {
            let (expect, _) = merge_tables::<DhcpBindings>(&a, &b);
            let (mut ra, mut rb) = (Mem(a.clone()), Mem(b.clone()));
            let mut from_b: Vec<_> = b.values().cloned().collect();
            let mut from_a: Vec<_> = a.values().cloned().collect();
            if rev {
                from_b.reverse();
                from_a.reverse();
            }
            for e in from_b {
                merge_into(&mut ra, e);
            }
            for e in from_a {
                merge_into(&mut rb, e);
            }
            prop_assert_eq!(&ra.0, &expect);
            prop_assert_eq!(&rb.0, &expect);
        }

        #[test]
        fn a_removal_newer_than_every_copy_wins_on_both_sides(
            a in table(), b in table(), k in 0u8..8, on_a in any::<bool>(),
        ) {
            // One side removed the address (a tombstone) after every version either side has.
            let ip = Ipv4Addr::new(10, 0, 0, k);
            let newest = a.values().chain(b.values()).map(|r| r.updated).max().unwrap_or(0);
            let tombstone = LeaseRecord {
                ip,
                ..rec(1, LeaseState::Removed, newest + 1)
            };
            let (mut a, mut b) = (a, b);
            if on_a {
                a.insert(ip, tombstone.clone());
            } else {
                b.insert(ip, tombstone.clone());
            }
            let (ab, cab) = merge_tables::<DhcpBindings>(&a, &b);
            let (ba, _) = merge_tables::<DhcpBindings>(&b, &a);
            prop_assert_eq!(ab.get(&ip), Some(&tombstone));
            prop_assert_eq!(ba.get(&ip), Some(&tombstone));
            // A removal never claims the address, so it is never half of a conflict.
            prop_assert!(cab.iter().all(|c| c.key != ip));
        }

        #[test]
        fn associative(a in table(), b in table(), c in table()) {
            let left = merge_tables::<DhcpBindings>(&merge_tables::<DhcpBindings>(&a, &b).0, &c).0;
            let right = merge_tables::<DhcpBindings>(&a, &merge_tables::<DhcpBindings>(&b, &c).0).0;
            prop_assert_eq!(left, right);
        }
    }

    fn rec(client: u8, state: LeaseState, updated: u64) -> LeaseRecord {
        LeaseRecord {
            ip: Ipv4Addr::new(10, 0, 0, 9),
            state,
            client: crate::dhcp::ClientKey::Hw(vec![0, 0, 0, 0, 0, client].into()),
            chaddr: vec![0, 0, 0, 0, 0, client].into(),
            expires: updated + 1000,
            updated,
            relay_info: None,
            hostname: None,
            is_static: false,
        }
    }

    #[test]
    fn same_address_two_clients_keeps_the_newer_and_reports_it() {
        let old = rec(1, LeaseState::Committed, 100);
        let new = rec(2, LeaseState::Committed, 200);
        let m = merge_one::<DhcpBindings>(Some(&old), &new);
        assert!(m.taken);
        let c = m.conflict.unwrap();
        assert_eq!((c.kept, c.dropped), (new.clone(), old.clone()));
        let m = merge_one::<DhcpBindings>(Some(&new), &old);
        assert!(!m.taken);
        assert_eq!(m.conflict.unwrap().kept, new);
    }

    #[test]
    fn a_local_offer_gives_way_to_a_binding_only_and_an_offer_is_never_taken() {
        let offer = rec(1, LeaseState::Offered, 500);
        let bound = rec(2, LeaseState::Committed, 100);
        assert!(merge_one::<DhcpBindings>(Some(&offer), &bound).taken);
        let history = rec(2, LeaseState::Released, 100);
        assert!(!merge_one::<DhcpBindings>(Some(&offer), &history).taken);
        assert!(!merge_one::<DhcpBindings>(None, &offer).taken);
    }

    #[test]
    fn a_removal_is_versioned_like_any_record() {
        let bound = rec(1, LeaseState::Committed, 100);
        let removed = rec(1, LeaseState::Removed, 150);
        // Newer than the binding: it wins, wherever it arrives, and the binding does not
        // come back from the peer's older copy.
        let m = merge_one::<DhcpBindings>(Some(&bound), &removed);
        assert!(m.taken && m.conflict.is_none());
        assert!(!merge_one::<DhcpBindings>(Some(&removed), &bound).taken);
        // A binding made after the removal wins over it.
        let rebound = rec(2, LeaseState::Committed, 200);
        let m = merge_one::<DhcpBindings>(Some(&removed), &rebound);
        assert!(m.taken && m.conflict.is_none());
        // History, not a claim: it does not wipe out an offer under way here.
        let offer = rec(3, LeaseState::Offered, 120);
        assert!(!merge_one::<DhcpBindings>(Some(&offer), &removed).taken);
    }

    #[test]
    fn a_release_after_the_binding_wins_without_a_conflict() {
        let bound = rec(1, LeaseState::Committed, 100);
        let released = rec(1, LeaseState::Released, 150);
        let m = merge_one::<DhcpBindings>(Some(&bound), &released);
        assert!(m.taken && m.conflict.is_none());
    }
}
