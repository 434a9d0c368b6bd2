//! Log lines to the systemd journal, with their Comware parts as fields, through the journal's
//! native protocol (systemd's "Native Journal Protocol" document): one datagram to
//! `/run/systemd/journal/socket` per line, each field `NAME=value\n`, or, for a value holding a
//! newline, `NAME\n`, its length as 64-bit little endian, the value and `\n`.
//!
//! Fields: `MESSAGE` (`MODULE/LEVEL/MNEMONIC: text`), `PRIORITY` (the Comware severity, which
//! is syslog's), `SYSLOG_IDENTIFIER=duet`, `DUET_MODULE`, `DUET_LEVEL`, `DUET_MNEMONIC` and
//! `DUET_SYSNAME` (several devices may share a process in the demo).
//!
//! Invariant: sending never blocks — the socket is non-blocking; a line the journal cannot
//! take at once (its socket buffer is full, or the line is too large for one datagram) is
//! dropped and counted.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::buffer::LogEntry;

/// Where journald listens for native-protocol datagrams.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// A connection to a journal socket.
#[derive(Debug)]
pub struct Journal {
    socket: UnixDatagram,
    path: PathBuf,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
}

static JOURNAL: OnceLock<Option<Journal>> = OnceLock::new();

/// Are we a systemd service whose logs the journal takes? `JOURNAL_STREAM` is set when
/// stdout/stderr are connected to the journal; a service with other outputs still has
/// `INVOCATION_ID`, and the journal's socket exists.
pub fn under_systemd(var: impl Fn(&str) -> Option<String>, socket_exists: bool) -> bool {
    var("JOURNAL_STREAM").is_some() || (socket_exists && var("INVOCATION_ID").is_some())
}

/// Start sending to the journal if this process runs under systemd (called once, by
/// `init_tracing`). Returns whether lines go to the journal.
pub fn init_from_env() -> bool {
    JOURNAL
        .get_or_init(|| {
            let path = Path::new(JOURNAL_SOCKET);
            if !under_systemd(|v| std::env::var(v).ok(), path.exists()) {
                return None;
            }
            Journal::connect(path).ok()
        })
        .is_some()
}

/// The process's journal, when logs go there.
pub fn global() -> Option<&'static Journal> {
    JOURNAL.get().and_then(Option::as_ref)
}

impl Journal {
    /// A non-blocking socket that sends to the journal socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Journal> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Journal {
            socket,
            path: path.to_path_buf(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Send one line; never blocks (a line that cannot go at once is counted as dropped).
    pub fn send(&self, entry: &LogEntry) {
        let datagram = encode(entry);
        match self.socket.send_to(&datagram, &self.path) {
            Ok(_) => self.sent.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.dropped.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Append one field in the native protocol's encoding.
fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value.as_bytes());
    } else {
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'\n');
}

/// The datagram of one log line.
pub fn encode(entry: &LogEntry) -> Vec<u8> {
    let severity = entry.severity.min(7).to_string();
    let mut out = Vec::with_capacity(128 + entry.message.len());
    field(
        &mut out,
        "MESSAGE",
        &format!(
            "{}/{}/{}: {}",
            entry.module, severity, entry.mnemonic, entry.message
        ),
    );
    field(&mut out, "PRIORITY", &severity);
    field(&mut out, "SYSLOG_IDENTIFIER", "duet");
    field(&mut out, "DUET_MODULE", &entry.module);
    field(&mut out, "DUET_LEVEL", &severity);
    field(&mut out, "DUET_MNEMONIC", &entry.mnemonic);
    field(&mut out, "DUET_SYSNAME", &entry.sysname);
    out
}

/// Decode a native-protocol datagram into its fields (tests check the encoding with it).
#[cfg(test)]
pub(crate) fn decode(mut data: &[u8]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    while !data.is_empty() {
        let nl = data.iter().position(|&b| b == b'\n').expect("newline");
        let line = &data[..nl];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            fields.push((
                String::from_utf8(line[..eq].to_vec()).unwrap(),
                String::from_utf8(line[eq + 1..].to_vec()).unwrap(),
            ));
            data = &data[nl + 1..];
        } else {
            let name = String::from_utf8(line.to_vec()).unwrap();
            let rest = &data[nl + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            fields.push((name, String::from_utf8(rest[8..8 + len].to_vec()).unwrap()));
            assert_eq!(rest[8 + len], b'\n');
            data = &rest[9 + len..];
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infocenter::buffer::local_time;

    fn entry(message: &str) -> LogEntry {
        LogEntry {
            time: local_time(2026, 11, 1, 9, 8, 7, 0).unwrap(),
            sysname: "DuetA".into(),
            module: "DHCPS".into(),
            severity: 5,
            mnemonic: "DHCPS_DECLINE".into(),
            message: message.into(),
        }
    }

    #[test]
    fn detection() {
        let env = |vars: &'static [&'static str]| {
            move |v: &str| vars.contains(&v).then(|| "x".to_string())
        };
        assert!(under_systemd(env(&["JOURNAL_STREAM"]), false));
        assert!(under_systemd(env(&["INVOCATION_ID"]), true));
        assert!(!under_systemd(env(&["INVOCATION_ID"]), false));
        assert!(!under_systemd(env(&[]), true));
    }

    #[test]
    fn fields_reach_a_journal_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let server = UnixDatagram::bind(&path).unwrap();
        let journal = Journal::connect(&path).unwrap();
        journal.send(&entry("10.0.0.5 declined by 02-00-00-00-00-01"));
        journal.send(&entry("two\nlines"));
        let mut buf = vec![0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let fields = decode(&buf[..n]);
        let want: Vec<(String, String)> = [
            (
                "MESSAGE",
                "DHCPS/5/DHCPS_DECLINE: 10.0.0.5 declined by 02-00-00-00-00-01",
            ),
            ("PRIORITY", "5"),
            ("SYSLOG_IDENTIFIER", "duet"),
            ("DUET_MODULE", "DHCPS"),
            ("DUET_LEVEL", "5"),
            ("DUET_MNEMONIC", "DHCPS_DECLINE"),
            ("DUET_SYSNAME", "DuetA"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(fields, want);
        // A message with a newline uses the length-prefixed form.
        let n = server.recv(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"MESSAGE\n"));
        assert_eq!(decode(&buf[..n])[0].1, "DHCPS/5/DHCPS_DECLINE: two\nlines");
        assert_eq!(journal.sent.load(Ordering::Relaxed), 2);
        // The journal gone: counted as dropped, no error, no blocking.
        drop(server);
        journal.send(&entry("lost"));
        assert_eq!(journal.dropped.load(Ordering::Relaxed), 1);
    }
}
