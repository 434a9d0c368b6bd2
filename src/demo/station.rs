//! A simulated DHCP client station: a [`Client`] core run as its own node on the simulated
//! LAN, one tokio task per station. Frames are built and parsed with the DHCP driver's
//! [`crate::dhcp::frame`] code. What the client does is published in a shared
//! [`StationView`] that displays and tests read. For fault tests a station can hold each
//! message it sends for a random time ([`Station::set_delay`]), which also reorders them.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::client::{Client, ClientEvent, ClientState, Lease};
use crate::dhcp::driver::io::{CLIENT_PORT, SERVER_PORT};
use crate::dhcp::frame::{self, BROADCAST_MAC, UdpAddrs};
use crate::net::sim::{Lan, PortId};

/// What a station's client is doing, and everything that happened to it.
#[derive(Clone, Debug)]
pub struct StationView {
    pub mac: [u8; 6],
    pub state: ClientState,
    pub lease: Option<Lease>,
    /// Every ACK, NAK and expiry, in order.
    pub events: Vec<ClientEvent>,
}

/// Sending delay: up to `max`, drawn from `rng` (xorshift64).
struct Delay {
    max: Duration,
    rng: u64,
}

impl Delay {
    fn draw(&mut self) -> Duration {
        if self.max.is_zero() {
            return Duration::ZERO;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let max = self.max.as_micros() as u64;
        Duration::from_micros(self.rng % (max + 1))
    }
}

/// A running station.
pub struct Station {
    pub port: PortId,
    view: Arc<Mutex<StationView>>,
    delay: Arc<Mutex<Delay>>,
    task: JoinHandle<()>,
}

impl Station {
    /// Start `client` on `port` (a node's port already attached to the LAN). Times in the
    /// client's events count from `epoch`.
    pub fn start(lan: &Lan, port: PortId, client: Client, epoch: Instant) -> Station {
        let view = Arc::new(Mutex::new(StationView {
            mac: client.mac(),
            state: client.state(),
            lease: None,
            events: Vec::new(),
        }));
        let [m0, m1, m2, m3, m4, m5] = client.mac();
        let delay = Arc::new(Mutex::new(Delay {
            max: Duration::ZERO,
            rng: u64::from_be_bytes([0x5a, 0xa5, m0, m1, m2, m3, m4, m5]),
        }));
        let rx = lan.listen(&port);
        let io = Io {
            lan: lan.clone(),
            port: port.clone(),
            delay: delay.clone(),
        };
        let task = tokio::spawn(run(io, client, epoch, rx.ok(), view.clone()));
        Station {
            port,
            view,
            delay,
            task,
        }
    }

    /// Hold every message sent from now on for a random time up to `max` (zero: send at once).
    pub fn set_delay(&self, max: Duration) {
        self.delay.lock().unwrap_or_else(|e| e.into_inner()).max = max;
    }

    pub fn view(&self) -> StationView {
        lock(&self.view).clone()
    }

    /// A reader of this station's view that other tasks can keep.
    pub fn viewer(&self) -> impl Fn() -> StationView + Send + Sync + 'static {
        let view = self.view.clone();
        move || lock(&view).clone()
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(view: &Mutex<StationView>) -> MutexGuard<'_, StationView> {
    view.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a station sends.
struct Io {
    lan: Lan,
    port: PortId,
    delay: Arc<Mutex<Delay>>,
}

impl Io {
    fn send(&self, frame: Vec<u8>) {
        let wait = self.delay.lock().unwrap_or_else(|e| e.into_inner()).draw();
        // A port whose link is down sends nothing, like a NIC without carrier.
        if wait.is_zero() {
            let _ = self.lan.send(&self.port, &frame);
        } else {
            let (lan, port) = (self.lan.clone(), self.port.clone());
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let _ = lan.send(&port, &frame);
            });
        }
    }
}

async fn run(
    io: Io,
    mut client: Client,
    epoch: Instant,
    rx: Option<tokio::sync::mpsc::Receiver<crate::net::sim::Frame>>,
    view: Arc<Mutex<StationView>>,
) {
    let Some(mut rx) = rx else { return };
    let since = |t: Instant| t.saturating_duration_since(epoch);
    let mac = client.mac();
    // The last server's MAC: renewals are unicast to it (the hub delivers them anyway).
    let mut server_mac = BROADCAST_MAC;
    client.start(since(Instant::now()));
    loop {
        while let Some(t) = client.poll_transmit() {
            let dst_mac = if t.dst.is_broadcast() {
                BROADCAST_MAC
            } else {
                server_mac
            };
            let addrs = UdpAddrs {
                src: t.src,
                dst: t.dst,
                src_port: CLIENT_PORT,
                dst_port: SERVER_PORT,
            };
            io.send(frame::ethernet(mac, dst_mac, addrs, &t.bytes));
        }
        {
            let mut v = lock(&view);
            v.state = client.state();
            v.lease = client.lease();
            v.events.extend(client.drain_events());
        }
        let wake = client.poll_timeout().map(|t| epoch + t);
        tokio::select! {
            f = rx.recv() => {
                let Some(f) = f else { return };
                let Some(d) = frame::parse_ethernet(&f.bytes) else { continue };
                if d.addrs.dst_port != CLIENT_PORT {
                    continue;
                }
                let before = client.state();
                client.handle_datagram(since(Instant::now()), d.payload);
                if client.state() == ClientState::Bound && before != ClientState::Bound {
                    server_mac = d.src_mac;
                }
            }
            _ = sleep_until(wake) => client.handle_timeout(since(Instant::now())),
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
