//! Dual-device hot backup: the sans-IO protocol core that replicates a service's entries (DHCP
//! bindings first) to the peer device over one TCP stream. `frame` holds the wire format,
//! `service` the boundary to a replicated service, `merge` the reconciliation rule and
//! `session` the peer state machine a driver wraps. See docs/hot-backup-protocol.md.

pub mod frame;
pub mod merge;
pub mod service;
pub mod session;
#[cfg(test)]
mod session_tests;

pub use frame::{AuthKey, FrameError, Role};
pub use merge::{Conflict, Merge};
pub use service::{
    Change, DhcpBindings, Replica, Service, apply_half, dhcp_config_digest, dhcp_half, in_half,
};
pub use session::{
    Event, Mode, Phase, Progress, Session, SessionConfig, Stats, Status, Unconfirmed,
};
