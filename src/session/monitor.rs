//! Log output to terminals (Comware's info-center terminal channel): each session decides
//! whether its terminal shows log messages as they happen (`terminal monitor`, on by default at
//! the console and off on vty lines, as on Comware) and from which severity
//! (`terminal logging level N`, default 6: informational and more severe).
//!
//! The settings are shared between the session (whose commands change them) and the thread
//! that prints the messages while the session waits at its prompt, so they are atomics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::Receiver;

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

/// The log messages a terminal shows, for the thread that prints them.
pub enum LogFeed {
    /// The device's entries, filtered by the session's settings as they arrive (so a change
    /// of `terminal monitor` applies to the next message).
    Entries {
        entries: Receiver<LogEntry>,
        terminal: Arc<TerminalLog>,
    },
    /// Lines already chosen elsewhere (by the device, for a `duet connect` client).
    Lines(Receiver<String>),
}

impl LogFeed {
    /// The next message to show; `None` when the feed ends or once `stop` is set. `stop` is
    /// looked at on every entry, shown or not, so the thread of an ended session ends at the
    /// first message logged after it (its own logout, usually), never lingers.
    pub fn next(&self, stop: &AtomicBool) -> Option<String> {
        loop {
            let text = match self {
                LogFeed::Entries { entries, terminal } => {
                    let entry = entries.recv().ok()?;
                    terminal.shows(&entry).then(|| entry.to_string())
                }
                LogFeed::Lines(lines) => Some(lines.recv().ok()?),
            };
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(text) = text {
                return Some(text);
            }
        }
    }
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

    #[test]
    fn a_feed_skips_what_the_terminal_does_not_show_and_ends_when_stopped() {
        let (tx, entries) = std::sync::mpsc::channel();
        let terminal = TerminalLog::for_line("vty0");
        terminal.set_monitor(true);
        terminal.set_level(5);
        let feed = LogFeed::Entries { entries, terminal };
        let stop = AtomicBool::new(false);
        tx.send(entry(6)).unwrap();
        tx.send(entry(5)).unwrap();
        assert!(
            feed.next(&stop)
                .unwrap()
                .contains("VRRP/5/VRRP_STATUS_CHANGE")
        );
        stop.store(true, Ordering::SeqCst);
        tx.send(entry(6)).unwrap();
        assert_eq!(feed.next(&stop), None);
        drop(tx);
        assert_eq!(feed.next(&AtomicBool::new(false)), None);
    }
}
