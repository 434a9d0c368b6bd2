//! Executing a line in a session: match it in the current view (or a view above), check the
//! role, run the handler, filter its output, then publish, record history and log.

use crate::cli::grammar::Grammar;
use crate::cli::matcher::{self, MatchError, Matched};
use crate::cli::{CmdError, View, pipe, render, secret};
use crate::device::Device;
use crate::device::{Ctx, Registry};

use super::{Interaction, Outcome, Role, SessionState};

/// Comware 7's answer when the user role may not run a command.
pub const PERMISSION_DENIED: &str = "Permission denied.";

/// What the caller of [`run_with`] wants besides running the command.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Publish the configuration after a successful command.
    pub publish: bool,
    /// Record the line in the session's history.
    pub history: bool,
    /// Log configuration commands (`SHELL/6/SHELL_CMD`).
    pub log: bool,
}

impl Options {
    /// An interactive session: everything.
    pub const INTERACTIVE: Options = Options {
        publish: true,
        history: true,
        log: true,
    };
}

/// Why a line did not run (or ran and failed).
#[derive(Clone, Debug, PartialEq)]
pub enum LineError {
    /// The grammar could not be loaded (a build with a broken `commands/*.yaml`).
    Grammar(String),
    /// The line matches no command.
    Match(MatchError),
    /// The command failed; `span` is where a `WrongParameter` points.
    Command {
        error: CmdError,
        span: Option<(usize, usize)>,
    },
}

impl LineError {
    /// The error as Comware prints it, without the caret line.
    pub fn message(&self) -> String {
        match self {
            LineError::Grammar(m) => m.clone(),
            LineError::Match(e) => e.kind.message().to_string(),
            LineError::Command {
                error: CmdError::Message(m),
                ..
            } => m.clone(),
            LineError::Command {
                error: CmdError::WrongParameter(_),
                ..
            } => matcher::ErrorKind::WrongParameter.message().to_string(),
            LineError::Command {
                error: CmdError::PermissionDenied,
                ..
            } => PERMISSION_DENIED.to_string(),
        }
    }

    /// The error for the screen: the caret line (counting the prompt) where there is one.
    pub fn render(&self, prompt_width: usize, line: &str) -> String {
        match self {
            LineError::Match(e) => render::match_error(prompt_width, line, *e),
            LineError::Command {
                error: CmdError::WrongParameter(_),
                span: Some((start, _)),
            } => render::caret(prompt_width, line, *start, &self.message()),
            _ => format!("{}\n", self.message()),
        }
    }
}

/// The levels of the view stack a line is tried in: the current view, then each view above it
/// down to system view (never user view from a deeper view).
fn levels(views: &[View]) -> Vec<usize> {
    let top = views.len().saturating_sub(1);
    if top == 0 {
        vec![0]
    } else {
        (1..=top).rev().collect()
    }
}

/// The view kinds `?` and Tab try, in order.
pub fn help_kinds(views: &[View]) -> Vec<&'static str> {
    levels(views).into_iter().map(|i| views[i].kind()).collect()
}

/// Find the command of `line` for this view stack: the level it matched at and the match.
fn find<'g>(
    grammar: &'g Grammar,
    views: &[View],
    line: &str,
) -> Result<(usize, Matched<'g>), MatchError> {
    let mut error: Option<MatchError> = None;
    for level in levels(views) {
        match matcher::match_line(grammar, views[level].kind(), line) {
            Ok(m) => return Ok((level, m)),
            Err(e) => error = Some(MatchError::furthest(error, e)),
        }
    }
    Err(error.unwrap_or(MatchError {
        kind: matcher::ErrorKind::Unrecognized,
        offset: 0,
    }))
}

/// A line as a log may show it when it is not known to have run (a command that panicked):
/// the line of the command it matches in this view stack with every secret masked, or, when it
/// matches none (a line being typed, a typo), only its first word, since nothing says which
/// of the other words is a secret.
pub fn loggable(views: &[View], line: &str) -> String {
    let first = line.split_whitespace().next().unwrap_or("");
    let grammar = match crate::cli::grammar::builtin() {
        Ok(g) => g,
        Err(_) => return format!("{first} {}", secret::MASK),
    };
    match find(grammar, views, line) {
        Ok((_, m)) => secret::mask(line, m.command, &m.args).trim().to_string(),
        Err(_) if line.split_whitespace().nth(1).is_none() => first.to_string(),
        Err(_) => format!("{first} {}", secret::MASK),
    }
}

/// Record a line in the history: as typed, consecutive duplicates once.
fn remember(state: &mut SessionState, line: &str) {
    if state.history.last().map(String::as_str) != Some(line) {
        state.history.push(line.to_string());
    }
}

/// Execute a line as typed in an interactive session: nothing for an empty line, else the
/// command's output, or the error with its caret line (counting the prompt of the view the
/// line was typed in).
pub fn execute(
    grammar: &Grammar,
    handlers: &Registry,
    device: &Device,
    state: &mut SessionState,
    line: &str,
    io: &mut dyn Interaction,
) -> Outcome {
    if line.trim().is_empty() {
        state.last_in_history = false;
        return Outcome {
            output: String::new(),
            ok: true,
        };
    }
    let prompt = state.view().prompt(&device.sysname());
    match run_with(
        grammar,
        handlers,
        device,
        state,
        line,
        io,
        Options::INTERACTIVE,
    ) {
        Ok(output) => Outcome { output, ok: true },
        Err((mut output, error)) => {
            output.push_str(&error.render(prompt.chars().count(), line));
            Outcome { output, ok: false }
        }
    }
}

/// Execute one non-empty line; the command's output (filtered by its pipes), or why it
/// failed together with what the command printed before failing.
pub fn run_with(
    grammar: &Grammar,
    handlers: &Registry,
    device: &Device,
    state: &mut SessionState,
    line: &str,
    io: &mut dyn Interaction,
    options: Options,
) -> Result<String, (String, LineError)> {
    // A line that matches no command or is refused is not history.
    state.last_in_history = false;
    let (level, matched) =
        find(grammar, &state.views, line).map_err(|e| (String::new(), LineError::Match(e)))?;
    let command = matched.command;
    if state.role == Role::NetworkOperator && !command.operator {
        return Err((
            String::new(),
            LineError::Command {
                error: CmdError::PermissionDenied,
                span: None,
            },
        ));
    }
    // Comware keeps password commands out of the history buffer; here every line that carries
    // a value of a `secret:` parameter (cli::secret) stays out, whatever the command. This is
    // the only place that decides: the line editors' recall lists (Up-arrow) keep the lines
    // kept here (`last_in_history`), so no front end can bring a secret back on screen.
    state.last_in_history = options.history && !secret::carries_secret(command, &matched.args);
    if state.last_in_history {
        remember(state, line.trim());
        // The device's shared buffer (`display history-command all`) keeps exactly what the
        // sessions keep, so it never holds a secret either.
        device.sessions.remember(line.trim());
    }
    // A command of a view above runs there; if it fails, the session stays where it was.
    let views_before = state.views.clone();
    state.views.truncate(level + 1);
    let Some(handler) = handlers.get(&command.handler) else {
        let error = CmdError::msg(format!(
            "The command's handler {} is not available.",
            command.handler
        ));
        return Err((String::new(), LineError::Command { error, span: None }));
    };
    let mut out = String::new();
    let result = handler(
        &mut Ctx {
            device,
            session: state,
            io,
            out: &mut out,
        },
        &matched.args,
    );
    match result {
        Ok(()) => {
            if options.publish {
                device.config.publish();
            }
            if options.log && !command.pipe {
                let message = format!(
                    "-Line={}-IPAddr={}-User={}; Command is {}",
                    state.line,
                    state.peer,
                    state.user,
                    // Every secret value masked (cli::secret): the log never holds one.
                    secret::mask(line, command, &matched.args).trim()
                );
                device.log("SHELL", 6, "SHELL_CMD", &message);
            }
            Ok(pipe::apply(&matched.pipes, out))
        }
        Err(error) => {
            state.views = views_before;
            // A value given as two words (`gigabitethernet 1/0/9`): the caret goes under the
            // number, the word a wrong value is in.
            let span = match &error {
                CmdError::WrongParameter(name) => matched.args.span(name).map(|(start, end)| {
                    let last = line[start..end].rfind(char::is_whitespace);
                    (last.map_or(start, |i| start + i + 1), end)
                }),
                _ => None,
            };
            Err((out, LineError::Command { error, span }))
        }
    }
}

#[cfg(test)]
mod tests;
