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
pub use config::DhcpConfig;
pub use event::{Destination, Ingress, LeaseChange, LeaseEvent, Origin, Reply, Stats};
pub use lease::{ClientKey, LeaseRecord, LeaseState, LeaseTable, Millis};
pub use packet::{DecodeError, Message};
pub use server::{Server, ServerOptions};
pub use store::{LeaseStore, Recovery, StoreError};
