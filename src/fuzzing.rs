//! The oracles of the command shell and configuration loader fuzz targets (`fuzz/`), public so
//! that `tests/cli_fuzz_corpus.rs` replays the same checks on stable Rust.
//!
//! [`session`] feeds a session's keystrokes to a sim device and [`config_file`] loads arbitrary
//! file text; both return the first broken invariant as a [`Failure`] and must never panic.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

use crate::cli::ErrorKind;
use crate::device::{Device, DeviceOptions, NetKind};
use crate::features::Config;
use crate::session::exec::PERMISSION_DENIED;
use crate::session::load::load_text;
use crate::session::{Interaction, Role, Session, SessionState};

/// At most this many lines of an input are run: enough to reach every view and change it,
/// few enough that one input stays fast.
pub const MAX_LINES: usize = 64;

/// An invariant the shell or the loader broke.
#[derive(Debug, Error, PartialEq)]
pub enum Failure {
    #[error("line {line:?}: the error is not a Comware error:\n{output}")]
    NotComwareError { line: String, output: String },
    #[error("line {line:?}: the caret is outside the line:\n{output}")]
    CaretOutside { line: String, output: String },
    #[error("{what} of {line:?}: {problem}")]
    Help {
        what: &'static str,
        line: String,
        problem: String,
    },
    #[error("the view stack does not start in user view after {line:?}")]
    ViewStack { line: String },
    #[error("load error on line {line} of a {lines}-line file: {message}")]
    ErrorLine {
        line: usize,
        lines: usize,
        message: String,
    },
    #[error("the rendered configuration does not load back: {errors:?}\n{text}")]
    RenderDoesNotLoad { errors: Vec<String>, text: String },
    #[error("the rendered configuration loads to another one:\n{text}\n---\n{again}")]
    RoundTrip { text: String, again: String },
}

/// Questions (`save`, `reset`) are answered with end of input, as when the user is gone.
struct NoAnswers;

impl Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// A sim device in its own scratch directory, so that `save` and friends write somewhere
/// harmless and one input (or test thread) never sees another's files. The directory goes
/// when the value is dropped.
struct Scratch {
    device: Arc<Device>,
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("duet-fuzz-{}-{n}", std::process::id()));
        // Whatever fails here shows up as the commands' own errors (`save` cannot write).
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        let device = Device::new(DeviceOptions {
            data_dir: dir.clone(),
            net: NetKind::Sim,
        });
        Scratch { device, dir }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run a session on `data`, one line per `\n` (bytes that are not UTF-8 become U+FFFD, as a
/// front end decodes them). A line holding `?` asks for help on the text before it, a line
/// ending in Tab asks for completions, any other line is executed. Checks that every failed
/// line ends in a Comware error (a matcher error under its caret, `Permission denied.` or a
/// command's message), that help and completion are well formed, and that afterwards
/// `display current-configuration` loads back to the same configuration.
pub fn session(data: &[u8]) -> Result<(), Failure> {
    let scratch = Scratch::new();
    let device = &scratch.device;
    let state = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    let mut session = Session::new(device.clone(), state);
    for raw in data.split(|&b| b == b'\n').take(MAX_LINES) {
        let text = String::from_utf8_lossy(raw);
        let line = text.strip_suffix('\r').unwrap_or(&text);
        if let Some(at) = line.find('?') {
            check_help(&session, &line[..at])?;
        } else if let Some(typed) = line.strip_suffix('\t') {
            check_completion(&session, typed)?;
        } else {
            let prompt = session.prompt();
            let outcome = session.execute(line, &mut NoAnswers);
            if !outcome.ok {
                check_error(prompt.chars().count(), line, &outcome.output)?;
            }
        }
        if session.state.views.first() != Some(&crate::cli::View::User) {
            return Err(Failure::ViewStack { line: line.into() });
        }
        if session.state.exit {
            break;
        }
    }
    let config = device.config.snapshot();
    round_trip(&config)
}

/// A failed line's output ends in one Comware error: a matcher kind under a caret within the
/// line, `Permission denied.`, or a command's own one-line message.
fn check_error(prompt_width: usize, line: &str, output: &str) -> Result<(), Failure> {
    let not_comware = || Failure::NotComwareError {
        line: line.into(),
        output: output.into(),
    };
    let mut lines = output
        .strip_suffix('\n')
        .ok_or_else(not_comware)?
        .rsplit('\n');
    let last = lines.next().unwrap_or_default();
    let kinds = [
        ErrorKind::Incomplete,
        ErrorKind::TooMany,
        ErrorKind::Unrecognized,
        ErrorKind::WrongParameter,
        ErrorKind::Ambiguous,
    ];
    if let Some(message) = last.strip_prefix(' ')
        && kinds.iter().any(|k| k.message() == message)
    {
        let caret = lines.next().ok_or_else(not_comware)?;
        let column = caret.strip_suffix('^').ok_or_else(not_comware)?;
        if !column.chars().all(|c| c == ' ') {
            return Err(not_comware());
        }
        // `Incomplete` points one past the end of the line.
        if column.len() > prompt_width + line.chars().count() + 1 {
            return Err(Failure::CaretOutside {
                line: line.into(),
                output: output.into(),
            });
        }
        return Ok(());
    }
    // A command's message is printed flush left (only the matcher's kinds are indented).
    if last == PERMISSION_DENIED || !(last.is_empty() || last.starts_with(char::is_whitespace)) {
        Ok(())
    } else {
        Err(not_comware())
    }
}

/// `?` prints rows or an error, every row ending with a newline.
fn check_help(session: &Session, typed: &str) -> Result<(), Failure> {
    let text = session.help(typed);
    if text.is_empty() || !text.ends_with('\n') {
        return Err(Failure::Help {
            what: "help",
            line: typed.into(),
            problem: format!("not whole lines: {text:?}"),
        });
    }
    Ok(())
}

/// Tab replaces the end of the line from a char boundary with words without blanks.
fn check_completion(session: &Session, typed: &str) -> Result<(), Failure> {
    let completion = session.complete(typed);
    let problem = if completion.start > typed.len() || !typed.is_char_boundary(completion.start) {
        Some(format!("starts at {} (not a boundary)", completion.start))
    } else {
        completion
            .candidates
            .iter()
            .find(|c| c.is_empty() || c.contains(char::is_whitespace))
            .map(|c| format!("candidate {c:?}"))
    };
    match problem {
        Some(problem) => Err(Failure::Help {
            what: "completion",
            line: typed.into(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Load `data` as a configuration file (bytes that are not UTF-8 become U+FFFD): every error
/// names a line of the file that holds a command, and what loaded renders and loads back to
/// the same configuration.
pub fn config_file(data: &[u8]) -> Result<(), Failure> {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let scratch = Scratch::new();
    for error in load_text(&scratch.device, &text) {
        let holds_command = error
            .line
            .checked_sub(1)
            .and_then(|i| lines.get(i))
            .is_some_and(|l| !l.trim().is_empty() && !l.trim().starts_with('#'));
        if !holds_command || error.message.trim().is_empty() {
            return Err(Failure::ErrorLine {
                line: error.line,
                lines: lines.len(),
                message: error.message,
            });
        }
    }
    let config = scratch.device.config.snapshot();
    round_trip(&config)
}

/// `display current-configuration` of `config` loads into a fresh device without an error, to
/// the same configuration, which renders to the same text.
fn round_trip(config: &Config) -> Result<(), Failure> {
    let text = config.render();
    let fresh = Device::new(DeviceOptions {
        data_dir: PathBuf::from("/nonexistent-duet-fuzz"),
        net: NetKind::Sim,
    });
    let errors = load_text(&fresh, &text);
    if !errors.is_empty() {
        return Err(Failure::RenderDoesNotLoad {
            errors: errors
                .into_iter()
                .map(|e| format!("{}: {}", e.line, e.message))
                .collect(),
            text,
        });
    }
    let loaded = fresh.config.snapshot();
    if *loaded != *config || loaded.render() != text {
        return Err(Failure::RoundTrip {
            again: loaded.render(),
            text,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matcher_error_under_its_caret_is_comware() {
        let output = "          ^\n % Unrecognized command found at '^' position.\n";
        assert_eq!(check_error(6, "foo bar", output), Ok(()));
        // `Incomplete` sits one past the end of the line.
        let output = "             ^\n % Incomplete command found at '^' position.\n";
        assert_eq!(check_error(6, "sysname", output), Ok(()));
    }

    #[test]
    fn a_caret_beyond_the_line_is_refused() {
        let output = "                ^\n % Wrong parameter found at '^' position.\n";
        assert!(matches!(
            check_error(6, "ab", output),
            Err(Failure::CaretOutside { .. })
        ));
    }

    #[test]
    fn an_error_without_a_message_is_refused() {
        for output in ["", "\n", "   ^\n", "          ^\n \n"] {
            assert!(
                matches!(
                    check_error(6, "foo", output),
                    Err(Failure::NotComwareError { .. })
                ),
                "{output:?}"
            );
        }
        // A matcher message without its caret line is not Comware either.
        let output = " % Ambiguous command found at '^' position.\n";
        assert!(check_error(6, "d", output).is_err());
    }

    #[test]
    fn handler_messages_and_permission_denied_are_comware() {
        assert_eq!(check_error(6, "x", "Permission denied.\n"), Ok(()));
        assert_eq!(
            check_error(6, "x", "some output\nThe pool does not exist.\n"),
            Ok(())
        );
    }

    #[test]
    fn a_failing_line_of_a_file_is_reported_with_its_number() {
        // Line 3 is the bad one; the section header on line 4 fails and the line under it is
        // reported too.
        let text = "#\n sysname A\nbogus\ninterface GigabitEthernet1/0/99\n shutdown\n";
        let scratch = Scratch::new();
        let lines: Vec<usize> = load_text(&scratch.device, text)
            .iter()
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert_eq!(config_file(text.as_bytes()), Ok(()));
    }
}
