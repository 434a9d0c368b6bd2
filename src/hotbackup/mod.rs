//! Dual-device hot backup: the sans-IO protocol core that replicates a service's entries (DHCP
//! bindings first) to the peer device over one TCP stream. `message` and `frame` hold the wire
//! format, `service` the boundary to a replicated service and `dhcp` its first implementation,
//! `merge` the reconciliation rule, and `session` the peer state machine a driver wraps, with
//! its `config`, `event`s and `status`. See docs/hot-backup-protocol.md.

pub mod config;
pub mod dhcp;
pub mod event;
pub mod frame;
pub mod merge;
pub mod message;
pub mod service;
pub mod session;
#[cfg(test)]
mod session_tests;
pub mod status;

pub use config::{Mode, SessionConfig};
pub use dhcp::{DhcpBindings, apply_half, dhcp_config_digest, dhcp_half, in_half};
pub use event::{Event, ProtocolError, SessionError, Unconfirmed};
pub use frame::{AuthKey, FrameError};
pub use merge::{Conflict, Merge};
pub use message::{Message, Role};
pub use service::{Change, Replica, Service};
pub use session::Session;
pub use status::{Phase, Progress, Stats, Status};
