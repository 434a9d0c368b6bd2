//! The hot-backup engine: one tokio task per device that runs the protocol core
//! ([`Session`]) over the failover link's connection ([`channel`]: TCP, or the simulated
//! LAN's streams) and wires it to
//! the DHCP engine and VRRP:
//!
//! - every local lease event of the DHCP engine goes to the session; entries from the peer
//!   are merged into the DHCP server (the session runs its replica calls inside the DHCP
//!   task, on the server it owns);
//! - synchronous mode: the DHCP engine holds each ACK until the session releases its commit
//!   id (the peer confirmed the binding, or no peer is connected); asynchronous mode answers
//!   at once;
//! - the tracked VRRP group decides: its master serves, its backup keeps the table silently;
//!   the server identifier is the group's virtual IP on both devices;
//! - while the tables are not reconciled (peer unreachable, or also master), new addresses
//!   come only from this device's half of every pool, until partner-down.
//!
//! Displays read the [`Report`] the task publishes; they never wait for the task.

/// The failover link's connection (listen, dial, keep one) over TCP or the simulated LAN.
pub mod channel;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::channel::{Link, Stream, Transport};
use super::dhcp::{DhcpBindings, apply_half, dhcp_config_digest, dhcp_half};
use super::event::{Event, ProtocolError, SessionError};
use super::frame::Nonce;
use super::message::Role;
use super::session::Session;
use super::settings::{HotBackupConfig, PeerConfig};
use super::status::{Phase, Stats, Status};
use crate::device::{Device, StartError};
use crate::dhcp::LeaseEvent;
use crate::dhcp::driver::{DhcpHandle, GateOrder, now_ms};
use crate::dhcp::pool::Half;
use crate::features::{Config, Network};
use crate::interface::name::IfName;
use crate::vrrp::driver::VrrpStatus;

/// Chunks waiting for the writer before the engine stops producing more. A batch chunk is up
/// to 256 KiB: four keep the writer busy while the engine reads, and keep the bytes queued
/// ahead of a new binding's update (which a synchronous ACK waits for) near 1 MiB.
const WRITE_QUEUE: usize = 4;
/// Bytes read from the peer per DHCP-task job at most: a batch backup arrives in pieces this
/// big (about 20,000 bindings, 10-20 ms of the DHCP task's time), each merged and journaled
/// with one flush. 64 KiB made a million bindings cost 700 jobs and fdatasyncs; this, about 50
/// (and a batch of a million 10-20 % less time than 256 KiB did).
const READ_CHUNK: usize = 1024 * 1024;
/// Bad-frame log lines at most once per this interval (the rest are counted).
const BAD_LOG_EVERY: Duration = Duration::from_secs(1);

/// What `display hot-backup` shows of the running engine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The engine runs (enabled, with a peer, DHCP under hot backup).
    pub running: bool,
    pub connected: bool,
    pub status: Option<Status>,
    pub stats: Stats,
    /// Connections closed because the rule keeps another one, or from a stranger.
    pub refused: u64,
    /// The tracked VRRP group's role on this device.
    pub local_role: Option<Role>,
    pub serving: bool,
    /// The pool half new addresses come from, while restricted.
    pub half: Option<Half>,
    /// The server identifier in use (the tracked group's virtual IP).
    pub server_id: Option<Ipv4Addr>,
    /// When the configuration asks for an engine the DHCP server cannot give (not running).
    pub problem: Option<String>,
}

/// Operator requests to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// `hot-backup partner-down`.
    PartnerDown,
    /// `reset hot-backup statistics`.
    ResetStatistics,
}

/// The way into a running hot-backup engine.
#[derive(Clone)]
pub struct HotBackupHandle {
    report: watch::Receiver<Arc<Report>>,
    orders: mpsc::UnboundedSender<Order>,
}

impl HotBackupHandle {
    /// The last published report.
    pub fn report(&self) -> Arc<Report> {
        self.report.borrow().clone()
    }
    /// Subscribe to reports (tests and the demo wait on them).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Report>> {
        self.report.clone()
    }
    /// Queue an operator request; false when the engine has stopped.
    pub fn order(&self, order: Order) -> bool {
        self.orders.send(order).is_ok()
    }
}

/// The engine task and its handle.
pub fn start(
    config: watch::Receiver<Arc<Config>>,
    vrrp: watch::Receiver<Arc<VrrpStatus>>,
    dhcp: DhcpHandle,
    preempt_hold: watch::Sender<Option<(IfName, u8)>>,
    transport: Transport,
) -> (impl std::future::Future<Output = ()>, HotBackupHandle) {
    let (report_tx, report) = watch::channel(Arc::new(Report::default()));
    let (orders, orders_rx) = mpsc::unbounded_channel();
    let engine = Engine {
        config,
        vrrp,
        dhcp,
        report: report_tx,
        orders: orders_rx,
        active: None,
        boot_id: boot_id(),
        preempt_hold,
        transport,
    };
    (engine.run(), HotBackupHandle { report, orders })
}

/// The feature's `start` (`features::Feature`): the hot-backup engine (after DHCP and VRRP,
/// which it steers), its failover link carried over the device's network. Without a DHCP
/// engine there is nothing to back up: it does not start.
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    net: &Network<'_>,
) -> Result<(), StartError> {
    let Some(dhcp) = device.dhcp.get().cloned() else {
        return Ok(());
    };
    let transport = match net {
        Network::Sim(lan, node) => Transport::Sim((*lan).clone(), *node),
        Network::Linux(_) => Transport::Tcp,
    };
    let (engine, handle) = start(
        device.config.subscribe(),
        device.vrrp_status.subscribe(),
        dhcp,
        device.preempt_hold.clone(),
        transport,
    );
    if device.hotbackup.set(handle).is_ok() {
        device.spawn(rt, engine);
    }
    Ok(())
}
/// New on every start of an engine: the wall clock's nanoseconds mixed with the process id
/// and a count of the engines this process started (a device restarted inside one process,
/// as the simulation tests do, must not reuse its previous boot id). An identity only: no
/// time is derived from it.
fn boot_id() -> u64 {
    static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A fresh challenge for one connection: 16 bytes from the kernel's random source. Replay
/// protection needs a nonce never used before; should /dev/urandom fail, the wall clock's
/// nanoseconds, the process id and a count of the nonces drawn, hashed, are still unique.
fn nonce() -> Nonce {
    use std::io::Read;
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut n = Nonce::default();
    let drawn = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut n));
    if drawn.is_err() {
        use sha2::Digest;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let digest = sha2::Sha256::new()
            .chain_update(nanos.to_be_bytes())
            .chain_update(std::process::id().to_be_bytes())
            .chain_update(count.to_be_bytes())
            .finalize();
        n.copy_from_slice(&digest[..16]);
    }
    n
}

fn log(severity: u8, mnemonic: &str, message: String) {
    match severity {
        0..=3 => tracing::error!(module = "HOTBACKUP", severity, mnemonic, "{message}"),
        4 => tracing::warn!(module = "HOTBACKUP", severity, mnemonic, "{message}"),
        _ => tracing::info!(module = "HOTBACKUP", severity, mnemonic, "{message}"),
    }
}

type Shared = Arc<Mutex<Session<DhcpBindings>>>;

fn lock(s: &Shared) -> MutexGuard<'_, Session<DhcpBindings>> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The session and connection while hot backup is configured and running.
struct Active {
    settings: HotBackupConfig,
    peer: PeerConfig,
    digest: [u8; 32],
    session: Shared,
    connector: JoinHandle<()>,
    links: mpsc::Receiver<Link>,
    connected: watch::Sender<bool>,
    conn: Option<Conn>,
    /// More frames may be waiting in the session for room in the write queue.
    want_tx: bool,
    phase: Phase,
    role: Role,
    serving: Option<bool>,
    half: Option<Option<Half>>,
    server_id: Option<Option<Ipv4Addr>>,
    refused: u64,
    last_bad_log: Option<Instant>,
    bad_suppressed: u64,
}

struct Conn {
    read: ReadHalf<Stream>,
    write: mpsc::Sender<Vec<u8>>,
    writer: JoinHandle<()>,
    buf: Vec<u8>,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.connector.abort();
        if let Some(c) = &self.conn {
            c.writer.abort();
        }
    }
}

struct Engine {
    config: watch::Receiver<Arc<Config>>,
    vrrp: watch::Receiver<Arc<VrrpStatus>>,
    dhcp: DhcpHandle,
    report: watch::Sender<Arc<Report>>,
    orders: mpsc::UnboundedReceiver<Order>,
    active: Option<Active>,
    boot_id: u64,
    preempt_hold: watch::Sender<Option<(IfName, u8)>>,
    transport: Transport,
}

/// What woke the engine.
enum Wake {
    Config,
    Vrrp,
    Order(Order),
    Link(Link),
    Read(std::io::Result<usize>),
    Lease(Result<LeaseEvent, broadcast::error::RecvError>),
    Timer,
    Room,
    Stop,
}

impl Engine {
    async fn run(mut self) {
        let mut leases = self.dhcp.subscribe();
        self.reconcile().await;
        loop {
            self.publish();
            let wake = self.wait(&mut leases).await;
            match wake {
                Wake::Stop => {
                    self.deactivate().await;
                    return;
                }
                Wake::Config => self.reconcile().await,
                Wake::Vrrp => self.follow_vrrp().await,
                Wake::Order(o) => self.order(o),
                Wake::Link(link) => self.link(link),
                Wake::Read(r) => self.read(r).await,
                Wake::Lease(r) => self.lease(r, &mut leases).await,
                Wake::Timer => {
                    if let Some(a) = &self.active {
                        lock(&a.session).handle_timeout(now_ms());
                    }
                }
                Wake::Room => {}
            }
            self.pump().await;
        }
    }

    async fn wait(&mut self, leases: &mut broadcast::Receiver<LeaseEvent>) -> Wake {
        let Some(a) = &mut self.active else {
            return tokio::select! {
                c = self.config.changed() => if c.is_ok() { Wake::Config } else { Wake::Stop },
                v = self.vrrp.changed() => if v.is_ok() { Wake::Vrrp } else { Wake::Stop },
                o = self.orders.recv() => o.map_or(Wake::Stop, Wake::Order),
                // Nothing to replicate; keep the receiver from lagging.
                r = leases.recv() => match r {
                    Err(broadcast::error::RecvError::Closed) => Wake::Stop,
                    _ => Wake::Room,
                },
            };
        };
        let timeout = lock(&a.session).poll_timeout();
        let timer =
            timeout.map(|t| Instant::now() + Duration::from_millis(t.saturating_sub(now_ms())));
        let want_tx = a.want_tx;
        let (read, write) = match &mut a.conn {
            Some(c) => (Some((&mut c.read, &mut c.buf)), Some(c.write.clone())),
            None => (None, None),
        };
        tokio::select! {
            c = self.config.changed() => if c.is_ok() { Wake::Config } else { Wake::Stop },
            v = self.vrrp.changed() => if v.is_ok() { Wake::Vrrp } else { Wake::Stop },
            o = self.orders.recv() => o.map_or(Wake::Stop, Wake::Order),
            l = a.links.recv() => l.map_or(Wake::Stop, Wake::Link),
            r = read_some(read) => Wake::Read(r),
            r = leases.recv() => Wake::Lease(r),
            _ = sleep_until(timer) => Wake::Timer,
            _ = room(write), if want_tx => Wake::Room,
        }
    }

    fn publish(&self) {
        let report = match &self.active {
            None => Report {
                problem: self.problem(),
                ..Report::default()
            },
            Some(a) => {
                let s = lock(&a.session);
                Report {
                    running: true,
                    connected: a.conn.is_some(),
                    status: Some(s.status()),
                    stats: s.stats().clone(),
                    refused: a.refused,
                    local_role: Some(a.role),
                    serving: a.serving.unwrap_or(true),
                    half: a.half.flatten(),
                    server_id: a.server_id.flatten(),
                    problem: None,
                }
            }
        };
        self.report.send_if_modified(|r| {
            if **r == report {
                false
            } else {
                *r = Arc::new(report);
                true
            }
        });
    }

    fn problem(&self) -> Option<String> {
        let cfg = &self.config.borrow().hotbackup;
        if !cfg.enabled {
            return None;
        }
        if cfg.peer.is_none() {
            Some("no peer configured".into())
        } else if !cfg.dhcp {
            Some("dhcp server hot-backup is not configured".into())
        } else {
            None
        }
    }

    /// Start, restart or stop the session for the current configuration.
    async fn reconcile(&mut self) {
        let config = self.config.borrow_and_update().clone();
        let settings = config.hotbackup.clone();
        let digest = dhcp_config_digest(&config.dhcp);
        let Some(peer) = settings.active() else {
            self.deactivate().await;
            return;
        };
        let same = self
            .active
            .as_ref()
            .is_some_and(|a| a.peer == peer && a.digest == digest && a.settings == settings);
        if !same {
            // The session's settings are fixed at creation: a change starts afresh (the
            // next connection makes a full batch backup).
            self.deactivate().await;
            self.activate(settings, peer, digest).await;
        }
        self.follow_vrrp().await;
    }

    async fn activate(&mut self, settings: HotBackupConfig, peer: PeerConfig, digest: [u8; 32]) {
        let device_id = u32::from(peer.source);
        let cfg = settings.session_config(device_id, self.boot_id, digest);
        let session = Session::new(cfg, now_ms());
        let (connected, connected_rx) = watch::channel(false);
        let (links_tx, links) = mpsc::channel(4);
        let connector = tokio::spawn(
            channel::run(self.transport.clone(), peer, connected_rx, links_tx).instrument_current(),
        );
        let phase = session.phase();
        let _ = self
            .dhcp
            .gate(GateOrder::Hold(settings.mode == super::Mode::Synchronous))
            .await;
        log(
            5,
            "HOTBACKUP_START",
            format!(
                "Hot backup started: local {} peer {} port {}.",
                peer.source, peer.peer, peer.port
            ),
        );
        self.active = Some(Active {
            settings,
            peer,
            digest,
            session: Arc::new(Mutex::new(session)),
            connector,
            links,
            connected,
            conn: None,
            want_tx: false,
            phase,
            role: Role::Initialize,
            serving: None,
            half: None,
            server_id: None,
            refused: 0,
            last_bad_log: None,
            bad_suppressed: 0,
        });
    }

    /// Back to a stand-alone DHCP server.
    async fn deactivate(&mut self) {
        if self.active.take().is_none() {
            return;
        }
        self.preempt_hold.send_replace(None);
        let _ = self.dhcp.gate(GateOrder::Hold(false)).await;
        let _ = self.dhcp.set_server_id(None).await;
        let _ = self.dhcp.set_serving(true).await;
        let _ = self.dhcp.call(|s, _| apply_half(s, None)).await;
        log(5, "HOTBACKUP_STOP", "Hot backup stopped.".into());
    }

    /// The tracked group's role and virtual IP decide serving and the server identifier.
    async fn follow_vrrp(&mut self) {
        let vrrp = self.vrrp.borrow_and_update().clone();
        let config = self.config.borrow().clone();
        let Some(a) = &mut self.active else { return };
        let (role, vip) = match &a.settings.track {
            Some(t) => {
                let role = match vrrp.groups.get(&(t.interface.clone(), t.vrid)) {
                    Some(g) if g.is_master() => Role::Master,
                    Some(g) if g.status.state == crate::vrrp::io::State::Backup => Role::Backup,
                    _ => Role::Initialize,
                };
                let vip = config
                    .interfaces
                    .get(&t.interface)
                    .and_then(|i| i.vrrp.groups.get(&t.vrid))
                    .and_then(|g| g.virtual_ips.first().copied());
                (role, vip)
            }
            None => (Role::Initialize, None),
        };
        if role != a.role {
            log(
                5,
                "HOTBACKUP_ROLE",
                format!(
                    "The local VRRP role changed from {} to {}.",
                    role_name(a.role),
                    role_name(role)
                ),
            );
            a.role = role;
            lock(&a.session).handle_role(role);
        }
        // Without a tracked group the device serves as a stand-alone server would.
        let serving = a.settings.track.is_none() || role == Role::Master;
        if a.serving != Some(serving) {
            a.serving = Some(serving);
            let _ = self.dhcp.set_serving(serving).await;
        }
        if a.server_id != Some(vip) {
            a.server_id = Some(vip);
            let _ = self.dhcp.set_server_id(vip).await;
        }
    }

    fn order(&mut self, order: Order) {
        let Some(a) = &self.active else { return };
        match order {
            Order::PartnerDown => {
                lock(&a.session).declare_partner_down();
                log(
                    4,
                    "HOTBACKUP_PARTNER_DOWN",
                    "The peer was declared down by the operator: this device serves every pool address.".into(),
                );
            }
            Order::ResetStatistics => lock(&a.session).reset_statistics(),
        }
    }

    fn link(&mut self, link: Link) {
        let Some(a) = &mut self.active else { return };
        match link {
            Link::Refused(from) => {
                a.refused += 1;
                tracing::debug!(%from, "hot-backup connection refused");
            }
            Link::Up(stream) => {
                if a.conn.is_some() {
                    // One connection at a time; the live one stays.
                    a.refused += 1;
                    return;
                }
                let (read, mut write) = tokio::io::split(stream);
                let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
                let writer = tokio::spawn(
                    async move {
                        while let Some(b) = rx.recv().await {
                            if write.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                    }
                    .instrument_current(),
                );
                a.conn = Some(Conn {
                    read,
                    write: tx,
                    writer,
                    buf: Vec::with_capacity(READ_CHUNK),
                });
                let _ = a.connected.send(true);
                lock(&a.session).handle_connected(now_ms(), nonce());
                a.want_tx = true;
            }
        }
    }

    async fn read(&mut self, r: std::io::Result<usize>) {
        let Some(a) = &mut self.active else { return };
        let Some(conn) = &mut a.conn else { return };
        match r {
            Ok(n) if n > 0 => {
                let bytes = std::mem::take(&mut conn.buf);
                let session = a.session.clone();
                let result = self
                    .dhcp
                    .call(move |server, now| {
                        lock(&session).handle_bytes(now, &bytes, server);
                        bytes
                    })
                    .await;
                match result {
                    Ok(mut bytes) => {
                        bytes.clear();
                        if let Some(c) = &mut a.conn {
                            c.buf = bytes;
                        }
                    }
                    Err(e) => {
                        log(
                            4,
                            "HOTBACKUP_DHCP",
                            format!("Received bindings could not be applied: {e}"),
                        );
                        close(a);
                    }
                }
            }
            _ => close(a),
        }
    }

    async fn lease(
        &mut self,
        first: Result<LeaseEvent, broadcast::error::RecvError>,
        leases: &mut broadcast::Receiver<LeaseEvent>,
    ) {
        let Some(a) = &mut self.active else { return };
        let mut events = Vec::new();
        let mut lagged = None;
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Ok(ev) => events.push(ev),
                Err(broadcast::error::RecvError::Lagged(n)) => lagged = Some(n),
                Err(broadcast::error::RecvError::Closed) => break,
            }
            next = leases.try_recv().ok().map(Ok);
        }
        {
            let mut s = lock(&a.session);
            for ev in &events {
                s.handle_lease_event(ev);
            }
        }
        if let Some(n) = lagged {
            // Changes were missed: the peer needs a fresh batch, and the ACKs held for them
            // can no longer be matched with a confirmation.
            log(
                4,
                "HOTBACKUP_LAG",
                format!("Hot backup missed {n} lease changes; resynchronizing."),
            );
            close(a);
            let _ = self.dhcp.gate(GateOrder::ReleaseAll).await;
        }
    }

    /// Send what the session has to send (as far as the write queue has room) and act on
    /// its events, until neither has more.
    async fn pump(&mut self) {
        loop {
            let Some(a) = &mut self.active else { return };
            let mut progressed = false;
            if let Some(c) = &a.conn
                && c.write.capacity() > 0
            {
                let session = a.session.clone();
                match self
                    .dhcp
                    .call(move |server, _| lock(&session).poll_transmit(server))
                    .await
                {
                    Ok(Some(bytes)) => {
                        if c.write.try_send(bytes).is_err() {
                            close(a);
                        }
                        progressed = true;
                        a.want_tx = true;
                    }
                    Ok(None) => a.want_tx = false,
                    Err(_) => a.want_tx = false,
                }
            }
            let events: Vec<Event<DhcpBindings>> = {
                let mut s = lock(&a.session);
                std::iter::from_fn(|| s.poll_event()).collect()
            };
            progressed |= !events.is_empty();
            for ev in events {
                self.event(ev).await;
            }
            self.after_step().await;
            if !progressed {
                return;
            }
        }
    }

    async fn event(&mut self, ev: Event<DhcpBindings>) {
        let Some(a) = &mut self.active else { return };
        match ev {
            Event::PeerUp { device_id, role } => log(
                5,
                "HOTBACKUP_PEER_UP",
                format!(
                    "The peer {} (device {device_id:#010x}, VRRP {}) is connected.",
                    a.peer.peer,
                    role_name(role)
                ),
            ),
            Event::PeerRole(role) => log(
                6,
                "HOTBACKUP_PEER_ROLE",
                format!("The peer's VRRP role is now {}.", role_name(role)),
            ),
            Event::ConfigMismatch => log(
                4,
                "HOTBACKUP_CONFIG_MISMATCH",
                "The DHCP configuration differs from the peer's; configure both devices the same.".into(),
            ),
            Event::PeerDown => log(
                4,
                "HOTBACKUP_PEER_DOWN",
                format!(
                    "The peer {} is unreachable; this device serves alone from its half of each pool.",
                    a.peer.peer
                ),
            ),
            Event::AckTimeout { held, waited } => log(
                4,
                "HOTBACKUP_ACK_TIMEOUT",
                format!(
                    "The peer {} confirmed none of {held} changes for {} ms (its lease store may be failing); it is treated as down.",
                    a.peer.peer,
                    waited
                ),
            ),
            Event::BatchReceived => {
                log(5, "HOTBACKUP_BATCH_DONE", "Every binding of the peer is applied.".into())
            }
            Event::Synchronized => {}
            Event::Released { upto } => {
                let _ = self.dhcp.gate(GateOrder::Release(upto)).await;
            }
            Event::Unconfirmed(changes) => {
                let session = a.session.clone();
                let own = dhcp_half(a.peer.source, a.peer.peer);
                let verdict = self
                    .dhcp
                    .call(move |server, _| lock(&session).settle_unconfirmed(server, own, changes))
                    .await;
                match verdict {
                    Ok(list) => {
                        let dropped = list.iter().filter(|(_, ok)| !ok).count();
                        if dropped > 0 {
                            log(
                                4,
                                "HOTBACKUP_REVOKED",
                                format!("{dropped} new bindings the peer never confirmed were revoked."),
                            );
                        }
                        let _ = self.dhcp.gate(GateOrder::Settle(list)).await;
                    }
                    Err(_) => {
                        let _ = self.dhcp.gate(GateOrder::ReleaseAll).await;
                    }
                }
            }
            Event::Conflict(c) => log(
                4,
                "HOTBACKUP_CONFLICT",
                c.log_line(),
            ),
            Event::Error(e) => {
                let now = Instant::now();
                if a.last_bad_log.is_some_and(|t| now < t + BAD_LOG_EVERY) {
                    a.bad_suppressed += 1;
                } else {
                    let more = std::mem::take(&mut a.bad_suppressed);
                    let tail = if more > 0 {
                        format!(" ({more} more since the last message)")
                    } else {
                        String::new()
                    };
                    let (mnemonic, what) = match &e {
                        SessionError::Protocol(ProtocolError::ClockSkew { .. }) => {
                            ("HOTBACKUP_CLOCK_SKEW", "The peer was refused")
                        }
                        SessionError::Refused(_) => {
                            ("HOTBACKUP_BAD_ENTRY", "A binding from the peer was not applied")
                        }
                        _ => ("HOTBACKUP_BAD_FRAME", "A frame from the peer was dropped"),
                    };
                    log(4, mnemonic, format!("{what}: {e}{tail}."));
                    a.last_bad_log = Some(now);
                }
            }
            Event::Close => close(a),
            Event::PartnerDown => log(
                4,
                "HOTBACKUP_PARTNER_DOWN",
                "The peer stayed silent for the partner-down delay: this device serves every pool address.".into(),
            ),
        }
    }

    /// Phase change logs, and the pool half the session wants.
    async fn after_step(&mut self) {
        let Some(a) = &mut self.active else { return };
        let (phase, restrict, may_preempt) = {
            let s = lock(&a.session);
            (s.phase(), s.restrict_to_half(), s.may_preempt())
        };
        if phase != a.phase {
            log(
                5,
                "HOTBACKUP_PHASE",
                format!(
                    "The hot-backup phase changed from {} to {}.",
                    phase_name(a.phase),
                    phase_name(phase)
                ),
            );
            a.phase = phase;
        }
        // The tracked group preempts only once this device holds the peer's table: connected
        // and every binding of the peer's batch applied (Session::may_preempt). Without a
        // connection a lower-priority master keeps serving; a dead peer sends no adverts,
        // so this device still becomes master by Master_Down_Timer.
        let held = a
            .settings
            .track
            .as_ref()
            .filter(|_| !(may_preempt && phase != Phase::Silence))
            .map(|t| (t.interface.clone(), t.vrid));
        self.preempt_hold.send_if_modified(|h| {
            if *h == held {
                false
            } else {
                *h = held;
                true
            }
        });
        let half = restrict.then(|| dhcp_half(a.peer.source, a.peer.peer));
        if a.half != Some(half) {
            a.half = Some(half);
            let _ = self.dhcp.call(move |s, _| apply_half(s, half)).await;
        }
    }
}

/// Drop the connection (the session is told unless it closed it itself).
fn close(a: &mut Active) {
    if let Some(c) = a.conn.take() {
        c.writer.abort();
        lock(&a.session).handle_closed(now_ms());
        let _ = a.connected.send(false);
    }
    a.want_tx = false;
}

pub fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Silence => "Silence",
        Phase::Negotiating => "Negotiating",
        Phase::BatchBackup => "Batch backup",
        Phase::RealTime => "Real-time backup",
    }
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Initialize => "Initialize",
        Role::Master => "Master",
        Role::Backup => "Backup",
    }
}

async fn read_some(r: Option<(&mut ReadHalf<Stream>, &mut Vec<u8>)>) -> std::io::Result<usize> {
    match r {
        Some((read, buf)) => read.read_buf(buf).await,
        None => std::future::pending().await,
    }
}

async fn room(w: Option<mpsc::Sender<Vec<u8>>>) {
    match w {
        Some(w) => {
            // The permit is dropped at once: the engine only needs to know there is room.
            let _ = w.reserve().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Spawned helpers run in the device's span, so their logs reach its buffer.
trait InstrumentCurrent: std::future::Future + Sized {
    fn instrument_current(self) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, tracing::Span::current())
    }
}

impl<F: std::future::Future> InstrumentCurrent for F {}
