//! The front end of an SSH login's shell: a session on the terminal of fd 0/1 edited with
//! [`LineEditor`], so the byte stream is a Comware device's (prompt, echo, output, plain text;
//! docs/cli.md, "The SSH byte stream"). It reads the terminal itself, one buffer for the line
//! editor, the questions commands ask and the pager alike, so keys typed ahead (a script sends
//! its next command without waiting) are used in the order they came.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;

use super::Interaction;
use super::frontend::{RunSummary, Shell, write_block};
use super::lineedit::{Edit, LineEditor};
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

/// Run `shell` on this process's terminal until `quit` in user view or end of input.
pub fn run_stream_terminal<S: Shell>(mut shell: S) -> io::Result<RunSummary> {
    // Every byte waits untouched for this front end; the kernel neither echoes nor edits.
    let _mode = SessionMode::enter();
    let mut input = Input {
        queue: VecDeque::new(),
    };
    let mut editor = LineEditor::new();
    let mut summary = RunSummary::default();
    let mut stdout = io::stdout();
    let mut echo = Vec::new();
    editor.redraw(&shell.prompt(), &mut echo);
    while !shell.finished() {
        stdout.write_all(&echo)?;
        stdout.flush()?;
        echo.clear();
        let Some(byte) = input.byte()? else { break };
        let Some(edit) = editor.feed(byte, &mut echo) else {
            continue;
        };
        match edit {
            Edit::Line(line) => {
                stdout.write_all(&echo)?;
                echo.clear();
                if !line.trim().is_empty() {
                    let outcome = shell.execute(&line, &mut Asker { input: &mut input });
                    if shell.last_in_history() {
                        editor.add_history(line.trim());
                    }
                    summary.executed += 1;
                    summary.failed += usize::from(!outcome.ok);
                    show_output(&mut stdout, &mut input, &shell, &outcome.output)?;
                }
            }
            Edit::Help { left } => {
                stdout.write_all(&echo)?;
                echo.clear();
                write_block(&mut stdout, &shell.help(&left))?;
            }
            Edit::Complete { left } => {
                let c = shell.complete(&left);
                editor.complete(c.start, c.candidates, &mut echo);
                continue;
            }
            Edit::UserView => shell.user_view(),
            Edit::Interrupt => {}
            Edit::Eof => break,
        }
        if !shell.finished() {
            editor.redraw(&shell.prompt(), &mut echo);
        }
    }
    stdout.flush()?;
    Ok(summary)
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
