//! Login and access, the configuration side: local users (`local-user`), user lines
//! (`line console 0`, `line vty A B`) and the SSH server settings (`ssh server ...`), with
//! their commands, displays and rendering. The SSH server itself is in `session::ssh`.

pub mod commands;
pub mod display;
pub mod lines;
pub mod network;
pub mod password;
pub mod render;
pub mod users;

use crate::config::render::{Place, Sections};
use crate::device::Registry;
use crate::features::{Config, Feature};

pub use lines::{AuthMode, LineConfig, LineRange, LinesConfig, VTY_LINES};
pub use users::{LocalUser, SshServerConfig};

/// The login feature: local users, user lines, the SSH server's settings. (The SSH server
/// itself is a front end in `session::ssh`, started with the device's sessions.)
pub const FEATURE: Feature = Feature {
    name: "aaa",
    register,
    render,
    start: None,
};

/// The user lines after the interfaces, then ` ssh server ...`, then one section per user.
fn render(cfg: &Config, out: &mut Sections) {
    for section in render::render_lines(&cfg.lines) {
        out.add(Place::Line, section);
    }
    out.global(Place::Access, render::render_ssh(&cfg.ssh));
    for section in render::render_domains(&cfg.domains) {
        out.add(Place::Access, section);
    }
    out.global(Place::Access, render::render_default_domain(&cfg.domains));
    for (name, user) in &cfg.users {
        out.add(Place::Access, render::render_user(name, user));
    }
    for (name, user) in &cfg.network_users {
        out.add(Place::Access, render::render_network_user(name, user));
    }
}

pub fn register(r: &mut Registry) {
    commands::register(r);
    display::register(r);
}

#[cfg(test)]
mod tests;
