//! A latency histogram cheap enough for a hot path: one relaxed atomic add per bucket hit,
//! plus the count and the sum; no lock, no allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (Prometheus's `le`): 50 µs to 2.5 s, the range of
/// an `fsync` from a fast SSD to a struggling disk.
pub const BOUNDS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5,
];

/// Observed durations, by bucket (not cumulative: [`Histogram::snapshot`] adds them up).
#[derive(Debug, Default)]
pub struct Histogram {
    /// One per bound, then one for what is above the last.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

/// A histogram as read at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts: observations at most `BOUNDS[i]` seconds.
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BOUNDS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BOUNDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The cumulative view Prometheus wants. Read without a lock, so a concurrent
    /// observation may be in one field and not yet another; `count` is then raised to the
    /// bucket total so `+Inf` never falls below a finite bucket.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let mut cumulative = Vec::with_capacity(BOUNDS.len());
        for (i, b) in self.buckets.iter().enumerate() {
            total += b.load(Ordering::Relaxed);
            if i < BOUNDS.len() {
                cumulative.push(total);
            }
        }
        HistogramSnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed).max(total),
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(40));
        h.observe(Duration::from_micros(700));
        h.observe(Duration::from_millis(700));
        h.observe(Duration::from_secs(10));
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.cumulative[0], 1); // <= 50 µs
        assert_eq!(s.cumulative[4], 2); // <= 1 ms
        assert_eq!(s.cumulative[12], 3); // <= 1 s
        assert_eq!(*s.cumulative.last().unwrap(), 3); // the 10 s one is only in +Inf
        assert!((s.sum_seconds - 10.70074).abs() < 1e-9);
    }
}
