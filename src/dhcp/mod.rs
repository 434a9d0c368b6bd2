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

use std::sync::Arc;

use tokio::runtime::Handle;

use crate::config::render::{Place, Sections};
use crate::device::{Device, StartError};
use crate::features::{Config, Feature, Network};
use driver::io::{DhcpIo, LinuxIo, SimIo};

/// The DHCP server feature.
pub const FEATURE: Feature = Feature {
    name: "dhcp",
    register,
    render,
    start: Some(start),
};

/// The global lines among the system's, then one section per pool (the interface lines are
/// rendered with the interface).
fn render(cfg: &Config, out: &mut Sections) {
    out.global(Place::Global, render::global_lines(&cfg.dhcp));
    for section in render::pool_sections(&cfg.dhcp) {
        out.add(Place::View, section);
    }
}

/// Start the DHCP engine on the device's network, with its lease store in `DATA/dhcp/`. A
/// store that cannot be opened is logged and leaves the DHCP server stopped (it must not
/// answer without a journal); the device runs on.
fn start(device: &Arc<Device>, rt: &Handle, net: &Network<'_>) -> Result<(), StartError> {
    let io = match net {
        Network::Sim(lan, node) => DhcpIo::Sim(SimIo::new((*lan).clone(), *node)),
        Network::Linux(ports) => DhcpIo::Linux(LinuxIo::new(ports)),
    };
    let _g = device.span().entered();
    match driver::start(
        device.options.data_dir.clone(),
        io,
        device.config.subscribe(),
    ) {
        Ok((engine, handle, jobs)) => {
            if device.dhcp.set(handle).is_ok() {
                device.spawn(rt, engine.run(jobs));
            }
        }
        Err(e) => tracing::error!(
            module = "DHCPS",
            severity = 3u8,
            mnemonic = "DHCPS_STORE",
            "The DHCP server cannot open its lease store: {e}"
        ),
    }
    Ok(())
}
pub use config::DhcpConfig;
pub use event::{Destination, Ingress, LeaseChange, LeaseEvent, Origin, Reply, Stats};
pub use lease::{ClientKey, LeaseRecord, LeaseState, LeaseTable, Millis};
pub use packet::{DecodeError, Message};
pub use server::{Server, ServerOptions};
pub use store::{LeaseStore, Recovery, StoreError};
