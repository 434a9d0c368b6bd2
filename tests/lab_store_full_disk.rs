//! The lease store on a tiny file system (issue 10, item 1): a child process grants leases
//! through the store the way the DHCP driver does (append, flush, ACK only after a successful
//! flush, compact periodically and after a failed flush) on a tmpfs with a few inodes or a
//! few KiB, until the file system is full; then it is killed with SIGKILL, and the parent
//! counts how many ACKed leases recovery brings back. Root is needed to mount (the test skips
//! with the reason otherwise; `DUET_REQUIRE_LAB=1` turns the skip into a failure).
//!
//! The child is this test binary again, running the ignored test `child_grants_until_full`
//! with `DUET_STORE_CHILD` naming the store directory.

#[path = "common/netns.rs"]
mod netns;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use duet::dhcp::event::LeaseChange;
use duet::dhcp::lease::{ClientKey, LeaseRecord, LeaseState};
use duet::dhcp::store::LeaseStore;

const CHILD_ENV: &str = "DUET_STORE_CHILD";
/// Failed flushes in a row after which the child says the disk is full.
const FULL_AFTER: u32 = 40;

fn lease(client: u32, version: u64) -> LeaseRecord {
    LeaseRecord {
        ip: Ipv4Addr::from(0x0a40_0000 + client),
        state: LeaseState::Committed,
        client: ClientKey::Hw(vec![2, 0, 0, 0, (client >> 8) as u8, client as u8].into()),
        chaddr: vec![2, 0, 0, 0, (client >> 8) as u8, client as u8].into(),
        // The version of the binding: a later ACK of the same client has a later one.
        expires: version,
        updated: version,
        relay_info: None,
        hostname: Some(format!("client-{client}").into_bytes().into()),
        is_static: false,
    }
}

/// The child: grants `DUET_STORE_CLIENTS` clients in turn (renewing them round-robin) and
/// prints `ACK client version` after each successful flush, `FULL` once flushes keep failing,
/// then waits to be killed.
#[test]
#[ignore = "the child process of the full-disk tests"]
fn child_grants_until_full() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let clients: u32 = std::env::var("DUET_STORE_CLIENTS")
        .unwrap()
        .parse()
        .unwrap();
    let compact_every: u64 = std::env::var("DUET_STORE_COMPACT")
        .unwrap()
        .parse()
        .unwrap();
    let (mut store, r) = LeaseStore::open(Path::new(&dir)).expect("open the store");
    let mut table: BTreeMap<Ipv4Addr, LeaseRecord> =
        r.leases.into_iter().map(|l| (l.ip, l)).collect();
    let mut out = std::io::stdout().lock();
    let mut failed_in_a_row = 0;
    for version in 1.. {
        let client = (version as u32 - 1) % clients;
        let l = lease(client, version);
        table.insert(l.ip, l.clone());
        store.append(&LeaseChange::Upsert(l));
        match store.flush() {
            Ok(_) => {
                failed_in_a_row = 0;
                writeln!(out, "ACK {client} {version}").unwrap();
                out.flush().unwrap();
            }
            Err(_) => {
                failed_in_a_row += 1;
                // The driver's answer to a failed flush: the client retries, the store is
                // compacted to recover.
                let _ = store.compact(table.values());
                if failed_in_a_row == FULL_AFTER {
                    writeln!(out, "FULL").unwrap();
                    out.flush().unwrap();
                    loop {
                        std::thread::park();
                    }
                }
            }
        }
        if version % compact_every == 0 {
            let _ = store.compact(table.values());
        }
    }
}

/// A tmpfs mounted on a temporary directory, unmounted when dropped (even on failure).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "mount -t tmpfs -o {options}");
        Tmpfs { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

struct Outcome {
    /// Clients with at least one ACK.
    acked: usize,
    /// Of those, clients whose last ACKed binding came back (or a later one).
    recovered: usize,
    /// The store opened again on the full file system.
    reopened: bool,
}

/// Run the child on a fresh tmpfs mounted with `options`, kill it once the disk is full, and
/// count what recovery brings back.
fn run(options: &str, clients: u32, compact_every: u64) -> Outcome {
    let fs = Tmpfs::mount(options);
    let store = fs.path().join("dhcp");
    std::fs::create_dir(&store).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_grants_until_full",
            "--ignored",
            "--nocapture",
        ])
        .arg("--test-threads=1")
        .env(CHILD_ENV, &store)
        .env("DUET_STORE_CLIENTS", clients.to_string())
        .env("DUET_STORE_COMPACT", compact_every.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut last_ack: BTreeMap<u32, u64> = BTreeMap::new();
    let mut full = false;
    // Bounded: the child says FULL or ends; every line is read once.
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "FULL" {
            full = true;
            break;
        }
        if let Some(rest) = line.strip_prefix("ACK ") {
            let mut it = rest.split(' ').map(|x| x.parse::<u64>().unwrap());
            let (c, v) = (it.next().unwrap(), it.next().unwrap());
            last_ack.insert(c as u32, v);
        }
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(full, "the child ended before the disk was full");
    // What is on disk, read where there is room (recovery may want to write).
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&store).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let (_, r) = LeaseStore::open(copy.path()).unwrap();
    let back: BTreeMap<Ipv4Addr, u64> = r.leases.iter().map(|l| (l.ip, l.expires)).collect();
    let recovered = last_ack
        .iter()
        .filter(|(c, v)| back.get(&lease(**c, 0).ip).is_some_and(|b| b >= v))
        .count();
    let reopened = LeaseStore::open(&store).is_ok();
    Outcome {
        acked: last_ack.len(),
        recovered,
        reopened,
    }
}

fn report(name: &str, o: &Outcome) {
    eprintln!(
        "{name}: {} clients ACKed, {} recovered, {} lost; reopened on the full disk: {}",
        o.acked,
        o.recovered,
        o.acked - o.recovered,
        o.reopened
    );
}

fn lab() -> bool {
    netns::lab_or_skip("lab_store_full_disk", &["mount", "umount"])
}

/// No inode left for the new journal once the first snapshot exists (the root directory,
/// the store directory, the journal and the snapshot take the four).
#[test]
fn inodes_exhausted_during_compaction_lose_no_acked_lease() {
    if !lab() {
        return;
    }
    let o = run("size=4m,nr_inodes=4,mode=0700", 700, 300);
    report("inodes exhausted", &o);
    assert!(o.acked > 0);
    assert_eq!(o.recovered, o.acked, "ACKed leases lost");
    assert!(o.reopened, "the store opens on a full disk");
}

/// A few KiB: the journal fills the file system and compaction runs out of room at whatever
/// step it reaches; each compaction period makes it reach a different one.
#[test]
fn a_full_disk_loses_no_acked_lease() {
    if !lab() {
        return;
    }
    let (mut acked, mut recovered, mut reopened) = (0, 0, true);
    for compact_every in [100, 150, 200, 250, 300, 350] {
        let o = run("size=32k,nr_inodes=64,mode=0700", 224, compact_every);
        report(&format!("disk full, compaction every {compact_every}"), &o);
        acked += o.acked;
        recovered += o.recovered;
        reopened &= o.reopened;
    }
    eprintln!(
        "disk full in all: {acked} ACKed, {} lost",
        acked - recovered
    );
    assert!(acked > 0);
    assert_eq!(recovered, acked, "ACKed leases lost");
    assert!(reopened, "the store opens on a full disk");
}
