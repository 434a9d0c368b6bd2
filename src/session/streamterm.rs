//! The front end of an SSH login's shell: a session on the terminal of fd 0/1 edited with
//! [`LineEditor`], so the byte stream is a Comware device's (prompt, echo, output, plain text;
//! docs/cli.md, "The SSH byte stream"). It reads the terminal itself, one buffer for the line
//! editor, the questions commands ask and the pager alike, so keys typed ahead (a script sends
//! its next command without waiting) are used in the order they came.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::Interaction;
use super::frontend::{RunSummary, Shell, write_block};
use super::lineedit::{Edit, LineEditor};
use super::monitor::LogFeed;
use super::pager::{self, Keys, PLAIN_ERASE};
use super::typeahead::SessionMode;

/// Bytes from the terminal on fd 0, read as they come and kept until used.
struct Input {
    queue: VecDeque<u8>,
}

impl Input {
    /// The next byte, `None` at end of input (the SSH channel closed).
    fn byte(&mut self) -> io::Result<Option<u8>> {
        if let Some(b) = self.queue.pop_front() {
            return Ok(Some(b));
        }
        // SAFETY: fd 0 stays open for the life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        let mut buf = [0u8; 1024];
        loop {
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.queue.extend(&buf[1..n]);
                    return Ok(Some(buf[0]));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                // A PTY whose other side is gone reads EIO: the end of the session.
                Err(nix::errno::Errno::EIO) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Keys for Input {
    fn key(&mut self) -> io::Result<Option<u8>> {
        self.byte()
    }
}

/// Questions a command asks, answered on the same input with a line editor of their own.
struct Asker<'a> {
    input: &'a mut Input,
}

impl Interaction for Asker<'_> {
    /// A long command's lines (`ping`'s replies) go out as they come, plain text like the rest.
    fn progress(&mut self, text: &str) -> bool {
        let mut out = io::stdout();
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_ok()
    }

    /// Ctrl+C since the last look, in what was read ahead or what waits on fd 0; other keys
    /// typed while the command runs are dropped, as on the console (Comware ignores them
    /// during `ping`).
    fn interrupted(&mut self) -> bool {
        let queued = self.input.queue.contains(&0x03);
        if queued {
            self.input.queue.clear();
        }
        super::console::ctrl_c_typed() || queued
    }

    fn ask(&mut self, prompt: &str) -> Option<String> {
        let mut out = io::stdout();
        let _ = out.write_all(prompt.as_bytes()).and_then(|_| out.flush());
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        loop {
            let byte = self.input.byte().ok()??;
            let edit = editor.feed(byte, &mut echo);
            let _ = out.write_all(&echo).and_then(|_| out.flush());
            echo.clear();
            match edit {
                Some(Edit::Line(text)) => return Some(text),
                Some(Edit::Interrupt) => return Some(String::new()),
                Some(Edit::Eof) => return None,
                Some(Edit::Help { .. }) => editor.redraw(prompt, &mut echo),
                _ => {}
            }
        }
    }
}

/// What the terminal shows at the prompt, shared with the thread that prints log messages
/// above it.
struct Screen {
    editor: LineEditor,
    prompt: String,
    /// A line is being edited (messages go above it); false while a command runs.
    at_prompt: bool,
}

type Shared = Arc<Mutex<Screen>>;

fn lock(screen: &Shared) -> MutexGuard<'_, Screen> {
    screen.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `shell` on this process's terminal until `quit` in user view or end of input.
pub fn run_stream_terminal<S: Shell>(mut shell: S) -> io::Result<RunSummary> {
    // Every byte waits untouched for this front end; the kernel neither echoes nor edits.
    let _mode = SessionMode::enter();
    let mut input = Input {
        queue: VecDeque::new(),
    };
    let screen: Shared = Arc::new(Mutex::new(Screen {
        editor: LineEditor::new(),
        prompt: shell.prompt(),
        at_prompt: false,
    }));
    let _printer = match shell.log_feed() {
        Some(feed) => Some(LogPrinter::start(screen.clone(), feed)?),
        None => None,
    };
    let mut summary = RunSummary::default();
    let mut stdout = io::stdout();
    // The echo is written while the screen is locked, so a message printed above the line
    // never comes between a change of the line and its echo.
    let mut echo = Vec::new();
    let show = |echo: &mut Vec<u8>| -> io::Result<()> {
        let mut out = io::stdout();
        out.write_all(echo)?;
        out.flush()?;
        echo.clear();
        Ok(())
    };
    {
        let mut s = lock(&screen);
        s.editor.redraw(&s.prompt, &mut echo);
        s.at_prompt = true;
        show(&mut echo)?;
    }
    while !shell.finished() {
        let Some(byte) = input.byte()? else { break };
        let edit = {
            let mut s = lock(&screen);
            let edit = s.editor.feed(byte, &mut echo);
            // Once the line is done with, messages go straight to the terminal.
            s.at_prompt = matches!(edit, None | Some(Edit::Complete { .. }));
            show(&mut echo)?;
            edit
        };
        let Some(edit) = edit else { continue };
        match edit {
            Edit::Line(line) => {
                if !line.trim().is_empty() {
                    let outcome = shell.execute(&line, &mut Asker { input: &mut input });
                    if shell.last_in_history() {
                        lock(&screen).editor.add_history(line.trim());
                    }
                    summary.executed += 1;
                    summary.failed += usize::from(!outcome.ok);
                    show_output(&mut stdout, &mut input, &shell, &outcome.output)?;
                }
            }
            Edit::Help { left } => write_block(&mut stdout, &shell.help(&left))?,
            Edit::Complete { left } => {
                let c = shell.complete(&left);
                let mut s = lock(&screen);
                s.editor.complete(c.start, c.candidates, &mut echo);
                show(&mut echo)?;
                continue;
            }
            Edit::UserView => shell.user_view(),
            Edit::Interrupt => {}
            Edit::Eof => break,
        }
        if !shell.finished() {
            let mut s = lock(&screen);
            s.prompt = shell.prompt();
            s.editor.redraw(&s.prompt, &mut echo);
            s.at_prompt = true;
            show(&mut echo)?;
        }
    }
    stdout.flush()?;
    Ok(summary)
}

/// The thread that prints a session's log messages (`terminal monitor`): at the prompt, on a
/// line of their own above it, then the prompt and the typed line again (Comware's
/// `info-center synchronous`); while a command runs, as they come. Plain text only, like the
/// rest of the stream. Stopped when dropped.
struct LogPrinter {
    stop: Arc<AtomicBool>,
}

impl LogPrinter {
    fn start(screen: Shared, feed: LogFeed) -> io::Result<LogPrinter> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("stream-log".into())
            .spawn(move || {
                while let Some(text) = feed.next(&stopped) {
                    let s = lock(&screen);
                    let mut bytes = Vec::new();
                    if s.at_prompt {
                        bytes.push(b'\n');
                    }
                    bytes.extend_from_slice(text.as_bytes());
                    bytes.push(b'\n');
                    if s.at_prompt {
                        s.editor.redraw(&s.prompt, &mut bytes);
                    }
                    let mut out = io::stdout();
                    if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                        break;
                    }
                }
            })?;
        Ok(LogPrinter { stop })
    }
}

impl Drop for LogPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A command's output, through the pager when it is longer than the session's page (cut to
/// the window's height, which the SSH client's window-change keeps current).
fn show_output<S: Shell>(
    out: &mut io::Stdout,
    input: &mut Input,
    shell: &S,
    text: &str,
) -> io::Result<()> {
    let rows = crossterm::terminal::size()
        .ok()
        .map(|(_, rows)| usize::from(rows))
        .filter(|r| *r > 0);
    let page_len = shell
        .screen_length()
        .map(|n| rows.map_or(n, |rows| n.min(rows.saturating_sub(1).max(1))));
    match page_len {
        Some(n) if text.lines().count() > n => {
            pager::page_erasing(out, input, text, n, PLAIN_ERASE)
        }
        _ => write_block(out, text),
    }
}
