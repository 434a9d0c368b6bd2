//! Dual-device hot backup: the sans-IO protocol core that replicates a service's entries (DHCP
//! bindings first) to the peer device over one TCP stream, and the engine that runs it.
//! `message` and `frame` hold the wire format, `service` the boundary to a replicated service
//! and `dhcp` its first implementation, `merge` the reconciliation rule, and `session` the
//! peer state machine, with its `config`, `event`s and `status`. `settings`, `commands` and
//! `render` are the `hot-backup` view's configuration; `channel` and `driver` the async
//! engine that runs a session over the failover link; `display` the displays. See
//! docs/hot-backup-protocol.md.

pub mod commands;
pub mod config;
pub mod dhcp;
pub mod display;
pub mod driver;
pub mod event;
pub mod frame;
pub mod merge;
pub mod message;
pub mod render;
pub mod service;
pub mod session;
#[cfg(test)]
mod session_tests;
pub mod settings;
pub mod status;

pub use commands::register;

use crate::config::render::{Place, Sections};
use crate::features::{Config as DeviceConfig, Feature};

/// The hot-backup feature.
pub const FEATURE: Feature = Feature {
    name: "hotbackup",
    register,
    render,
    // In the driver: this folder's other modules are the sans-IO core and do no I/O
    // (tests/hotbackup_sim.rs, `hotbackup_core_modules_do_no_io`).
    start: Some(driver::start_on_device),
};

/// ` dhcp server hot-backup` among the global lines, then the `hot-backup` section among the
/// views (after the DHCP pools).
fn render(cfg: &DeviceConfig, out: &mut Sections) {
    out.global(Place::Global, render::global_lines(&cfg.hotbackup));
    if let Some(section) = render::section(&cfg.hotbackup) {
        out.add(Place::View, section);
    }
}

pub use config::{Mode, SessionConfig};
pub use dhcp::{DhcpBindings, apply_half, dhcp_config_digest, dhcp_half, in_half};
pub use event::{Event, ProtocolError, SessionError, Unconfirmed};
pub use frame::{AuthKey, FrameError};
pub use merge::{Conflict, Merge};
pub use message::{Message, PageEntries, Role};
pub use service::{Change, Replica, Service};
pub use session::Session;
pub use status::{Phase, Progress, Stats, Status};
