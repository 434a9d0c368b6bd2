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

pub use config::{ConfigError, GroupConfig, TrackedInterface};
pub use io::{Event, Input, Output, State, StateReason, Transmit};
pub use packet::{Advertisement, Auth, IpHeader, RejectReason, Version};
pub use router::Router;
pub use status::{Statistics, Status, TrackStatus, virtual_mac};

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::device::{Device, Registry, StartError};
use crate::features::{Feature, Network};
use crate::net::vrrp::linux::LinuxVrrpIo;
use crate::net::vrrp::sim::SimVrrpIo;

/// The VRRP feature. Its lines are part of each interface's section (`interface::render`).
pub const FEATURE: Feature = Feature {
    name: "vrrp",
    register,
    render: |_, _| {},
    start: Some(start),
};

/// Start the VRRP driver on the device's network (after the interface engine, whose status it
/// follows).
fn start(device: &Arc<Device>, rt: &Handle, net: &Network<'_>) -> Result<(), StartError> {
    match net {
        Network::Sim(lan, node) => start_on(device, rt, SimVrrpIo::new((*lan).clone(), *node)),
        Network::Linux(ports) => {
            let io = {
                let _enter = rt.enter();
                LinuxVrrpIo::new(ports)?
            };
            start_on(device, rt, io)
        }
    }
    Ok(())
}

fn start_on<I: driver::VrrpIo>(device: &Arc<Device>, rt: &Handle, io: I) {
    let (stop, stopped) = oneshot::channel();
    *device.vrrp_stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
    let driver = driver::run(
        io,
        device.config.subscribe(),
        device.if_status.subscribe(),
        device.vrrp_status.clone(),
        device.vrrp_applied.clone(),
        stopped,
        device.preempt_hold.subscribe(),
    );
    device.spawn(rt, driver);
}

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
