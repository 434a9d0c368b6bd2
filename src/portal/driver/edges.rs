//! The driver's side of the two edges: the firewall (the nftables table on Linux, nothing on
//! the simulated LAN) and the web server, behind what the engine needs of them.
//!
//! Until the edges' code (branch portal-edge: `firewall::Nft`, `web::serve`, `web::WebStats`)
//! is merged, both are stand-ins that intercept and serve nothing.

use std::net::Ipv4Addr;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::portal::firewall::{Client, Plan};
use crate::portal::web::{Gate, Site};

/// What the engine asks of the firewall (see [`firewall::Nft`]).
pub trait Firewall: Send + Sync {
    fn load<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, std::io::Result<()>>;
    fn allow(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>>;
    fn revoke(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>>;
    /// Sources seen since the last call.
    fn active(&self) -> BoxFuture<'_, std::io::Result<Vec<Ipv4Addr>>>;
    fn remove(&self) -> BoxFuture<'_, std::io::Result<()>>;
}

/// The nftables table `duet_<suffix>` (Linux): a stand-in until the edges are merged.
pub fn nft(_suffix: &str) -> Box<dyn Firewall> {
    Box::new(NoFirewall::default())
}

/// The simulated LAN has no nftables: the table and the web server run, nothing intercepts
/// (said once in the log). Activity is never reported, so idle-cut there measures from the
/// login or the last probe answer.
#[derive(Default)]
pub struct NoFirewall {
    said: std::sync::atomic::AtomicBool,
}

impl Firewall for NoFirewall {
    fn load<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, std::io::Result<()>> {
        if !self.said.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::info!(
                module = "PORTAL",
                severity = 5u8,
                mnemonic = "PORTAL_SIM",
                "Portal interception is Linux-only: on the simulated network users log in but no traffic is intercepted."
            );
        }
        Box::pin(async { Ok(()) })
    }
    fn allow(&self, _client: Client) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn revoke(&self, _client: Client) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn active(&self) -> BoxFuture<'_, std::io::Result<Vec<Ipv4Addr>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn remove(&self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// The web server's counters (none until the web server is merged).
#[derive(Default)]
pub struct WebCounters;

impl WebCounters {
    pub fn since_reset(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    pub fn reset(&self) {}
}

/// The local web server: a stand-in that says it does not serve yet.
pub struct WebServer;

impl WebServer {
    pub fn new(_gate: Arc<dyn Gate>, _counters: Arc<WebCounters>, _linux: bool) -> Self {
        WebServer
    }

    pub async fn apply(&mut self, site: Option<(Site, u16)>) {
        if site.is_some() {
            tracing::warn!("portal: this build has no local web server yet");
        }
    }
}
