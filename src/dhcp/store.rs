//! The crash-safe lease store: an append-only journal of lease changes plus a snapshot that
//! compaction rewrites atomically (the Kea memfile + LFC idea). See docs/dhcp.md.
//!
//! Files in the store directory:
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
//! journal whose generation is older than the snapshot's was already folded into it (a crash
//! between the two renames) and is ignored.
//!
//! Recovery loads the snapshot, replays the journal, and stops at the first bad record: if it is
//! the last thing in the file (a write torn by a crash) it is cut off and reported; a bad record
//! with good data after it is corruption and an error.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::event::LeaseChange;
use super::lease::{ClientKey, LeaseRecord, LeaseState, record_flags};

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
        "lease store {path}: an fsync failed earlier; restart the DHCP server to recover the store"
    )]
    Poisoned { path: PathBuf },
    #[error(
        "lease store {path} is not a Duet lease file (bad header); move it away to start empty"
    )]
    BadHeader { path: PathBuf },
    #[error(
        "lease store {path} is corrupt at byte {offset}: {reason}; restore it from a backup or move it away"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

/// A record cut off at the end of the journal by a crash, removed at recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub offset: u64,
    pub bytes: u64,
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// The lease table as of the last complete record.
    pub leases: Vec<LeaseRecord>,
    pub snapshot_records: u64,
    pub journal_records: u64,
    pub torn: Option<TornTail>,
}

/// The open store.
#[derive(Debug)]
pub struct LeaseStore {
    dir: PathBuf,
    journal: File,
    generation: u64,
    pending: Vec<u8>,
    pending_records: usize,
    journal_records: u64,
    /// Bytes of the journal known good: where a failed write is cut back to.
    journal_len: u64,
    /// An fsync failed: what reached the disk is unknown, so nothing more is written until
    /// the store is reopened (and recovery reads what is really there).
    poisoned: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl LeaseStore {
    /// Open (or create) the store in `dir` and recover its leases.
    pub fn open(dir: &Path) -> Result<(LeaseStore, Recovery), StoreError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut table: HashMap<Ipv4Addr, LeaseRecord> = HashMap::new();
        let mut rec = Recovery::default();
        let snap_path = dir.join(SNAPSHOT_FILE);
        let mut generation = 0;
        if let Some(bytes) = read_optional(&snap_path)? {
            let (g, n) = load_snapshot(&snap_path, &bytes, &mut table)?;
            generation = g;
            rec.snapshot_records = n;
        }
        let jpath = dir.join(JOURNAL_FILE);
        let journal_bytes = read_optional(&jpath)?;
        let mut reuse = false;
        if let Some(bytes) = journal_bytes {
            // The header is written atomically with the file, so a bad one is not a crash.
            if bytes.len() < JOURNAL_HEADER || &bytes[..8] != JOURNAL_MAGIC {
                return Err(StoreError::BadHeader { path: jpath });
            } else {
                let g = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
                if g >= generation {
                    generation = g;
                    let (n, good_end, torn) = replay(&jpath, &bytes, JOURNAL_HEADER, &mut table)?;
                    rec.journal_records = n;
                    if let Some(t) = torn {
                        let f = OpenOptions::new()
                            .write(true)
                            .open(&jpath)
                            .map_err(io_err(&jpath))?;
                        f.set_len(good_end).map_err(io_err(&jpath))?;
                        f.sync_all().map_err(io_err(&jpath))?;
                        rec.torn = Some(t);
                    }
                    reuse = true;
                }
            }
        }
        if !reuse {
            write_atomically(dir, JOURNAL_FILE, &journal_header(generation))?;
        }
        let journal = OpenOptions::new()
            .append(true)
            .open(&jpath)
            .map_err(io_err(&jpath))?;
        let journal_len = journal.metadata().map_err(io_err(&jpath))?.len();
        let mut leases: Vec<LeaseRecord> = table.into_values().collect();
        leases.sort_by_key(|r| r.ip);
        rec.leases = leases;
        let store = LeaseStore {
            dir: dir.to_path_buf(),
            journal,
            generation,
            pending: Vec::new(),
            pending_records: 0,
            journal_records: rec.journal_records,
            journal_len,
            poisoned: false,
        };
        Ok((store, rec))
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

    /// Whether the journal has grown enough to fold it into a snapshot: more records than
    /// twice the live leases (replay then costs more than loading a snapshot), and at least
    /// [`COMPACT_MIN_RECORDS`] so that a small table is not rewritten on every change.
    pub fn should_compact(&self, live_leases: usize) -> bool {
        self.journal_records >= COMPACT_MIN_RECORDS.max(2 * live_leases as u64)
    }

    /// Write the buffered records and fsync once (group commit). Returns how many were made
    /// durable. On error the buffer is kept, so a retry writes it again after the good part.
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let path = self.dir.join(JOURNAL_FILE);
        if self.poisoned {
            return Err(StoreError::Poisoned { path });
        }
        if let Err(e) = fault::check(&self.dir).and_then(|()| self.journal.write_all(&self.pending))
        {
            // Cut off whatever part was written, so that a retry (the buffer is kept) does not
            // leave a half record in the middle of the journal.
            let _ = self.journal.set_len(self.journal_len);
            return Err(io_err(&path)(e));
        }
        if let Err(e) = self.journal.sync_data() {
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

    /// Fold the journal into a new snapshot holding `leases` (the whole current table, which
    /// must include every appended change), then start an empty journal.
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
        write_atomically(&self.dir, SNAPSHOT_FILE, &snap)?;
        // The snapshot now holds everything; buffered records are covered by it.
        self.pending.clear();
        self.pending_records = 0;
        write_atomically(&self.dir, JOURNAL_FILE, &journal_header(next))?;
        let jpath = self.dir.join(JOURNAL_FILE);
        self.journal = OpenOptions::new()
            .append(true)
            .open(&jpath)
            .map_err(io_err(&jpath))?;
        self.generation = next;
        self.journal_len = JOURNAL_HEADER as u64;
        // The snapshot holds the whole table, durably: whatever a failed fsync lost is back.
        self.poisoned = false;
        self.journal_records = 0;
        Ok(())
    }
}

/// A full disk on demand, for the fault simulations (tests/sim_common): while a directory is
/// marked full, every write of a store inside it (journal flush, compaction, a new journal)
/// fails with ENOSPC before touching the file, as the kernel would. A test seam, additive to
/// the store: nothing marks a directory full outside tests, and the check is one atomic load
/// while nothing is.
pub mod fault {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    static ANY: AtomicBool = AtomicBool::new(false);
    static FULL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    /// Mark `dir` (and every directory under it) full, or free again.
    pub fn set_disk_full(dir: &Path, full: bool) {
        let mut dirs = FULL.lock().unwrap_or_else(|e| e.into_inner());
        dirs.retain(|d| d != dir);
        if full {
            dirs.push(dir.to_path_buf());
        }
        ANY.store(!dirs.is_empty(), Ordering::Release);
    }

    /// ENOSPC if `dir` is marked full.
    pub(super) fn check(dir: &Path) -> std::io::Result<()> {
        if ANY.load(Ordering::Acquire)
            && FULL
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|d| dir.starts_with(d))
        {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }
}

fn journal_header(generation: u64) -> Vec<u8> {
    let mut h = JOURNAL_MAGIC.to_vec();
    h.extend_from_slice(&generation.to_le_bytes());
    h
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v).map_err(io_err(path))?;
            Ok(Some(v))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Write `name` in `dir` so that a crash leaves the old or the new content: temp file, fsync,
/// rename, fsync of the directory.
fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    fault::check(dir).map_err(io_err(&tmp))?;
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(data).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(())
}

fn load_snapshot(
    path: &Path,
    b: &[u8],
    table: &mut HashMap<Ipv4Addr, LeaseRecord>,
) -> Result<(u64, u64), StoreError> {
    if b.len() < SNAPSHOT_HEADER || &b[..8] != SNAPSHOT_MAGIC {
        return Err(StoreError::BadHeader {
            path: path.to_path_buf(),
        });
    }
    let generation = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    let count = u64::from_le_bytes(b[16..24].try_into().expect("8 bytes"));
    let (n, _, torn) = replay(path, b, SNAPSHOT_HEADER, table)?;
    // A snapshot is written whole before it is renamed into place: any shortfall is damage.
    if torn.is_some() || n != count {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            offset: b.len() as u64,
            reason: format!("snapshot holds {n} complete records, its header says {count}"),
        });
    }
    Ok((generation, n))
}

/// Apply the records of `b` from `start`; returns (records applied, end of the last good
/// record, torn tail if the file ends inside a bad record).
fn replay(
    path: &Path,
    b: &[u8],
    start: usize,
    table: &mut HashMap<Ipv4Addr, LeaseRecord>,
) -> Result<(u64, u64, Option<TornTail>), StoreError> {
    let mut at = start;
    let mut n = 0;
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
                n += 1;
                at += used;
            }
            Err((reason, frame_len)) => {
                let rest = b.len() - at;
                // The last record, cut short or half written: a torn write.
                if frame_len.is_none_or(|l| l >= rest) && rest <= MAX_PAYLOAD + 8 {
                    let torn = TornTail {
                        offset: at as u64,
                        bytes: rest as u64,
                    };
                    tracing::warn!(path = %path.display(), offset = at, bytes = rest, "torn last record ignored");
                    return Ok((n, at as u64, Some(torn)));
                }
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    offset: at as u64,
                    reason,
                });
            }
        }
    }
    Ok((n, at as u64, None))
}

/// One framed record at the start of `b`: the change and the bytes it used, or why not
/// (with the frame's length when its header was readable).
fn parse_record(b: &[u8]) -> Result<(LeaseChange, usize), (String, Option<usize>)> {
    if b.len() < 8 {
        return Err(("record header cut short".into(), None));
    }
    let len = u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_PAYLOAD {
        return Err((format!("record length {len} is out of range"), None));
    }
    let Some(payload) = b.get(8..8 + len) else {
        return Err(("record cut short".into(), Some(8 + len)));
    };
    if crc32(payload) != crc {
        return Err(("record checksum mismatch".into(), Some(8 + len)));
    }
    let change = decode_change(payload)
        .ok_or_else(|| ("record payload is malformed".to_string(), Some(8 + len)))?;
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
mod tests {
    use super::*;

    pub(crate) fn rec(n: u32, state: LeaseState) -> LeaseRecord {
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
    fn a_failed_write_is_cut_back_and_retried_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
        s.flush().unwrap();
        s.append(&LeaseChange::Upsert(rec(2, LeaseState::Committed)));
        // A handle that cannot write stands in for a full or failing disk.
        let jpath = dir.path().join(JOURNAL_FILE);
        let good = std::mem::replace(&mut s.journal, File::open(&jpath).unwrap());
        assert!(matches!(s.flush(), Err(StoreError::Io { .. })));
        assert_eq!(s.pending(), 1, "the batch is kept for a retry");
        s.journal = good;
        assert_eq!(s.flush().unwrap(), 1);
        drop(s);
        let (_, r) = LeaseStore::open(dir.path()).unwrap();
        assert_eq!((r.leases.len(), r.torn), (2, None));
    }

    #[test]
    fn a_failed_fsync_poisons_the_store_until_a_snapshot_holds_everything() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        // Writes to a pipe succeed, fsync on it fails (EINVAL): an fsync error after a write.
        let (_reader, writer) = std::io::pipe().unwrap();
        let good = std::mem::replace(
            &mut s.journal,
            File::from(std::os::fd::OwnedFd::from(writer)),
        );
        s.append(&LeaseChange::Upsert(rec(1, LeaseState::Committed)));
        assert!(matches!(s.flush(), Err(StoreError::Io { .. })));
        s.journal = good;
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
    fn bad_data_in_the_middle_is_an_error_not_a_torn_tail() {
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
        assert!(matches!(
            LeaseStore::open(dir.path()),
            Err(StoreError::Corrupt { offset: 16, .. })
        ));
        fs::write(&path, b"NOTDUET!xxxxxxxxxxxx").unwrap();
        assert!(matches!(
            LeaseStore::open(dir.path()),
            Err(StoreError::BadHeader { .. })
        ));
    }

    #[test]
    fn a_damaged_snapshot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = LeaseStore::open(dir.path()).unwrap();
        s.compact(&[rec(1, LeaseState::Committed), rec(2, LeaseState::Committed)])
            .unwrap();
        drop(s);
        let path = dir.path().join(SNAPSHOT_FILE);
        let b = fs::read(&path).unwrap();
        fs::write(&path, &b[..b.len() - 3]).unwrap();
        assert!(matches!(
            LeaseStore::open(dir.path()),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
