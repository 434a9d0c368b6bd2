//! The signals that stop a running `duet` (`duet run` and `duet demo`): SIGINT, SIGTERM and
//! SIGHUP, caught from the moment [`StopSignals::new`] runs (inside a tokio runtime).

use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is built.
pub struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    pub fn new() -> io::Result<Self> {
        Ok(StopSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Wait for a stop signal; with `ignore_int`, SIGINT is not one (Ctrl+C on a terminal
    /// abandons a line only).
    pub async fn next(mut self, ignore_int: bool) {
        loop {
            tokio::select! {
                _ = self.int.recv() => if ignore_int { continue },
                _ = self.term.recv() => {}
                _ = self.hup.recv() => {}
            }
            return;
        }
    }
}
