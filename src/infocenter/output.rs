//! Where one log line goes: the log buffer, the log hosts and the journal, as the
//! `info-center source` rules allow.

use super::buffer::{LogBuffer, LogEntry};
use super::config::{Destination, InfoCenterConfig};
use super::journal;
use super::loghost::LoghostSender;

/// Deliver `entry` to every output. Never blocks: the log hosts and the journal take it
/// through a bounded queue and a non-blocking socket (see their modules).
///
/// The journal gets every line (filter with `journalctl -p`); `info-center source` rules
/// apply to the log buffer and the log hosts.
pub fn deliver(logs: &LogBuffer, loghost: &LoghostSender, cfg: &InfoCenterConfig, entry: LogEntry) {
    if let Some(j) = journal::global() {
        j.send(&entry);
    }
    let to_host =
        !cfg.loghosts.is_empty() && cfg.allows(&entry.module, entry.severity, Destination::Loghost);
    let to_buffer = cfg.allows(&entry.module, entry.severity, Destination::Logbuffer);
    match (to_buffer, to_host) {
        (true, true) => {
            loghost.send(entry.clone(), &cfg.loghosts, cfg.loghost_timestamp);
            logs.push_entry(entry);
        }
        (true, false) => logs.push_entry(entry),
        (false, true) => loghost.send(entry, &cfg.loghosts, cfg.loghost_timestamp),
        (false, false) => {}
    }
}
