//! The console's idle timeout (`line console 0` / `idle-timeout`): a watchdog thread that ends
//! a prompt nobody answers.
//!
//! rustyline has no read timeout, and its read cannot be bounded from outside by polling fd 0
//! first: keys it has already read (type-ahead, kept between reads) would not show on the fd.
//! What does end a `readline` is SIGINT: while it reads, rustyline catches SIGINT itself and
//! returns `Interrupted`. So when the prompt has waited too long, the watchdog sends SIGINT to
//! the console's thread (again every [`RESEND`] until the read has ended, as a signal that lands
//! just outside the read is lost), and the console, seeing [`IdleWatch::disarm`] report expiry,
//! logs the user out. Only where SIGINT is caught outside the read (`duet run` and `duet demo`
//! catch it, and ignore it on a terminal): elsewhere it would kill the process, so
//! [`IdleWatch::start`] declines.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the signal is sent again while the expired read has not ended.
const RESEND: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Watch {
    /// When the waiting prompt expires; `None` while no prompt waits.
    deadline: Option<Instant>,
    expired: bool,
    stop: bool,
}

type Shared = Arc<(Mutex<Watch>, Condvar)>;

/// The watchdog of one console session; stopped when dropped.
pub struct IdleWatch {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl IdleWatch {
    /// A watchdog for the calling thread, or `None` when SIGINT is not caught in this process.
    pub fn start() -> Option<IdleWatch> {
        if !sigint_is_caught() {
            return None;
        }
        // SAFETY: pthread_self has no preconditions.
        let reader = unsafe { libc::pthread_self() };
        let shared: Shared = Arc::default();
        let watched = shared.clone();
        let thread = std::thread::Builder::new()
            .name("console-idle".into())
            .spawn(move || watch(&watched, reader))
            .ok()?;
        Some(IdleWatch {
            shared,
            thread: Some(thread),
        })
    }

    /// A prompt starts waiting: it expires after `limit` (`None`: never).
    pub fn arm(&self, limit: Option<Duration>) {
        let (lock, wake) = &*self.shared;
        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
        w.deadline = limit.map(|l| Instant::now() + l);
        w.expired = false;
        wake.notify_one();
    }

    /// The prompt has been answered (or interrupted): did it expire?
    pub fn disarm(&self) -> bool {
        let (lock, wake) = &*self.shared;
        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
        w.deadline = None;
        wake.notify_one();
        std::mem::take(&mut w.expired)
    }
}

impl Drop for IdleWatch {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(shared: &Shared, reader: libc::pthread_t) {
    let (lock, wake) = &**shared;
    let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if w.stop {
            return;
        }
        let now = Instant::now();
        w = match w.deadline {
            None => wake.wait(w).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) if now < deadline => {
                wake.wait_timeout(w, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            Some(_) => {
                w.expired = true;
                // SAFETY: the console thread outlives this watchdog (joined on drop).
                unsafe { libc::pthread_kill(reader, libc::SIGINT) };
                wake.wait_timeout(w, RESEND)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

/// Does SIGINT have a handler (not the default action, which ends the process, nor ignore)?
fn sigint_is_caught() -> bool {
    // SAFETY: a null new action only reads the current one into `old`.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_prompt_expires_and_an_answered_one_does_not() {
        let shared: Shared = Arc::default();
        let watch = IdleWatch {
            shared: shared.clone(),
            thread: None,
        };
        watch.arm(Some(Duration::from_secs(3600)));
        assert!(!watch.disarm());
        shared.0.lock().unwrap().expired = true;
        assert!(watch.disarm());
        assert!(!watch.disarm(), "expiry is reported once");
    }
}
