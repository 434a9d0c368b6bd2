//! The web server's counters: shared atomics the server bumps and `display portal statistics`
//! reads through [`WebStats::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one web server, updated without locks from every connection task.
#[derive(Debug, Default)]
pub struct WebStats {
    requests: AtomicU64,
    redirects: AtomicU64,
    logon_posts: AtomicU64,
    bad_requests: AtomicU64,
    too_large: AtomicU64,
    connections_refused: AtomicU64,
    timeouts: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebCounters {
    /// HTTP requests parsed (any method, any path).
    pub requests: u64,
    /// 302 answers sending a captive client to the portal.
    pub redirects: u64,
    /// POSTs to `logon.cgi` (logons and logoffs).
    pub logon_posts: u64,
    /// Malformed HTTP, unknown methods on `logon.cgi`, forms without their fields.
    pub bad_requests: u64,
    /// Headers over the header limit (431) or bodies over the body limit (413).
    pub too_large: u64,
    /// Connections closed at once because of the connection limits.
    pub connections_refused: u64,
    /// Connections closed because headers or a body came too slowly.
    pub timeouts: u64,
}

impl WebStats {
    pub fn snapshot(&self) -> WebCounters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WebCounters {
            requests: get(&self.requests),
            redirects: get(&self.redirects),
            logon_posts: get(&self.logon_posts),
            bad_requests: get(&self.bad_requests),
            too_large: get(&self.too_large),
            connections_refused: get(&self.connections_refused),
            timeouts: get(&self.timeouts),
        }
    }

    pub(super) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn redirect(&self) {
        self.redirects.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn logon_post(&self) {
        self.logon_posts.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn bad_request(&self) {
        self.bad_requests.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn too_large(&self) {
        self.too_large.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}
