//! The store's system calls, each behind its step of the fault seam ([`super::faults`]). Files
//! are created owner-only (0600 in a 0700 directory): leases name clients, and the data
//! directory holds secrets next to them (docs/operations.md, "Files and permissions").

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::faults::{Faults, Step, StoreFile};

/// Mode of every file the store creates.
pub(super) const FILE_MODE: u32 = 0o600;
/// Mode of the store directory when the store creates it.
pub(super) const DIR_MODE: u32 = 0o700;

/// What failed, and on which path.
pub(super) type Failed = (PathBuf, io::Error);

pub(super) fn name(file: StoreFile) -> &'static str {
    match file {
        StoreFile::Journal => super::JOURNAL_FILE,
        StoreFile::Snapshot => super::SNAPSHOT_FILE,
    }
}

/// The temporary file a new `file` is written to before it is renamed into place.
pub(super) fn temp_name(file: StoreFile) -> String {
    format!("{}.tmp", name(file))
}

pub(super) fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

pub(super) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
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

/// `write_all` behind the seam. An injected failure writes half the buffer first, as a disk
/// that fills up in the middle of a write does.
pub(super) fn write(faults: &Faults, file: StoreFile, f: &mut File, data: &[u8]) -> io::Result<()> {
    if let Err(e) = faults.check(Step::Write(file)) {
        f.write_all(&data[..data.len() / 2])?;
        return Err(e);
    }
    f.write_all(data)
}

pub(super) fn sync_data(faults: &Faults, file: StoreFile, f: &File) -> io::Result<()> {
    faults.check(Step::Sync(file))?;
    f.sync_data()
}

pub(super) fn open_append(faults: &Faults, file: StoreFile, path: &Path) -> io::Result<File> {
    faults.check(Step::Open(file))?;
    OpenOptions::new().append(true).open(path)
}

/// How far [`write_atomically`] got before it failed.
#[derive(Debug)]
pub(super) enum AtomicError {
    /// Before the rename: the old file is in place, untouched (the temporary file is removed).
    NotReplaced(Failed),
    /// The rename was done but the directory fsync failed: the new file is what every reader
    /// sees now, but which of the two a crash leaves is unknown.
    NotDurable(Failed),
}

/// Replace `file` in `dir` with `data` so that a crash or an error leaves the old or the new
/// content whole: temporary file, write, fsync, rename, fsync of the directory.
pub(super) fn write_atomically(
    faults: &Faults,
    dir: &Path,
    file: StoreFile,
    data: &[u8],
) -> Result<(), AtomicError> {
    let tmp = dir.join(temp_name(file));
    let path = dir.join(name(file));
    let staged = (|| {
        faults
            .check(Step::Create(file))
            .map_err(|e| (tmp.clone(), e))?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&tmp)
            .map_err(|e| (tmp.clone(), e))?;
        write(faults, file, &mut f, data).map_err(|e| (tmp.clone(), e))?;
        faults
            .check(Step::Sync(file))
            .and_then(|_| f.sync_all())
            .map_err(|e| (tmp.clone(), e))?;
        faults
            .check(Step::Rename(file))
            .and_then(|_| fs::rename(&tmp, &path))
            .map_err(|e| (path.clone(), e))
    })();
    if let Err(failed) = staged {
        // Best effort: the old file is untouched, only the temporary file may be left, and it
        // holds space a full disk needs.
        let _ = fs::remove_file(&tmp);
        return Err(AtomicError::NotReplaced(failed));
    }
    faults
        .check(Step::SyncDir(file))
        .and_then(|_| File::open(dir)?.sync_all())
        .map_err(|e| AtomicError::NotDurable((dir.to_path_buf(), e)))
}

/// Keep `file` for the operator under a new name (a hard link: no space, no copy), so the store
/// may replace it. Returns the name it is kept under. Never truncates or rewrites it.
pub(super) fn keep_aside(dir: &Path, file: StoreFile, generation: u64) -> io::Result<PathBuf> {
    let from = dir.join(name(file));
    for n in 0..100 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!(".{n}")
        };
        let to = dir.join(format!("{}.damaged-g{generation}{suffix}", name(file)));
        match fs::hard_link(&from, &to) {
            Ok(()) => {
                File::open(dir)?.sync_all()?;
                return Ok(to);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Kept already (a restart before the damaged file was replaced)?
                if same_file(&from, &to) {
                    return Ok(to);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "too many damaged copies kept; move them away",
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}
