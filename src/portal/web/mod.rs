//! The portal's web server: what a captive client's browser talks to.
//!
//! This module knows HTTP and pages, not users: every decision goes through [`Gate`], which the
//! portal feature's driver implements over the user table. [`serve`] runs it (docs/portal.md,
//! "The web server"): `server` holds connections and their limits, `handler` one request,
//! `pages` the login pages and the contract for an operator's own.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use futures::future::BoxFuture;

mod handler;
mod pages;
mod server;
mod stats;
#[cfg(test)]
mod tests;

pub use server::{Limits, serve, serve_with_limits};
pub use stats::{WebCounters, WebStats};

/// What the web server asks of the portal: logins, logoffs and who is online. Implemented by
/// the driver over the sans-IO user table.
pub trait Gate: Send + Sync + 'static {
    /// Log the client at `client` (the TCP peer address, never a form field) in. Resolves once
    /// the login is durable (journaled; with hot backup, confirmed by the peer), so the
    /// success page is only sent for a user that survives a crash.
    fn logon(
        &self,
        client: Ipv4Addr,
        username: String,
        password: String,
    ) -> BoxFuture<'static, Logon>;
    /// `PtButton=Logoff` from `client`: true when a user was logged out.
    fn logoff(&self, client: Ipv4Addr) -> BoxFuture<'static, bool>;
    /// The user logged in from `client`, if any (online.htm, the RFC 8908 API).
    fn online(&self, client: Ipv4Addr) -> Option<Online>;
    /// The client's MAC address, as the device knows it (DHCP binding or neighbour table);
    /// for `url-parameter NAME source-mac`.
    fn mac_of(&self, client: Ipv4Addr) -> Option<[u8; 6]>;
}

/// The answer to a login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logon {
    Success(Online),
    /// Refused; the sentence is shown on logonFail.htm (never says which of username or
    /// password was wrong).
    Failed(String),
}

/// A logged-in user, as the pages and the RFC 8908 API show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Online {
    pub username: String,
    /// Seconds until the session limit logs the user out; `None` without a limit.
    pub seconds_remaining: Option<u64>,
}

/// What the web server serves, from the configuration (`portal web-server NAME`,
/// `portal local-web-server http`). The driver sends a new one on every change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The login page's URL redirects point at, from `url` (e.g. `http://10.1.1.1/portal/`).
    pub portal_url: String,
    /// `url-parameter NAME KIND`, appended to the redirect in this order.
    pub url_parameters: Vec<(String, UrlParam)>,
    /// An operator's directory holding the six pages, replacing the built-in ones.
    pub pages: Option<PathBuf>,
}

/// The value of one `url-parameter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlParam {
    /// The URL the client asked for before it was redirected.
    OriginalUrl,
    /// The client's IPv4 address.
    SourceAddress,
    /// The client's MAC address (`H-H-H`).
    SourceMac,
}
