//! The console: the device's own terminal (and `duet connect`'s, which drives a session on the
//! control socket the same way). On a terminal it is a rustyline editor with Comware's keys:
//! `?` shows help without Enter, Tab completes (repeated Tab cycles), Ctrl+C abandons the
//! line, Ctrl+Z goes to user view, and long output goes through the pager. Without a terminal
//! it is [`run_piped`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, ExternalPrinter, Helper, KeyEvent, Movement, RepeatCount,
};

use super::frontend::{
    InputLine, MAX_LINE_CHARS, RunSummary, Shell, TOO_LONG, read_bounded_line, run_piped,
    write_block,
};
use super::idle::IdleWatch;
use super::monitor::LogFeed;
use super::pager::{self, TerminalKeys};
use super::typeahead::SessionMode;
use super::{Interaction, Session, SessionState};
use crate::device::Device;
use crate::infocenter::LogEntry;

/// What `quit` in user view does at the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterQuit {
    /// Log the user out and wait for Enter (`duet run`): the device keeps running.
    Logout,
    /// End the console, and with it the program (`duet demo`).
    End,
}

/// Comware's console after a logout; a new session starts on Enter.
pub const PRESS_ENTER: &str = "\nLine con0 is available.\n\n\nPress ENTER to get started.\n";

/// How one console session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// `quit` in user view.
    Quit,
    /// The prompt waited longer than the line's idle-timeout.
    Idle,
    /// End of input (Ctrl+D on an empty line, the end of piped input).
    Eof,
}

/// Run the console of `device` (line `con0`) until end of input; `quit` in user view logs the
/// user out or ends the console, as `after_quit` says. A session idle for the console's
/// `idle-timeout` is logged out. After a logout the login dialogue starts again (when
/// `line console 0` asks for one). `boot_logs`, a watch of the log taken before the device
/// started, lets the first session show what was logged since (as a Comware console shows the
/// messages of start-up).
pub fn run_console(
    device: Arc<Device>,
    after_quit: AfterQuit,
    mut boot_logs: Option<Receiver<LogEntry>>,
) -> io::Result<RunSummary> {
    // Events of the console session go to this device's log buffer.
    let _span = device.span().entered();
    let mut summary = RunSummary::default();
    loop {
        // `line console 0`'s authentication-mode (none on a new device).
        let Some(who) = super::login::console_login(&device, &mut ConsoleLoginIo) else {
            return Ok(summary);
        };
        // Listed by `display users`; the console cannot be freed from another line.
        device
            .sessions
            .register("con0", super::table::Access::Console, &who, Box::new(|| {}));
        let mut session = Session::new(
            device.clone(),
            SessionState::new(who.role, &who.user, "con0", "**"),
        );
        session.early_logs = boot_logs.take();
        let result = if on_terminal() {
            let idle = || device.config.lock().lines.console.idle_secs;
            run_terminal_until_idle(session, &idle)
        } else {
            run_piped(&mut session, io::stdin().lock(), io::stdout().lock()).map(|s| {
                let ended = if session.state.exit {
                    Ended::Quit
                } else {
                    Ended::Eof
                };
                (s, ended)
            })
        };
        device.sessions.unregister("con0");
        let (part, ended) = result?;
        summary.executed += part.executed;
        summary.failed += part.failed;
        let mut out = io::stdout();
        match ended {
            Ended::Eof => return Ok(summary),
            Ended::Quit if after_quit == AfterQuit::End => return Ok(summary),
            Ended::Quit => {
                device.log(
                    "SHELL",
                    5,
                    "SHELL_LOGOUT",
                    &format!("{} logged out from con0.", shown_user(&who.user)),
                );
            }
            Ended::Idle => {
                let secs = device.config.lock().lines.console.idle_secs;
                device.log(
                    "SHELL",
                    5,
                    "SHELL_LOGOUT_IDLE",
                    &format!("con0 was logged out: idle for {secs} seconds."),
                );
                out.write_all(b"\n The connection was idle too long and is closed.\n\n")?;
                out.flush()?;
                continue;
            }
        }
        // The device runs on; the console waits for Enter (end of input ends `duet run`).
        out.write_all(PRESS_ENTER.as_bytes())?;
        out.flush()?;
        let enter = if on_terminal() {
            read_answer().is_some()
        } else {
            // Any line is the Enter; a long one is read to its end and dropped.
            matches!(read_bounded_line(&mut io::stdin().lock(), 0), Ok(Some(_)))
        };
        if !enter {
            return Ok(summary);
        }
    }
}

/// The user as a log line names them (`Console` when the line asks for no login, as Comware).
fn shown_user(user: &str) -> &str {
    if user == "**" { "Console" } else { user }
}

/// The console's login dialogue: straight on fd 0/1, the password without echo on a terminal.
struct ConsoleLoginIo;

impl super::login::LoginIo for ConsoleLoginIo {
    fn ask(&mut self, prompt: &str, secret: bool) -> Option<String> {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let saved = (secret && on_terminal())
            .then(|| tcgetattr(io::stdin()).ok())
            .flatten();
        if let Some(saved) = &saved {
            let mut quiet = saved.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet);
        }
        let answer = TerminalAsker.ask(prompt);
        if let Some(saved) = &saved {
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
            println!();
        }
        answer
    }
    fn say(&mut self, text: &str) {
        let mut out = io::stdout();
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }
}

/// Is this process attached to a terminal (stdin and stdout)?
pub fn on_terminal() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// A key that ends `readline` early, and what the front end does about it.
enum KeyAction {
    /// `?`: show help for `left` (the text before the cursor), then edit `left`+`right` again.
    Help { left: String, right: String },
    /// Ctrl+Z: go to user view.
    UserView,
}

type Pending = Arc<Mutex<Option<KeyAction>>>;

struct QuestionMark(Pending);

impl ConditionalEventHandler for QuestionMark {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let (left, right) = ctx.line().split_at(ctx.pos());
        let action = KeyAction::Help {
            left: left.to_string(),
            right: right.to_string(),
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(action);
        Some(Cmd::AcceptLine)
    }
}

/// Comware's edit buffer holds [`MAX_LINE_CHARS`] characters: a character typed into a full
/// line is refused (not inserted), so Enter never meets a line too long.
struct FullLine;

impl ConditionalEventHandler for FullLine {
    fn handle(&self, event: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let typed_char = matches!(
            event.get(0),
            Some(KeyEvent(
                rustyline::KeyCode::Char(_),
                rustyline::Modifiers::NONE | rustyline::Modifiers::SHIFT
            ))
        );
        (typed_char && ctx.line().chars().count() >= MAX_LINE_CHARS).then_some(Cmd::Noop)
    }
}

struct CtrlZ(Pending);

impl ConditionalEventHandler for CtrlZ {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, _: &EventContext) -> Option<Cmd> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(KeyAction::UserView);
        Some(Cmd::AcceptLine)
    }
}

/// Tab completion from the shell.
struct ShellHelper<'s, S> {
    shell: &'s RefCell<S>,
}

impl<S: Shell> Completer for ShellHelper<'_, S> {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let c = self.shell.borrow_mut().complete(&line[..pos]);
        Ok((c.start.min(pos), c.candidates))
    }
}

impl<S> Hinter for ShellHelper<'_, S> {
    type Hint = String;
}
impl<S> Highlighter for ShellHelper<'_, S> {
    fn highlight<'l>(&self, line: &'l str, _: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}
impl<S> Validator for ShellHelper<'_, S> {}
impl<S: Shell> Helper for ShellHelper<'_, S> {}

/// Questions on the terminal: the answer is read in cooked mode (the original one, inside a
/// console session), straight from fd 0 (std's buffered stdin could keep bytes the line
/// editor needs next).
pub struct TerminalAsker;

impl Interaction for TerminalAsker {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        // The question shows only once the terminal is cooked: keys typed in answer to it
        // then get the kernel's echo and line editing, and Enter ends the line (typed while
        // the mode was still raw, a CR would stay a CR and the read would never end).
        SessionMode::cooked(|| {
            let mut out = io::stdout();
            let _ = out.write_all(prompt.as_bytes()).and_then(|_| out.flush());
            read_answer()
        })
    }

    fn progress(&mut self, text: &str) -> bool {
        let mut out = io::stdout();
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_ok()
    }

    fn interrupted(&mut self) -> bool {
        ctrl_c_typed()
    }
}

/// Was Ctrl+C typed? The session keeps the terminal in raw input mode (`SessionMode`), so it
/// arrives as the byte 0x03 on fd 0, not as a signal. Looks without waiting; the other keys
/// typed while a command runs are consumed (as Comware ignores keys during `ping`).
pub(super) fn ctrl_c_typed() -> bool {
    let mut typed = false;
    loop {
        let mut fds = [libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, zero timeout.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
        if ready <= 0 || fds[0].revents & libc::POLLIN == 0 {
            return typed;
        }
        let mut buf = [0u8; 64];
        // SAFETY: fd 0 stays open for the life of the process.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => return typed,
            Ok(n) => typed |= buf[..n].contains(&0x03),
        }
    }
}

/// One line from fd 0, in whatever mode the terminal is.
fn read_answer() -> Option<String> {
    // SAFETY: fd 0 stays open for the life of the process.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(fd, &mut byte) {
            Ok(0) if line.is_empty() => return None,
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                if line.len() < 4 * MAX_LINE_CHARS {
                    line.push(byte[0]);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
    Some(InputLine::new(&line).text)
}

/// Height of the terminal, if it has one (an SSH client without a PTY reports 0).
fn terminal_rows() -> Option<usize> {
    window()
        .map(|(_, rows)| usize::from(rows))
        .filter(|r| *r > 0)
}

/// Width of the terminal, if it has one.
fn terminal_columns() -> Option<usize> {
    window()
        .map(|(cols, _)| usize::from(cols))
        .filter(|c| *c > 0)
}

/// (columns, rows) of the session's terminal: crossterm asks the controlling terminal
/// (`/dev/tty`, the PTY of an SSH session), else stdout. Called only on a terminal
/// ([`on_terminal`]), so its last resort (running `tput`) is never reached.
fn window() -> Option<(u16, u16)> {
    crossterm::terminal::size().ok()
}

/// rustyline has already moved to the next line when `?` ends `readline`: put the `?` back at
/// the end of the edited line, one row up, as if it had been typed there.
fn echo_question_mark(out: &mut impl Write, shown: usize) -> io::Result<()> {
    match terminal_columns() {
        Some(cols) => writeln!(out, "\x1b[A\x1b[{}G?", shown % cols + 1),
        None => out.write_all(b"?\n"),
    }
}

/// The thread that prints a session's log messages (`terminal monitor`) through rustyline's
/// external printer: above the prompt, the typed line redrawn under them, while a line is
/// being read; straight to the terminal while a command runs. Stopped when dropped (a message
/// still queued for an ended session is not printed into the next one).
struct LogPrinter {
    stop: Arc<AtomicBool>,
}

impl LogPrinter {
    fn start(
        mut printer: impl ExternalPrinter + Send + 'static,
        feed: LogFeed,
    ) -> io::Result<LogPrinter> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("console-log".into())
            .spawn(move || {
                while let Some(text) = feed.next(&stopped) {
                    if printer.print(format!("{text}\n")).is_err() {
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

/// The interactive front end on this process's terminal.
pub fn run_terminal<S: Shell>(shell: S) -> io::Result<RunSummary> {
    run_terminal_until_idle(shell, &|| 0).map(|(summary, _)| summary)
}

/// [`run_terminal`], also ending when a prompt waits longer than `idle_secs()` seconds (0:
/// never; read at each prompt, so a change applies at once).
fn run_terminal_until_idle<S: Shell>(
    shell: S,
    idle_secs: &dyn Fn() -> u32,
) -> io::Result<(RunSummary, Ended)> {
    // Keys typed between two reads wait for the next one untouched; the original mode comes
    // back when this is dropped, however the function ends.
    let _mode = SessionMode::enter();
    let watch = IdleWatch::start();
    let shell = RefCell::new(shell);
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::Circular)
        .max_history_size(1024)
        .map_err(io::Error::other)?
        .build();
    let mut editor: Editor<ShellHelper<'_, S>, rustyline::history::DefaultHistory> =
        Editor::with_config(config).map_err(io::Error::other)?;
    editor.set_helper(Some(ShellHelper { shell: &shell }));
    let pending: Pending = Arc::default();
    editor.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(QuestionMark(pending.clone()))),
    );
    editor.bind_sequence(
        KeyEvent::ctrl('Z'),
        EventHandler::Conditional(Box::new(CtrlZ(pending.clone()))),
    );
    // Comware's keys: Ctrl+X deletes to the start of the line, Ctrl+Y to its end.
    editor.bind_sequence(
        KeyEvent::ctrl('X'),
        EventHandler::Simple(Cmd::Kill(Movement::BeginningOfLine)),
    );
    editor.bind_sequence(
        KeyEvent::ctrl('Y'),
        EventHandler::Simple(Cmd::Kill(Movement::EndOfLine)),
    );
    editor.bind_sequence(Event::Any, EventHandler::Conditional(Box::new(FullLine)));
    // Log messages appear above the prompt; rustyline redraws the line being typed.
    let feed = shell.borrow_mut().log_feed();
    let _printer = match feed {
        Some(feed) => Some(LogPrinter::start(
            editor.create_external_printer().map_err(io::Error::other)?,
            feed,
        )?),
        None => None,
    };

    let mut summary = RunSummary::default();
    let mut initial = (String::new(), String::new());
    let mut stdout = io::stdout();
    while !shell.borrow().finished() {
        let prompt = shell.borrow().prompt();
        let limit = Some(idle_secs())
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.into()));
        if let Some(watch) = &watch {
            watch.arm(limit);
        }
        let read = editor.readline_with_initial(&prompt, (&initial.0, &initial.1));
        initial = Default::default();
        if watch.as_ref().is_some_and(|w| w.disarm()) {
            return Ok((summary, Ended::Idle));
        }
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Ok((summary, Ended::Eof)),
            Err(e) => return Err(io::Error::other(e)),
        };
        match pending.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(KeyAction::Help { left, right }) => {
                let shown = prompt.chars().count() + line.chars().count();
                echo_question_mark(&mut stdout, shown)?;
                write_block(&mut stdout, &shell.borrow_mut().help(&left))?;
                stdout.flush()?;
                initial = (left, right);
                continue;
            }
            Some(KeyAction::UserView) => {
                shell.borrow_mut().user_view();
                continue;
            }
            None => {}
        }
        if line.chars().count() > MAX_LINE_CHARS {
            stdout.write_all(TOO_LONG.as_bytes())?;
            summary.failed += 1;
            continue;
        }
        let line = InputLine::new(line.as_bytes()).text;
        if line.trim().is_empty() {
            continue;
        }
        let outcome = shell.borrow_mut().execute(&line, &mut TerminalAsker);
        // Up-arrow recalls what the session kept in its history, as kept there: a line that
        // carried a secret is not (docs/cli.md, "Command history").
        if shell.borrow().last_in_history() {
            editor
                .add_history_entry(line.trim())
                .map_err(io::Error::other)?;
        }
        summary.executed += 1;
        if !outcome.ok {
            summary.failed += 1;
        }
        // The pager's page is the session's screen length, cut to the window's height (an
        // SSH client's window, which window-change keeps current).
        let page_len = shell
            .borrow()
            .screen_length()
            .map(|n| terminal_rows().map_or(n, |rows| n.min(rows.saturating_sub(1).max(1))));
        match page_len {
            Some(n) if outcome.output.lines().count() > n => {
                let mut keys = TerminalKeys::new()?;
                pager::page(&mut stdout, &mut keys, &outcome.output, n)?;
            }
            _ => write_block(&mut stdout, &outcome.output)?,
        }
        stdout.flush()?;
    }
    Ok((summary, Ended::Quit))
}
