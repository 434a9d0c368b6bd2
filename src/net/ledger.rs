//! The kernel objects this device added to Linux, recorded in the data directory
//! (`DATA/kernel-objects`) so that `duet cleanup` can remove exactly them after a crash
//! (docs/operations.md, "What the unit does on a crash").
//!
//! Invariants:
//! - Write-ahead: a feature records an object *before* it asks the kernel for it, and forgets
//!   it only after the kernel removed it. A crash at any point leaves a record for every object
//!   that may exist; a record of an object that never came to be is harmless (cleanup removes
//!   only what is recorded *and* still present).
//! - Only what Duet created is recorded, and only what would keep serving for a dead device
//!   (virtual IPs, macvlans, routes, nftables tables, loopbacks): the ports' own addresses are
//!   not (harmless when the device is dead; removing one flushes the operator's routes
//!   through its subnet).
//! - The file is replaced whole (temporary file, rename) at every change, owner-only (0600).
//!   It is not fsynced: the objects it lists live in the kernel and do not survive a reboot
//!   either; a process crash leaves the page cache, and so the file, intact.
//!
//! The API for features (VRRP's macvlans and virtual IPs, static routes, the portal's nftables
//! table):
//! `device.kernel.record(KernelObject::...)` before creating, `device.kernel.forget(&obj)`
//! after removing. Recording failures (a full disk) are returned; callers log them and go
//! on, since refusing to become VRRP master over a full disk would be worse.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

/// The ledger's file name inside the data directory.
pub const LEDGER_FILE: &str = "kernel-objects";

const HEADER: &str = "# Kernel objects this Duet device added; `duet cleanup` removes those still present.\n\
# Written by duet; do not edit while the device runs.\n";

/// One object a device added to the kernel, in the ledger's one-line form:
///
/// ```text
/// link vrrp-3-1 macvlan                     a link Duet created (kind as `ip -d link` names it)
/// address eth0 10.99.1.1/32                 an IPv4 address Duet put on an interface
/// route 10.1.0.0/16 table 254 metric 0 protocol 208   an IPv4 route Duet installed
/// nft inet duet_portal                      an nftables table Duet loaded
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelObject {
    /// A link (VRRP macvlan, loopback/dummy): removed only if its kind still matches.
    Link { name: String, kind: String },
    /// An IPv4 address on the interface `dev`.
    Address {
        dev: String,
        addr: Ipv4Addr,
        prefix: u8,
    },
    /// An IPv4 route; the kernel deletes it only if table, metric and protocol match too, so
    /// a route the operator added to the same prefix stays.
    Route {
        dst: Ipv4Addr,
        prefix: u8,
        table: u32,
        metric: u32,
        protocol: u8,
    },
    /// An nftables table (`family` as nft names it: ip, inet, bridge ...).
    NftTable { family: String, name: String },
}

impl fmt::Display for KernelObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelObject::Link { name, kind } => write!(f, "link {name} {kind}"),
            KernelObject::Address { dev, addr, prefix } => {
                write!(f, "address {dev} {addr}/{prefix}")
            }
            KernelObject::Route {
                dst,
                prefix,
                table,
                metric,
                protocol,
            } => write!(
                f,
                "route {dst}/{prefix} table {table} metric {metric} protocol {protocol}"
            ),
            KernelObject::NftTable { family, name } => write!(f, "nft {family} {name}"),
        }
    }
}

/// A ledger line that is not a kernel object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a kernel object: `{0}`")]
pub struct BadLine(pub String);

/// A name the kernel or nft accepts: 1 to 64 characters, no white space or '/'.
fn name(word: Option<&str>) -> Option<String> {
    word.filter(|w| !w.is_empty() && w.len() <= 64 && !w.contains('/'))
        .map(str::to_string)
}

fn prefix_of(word: Option<&str>) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = word?.split_once('/')?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((addr.parse().ok()?, len))
}

impl FromStr for KernelObject {
    type Err = BadLine;

    fn from_str(line: &str) -> Result<Self, BadLine> {
        let mut w = line.split_whitespace();
        let parsed = match w.next() {
            Some("link") => name(w.next())
                .zip(name(w.next()))
                .map(|(name, kind)| KernelObject::Link { name, kind }),
            Some("address") => name(w.next())
                .zip(prefix_of(w.next()))
                .map(|(dev, (addr, prefix))| KernelObject::Address { dev, addr, prefix }),
            Some("route") => {
                let dst = prefix_of(w.next());
                let table = (w.next() == Some("table"))
                    .then(|| w.next()?.parse().ok())
                    .flatten();
                let metric = (w.next() == Some("metric"))
                    .then(|| w.next()?.parse().ok())
                    .flatten();
                let protocol = (w.next() == Some("protocol"))
                    .then(|| w.next()?.parse().ok())
                    .flatten();
                match (dst, table, metric, protocol) {
                    (Some((dst, prefix)), Some(table), Some(metric), Some(protocol)) => {
                        Some(KernelObject::Route {
                            dst,
                            prefix,
                            table,
                            metric,
                            protocol,
                        })
                    }
                    _ => None,
                }
            }
            Some("nft") => name(w.next())
                .zip(name(w.next()))
                .map(|(family, name)| KernelObject::NftTable { family, name }),
            _ => None,
        };
        match parsed {
            Some(object) if w.next().is_none() => Ok(object),
            _ => Err(BadLine(line.to_string())),
        }
    }
}

/// The record of what this device added. One per device (`Device::kernel`); a ledger without
/// a file (simulated devices, `duet check`) keeps its records in memory only.
#[derive(Debug)]
pub struct Ledger {
    path: Option<PathBuf>,
    objects: Mutex<BTreeSet<KernelObject>>,
}

impl Ledger {
    /// The ledger of the data directory `data_dir`, with what an earlier run left in it.
    /// Lines that are not objects are returned as errors (to report) and dropped at the next
    /// write; an unreadable file reads as empty, with its error.
    pub fn open(data_dir: &Path) -> (Ledger, Vec<String>) {
        let path = data_dir.join(LEDGER_FILE);
        let mut objects = BTreeSet::new();
        let mut errors = Vec::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    match line.parse() {
                        Ok(object) => {
                            objects.insert(object);
                        }
                        Err(e) => errors.push(format!("{}:{}: {e}", path.display(), n + 1)),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("cannot read {}: {e}", path.display())),
        }
        let ledger = Ledger {
            path: Some(path),
            objects: Mutex::new(objects),
        };
        (ledger, errors)
    }

    /// A ledger that writes nothing (the simulated network adds nothing to the kernel).
    pub fn in_memory() -> Ledger {
        Ledger {
            path: None,
            objects: Mutex::new(BTreeSet::new()),
        }
    }

    /// Record `object` BEFORE asking the kernel for it (write-ahead; see the module's doc).
    pub fn record(&self, object: KernelObject) -> io::Result<()> {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if objects.insert(object) {
            self.write(&objects)?;
        }
        Ok(())
    }

    /// Forget `object` once the kernel no longer has it.
    pub fn forget(&self, object: &KernelObject) -> io::Result<()> {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if objects.remove(object) {
            self.write(&objects)?;
        }
        Ok(())
    }

    /// Everything recorded, in a stable order.
    pub fn objects(&self) -> Vec<KernelObject> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects.iter().cloned().collect()
    }

    /// Replace the file with `objects` (owner-only; temporary file and rename, no fsync).
    fn write(&self, objects: &BTreeSet<KernelObject>) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let temp = path.with_file_name(format!(".{LEDGER_FILE}.tmp"));
        let mut text = String::from(HEADER);
        for o in objects {
            text.push_str(&o.to_string());
            text.push('\n');
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        drop(file);
        std::fs::rename(&temp, path)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn all_kinds() -> Vec<KernelObject> {
        vec![
            KernelObject::Link {
                name: "vrrp-3-1".into(),
                kind: "macvlan".into(),
            },
            KernelObject::Address {
                dev: "eth0".into(),
                addr: Ipv4Addr::new(10, 99, 1, 1),
                prefix: 32,
            },
            KernelObject::Route {
                dst: Ipv4Addr::new(10, 1, 0, 0),
                prefix: 16,
                table: 254,
                metric: 0,
                protocol: 208,
            },
            KernelObject::NftTable {
                family: "inet".into(),
                name: "duet_portal".into(),
            },
        ]
    }

    #[test]
    fn every_kind_of_object_reads_back_from_its_line() {
        for o in all_kinds() {
            assert_eq!(o.to_string().parse::<KernelObject>(), Ok(o.clone()), "{o}");
        }
        for bad in [
            "",
            "link vrrp-3-1",
            "link a b c",
            "address eth0 10.0.0.1",
            "address eth0 10.0.0.1/33",
            "route 10.0.0.0/8 table x metric 0 protocol 1",
            "route 10.0.0.0/8 table 254 protocol 1",
            "route 10.0.0.0/8 protocol 1 table 254 metric 0",
            "nft inet",
            "bogus thing",
        ] {
            assert!(bad.parse::<KernelObject>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn records_survive_in_an_owner_only_file_and_forgotten_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, errors) = Ledger::open(dir.path());
        assert!(errors.is_empty() && ledger.objects().is_empty());
        for o in all_kinds() {
            ledger.record(o).unwrap();
        }
        ledger.forget(&all_kinds()[0]).unwrap();
        let file = dir.path().join(LEDGER_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // A line damaged by hand is reported with its place and dropped; the rest loads.
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("link half\n");
        std::fs::write(&file, text).unwrap();
        let (again, errors) = Ledger::open(dir.path());
        let mut want = all_kinds()[1..].to_vec();
        want.sort();
        assert_eq!(again.objects(), want);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("kernel-objects:") && errors[0].contains("link half"));
    }

    #[test]
    fn a_memory_ledger_writes_nothing() {
        let ledger = Ledger::in_memory();
        ledger.record(all_kinds()[0].clone()).unwrap();
        assert_eq!(ledger.objects(), vec![all_kinds()[0].clone()]);
    }
}
