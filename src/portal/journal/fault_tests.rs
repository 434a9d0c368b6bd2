//! The journal's recovery and fault tests (as the lease store's, src/dhcp/store/fault_tests.rs):
//! every step of a flush and of a compaction failed in turn; no user whose login flush
//! succeeded is lost after a restart, and the journal writes again once the fault is gone.

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

use super::*;

fn user(n: u8) -> User {
    User {
        ip: Ipv4Addr::new(10, 1, 1, n),
        mac: [0, 1, 2, 3, 4, n],
        username: format!("u{n}"),
        interface: "GigabitEthernet1/0/1".into(),
        login_ms: 1_000 * u64::from(n),
        seq: u64::from(n),
        idle_cut_secs: Some(900),
        session_deadline_ms: None,
    }
}

/// A journal driven the way the portal driver drives it, with the table it holds.
struct Driven {
    journal: Journal,
    faults: Faults,
    table: BTreeMap<Ipv4Addr, User>,
    /// The table as of the last flush that succeeded: the users who saw a success page.
    acked: BTreeMap<Ipv4Addr, User>,
}

impl Driven {
    fn open(dir: &Path) -> Driven {
        let faults = Faults::default();
        let (journal, r) = Journal::open_with(dir, faults.clone()).unwrap();
        let table: BTreeMap<_, _> = r.users.into_iter().map(|u| (u.ip, u)).collect();
        Driven {
            journal,
            faults,
            acked: table.clone(),
            table,
        }
    }

    /// Log user `n` in and flush; as the driver does, a poisoned journal is compacted.
    fn login(&mut self, n: u8) -> bool {
        let u = user(n);
        self.table.insert(u.ip, u.clone());
        self.journal.append(&Change::Login(u));
        self.flush()
    }

    fn logout(&mut self, n: u8) -> bool {
        let ip = user(n).ip;
        self.table.remove(&ip);
        self.journal.append(&Change::Logout {
            ip,
            seq: 100 + u64::from(n),
        });
        self.flush()
    }

    fn flush(&mut self) -> bool {
        match self.journal.flush() {
            Ok(_) => {
                self.acked = self.table.clone();
                true
            }
            Err(_) if self.journal.poisoned => {
                let _ = self.journal.compact(self.table.values());
                false
            }
            Err(_) => false,
        }
    }

    fn compact(&mut self) -> Result<(), JournalError> {
        self.journal.compact(self.table.values())
    }

    /// Reopen: every acknowledged user is back, and no user logged out since is.
    fn restart_and_check(self, dir: &Path, what: &str) -> Driven {
        drop(self.journal);
        let d = Driven::open(dir);
        for (ip, u) in &self.acked {
            assert_eq!(
                d.table.get(ip),
                Some(u),
                "{what}: acknowledged user {ip} lost"
            );
        }
        d
    }
}

fn fail_at(step: Step) -> impl FnMut(Step) -> io::Result<()> + Send + 'static {
    move |s| {
        if s == step {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            Ok(())
        }
    }
}

#[test]
fn users_survive_a_crash_and_a_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driven::open(dir.path());
    for n in 1..=5 {
        assert!(d.login(n));
    }
    assert!(d.logout(2));
    // kill -9: nothing but what was flushed.
    let mut d = d.restart_and_check(dir.path(), "crash");
    assert_eq!(d.table.len(), 4);
    d.compact().unwrap();
    assert!(d.login(6));
    assert!(d.logout(1));
    let d = d.restart_and_check(dir.path(), "after compaction");
    let ips: Vec<u8> = d.table.keys().map(|ip| ip.octets()[3]).collect();
    assert_eq!(ips, [3, 4, 5, 6]);
}

#[test]
fn a_torn_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driven::open(dir.path());
    assert!(d.login(1));
    assert!(d.login(2));
    drop(d);
    // A crash in the middle of the next write: half a record.
    let path = dir.path().join(JOURNAL_FILE);
    let mut bytes = fs::read(&path).unwrap();
    let mut half = Vec::new();
    framed(&mut half, &Change::Login(user(3)));
    bytes.extend_from_slice(&half[..half.len() / 2]);
    fs::write(&path, &bytes).unwrap();
    let (mut j, r) = Journal::open(dir.path()).unwrap();
    assert_eq!(r.users.len(), 2);
    assert_eq!(r.torn_bytes, (half.len() / 2) as u64);
    assert!(r.damaged.is_empty());
    // Appends go after the last good record.
    j.append(&Change::Login(user(4)));
    j.flush().unwrap();
    drop(j);
    let (_, r) = Journal::open(dir.path()).unwrap();
    assert_eq!(r.users.len(), 3);
    assert_eq!(r.torn_bytes, 0);
}

#[test]
fn a_failed_write_is_cut_back_and_retried_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driven::open(dir.path());
    assert!(d.login(1));
    d.faults.set(fail_at(Step::Write));
    assert!(!d.login(2));
    assert!(!d.flush());
    d.faults.clear();
    // The buffer was kept: the retry writes user 2 whole, after user 1.
    assert!(d.flush());
    let d = d.restart_and_check(dir.path(), "write");
    assert_eq!(d.table.len(), 2);
}

#[test]
fn a_failed_fsync_poisons_the_journal_until_a_snapshot_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driven::open(dir.path());
    assert!(d.login(1));
    d.faults.set(fail_at(Step::Sync));
    // The failed flush poisons; the driver's compaction writes the whole table afresh.
    assert!(!d.login(2));
    d.faults.clear();
    assert!(!d.journal.poisoned, "the compaction healed the journal");
    assert!(d.login(3));
    let d = d.restart_and_check(dir.path(), "fsync");
    assert_eq!(d.table.len(), 3);
}

#[test]
fn a_poisoned_journal_refuses_to_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let faults = Faults::default();
    j.faults = faults.clone();
    faults.set(fail_at(Step::Sync));
    j.append(&Change::Login(user(1)));
    assert!(j.flush().is_err());
    faults.clear();
    assert!(matches!(j.flush(), Err(JournalError::Poisoned { .. })));
    j.compact([&user(1)]).unwrap();
    j.append(&Change::Login(user(2)));
    assert_eq!(j.flush().unwrap(), 1);
}

#[test]
fn a_compaction_failed_at_any_step_loses_no_flushed_user() {
    for step in [
        Step::SnapshotStaged,
        Step::SnapshotRenamed,
        Step::StartJournal,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Driven::open(dir.path());
        for n in 1..=3 {
            assert!(d.login(n));
        }
        assert!(d.logout(1));
        d.faults.set(fail_at(step));
        assert!(d.compact().is_err(), "{step:?}");
        // Flushes may fail while the fault lasts; none may lose an acknowledged user.
        let _ = d.login(4);
        d.faults.clear();
        // Once the disk is back, the journal writes again (a compaction if it must).
        if d.journal.poisoned || !d.flush() {
            d.compact().unwrap();
        }
        assert!(d.login(5), "{step:?}: the journal writes again");
        let d = d.restart_and_check(dir.path(), &format!("{step:?}"));
        assert!(
            !d.table.contains_key(&user(1).ip),
            "{step:?}: a logout came back"
        );
        assert!(d.table.contains_key(&user(5).ip));
    }
}

#[test]
fn journal_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("portal");
    let mut d = Driven::open(&sub);
    assert!(d.login(1));
    d.compact().unwrap();
    for (path, mode) in [
        (sub.clone(), 0o700),
        (sub.join(JOURNAL_FILE), 0o600),
        (sub.join(SNAPSHOT_FILE), 0o600),
    ] {
        let m = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, mode, "{}", path.display());
    }
}
