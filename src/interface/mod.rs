//! Interfaces: names, addresses, their part of the configuration, commands and rendering.

pub mod address;
mod commands;
pub mod config;
pub mod name;
pub mod render;

use crate::cli::Registry;

pub fn register(r: &mut Registry) {
    r.add("interface.enter", commands::enter);
    r.add("interface.ip_address", commands::ip_address);
    r.add("interface.shutdown", commands::shutdown);
    r.add("interface.description", commands::description);
}
