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
