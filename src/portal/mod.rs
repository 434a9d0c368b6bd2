//! Portal (web) authentication: a client's web traffic is sent to a login page on the device,
//! and only a client that logged in with a good username and password is forwarded.
//! See docs/portal.md.
//!
//! The edges are [`web`] (the HTTP server: redirects, the login pages, `logon.cgi`, the
//! RFC 8908 API) and [`firewall`] (interception and the authorized set, in one nftables table
//! Duet owns). The user table and the feature's driver sit between them: the web server asks
//! the driver through [`web::Gate`], and the driver tells the firewall who may pass.

pub mod firewall;
pub mod web;
