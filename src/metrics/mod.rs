//! Metrics for monitoring: a Prometheus text endpoint (`metrics enable`, `metrics listen`)
//! fed by one collector per feature ([`collect::COLLECTORS`]), and the atomic histogram the
//! lease store times its fsyncs with.

pub mod collect;
pub mod commands;
pub mod config;
pub mod histogram;
pub mod server;
pub mod text;

pub use config::MetricsConfig;

use crate::config::render::Place;
use crate::device::Registry;
use crate::features::Feature;

/// The metrics feature: its commands, its configuration lines and the endpoint's driver.
pub const FEATURE: Feature = Feature {
    name: "metrics",
    register,
    render: |cfg, out| out.global(Place::Global, cfg.metrics.render()),
    start: Some(server::start_on_device),
};

pub fn register(r: &mut Registry) {
    commands::register(r);
}
