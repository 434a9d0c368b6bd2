//! The lease store's fault seam: every system call the store makes to change its files goes
//! through [`Faults::check`], and a test can make any of them fail with the error a full disk,
//! a quota or an exhausted inode table gives, deterministically (the way `config::atomic` tests
//! fail a save at each stage).
//!
//! A test attaches a [`StoreFaults`] handle to a store directory *before* the store is opened
//! there ([`StoreFaults::attach`]); the store picks it up in [`LeaseStore::open`] and consults it
//! before each step. Nothing is attached in a running device: the only cost is one atomic load
//! per open.
//!
//! [`LeaseStore::open`]: super::LeaseStore::open

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The two files of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreFile {
    Journal,
    Snapshot,
}

/// One system call of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Creating the temporary file a new snapshot or journal is written to (`open(O_CREAT)`):
    /// where a file system out of inodes fails.
    Create(StoreFile),
    /// `write(2)`: a journal flush, or the content of a new snapshot or journal. A failed write
    /// writes the first half of its buffer first, as a disk filling up does.
    Write(StoreFile),
    /// `fdatasync`/`fsync` of the file.
    Sync(StoreFile),
    /// Renaming the temporary file over the file.
    Rename(StoreFile),
    /// `fsync` of the store directory after that rename.
    SyncDir(StoreFile),
    /// Opening the new journal for appending.
    Open(StoreFile),
}

/// The error a failed step returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `ENOSPC`: no space left (also what `open(O_CREAT)` returns when the inodes are gone).
    NoSpace,
    /// `EDQUOT`: the user's quota is exhausted.
    Quota,
    /// `EIO`: the device failed.
    Io,
}

impl Fault {
    fn error(self) -> io::Error {
        io::Error::from_raw_os_error(match self {
            Fault::NoSpace => libc::ENOSPC,
            Fault::Quota => libc::EDQUOT,
            Fault::Io => libc::EIO,
        })
    }
}

/// Which steps fail.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Every step of this kind until cleared.
    Always(Step, Fault),
    /// The next step of this kind, once.
    Once(Step, Fault),
    /// The step numbered `n` (counting every step checked since the handle was made), whatever
    /// it is: lets a test fail each step of an operation in turn.
    Nth(u64, Fault),
    /// Every step that allocates space or an inode (create and write): a full file system.
    DiskFull(Fault),
}

#[derive(Debug, Default)]
struct Plan {
    rules: Vec<Rule>,
    /// Steps checked so far.
    steps: u64,
    /// Steps failed so far.
    failed: u64,
    last_failed: Option<Step>,
}

/// A handle on the faults of one store directory; clones share the plan.
#[derive(Clone, Debug, Default)]
pub struct StoreFaults(Arc<Mutex<Plan>>);

/// Handles attached to directories; entries whose handle was dropped are pruned.
static ATTACHED: Mutex<Vec<(PathBuf, Weak<Mutex<Plan>>)>> = Mutex::new(Vec::new());
/// Whether anything was ever attached: a device that never attaches takes no lock.
static ANY_ATTACHED: AtomicBool = AtomicBool::new(false);

impl StoreFaults {
    /// A new plan for the store opened in `dir` (the same path given to `LeaseStore::open`:
    /// the DHCP engine uses `DATA/dhcp`) from now on in this process, until the handle and its
    /// clones are dropped. A store already open there does not see it.
    pub fn attach(dir: &Path) -> StoreFaults {
        let faults = StoreFaults::default();
        let mut list = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(d, w)| d != dir && w.strong_count() > 0);
        list.push((dir.to_path_buf(), Arc::downgrade(&faults.0)));
        ANY_ATTACHED.store(true, Ordering::Release);
        faults
    }

    /// The plan attached to `dir`, if any.
    pub(super) fn attached(dir: &Path) -> Option<StoreFaults> {
        if !ANY_ATTACHED.load(Ordering::Acquire) {
            return None;
        }
        let list = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .find(|(d, _)| d == dir)
            .and_then(|(_, w)| w.upgrade())
            .map(StoreFaults)
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fail every `step` with `fault` until [`StoreFaults::clear`].
    pub fn fail(&self, step: Step, fault: Fault) {
        self.plan().rules.push(Rule::Always(step, fault));
    }

    /// Fail the next `step` with `fault`, once.
    pub fn fail_once(&self, step: Step, fault: Fault) {
        self.plan().rules.push(Rule::Once(step, fault));
    }

    /// Fail the step numbered `n` (see [`StoreFaults::steps`]) with `fault`, once.
    pub fn fail_nth(&self, n: u64, fault: Fault) {
        self.plan().rules.push(Rule::Nth(n, fault));
    }

    /// A full file system: every create and write fails with `fault` ([`Fault::NoSpace`] for
    /// no space or no inodes, [`Fault::Quota`]) until [`StoreFaults::clear`]. Renames, syncs and
    /// truncations still work, as they do on a full disk.
    pub fn disk_full(&self, fault: Fault) {
        self.plan().rules.push(Rule::DiskFull(fault));
    }

    /// Remove every rule (the disk has room again).
    pub fn clear(&self) {
        self.plan().rules.clear();
    }

    /// Steps checked so far: a step's number is this count just before it runs.
    pub fn steps(&self) -> u64 {
        self.plan().steps
    }

    /// Steps failed so far, and the last one.
    pub fn failed(&self) -> (u64, Option<Step>) {
        let p = self.plan();
        (p.failed, p.last_failed)
    }

    fn check(&self, step: Step) -> io::Result<()> {
        let mut p = self.plan();
        let n = p.steps;
        p.steps += 1;
        let hit = p.rules.iter().position(|r| match *r {
            Rule::Always(s, _) | Rule::Once(s, _) => s == step,
            Rule::Nth(at, _) => at == n,
            Rule::DiskFull(_) => matches!(step, Step::Create(_) | Step::Write(_)),
        });
        let Some(i) = hit else { return Ok(()) };
        let fault = match p.rules[i] {
            Rule::Always(_, f) | Rule::DiskFull(f) => f,
            Rule::Once(_, f) | Rule::Nth(_, f) => {
                p.rules.remove(i);
                f
            }
        };
        p.failed += 1;
        p.last_failed = Some(step);
        Err(fault.error())
    }
}

/// The store's view of its plan: none in a running device.
#[derive(Clone, Debug, Default)]
pub(super) struct Faults(Option<StoreFaults>);

impl Faults {
    pub(super) fn for_dir(dir: &Path) -> Faults {
        Faults(StoreFaults::attached(dir))
    }

    /// Called before each step: the injected error, if the plan fails this one.
    pub(super) fn check(&self, step: Step) -> io::Result<()> {
        match &self.0 {
            Some(f) => f.check(step),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fail_the_steps_they_name() {
        let dir = Path::new("/nonexistent/faults-test");
        let f = StoreFaults::attach(dir);
        let seen = Faults::for_dir(dir);
        let j = Step::Write(StoreFile::Journal);
        assert!(seen.check(j).is_ok());
        f.fail_once(j, Fault::Quota);
        let e = seen.check(j).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EDQUOT));
        assert!(seen.check(j).is_ok(), "once");
        f.fail_nth(f.steps() + 1, Fault::Io);
        assert!(seen.check(Step::SyncDir(StoreFile::Snapshot)).is_ok());
        assert!(seen.check(Step::SyncDir(StoreFile::Snapshot)).is_err());
        f.disk_full(Fault::NoSpace);
        assert!(seen.check(Step::Create(StoreFile::Snapshot)).is_err());
        assert!(seen.check(Step::Rename(StoreFile::Snapshot)).is_ok());
        f.clear();
        assert!(seen.check(Step::Create(StoreFile::Snapshot)).is_ok());
        assert_eq!(f.failed(), (3, Some(Step::Create(StoreFile::Snapshot))));
        drop((f, seen));
        assert!(Faults::for_dir(dir).0.is_none(), "detached with the handle");
    }
}
