//! System-wide commands: views, sysname, save and the configuration displays, version, clock.

pub mod shell;

use crate::cli::Registry;

pub fn register(r: &mut Registry) {
    shell::register(r);
}
