//! Interfaces: names, their part of the configuration, commands and displays.

pub mod config;
pub mod name;

use crate::cli::Registry;

pub fn register(_r: &mut Registry) {}
