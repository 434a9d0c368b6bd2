//! Login and access, the configuration side: local users (`local-user`), user lines
//! (`line console 0`, `line vty A B`) and the SSH server settings (`ssh server ...`), with
//! their commands, displays and rendering. The SSH server itself is in `session::ssh`.

pub mod commands;
pub mod display;
pub mod lines;
pub mod password;
pub mod render;
pub mod users;

use crate::cli::Registry;

pub use lines::{AuthMode, LineConfig, LinesConfig, VTY_LINES};
pub use users::{LocalUser, SshServerConfig};

pub fn register(r: &mut Registry) {
    commands::register(r);
    display::register(r);
}

#[cfg(test)]
mod tests;
