//! Sending log lines to log hosts over UDP syslog (`info-center loghost`).
//!
//! The datagram is the RFC 3164 form Comware sends (docs/logs-and-network.md says why):
//!
//! ```text
//! <190>Nov 21 10:38:12 2026 Duet %%10VRRP/6/VRRP_STATUS_CHANGE: The status of ...
//! ```
//!
//! `<PRI>` is facility * 8 + severity (RFC 3164 section 4.1.1), the timestamp is the one
//! `info-center timestamp loghost` chose, then the sysname, then `%%10` (Comware's marker and
//! version 10 of its format) and the line as `display logbuffer` shows it.
//!
//! Invariant: sending never blocks the caller (an engine, a session). Lines wait in a bounded
//! queue for one sender thread per device; when it is full the line is dropped and counted
//! (`display info-center` shows the count), never waited for.

use std::net::{SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};

use super::buffer::LogEntry;
use super::config::{LogHost, LoghostTimestamp};

/// Lines that may wait for the sender thread before new ones are dropped.
pub const QUEUE_LEN: usize = 1024;

/// The largest datagram sent (RFC 3164 section 4.1: 1024 bytes); longer messages are cut at a
/// character boundary.
pub const MAX_DATAGRAM: usize = 1024;

/// The counters `display info-center` shows for the log hosts.
#[derive(Debug, Default)]
pub struct LoghostCounters {
    /// Datagrams handed to the kernel.
    pub sent: AtomicU64,
    /// Lines dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Datagrams the kernel refused (no route, unreachable ...).
    pub failed: AtomicU64,
}

/// One line for the log hosts.
struct Outgoing {
    entry: LogEntry,
    hosts: Vec<LogHost>,
    timestamp: LoghostTimestamp,
}

/// A device's way to its log hosts: a bounded queue and the thread that sends (started with
/// the first line for a log host).
#[derive(Debug, Default)]
pub struct LoghostSender {
    queue: OnceLock<Option<SyncSender<Outgoing>>>,
    pub counters: Arc<LoghostCounters>,
}

impl LoghostSender {
    /// Queue `entry` for `hosts`; never blocks. A full queue drops the line (counted).
    pub fn send(&self, entry: LogEntry, hosts: &[LogHost], timestamp: LoghostTimestamp) {
        if hosts.is_empty() {
            return;
        }
        let Some(queue) = self.queue.get_or_init(|| self.start()) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let out = Outgoing {
            entry,
            hosts: hosts.to_vec(),
            timestamp,
        };
        match queue.try_send(out) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The sender thread and its queue; `None` when no socket or thread can be had (every
    /// line is then counted as dropped, and the reason is in the operator log once).
    fn start(&self) -> Option<SyncSender<Outgoing>> {
        let socket = match UdpSocket::bind("0.0.0.0:0") {
            Ok(s) => s,
            Err(e) => {
                // No Comware fields: this must not come back to the info-center.
                tracing::error!("info-center: cannot open a UDP socket for the log hosts: {e}");
                return None;
            }
        };
        let (tx, rx) = sync_channel(QUEUE_LEN);
        let counters = self.counters.clone();
        let spawned = std::thread::Builder::new()
            .name("duet-loghost".into())
            .spawn(move || run(socket, rx, &counters));
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::error!("info-center: cannot start the log host sender: {e}");
                None
            }
        }
    }
}

/// The sender thread: until the device (and with it the queue's sender) is gone.
fn run(socket: UdpSocket, rx: Receiver<Outgoing>, counters: &LoghostCounters) {
    let mut buf = String::with_capacity(MAX_DATAGRAM);
    while let Ok(out) = rx.recv() {
        for host in &out.hosts {
            buf.clear();
            format_datagram(&mut buf, &out.entry, host.facility_code(), out.timestamp);
            let to = SocketAddrV4::new(host.address, host.port);
            match socket.send_to(buf.as_bytes(), to) {
                Ok(_) => counters.sent.fetch_add(1, Ordering::Relaxed),
                Err(_) => counters.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

/// The syslog datagram of `entry` (see the module documentation), at most [`MAX_DATAGRAM`]
/// bytes.
pub fn format_datagram(
    out: &mut String,
    entry: &LogEntry,
    facility_code: u8,
    timestamp: LoghostTimestamp,
) {
    use std::fmt::Write as _;
    let pri = u16::from(facility_code) * 8 + u16::from(entry.severity.min(7));
    let _ = write!(out, "<{pri}>");
    let format = match timestamp {
        LoghostTimestamp::Date => Some("%b %e %H:%M:%S %Y"),
        LoghostTimestamp::Iso => Some("%Y-%m-%dT%H:%M:%S"),
        LoghostTimestamp::NoYearDate => Some("%b %e %H:%M:%S"),
        LoghostTimestamp::None => None,
    };
    if let Some(f) = format {
        let _ = write!(out, "{} ", entry.time.format(f));
    }
    let _ = write!(
        out,
        "{} %%10{}/{}/{}: {}",
        entry.sysname, entry.module, entry.severity, entry.mnemonic, entry.message
    );
    if out.len() > MAX_DATAGRAM {
        let mut cut = MAX_DATAGRAM;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;
    use crate::infocenter::buffer::local_time;

    fn entry(message: &str) -> LogEntry {
        LogEntry {
            time: local_time(2026, 11, 1, 9, 8, 7, 320).unwrap(),
            sysname: "DuetA".into(),
            module: "VRRP".into(),
            severity: 6,
            mnemonic: "VRRP_STATUS_CHANGE".into(),
            message: message.into(),
        }
    }

    fn formatted(ts: LoghostTimestamp) -> String {
        let mut s = String::new();
        format_datagram(&mut s, &entry("to Master"), 23, ts);
        s
    }

    #[test]
    fn comware_rfc3164_forms() {
        // local7 (23) * 8 + informational (6) = 190.
        assert_eq!(
            formatted(LoghostTimestamp::Date),
            "<190>Nov  1 09:08:07 2026 DuetA %%10VRRP/6/VRRP_STATUS_CHANGE: to Master"
        );
        assert_eq!(
            formatted(LoghostTimestamp::NoYearDate),
            "<190>Nov  1 09:08:07 DuetA %%10VRRP/6/VRRP_STATUS_CHANGE: to Master"
        );
        assert_eq!(
            formatted(LoghostTimestamp::Iso),
            "<190>2026-11-01T09:08:07 DuetA %%10VRRP/6/VRRP_STATUS_CHANGE: to Master"
        );
        assert_eq!(
            formatted(LoghostTimestamp::None),
            "<190>DuetA %%10VRRP/6/VRRP_STATUS_CHANGE: to Master"
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let mut s = String::new();
        format_datagram(
            &mut s,
            &entry(&"é".repeat(1000)),
            16,
            LoghostTimestamp::None,
        );
        assert!(s.len() <= MAX_DATAGRAM && s.len() > MAX_DATAGRAM - 2);
        assert!(s.starts_with("<134>DuetA"));
    }

    #[test]
    fn lines_reach_every_host_over_udp() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let hosts: Vec<LogHost> = [&a, &b]
            .iter()
            .enumerate()
            .map(|(i, s)| LogHost {
                address: Ipv4Addr::LOCALHOST,
                port: s.local_addr().unwrap().port(),
                facility: i as u8,
            })
            .collect();
        let sender = LoghostSender::default();
        sender.send(entry("one"), &hosts, LoghostTimestamp::None);
        let mut buf = [0u8; 2048];
        for (s, pri) in [(&a, 134), (&b, 142)] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let n = s.recv(&mut buf).unwrap();
            assert_eq!(
                std::str::from_utf8(&buf[..n]).unwrap(),
                format!("<{pri}>DuetA %%10VRRP/6/VRRP_STATUS_CHANGE: one")
            );
        }
        // `sent` is counted after the datagram left: wait for the second count.
        for _ in 0..500 {
            if sender.counters.sent.load(Ordering::Relaxed) == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(sender.counters.sent.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let sender = LoghostSender::default();
        // Never started: a queue nobody reads, so it fills.
        let (tx, _rx) = sync_channel(2);
        sender.queue.set(Some(tx)).unwrap();
        let host = [LogHost {
            address: Ipv4Addr::LOCALHOST,
            port: 9,
            facility: 7,
        }];
        let started = std::time::Instant::now();
        for i in 0..10 {
            sender.send(entry(&i.to_string()), &host, LoghostTimestamp::Date);
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(sender.counters.dropped.load(Ordering::Relaxed), 8);
        // No log host: nothing queued, nothing counted.
        sender.send(entry("x"), &[], LoghostTimestamp::Date);
        assert_eq!(sender.counters.dropped.load(Ordering::Relaxed), 8);
    }
}
