//! Portal (web) authentication: a client's web traffic is sent to a login page on the device,
//! and only a client that logged in with a good username and password is forwarded.
//! See docs/portal.md.
//!
//! The edges are [`web`] (the HTTP server: redirects, the login pages, `logon.cgi`, the
//! RFC 8908 API) and [`firewall`] (interception and the authorized set, in one nftables table
//! Duet owns). The user table ([`users`], sans-IO), its journal ([`journal`]) and the feature's
//! driver ([`driver`]) sit between them: the web server asks the driver through [`web::Gate`],
//! and the driver tells the firewall who may pass.

pub mod commands;
pub mod config;
pub mod display;
pub mod driver;
pub mod firewall;
pub mod journal;
pub mod render;
pub mod users;
pub mod web;

use crate::config::render::{Place, Sections};
use crate::device::{Device, Registry};
use crate::features::{Config, Feature};

/// The portal feature.
pub const FEATURE: Feature = Feature {
    name: "portal",
    register,
    render,
    // In the driver: the table and journal are sans-IO / plain files.
    start: Some(driver::start_on_device),
};

/// The global lines among the system's, then the web server views (the interface lines are
/// rendered with the interface).
fn render(cfg: &Config, out: &mut Sections) {
    out.global(Place::Global, render::global_lines(&cfg.portal));
    for section in render::view_sections(&cfg.portal) {
        out.add(Place::View, section);
    }
}

pub fn register(r: &mut Registry) {
    commands::register(r);
    display::register(r);
}

/// How many portal users are logged in as `username` (0 while portal is not running):
/// `display local-user`'s current access number.
pub fn online_count(device: &Device, username: &str) -> u32 {
    let Some(portal) = device.portal.get() else {
        return 0;
    };
    let name = username.to_string();
    portal.query(move |t, _| t.count_of(&name)).unwrap_or(0)
}
