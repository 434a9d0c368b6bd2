//! Every step of a flush and of a compaction failed in turn, with each error a full disk gives
//! (issue 10, item 1): no record whose flush succeeded is lost after a restart, and the store
//! writes again once the disk has room.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use super::faults::{Fault, Step, StoreFaults, StoreFile};
use super::tests::rec;
use super::*;

const FAULTS: [Fault; 3] = [Fault::NoSpace, Fault::Quota, Fault::Io];

/// A store driven the way the DHCP driver drives it, with the table it holds.
struct Driven {
    store: LeaseStore,
    table: BTreeMap<Ipv4Addr, LeaseRecord>,
    /// Every record whose flush reported success: what a client may hold an ACK for.
    acked: BTreeMap<Ipv4Addr, LeaseRecord>,
}

impl Driven {
    fn open(dir: &Path) -> Driven {
        let (store, r) = LeaseStore::open(dir).unwrap();
        let table: BTreeMap<_, _> = r.leases.into_iter().map(|l| (l.ip, l)).collect();
        Driven {
            store,
            acked: table.clone(),
            table,
        }
    }

    /// Grant lease `n` and flush; as the driver does, a poisoned store is compacted.
    fn grant(&mut self, n: u32) -> bool {
        let r = rec(n, LeaseState::Committed);
        self.table.insert(r.ip, r.clone());
        self.store.append(&LeaseChange::Upsert(r));
        let done = self.store.flush().is_ok();
        if done {
            // Everything the table holds that was appended is durable now.
            self.acked = self.table.clone();
        } else if self.store.is_poisoned() {
            let _ = self.store.compact(self.table.values());
        }
        done
    }

    fn compact(&mut self) -> Result<(), StoreError> {
        self.store.compact(self.table.values())
    }

    /// Reopen and check that every acknowledged record came back.
    fn restart_and_check(self, dir: &Path, what: &str) {
        drop(self.store);
        let (_, r) = LeaseStore::open(dir).unwrap();
        let back: BTreeMap<_, _> = r.leases.into_iter().map(|l| (l.ip, l)).collect();
        for (ip, l) in &self.acked {
            assert_eq!(
                back.get(ip),
                Some(l),
                "{what}: acknowledged lease {ip} lost"
            );
        }
    }
}

/// How many steps a clean compaction takes (with a journal already open).
fn compaction_steps() -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(dir.path());
    let mut d = Driven::open(dir.path());
    assert!(d.grant(1));
    let before = faults.steps();
    d.compact().unwrap();
    faults.steps() - before
}

#[test]
fn a_compaction_failed_at_any_step_loses_no_flushed_record() {
    let steps = compaction_steps();
    assert!(
        steps >= 10,
        "snapshot and journal: create, write, sync, rename, dir sync"
    );
    for at in 0..steps {
        for fault in FAULTS {
            let dir = tempfile::tempdir().unwrap();
            let faults = StoreFaults::attach(dir.path());
            let mut d = Driven::open(dir.path());
            (1..=5).for_each(|n| assert!(d.grant(n)));
            faults.fail_nth(faults.steps() + at, fault);
            let failed = d.compact().is_err();
            let step = faults.failed().1;
            assert!(
                failed,
                "step {at} ({step:?}) failed, compaction must say so"
            );
            // Leases granted after the failure: acknowledged only if the store says durable.
            (6..=8).for_each(|n| {
                d.grant(n);
            });
            // The disk has room again: the store writes without being reopened.
            assert!(d.grant(9) || d.grant(10), "step {at} ({step:?}): stuck");
            d.restart_and_check(dir.path(), &format!("compaction step {step:?}, {fault:?}"));
        }
    }
}

#[test]
fn a_flush_failed_at_any_step_loses_no_flushed_record() {
    for at in 0..2 {
        for fault in FAULTS {
            let dir = tempfile::tempdir().unwrap();
            let faults = StoreFaults::attach(dir.path());
            let mut d = Driven::open(dir.path());
            (1..=3).for_each(|n| assert!(d.grant(n)));
            faults.fail_nth(faults.steps() + at, fault);
            assert!(!d.grant(4), "flush step {at} failed");
            assert!(d.grant(5) || d.grant(6), "flush step {at}: stuck");
            d.restart_and_check(dir.path(), &format!("flush step {at}, {fault:?}"));
        }
    }
}

/// The snapshot of the next generation is in place but the disk has no inode for the new
/// journal: no flush may succeed (the old journal is dead) until it has.
#[test]
fn no_inode_for_the_new_journal_withholds_acknowledgements_until_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(dir.path());
    let mut d = Driven::open(dir.path());
    (1..=3).for_each(|n| assert!(d.grant(n)));
    faults.fail(Step::Create(StoreFile::Journal), Fault::NoSpace);
    assert!(d.compact().is_err());
    assert!(!d.grant(4), "no journal recovery reads: no acknowledgement");
    // A restart on the same full disk still opens, serving what was recovered.
    drop(d);
    let mut d = Driven::open(dir.path());
    assert_eq!(d.table.len(), 3);
    assert!(!d.grant(5));
    faults.clear();
    assert!(d.grant(6));
    d.restart_and_check(dir.path(), "inodes back");
}

#[test]
fn a_failed_fsync_poisons_the_store_until_a_snapshot_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(dir.path());
    let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
    faults.fail_once(Step::Sync(StoreFile::Journal), Fault::Io);
    s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
    assert!(matches!(s.flush(), Err(StoreError::Io { .. })));
    s.append(&LeaseChange::Upsert(rec(2, LeaseState::Committed)));
    assert!(matches!(s.flush(), Err(StoreError::Poisoned { .. })));
    s.compact(&[rec(1, LeaseState::Committed), rec(2, LeaseState::Committed)])
        .unwrap();
    s.append(&LeaseChange::Upsert(rec(3, LeaseState::Committed)));
    assert_eq!(s.flush().unwrap(), 1);
    drop(s);
    let (_, r) = LeaseStore::open(dir.path()).unwrap();
    assert_eq!(r.leases.len(), 3);
}

#[test]
fn a_failed_write_is_cut_back_and_retried_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let faults = StoreFaults::attach(dir.path());
    let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
    s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
    s.flush().unwrap();
    let good = fs::metadata(dir.path().join(JOURNAL_FILE)).unwrap().len();
    faults.fail_once(Step::Write(StoreFile::Journal), Fault::NoSpace);
    s.append(&LeaseChange::Upsert(rec(2, LeaseState::Committed)));
    assert!(matches!(s.flush(), Err(StoreError::Io { .. })));
    assert_eq!(s.pending(), 1, "the batch is kept for a retry");
    let len = fs::metadata(dir.path().join(JOURNAL_FILE)).unwrap().len();
    assert_eq!(len, good, "the half-written batch was cut off");
    assert_eq!(s.flush().unwrap(), 1);
    drop(s);
    let (_, r) = LeaseStore::open(dir.path()).unwrap();
    assert_eq!((r.leases.len(), r.torn), (2, None));
}
