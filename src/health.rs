//! The engines' heartbeats, and the systemd watchdog that follows them (docs/operations.md,
//! "What the unit does on a crash").
//!
//! Each engine whose hang would leave the device useless (VRRP, DHCP) registers a [`Beat`]
//! and beats it from its own event loop, every [`BEAT_PERIOD`], as one more branch of the loop's
//! `select!`. So a beat proves that the loop itself still turns: a loop blocked in a system
//! call or spinning in a handler stops beating. [`feed_watchdog`] sends systemd `WATCHDOG=1`
//! only while every registered engine beat within [`STALE_AFTER`]; otherwise systemd kills
//! the device after `WatchdogSec=`, runs `duet cleanup` (ExecStopPost) and restarts it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often an engine's loop beats.
pub const BEAT_PERIOD: Duration = Duration::from_secs(1);
/// An engine whose last beat is older than this is stuck.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// The beats of a device's engines.
#[derive(Debug)]
pub struct Health {
    epoch: Instant,
    engines: Mutex<Vec<(&'static str, Arc<AtomicU64>)>>,
}

/// One engine's heartbeat: [`Beat::beat`] from the engine's loop.
#[derive(Debug)]
pub struct Beat {
    epoch: Instant,
    last: Arc<AtomicU64>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            epoch: Instant::now(),
            engines: Mutex::new(Vec::new()),
        }
    }
}

fn millis(since: Duration) -> u64 {
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

impl Health {
    /// Register an engine (it counts as having just beaten).
    pub fn register(&self, engine: &'static str) -> Beat {
        let last = Arc::new(AtomicU64::new(millis(self.epoch.elapsed())));
        self.engines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((engine, last.clone()));
        Beat {
            epoch: self.epoch,
            last,
        }
    }

    /// The engines whose last beat, seen at `now`, is older than [`STALE_AFTER`]. An engine
    /// whose [`Beat`] was dropped (it stopped) is no longer watched.
    pub fn stuck(&self, now: Instant) -> Vec<&'static str> {
        let now = millis(now.saturating_duration_since(self.epoch));
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        engines.retain(|(_, last)| Arc::strong_count(last) > 1);
        engines
            .iter()
            .filter(|(_, last)| {
                now.saturating_sub(last.load(Ordering::Relaxed)) > millis(STALE_AFTER)
            })
            .map(|(name, _)| *name)
            .collect()
    }
}

impl Beat {
    /// The engine's loop turned.
    pub fn beat(&self) {
        self.last
            .store(millis(self.epoch.elapsed()), Ordering::Relaxed);
    }
}

/// The interval an engine's loop selects on to beat (the first tick is immediate; missed
/// ticks are not made up for).
pub fn ticker() -> tokio::time::Interval {
    let mut tick = tokio::time::interval(BEAT_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Under systemd with `WatchdogSec=` (`WATCHDOG_USEC` set for this process): send
/// `WATCHDOG=1` every half interval while no engine is stuck; runs until the process ends.
/// Without a watchdog it returns at once.
pub async fn feed_watchdog(health: Arc<Health>) {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_micros(usec) / 2);
    let mut reported = false;
    loop {
        tick.tick().await;
        let stuck = health.stuck(Instant::now());
        if stuck.is_empty() {
            reported = false;
            if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]) {
                tracing::warn!(error = %e, "cannot notify the systemd watchdog");
            }
        } else if !reported {
            // Said once: systemd kills the device within WatchdogSec.
            reported = true;
            tracing::error!(
                engines = ?stuck,
                "engine loop stuck for more than {STALE_AFTER:?}: the systemd watchdog is no longer notified"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_that_stops_beating_is_stuck_and_a_stopped_one_is_forgotten() {
        let health = Health::default();
        let vrrp = health.register("vrrp");
        let dhcp = health.register("dhcp");
        let t0 = Instant::now();
        assert!(health.stuck(t0).is_empty());
        let later = t0 + STALE_AFTER + Duration::from_secs(1);
        let mut stuck = health.stuck(later);
        stuck.sort();
        assert_eq!(stuck, vec!["dhcp", "vrrp"]);
        // vrrp's loop turns again (its beat is "now" relative to the epoch; pretend the
        // clock moved by beating at the same offset as `later`).
        vrrp.last
            .store(millis(later - health.epoch), Ordering::Relaxed);
        assert_eq!(health.stuck(later), vec!["dhcp"]);
        drop(dhcp);
        assert!(health.stuck(later).is_empty());
        vrrp.beat();
        assert!(health.stuck(Instant::now()).is_empty());
    }
}
