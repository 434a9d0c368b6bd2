//! The command shell's I/O-free library: grammar loading (`commands/*.yaml`), the syntax
//! mini-language, the matcher, `?` help, Tab completion, output pipes and error rendering.
//! It knows nothing about VRRP or DHCP: it turns a line into a typed [`Matched`] command
//! naming a handler, and the handler registry maps that name to Rust code.

pub mod args;
pub mod grammar;
pub mod handler;
pub mod help;
pub mod ifname;
pub mod matcher;
pub mod pipe;
pub mod render;
pub mod secret;
pub mod syntax;
pub mod table;
#[cfg(test)]
pub(crate) mod testing;
mod types;
pub mod view;

pub use args::{Args, Value};
pub use grammar::{Command, Grammar, GrammarError};
pub use handler::{CmdError, CmdResult, Interaction};
pub use matcher::{ErrorKind, MatchError, Matched};
pub use types::parse_mac;
pub use view::{FeatureView, View};
