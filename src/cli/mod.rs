//! The command shell's I/O-free library: grammar loading (`commands/*.yaml`), the syntax
//! mini-language, the matcher, `?` help, Tab completion, output pipes and error rendering.
//! It knows nothing about VRRP or DHCP: it turns a line into a typed [`Matched`] command
//! naming a handler, and the handler registry maps that name to Rust code.

pub mod args;
pub mod handler;
pub mod view;

pub use args::{Args, Value};
pub use handler::{CmdError, Ctx, Handler, Registry};
pub use view::View;
