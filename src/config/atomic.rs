//! Crash-safe replacement of a file: the target always holds either its old or its new content,
//! whole, whatever point a crash or an error strikes at.
//!
//! The dance: write the new content to a temporary file in the target's directory, fsync it,
//! rename it over the target (atomic within one file system), then fsync the directory so the
//! rename itself is durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Writers share temporary file names, so one replacement runs at a time in this process.
static WRITING: Mutex<()> = Mutex::new(());

/// The points of [`write_observed`] where the observer is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The temporary file holds the whole new content and is synced; the target is untouched.
    TempSynced,
    /// The temporary file has been renamed over the target; the directory is not synced yet.
    Renamed,
}

/// The temporary file used while replacing `path`: hidden, in the same directory.
pub(crate) fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    Ok(dir_of(path).join(format!(".{}.tmp", name.to_string_lossy())))
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replace the content of `path` with `bytes` atomically and durably.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_observed(path, bytes, &mut |_, _| Ok(()))
}

/// [`write`], calling `observe(stage, temp_path)` at each [`Stage`]; an error from the observer
/// aborts the replacement like an I/O error would (tests use it to look between the steps and
/// to inject failures).
pub(crate) fn write_observed(
    path: &Path,
    bytes: &[u8],
    observe: &mut dyn FnMut(Stage, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let _guard = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = temp_path(path)?;
    let staged = stage(path, &tmp, bytes, observe);
    if staged.is_err() {
        // Best effort: the target is untouched, only the temporary file may be left.
        let _ = fs::remove_file(&tmp);
        return staged;
    }
    observe(Stage::Renamed, &tmp)?;
    File::open(dir_of(path))?.sync_all()
}

/// Everything up to and including the rename.
fn stage(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    observe: &mut dyn FnMut(Stage, &Path) -> io::Result<()>,
) -> io::Result<()> {
    // A temporary file left by a crash is stale: nobody else writes it (see WRITING).
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    // Owner-only: a configuration holds password hashes and keys (crate::datadir).
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    observe(Stage::TempSynced, tmp)?;
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        write(&target, b"first\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"first\n");
        write(&target, b"second\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second\n");
        assert!(!temp_path(&target).unwrap().exists());
    }

    #[test]
    fn the_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        write(&target, b"local-user admin\n").unwrap();
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn temp_file_dance() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        fs::write(&target, b"old").unwrap();
        let mut seen = Vec::new();
        write_observed(&target, b"new content", &mut |stage, tmp| {
            assert_eq!(
                tmp.parent(),
                Some(dir.path()),
                "the temporary file is in the target's directory"
            );
            match stage {
                Stage::TempSynced => {
                    assert_eq!(fs::read(tmp).unwrap(), b"new content");
                    assert_eq!(fs::read(&target).unwrap(), b"old");
                }
                Stage::Renamed => {
                    assert!(!tmp.exists());
                    assert_eq!(fs::read(&target).unwrap(), b"new content");
                }
            }
            seen.push(stage);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [Stage::TempSynced, Stage::Renamed]);
    }

    #[test]
    fn failure_before_rename_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        fs::write(&target, b"old").unwrap();
        let err = write_observed(&target, b"new", &mut |stage, _| match stage {
            Stage::TempSynced => Err(io::Error::other("disk full")),
            Stage::Renamed => Ok(()),
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert!(
            !temp_path(&target).unwrap().exists(),
            "the temporary file is removed"
        );
    }

    #[test]
    fn failure_to_create_the_temp_file_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        fs::write(&target, b"old").unwrap();
        // A directory where the temporary file goes cannot be removed as a stale file.
        fs::create_dir(temp_path(&target).unwrap()).unwrap();
        assert!(write(&target, b"new").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
    }

    #[test]
    fn stale_temp_file_from_a_crash_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("startup.cfg");
        fs::write(temp_path(&target).unwrap(), b"half writ").unwrap();
        write(&target, b"whole").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert!(!temp_path(&target).unwrap().exists());
    }
}
