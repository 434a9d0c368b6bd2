//! Byte-stream connections over the simulated LAN, for the hot-backup failover link: what
//! TCP gives two devices, reduced to what the engine relies on, deterministic on tokio's
//! paused clock (no clock is read here, no socket is opened).
//!
//! - A listener is keyed by (address, port); the address must be configured on a port of the
//!   listening node (else `AddrNotAvailable`, as `bind` says), and one live listener holds a
//!   key (else `AddrInUse`).
//! - A dial from a source address (configured on a port of the dialing node) reaches the
//!   listener only while the two ports can reach each other: same segment, both links up
//!   (cable plugged, administratively up). Otherwise it waits, as unanswered SYNs do, for the
//!   path to come up; the caller's timeout ends it. An address that a reachable port holds
//!   without a listener refuses at once (a RST).
//! - An established connection moves bytes only while the path is up: written bytes are held
//!   (not lost, TCP retransmits) while a cable is out and arrive, in order, when it is back.
//!   The send side holds at most [`SEND_BUFFER`] bytes; a writer waits for room.
//! - Dropping an end (a crashed device) closes it: the peer reads what was sent, then end of
//!   file, once the path is up; writing to a peer that is gone fails (`BrokenPipe`).

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use super::{Lan, LanState, NodeId, PortId};

/// Bytes one direction of a connection holds before the writer waits.
pub const SEND_BUFFER: usize = 256 * 1024;
/// The first local port given to a dialing end.
const EPHEMERAL_FIRST: u16 = 49152;

/// A new connection as a listener hands it over, with the dialer's address.
type Incoming = (SimStream, SocketAddr);

/// The listeners of the LAN and what waits on paths.
#[derive(Default)]
pub(super) struct TcpState {
    listeners: std::collections::BTreeMap<SocketAddrV4, (PortId, mpsc::UnboundedSender<Incoming>)>,
    next_port: u16,
}

/// One direction of a connection.
#[derive(Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    /// The writing end is closed (dropped or shut down).
    closed: bool,
    /// The reading end is dropped.
    reader_gone: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

fn lock(p: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

fn wake(w: &mut Option<Waker>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}

/// One end of an established connection.
pub struct SimStream {
    lan: Lan,
    local: PortId,
    remote: PortId,
    rx: Arc<Mutex<Pipe>>,
    tx: Arc<Mutex<Pipe>>,
}

impl SimStream {
    /// Whether the path is up now; if not, `cx` is woken at the next link change.
    fn path_up(&self, cx: &Context<'_>) -> bool {
        let mut s = self.lan.lock();
        if s.reachable(&self.local, &self.remote) {
            true
        } else {
            s.wait_for_path(cx.waker());
            false
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut p = lock(&self.rx);
        if p.bytes.is_empty() && !p.closed {
            p.read_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if !self.path_up(cx) {
            return Poll::Pending;
        }
        let n = buf.remaining().min(p.bytes.len());
        let (front, back) = p.bytes.as_slices();
        let from_front = n.min(front.len());
        buf.put_slice(&front[..from_front]);
        buf.put_slice(&back[..n - from_front]);
        p.bytes.drain(..n);
        wake(&mut p.write_waker);
        // n == 0 here means closed and drained: end of file.
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = lock(&self.tx);
        if p.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if p.reader_gone {
            // The peer's RST arrives once the path is up.
            return if self.path_up(cx) {
                Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
            } else {
                Poll::Pending
            };
        }
        let room = SEND_BUFFER.saturating_sub(p.bytes.len());
        if room == 0 {
            p.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        p.bytes.extend(&data[..n]);
        wake(&mut p.read_waker);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut p = lock(&self.tx);
        p.closed = true;
        wake(&mut p.read_waker);
        Poll::Ready(Ok(()))
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        {
            let mut p = lock(&self.tx);
            p.closed = true;
            wake(&mut p.read_waker);
        }
        let mut p = lock(&self.rx);
        p.reader_gone = true;
        wake(&mut p.write_waker);
    }
}

/// Connections arriving at one (address, port).
pub struct SimListener {
    incoming: mpsc::UnboundedReceiver<Incoming>,
}

impl SimListener {
    /// The next connection and the address it came from.
    pub async fn accept(&mut self) -> io::Result<Incoming> {
        // The LAN keeps the sender until a new listener replaces this one, which it does
        // only once this one is dropped.
        self.incoming
            .recv()
            .await
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

impl LanState {
    /// The port of `node` that has `ip` configured.
    fn port_with(&self, node: NodeId, ip: Ipv4Addr) -> Option<PortId> {
        let n = self.nodes.get(node.0 as usize)?;
        n.ports
            .iter()
            .find(|(_, p)| p.addresses.iter().any(|(a, _)| *a == ip))
            .map(|(name, _)| PortId {
                node,
                port: name.clone(),
            })
    }

    /// Both ports' links are up and on one segment.
    fn reachable(&self, a: &PortId, b: &PortId) -> bool {
        let get = |id: &PortId| {
            self.nodes
                .get(id.node.0 as usize)
                .and_then(|n| n.ports.get(&id.port))
        };
        match (get(a), get(b)) {
            (Some(pa), Some(pb)) => pa.link_up() && pb.link_up() && pa.segment == pb.segment,
            _ => false,
        }
    }

    /// Some port reachable from `from` has `ip` configured.
    fn owner_reachable(&self, from: &PortId, ip: Ipv4Addr) -> bool {
        self.nodes.iter().enumerate().any(|(n, node)| {
            node.ports.iter().any(|(name, p)| {
                p.addresses.iter().any(|(a, _)| *a == ip)
                    && self.reachable(
                        from,
                        &PortId {
                            node: NodeId(n as u32),
                            port: name.clone(),
                        },
                    )
            })
        })
    }

    /// Wake `waker` at the next link change of any port.
    fn wait_for_path(&mut self, waker: &Waker) {
        if !self.path_wakers.iter().any(|w| w.will_wake(waker)) {
            self.path_wakers.push(waker.clone());
        }
    }
}

impl Lan {
    /// Listen on `addr`, which must be configured on a port of `node`.
    pub fn tcp_listen(&self, node: NodeId, addr: SocketAddrV4) -> io::Result<SimListener> {
        let mut s = self.lock();
        let port = s
            .port_with(node, *addr.ip())
            .ok_or(io::ErrorKind::AddrNotAvailable)?;
        if s.tcp
            .listeners
            .get(&addr)
            .is_some_and(|(_, tx)| !tx.is_closed())
        {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let (tx, incoming) = mpsc::unbounded_channel();
        s.tcp.listeners.insert(addr, (port, tx));
        Ok(SimListener { incoming })
    }

    /// Connect from `source` (configured on a port of `node`) to a listener at `to`; waits
    /// while the path is down (wrap it in a timeout, as a SYN would time out).
    pub async fn tcp_connect(
        &self,
        node: NodeId,
        source: Ipv4Addr,
        to: SocketAddrV4,
    ) -> io::Result<SimStream> {
        let local = self
            .lock()
            .port_with(node, source)
            .ok_or(io::ErrorKind::AddrNotAvailable)?;
        std::future::poll_fn(|cx| self.poll_connect(cx, &local, source, to)).await
    }

    fn poll_connect(
        &self,
        cx: &Context<'_>,
        local: &PortId,
        source: Ipv4Addr,
        to: SocketAddrV4,
    ) -> Poll<io::Result<SimStream>> {
        let mut s = self.lock();
        let listener = s
            .tcp
            .listeners
            .get(&to)
            .filter(|(_, tx)| !tx.is_closed())
            .map(|(port, tx)| (port.clone(), tx.clone()));
        let Some((remote, tx)) = listener.filter(|(port, _)| s.reachable(local, port)) else {
            if s.owner_reachable(local, *to.ip()) {
                return Poll::Ready(Err(io::ErrorKind::ConnectionRefused.into()));
            }
            s.wait_for_path(cx.waker());
            return Poll::Pending;
        };
        if s.tcp.next_port < EPHEMERAL_FIRST {
            s.tcp.next_port = EPHEMERAL_FIRST;
        }
        let from = SocketAddr::from((source, s.tcp.next_port));
        s.tcp.next_port = s.tcp.next_port.checked_add(1).unwrap_or(EPHEMERAL_FIRST);
        drop(s);
        let (up, down) = (Arc::default(), Arc::default());
        let ours = SimStream {
            lan: self.clone(),
            local: local.clone(),
            remote: remote.clone(),
            rx: Arc::clone(&down),
            tx: Arc::clone(&up),
        };
        let theirs = SimStream {
            lan: self.clone(),
            local: remote,
            remote: local.clone(),
            rx: up,
            tx: down,
        };
        match tx.send((theirs, from)) {
            Ok(()) => Poll::Ready(Ok(ours)),
            Err(_) => Poll::Ready(Err(io::ErrorKind::ConnectionRefused.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::interface::name::IfName;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    const A: Ipv4Addr = Ipv4Addr::new(192, 168, 255, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 168, 255, 2);

    /// Two nodes whose second ports share a segment and hold A and B.
    fn link() -> (Lan, PortId, PortId) {
        let lan = Lan::new();
        let na = lan.add_node("A", &[ge(1), ge(2)]);
        let nb = lan.add_node("B", &[ge(1), ge(2)]);
        let seg = lan.segment();
        let pa = PortId {
            node: na,
            port: ge(2),
        };
        let pb = PortId {
            node: nb,
            port: ge(2),
        };
        for (p, ip) in [(&pa, A), (&pb, B)] {
            lan.attach(p, seg).unwrap();
            lan.add_address(p, (ip, 30)).unwrap();
        }
        (lan, pa, pb)
    }

    async fn connected(lan: &Lan, pa: &PortId, pb: &PortId) -> (SimStream, SimStream) {
        let mut l = lan
            .tcp_listen(pb.node, SocketAddrV4::new(B, 10241))
            .unwrap();
        let a = lan
            .tcp_connect(pa.node, A, SocketAddrV4::new(B, 10241))
            .await
            .unwrap();
        let (b, from) = l.accept().await.unwrap();
        assert_eq!(from, SocketAddr::from((A, EPHEMERAL_FIRST)));
        (a, b)
    }

    #[tokio::test(start_paused = true)]
    async fn listen_needs_a_configured_address_and_one_listener_per_key() {
        let (lan, pa, pb) = link();
        let other = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 10241);
        assert_eq!(
            lan.tcp_listen(pa.node, other).err().map(|e| e.kind()),
            Some(io::ErrorKind::AddrNotAvailable)
        );
        let key = SocketAddrV4::new(B, 10241);
        let first = lan.tcp_listen(pb.node, key).unwrap();
        assert_eq!(
            lan.tcp_listen(pb.node, key).err().map(|e| e.kind()),
            Some(io::ErrorKind::AddrInUse)
        );
        drop(first);
        assert!(
            lan.tcp_listen(pb.node, key).is_ok(),
            "free again once dropped"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_flow_both_ways_in_order() {
        let (lan, pa, pb) = link();
        let (mut a, mut b) = connected(&lan, &pa, &pb).await;
        a.write_all(b"hello").await.unwrap();
        a.write_all(b" world").await.unwrap();
        b.write_all(b"back").await.unwrap();
        let mut got = [0u8; 11];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello world");
        let mut got = [0u8; 4];
        a.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dial_waits_for_the_path_and_a_reachable_address_without_listener_refuses() {
        let (lan, pa, pb) = link();
        let to = SocketAddrV4::new(B, 10241);
        assert_eq!(
            lan.tcp_connect(pa.node, A, to)
                .await
                .err()
                .map(|e| e.kind()),
            Some(io::ErrorKind::ConnectionRefused)
        );
        let mut l = lan.tcp_listen(pb.node, to).unwrap();
        lan.set_cable(&pb, false).unwrap();
        let dial = tokio::time::timeout(Duration::from_secs(2), lan.tcp_connect(pa.node, A, to));
        assert!(dial.await.is_err(), "no path: the dial times out");
        let dial = {
            let lan = lan.clone();
            tokio::spawn(async move { lan.tcp_connect(pa.node, A, to).await })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!dial.is_finished());
        lan.set_cable(&pb, true).unwrap();
        assert!(
            dial.await.unwrap().is_ok(),
            "connected once the cable is back"
        );
        assert!(l.accept().await.is_ok());
        assert_eq!(
            lan.tcp_connect(pa.node, Ipv4Addr::new(10, 9, 9, 9), to)
                .await
                .err()
                .map(|e| e.kind()),
            Some(io::ErrorKind::AddrNotAvailable),
            "the source must be configured on the node"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_held_while_the_cable_is_out_and_arrive_after() {
        let (lan, pa, pb) = link();
        let (mut a, mut b) = connected(&lan, &pa, &pb).await;
        lan.set_cable(&pa, false).unwrap();
        a.write_all(b"held").await.unwrap();
        let mut got = [0u8; 4];
        let read = tokio::time::timeout(Duration::from_secs(60), b.read_exact(&mut got));
        assert!(
            read.await.is_err(),
            "nothing arrives while the cable is out"
        );
        lan.set_cable(&pa, true).unwrap();
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"held");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_end_gives_eof_after_its_bytes_and_refuses_writes() {
        let (lan, pa, pb) = link();
        let (mut a, mut b) = connected(&lan, &pa, &pb).await;
        a.write_all(b"last").await.unwrap();
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last");
        assert_eq!(
            b.write_all(b"x").await.err().map(|e| e.kind()),
            Some(io::ErrorKind::BrokenPipe)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_send_buffer_makes_the_writer_wait_for_the_reader() {
        let (lan, pa, pb) = link();
        let (mut a, mut b) = connected(&lan, &pa, &pb).await;
        let big = vec![7u8; SEND_BUFFER + 10];
        let writer = tokio::spawn(async move {
            a.write_all(&big).await.unwrap();
            a
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!writer.is_finished(), "waits for room");
        let mut got = vec![0u8; SEND_BUFFER + 10];
        b.read_exact(&mut got).await.unwrap();
        assert!(got.iter().all(|&x| x == 7));
        writer.await.unwrap();
    }
}
