//! Loading a configuration file: every line goes through the same parser as typed commands.
//!
//! A file is read the way a Comware device reads one: each line runs in the **current view
//! stack**, and a line the current view does not know runs in the view above it, as typed
//! (`exec::run_with`). So a flat file loads (`interface X` enters the interface view, the next
//! line `ip address ...` runs there, the next `interface Y` runs from system view), and so does
//! Comware's own layout, where `#` lines separate sections. Comware's indentation is still
//! honoured: an indented line runs in the view its section header entered (the stack after the
//! last unindented line), even after an indented line that ran in a view above. `#` returns to
//! system view, a `system-view` line is accepted (the file starts there), `return` and the `
//! version ...` line are skipped.
//!
//! A section header that fails (a system-level line that was not applied) opens a rejected
//! section: every line that belongs to it is reported with its own number and not run (it
//! would run in a view it was not written for). Its lines are the indented ones, and, in a flat
//! file, the unindented ones that do not run in system view; the first line that runs in system
//! view, a `#` or a `system-view` line ends it.
//!
//! Lines Duet does not implement but that change nothing about its behaviour (a Comware
//! startup.cfg's `clock protocol`, `vlan 1`, ...) are reported as not supported and skipped
//! (`foreign`); they fail nothing that follows.

mod foreign;

use std::path::Path;

use crate::cli::grammar::{self, Grammar};
use crate::cli::matcher;
use crate::cli::{View, secret};
use crate::config::text::{ConfigFileError, read_config_text};
use crate::device::{Device, Registry};
use crate::session::exec::{self, LineError, Options};
use crate::session::{Interaction, Role, SessionState};

/// What a report about a line of a configuration file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The line was not applied: the configuration differs from what the file says.
    Error,
    /// The line is a Comware command Duet does not implement and that changes nothing here;
    /// it was skipped (or the part of it Duet does not have was).
    NotSupported,
}

/// A line of a configuration file that was not applied, or not applied whole.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
    pub severity: Severity,
}

impl LoadError {
    fn error(line: usize, message: String) -> Self {
        LoadError {
            line,
            message,
            severity: Severity::Error,
        }
    }

    /// Was the line (or part of it) not applied although it matters?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
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
        Err(e) => vec![LoadError::error(1, e.to_string())],
    }
}

/// Load a configuration file into `device`; the reports about its lines, each rendered
/// `FILE:LINE: message`.
pub fn load_file(device: &Device, path: &Path) -> Result<Vec<(Severity, String)>, ConfigFileError> {
    let text = read_config_text(path)?;
    Ok(load_text(device, &text)
        .into_iter()
        .map(|e| {
            let LoadError {
                line,
                message,
                severity,
            } = e;
            (severity, format!("{}:{line}: {message}", path.display()))
        })
        .collect())
}

/// A section header that was not applied: the lines that belong to it are reported, not run.
struct Rejected {
    /// Its 1-based line number.
    header: usize,
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
    state.views = system.clone();
    // The view stack indented lines run in: the one the last unindented line left.
    let mut section = system.clone();
    let mut rejected: Option<Rejected> = None;
    // An unsupported section (`vlan 1`) whose indented lines are skipped with it.
    let mut ignored_section = false;
    let mut reports = Vec::new();
    let mut io = NoQuestions;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        let indented = line.starts_with(char::is_whitespace);
        if trimmed.is_empty() || trimmed == "return" {
            continue;
        }
        if trimmed.starts_with('#') || trimmed == "system-view" {
            state.views = system.clone();
            section = system.clone();
            rejected = None;
            ignored_section = false;
            continue;
        }
        if indented && trimmed.split_whitespace().next() == Some("version") {
            continue;
        }
        if indented && ignored_section {
            continue;
        }
        if !indented {
            ignored_section = false;
        }
        if let Some(r) = &rejected {
            if indented {
                reports.push(LoadError::error(number, under_rejected(r.header)));
                continue;
            }
            // A flat file: the line starts something new only if it runs in system view.
            state.views = system.clone();
        }
        if indented {
            state.views = section.clone();
        }
        let mut command = trimmed.to_string();
        // Like a command, a skipped line belongs to the current view or one above it.
        let (level, verdict) = foreign::classify_in(&state.views, trimmed);
        match verdict {
            foreign::Verdict::Ours => {}
            foreign::Verdict::Skip {
                reason,
                section: opens,
            } => {
                reports.push(not_supported(number, reason.to_string()));
                if !indented {
                    ignored_section = opens;
                    rejected = None;
                    state.views.truncate(level + 1);
                    section = state.views.clone();
                }
                continue;
            }
            foreign::Verdict::Trim {
                kept,
                dropped,
                reason,
            } => {
                reports.push(not_supported(
                    number,
                    format!("{} ({reason})", dropped.join(" ")),
                ));
                command = kept;
            }
        }
        let views_before = state.views.clone();
        let result = exec::run_with(
            grammar, handlers, device, &mut state, &command, &mut io, options,
        );
        match (&result, &rejected) {
            (Ok(_), _) => rejected = None,
            (Err(_), Some(r)) => {
                reports.push(LoadError::error(number, under_rejected(r.header)));
                continue;
            }
            (Err((_, error)), None) => {
                reports.push(LoadError::error(number, describe(grammar, error, &command)));
                if !indented && fails_at_system_level(grammar, &views_before, &command) {
                    rejected = Some(Rejected { header: number });
                    state.views = system.clone();
                }
            }
        }
        if !indented {
            section = state.views.clone();
        }
    }
    device.config.publish();
    reports
}

/// The report of a line that belongs to a rejected section.
fn under_rejected(header: usize) -> String {
    format!("Not applied: its section header (line {header}) was rejected.")
}

fn not_supported(line: usize, what: String) -> LoadError {
    LoadError {
        line,
        message: format!("Not supported, skipped: {what}"),
        severity: Severity::NotSupported,
    }
}

/// Did `line` fail as a line of system view (a section header or a system setting) rather
/// than as a line of the section it stands in? It did if the current view is system view, or
/// if its match got further in system view than in the current view.
fn fails_at_system_level(grammar: &Grammar, views: &[View], line: &str) -> bool {
    let Some(current) = views.last() else {
        return true;
    };
    if views.len() <= 2 {
        return true;
    }
    let here = matcher::match_line(grammar, current.kind(), line);
    let system = matcher::match_line(grammar, "system", line);
    match (here, system) {
        (Ok(_), _) => false,
        (Err(_), Ok(_)) => true,
        (Err(h), Err(s)) => s.offset > h.offset,
    }
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
