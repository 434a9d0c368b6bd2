//! VRRP (RFC 5798 v3, RFC 3768 v2) for IPv4: the advertisement codec, the per-group
//! configuration, and the sans-IO state machine that decides which device of a pair is master.
//! Around the core: the driver (the async task that runs the routers on a network), the
//! interface-view commands, the configuration rendering and the ciphered key form.

pub mod cipher;
pub mod commands;
pub mod config;
pub mod display;
pub mod driver;
pub mod io;
pub mod packet;
pub mod render;
pub mod router;
pub mod status;
pub mod timers;

pub use config::{ConfigError, GroupConfig, TrackAction, TrackedEntry, TrackedInterface};
pub use io::{Event, Input, Output, State, StateReason, Transmit};
pub use packet::{Advertisement, Auth, IpHeader, RejectReason, Version};
pub use router::Router;
pub use status::{EntryTrackStatus, Statistics, Status, TrackStatus, virtual_mac};

use crate::device::Registry;
use crate::features::Feature;

/// The VRRP feature. Its lines are part of each interface's section (`interface::render`).
pub const FEATURE: Feature = Feature {
    name: "vrrp",
    register,
    render: |_, _| {},
    // In the driver: the rest of this folder is the sans-IO core (tests/vrrp_sans_io.rs).
    start: Some(driver::start_on_device),
};

pub fn register(r: &mut Registry) {
    r.add("vrrp.virtual_ip", commands::virtual_ip);
    r.add("vrrp.priority", commands::priority);
    r.add("vrrp.preempt", commands::preempt);
    r.add("vrrp.timer", commands::timer);
    r.add("vrrp.version", commands::version);
    r.add("vrrp.authentication", commands::authentication);
    r.add("vrrp.track", commands::track);
    r.add("vrrp.shutdown", commands::shutdown);
    display::register(r);
}
