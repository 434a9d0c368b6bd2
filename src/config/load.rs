//! Loading a configuration file: every line goes through the same parser as typed commands.
//!
//! The file is Comware's layout: `#` separates sections, a line without indentation (a section
//! header such as `interface GigabitEthernet1/0/1`) runs from system view, and the indented
//! lines below it run in the view the header entered. Indented lines before any header (`
//! sysname X`) run in system view. `return` and the ` version ...` line are skipped.

use crate::cli::grammar::{self, Grammar};
use crate::cli::{Registry, View, secret};
use crate::device::Device;
use crate::session::exec::{self, LineError, Options};
use crate::session::{Interaction, Role, SessionState};

/// A line of a configuration file that was not applied.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// Commands run from a file ask nothing: every question is answered "no".
struct NoQuestions;

impl Interaction for NoQuestions {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// Apply `text` (a `display current-configuration`-style file) to the device's running
/// configuration; bad lines are skipped and returned, the rest is applied and published once.
pub fn load_text(device: &Device, text: &str) -> Vec<LoadError> {
    match grammar::builtin() {
        Ok(g) => load_with(g, &device.handlers, device, text),
        Err(e) => vec![LoadError {
            line: 1,
            message: e.to_string(),
        }],
    }
}

/// [`load_text`] with a given grammar and handlers.
pub fn load_with(
    grammar: &Grammar,
    handlers: &Registry,
    device: &Device,
    text: &str,
) -> Vec<LoadError> {
    let options = Options {
        publish: false,
        history: false,
        log: false,
    };
    let mut state = SessionState::new(Role::NetworkAdmin, "**", "config", "**");
    let system = vec![View::User, View::System];
    // The view stack indented lines run in; `None` after a section header that failed.
    let mut section: Option<Vec<View>> = Some(system.clone());
    let mut errors = Vec::new();
    let mut io = NoQuestions;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        let indented = line.starts_with(char::is_whitespace);
        if trimmed.is_empty() || trimmed == "return" {
            continue;
        }
        if trimmed.starts_with('#') {
            section = Some(system.clone());
            continue;
        }
        if indented && trimmed.split_whitespace().next() == Some("version") {
            continue;
        }
        if indented {
            match &section {
                Some(views) => state.views = views.clone(),
                None => continue,
            }
        } else {
            state.views = system.clone();
        }
        let result = exec::run_with(
            grammar, handlers, device, &mut state, trimmed, &mut io, options,
        );
        if let Err((_, error)) = &result {
            errors.push(LoadError {
                line: index + 1,
                message: describe(grammar, error, trimmed),
            });
        }
        if !indented {
            section = result.is_ok().then(|| state.views.clone());
        }
    }
    device.config.publish();
    errors
}

/// The error of a file line: Comware's message and, since a file has no caret line, the word
/// the caret would stand under (`% Wrong parameter found at '^' position. (at "33")`). On a
/// line that may hold a secret (cli::secret) a word after the first is shown as `******`: the
/// report goes to standard error and the operator log.
fn describe(grammar: &Grammar, error: &LineError, line: &str) -> String {
    let offset = match error {
        LineError::Match(e) => Some(e.offset),
        LineError::Command {
            span: Some((start, _)),
            ..
        } => Some(*start),
        _ => None,
    };
    let word = offset
        .and_then(|o| line.get(o..))
        .and_then(|rest| rest.split_whitespace().next());
    let first = offset.is_some_and(|o| line.get(..o).is_some_and(|s| s.trim().is_empty()));
    let word = word.map(|w| {
        if !first && secret::may_hold_secret(grammar, line) {
            secret::MASK
        } else {
            w
        }
    });
    match word {
        Some(w) => format!("{} (at \"{w}\")", error.message()),
        None => error.message(),
    }
}

#[cfg(test)]
mod tests;
