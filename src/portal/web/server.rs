//! Connections: accept, limits, hyper's HTTP/1 engine per connection, and the counting of what
//! went wrong on a connection.
//!
//! Why hyper's connection builder rather than `axum::serve`: the protections a captive portal
//! needs live at the connection (header read timeout against slow clients, header size limit,
//! refusing connections beyond a limit, and telling a parse error from a timeout to count
//! them); `axum::serve` sets none of these. Routing is five paths, so no router is needed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{Gate, Site, WebStats, handler};

/// The web server's protections. [`serve`] uses [`Limits::default`].
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most; beyond, a new connection is closed at once (counted).
    pub max_connections: usize,
    /// Open connections from one source address at most (a phone opens a few per host, and
    /// every host it tries lands here while it is captive).
    pub max_per_source: usize,
    /// Time to send a request's headers, from the first wait for them (so it also closes
    /// idle keep-alive and silent connections).
    pub header_timeout: Duration,
    /// Time to send a request's body once its headers are in.
    pub body_timeout: Duration,
    /// Request line and headers, bytes (over: 431).
    pub max_header_bytes: usize,
    /// Request body, bytes (over: 413); the logon form is well under 1 KiB.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            max_per_source: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_header_bytes: 8 * 1024,
            max_body_bytes: 4 * 1024,
        }
    }
}

/// What every connection task shares.
pub(super) struct Shared {
    pub site: watch::Receiver<Site>,
    pub gate: Arc<dyn Gate>,
    pub stats: Arc<WebStats>,
    pub limits: Limits,
    /// Open connections per source; the sum is the total.
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, Source>,
}

/// The open connections of one source address.
struct Source {
    count: usize,
    /// Wakes them all to close (see [`Shared::close_connections_of`]).
    close: Arc<Notify>,
}

impl Shared {
    /// Close every connection from `client` once its request in flight, if any, is answered.
    ///
    /// After a logon, a connection the browser opened while captive was sent here by DNAT,
    /// and NAT is decided once per connection: reused (keep-alive, or a socket the browser
    /// opened ahead of time and never used), it would still reach the portal instead of the
    /// site. Closed, the browser opens new connections, which pass. Found by the browser test.
    pub(super) fn close_connections_of(&self, client: Ipv4Addr) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(source) = open.by_source.get(&IpAddr::V4(client)) {
            source.close.notify_waiters();
        }
    }
}

/// One open connection's place in the counts, given back when the connection ends.
struct Slot {
    shared: Arc<Shared>,
    source: IpAddr,
    close: Arc<Notify>,
}

impl Slot {
    fn take(shared: &Arc<Shared>, source: IpAddr) -> Option<Slot> {
        let mut open = shared.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_source = open.by_source.get(&source).map_or(0, |s| s.count);
        if open.total >= shared.limits.max_connections
            || from_source >= shared.limits.max_per_source
        {
            return None;
        }
        open.total += 1;
        let entry = open.by_source.entry(source).or_insert_with(|| Source {
            count: 0,
            close: Arc::new(Notify::new()),
        });
        entry.count += 1;
        let close = entry.close.clone();
        Some(Slot {
            shared: shared.clone(),
            source,
            close,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.shared.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(s) = open.by_source.get_mut(&self.source) {
            s.count -= 1;
            if s.count == 0 {
                open.by_source.remove(&self.source);
            }
        }
    }
}

/// Serve the portal on `listener` until this future is dropped or its task aborted (which
/// also closes every connection it opened). `site` is read for every request, so a new
/// configuration applies at once.
pub async fn serve(
    listener: TcpListener,
    site: watch::Receiver<Site>,
    gate: Arc<dyn Gate>,
    stats: Arc<WebStats>,
) {
    serve_with_limits(listener, site, gate, stats, Limits::default()).await
}

/// [`serve`] with other protections (tests use short timeouts).
pub async fn serve_with_limits(
    listener: TcpListener,
    site: watch::Receiver<Site>,
    gate: Arc<dyn Gate>,
    stats: Arc<WebStats>,
    limits: Limits,
) {
    let shared = Arc::new(Shared {
        site,
        gate,
        stats,
        limits,
        open: Mutex::new(Open::default()),
    });
    // The connection tasks belong to this future: dropping it aborts them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Slot::take(&shared, peer.ip()) {
                    Some(slot) => {
                        connections.spawn(connection(shared.clone(), stream, peer, slot));
                    }
                    // Beyond the limits: close at once, never queue (a queue is what a
                    // connection flood fills).
                    None => {
                        shared.stats.connection_refused();
                        drop(stream);
                    }
                },
                Err(e) => {
                    // Out of file descriptors or a similar transient error: wait a little
                    // instead of spinning on accept.
                    tracing::warn!("portal web server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connection tasks so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, slot: Slot) {
    // The client is the TCP peer, never anything it writes (a client cannot log in another IP).
    let client = match peer.ip() {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(a) => a,
            None => return,
        },
    };
    let _ = stream.set_nodelay(true);
    let stats = shared.stats.clone();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout)
        .max_header_size(shared.limits.max_header_bytes);
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handler::handle(&shared, client, req).await) }
    });
    let close = slot.close.clone();
    let closing = close.notified();
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn, closing);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = closing => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        count_error(&stats, client, &e);
    }
    drop(slot);
}

fn count_error(stats: &WebStats, client: Ipv4Addr, e: &hyper::Error) {
    if e.is_timeout() {
        stats.timeout();
    } else if e.is_parse_too_large() {
        stats.too_large();
    } else if e.is_parse() {
        stats.bad_request();
    } else {
        // The client went away (reset, closed mid-request): nothing to count.
        return;
    }
    tracing::debug!("portal web server: connection from {client}: {e}");
}
