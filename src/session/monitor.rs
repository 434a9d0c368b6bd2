//! Log output to terminals (Comware's info-center terminal channel): each session decides
//! whether its terminal shows log messages as they happen (`terminal monitor`, on by default at
//! the console and off on vty lines, as on Comware) and from which severity
//! (`terminal logging level N`, default 6: informational and more severe).
//!
//! The settings are shared between the session (whose commands change them) and the thread
//! that prints the messages while the session waits at its prompt, so they are atomics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use crate::infocenter::LogEntry;

/// `terminal logging level` of a new session.
pub const DEFAULT_LEVEL: u8 = 6;

/// One session's terminal log settings.
#[derive(Debug)]
pub struct TerminalLog {
    monitor: AtomicBool,
    level: AtomicU8,
}

impl TerminalLog {
    /// The settings a new session on `line` starts with: monitoring on at the console only.
    pub fn for_line(line: &str) -> Arc<TerminalLog> {
        Arc::new(TerminalLog {
            monitor: AtomicBool::new(line.starts_with("con")),
            level: AtomicU8::new(DEFAULT_LEVEL),
        })
    }

    pub fn set_monitor(&self, on: bool) {
        self.monitor.store(on, Ordering::Relaxed);
    }

    pub fn monitor(&self) -> bool {
        self.monitor.load(Ordering::Relaxed)
    }

    pub fn set_level(&self, level: u8) {
        self.level.store(level.min(7), Ordering::Relaxed);
    }

    pub fn level(&self) -> u8 {
        self.level.load(Ordering::Relaxed)
    }

    /// Does this terminal show `entry` now?
    pub fn shows(&self, entry: &LogEntry) -> bool {
        self.monitor() && entry.severity <= self.level()
    }
}

/// The lines of `entries` that `terminal` shows, as the terminal prints them. A thread of its
/// own filters them; it ends when the returned receiver is gone and the next entry arrives, or
/// when the log buffer drops the watch.
pub fn feed(entries: Receiver<LogEntry>, terminal: Arc<TerminalLog>) -> Receiver<String> {
    let (tx, rx) = sync_channel(64);
    let spawned = std::thread::Builder::new()
        .name("terminal-log".into())
        .spawn(move || {
            for entry in entries {
                if terminal.shows(&entry) && tx.send(entry.to_string()).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the terminal log feed");
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(severity: u8) -> LogEntry {
        LogEntry {
            time: chrono::Local::now(),
            sysname: "Duet".into(),
            module: "VRRP".into(),
            severity,
            mnemonic: "VRRP_STATUS_CHANGE".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn the_console_monitors_by_default_and_vty_lines_do_not() {
        let console = TerminalLog::for_line("con0");
        assert!(console.shows(&entry(6)));
        assert!(!console.shows(&entry(7)));
        let vty = TerminalLog::for_line("vty0");
        assert!(!vty.shows(&entry(0)));
        vty.set_monitor(true);
        vty.set_level(3);
        assert!(vty.shows(&entry(3)) && !vty.shows(&entry(4)));
    }
}
