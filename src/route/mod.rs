//! Routing: static routes (`ip route-static`), the routing table and its display, and the
//! driver that installs the active static routes into the network (Linux through netlink
//! with Duet's own route protocol number; the simulated LAN's nodes forward by them) and
//! turns forwarding on. docs/cli.md has the commands, docs/logs-and-network.md what Duet
//! changes on the host.

pub mod commands;
pub mod config;
pub mod display;
pub mod driver;
pub mod io;
pub mod table;

pub use config::RouteConfig;

use crate::config::render::Place;
use crate::device::Registry;
use crate::features::Feature;

/// The route feature. Its static routes form a global block after the interfaces' sections
/// (where Comware 7 writes ` ip route-static`); its driver follows the ports' status.
pub const FEATURE: Feature = Feature {
    name: "route",
    register,
    render: |cfg, out| out.global(Place::Routes, cfg.route.render()),
    start: Some(driver::start_on_device),
};

pub fn register(r: &mut Registry) {
    r.add("route.static", commands::route_static);
    r.add("route.display", display::display);
}
