//! System-wide commands: views, sysname, save and the configuration displays, version, clock.

mod display;
pub mod shell;
mod sysname;

use crate::cli::Registry;
use crate::config::save;

pub fn register(r: &mut Registry) {
    shell::register(r);
    r.add("system.sysname", sysname::sysname);
    r.add(
        "system.display_current_configuration",
        display::current_configuration,
    );
    r.add("system.display_this", display::this);
    r.add(
        "system.display_saved_configuration",
        display::saved_configuration,
    );
    r.add("system.display_startup", display::startup);
    r.add("system.display_version", display::version);
    r.add("system.display_clock", display::clock);
    r.add("system.save", save::save);
    r.add("system.reset_saved_configuration", save::reset_saved);
}
