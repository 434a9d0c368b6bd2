//! The failover link's connection. Both devices listen on `source:port` and the one with
//! the lower address dials the peer (from its source address); the other accepts only from
//! the peer's address. So exactly one connection exists, whoever starts first: the lower
//! address's outgoing one. Dials back off from 100 ms to 5 s; a listener that cannot bind
//! yet (the source address is not configured) retries every second.
//!
//! The connection is a byte stream from a [`Transport`] chosen at device start: real TCP
//! (`--net linux`), or the simulated LAN's connections ([`crate::net::sim::tcp`]) for a
//! device on a sim LAN, so a paused clock drives the whole pair. A sim device whose source
//! address is a loopback address uses real TCP on loopback (the sim LAN has no loopback).

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::hotbackup::settings::PeerConfig;
use crate::net::sim::tcp::SimListener;
use crate::net::sim::{Lan, NodeId};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// A connection's byte stream, whatever carries it.
pub trait Io: AsyncRead + AsyncWrite + Send + Sync + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Io for T {}

/// An established connection to the peer.
pub type Stream = Box<dyn Io>;

/// What the connector tells the engine.
pub enum Link {
    /// A new connection to the peer.
    Up(Stream),
    /// A connection from another address, or one the rule does not keep, was closed.
    Refused(SocketAddr),
}

/// What carries the failover link's connection.
#[derive(Clone)]
pub enum Transport {
    /// Kernel TCP sockets.
    Tcp,
    /// The simulated LAN, as this node (real TCP for loopback source addresses).
    Sim(Lan, NodeId),
}

impl Transport {
    /// The transport for this peer configuration: a sim device with a loopback source
    /// address talks real TCP on loopback.
    fn for_peer(&self, cfg: &PeerConfig) -> Transport {
        match self {
            Transport::Sim(..) if cfg.source.is_loopback() => Transport::Tcp,
            t => t.clone(),
        }
    }

    async fn bind(&self, cfg: &PeerConfig) -> std::io::Result<Listener> {
        match self {
            Transport::Tcp => bind(cfg).await.map(Listener::Tcp),
            Transport::Sim(lan, node) => lan
                .tcp_listen(*node, SocketAddrV4::new(cfg.source, cfg.port))
                .map(Listener::Sim),
        }
    }

    async fn dial(&self, cfg: &PeerConfig) -> std::io::Result<Stream> {
        let stream: Stream = match self {
            Transport::Tcp => Box::new(dial(cfg).await?),
            Transport::Sim(lan, node) => Box::new(
                tokio::time::timeout(
                    DIAL_TIMEOUT,
                    lan.tcp_connect(*node, cfg.source, SocketAddrV4::new(cfg.peer, cfg.port)),
                )
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??,
            ),
        };
        Ok(stream)
    }
}

/// A bound listener of either transport.
enum Listener {
    Tcp(TcpListener),
    Sim(SimListener),
}

impl Listener {
    async fn accept(&mut self) -> std::io::Result<(Stream, SocketAddr)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, from) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok((Box::new(stream), from))
            }
            Listener::Sim(l) => {
                let (stream, from) = l.accept().await?;
                Ok((Box::new(stream), from))
            }
        }
    }
}

/// Whether this end dials (the lower address does).
pub fn dials(cfg: &PeerConfig) -> bool {
    cfg.source < cfg.peer
}

async fn bind(cfg: &PeerConfig) -> std::io::Result<TcpListener> {
    let sock = TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddr::from((cfg.source, cfg.port)))?;
    sock.listen(4)
}

async fn dial(cfg: &PeerConfig) -> std::io::Result<tokio::net::TcpStream> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::from((cfg.source, 0)))?;
    let stream = tokio::time::timeout(
        DIAL_TIMEOUT,
        sock.connect(SocketAddr::from((cfg.peer, cfg.port))),
    )
    .await
    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The connector task: runs until the engine drops `out`. `connected` is the engine's word
/// on whether a connection is up (no dialing then).
pub async fn run(
    transport: Transport,
    cfg: PeerConfig,
    mut connected: watch::Receiver<bool>,
    out: mpsc::Sender<Link>,
) {
    let transport = transport.for_peer(&cfg);
    let dialer = dials(&cfg);
    let mut listener: Option<Listener> = None;
    let mut listen_at = Instant::now();
    let mut dial_at = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    // After a dial succeeded, wait for the engine to take the connection before dialing again.
    let mut handed_over: Option<Instant> = None;
    loop {
        if handed_over.is_some_and(|t| t.elapsed() > MAX_BACKOFF) {
            handed_over = None;
        }
        let may_dial = dialer && handed_over.is_none() && !*connected.borrow();
        tokio::select! {
            accepted = accept(&mut listener) => match accepted {
                Ok((stream, from)) => {
                    let link = if !dialer && from.ip() == cfg.peer {
                        Link::Up(stream)
                    } else {
                        Link::Refused(from)
                    };
                    if out.send(link).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "hot-backup accept failed");
                    listener = None;
                    listen_at = Instant::now() + LISTEN_RETRY;
                }
            },
            _ = tokio::time::sleep_until(listen_at), if listener.is_none() => {
                match transport.bind(&cfg).await {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        tracing::debug!(error = %e, "hot-backup listen failed");
                        listen_at = Instant::now() + LISTEN_RETRY;
                    }
                }
            }
            _ = tokio::time::sleep_until(dial_at), if may_dial => match transport.dial(&cfg).await {
                Ok(stream) => {
                    backoff = FIRST_BACKOFF;
                    handed_over = Some(Instant::now());
                    if out.send(Link::Up(stream)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "hot-backup dial failed");
                    dial_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            },
            changed = connected.changed() => {
                if changed.is_err() {
                    return;
                }
                if *connected.borrow_and_update() {
                    handed_over = None;
                } else {
                    dial_at = dial_at.max(Instant::now());
                }
            }
            _ = tokio::time::sleep(MAX_BACKOFF), if handed_over.is_some() => {}
        }
    }
}

async fn accept(listener: &mut Option<Listener>) -> std::io::Result<(Stream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}
