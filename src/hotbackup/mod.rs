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
pub use config::{Mode, SessionConfig};
pub use dhcp::{DhcpBindings, apply_half, dhcp_config_digest, dhcp_half, in_half};
pub use event::{Event, ProtocolError, SessionError, Unconfirmed};
pub use frame::{AuthKey, FrameError};
pub use merge::{Conflict, Merge};
pub use message::{Message, PageEntries, Role};
pub use service::{Change, Replica, Service};
pub use session::Session;
pub use status::{Phase, Progress, Stats, Status};
