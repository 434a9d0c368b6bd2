//! The driver's side of the two edges: the firewall (the nftables table of
//! [`firewall::Nft`] on Linux, nothing on the simulated LAN) and the web server
//! ([`web::serve`] on a listener the driver binds), behind what the engine needs of them.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::portal::firewall::{self, Client, Plan};
use crate::portal::web::{self, Gate, Site, WebStats};

/// What the engine asks of the firewall (see [`firewall::Nft`]).
pub trait Firewall: Send + Sync {
    fn load<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, std::io::Result<()>>;
    fn allow(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>>;
    fn revoke(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>>;
    /// Sources seen since the last call.
    fn active(&self) -> BoxFuture<'_, std::io::Result<Vec<Ipv4Addr>>>;
    fn remove(&self) -> BoxFuture<'_, std::io::Result<()>>;
}

/// The nftables table `duet_<suffix>` (Linux).
pub fn nft(suffix: &str) -> Box<dyn Firewall> {
    Box::new(firewall::Nft::new(suffix))
}

impl Firewall for firewall::Nft {
    fn load<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(firewall::Nft::load(self, plan))
    }
    fn allow(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(firewall::Nft::allow(self, client))
    }
    fn revoke(&self, client: Client) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(firewall::Nft::revoke(self, client))
    }
    fn active(&self) -> BoxFuture<'_, std::io::Result<Vec<Ipv4Addr>>> {
        Box::pin(firewall::Nft::active(self))
    }
    fn remove(&self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(firewall::Nft::remove(self))
    }
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

/// The web server's counters and the baseline `reset portal statistics` took.
#[derive(Default)]
pub struct WebCounters {
    pub stats: Arc<WebStats>,
    baseline: Mutex<web::WebCounters>,
}

impl WebCounters {
    pub fn since_reset(&self) -> Vec<(&'static str, u64)> {
        let now = self.stats.snapshot();
        let base = self
            .baseline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        vec![
            ("HTTP requests", now.requests.saturating_sub(base.requests)),
            (
                "HTTP redirects",
                now.redirects.saturating_sub(base.redirects),
            ),
            (
                "Logon posts",
                now.logon_posts.saturating_sub(base.logon_posts),
            ),
            (
                "Bad HTTP requests",
                now.bad_requests.saturating_sub(base.bad_requests),
            ),
            (
                "Requests too large",
                now.too_large.saturating_sub(base.too_large),
            ),
            (
                "Connections refused",
                now.connections_refused
                    .saturating_sub(base.connections_refused),
            ),
            (
                "Connection timeouts",
                now.timeouts.saturating_sub(base.timeouts),
            ),
        ]
    }

    pub fn reset(&self) {
        *self.baseline.lock().unwrap_or_else(|e| e.into_inner()) = self.stats.snapshot();
    }
}

/// The local web server: started on `0.0.0.0:tcp-port` (Linux: in the device's network
/// namespace, where `duet run` runs; sim: `127.0.0.1`) while `portal local-web-server http`
/// is configured, restarted when the port changes; the site follows the configuration.
pub struct WebServer {
    gate: Arc<dyn Gate>,
    counters: Arc<WebCounters>,
    linux: bool,
    site: Option<watch::Sender<Site>>,
    running: Option<(u16, JoinHandle<()>)>,
}

impl WebServer {
    pub fn new(gate: Arc<dyn Gate>, counters: Arc<WebCounters>, linux: bool) -> Self {
        WebServer {
            gate,
            counters,
            linux,
            site: None,
            running: None,
        }
    }

    /// Serve `site` on its port, or stop serving (`None`).
    pub async fn apply(&mut self, site: Option<(Site, u16)>) {
        let Some((site, port)) = site else {
            self.stop();
            return;
        };
        if self.running.as_ref().is_some_and(|(p, _)| *p == port) {
            if let Some(tx) = &self.site {
                tx.send_if_modified(|s| {
                    let changed = *s != site;
                    *s = site.clone();
                    changed
                });
            }
            return;
        }
        self.stop();
        let addr = if self.linux {
            Ipv4Addr::UNSPECIFIED
        } else {
            Ipv4Addr::LOCALHOST
        };
        let listener = match tokio::net::TcpListener::bind((addr, port)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(
                    module = "PORTAL",
                    severity = 3u8,
                    mnemonic = "PORTAL_WEB_SERVER",
                    "The local portal web server cannot listen on {addr}:{port}: {e}"
                );
                return;
            }
        };
        let (tx, rx) = watch::channel(site);
        let task = tokio::spawn(web::serve(
            listener,
            rx,
            self.gate.clone(),
            self.counters.stats.clone(),
        ));
        self.site = Some(tx);
        self.running = Some((port, task));
    }

    fn stop(&mut self) {
        if let Some((_, task)) = self.running.take() {
            task.abort();
        }
        self.site = None;
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop();
    }
}
