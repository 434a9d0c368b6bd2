//! Handlers: the Rust side of each command named in `commands/*.yaml`.
//!
//! A handler is a plain function. It must *validate everything first and mutate last*, so a
//! command either applies completely or returns an error and changes nothing (design.md §1).
//!
//! The shell library knows no feature and no device: [`Ctx`] and [`Registry`] are generic over
//! the device `D` and the session state `S` they hand to handlers. The crate fixes both once
//! (`crate::device::{Ctx, Registry}`), and each feature registers its own handlers through the
//! feature list (`crate::features`), as FRR's daemons install their own command elements.

use std::collections::BTreeMap;

use super::args::Args;

/// How a front end answers the questions a command asks (`save`: `Are you sure? [Y/N]:`).
pub trait Interaction {
    /// Show `prompt` (no newline) and read one line of answer; `None` when the user is gone
    /// (end of input), which the command treats as "no".
    fn ask(&mut self, prompt: &str) -> Option<String>;

    /// Show `text` (whole lines) at once, for a command that runs for a while and reports as
    /// it goes (`ping`'s replies). Returns false when the front end cannot, and the text then
    /// goes with the command's output at its end (the default).
    fn progress(&mut self, _text: &str) -> bool {
        false
    }

    /// Has the user asked to stop the running command (Ctrl+C) since the last call? Long
    /// commands ask between steps; the default never stops.
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// What a handler gets: the device (shared), the calling session's state (views, settings,
/// history), a way to ask the user a question (`save`'s confirmations), and the output buffer.
pub struct Ctx<'a, D, S> {
    pub device: &'a D,
    pub session: &'a mut S,
    pub io: &'a mut dyn Interaction,
    /// Text the command prints; each line ends with `\n`.
    pub out: &'a mut String,
}

impl<D, S> Ctx<'_, D, S> {
    /// Append one line of output.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }

    /// One line of a long-running command's output: shown at once where the front end can
    /// ([`Interaction::progress`]), else kept with the rest of the output.
    pub fn progress_line(&mut self, text: impl AsRef<str>) {
        let line = format!("{}\n", text.as_ref());
        // What is already buffered goes first, so the order on the screen stays the order
        // of the lines.
        if !self.out.is_empty() {
            if !self.io.progress(self.out) {
                self.out.push_str(&line);
                return;
            }
            self.out.clear();
        }
        if !self.io.progress(&line) {
            self.out.push_str(&line);
        }
    }

    /// Append the lines of a table (the one renderer of column layouts: `cli::table`).
    pub fn table(&mut self, table: &super::table::Table) {
        for line in table.lines() {
            self.line(line);
        }
    }
}

/// Why a command failed. The session renders it; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CmdError {
    /// Printed as is (the handler writes Comware's wording, e.g.
    /// `The interface GigabitEthernet1/0/9 does not exist.`).
    #[error("{0}")]
    Message(String),
    /// The argument of that name is invalid here: rendered as
    /// `% Wrong parameter found at '^' position.` with the caret under it.
    #[error("wrong parameter {0}")]
    WrongParameter(String),
    /// The session's role may not run this command.
    #[error("permission denied")]
    PermissionDenied,
}

impl CmdError {
    pub fn msg(text: impl Into<String>) -> Self {
        CmdError::Message(text.into())
    }
}

pub type CmdResult = Result<(), CmdError>;
pub type Handler<D, S> = fn(&mut Ctx<'_, D, S>, &Args) -> CmdResult;

/// Handler name (as written in the grammar, `feature.action`) -> function. Each feature adds
/// its own; the whole set is built by `Registry::all` from the feature list (`crate::features`).
pub struct Registry<D, S> {
    map: BTreeMap<&'static str, Handler<D, S>>,
}

impl<D, S> Default for Registry<D, S> {
    fn default() -> Self {
        Registry {
            map: BTreeMap::new(),
        }
    }
}

impl<D, S> Registry<D, S> {
    pub fn add(&mut self, name: &'static str, h: Handler<D, S>) {
        assert!(
            self.map.insert(name, h).is_none(),
            "handler {name} registered twice"
        );
    }
    pub fn get(&self, name: &str) -> Option<Handler<D, S>> {
        self.map.get(name).copied()
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.map.keys().copied()
    }
}
