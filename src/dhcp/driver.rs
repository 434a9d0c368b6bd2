//! The DHCP engine: one tokio task per device that owns the [`Server`] (the only owner of the
//! lease table: no lock on the packet path) and the [`LeaseStore`] in `DATA/dhcp/`.
//!
//! Loop: wait for a datagram, a request from a session, a configuration change or a timer;
//! take every datagram already waiting (up to [`BATCH`]), run them through the core, append
//! the lease events to the journal, flush once (one fdatasync), and only then send the replies
//! whose commit ids the flush made durable (docs/dhcp.md, "Durability policy"). Sessions and
//! other engines reach the task through a [`DhcpHandle`].

/// The conflict probes (`dhcp server ping`), run beside the engine.
mod conflict_probe;
/// The sockets and frames the task reads and writes (Linux and the simulated LAN).
pub mod io;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use self::io::{Batch, DhcpIo, LinuxIo, READ_BATCH, Served, SimIo};
use super::event::{Ingress, LeaseEvent, Origin, Reply};
use super::lease::{LeaseState, Millis};
use super::server::{Server, ServerOptions};
use super::store::{Damage, LeaseStore};
use crate::device::{Device, StartError};
use crate::features::{Config, Network};
use crate::infocenter::repeat::{Occurrence, Repeats};

/// Datagrams handled per journal flush at most.
pub const BATCH: usize = 256;
/// Reader batches waiting for the task before readers wait (and the kernel queues or drops).
const QUEUE: usize = 64;
/// How long a session waits for the engine's answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the journal is checked for compaction.
const COMPACT_CHECK: Duration = Duration::from_secs(30);
/// How soon a journal write that failed (a full or failing disk) is tried again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// At most one store error logged per this window (the others are counted).
const STORE_ERROR_WINDOW: Duration = Duration::from_secs(60);
/// Lease events kept for a slow subscriber (hot backup) before it lags.
const EVENT_BACKLOG: usize = 65536;

/// Why a request to the engine failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("The DHCP server is not running.")]
    NotRunning,
    #[error("The DHCP server did not answer within {0} seconds.")]
    Timeout(u64),
}

type Job = Box<dyn FnOnce(&mut Server, Millis) + Send>;

/// What the engine's task is asked to do.
pub enum Work {
    /// Run on the server.
    Job(Job),
    /// Hot backup's order for the replies held for the peer's confirmation.
    Gate(GateOrder),
}

/// Hot backup in synchronous mode: hold, release or drop the replies waiting for the peer's
/// confirmation.
pub enum GateOrder {
    /// Hold every reply with a commit id until [`GateOrder::Release`] covers it (`true`), or send
    /// whatever waits and stop holding (`false`).
    Hold(bool),
    /// The peer confirmed every change up to this commit id: send the replies waiting for them.
    Release(u64),
    /// The peer went down before confirming these commit ids: send (`true`) or drop (`false`)
    /// the reply of each.
    Settle(Vec<(u64, bool)>),
    /// Send every waiting reply now (the hot-backup engine lost track of the events).
    ReleaseAll,
}

/// The way into a running DHCP engine: queries and changes run inside the task, on the
/// server it owns (never under a lock from the caller's thread).
#[derive(Clone)]
pub struct DhcpHandle {
    jobs: mpsc::Sender<Work>,
    events: broadcast::Sender<LeaseEvent>,
    store: watch::Receiver<StoreStatus>,
    /// The lease store's journal fsync latencies.
    pub fsync: Arc<crate::metrics::histogram::Histogram>,
}

/// What the operator must know about the lease store (`display dhcp server statistics`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStatus {
    /// Damage recovery found at start-up: what was skipped, recovered and kept aside.
    pub damage: Vec<Damage>,
    /// Why the last flush failed, while flushes fail (acknowledgements are withheld).
    pub write_error: Option<String>,
}

impl DhcpHandle {
    /// Run `f` on the server inside the engine and wait (at most [`QUERY_TIMEOUT`]) for its
    /// result. For session threads; lease changes `f` makes are journaled like any other.
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Server, Millis) -> R + Send + 'static,
    ) -> Result<R, DriverError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |s, now| {
            let _ = tx.send(f(s, now));
        });
        self.jobs.try_send(Work::Job(job)).map_err(|e| match e {
            mpsc::error::TrySendError::Closed(_) => DriverError::NotRunning,
            mpsc::error::TrySendError::Full(_) => DriverError::Timeout(0),
        })?;
        rx.recv_timeout(QUERY_TIMEOUT).map_err(|e| match e {
            std::sync::mpsc::RecvTimeoutError::Timeout => {
                DriverError::Timeout(QUERY_TIMEOUT.as_secs())
            }
            std::sync::mpsc::RecvTimeoutError::Disconnected => DriverError::NotRunning,
        })
    }

    /// [`DhcpHandle::query`] for async callers (other engines).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Server, Millis) -> R + Send + 'static,
    ) -> Result<R, DriverError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |s, now| {
            let _ = tx.send(f(s, now));
        });
        self.jobs
            .send(Work::Job(job))
            .await
            .map_err(|_| DriverError::NotRunning)?;
        tokio::time::timeout(QUERY_TIMEOUT, rx)
            .await
            .map_err(|_| DriverError::Timeout(QUERY_TIMEOUT.as_secs()))?
            .map_err(|_| DriverError::NotRunning)
    }

    /// Every lease event of this server's own changes, in the order journaled (hot backup
    /// replicates them); changes applied for the hot-backup peer ([`Origin::Peer`]) are not
    /// published.
    pub fn subscribe(&self) -> broadcast::Receiver<LeaseEvent> {
        self.events.subscribe()
    }

    /// Use `id` as the server identifier (hot backup: the VRRP virtual address), or the
    /// receiving interface's address again with `None`.
    pub async fn set_server_id(&self, id: Option<std::net::Ipv4Addr>) -> Result<(), DriverError> {
        self.call(move |s, _| s.set_server_id(id)).await
    }

    /// The lease store's state: damage found at start-up, a failing disk.
    pub fn store_status(&self) -> StoreStatus {
        self.store.borrow().clone()
    }

    /// Answer clients (VRRP master) or keep the table silently (backup).
    pub async fn set_serving(&self, serving: bool) -> Result<(), DriverError> {
        self.call(move |s, _| s.set_serving(serving)).await
    }

    /// Hold, release or drop replies waiting for hot backup (see [`GateOrder`]). Queued in order
    /// with the jobs, so a release never overtakes the job before it.
    pub async fn gate(&self, order: GateOrder) -> Result<(), DriverError> {
        self.jobs
            .send(Work::Gate(order))
            .await
            .map_err(|_| DriverError::NotRunning)
    }
}

/// The time the core is given: wall-clock milliseconds since the Unix epoch, read once (with
/// the monotonic instant of that moment) and advanced from then on by tokio's clock. Lease
/// times stay wall-clock times across restarts (the journal keeps them), and on a paused
/// clock (the simulation tests) they move with simulated time, so a seed replays the same
/// lease times relative to its start. The hot-backup engine uses the same clock for its
/// `updated` times and timers.
pub fn now_ms() -> Millis {
    static ANCHOR: std::sync::OnceLock<(std::time::Instant, Millis)> = std::sync::OnceLock::new();
    let (at, wall) = *ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0);
        (std::time::Instant::now(), wall)
    });
    // A paused clock started before the anchor may be behind it: count back, not to zero
    // (rounding down either way, so equal steps of the clock give equal steps here).
    let now = Instant::now().into_std();
    match now.checked_duration_since(at) {
        Some(ahead) => wall.saturating_add(ahead.as_millis() as Millis),
        None => {
            let behind = at.duration_since(now).as_nanos().div_ceil(1_000_000);
            wall.saturating_sub(behind as Millis)
        }
    }
}

/// Replies held until hot backup says the peer has their bindings (synchronous mode).
#[derive(Default)]
struct Gate {
    holding: bool,
    /// Every commit id up to this one is confirmed.
    released: u64,
    /// Held replies, in commit order.
    waiting: std::collections::VecDeque<Reply>,
}

/// Everything the task owns.
pub struct Engine {
    server: Server,
    store: LeaseStore,
    store_status: watch::Sender<StoreStatus>,
    io: DhcpIo,
    config: watch::Receiver<Arc<Config>>,
    events: broadcast::Sender<LeaseEvent>,
    ingress: HashMap<Arc<str>, Ingress>,
    /// While the journal cannot be written: when to try again. (What is on disk is the
    /// server's `durable()` mark.)
    store_retry: Option<Instant>,
    gate: Gate,
    /// Rate limit of the store error log ([`Engine::store_error`]).
    store_errors: Repeats,
}

/// Start the DHCP engine on the device's network, with its lease store in `DATA/dhcp/`. A
/// store that cannot be opened is logged and leaves the DHCP server stopped (it must not
/// answer without a journal); the device runs on.
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    net: &Network<'_>,
) -> Result<(), StartError> {
    let io = match net {
        Network::Sim(lan, node) => DhcpIo::Sim(SimIo::new((*lan).clone(), *node)),
        Network::Linux(ports) => DhcpIo::Linux(LinuxIo::new(ports)),
    };
    let _g = device.span().entered();
    match start(
        device.options.data_dir.clone(),
        io,
        device.config.subscribe(),
    ) {
        Ok((engine, handle, jobs)) => {
            if device.dhcp.set(handle).is_ok() {
                device.spawn(rt, engine.run(jobs, device.health.register("dhcp")));
            }
        }
        Err(e) => tracing::error!(
            module = "DHCPS",
            severity = 3u8,
            mnemonic = "DHCPS_STORE",
            "The DHCP server cannot open its lease store: {e}"
        ),
    }
    Ok(())
}

/// Open the store, recover, and return the engine with its handle (the task is [`Engine::run`]).
pub fn start(
    data_dir: PathBuf,
    io: DhcpIo,
    config: watch::Receiver<Arc<Config>>,
) -> Result<(Engine, DhcpHandle, mpsc::Receiver<Work>), super::store::StoreError> {
    let (mut store, recovery) = LeaseStore::open(&data_dir.join("dhcp"))?;
    if let Some(t) = &recovery.torn {
        tracing::warn!(
            module = "DHCPS",
            severity = 4u8,
            mnemonic = "DHCPS_JOURNAL_TORN",
            "The lease journal ended with an incomplete record ({} bytes at offset {}); it was discarded.",
            t.bytes,
            t.offset
        );
    }
    for d in &recovery.damage {
        tracing::error!(
            module = "DHCPS",
            severity = 3u8,
            mnemonic = "DHCPS_STORE_DAMAGED",
            "{}",
            damage_text(d)
        );
    }
    let snapshot = config.borrow().clone();
    let mut server = match Server::new(snapshot.dhcp.clone(), ServerOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                module = "DHCPS",
                severity = 4u8,
                mnemonic = "DHCPS_CONFIG",
                "The DHCP configuration was not applied: {e}"
            );
            Server::new(Default::default(), ServerOptions::default())
                .expect("the default configuration is valid")
        }
    };
    let recovered = recovery.leases.len();
    server.restore(recovery.leases);
    // What was recovered is on disk; from now on the flushes say how far the events are.
    server.set_durable(server.last_event());
    // Records that no pool covers any more were dropped by restore: start the journal clean.
    if store.journal_records() > 0
        && store.should_compact(server.leases().len())
        && let Err(e) = compact(&mut store, &server)
    {
        log_store_error(&format!("Lease store compaction failed: {e}"), 0);
    }
    if recovered > 0 {
        tracing::info!(
            module = "DHCPS",
            severity = 6u8,
            mnemonic = "DHCPS_RECOVERED",
            "Recovered {recovered} lease records from the lease store."
        );
    }
    let (jobs_tx, jobs_rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(EVENT_BACKLOG);
    let (store_status, store_rx) = watch::channel(StoreStatus {
        damage: recovery.damage,
        write_error: None,
    });
    let handle = DhcpHandle {
        jobs: jobs_tx,
        events: events.clone(),
        store: store_rx,
        fsync: store.fsync_histogram(),
    };
    let engine = Engine {
        server,
        store,
        store_status,
        io,
        config,
        events,
        ingress: HashMap::new(),
        store_retry: None,
        gate: Gate::default(),
        store_errors: Repeats::new(STORE_ERROR_WINDOW),
    };
    Ok((engine, handle, jobs_rx))
}

/// The operator's sentence for damage found in a store file.
pub fn damage_text(d: &Damage) -> String {
    let file = match d.file {
        super::store::faults::StoreFile::Journal => "lease journal",
        super::store::faults::StoreFile::Snapshot => "lease snapshot",
    };
    let at = d
        .regions
        .first()
        .map(|(o, _)| format!(" from offset {o}"))
        .unwrap_or_default();
    let kept = match &d.kept {
        Some(p) => format!("the damaged file was kept as {}", p.display()),
        None => "the damaged file could not be kept aside and stays in use".to_string(),
    };
    format!(
        "The {file} is damaged: {} bad bytes{at} were skipped and {} valid records recovered; {kept}.",
        d.bad_bytes(),
        d.records
    )
}

/// Fold the journal into a snapshot of the whole table (when it works, every event so far is
/// durable).
fn compact(store: &mut LeaseStore, server: &Server) -> Result<(), super::store::StoreError> {
    // Offers are never journaled; everything else is state worth keeping.
    let live = server
        .leases()
        .iter()
        .filter(|r| r.state != LeaseState::Offered);
    store.compact(live)
}

/// `DHCPS/3/DHCPS_STORE`, with the count of the store errors not logged before it.
fn log_store_error(message: &str, repeated: u64) {
    let tail = if repeated > 0 {
        format!(" (store errors repeated {repeated} times since the last message)")
    } else {
        String::new()
    };
    tracing::error!(
        module = "DHCPS",
        severity = 3u8,
        mnemonic = "DHCPS_STORE",
        "{message}{tail}"
    );
}

impl Engine {
    /// The engine's task: runs until the device stops it, beating `beat` as its loop turns
    /// (the systemd watchdog follows it: crate::health).
    pub async fn run(mut self, mut jobs: mpsc::Receiver<Work>, beat: crate::health::Beat) {
        let mut beat_tick = crate::health::ticker();
        let (tx, mut rx) = mpsc::channel::<Batch>(QUEUE);
        let (probe_tx, mut probe_rx) = mpsc::unbounded_channel();
        let probe_net = self.io.probe_net();
        self.reconcile(&tx);
        let mut compact_tick = tokio::time::interval(COMPACT_CHECK);
        compact_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batches: Vec<Batch> = Vec::with_capacity(BATCH / READ_BATCH);
        let mut replies: Vec<Reply> = Vec::with_capacity(BATCH);
        loop {
            let wake = self.server.poll_timeout().map(|t| {
                let now = now_ms();
                Instant::now() + Duration::from_millis(t.saturating_sub(now))
            });
            tokio::select! {
                n = rx.recv_many(&mut batches, BATCH / READ_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    let now = now_ms();
                    for r in batches.drain(..).flatten() {
                        if let Some(ing) = self.ingress.get(&r.interface) {
                            replies.extend(self.server.handle_packet(now, ing, &r.bytes));
                        }
                    }
                }
                work = jobs.recv() => match work {
                    Some(Work::Job(job)) => job(&mut self.server, now_ms()),
                    Some(Work::Gate(order)) => self.gate_work(order),
                    None => return,
                },
                changed = self.config.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.reconcile(&tx);
                }
                // Bounded by the addresses held for probes: one result per probe asked for.
                Some((ip, answered)) = probe_rx.recv() => {
                    replies.extend(self.server.probe_result(now_ms(), ip, answered));
                }
                _ = sleep_until(wake) => self.server.handle_timeout(now_ms()),
                // The flush below tries the journal again.
                _ = sleep_until(self.store_retry) => {}
                _ = beat_tick.tick() => beat.beat(),
                _ = compact_tick.tick() => {
                    if self.store.should_compact(self.server.leases().len()) {
                        match compact(&mut self.store, &self.server) {
                            // The whole table is on disk: so is every event so far.
                            Ok(()) => self.server.set_durable(self.server.last_event()),
                            Err(e) => {
                                self.store_error(&format!("Lease store compaction failed: {e}"))
                            }
                        }
                    }
                }
            }
            for req in self.server.drain_probes() {
                conflict_probe::spawn(probe_net.clone(), req, probe_tx.clone());
            }
            self.commit_and_send(&mut replies);
        }
    }

    /// Journal the pending events (one flush), then send the replies they made durable.
    fn commit_and_send(&mut self, replies: &mut Vec<Reply>) {
        // Offers, NAKs and INFORM answers depend on nothing durable: they go out before the
        // fsync, which keeps them from waiting for it and halves the burst after it.
        replies.retain(|r| {
            if r.commit.is_some() {
                return true;
            }
            self.send(r);
            false
        });
        let events = self.server.drain_events();
        for ev in &events {
            self.store.append(&ev.change);
        }
        self.make_durable(!events.is_empty());
        // Subscribers (hot backup) get this server's own changes; those applied for the
        // peer are journaled only (sending them back is pointless, and a batch backup of
        // a million would otherwise push a million copies through the channel).
        if self.events.receiver_count() > 0 {
            for ev in events.into_iter().filter(|e| e.origin == Origin::Local) {
                let _ = self.events.send(ev);
            }
        }
        // ACKs whose lease did not reach the disk are dropped (the flush error was logged):
        // the client retransmits its REQUEST. Counted as withheld, never as sent.
        let durable = self.server.durable();
        for r in replies.drain(..) {
            if r.commit.is_some_and(|c| c > durable) {
                self.server.reply_withheld("journal-failed");
                continue;
            }
            if self.gate.holding && r.commit.is_some_and(|c| c > self.gate.released) {
                self.gate.waiting.push_back(r);
                continue;
            }
            self.send(&r);
        }
    }

    /// Flush the journal (one fdatasync) and tell the server how far its events are durable.
    /// Invariant: `Server::durable` only moves once the store says the records are on disk (a
    /// flush or a compaction succeeded); replies (here) and hot-backup acks to the peer
    /// (`Replica::durable_mark`) never go beyond it. A failed write keeps its records
    /// buffered and is tried again by the next batch with new events (`fresh`) and, while
    /// none comes, every [`STORE_RETRY`]: changes applied for the peer while the disk was full
    /// would otherwise stay unconfirmed until a client happens to send something. Only a
    /// poisoned store (a failed fsync) is compacted, which rewrites the whole table.
    fn make_durable(&mut self, fresh: bool) {
        let last = self.server.last_event();
        if self.server.durable() < last {
            if !fresh && self.store_retry.is_some_and(|at| Instant::now() < at) {
                return;
            }
            if let Err(e) = self.store.flush() {
                self.store_error(&format!(
                    "Lease journal write failed, acknowledgements withheld: {e}"
                ));
                self.store_status
                    .send_modify(|s| s.write_error = Some(e.to_string()));
                let rewritten = self.store.is_poisoned()
                    && match compact(&mut self.store, &self.server) {
                        Ok(()) => true,
                        Err(e) => {
                            self.store_error(&format!("Lease store compaction failed: {e}"));
                            false
                        }
                    };
                if !rewritten {
                    self.store_retry = Some(Instant::now() + STORE_RETRY);
                    return;
                }
            }
            self.server.set_durable(last);
        }
        // Everything is on disk (this flush, or a compaction did it): no retry is due.
        self.store_retry = None;
        self.store_recovered();
        self.store_status
            .send_if_modified(|s| s.write_error.take().is_some());
    }

    /// Log a store error, rate-limited: a failing disk fails every batch, and one line per
    /// batch would push everything else out of the log buffer. The first is logged; later ones
    /// within [`STORE_ERROR_WINDOW`] are counted and the count goes with the next one logged,
    /// or with the notice that writes succeed again ([`Engine::store_recovered`]).
    fn store_error(&mut self, message: &str) {
        if let Occurrence::Log { repeated } = self.store_errors.occur(Instant::now().into_std()) {
            log_store_error(message, repeated);
        }
    }

    /// Every event is on disk: report the store errors not logged since the last one that was.
    fn store_recovered(&mut self) {
        if let Some(n) = self.store_errors.clear() {
            tracing::warn!(
                module = "DHCPS",
                severity = 4u8,
                mnemonic = "DHCPS_STORE_RECOVERED",
                "Lease journal writes succeed again; the last store error repeated {n} times."
            );
        }
    }

    /// Send one reply and count it: `Messages sent` counts what left, not what was built.
    fn send(&mut self, r: &Reply) {
        match self.io.send(r) {
            Ok(()) => self.server.reply_sent(r),
            Err(e) => {
                tracing::debug!(interface = %r.interface, error = %e, "DHCP reply not sent");
                self.server.reply_withheld("send-failed");
            }
        }
    }

    /// Hot backup's orders for the held replies.
    fn gate_work(&mut self, order: GateOrder) {
        let waiting = std::mem::take(&mut self.gate.waiting);
        let mut keep = std::collections::VecDeque::with_capacity(waiting.len());
        match order {
            GateOrder::Hold(on) => {
                self.gate.holding = on;
                if on {
                    keep = waiting;
                } else {
                    waiting.iter().for_each(|r| self.send(r));
                }
            }
            GateOrder::Release(upto) => {
                self.gate.released = self.gate.released.max(upto);
                for r in waiting {
                    if r.commit.is_some_and(|c| c > self.gate.released) {
                        keep.push_back(r);
                    } else {
                        self.send(&r);
                    }
                }
            }
            GateOrder::Settle(list) => {
                let verdict: HashMap<u64, bool> = list.into_iter().collect();
                for r in waiting {
                    match r.commit.and_then(|c| verdict.get(&c)) {
                        Some(true) => self.send(&r),
                        // The peer never confirmed it: the client retransmits.
                        Some(false) => self.server.reply_withheld("peer-unconfirmed"),
                        None => keep.push_back(r),
                    }
                }
            }
            GateOrder::ReleaseAll => waiting.iter().for_each(|r| self.send(r)),
        }
        self.gate.waiting = keep;
    }

    /// Apply the configuration snapshot: the server's pools and the served interfaces.
    fn reconcile(&mut self, tx: &mpsc::Sender<Batch>) {
        let config = self.config.borrow_and_update().clone();
        if *self.server.config() != config.dhcp
            && let Err(e) = self.server.set_config(config.dhcp.clone())
        {
            tracing::warn!(
                module = "DHCPS",
                severity = 4u8,
                mnemonic = "DHCPS_CONFIG",
                "The DHCP configuration was not applied: {e}"
            );
        }
        self.server.set_captive_portals(captive_portals(&config));
        // Comware 7: with `dhcp enable`, every interface with an address is a server
        // (`dhcp select server` is the default).
        let served: Vec<Served> = if config.dhcp.enabled {
            config
                .interfaces
                .iter()
                .filter(|(_, c)| !c.shutdown)
                .filter_map(|(name, c)| {
                    c.address.map(|(address, _)| Served {
                        name: name.clone(),
                        address,
                        virtual_ips: c
                            .vrrp
                            .groups
                            .values()
                            .flat_map(|g| g.virtual_ips.iter().copied())
                            .collect(),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        self.ingress = served
            .iter()
            .map(|s| {
                let name: Arc<str> = s.name.to_string().into();
                let pool = config.interfaces[&s.name].dhcp.apply_pool.clone();
                let ingress = Ingress {
                    interface: name.to_string(),
                    address: s.address,
                    pool,
                };
                (name, ingress)
            })
            .collect();
        for (port, e) in self.io.serve(&served, tx) {
            tracing::warn!(
                module = "DHCPS",
                severity = 4u8,
                mnemonic = "DHCPS_SOCKET",
                "The DHCP server cannot listen on {port}: {e}"
            );
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The captive-portal API URI (RFC 8908, served by the portal's web server at `api` under its
/// URL) of each interface's network where portal authentication is on and has a web server
/// with a URL: what option 114 tells the clients of those networks (RFC 8910).
fn captive_portals(config: &Config) -> Vec<(crate::dhcp::config::Network, String)> {
    config
        .interfaces
        .values()
        .filter(|i| i.portal.enabled)
        .filter_map(|i| {
            let (addr, len) = i.address?;
            let url = config
                .portal
                .web_servers
                .get(i.portal.web_server.as_ref()?)?
                .url
                .as_ref()?;
            let network = crate::dhcp::config::Network {
                address: crate::interface::address::network_of(addr, len),
                prefix_len: len,
            };
            let sep = if url.ends_with('/') { "" } else { "/" };
            Some((network, format!("{url}{sep}api")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lease times follow tokio's clock (a paused clock moves them exactly) and start at the
    /// wall clock.
    #[tokio::test(start_paused = true)]
    async fn now_ms_is_wall_time_moved_by_tokios_clock() {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as Millis;
        let first = now_ms();
        assert!(
            first.abs_diff(wall) < 60_000,
            "{first} vs the wall clock {wall}"
        );
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(now_ms() - first, 3_600_000);
        tokio::time::advance(Duration::from_millis(7)).await;
        assert_eq!(now_ms() - first, 3_600_007);
    }
}
