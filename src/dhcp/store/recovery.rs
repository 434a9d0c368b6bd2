//! Reading the store's files back: the snapshot, then the journal, record by record.
//!
//! A bad record is one whose length is out of range, whose CRC does not match or whose payload
//! does not decode. What it means depends on what follows it:
//! - nothing valid after it: a write torn by a crash (the last batch was never acknowledged),
//!   cut off and reported at warning level ([`TornTail`]);
//! - a valid record after it: damage in the middle of the file (a flipped bit, a bad sector).
//!   Every valid record before and after it is recovered, and the bytes in between are
//!   reported at error level ([`Damage`]); the store keeps the file for the operator and never
//!   truncates it.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::faults::StoreFile;
use super::{LeaseChange, LeaseRecord, parse_record};

/// A record cut off at the end of the journal by a crash, removed at recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub offset: u64,
    pub bytes: u64,
}

/// Damage found inside a store file: bad bytes with valid records after them (or, in a
/// snapshot, fewer records than its header promised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub file: StoreFile,
    /// The bad byte ranges, `(offset, length)`, in file order.
    pub regions: Vec<(u64, u64)>,
    /// Records recovered from the file, before and after the damage.
    pub records: u64,
    /// Where the damaged file was kept for the operator; `None` if it could not be (the
    /// reason was logged, and the damaged file stays in use as it is).
    pub kept: Option<PathBuf>,
}

impl Damage {
    /// Bad bytes in all.
    pub fn bad_bytes(&self) -> u64 {
        self.regions.iter().map(|(_, n)| n).sum()
    }
}

/// What replaying one file found.
#[derive(Debug, Default)]
pub(super) struct Replayed {
    pub records: u64,
    /// The end of the last good record.
    pub end: u64,
    pub torn: Option<TornTail>,
    /// Bad ranges with good records after them.
    pub damaged: Vec<(u64, u64)>,
}

/// Apply the records of `b` from `start` to `table`.
pub(super) fn replay(
    file: StoreFile,
    b: &[u8],
    start: usize,
    table: &mut HashMap<Ipv4Addr, LeaseRecord>,
) -> Replayed {
    let mut out = Replayed {
        end: start as u64,
        ..Replayed::default()
    };
    let mut at = start;
    while at < b.len() {
        match parse_record(&b[at..]) {
            Ok((change, used)) => {
                match change {
                    LeaseChange::Upsert(r) => {
                        table.insert(r.ip, r);
                    }
                    LeaseChange::Remove(ip) => {
                        table.remove(&ip);
                    }
                }
                out.records += 1;
                at += used;
                out.end = at as u64;
            }
            Err(reason) => match next_record(b, at + 1) {
                // A torn tail is a bad record with nothing valid after it.
                None => {
                    let bytes = (b.len() - at) as u64;
                    tracing::warn!(
                        ?file,
                        offset = at,
                        bytes,
                        reason,
                        "torn last record ignored"
                    );
                    out.torn = Some(TornTail {
                        offset: at as u64,
                        bytes,
                    });
                    break;
                }
                Some(next) => {
                    tracing::error!(
                        ?file,
                        offset = at,
                        bytes = next - at,
                        reason,
                        "damaged lease records skipped"
                    );
                    out.damaged.push((at as u64, (next - at) as u64));
                    at = next;
                }
            },
        }
    }
    out
}

/// The first offset at or after `from` where a valid record starts. A false match needs a
/// 32-bit CRC to agree by chance; the cheap checks in [`parse_record`] come first, so a scan of
/// garbage costs little more than reading it.
fn next_record(b: &[u8], from: usize) -> Option<usize> {
    (from..b.len()).find(|&k| parse_record(&b[k..]).is_ok())
}

/// Load a snapshot into `table`: its generation and what was found.
pub(super) fn load_snapshot(
    b: &[u8],
    table: &mut HashMap<Ipv4Addr, LeaseRecord>,
) -> Option<(u64, Replayed, u64)> {
    if b.len() < super::SNAPSHOT_HEADER || &b[..8] != super::SNAPSHOT_MAGIC {
        return None;
    }
    let generation = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    let count = u64::from_le_bytes(b[16..24].try_into().expect("8 bytes"));
    Some((
        generation,
        replay(StoreFile::Snapshot, b, super::SNAPSHOT_HEADER, table),
        count,
    ))
}
