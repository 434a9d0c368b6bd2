//! The crash-safe lease store: an append-only journal of lease changes plus a snapshot that
//! compaction rewrites atomically (the Kea memfile + LFC idea). See docs/dhcp.md.
//!
//! Files in the store directory (owner-only: 0600 files in a 0700 directory):
//!
//! ```text
//!  leases.journal   "DUETLJ01" | generation u64 LE | record | record | ...
//!  leases.snapshot  "DUETLS01" | generation u64 LE | count u64 LE | record ... (one per lease)
//!
//!  record:  +-------------+-------------+---------------------------+
//!           | len u32 LE  | crc u32 LE  | payload (len bytes)       |   crc = CRC-32 (IEEE) of payload
//!           +-------------+-------------+---------------------------+
//!  payload: 1 ip(4)                                        remove
//!           2 ip(4) state(1) flags(1) client(2+n) chaddr(2+n) expires(8) updated(8)
//!             [relay(2+n)] [hostname(2+n)]                 upsert (flags: static, id, relay, hostname)
//! ```
//!
//! Durability: `append` only buffers; `flush` writes the buffer and calls `fdatasync` once for
//! the whole batch (group commit). The server's replies name the last event they depend on; the
//! driver sends them after the `flush` that covers it.
//!
//! Compaction writes `leases.snapshot.tmp`, fsyncs it, renames it over the snapshot, fsyncs the
//! directory, then replaces the journal by an empty one of the next generation the same way. A
//! journal whose generation is older than the snapshot's was already folded into it and is
//! ignored by recovery: so once the new snapshot is renamed into place the old journal is dead,
//! and the store never appends to it again (see [`LeaseStore::flush`] for what happens when
//! the new journal cannot be created).
//!
//! Recovery ([`recovery`]) loads the snapshot, replays the journal, cuts off a torn last record
//! and recovers every valid record around damage in the middle of a file, which it keeps aside
//! for the operator.

pub mod faults;
mod files;
mod recovery;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use thiserror::Error;

use self::faults::{Faults, StoreFile};
use self::files::AtomicError;
pub use self::recovery::{Damage, TornTail};
use super::event::LeaseChange;
use super::lease::{ClientKey, LeaseRecord, LeaseState, record_flags};
use crate::metrics::histogram::Histogram;

const JOURNAL_MAGIC: &[u8; 8] = b"DUETLJ01";
const SNAPSHOT_MAGIC: &[u8; 8] = b"DUETLS01";
const JOURNAL_HEADER: usize = 16;
const SNAPSHOT_HEADER: usize = 24;
/// The largest payload a valid record has (four 16-bit-length fields plus fixed fields).
const MAX_PAYLOAD: usize = 4 * (2 + 65535) + 32;
pub const JOURNAL_FILE: &str = "leases.journal";
/// The smallest journal [`LeaseStore::should_compact`] folds into a snapshot.
pub const COMPACT_MIN_RECORDS: u64 = 10_000;
pub const SNAPSHOT_FILE: &str = "leases.snapshot";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("lease store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "lease store {path}: an fsync failed earlier; the store writes again once a compaction succeeds"
    )]
    Poisoned { path: PathBuf },
    #[error(
        "lease store {path} is not a Duet lease file (bad header); move it away to start empty"
    )]
    BadHeader { path: PathBuf },
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// The lease table as of the last complete record.
    pub leases: Vec<LeaseRecord>,
    pub snapshot_records: u64,
    pub journal_records: u64,
    pub torn: Option<TornTail>,
    /// Damage in the middle of the snapshot or the journal, at most one entry per file.
    pub damage: Vec<Damage>,
}

/// The open store.
#[derive(Debug)]
pub struct LeaseStore {
    dir: PathBuf,
    faults: Faults,
    /// The journal of `generation`, appended to by `flush`. `None` when the snapshot of
    /// `generation` is in place but its journal could not be started (no space, no inodes):
    /// the journal on disk is then of an older generation, which recovery ignores, so nothing
    /// may be appended anywhere until [`LeaseStore::start_journal`] succeeds.
    journal: Option<File>,
    generation: u64,
    pending: Vec<u8>,
    pending_records: usize,
    journal_records: u64,
    /// Bytes of the journal known good: where a failed write is cut back to.
    journal_len: u64,
    /// What is on disk is unknown (an fsync failed, or a rename could not be made durable):
    /// nothing more is written until a compaction writes the whole table afresh.
    poisoned: bool,
    /// How long each journal fsync took (the metrics endpoint shows it).
    fsync: Arc<Histogram>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn failed((path, source): files::Failed) -> StoreError {
    StoreError::Io { path, source }
}

impl LeaseStore {
    /// Open (or create) the store in `dir` and recover its leases. Damage inside a file is not
    /// an error: what is valid is recovered, the file is kept aside and the store rewritten
    /// (see [`Recovery::damage`]). A store that cannot be written (a full disk) opens too: its
    /// flushes fail until there is room again.
    pub fn open(dir: &Path) -> Result<(LeaseStore, Recovery), StoreError> {
        files::create_dir(dir).map_err(io_err(dir))?;
        let faults = Faults::for_dir(dir);
        let mut table: HashMap<Ipv4Addr, LeaseRecord> = HashMap::new();
        let mut rec = Recovery::default();
        let snap_path = dir.join(SNAPSHOT_FILE);
        let mut generation = 0;
        if let Some(bytes) = files::read_optional(&snap_path).map_err(io_err(&snap_path))? {
            let (g, found, count) = recovery::load_snapshot(&bytes, &mut table)
                .ok_or(StoreError::BadHeader { path: snap_path })?;
            generation = g;
            rec.snapshot_records = found.records;
            // A snapshot is written whole before it is renamed into place: any shortfall is
            // damage, even at its end.
            let mut regions = found.damaged;
            regions.extend(found.torn.map(|t| (t.offset, t.bytes)));
            if !regions.is_empty() || found.records != count {
                tracing::error!(
                    records = found.records,
                    count,
                    "lease snapshot damaged: fewer records than its header says"
                );
                rec.damage.push(Damage {
                    file: StoreFile::Snapshot,
                    regions,
                    records: found.records,
                    kept: None,
                });
            }
        }
        let jpath = dir.join(JOURNAL_FILE);
        let mut journal = None;
        let mut journal_len = 0;
        if let Some(bytes) = files::read_optional(&jpath).map_err(io_err(&jpath))? {
            // The header is written atomically with the file, so a bad one is not a crash.
            if bytes.len() < JOURNAL_HEADER || &bytes[..8] != JOURNAL_MAGIC {
                return Err(StoreError::BadHeader { path: jpath });
            }
            let g = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
            // An older journal was folded into the snapshot already (a crash, or an error,
            // after the snapshot was renamed into place): it is dead.
            if g >= generation {
                generation = g;
                let found =
                    recovery::replay(StoreFile::Journal, &bytes, JOURNAL_HEADER, &mut table);
                rec.journal_records = found.records;
                journal_len = found.end;
                if let Some(t) = found.torn {
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&jpath)
                        .map_err(io_err(&jpath))?;
                    f.set_len(found.end).map_err(io_err(&jpath))?;
                    f.sync_all().map_err(io_err(&jpath))?;
                    rec.torn = Some(t);
                } else {
                    journal_len = bytes.len() as u64;
                }
                if !found.damaged.is_empty() {
                    rec.damage.push(Damage {
                        file: StoreFile::Journal,
                        regions: found.damaged,
                        records: found.records,
                        kept: None,
                    });
                }
                journal = Some(
                    files::open_append(&faults, StoreFile::Journal, &jpath)
                        .map_err(io_err(&jpath))?,
                );
            }
        }
        let mut leases: Vec<LeaseRecord> = table.into_values().collect();
        leases.sort_by_key(|r| r.ip);
        rec.leases = leases;
        let mut store = LeaseStore {
            dir: dir.to_path_buf(),
            faults,
            journal,
            generation,
            pending: Vec::new(),
            pending_records: 0,
            journal_records: rec.journal_records,
            journal_len,
            poisoned: false,
            fsync: Arc::default(),
        };
        if !rec.damage.is_empty() {
            store.set_damage_aside(&mut rec);
        } else if store.journal.is_none()
            && let Err(e) = store.start_journal()
        {
            // Flushes retry, and fail (acknowledgements wait) until this works.
            tracing::error!(error = %e, "lease journal not started");
        }
        Ok((store, rec))
    }

    /// Keep each damaged file for the operator, then rewrite the store from what was
    /// recovered, so the damage is reported once and the live files are clean. If either step
    /// fails the damaged files stay in use: recovery reads past the damage again next time.
    fn set_damage_aside(&mut self, rec: &mut Recovery) {
        for d in &mut rec.damage {
            match files::keep_aside(&self.dir, d.file, self.generation) {
                Ok(kept) => d.kept = Some(kept),
                Err(e) => {
                    tracing::error!(file = ?d.file, error = %e, "damaged lease file not kept aside; it stays in use");
                    return;
                }
            }
        }
        if let Err(e) = self.compact(&rec.leases) {
            tracing::error!(error = %e, "lease store not rewritten after damage");
        }
    }

    /// Buffer one change; it is durable after the next [`LeaseStore::flush`].
    pub fn append(&mut self, change: &LeaseChange) {
        framed(&mut self.pending, |out| encode_change(change, out));
        self.pending_records += 1;
    }

    /// Records appended but not yet flushed.
    pub fn pending(&self) -> usize {
        self.pending_records
    }

    /// Records in the journal since the last compaction.
    pub fn journal_records(&self) -> u64 {
        self.journal_records
    }

    /// Whether only a compaction can make the store writable again (see [`StoreError::Poisoned`]).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Whether the journal has grown enough to fold it into a snapshot: more records than
    /// twice the live leases (replay then costs more than loading a snapshot), and at least
    /// [`COMPACT_MIN_RECORDS`] so that a small table is not rewritten on every change.
    pub fn should_compact(&self, live_leases: usize) -> bool {
        self.journal_records >= COMPACT_MIN_RECORDS.max(2 * live_leases as u64)
    }

    /// Write the buffered records and fsync once (group commit). Returns how many were made
    /// durable. On error the buffer is kept, so a retry writes it again after the good part.
    ///
    /// Invariant (issue 10): records are appended only to the journal of the snapshot's
    /// generation, the one recovery replays. When compaction could not start that journal
    /// (see [`LeaseStore::compact`]) a flush starts it first, and fails while it cannot:
    /// the driver then withholds the acknowledgements that waited for it.
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let path = self.dir.join(JOURNAL_FILE);
        if self.poisoned {
            return Err(StoreError::Poisoned { path });
        }
        if self.journal.is_none() {
            self.start_journal()?;
        }
        let journal = self.journal.as_mut().expect("started above");
        if let Err(e) = files::write(&self.faults, StoreFile::Journal, journal, &self.pending) {
            // Cut off whatever part was written, so that a retry (the buffer is kept) does not
            // leave a half record in the middle of the journal.
            let _ = journal.set_len(self.journal_len);
            return Err(io_err(&path)(e));
        }
        let started = Instant::now();
        let synced = files::sync_data(&self.faults, StoreFile::Journal, journal);
        self.fsync.observe(started.elapsed());
        if let Err(e) = synced {
            self.poisoned = true;
            return Err(io_err(&path)(e));
        }
        self.journal_len += self.pending.len() as u64;
        let n = self.pending_records;
        self.journal_records += n as u64;
        self.pending.clear();
        self.pending_records = 0;
        Ok(n)
    }

    /// The journal fsync latencies (shared: the metrics endpoint reads it while the engine
    /// writes).
    pub fn fsync_histogram(&self) -> Arc<Histogram> {
        self.fsync.clone()
    }

    /// Fold the journal into a new snapshot holding `leases` (the whole current table, which
    /// must include every appended change), then start an empty journal.
    ///
    /// Atomic against errors as well as crashes; whichever step fails, every flushed record is
    /// recoverable from what is on disk:
    /// - before the snapshot's rename: nothing changed; the old journal stays in use and the
    ///   buffered records stay buffered.
    /// - the directory fsync after the rename: which snapshot a crash leaves is unknown, so
    ///   neither journal is safe to append to: the store is poisoned until a compaction
    ///   succeeds.
    /// - starting the new journal: the new snapshot holds everything; the old journal is dead
    ///   and is never appended to again. The store has no journal until one can be created
    ///   (each flush tries first, and fails while it cannot).
    pub fn compact<'a>(
        &mut self,
        leases: impl IntoIterator<Item = &'a LeaseRecord>,
    ) -> Result<(), StoreError> {
        let next = self.generation + 1;
        let mut body = Vec::new();
        let mut count = 0u64;
        for r in leases {
            framed(&mut body, |out| encode_upsert(r, out));
            count += 1;
        }
        let mut snap = Vec::with_capacity(SNAPSHOT_HEADER + body.len());
        snap.extend_from_slice(SNAPSHOT_MAGIC);
        snap.extend_from_slice(&next.to_le_bytes());
        snap.extend_from_slice(&count.to_le_bytes());
        snap.extend_from_slice(&body);
        let written = files::write_atomically(&self.faults, &self.dir, StoreFile::Snapshot, &snap);
        if let Err(AtomicError::NotReplaced(f)) = written {
            return Err(failed(f));
        }
        // The new snapshot is in place: the old journal is dead, whatever happens next.
        self.journal = None;
        self.generation = next;
        self.journal_records = 0;
        // The snapshot holds the table, buffered records included.
        self.pending.clear();
        self.pending_records = 0;
        if let Err(AtomicError::NotDurable(f)) = written {
            self.poisoned = true;
            return Err(failed(f));
        }
        // The snapshot holds the whole table, durably: whatever a failed fsync lost is back.
        self.poisoned = false;
        self.start_journal()
    }

    /// Create the empty journal of the current generation and open it for appending.
    fn start_journal(&mut self) -> Result<(), StoreError> {
        let header = journal_header(self.generation);
        files::write_atomically(&self.faults, &self.dir, StoreFile::Journal, &header).map_err(
            |e| match e {
                // Not durable: a crash may bring the dead journal back; try again next time.
                AtomicError::NotReplaced(f) | AtomicError::NotDurable(f) => failed(f),
            },
        )?;
        let jpath = self.dir.join(JOURNAL_FILE);
        let file =
            files::open_append(&self.faults, StoreFile::Journal, &jpath).map_err(io_err(&jpath))?;
        self.journal_len = JOURNAL_HEADER as u64;
        self.journal = Some(file);
        Ok(())
    }
}

fn journal_header(generation: u64) -> Vec<u8> {
    let mut h = JOURNAL_MAGIC.to_vec();
    h.extend_from_slice(&generation.to_le_bytes());
    h
}

/// One framed record at the start of `b`: the change and the bytes it used, or why not.
/// Recovery calls it at every offset of a damaged region: the cheap checks come before the CRC
/// and nothing is allocated on failure.
fn parse_record(b: &[u8]) -> Result<(LeaseChange, usize), &'static str> {
    if b.len() < 8 {
        return Err("record header cut short");
    }
    let len = u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_PAYLOAD {
        return Err("record length out of range");
    }
    let Some(payload) = b.get(8..8 + len) else {
        return Err("record cut short");
    };
    if !matches!((payload[0], len), (1, 5) | (2, 27..)) {
        return Err("record type unknown");
    }
    if crc32(payload) != crc {
        return Err("record checksum mismatch");
    }
    let change = decode_change(payload).ok_or("record payload is malformed")?;
    Ok((change, 8 + len))
}

/// Append one record to `out`: the payload is encoded in place, then its length and CRC are
/// written in front of it (no intermediate buffer per record).
fn framed(out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    encode(out);
    let len = (out.len() - start - 8) as u32;
    let crc = crc32(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&b[..n]);
}

fn encode_change(c: &LeaseChange, out: &mut Vec<u8>) {
    match c {
        LeaseChange::Remove(ip) => {
            out.push(1);
            out.extend_from_slice(&ip.octets());
        }
        LeaseChange::Upsert(r) => encode_upsert(r, out),
    }
}

fn encode_upsert(r: &LeaseRecord, out: &mut Vec<u8>) {
    out.push(2);
    out.extend_from_slice(&r.ip.octets());
    out.push(r.state.code());
    out.push(r.flags());
    put_bytes(out, r.client.bytes());
    put_bytes(out, &r.chaddr);
    out.extend_from_slice(&r.expires.to_le_bytes());
    out.extend_from_slice(&r.updated.to_le_bytes());
    if let Some(x) = &r.relay_info {
        put_bytes(out, x);
    }
    if let Some(x) = &r.hostname {
        put_bytes(out, x);
    }
}

/// A cursor over a payload; every read checks bounds.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (h, t) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn ip(&mut self) -> Option<Ipv4Addr> {
        self.take(4).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
    fn bytes(&mut self) -> Option<Box<[u8]>> {
        let n = self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))?;
        self.take(usize::from(n)).map(Into::into)
    }
}

fn decode_change(p: &[u8]) -> Option<LeaseChange> {
    let mut r = Reader(p);
    let change = match r.u8()? {
        1 => LeaseChange::Remove(r.ip()?),
        2 => {
            let ip = r.ip()?;
            let state = LeaseState::from_code(r.u8()?)?;
            let flags = r.u8()?;
            let key = r.bytes()?;
            let client = if flags & record_flags::CLIENT_ID != 0 {
                ClientKey::Id(key)
            } else {
                ClientKey::Hw(key)
            };
            let chaddr = r.bytes()?;
            let expires = r.u64()?;
            let updated = r.u64()?;
            let relay_info = if flags & record_flags::RELAY != 0 {
                Some(r.bytes()?)
            } else {
                None
            };
            let hostname = if flags & record_flags::HOSTNAME != 0 {
                Some(r.bytes()?)
            } else {
                None
            };
            LeaseChange::Upsert(LeaseRecord {
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
        _ => return None,
    };
    r.0.is_empty().then_some(change)
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod fault_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    pub(super) fn rec(n: u32, state: LeaseState) -> LeaseRecord {
        LeaseRecord {
            ip: Ipv4Addr::from(0x0a00_0000 + n),
            state,
            client: if n.is_multiple_of(2) {
                ClientKey::Id(vec![1, 2, n as u8].into())
            } else {
                ClientKey::Hw(vec![n as u8; 6].into())
            },
            chaddr: vec![0xaa, n as u8, 0, 0, 0, 1].into(),
            expires: 1_000 + u64::from(n),
            updated: 500,
            relay_info: n.is_multiple_of(3).then(|| vec![1, 2, b'a', b'b'].into()),
            hostname: n.is_multiple_of(5).then(|| b"host".to_vec().into()),
            is_static: n.is_multiple_of(7),
        }
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn payload_round_trip_and_rejects_garbage() {
        for n in 0..40 {
            let c = LeaseChange::Upsert(rec(n, LeaseState::Committed));
            let mut p = Vec::new();
            encode_change(&c, &mut p);
            assert_eq!(decode_change(&p), Some(c));
            assert_eq!(decode_change(&p[..p.len() - 1]), None);
        }
        assert_eq!(
            decode_change(&[1, 10, 0, 0, 1]),
            Some(LeaseChange::Remove(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(decode_change(&[9]), None);
    }

    #[test]
    fn journal_then_compaction_then_more_journal_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, r) = LeaseStore::open(dir.path()).unwrap();
        assert!(r.leases.is_empty());
        for n in 1..=10 {
            s.append(&LeaseChange::Upsert(rec(n, LeaseState::Committed)));
        }
        assert_eq!(s.flush().unwrap(), 10);
        s.append(&LeaseChange::Remove(rec(3, LeaseState::Committed).ip));
        s.flush().unwrap();
        drop(s);
        let (mut s, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(r.leases.len(), 9);
        assert_eq!(r.journal_records, 11);
        s.compact(&r.leases).unwrap();
        s.append(&LeaseChange::Upsert(rec(4, LeaseState::Released)));
        s.flush().unwrap();
        drop(s);
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(
            (r.snapshot_records, r.journal_records, r.torn),
            (9, 1, None)
        );
        assert_eq!(
            r.leases
                .iter()
                .find(|l| l.ip == rec(4, LeaseState::Released).ip)
                .unwrap()
                .state,
            LeaseState::Released
        );
    }

    #[test]
    fn compaction_is_due_when_the_journal_outgrows_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        assert!(!s.should_compact(0));
        for n in 0..COMPACT_MIN_RECORDS as u32 {
            s.append(&LeaseChange::Upsert(rec(n % 100, LeaseState::Committed)));
        }
        assert!(!s.should_compact(100), "appended but not flushed");
        s.flush().unwrap();
        assert!(s.should_compact(100));
        assert!(!s.should_compact(COMPACT_MIN_RECORDS as usize));
        s.compact(&[rec(1, LeaseState::Committed)]).unwrap();
        assert!(!s.should_compact(1));
    }

    #[test]
    fn a_journal_older_than_the_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
        s.flush().unwrap();
        let old_journal = fs::read(dir.path().join(JOURNAL_FILE)).unwrap();
        s.compact(&[rec(2, LeaseState::Committed)]).unwrap();
        drop(s);
        // A crash between the snapshot rename and the journal rename leaves the old journal.
        fs::write(dir.path().join(JOURNAL_FILE), old_journal).unwrap();
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(r.leases, vec![rec(2, LeaseState::Committed)]);
    }

    #[test]
    fn bad_data_in_the_middle_is_damage_kept_aside_not_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        for n in 1..=3 {
            s.append(&LeaseChange::Upsert(rec(n, LeaseState::Committed)));
        }
        s.flush().unwrap();
        drop(s);
        let path = dir.path().join(JOURNAL_FILE);
        let mut b = fs::read(&path).unwrap();
        b[JOURNAL_HEADER + 12] ^= 0xff; // inside the first record's payload
        fs::write(&path, &b).unwrap();
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(
            r.leases,
            vec![rec(2, LeaseState::Committed), rec(3, LeaseState::Committed)]
        );
        assert_eq!(r.torn, None);
        let [d] = &r.damage[..] else {
            panic!("{:?}", r.damage)
        };
        assert_eq!((d.file, d.records), (StoreFile::Journal, 2));
        assert_eq!(d.regions[0].0, JOURNAL_HEADER as u64);
        let kept = d.kept.as_ref().expect("kept aside");
        assert_eq!(fs::read(kept).unwrap(), b, "kept whole, never truncated");
        // The store was rewritten from what was recovered: the damage is reported once.
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!((r.leases.len(), r.damage.len()), (2, 0));
        fs::write(&path, b"NOTDUET!xxxxxxxxxxxx").unwrap();
        assert!(matches!(
            LeaseStore::open(dir.path()),
            Err(StoreError::BadHeader { .. })
        ));
    }

    #[test]
    fn a_damaged_snapshot_keeps_its_valid_records() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        s.compact(&[rec(1, LeaseState::Committed), rec(2, LeaseState::Committed)])
            .unwrap();
        drop(s);
        let path = dir.path().join(SNAPSHOT_FILE);
        let b = fs::read(&path).unwrap();
        fs::write(&path, &b[..b.len() - 3]).unwrap();
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!(r.leases, vec![rec(1, LeaseState::Committed)]);
        assert_eq!(r.damage.len(), 1);
        assert_eq!(r.damage[0].file, StoreFile::Snapshot);
        assert!(r.damage[0].kept.is_some());
    }

    #[test]
    fn store_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("dhcp");
        let (mut s, _) = LeaseStore::open(&store).unwrap();
        s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
        s.flush().unwrap();
        s.compact(&[rec(1, LeaseState::Committed)]).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store), 0o700);
        assert_eq!(mode(&store.join(JOURNAL_FILE)), 0o600);
        assert_eq!(mode(&store.join(SNAPSHOT_FILE)), 0o600);
    }
}
