//! The terminal mode of an interactive console session: type-ahead safe from the first prompt
//! to the last.
//!
//! rustyline puts the terminal in raw mode for each `readline` and back when it returns. Between
//! two reads (after `?` help, while a command runs and prints, in the pager) a terminal in
//! canonical mode would let the kernel's line discipline take the keys typed meanwhile: echo
//! them in the wrong place, apply Ctrl+U / Ctrl+W / backspace to its own buffer, turn Ctrl+C
//! into a signal that flushes the queue. [`SessionMode`] keeps the terminal in rustyline's raw
//! input mode for the whole session, so every byte waits untouched for the next read (rustyline
//! then finds the mode it wants already set, and "restores" to it). Output processing (`OPOST`,
//! LF to CR LF) is left as it was. The original mode comes back when the value is dropped
//! (return, error, panic unwinding) and on SIGTERM / SIGHUP / SIGQUIT when nobody else handles
//! them; `duet run` and `duet demo` catch those themselves and restore the mode they saved at
//! start.
//!
//! Limit: bytes rustyline has already read when it returns a line (typed in the same burst as
//! the Enter) stay in its own buffer for the next prompt (the `buffer-redux` feature keeps them
//! instead of dropping them); a question or pager of the command that runs meanwhile reads fd 0
//! and does not see them.

use std::cell::UnsafeCell;
use std::io::{self, IsTerminal};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::termios::{
    self, ControlFlags, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, Termios,
};

/// The terminal mode of a running console session; the original mode is restored on drop.
pub struct SessionMode {
    saved: Termios,
}

/// The signals whose default action ends the process without a chance to restore the mode.
const FATAL: [Signal; 3] = [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

impl SessionMode {
    /// Put the terminal on stdin in session mode; `None` when stdin is not a terminal or its
    /// mode cannot be read or set (the console then works as before, type-ahead unsafe).
    pub fn enter() -> Option<SessionMode> {
        if !io::stdin().is_terminal() {
            return None;
        }
        let saved = termios::tcgetattr(stdin()).ok()?;
        // TCSADRAIN, not TCSAFLUSH: keys already typed must stay queued.
        termios::tcsetattr(stdin(), SetArg::TCSADRAIN, &session_mode(&saved)).ok()?;
        remember_for_signals(&saved);
        Some(SessionMode { saved })
    }

    /// Run `f` with the original mode (a question answered with the kernel's line editing),
    /// then go back to session mode.
    pub fn cooked<R>(f: impl FnOnce() -> R) -> R {
        let Some(original) = remembered() else {
            return f();
        };
        let current = termios::tcgetattr(stdin()).ok();
        let _ = termios::tcsetattr(stdin(), SetArg::TCSADRAIN, &Termios::from(original));
        let result = f();
        if let Some(current) = current {
            let _ = termios::tcsetattr(stdin(), SetArg::TCSADRAIN, &current);
        }
        result
    }
}

impl Drop for SessionMode {
    fn drop(&mut self) {
        forget_for_signals();
        let _ = termios::tcsetattr(stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

/// rustyline's raw input mode (tty/unix.rs `enable_raw_mode`): no canonical editing, echo,
/// signal keys, CR to NL, flow control or stripping; one byte is enough for a read.
fn session_mode(original: &Termios) -> Termios {
    let mut mode = original.clone();
    mode.input_flags.remove(
        InputFlags::BRKINT
            | InputFlags::ICRNL
            | InputFlags::INPCK
            | InputFlags::ISTRIP
            | InputFlags::IXON,
    );
    mode.control_flags.insert(ControlFlags::CS8);
    mode.local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::IEXTEN | LocalFlags::ISIG);
    mode.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    mode.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    mode
}

fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// The original mode where a signal handler can read it: written only while `ACTIVE` is false,
/// read only while it is true.
struct Original(UnsafeCell<Option<libc::termios>>);

// SAFETY: access is ordered by `ACTIVE` (see `Original`); one console session runs at a time.
unsafe impl Sync for Original {}

static ORIGINAL: Original = Original(UnsafeCell::new(None));
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn remember_for_signals(saved: &Termios) {
    if ACTIVE.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: not active, so no handler or reader looks at the cell now.
    unsafe { *ORIGINAL.0.get() = Some(libc::termios::from(saved.clone())) };
    ACTIVE.store(true, Ordering::Release);
    for signal in FATAL {
        let restore = SigAction::new(
            SigHandler::Handler(restore_and_die),
            SaFlags::SA_RESETHAND,
            SigSet::empty(),
        );
        // Only where the default action is in force: a caught signal is someone else's.
        // SAFETY: the handler only calls async-signal-safe functions (tcsetattr, raise).
        if let Ok(old) = unsafe { sigaction(signal, &restore) }
            && !matches!(old.handler(), SigHandler::SigDfl)
        {
            // SAFETY: puts back the action that was there.
            let _ = unsafe { sigaction(signal, &old) };
        }
    }
}

fn forget_for_signals() {
    ACTIVE.store(false, Ordering::Release);
}

fn remembered() -> Option<libc::termios> {
    if !ACTIVE.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: active, so the cell is not being written.
    unsafe { *ORIGINAL.0.get() }
}

extern "C" fn restore_and_die(signal: libc::c_int) {
    if let Some(original) = remembered() {
        // SAFETY: tcsetattr is async-signal-safe; the pointer is to a local copy.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &original) };
    }
    // SA_RESETHAND put the default action back: die of the signal, as without us.
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_mode_keeps_output_processing_and_drops_line_editing() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let original = termios::tcgetattr(&pty.slave).unwrap();
        let mode = session_mode(&original);
        assert_eq!(mode.output_flags, original.output_flags);
        assert!(!mode.local_flags.intersects(
            LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG | LocalFlags::IEXTEN
        ));
        assert!(!mode.input_flags.contains(InputFlags::ICRNL));
        assert_eq!(
            mode.control_chars[SpecialCharacterIndices::VMIN as usize],
            1
        );
    }
}
