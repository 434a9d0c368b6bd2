//! CLI sessions: one per login (console, control socket, SSH). A [`Session`] holds its view
//! stack, role and history and executes lines against the device; front ends (the console
//! line editor, the control socket) only move text.

pub mod console;
pub mod control;
pub mod exec;
pub mod frontend;
pub mod idle;
pub mod lineedit;
pub mod load;
pub mod login;
pub mod monitor;
pub mod pager;
pub mod protocol;
pub mod remote;
pub mod signals;
pub mod ssh;
pub mod streamterm;
pub mod table;
pub mod typeahead;

use std::sync::Arc;

use crate::cli::{View, grammar, help, render};
use crate::device::Device;

/// User roles (Comware 7 `user-role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// May do everything.
    NetworkAdmin,
    /// Display commands only; cannot enter system-view.
    NetworkOperator,
}

impl Role {
    /// The role's name as commands and displays write it.
    pub fn name(self) -> &'static str {
        match self {
            Role::NetworkAdmin => "network-admin",
            Role::NetworkOperator => "network-operator",
        }
    }
}

/// How a front end answers the questions a command asks (defined beside the handlers' context
/// in the shell library).
pub use crate::cli::handler::Interaction;

/// What a session is: everything a command may read or change about its caller.
#[derive(Clone, Debug)]
pub struct SessionState {
    /// `views[0]` is always `View::User`; the last is the current view.
    pub views: Vec<View>,
    pub role: Role,
    /// Login name (`**` when there is none, as Comware logs it).
    pub user: String,
    /// Line name for logs and `display users` (`con0`, `vty0`, ...).
    pub line: String,
    /// Peer address for logs (`**` on the console).
    pub peer: String,
    /// Commands executed, as typed (consecutive duplicates once).
    pub history: Vec<String>,
    /// The line executed last was kept in `history`. Front ends offer for recall (Up-arrow)
    /// exactly the lines kept there, so this is how they learn which ones
    /// (`Shell::last_in_history`).
    pub last_in_history: bool,
    /// Pager page length; `None` after `screen-length disable`.
    pub screen_length: Option<usize>,
    /// Set by `quit` in user view: the front end closes the session.
    pub exit: bool,
    /// Log output to this session's terminal (`terminal monitor`, `terminal logging level`),
    /// shared with the thread that prints the messages.
    pub terminal: Arc<monitor::TerminalLog>,
}

impl SessionState {
    pub fn new(role: Role, user: &str, line: &str, peer: &str) -> Self {
        SessionState {
            views: vec![View::User],
            role,
            user: user.to_string(),
            line: line.to_string(),
            peer: peer.to_string(),
            history: Vec::new(),
            last_in_history: false,
            screen_length: Some(24),
            exit: false,
            terminal: monitor::TerminalLog::for_line(line),
        }
    }
    pub fn view(&self) -> &View {
        self.views.last().expect("view stack never empty")
    }
}

/// A CLI session bound to a device.
pub struct Session {
    pub device: Arc<Device>,
    pub state: SessionState,
    /// The log entries its terminal's feed starts from, when taken before the session began
    /// (the console's first session shows what the device logged since start-up).
    pub(crate) early_logs: Option<std::sync::mpsc::Receiver<crate::infocenter::LogEntry>>,
}

/// The result of executing one line.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Everything the command printed, errors included (lines end with `\n`).
    pub output: String,
    /// False when the line was rejected or the command failed (`duet connect` exits nonzero).
    pub ok: bool,
}

/// Tab completion of the word under the cursor (the end of the line).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// Byte offset in the line where the completed word starts.
    pub start: usize,
    /// Full words that may replace `line[start..]`, in the order Tab cycles through them.
    pub candidates: Vec<String>,
}

impl Session {
    pub fn new(device: Arc<Device>, state: SessionState) -> Self {
        Session {
            device,
            state,
            early_logs: None,
        }
    }

    /// The prompt of the current view (`<Duet>`, `[Duet-GigabitEthernet1/0/1]`).
    pub fn prompt(&self) -> String {
        self.state.view().prompt(&self.device.sysname())
    }

    /// Execute one line as typed (aliases, prefixes, `undo`, pipes): the command's output or
    /// the Comware error with its caret line, which counts the prompt's width.
    pub fn execute(&mut self, line: &str, io: &mut dyn Interaction) -> Outcome {
        match grammar::builtin() {
            Ok(g) => exec::execute(
                g,
                &self.device.handlers,
                &self.device,
                &mut self.state,
                line,
                io,
            ),
            Err(e) => Outcome {
                output: format!("{e}\n"),
                ok: false,
            },
        }
    }

    /// The text `?` shows at the end of `line` (the `?` itself not included): the view's
    /// command list, the next words with their help, or the completions of a partial word.
    pub fn help(&self, line: &str) -> String {
        let grammar = match grammar::builtin() {
            Ok(g) => g,
            Err(e) => return format!("{e}\n"),
        };
        let kinds = exec::help_kinds(&self.state.views);
        help::help(grammar, &kinds, line)
            .unwrap_or_else(|e| render::match_error(self.prompt().chars().count(), line, e))
    }

    /// What Tab offers at the end of `line`.
    pub fn complete(&self, line: &str) -> Completion {
        let Ok(grammar) = grammar::builtin() else {
            return Completion {
                start: line.len(),
                candidates: Vec::new(),
            };
        };
        let kinds = exec::help_kinds(&self.state.views);
        let (start, candidates) = help::complete(grammar, &kinds, line);
        Completion { start, candidates }
    }
}
