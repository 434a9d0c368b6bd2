//! Password checks of the SSH server, bounded. A check runs argon2id, which takes the hash's
//! memory (19 MiB for our hashes) and tens of milliseconds of CPU on purpose; unbounded, a
//! few hundred wrong passwords sent at once by an unauthenticated client would take gigabytes
//! and get the whole device killed by the OOM killer.
//!
//! Invariant: at most [`CHECKERS`] checks run at once, each in the [`Scratch`] its checker
//! thread keeps, so checks hold at most `CHECKERS` x the hash's memory (38 MiB with our
//! hashes, 128 MiB with the largest hash `password hash` accepts) whatever the load; at most
//! [`QUEUE`] more wait; a check submitted beyond that is refused at once ([`Busy`]) and the
//! client is told the login failed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::aaa::password::Scratch;

/// Checks that run at once (one per core of a small device).
pub const CHECKERS: usize = 2;
/// Checks that may wait for a checker; more are refused.
pub const QUEUE: usize = 16;
/// Checker threads run at this nice value, so that the engines (VRRP adverts, DHCP replies)
/// win the CPU from a flood of logins.
const NICE: libc::c_int = 10;

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

/// The check was refused: [`QUEUE`] checks are already waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// What `display ssh server status` shows of the checks.
#[derive(Debug, Default)]
pub struct CheckLoad {
    pub running: AtomicUsize,
    pub waiting: AtomicUsize,
    /// Checks refused because the queue was full, since start.
    pub refused: AtomicU64,
}

/// The checker threads and their queue; the threads end when this is dropped.
pub struct Checks {
    queue: SyncSender<Job>,
    load: Arc<CheckLoad>,
}

impl Checks {
    /// Start `checkers` threads behind a queue of `queue` waiting checks.
    pub fn start(checkers: usize, queue: usize, load: Arc<CheckLoad>) -> std::io::Result<Checks> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..checkers {
            let (rx, load) = (rx.clone(), load.clone());
            std::thread::Builder::new()
                .name(format!("ssh-check-{n}"))
                .spawn(move || checker(&rx, &load))?;
        }
        Ok(Checks { queue: tx, load })
    }

    pub fn load(&self) -> &Arc<CheckLoad> {
        &self.load
    }

    /// Queue `check`; its result arrives on the receiver. Refused when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        check: impl FnOnce(&mut Scratch) -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, Busy> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch| {
            // The client may have gone meanwhile: nobody to tell.
            let _ = tx.send(check(scratch));
        });
        // Counted before it can start, so `waiting` never goes below zero.
        self.load.waiting.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.load.waiting.fetch_sub(1, Ordering::SeqCst);
                self.load.refused.fetch_add(1, Ordering::Relaxed);
                Err(Busy)
            }
        }
    }
}

/// One checker thread: take the next check, run it in this thread's memory.
fn checker(rx: &Mutex<Receiver<Job>>, load: &CheckLoad) {
    // SAFETY: plain syscalls on this thread's own id; a failure only leaves the nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE);
    }
    let mut scratch = Scratch::default();
    loop {
        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        load.waiting.fetch_sub(1, Ordering::SeqCst);
        load.running.fetch_add(1, Ordering::SeqCst);
        job(&mut scratch);
        load.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn beyond_the_queue_checks_are_refused_and_the_rest_run() {
        let checks = Checks::start(1, 2, Arc::default()).unwrap();
        // Hold the one checker until released.
        let (release, held) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let first = checks
            .submit(move |_| {
                started_tx.send(()).unwrap();
                held.recv().unwrap();
                1
            })
            .unwrap();
        started.recv().unwrap();
        assert_eq!(checks.load().running.load(Ordering::SeqCst), 1);
        let second = checks.submit(|_| 2).unwrap();
        let third = checks.submit(|_| 3).unwrap();
        assert_eq!(checks.submit(|_| 4).unwrap_err(), Busy);
        assert_eq!(checks.load().waiting.load(Ordering::SeqCst), 2);
        assert_eq!(checks.load().refused.load(Ordering::SeqCst), 1);
        release.send(()).unwrap();
        assert_eq!(first.blocking_recv(), Ok(1));
        assert_eq!(second.blocking_recv(), Ok(2));
        assert_eq!(third.blocking_recv(), Ok(3));
        assert_eq!(checks.load().waiting.load(Ordering::SeqCst), 0);
    }
}
