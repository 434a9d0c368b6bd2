//! VRRP (RFC 5798 v3, RFC 3768 v2) for IPv4: the advertisement codec, the per-group
//! configuration, and the sans-IO state machine that decides which device of a pair is master.
//! The driver that wraps [`Router`] with sockets and a clock lives elsewhere.

pub mod config;
pub mod io;
pub mod packet;
pub mod router;
pub mod status;
pub mod timers;

pub use config::{ConfigError, GroupConfig, TrackedInterface};
pub use io::{Event, Input, Output, State, StateReason, Transmit};
pub use packet::{Advertisement, Auth, IpHeader, RejectReason, Version};
pub use router::Router;
pub use status::{Statistics, Status, TrackStatus, virtual_mac};
