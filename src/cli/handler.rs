//! Handlers: the Rust side of each command named in `commands/*.yaml`.
//!
//! A handler is a plain function. It must *validate everything first and mutate last*, so a
//! command either applies completely or returns an error and changes nothing (design.md §1).

use std::collections::BTreeMap;

use super::args::Args;
use crate::device::Device;
use crate::session::{Interaction, SessionState};

/// What a handler gets: the device (shared), the calling session's state (views, settings,
/// history), a way to ask the user a question (`save`'s confirmations), and the output buffer.
pub struct Ctx<'a> {
    pub device: &'a Device,
    pub session: &'a mut SessionState,
    pub io: &'a mut dyn Interaction,
    /// Text the command prints; each line ends with `\n`.
    pub out: &'a mut String,
}

impl Ctx<'_> {
    /// Append one line of output.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
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
pub type Handler = fn(&mut Ctx<'_>, &Args) -> CmdResult;

/// Handler name (as written in the grammar, `feature.action`) -> function.
#[derive(Default)]
pub struct Registry {
    map: BTreeMap<&'static str, Handler>,
}

impl Registry {
    /// Every handler of every feature.
    pub fn all() -> Self {
        let mut r = Registry::default();
        crate::system::register(&mut r);
        crate::interface::register(&mut r);
        crate::infocenter::register(&mut r);
        crate::vrrp::register(&mut r);
        crate::dhcp::register(&mut r);
        crate::aaa::register(&mut r);
        crate::hotbackup::register(&mut r);
        r
    }
    pub fn add(&mut self, name: &'static str, h: Handler) {
        assert!(
            self.map.insert(name, h).is_none(),
            "handler {name} registered twice"
        );
    }
    pub fn get(&self, name: &str) -> Option<Handler> {
        self.map.get(name).copied()
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.map.keys().copied()
    }
}
