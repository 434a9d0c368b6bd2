//! The data directory (`--data-dir`): created owner-only and locked by the device that uses it.
//!
//! Invariants (docs/operations.md, "The data directory"):
//! - One device per data directory: `duet run` takes an exclusive advisory lock (`flock`) on
//!   `DATA/duet.lock` before any engine starts and holds it for the life of the process (the
//!   kernel drops it when the process ends, `kill -9` included). A second `duet run` on the
//!   same directory refuses with the pid of the holder, before it touches the lease store or
//!   the control socket; so only the lock holder ever replaces a stale socket.
//! - Owner-only: the directory is 0700 (a directory Duet creates is made so; an existing one
//!   the user owns that others may enter is tightened, unless it is sticky like /tmp), and every
//!   file Duet writes in it is 0600: leases name clients, startup.cfg holds password hashes and
//!   keys, and the SSH host key is a secret.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "duet.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "the data directory {path} is in use by another duet ({holder}); stop it first or choose another --data-dir"
    )]
    InUse { path: PathBuf, holder: String },
    #[error("cannot use the data directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The locked data directory; the lock is released when this is dropped (or the process ends).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: Flock<File>,
}

/// Create `dir` (and its missing parents) with mode 0700.
pub fn create(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Take group and other access away from `dir` if the user owns it. A sticky directory
/// (/tmp) is shared by design and left alone.
fn restrict(dir: &Path) -> io::Result<()> {
    let meta = fs::metadata(dir)?;
    let mode = meta.permissions().mode();
    let mine = meta.uid() == nix::unistd::geteuid().as_raw();
    if mine && mode & 0o077 != 0 && mode & 0o1000 == 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

impl DataDir {
    /// Create (0700) and lock `path` for this process.
    pub fn lock(path: &Path) -> Result<DataDir, DataDirError> {
        let io_err = |source| DataDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        create(path).and_then(|_| restrict(path)).map_err(io_err)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path.join(LOCK_FILE))
            .map_err(io_err)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let holder = match pid.trim() {
                    "" => "pid unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(DataDirError::InUse {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err((_, e)) => return Err(io_err(e.into())),
        };
        // The holder's pid, for the message a second `duet run` prints.
        lock.set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| writeln!(*lock, "{}", std::process::id()))
            .map_err(io_err)?;
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid of the process holding `path`'s lock (a running device), `None` when nobody holds
/// it (`duet stop`).
pub fn holder(path: &Path) -> io::Result<Option<u32>> {
    let file = match File::open(path.join(LOCK_FILE)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Free: released again when the lock is dropped here.
        Ok(_) => Ok(None),
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            file.read_to_string(&mut pid)?;
            pid.trim().parse().map(Some).map_err(|_| {
                io::Error::other(format!(
                    "{} names no process id",
                    path.join(LOCK_FILE).display()
                ))
            })
        }
        Err((_, e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDir::lock(&data).unwrap();
        assert_eq!(first.path(), data);
        let err = DataDir::lock(&data).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("in use by another duet")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert_eq!(holder(&data).unwrap(), Some(std::process::id()));
        drop(first);
        assert_eq!(holder(&data).unwrap(), None);
        DataDir::lock(&data).unwrap();
    }

    #[test]
    fn the_directory_and_the_lock_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/data");
        let _lock = DataDir::lock(&data).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(LOCK_FILE)), 0o600);
        // An existing directory others may enter is tightened; a sticky one is left alone.
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        drop(DataDir::lock(&open).unwrap());
        assert_eq!(mode(&open), 0o700);
        let sticky = dir.path().join("sticky");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        drop(DataDir::lock(&sticky).unwrap());
        assert_eq!(mode(&sticky), 0o1777);
    }
}
