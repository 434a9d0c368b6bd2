//! Interfaces: names, addresses, their part of the configuration, commands, rendering, the
//! engine that applies it to the network, the status it publishes, and the displays.

pub mod address;
pub(crate) mod commands;
pub mod config;
pub mod display;
pub mod engine;
pub mod name;
pub mod render;
pub mod status;
pub mod subnets;

use crate::cli::Registry;

pub fn register(r: &mut Registry) {
    r.add("interface.enter", commands::enter);
    r.add("interface.ip_address", commands::ip_address);
    r.add("interface.shutdown", commands::shutdown);
    r.add("interface.description", commands::description);
    display::register(r);
}
