//! The DHCPv4 server (RFC 2131/2132): message codec, configuration, address allocator, lease
//! table, the sans-IO server core and the crash-safe lease store. See docs/dhcp.md.

pub mod commands;
pub mod config;
pub mod display;
pub mod driver;
pub mod event;
pub mod frame;
pub mod lease;
pub mod options;
pub mod packet;
pub mod pool;
pub mod render;
mod reply;
pub mod server;
pub mod store;

pub use commands::register;

use crate::config::render::{Place, Sections};
use crate::features::{Config, Feature};

/// The DHCP server feature.
pub const FEATURE: Feature = Feature {
    name: "dhcp",
    register,
    render,
    // In the driver: the rest of this folder is the sans-IO core and the store
    // (tests/dhcp_sans_io.rs).
    start: Some(driver::start_on_device),
};

/// The global lines among the system's, then one section per pool (the interface lines are
/// rendered with the interface).
fn render(cfg: &Config, out: &mut Sections) {
    out.global(Place::Global, render::global_lines(&cfg.dhcp));
    for section in render::pool_sections(&cfg.dhcp) {
        out.add(Place::View, section);
    }
}

pub use config::DhcpConfig;
pub use event::{Destination, Ingress, LeaseChange, LeaseEvent, Origin, Reply, Stats};
pub use lease::{ClientKey, LeaseRecord, LeaseState, LeaseTable, Millis};
pub use packet::{DecodeError, Message};
pub use server::{Server, ServerOptions};
pub use store::{LeaseStore, Recovery, StoreError};
