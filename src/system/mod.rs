//! System-wide commands: views, sysname, save and the configuration displays, version, clock;
//! and the everyday operations: ping, tracert, display arp, reboot.

mod arp;
pub mod clock;
mod display;
mod ping;
pub mod reboot;
pub mod save;
pub mod shell;
mod sysname;

use crate::config::render::{Place, Sections};
use crate::device::Registry;
use crate::features::{Config, Feature};

/// The system feature: the shell's own commands, `sysname`, the configuration files and the
/// system displays.
pub const FEATURE: Feature = Feature {
    name: "system",
    register,
    render,
    start: None,
};

/// ` sysname NAME`, the first global line, then ` clock timezone ...` when set.
fn render(cfg: &Config, out: &mut Sections) {
    let mut lines = vec![format!(" sysname {}", cfg.sysname)];
    lines.extend(cfg.timezone.as_ref().map(clock::TimeZone::render));
    out.global(Place::Global, lines);
}

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
    r.add("system.ping", ping::ping);
    r.add("system.tracert", ping::tracert);
    r.add("system.display_arp", arp::display_arp);
    r.add("system.reboot", reboot::reboot);
    r.add("system.clock_timezone", clock::timezone);
    r.add("system.clock_datetime", clock::datetime);
    r.add("system.save", save::save);
    r.add("system.save_file", save::save_file);
    r.add(
        "system.startup_saved_configuration",
        save::startup_saved_configuration,
    );
    r.add("system.reset_saved_configuration", save::reset_saved);
}
