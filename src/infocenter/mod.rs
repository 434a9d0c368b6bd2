//! The info-center: each device's log buffer in Comware's line format, the `tracing` layer
//! that fills it, the operator log, the log hosts (UDP syslog), the systemd journal, and the
//! `info-center`/`logbuffer` commands.

pub mod buffer;
pub mod commands;
pub mod config;
pub mod journal;
pub mod loghost;
pub mod output;
pub mod repeat;
pub mod route;

pub use buffer::{LogBuffer, LogEntry, LogStats};
pub use config::InfoCenterConfig;
pub use route::{InfoCenterLayer, info_center_layer, init_tracing};

use crate::config::render::Place;
use crate::device::Registry;
use crate::features::Feature;

/// The info-center feature (its log buffer is the device's, made before any feature starts).
pub const FEATURE: Feature = Feature {
    name: "infocenter",
    register,
    render: |cfg, out| out.global(Place::Global, cfg.infocenter.render()),
    start: None,
};

pub fn register(r: &mut Registry) {
    commands::register(r);
}
