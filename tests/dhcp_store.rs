//! Crash recovery of the lease store: a journal cut at every byte offset of its last record
//! recovers every earlier record, reports the torn one and keeps working; a journal cut
//! anywhere recovers exactly the complete records before the cut.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use duet::dhcp::event::LeaseChange;
use duet::dhcp::lease::{ClientKey, LeaseRecord, LeaseState};
use duet::dhcp::store::{JOURNAL_FILE, LeaseStore, TornTail};
use proptest::prelude::*;

fn rec(n: u32, state: LeaseState) -> LeaseRecord {
    LeaseRecord {
        ip: Ipv4Addr::from(0x0a01_0000 + n),
        state,
        client: ClientKey::Id(format!("client-{n}").into_bytes().into()),
        chaddr: vec![2, 0, 0, 0, (n >> 8) as u8, n as u8].into(),
        expires: 3_600_000 + u64::from(n),
        updated: u64::from(n),
        relay_info: Some(vec![1, 4, b'p', b'o', b'r', b't'].into()),
        hostname: Some(format!("host{n}").into_bytes().into()),
        is_static: false,
    }
}

/// Write `changes` through a store in `dir`; return the journal's size after each flush.
fn write(dir: &Path, changes: &[LeaseChange]) -> Vec<u64> {
    let (mut s, _) = LeaseStore::open(dir).unwrap();
    let mut ends = Vec::new();
    for c in changes {
        s.append(c);
        s.flush().unwrap();
        ends.push(fs::metadata(dir.join(JOURNAL_FILE)).unwrap().len());
    }
    ends
}

fn model(changes: &[LeaseChange]) -> Vec<LeaseRecord> {
    let mut m = std::collections::BTreeMap::new();
    for c in changes {
        match c {
            LeaseChange::Upsert(r) => {
                m.insert(r.ip, r.clone());
            }
            LeaseChange::Remove(ip) => {
                m.remove(ip);
            }
        }
    }
    m.into_values().collect()
}

#[test]
fn truncation_at_every_offset_of_the_last_record() {
    let src = tempfile::tempdir().unwrap();
    let changes: Vec<LeaseChange> = (1..=5)
        .map(|n| LeaseChange::Upsert(rec(n, LeaseState::Committed)))
        .collect();
    let ends = write(src.path(), &changes);
    let journal = fs::read(src.path().join(JOURNAL_FILE)).unwrap();
    let (last_start, last_end) = (ends[3], ends[4]);
    for cut in last_start..=last_end {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(JOURNAL_FILE), &journal[..cut as usize]).unwrap();
        let (mut store, r) = LeaseStore::open(dir.path()).unwrap();
        if cut == last_end {
            assert_eq!(r.leases, model(&changes));
            assert_eq!(r.torn, None);
            continue;
        }
        assert_eq!(r.leases, model(&changes[..4]), "cut at {cut}");
        let torn = (cut > last_start).then_some(TornTail {
            offset: last_start,
            bytes: cut - last_start,
        });
        assert_eq!(r.torn, torn, "cut at {cut}");
        // The torn bytes are gone from the file, and the store keeps appending after the good part.
        assert_eq!(
            fs::metadata(dir.path().join(JOURNAL_FILE)).unwrap().len(),
            last_start
        );
        store.append(&LeaseChange::Upsert(rec(99, LeaseState::Released)));
        store.flush().unwrap();
        drop(store);
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        let mut want = changes[..4].to_vec();
        want.push(LeaseChange::Upsert(rec(99, LeaseState::Released)));
        assert_eq!(
            (r.leases, r.torn),
            (model(&want), None),
            "cut at {cut}, after appending"
        );
    }
}

#[test]
fn a_last_record_of_garbage_or_zeros_is_torn() {
    let src = tempfile::tempdir().unwrap();
    let changes: Vec<LeaseChange> = (1..=3)
        .map(|n| LeaseChange::Upsert(rec(n, LeaseState::Committed)))
        .collect();
    let ends = write(src.path(), &changes);
    let journal = fs::read(src.path().join(JOURNAL_FILE)).unwrap();
    for fill in [0x00u8, 0xff, 0x5a] {
        let mut b = journal.clone();
        // The last record's bytes replaced (a crash after the size was updated but before the
        // data reached the disk leaves zeros; a bad sector leaves anything).
        for x in &mut b[ends[1] as usize..] {
            *x = fill;
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(JOURNAL_FILE), &b).unwrap();
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(r.leases, model(&changes[..2]), "fill {fill:#x}");
        assert_eq!(
            r.torn,
            Some(TornTail {
                offset: ends[1],
                bytes: ends[2] - ends[1]
            })
        );
    }
}

fn change() -> impl Strategy<Value = LeaseChange> {
    prop_oneof![
        3 => (0u32..20, 0u8..6).prop_map(|(n, s)| {
            let state = [LeaseState::Committed, LeaseState::Released, LeaseState::Expired, LeaseState::Declined, LeaseState::Offered, LeaseState::Removed][s as usize];
            LeaseChange::Upsert(rec(n, state))
        }),
        1 => (0u32..20).prop_map(|n| LeaseChange::Remove(Ipv4Addr::from(0x0a01_0000 + n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn a_cut_anywhere_recovers_the_complete_records_before_it(
        changes in proptest::collection::vec(change(), 1..30),
        compact_at in proptest::option::of(0usize..30),
        cut_frac in 0.0f64..=1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        let mut ends = vec![];
        let mut base = 0;
        for (i, c) in changes.iter().enumerate() {
            if compact_at == Some(i) {
                s.compact(&model(&changes[..i])).unwrap();
                ends.clear();
                base = i;
            }
            s.append(c);
            s.flush().unwrap();
            ends.push(fs::metadata(dir.path().join(JOURNAL_FILE)).unwrap().len());
        }
        drop(s);
        let path = dir.path().join(JOURNAL_FILE);
        let journal = fs::read(&path).unwrap();
        let header = 16u64;
        let cut = header + ((journal.len() as u64 - header) as f64 * cut_frac) as u64;
        fs::write(&path, &journal[..cut as usize]).unwrap();
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        prop_assert_eq!(r.leases, model(&changes[..base + complete]));
        let torn = ends.iter().any(|&e| e > cut) && cut > ends.iter().copied().filter(|&e| e <= cut).max().unwrap_or(header);
        prop_assert_eq!(r.torn.is_some(), torn);
    }
}

/// Issue 10 item 1: compaction renamed the new snapshot into place but could not create the
/// new journal (here a directory squats on its temporary name, as an exhausted inode table
/// would refuse it). Every flush that reported success must be recovered after a restart.
#[test]
fn a_compaction_that_cannot_start_its_new_journal_loses_no_acked_lease() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
    let first: Vec<LeaseChange> = (1..=5)
        .map(|n| LeaseChange::Upsert(rec(n, LeaseState::Committed)))
        .collect();
    first.iter().for_each(|c| s.append(c));
    s.flush().unwrap();
    let obstacle = dir.path().join(format!("{JOURNAL_FILE}.tmp"));
    fs::create_dir(&obstacle).unwrap();
    assert!(s.compact(&model(&first)).is_err());
    let mut acked = first.clone();
    for n in 6..=10 {
        let c = LeaseChange::Upsert(rec(n, LeaseState::Committed));
        s.append(&c);
        if s.flush().is_ok() {
            acked.push(c);
        }
    }
    // Once the file system lets it, the store writes again on its own.
    fs::remove_dir(&obstacle).unwrap();
    let c = LeaseChange::Upsert(rec(11, LeaseState::Committed));
    s.append(&c);
    s.flush().unwrap();
    acked.push(c);
    drop(s);
    let (_, r) = LeaseStore::open(dir.path()).unwrap();
    let lost: Vec<_> = model(&acked)
        .into_iter()
        .filter(|l| !r.leases.contains(l))
        .map(|l| l.ip)
        .collect();
    assert!(
        lost.is_empty(),
        "flushed but lost after a restart: {lost:?}"
    );
}

/// Issue 10 item 4: one flipped bit in a record's length field in the middle of the journal
/// is damage, not a torn tail: every valid record before and after it is recovered.
#[test]
fn a_damaged_length_in_the_middle_keeps_every_valid_record() {
    let dir = tempfile::tempdir().unwrap();
    let changes: Vec<LeaseChange> = (1..=100)
        .map(|n| LeaseChange::Upsert(rec(n, LeaseState::Committed)))
        .collect();
    let ends = write(dir.path(), &changes);
    let path = dir.path().join(JOURNAL_FILE);
    let mut b = fs::read(&path).unwrap();
    let bad = ends[48] as usize; // the 50th record's length field
    b[bad + 2] ^= 0x10;
    fs::write(&path, &b).unwrap();
    let (_, r) = LeaseStore::open(dir.path()).unwrap();
    let mut want = changes.clone();
    want.remove(49);
    assert_eq!(r.leases, model(&want), "every record but the damaged one");
    assert_eq!(r.torn, None);
    let [d] = &r.damage[..] else {
        panic!("one damaged file: {:?}", r.damage)
    };
    assert_eq!(d.regions, vec![(ends[48], ends[49] - ends[48])]);
    assert_eq!(d.records, 99);
    let kept = d.kept.as_ref().expect("kept aside");
    assert_eq!(fs::read(kept).unwrap(), b, "kept whole, never truncated");
}
