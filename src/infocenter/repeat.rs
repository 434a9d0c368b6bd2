//! Rate limiting of a log message that an engine can hit on every batch (a failing disk fails
//! every journal flush): the first occurrence is logged; later ones within a window are only
//! counted, and the count is reported ("repeated N times") with the next message logged or when
//! the condition clears. A burst of one error then costs two lines of the log buffer instead of
//! pushing everything else out of it, as syslog's "last message repeated N times" does.

use std::time::{Duration, Instant};

/// What to do with one occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    /// Log it; `repeated` occurrences were counted and not logged since the last one logged.
    Log { repeated: u64 },
    /// Counted, not logged.
    Quiet,
}

/// One repeating message's limiter.
#[derive(Clone, Debug)]
pub struct Repeats {
    window: Duration,
    /// When the last occurrence was logged.
    logged: Option<Instant>,
    suppressed: u64,
}

impl Repeats {
    /// At most one occurrence logged per `window`.
    pub const fn new(window: Duration) -> Repeats {
        Repeats {
            window,
            logged: None,
            suppressed: 0,
        }
    }

    /// An occurrence at `now`.
    pub fn occur(&mut self, now: Instant) -> Occurrence {
        match self.logged {
            Some(at) if now < at + self.window => {
                self.suppressed += 1;
                Occurrence::Quiet
            }
            _ => {
                self.logged = Some(now);
                Occurrence::Log {
                    repeated: std::mem::take(&mut self.suppressed),
                }
            }
        }
    }

    /// The condition cleared (the next write succeeded): how many occurrences were counted and
    /// not logged since the last one logged, if any. The next occurrence is logged at once.
    pub fn clear(&mut self) -> Option<u64> {
        self.logged = None;
        Some(std::mem::take(&mut self.suppressed)).filter(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_logged_then_counted_then_summarised() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut r = Repeats::new(Duration::from_secs(60));
        assert_eq!(r.occur(t0), Occurrence::Log { repeated: 0 });
        for i in 1..=100 {
            assert_eq!(r.occur(t0 + s * i / 10), Occurrence::Quiet);
        }
        // A window later: logged again, with the count of those in between.
        assert_eq!(r.occur(t0 + s * 60), Occurrence::Log { repeated: 100 });
        assert_eq!(r.occur(t0 + s * 61), Occurrence::Quiet);
        // Cleared: the count is reported, and the next occurrence is logged at once.
        assert_eq!(r.clear(), Some(1));
        assert_eq!(r.clear(), None);
        assert_eq!(r.occur(t0 + s * 62), Occurrence::Log { repeated: 0 });
    }
}
