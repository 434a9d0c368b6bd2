//! What every front end shares: the [`Shell`] a front end drives (a local [`Session`] or a
//! session on the device's control socket), input line hygiene, and the non-terminal front end
//! that turns piped input into exactly the screen a terminal would show.

use std::io::{self, BufRead, Write};

use super::monitor::LogFeed;
use super::{Completion, Interaction, Outcome, Session};

/// Comware's edit buffer holds 511 characters; a longer line is refused.
pub const MAX_LINE_CHARS: usize = 511;

/// Bytes of one input line kept in memory; the rest of a longer line is read and dropped, so a
/// line of any length costs bounded memory.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The message for a line longer than the edit buffer (nothing is executed).
pub const TOO_LONG: &str =
    " % The command is too long: a command line holds at most 511 characters.\n";

/// A command session as a front end sees it: a prompt, lines to execute, `?` help and Tab
/// completion. Implemented by [`Session`] (console) and by the control-socket client.
pub trait Shell {
    /// The prompt of the current view.
    fn prompt(&self) -> String;
    /// Execute one line; questions the command asks go through `io`.
    fn execute(&mut self, line: &str, io: &mut dyn Interaction) -> Outcome;
    /// Was the line executed last kept in the session's history? A line editor adds a line to
    /// its recall list (Up-arrow) only then, so recall offers exactly what
    /// `display history-command` shows: never a line that carried a secret (a password), never
    /// a rejected one. The session decides (`exec::run_with`), in the view the line ran in.
    fn last_in_history(&self) -> bool;
    /// What `?` shows at the end of `line`.
    fn help(&mut self, line: &str) -> String;
    /// What Tab offers at the end of `line`.
    fn complete(&mut self, line: &str) -> Completion;
    /// Ctrl+Z: straight to user view.
    fn user_view(&mut self);
    /// The session is over (`quit` in user view, or the link to the device is gone).
    fn finished(&self) -> bool;
    /// Page length for the pager; `None` after `screen-length disable`.
    fn screen_length(&self) -> Option<usize>;
    /// Log messages this session's terminal shows as they happen (`terminal monitor`, at the
    /// session's `terminal logging level`), one per item without its newline; `None` when
    /// the session has no such feed. Taken once, by the front end that prints them.
    fn log_feed(&mut self) -> Option<LogFeed> {
        None
    }
}

/// Said when a command panicked: the session and the device carry on.
pub const INTERNAL_ERROR: &str = " % Internal error: the command was not completed.\n";

/// Run `f`; `None` when it panicked (a bug in a command), so that the panic ends neither the
/// session nor the device.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

impl Session {
    /// Log a line whose command panicked. The line may hold a secret (a key being typed), so
    /// the log gets it as `exec::loggable` shows it, never as typed.
    fn log_panic(&self, what: &str, line: &str) {
        let line = guarded(|| super::exec::loggable(&self.state.views, line))
            .unwrap_or_else(|| crate::cli::secret::MASK.to_string());
        tracing::error!(what, line, "command panicked");
    }
}

impl Shell for Session {
    fn prompt(&self) -> String {
        Session::prompt(self)
    }
    fn execute(&mut self, line: &str, io: &mut dyn Interaction) -> Outcome {
        guarded(|| Session::execute(self, line, io)).unwrap_or_else(|| {
            self.log_panic("execute", line);
            Outcome {
                output: INTERNAL_ERROR.to_string(),
                ok: false,
            }
        })
    }
    fn help(&mut self, line: &str) -> String {
        guarded(|| Session::help(self, line)).unwrap_or_else(|| {
            self.log_panic("help", line);
            INTERNAL_ERROR.to_string()
        })
    }
    fn complete(&mut self, line: &str) -> Completion {
        guarded(|| Session::complete(self, line)).unwrap_or_else(|| {
            self.log_panic("complete", line);
            Completion::default()
        })
    }
    fn last_in_history(&self) -> bool {
        self.state.last_in_history
    }
    fn user_view(&mut self) {
        self.state.views.truncate(1);
    }
    fn finished(&self) -> bool {
        self.state.exit
    }
    fn screen_length(&self) -> Option<usize> {
        self.state.screen_length
    }
    fn log_feed(&mut self) -> Option<LogFeed> {
        let entries = self
            .early_logs
            .take()
            .unwrap_or_else(|| self.device.logs.watch());
        Some(LogFeed::Entries {
            entries,
            terminal: self.state.terminal.clone(),
        })
    }
}

/// Make raw input text safe to show and parse: invalid UTF-8 becomes U+FFFD, a trailing `\r`
/// (CRLF input) is dropped, a tab becomes a space and any other control character U+FFFD.
pub fn sanitize(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw)
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect()
}

/// One line of input, sanitized.
#[derive(Clone, Debug, PartialEq)]
pub struct InputLine {
    /// At most [`MAX_LINE_CHARS`] characters (what the edit buffer would have accepted).
    pub text: String,
    /// The line was longer than the edit buffer.
    pub too_long: bool,
}

impl InputLine {
    pub fn new(raw: &[u8]) -> Self {
        let text = sanitize(raw);
        match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => InputLine {
                text: text[..cut].to_string(),
                too_long: true,
            },
            None => InputLine {
                text,
                too_long: false,
            },
        }
    }
}

/// Reads lines of any length and content from a byte stream with bounded memory.
pub struct LineReader<R> {
    inner: R,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader { inner }
    }

    /// The next line without its `\n`, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<InputLine>> {
        Ok(
            read_bounded_line(&mut self.inner, MAX_LINE_BYTES)?.map(|(kept, dropped)| {
                let mut line = InputLine::new(&kept);
                line.too_long |= dropped;
                line
            }),
        )
    }
}

/// Read one line (without its `\n`) keeping at most `max` bytes; the flag says bytes were
/// dropped. `None` at end of input.
pub fn read_bounded_line<R: BufRead + ?Sized>(
    inner: &mut R,
    max: usize,
) -> io::Result<Option<(Vec<u8>, bool)>> {
    let mut kept = Vec::new();
    let mut dropped = false;
    let mut any = false;
    loop {
        let buf = match inner.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any.then_some((kept, dropped)));
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = max.saturating_sub(kept.len());
        if chunk.len() > room {
            dropped = true;
        }
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buf.len());
        inner.consume(used);
        if done.is_some() {
            return Ok(Some((kept, dropped)));
        }
    }
}

/// Answers questions from the next input line, echoing it after the question as a terminal
/// would.
pub struct EchoAsker<'a, R, W> {
    pub input: &'a mut LineReader<R>,
    pub out: &'a mut W,
}

impl<R: BufRead, W: Write> Interaction for EchoAsker<'_, R, W> {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        let answer = self.input.next_line().ok().flatten();
        let echo = answer.as_ref().map_or("", |l| l.text.as_str());
        // The screen is best effort: a closed output must not turn a "yes" into a "no".
        let _ = writeln!(self.out, "{prompt}{echo}").and_then(|_| self.out.flush());
        answer.map(|l| l.text)
    }

    /// Progress goes straight to the screen (no Ctrl+C here: piped input has no keys).
    fn progress(&mut self, text: &str) -> bool {
        self.out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.flush())
            .is_ok()
    }
}

/// What a front end run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Lines executed.
    pub executed: usize,
    /// Lines that were rejected or whose command failed.
    pub failed: usize,
}

/// Drive `shell` from non-terminal input, writing what a terminal would show: the prompt and
/// the echoed line, then the output. A `?` in a line shows the help for the text typed before
/// it and the prompt with that text again; the rest of the line continues as typed input.
/// Ends at end of input or when the session is over.
pub fn run_piped<S: Shell + ?Sized, R: BufRead, W: Write>(
    shell: &mut S,
    input: R,
    mut out: W,
) -> io::Result<RunSummary> {
    let mut input = LineReader::new(input);
    let mut summary = RunSummary::default();
    while !shell.finished() {
        let prompt = shell.prompt();
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
        let Some(line) = input.next_line()? else {
            out.write_all(b"\n")?;
            break;
        };
        let mut typed = String::new();
        let mut pieces = line.text.split('?').peekable();
        while let Some(piece) = pieces.next() {
            typed.push_str(piece);
            out.write_all(piece.as_bytes())?;
            if pieces.peek().is_some() {
                out.write_all(b"?\n")?;
                write_block(&mut out, &shell.help(&typed))?;
                write!(out, "{prompt}{typed}")?;
            }
        }
        out.write_all(b"\n")?;
        if line.too_long {
            out.write_all(TOO_LONG.as_bytes())?;
            summary.failed += 1;
            continue;
        }
        if typed.trim().is_empty() {
            continue;
        }
        let outcome = shell.execute(
            &typed,
            &mut EchoAsker {
                input: &mut input,
                out: &mut out,
            },
        );
        summary.executed += 1;
        if !outcome.ok {
            summary.failed += 1;
        }
        write_block(&mut out, &outcome.output)?;
        out.flush()?;
    }
    out.flush()?;
    Ok(summary)
}

/// Write text that should end at the start of a line.
pub fn write_block<W: Write + ?Sized>(out: &mut W, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    if !text.is_empty() && !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A shell that records what it was asked: `execute` echoes the line (asking one question
    /// for `save`), `help` names its line, `fail` fails, `quit` ends the session.
    #[derive(Default)]
    pub struct FakeShell {
        pub executed: Vec<String>,
        pub answers: Vec<Option<String>>,
        pub depth: usize,
        pub done: bool,
        pub screen: Option<usize>,
    }

    impl Shell for FakeShell {
        fn prompt(&self) -> String {
            if self.depth == 0 {
                "<Duet>".into()
            } else {
                "[Duet]".into()
            }
        }
        fn execute(&mut self, line: &str, io: &mut dyn Interaction) -> Outcome {
            self.executed.push(line.to_string());
            match line {
                "save" => {
                    let a = io.ask("Are you sure? [Y/N]:");
                    self.answers.push(a);
                    Outcome {
                        output: "saved\n".into(),
                        ok: true,
                    }
                }
                "fail" => Outcome {
                    output: " % Unrecognized command.".into(),
                    ok: false,
                },
                "quit" => {
                    self.done = true;
                    Outcome {
                        output: String::new(),
                        ok: true,
                    }
                }
                "system-view" => {
                    self.depth = 1;
                    Outcome {
                        output: String::new(),
                        ok: true,
                    }
                }
                _ => Outcome {
                    output: format!("ran {line}\n"),
                    ok: true,
                },
            }
        }
        fn last_in_history(&self) -> bool {
            true
        }
        fn help(&mut self, line: &str) -> String {
            format!("  help for '{line}'\n")
        }
        fn complete(&mut self, line: &str) -> Completion {
            Completion {
                start: 0,
                candidates: vec![format!("{line}x"), format!("{line}y")],
            }
        }
        fn user_view(&mut self) {
            self.depth = 0;
        }
        fn finished(&self) -> bool {
            self.done
        }
        fn screen_length(&self) -> Option<usize> {
            self.screen
        }
    }

    fn run(input: &[u8]) -> (FakeShell, String, RunSummary) {
        let mut shell = FakeShell::default();
        let mut out = Vec::new();
        let summary = run_piped(&mut shell, input, &mut out).unwrap();
        (shell, String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn prompt_echo_and_output() {
        let (shell, screen, summary) = run(b"display x\n\nsystem-view\nfail\n");
        assert_eq!(
            screen,
            "<Duet>display x\nran display x\n<Duet>\n<Duet>system-view\n[Duet]fail\n % Unrecognized command.\n[Duet]\n"
        );
        assert_eq!(shell.executed, ["display x", "system-view", "fail"]);
        assert_eq!(
            summary,
            RunSummary {
                executed: 3,
                failed: 1
            }
        );
    }

    #[test]
    fn question_mark_shows_help_and_continues_the_line() {
        let (shell, screen, _) = run(b"dis? cur\n?\n");
        assert_eq!(
            screen,
            "<Duet>dis?\n  help for 'dis'\n<Duet>dis cur\nran dis cur\n<Duet>?\n  help for ''\n<Duet>\n<Duet>\n"
        );
        assert_eq!(shell.executed, ["dis cur"]);
    }

    #[test]
    fn questions_read_and_echo_the_next_line() {
        let (shell, screen, _) = run(b"save\ny\nsave\n");
        assert_eq!(
            screen,
            "<Duet>save\nAre you sure? [Y/N]:y\nsaved\n<Duet>save\nAre you sure? [Y/N]:\nsaved\n<Duet>\n"
        );
        assert_eq!(shell.answers, [Some("y".to_string()), None]);
    }

    #[test]
    fn quit_ends_the_run() {
        let (shell, screen, _) = run(b"quit\nnever\n");
        assert_eq!(screen, "<Duet>quit\n");
        assert_eq!(shell.executed, ["quit"]);
    }

    #[test]
    fn bad_bytes_are_replaced_not_fatal() {
        let (shell, _, _) = run(b"a\xff\x01b\tc\r\n");
        assert_eq!(shell.executed, ["a\u{fffd}\u{fffd}b c"]);
    }

    #[test]
    fn long_lines_are_refused_with_bounded_memory() {
        let mut input = vec![b'x'; 100 * 1024];
        input.extend_from_slice(b"\nok\n");
        let (shell, screen, summary) = run(&input);
        assert_eq!(shell.executed, ["ok"]);
        assert_eq!(summary.failed, 1);
        let first = screen.lines().next().unwrap();
        assert_eq!(first.len(), "<Duet>".len() + MAX_LINE_CHARS);
        assert!(screen.contains(TOO_LONG));
        let exact = "y".repeat(MAX_LINE_CHARS);
        let (shell, _, _) = run(format!("{exact}\n").as_bytes());
        assert_eq!(shell.executed, [exact]);
    }

    #[test]
    fn last_line_without_newline_still_runs() {
        let (shell, screen, _) = run(b"one");
        assert_eq!(shell.executed, ["one"]);
        assert_eq!(screen, "<Duet>one\nran one\n<Duet>\n");
    }
}
