//! The log buffer: a ring of Comware-format log entries (`display logbuffer`).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use chrono::{DateTime, Local};

/// Buffer size of a new device (`info-center logbuffer size`), in entries.
pub const DEFAULT_SIZE: usize = 1024;
/// The largest size `info-center logbuffer size` accepts.
pub const MAX_SIZE: usize = 1024;

/// One log line as Comware keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub time: DateTime<Local>,
    pub sysname: String,
    pub module: String,
    /// 0 (emergency) to 7 (debugging).
    pub severity: u8,
    pub mnemonic: String,
    pub message: String,
}

impl LogEntry {
    /// A line stamped with the current local time (severity clamped to 7).
    pub fn now(sysname: &str, module: &str, severity: u8, mnemonic: &str, message: &str) -> Self {
        LogEntry {
            time: Local::now(),
            sysname: sysname.to_string(),
            module: module.to_string(),
            severity: severity.min(7),
            mnemonic: mnemonic.to_string(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for LogEntry {
    /// `%Nov 21 10:38:12:320 2026 Duet SHELL/5/SHELL_CMD: message` (the day is padded to two
    /// columns with a space, milliseconds follow the seconds after a colon).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "%{} {} {}/{}/{}: {}",
            self.time.format("%b %e %H:%M:%S:%3f %Y"),
            self.sysname,
            self.module,
            self.severity,
            self.mnemonic,
            self.message
        )
    }
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    /// Entries pushed out of a full buffer by newer ones.
    overwritten: u64,
    /// Entries not stored because the buffer size is 0.
    dropped: u64,
}

/// What `display logbuffer` shows in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogStats {
    pub capacity: usize,
    pub current: usize,
    pub overwritten: u64,
    pub dropped: u64,
}

/// The device's log buffer: the newest `capacity` entries, oldest first. Every new entry is
/// also handed to the terminals that watch the log (info-center's terminal channel: the
/// console, sessions with `terminal monitor`), whatever the buffer's size.
#[derive(Debug)]
pub struct LogBuffer {
    ring: Mutex<Ring>,
    watchers: Mutex<Vec<SyncSender<LogEntry>>>,
}

/// Entries a terminal may have waiting; beyond this a slow or stuck terminal misses entries
/// rather than holding up the engine that logs (they stay in the buffer).
const WATCH_BACKLOG: usize = 256;

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::with_capacity(DEFAULT_SIZE)
    }
}

impl LogBuffer {
    pub fn with_capacity(capacity: usize) -> Self {
        LogBuffer {
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity.min(MAX_SIZE)),
                capacity,
                overwritten: 0,
                dropped: 0,
            }),
            watchers: Mutex::default(),
        }
    }

    /// Entries logged from now on, for one terminal; dropping the receiver ends the watch.
    pub fn watch(&self) -> Receiver<LogEntry> {
        let (tx, rx) = sync_channel(WATCH_BACKLOG);
        self.watchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Hand `entry` to every terminal watching; never blocks.
    fn tell_watchers(&self, entry: &LogEntry) {
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain(|tx| {
            !matches!(
                tx.try_send(entry.clone()),
                Err(TrySendError::Disconnected(_))
            )
        });
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record one log line (`%Nov 21 10:38:12:320 2026 SYSNAME MODULE/SEVERITY/MNEMONIC: MESSAGE`)
    /// stamped with the current local time.
    pub fn push(&self, sysname: &str, module: &str, severity: u8, mnemonic: &str, message: &str) {
        self.push_entry(LogEntry::now(sysname, module, severity, mnemonic, message));
    }

    /// Record an entry as given (tests use it with a fixed time).
    pub fn push_entry(&self, entry: LogEntry) {
        self.tell_watchers(&entry);
        let mut ring = self.ring();
        if ring.capacity == 0 {
            ring.dropped += 1;
            return;
        }
        while ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
            ring.overwritten += 1;
        }
        ring.entries.push_back(entry);
    }

    /// Change the size; when shrinking, the oldest entries go (counted as overwritten).
    pub fn set_capacity(&self, capacity: usize) {
        let mut ring = self.ring();
        ring.capacity = capacity;
        while ring.entries.len() > capacity {
            ring.entries.pop_front();
            ring.overwritten += 1;
        }
    }

    /// `reset logbuffer`: forget every entry and the counters.
    pub fn clear(&self) {
        let mut ring = self.ring();
        ring.entries.clear();
        ring.overwritten = 0;
        ring.dropped = 0;
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.ring().entries.iter().cloned().collect()
    }

    pub fn stats(&self) -> LogStats {
        let ring = self.ring();
        LogStats {
            capacity: ring.capacity,
            current: ring.entries.len(),
            overwritten: ring.overwritten,
            dropped: ring.dropped,
        }
    }
}

/// A fixed local time (tests stamp entries with it).
#[cfg(test)]
pub(crate) fn local_time(
    year: i32,
    month: u32,
    day: u32,
    h: u32,
    m: u32,
    s: u32,
    ms: u32,
) -> Option<DateTime<Local>> {
    let naive =
        chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_milli_opt(h, m, s, ms)?;
    chrono::TimeZone::from_local_datetime(&Local, &naive).earliest()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> LogEntry {
        LogEntry {
            time: local_time(2026, 11, 21, 10, 38, 12, 320).unwrap(),
            sysname: "Duet".into(),
            module: "SHELL".into(),
            severity: 5,
            mnemonic: "SHELL_CMD".into(),
            message: format!("message {n}"),
        }
    }

    #[test]
    fn comware_line_format() {
        assert_eq!(
            entry(1).to_string(),
            "%Nov 21 10:38:12:320 2026 Duet SHELL/5/SHELL_CMD: message 1"
        );
        let mut e = entry(2);
        e.time = local_time(2018, 9, 6, 7, 8, 9, 5).unwrap();
        assert_eq!(
            e.to_string(),
            "%Sep  6 07:08:09:005 2018 Duet SHELL/5/SHELL_CMD: message 2"
        );
    }

    #[test]
    fn ring_wraps_keeping_the_newest() {
        let b = LogBuffer::with_capacity(3);
        for n in 0..5 {
            b.push_entry(entry(n));
        }
        let kept: Vec<String> = b.entries().into_iter().map(|e| e.message).collect();
        assert_eq!(kept, ["message 2", "message 3", "message 4"]);
        assert_eq!(
            b.stats(),
            LogStats {
                capacity: 3,
                current: 3,
                overwritten: 2,
                dropped: 0
            }
        );
    }

    #[test]
    fn shrink_zero_and_clear() {
        let b = LogBuffer::with_capacity(4);
        for n in 0..4 {
            b.push_entry(entry(n));
        }
        b.set_capacity(2);
        assert_eq!(b.entries()[0].message, "message 2");
        assert_eq!(b.stats().overwritten, 2);
        b.set_capacity(0);
        b.push("Duet", "X", 6, "Y", "gone");
        assert_eq!(
            b.stats(),
            LogStats {
                capacity: 0,
                current: 0,
                overwritten: 4,
                dropped: 1
            }
        );
        b.clear();
        assert_eq!(
            b.stats(),
            LogStats {
                capacity: 0,
                current: 0,
                overwritten: 0,
                dropped: 0
            }
        );
    }

    proptest::proptest! {
        /// Whatever the sizes and resizes, the buffer holds the newest entries in order, and
        /// every entry pushed is stored, overwritten or dropped.
        #[test]
        fn ring_keeps_the_newest(ops in proptest::collection::vec((0usize..6, proptest::option::of(0usize..5)), 0..60)) {
            let b = LogBuffer::with_capacity(3);
            let mut model: Vec<usize> = Vec::new();
            let mut cap = 3;
            let mut pushed = 0u64;
            for (i, (n, resize)) in ops.into_iter().enumerate() {
                if let Some(c) = resize {
                    b.set_capacity(c);
                    cap = c;
                    let excess = model.len().saturating_sub(cap);
                    model.drain(..excess);
                }
                for k in 0..n {
                    b.push_entry(entry(i * 10 + k));
                    pushed += 1;
                    if cap > 0 {
                        model.push(i * 10 + k);
                        let excess = model.len().saturating_sub(cap);
                        model.drain(..excess);
                    }
                }
            }
            let kept: Vec<String> = b.entries().into_iter().map(|e| e.message).collect();
            let want: Vec<String> = model.iter().map(|n| format!("message {n}")).collect();
            proptest::prop_assert_eq!(kept, want);
            let st = b.stats();
            proptest::prop_assert!(st.current <= cap);
            proptest::prop_assert_eq!(st.current as u64 + st.overwritten + st.dropped, pushed);
        }
    }

    #[test]
    fn severity_is_clamped() {
        let b = LogBuffer::default();
        b.push("Duet", "X", 42, "Y", "z");
        assert_eq!(b.entries()[0].severity, 7);
        assert_eq!(b.stats().capacity, DEFAULT_SIZE);
    }
}
