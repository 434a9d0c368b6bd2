//! System-wide commands: views, sysname, save and the configuration displays, version, clock.

use crate::cli::Registry;

pub fn register(_r: &mut Registry) {}
