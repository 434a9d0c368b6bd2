//! The info-center: each device's log buffer in Comware's line format, the `tracing` layer
//! that fills it, the operator log, and the `info-center`/`logbuffer` commands.

pub mod buffer;
pub mod commands;
pub mod config;
pub mod repeat;
pub mod route;

pub use buffer::{LogBuffer, LogEntry, LogStats};
pub use config::InfoCenterConfig;
pub use route::{InfoCenterLayer, info_center_layer, init_tracing};

use crate::cli::Registry;

pub fn register(r: &mut Registry) {
    commands::register(r);
}
