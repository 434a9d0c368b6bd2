//! Interfaces: names, addresses, their part of the configuration, commands, rendering, the
//! engine that applies it to the network, the status it publishes, and the displays.

pub mod address;
pub(crate) mod commands;
pub mod config;
pub mod display;
pub mod engine;
/// Interface names are a parameter type of the shell (`<if:interface>`), defined there.
pub use crate::cli::ifname as name;
pub mod render;
pub mod status;
pub mod subnets;

use crate::cli::View;
use crate::config::render::{Place, Section, Sections};
use crate::device::Registry;
use crate::features::{Config, Feature};

/// The interface feature. Its engine is not in the entry: it is the device's base, started on
/// the network backend by `Device::start_with` before every other engine.
pub const FEATURE: Feature = Feature {
    name: "interface",
    register,
    render,
    start: None,
};

/// One `interface X` section per port, configured or not.
fn render(cfg: &Config, out: &mut Sections) {
    for (name, port) in &cfg.interfaces {
        out.add(
            Place::Interface,
            Section {
                view: View::Interface(name.to_string()),
                lines: render::render_interface(name, port),
            },
        );
    }
}

pub fn register(r: &mut Registry) {
    r.add("interface.enter", commands::enter);
    r.add("interface.ip_address", commands::ip_address);
    r.add("interface.shutdown", commands::shutdown);
    r.add("interface.description", commands::description);
    display::register(r);
}
