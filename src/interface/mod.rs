//! Interfaces: names, their part of the configuration, the engine that applies it to the
//! network, the status it publishes, and the displays.

pub mod config;
pub mod display;
pub mod engine;
pub mod name;
pub mod status;

use crate::cli::Registry;

pub fn register(r: &mut Registry) {
    display::register(r);
}
