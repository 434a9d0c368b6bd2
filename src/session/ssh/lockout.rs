//! Brute-force protection, sans-IO: after [`MAX_FAILURES`] failed logins from one source
//! within [`WINDOW`], the source is refused for the configured time. Time is an argument.
//!
//! Invariant: a login attempt is counted as a failure when it *starts* (the server calls
//! [`Lockout::failure`] before checking the credential, [`Lockout::success`] takes it back),
//! so attempts sent in parallel cannot outrun the lockout: the 6th attempt from a source is
//! refused even while the first 5 are still being checked.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failed logins that lock a source out.
pub const MAX_FAILURES: usize = 5;
/// The window they must fall in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Sources tracked at most; beyond it the stalest failure records are dropped (lockouts are
/// kept), so a flood of sources cannot grow memory without bound.
const MAX_SOURCES: usize = 4096;

/// Failure history and lockouts per source address.
#[derive(Debug, Default)]
pub struct Lockout {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    locked: HashMap<IpAddr, Instant>,
}

impl Lockout {
    /// Is `source` refused at `now`? Expired lockouts are forgotten.
    pub fn is_locked(&mut self, source: IpAddr, now: Instant) -> bool {
        match self.locked.get(&source) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.locked.remove(&source);
                false
            }
            None => false,
        }
    }

    /// Record a failed login; true when this failure locks the source out (until
    /// `now + lock_for`).
    pub fn failure(&mut self, source: IpAddr, now: Instant, lock_for: Duration) -> bool {
        if self.failures.len() >= MAX_SOURCES && !self.failures.contains_key(&source) {
            self.failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
            if self.failures.len() >= MAX_SOURCES {
                self.failures.clear();
            }
        }
        let times = self.failures.entry(source).or_default();
        times.push_back(now);
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= MAX_FAILURES {
            self.failures.remove(&source);
            self.locked.insert(source, now + lock_for);
            return true;
        }
        false
    }

    /// A successful login clears the source's failures, and the lockout they caused: the
    /// attempt that proved the credential was one of the counted ones.
    pub fn success(&mut self, source: IpAddr) {
        self.failures.remove(&source);
        self.locked.remove(&source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: Duration = Duration::from_secs(300);

    #[test]
    fn five_failures_within_a_minute_lock_for_the_configured_time() {
        let mut l = Lockout::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(!l.failure(ip, t0 + Duration::from_secs(i * 10), LOCK));
        }
        assert!(!l.is_locked(ip, t0 + Duration::from_secs(40)));
        assert!(l.failure(ip, t0 + Duration::from_secs(50), LOCK));
        assert!(l.is_locked(ip, t0 + Duration::from_secs(51)));
        assert!(!l.is_locked(other, t0 + Duration::from_secs(51)));
        assert!(l.is_locked(ip, t0 + Duration::from_secs(349)));
        assert!(!l.is_locked(ip, t0 + Duration::from_secs(350)));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_lock() {
        let mut l = Lockout::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(!l.failure(ip, t0 + Duration::from_secs(i * 16), LOCK));
        }
        // A success clears the count.
        for i in 0..4 {
            l.failure(ip, t0 + Duration::from_secs(200 + i), LOCK);
        }
        l.success(ip);
        assert!(!l.failure(ip, t0 + Duration::from_secs(205), LOCK));
    }

    #[test]
    fn a_success_among_the_counted_attempts_lifts_the_lockout() {
        let mut l = Lockout::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        // Four typos, then the right password: counted when it starts, it locks the source...
        for i in 0..4 {
            l.failure(ip, t0 + Duration::from_secs(i), LOCK);
        }
        assert!(l.failure(ip, t0 + Duration::from_secs(5), LOCK));
        // ...and its success lifts the lock.
        l.success(ip);
        assert!(!l.is_locked(ip, t0 + Duration::from_secs(6)));
    }

    #[test]
    fn many_sources_stay_bounded() {
        let mut l = Lockout::default();
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            l.failure(IpAddr::from(i.to_be_bytes()), t0, LOCK);
        }
        assert!(l.failures.len() <= MAX_SOURCES);
    }
}
