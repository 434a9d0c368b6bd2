//! The portal user journal: logged-in users survive `kill -9` and a restart. The lease store's
//! design (src/dhcp/store.rs) at a smaller scale, and its pieces where they fit: the record
//! framing and CRC ([`crate::dhcp::store::crc32`]) and the crash-safe file replacement of
//! [`crate::config::atomic`].
//!
//! Files in `DATA/portal/` (owner-only: they name users and their addresses):
//!
//! ```text
//!  users.journal   "DUETPJ01" | generation u64 LE | record | record | ...
//!  users.snapshot  "DUETPS01" | generation u64 LE | count u64 LE | record ... (one login per user)
//!  record:         len u32 LE | crc u32 LE | payload (JSON of a users::Change)
//! ```
//!
//! Durability: [`Journal::append`] buffers; [`Journal::flush`] writes the buffer and calls
//! `fdatasync` once (group commit). The driver sends a login's success page only after the
//! flush that holds the login (docs/portal.md, "The journal").
//!
//! Compaction writes the whole table as a snapshot of the next generation (temporary file,
//! fsync, rename, directory fsync), then an empty journal of that generation the same way.
//! Recovery ignores a journal older than the snapshot (it was folded in), so whichever step a
//! crash or an error stops at, every flushed change is on disk once:
//! - before the snapshot's rename: nothing changed, the old journal stays in use;
//! - the directory fsync after the rename failed: which snapshot a crash leaves is unknown, so
//!   the journal is not appended to ("poisoned") until a compaction succeeds;
//! - the new journal could not be started: the snapshot holds everything, and each flush
//!   tries to start the journal first, failing (no login is answered) while it cannot.
//!
//! A torn last record (a crash in the middle of a write) is cut off; a damaged record in the
//! middle ends the replay there, and the damage is reported.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::users::{Change, User};
use crate::config::atomic::{self, Stage};
use crate::dhcp::store::crc32;

const JOURNAL_MAGIC: &[u8; 8] = b"DUETPJ01";
const SNAPSHOT_MAGIC: &[u8; 8] = b"DUETPS01";
const JOURNAL_HEADER: usize = 16;
const SNAPSHOT_HEADER: usize = 24;
/// The largest payload a valid record has (a user is well under a kilobyte).
const MAX_PAYLOAD: usize = 64 * 1024;
pub const JOURNAL_FILE: &str = "users.journal";
pub const SNAPSHOT_FILE: &str = "users.snapshot";
/// The smallest journal [`Journal::should_compact`] folds into a snapshot.
pub const COMPACT_MIN_RECORDS: u64 = 10_000;

/// Why the journal failed. The driver logs it and withholds the success pages that waited.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("portal user journal {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "portal user journal {path}: an fsync failed earlier; the journal is written again once a compaction succeeds"
    )]
    Poisoned { path: PathBuf },
    #[error(
        "portal user journal {path} is not a Duet portal file (bad header); move it away to start empty"
    )]
    BadHeader { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The users as of the last complete record, by IP.
    pub users: Vec<User>,
    /// Bytes of a torn last record that were cut off.
    pub torn_bytes: u64,
    /// Bytes after a damaged record (not replayed), per file name.
    pub damaged: Vec<(String, u64)>,
}

/// One step of the journal that a test can make fail ([`Faults`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The journal's `write`: a failed write writes half the buffer first (a disk filling up).
    Write,
    /// The journal's `fdatasync`.
    Sync,
    /// The snapshot's temporary file is written and synced (before the rename).
    SnapshotStaged,
    /// The snapshot was renamed into place (before the directory fsync).
    SnapshotRenamed,
    /// Starting the new journal.
    StartJournal,
}

/// A test's rule: which steps fail, and how.
type Rule = Box<dyn FnMut(Step) -> io::Result<()> + Send>;

/// The fault seam: every step asks it first. Nothing is set in a running device.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Option<Rule>>>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faults")
    }
}

impl Faults {
    /// Fail the steps `rule` returns an error for.
    pub fn set(&self, rule: impl FnMut(Step) -> io::Result<()> + Send + 'static) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(rule));
    }
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    fn check(&self, step: Step) -> io::Result<()> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(rule) => rule(step),
            None => Ok(()),
        }
    }
}

/// The open journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    faults: Faults,
    /// The journal of `generation`; `None` while it could not be started after a compaction
    /// (nothing may be appended anywhere until it is).
    file: Option<File>,
    generation: u64,
    pending: Vec<u8>,
    pending_records: usize,
    journal_records: u64,
    /// Bytes of the journal known good: where a failed write is cut back to.
    journal_len: u64,
    poisoned: bool,
}

impl Journal {
    /// Open (or create) the journal in `dir` and recover the users.
    pub fn open(dir: &Path) -> Result<(Journal, Recovered), JournalError> {
        Self::open_with(dir, Faults::default())
    }

    /// [`Journal::open`] with a fault seam (tests).
    pub fn open_with(dir: &Path, faults: Faults) -> Result<(Journal, Recovered), JournalError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
        let mut users: BTreeMap<Ipv4Addr, User> = BTreeMap::new();
        let mut rec = Recovered::default();
        let mut generation = 0;
        let snap_path = dir.join(SNAPSHOT_FILE);
        if let Some(bytes) = read_optional(&snap_path).map_err(io_err(&snap_path))? {
            if bytes.len() < SNAPSHOT_HEADER || &bytes[..8] != SNAPSHOT_MAGIC {
                return Err(JournalError::BadHeader { path: snap_path });
            }
            generation = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
            let count = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
            let (records, end) = replay(&bytes, SNAPSHOT_HEADER, &mut users);
            // A snapshot is written whole before it is renamed into place: any shortfall is
            // damage, even at its end.
            if records != count || end != bytes.len() {
                rec.damaged
                    .push((SNAPSHOT_FILE.to_string(), (bytes.len() - end) as u64));
            }
        }
        let jpath = dir.join(JOURNAL_FILE);
        let mut file = None;
        let mut journal_records = 0;
        let mut journal_len = 0;
        if let Some(bytes) = read_optional(&jpath).map_err(io_err(&jpath))? {
            if bytes.len() < JOURNAL_HEADER || &bytes[..8] != JOURNAL_MAGIC {
                return Err(JournalError::BadHeader { path: jpath });
            }
            let g = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
            // An older journal was folded into the snapshot already: it is dead.
            if g >= generation {
                generation = g;
                let (records, end) = replay(&bytes, JOURNAL_HEADER, &mut users);
                journal_records = records;
                if end < bytes.len() {
                    if is_torn_tail(&bytes[end..]) {
                        rec.torn_bytes = (bytes.len() - end) as u64;
                    } else {
                        rec.damaged
                            .push((JOURNAL_FILE.to_string(), (bytes.len() - end) as u64));
                    }
                    // Cut it off, so appends continue after the last good record. (Damage
                    // was reported; what followed it is lost either way.)
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&jpath)
                        .map_err(io_err(&jpath))?;
                    f.set_len(end as u64).map_err(io_err(&jpath))?;
                    f.sync_all().map_err(io_err(&jpath))?;
                }
                journal_len = end as u64;
                file = Some(
                    OpenOptions::new()
                        .append(true)
                        .open(&jpath)
                        .map_err(io_err(&jpath))?,
                );
            }
        }
        rec.users = users.into_values().collect();
        let mut journal = Journal {
            dir: dir.to_path_buf(),
            faults,
            file,
            generation,
            pending: Vec::new(),
            pending_records: 0,
            journal_records,
            journal_len,
            poisoned: false,
        };
        if journal.file.is_none()
            && let Err(e) = journal.start_journal()
        {
            // Flushes retry, and fail (success pages wait) until this works.
            tracing::error!(error = %e, "portal journal not started");
        }
        Ok((journal, rec))
    }

    /// Buffer one change; it is durable after the next [`Journal::flush`].
    pub fn append(&mut self, change: &Change) {
        framed(&mut self.pending, change);
        self.pending_records += 1;
    }

    /// Records appended but not yet flushed.
    pub fn pending(&self) -> usize {
        self.pending_records
    }

    /// Whether only a compaction can make the journal writable (and trustworthy) again.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Records in the journal since the last compaction.
    pub fn journal_records(&self) -> u64 {
        self.journal_records
    }

    /// Whether the journal has grown enough to fold into a snapshot (more records than twice
    /// the users, and at least [`COMPACT_MIN_RECORDS`]).
    pub fn should_compact(&self, users: usize) -> bool {
        self.journal_records >= COMPACT_MIN_RECORDS.max(2 * users as u64)
    }

    /// Write the buffered records and fsync once. Returns how many were made durable. On error
    /// the buffer is kept, so a retry writes it again after the good part.
    pub fn flush(&mut self) -> Result<usize, JournalError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let path = self.dir.join(JOURNAL_FILE);
        if self.poisoned {
            return Err(JournalError::Poisoned { path });
        }
        if self.file.is_none() {
            self.start_journal()?;
        }
        let file = self.file.as_mut().expect("started above");
        let written = match self.faults.check(Step::Write) {
            Err(e) => {
                let _ = file.write_all(&self.pending[..self.pending.len() / 2]);
                Err(e)
            }
            Ok(()) => file.write_all(&self.pending),
        };
        if let Err(e) = written {
            // Cut off whatever part was written, so that a retry does not leave a half record
            // in the middle of the journal.
            let _ = file.set_len(self.journal_len);
            return Err(io_err(&path)(e));
        }
        if let Err(e) = self.faults.check(Step::Sync).and_then(|_| file.sync_data()) {
            // What reached the disk is unknown (Linux may drop the dirty pages after a failed
            // fsync): only a fresh snapshot makes the store trustworthy again.
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

    /// Fold the journal into a snapshot of `users` (the whole table, every appended change
    /// included), then start an empty journal. See the module documentation for what each
    /// failing step leaves.
    pub fn compact<'a>(
        &mut self,
        users: impl IntoIterator<Item = &'a User>,
    ) -> Result<(), JournalError> {
        let next = self.generation + 1;
        let mut body = Vec::new();
        let mut count = 0u64;
        for u in users {
            framed(&mut body, &Change::Login(u.clone()));
            count += 1;
        }
        let mut snap = Vec::with_capacity(SNAPSHOT_HEADER + body.len());
        snap.extend_from_slice(SNAPSHOT_MAGIC);
        snap.extend_from_slice(&next.to_le_bytes());
        snap.extend_from_slice(&count.to_le_bytes());
        snap.extend_from_slice(&body);
        let path = self.dir.join(SNAPSHOT_FILE);
        let mut renamed = false;
        let faults = self.faults.clone();
        let written = atomic::write_observed(&path, &snap, &mut |stage, _| match stage {
            Stage::TempSynced => faults.check(Step::SnapshotStaged),
            Stage::Renamed => {
                renamed = true;
                faults.check(Step::SnapshotRenamed)
            }
        });
        if let Err(e) = written {
            if !renamed {
                return Err(io_err(&path)(e));
            }
            // Renamed, not durable: the new snapshot is what readers see, but a crash may
            // bring back either. Neither journal is safe to append to.
            self.after_snapshot(next);
            self.poisoned = true;
            return Err(io_err(&path)(e));
        }
        self.after_snapshot(next);
        self.poisoned = false;
        self.start_journal()
    }

    /// The snapshot of `generation` is in place: the old journal is dead, and the snapshot
    /// holds every buffered record.
    fn after_snapshot(&mut self, generation: u64) {
        self.file = None;
        self.generation = generation;
        self.journal_records = 0;
        self.pending.clear();
        self.pending_records = 0;
    }

    /// Create the empty journal of the current generation and open it for appending.
    fn start_journal(&mut self) -> Result<(), JournalError> {
        let jpath = self.dir.join(JOURNAL_FILE);
        let mut header = Vec::with_capacity(JOURNAL_HEADER);
        header.extend_from_slice(JOURNAL_MAGIC);
        header.extend_from_slice(&self.generation.to_le_bytes());
        self.faults
            .check(Step::StartJournal)
            .and_then(|_| atomic::write(&jpath, &header))
            .map_err(io_err(&jpath))?;
        let file = OpenOptions::new()
            .append(true)
            .mode(0o600)
            .open(&jpath)
            .map_err(io_err(&jpath))?;
        self.journal_len = JOURNAL_HEADER as u64;
        self.file = Some(file);
        Ok(())
    }
}

/// Append one framed record holding `change` to `out`.
fn framed(out: &mut Vec<u8>, change: &Change) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    serde_json::to_writer(&mut *out, change).expect("a change serializes");
    let len = (out.len() - start - 8) as u32;
    let crc = crc32(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The change in the record at the start of `b`, and the record's length; `None` when the
/// record is incomplete, fails its CRC or does not decode.
fn next_record(b: &[u8]) -> Option<(Change, usize)> {
    let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    if len > MAX_PAYLOAD {
        return None;
    }
    let payload = b.get(8..8 + len)?;
    if crc32(payload) != crc {
        return None;
    }
    let change = serde_json::from_slice(payload).ok()?;
    Some((change, 8 + len))
}

/// Is what follows the last good record a torn write (a record cut short by a crash), rather
/// than damage? A torn tail is one record whose length reaches past the end of the file.
fn is_torn_tail(rest: &[u8]) -> bool {
    match rest.get(..4) {
        None => true,
        Some(len) => {
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            len <= MAX_PAYLOAD && 8 + len > rest.len()
        }
    }
}

/// Apply the records of `bytes` from `from` to `users`; returns how many were applied and
/// where the replay stopped (the end, or the first bad record).
fn replay(bytes: &[u8], from: usize, users: &mut BTreeMap<Ipv4Addr, User>) -> (u64, usize) {
    let mut at = from;
    let mut records = 0;
    while at < bytes.len() {
        let Some((change, len)) = next_record(&bytes[at..]) else {
            break;
        };
        match change {
            Change::Login(u) => {
                users.insert(u.ip, u);
            }
            Change::Logout { ip, .. } => {
                users.remove(&ip);
            }
        }
        records += 1;
        at += len;
    }
    (records, at)
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(Some(v))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod fault_tests;
