//! The portal engine: one tokio task per device that owns the user [`Table`] (the only owner:
//! no lock on the login path) and its [`Journal`] in `DATA/portal/`, and drives the edges:
//! the web server ([`web::serve`], asking back through the [`web::Gate`] this module
//! implements) and the firewall (the nftables table on Linux; nothing on the simulated LAN).
//!
//! Loop: wait for work (a login, a logoff, a session's query), a configuration change, a
//! deadline of the table, activity from the firewall, a DHCP lease event or an interface
//! change; take the work already waiting (up to [`BATCH`]), run it through the table, append
//! the journal events, flush once (one fdatasync), apply the firewall changes, and only then
//! answer the logins the flush made durable (docs/portal.md, "The driver").

mod edges;
pub mod probe;
mod verified;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use self::edges::{Firewall, WebServer};
use super::firewall::{Client, Plan, PortalPort};
use super::journal::Journal;
use super::users::{Cause, Event, LoginRequest, Millis, Selector, Table, User};
use super::users::{Limits, PortLimits};
use super::web::{self, Logon, Online, Site};
use crate::aaa::network::{Grant, Refusal, authenticate_portal};
use crate::device::{Device, StartError};
use crate::dhcp::driver::now_ms;
use crate::dhcp::{LeaseChange, LeaseEvent, LeaseState};
use crate::features::{Config, Network};
use crate::interface::name::IfName;
use crate::interface::status::IfStatus;

/// Work items handled per journal flush at most.
pub const BATCH: usize = 256;
/// How long a session waits for the engine's answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a login waits for its journal flush before the page says it failed.
pub const LOGON_TIMEOUT: Duration = Duration::from_secs(10);
/// Password checks (argon2id, 19 MiB each) running at once; the others wait their turn.
pub const PASSWORD_CHECKS: usize = 4;
/// How often the firewall's activity is read when no interface sets a detection interval.
const ACTIVITY_POLL: Duration = Duration::from_secs(10);
/// How soon a journal write that failed is tried again.
const JOURNAL_RETRY: Duration = Duration::from_secs(1);

/// Why a request to the engine failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("Portal is not running.")]
    NotRunning,
    #[error("Portal did not answer within {0} seconds.")]
    Timeout(u64),
}

type Job = Box<dyn FnOnce(&mut Table, Millis) + Send>;

/// What the engine's task is asked to do.
enum Work {
    /// Run on the table (sessions' displays and `portal delete-user`).
    Job(Job),
    /// A login whose name and password the gate has checked.
    Logon {
        req: LoginRequest,
        verdict: Result<Grant, Refusal>,
        reply: oneshot::Sender<Logon>,
    },
    /// Stop: remove the firewall table, then end the task.
    Stop(oneshot::Sender<()>),
}

/// The way into a running portal engine.
#[derive(Clone)]
pub struct PortalHandle {
    work: mpsc::Sender<Work>,
    web: Arc<edges::WebCounters>,
    gate: Arc<Gate>,
}

impl PortalHandle {
    /// Run `f` on the table inside the engine and wait (at most [`QUERY_TIMEOUT`]) for its
    /// result. For session threads; logouts `f` makes are journaled and applied like any other.
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Table, Millis) -> R + Send + 'static,
    ) -> Result<R, DriverError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |t, now| {
            let _ = tx.send(f(t, now));
        });
        self.work.try_send(Work::Job(job)).map_err(|e| match e {
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

    /// Stop the engine gracefully (SIGTERM): the web server stops and the firewall table is
    /// removed, so nothing of Duet's stays on the host. Waits at most a second.
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.work.send(Work::Stop(tx)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), rx).await;
        }
    }

    /// The gate the web server logs clients in through (issue 13's simulated clients use it
    /// too).
    pub fn gate(&self) -> Arc<dyn web::Gate> {
        self.gate.clone()
    }

    /// The web server's counters since the last `reset portal statistics`, labelled.
    pub fn web_counters(&self) -> Vec<(&'static str, u64)> {
        self.web.since_reset()
    }

    pub fn reset_web_counters(&self) {
        self.web.reset();
    }
}

/// What the engine shares with the gate (read by the web server's tasks).
#[derive(Default)]
struct Shared {
    /// The logged-in users by IP, as of the last firewall change (online.htm, the API).
    online: RwLock<HashMap<Ipv4Addr, User>>,
    /// Hardware addresses the DHCP server bound, by IP.
    macs: RwLock<HashMap<Ipv4Addr, [u8; 6]>>,
}

/// The [`web::Gate`] of this device: the web server's way to the table.
struct Gate {
    work: mpsc::Sender<Work>,
    shared: Arc<Shared>,
    config: watch::Receiver<Arc<Config>>,
    checks: Arc<Semaphore>,
    /// Passwords that already passed their full check.
    verified: Arc<verified::Verified>,
    /// Whether the kernel's neighbour table may be asked for MACs (Linux).
    linux: bool,
}

impl Gate {
    fn mac(&self, client: Ipv4Addr) -> Option<[u8; 6]> {
        if let Some(mac) = read(&self.shared.macs).get(&client) {
            return Some(*mac);
        }
        if self.linux {
            probe::neighbour_mac(client)
        } else {
            None
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// The portal interface whose subnet holds `ip`, with its `portal domain`.
fn portal_interface_of(cfg: &Config, ip: Ipv4Addr) -> Option<(IfName, Option<String>)> {
    cfg.interfaces.iter().find_map(|(name, i)| {
        let (addr, len) = i.address?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (i.portal.enabled && u32::from(addr) & mask == u32::from(ip) & mask)
            .then(|| (name.clone(), i.portal.domain.clone()))
    })
}

fn online_of(u: &User, now: Millis) -> Online {
    Online {
        username: u.username.clone(),
        seconds_remaining: u.session_deadline_ms.map(|d| d.saturating_sub(now) / 1000),
    }
}

impl web::Gate for Gate {
    fn logon(
        &self,
        client: Ipv4Addr,
        username: String,
        password: String,
    ) -> BoxFuture<'static, Logon> {
        let cfg = self.config.borrow().clone();
        let mac = self.mac(client);
        let work = self.work.clone();
        let checks = self.checks.clone();
        let verified = self.verified.clone();
        Box::pin(async move {
            let Some((interface, domain)) = portal_interface_of(&cfg, client) else {
                return Logon::Failed(
                    "This address is not on a network that needs a portal login.".into(),
                );
            };
            let Some(mac) = mac else {
                return Logon::Failed(
                    "The device does not know your hardware address yet; reconnect and try again."
                        .into(),
                );
            };
            let req = LoginRequest {
                ip: client,
                mac,
                interface: interface.to_string(),
                username: username.clone(),
            };
            // A locked-out source costs no password check: the table refuses it before it
            // looks at the verdict, so any verdict will do.
            let locked = {
                let (tx, rx) = oneshot::channel();
                let job: Job = Box::new(move |t, now| {
                    let _ = tx.send(t.locked_out(now, client).is_some());
                });
                work.send(Work::Job(job)).await.is_ok() && rx.await.unwrap_or(false)
            };
            let verdict = if locked {
                Err(Refusal::BadPassword)
            } else {
                let Ok(_permit) = checks.acquire_owned().await else {
                    return Logon::Failed("The portal is stopping.".into());
                };
                tokio::task::spawn_blocking(move || {
                    let name = username
                        .rsplit_once('@')
                        .map_or(username.as_str(), |(u, _)| u);
                    authenticate_portal(
                        &cfg.network_users,
                        &cfg.domains,
                        domain.as_deref(),
                        &username,
                        &password,
                        |plain, stored| {
                            verified.check(name, plain, stored, crate::aaa::password::verify)
                        },
                    )
                })
                .await
                .unwrap_or(Err(Refusal::BadPassword))
            };
            let (reply, answer) = oneshot::channel();
            if work
                .send(Work::Logon {
                    req,
                    verdict,
                    reply,
                })
                .await
                .is_err()
            {
                return Logon::Failed("The portal is stopping.".into());
            }
            match tokio::time::timeout(LOGON_TIMEOUT, answer).await {
                Ok(Ok(logon)) => logon,
                _ => Logon::Failed(
                    "The login could not be recorded on the device; try again.".into(),
                ),
            }
        })
    }

    fn logoff(&self, client: Ipv4Addr) -> BoxFuture<'static, bool> {
        let work = self.work.clone();
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let job: Job = Box::new(move |t, now| {
                let _ = tx.send(t.logoff(now, client));
            });
            work.send(Work::Job(job)).await.is_ok() && rx.await.unwrap_or(false)
        })
    }

    fn online(&self, client: Ipv4Addr) -> Option<Online> {
        read(&self.shared.online)
            .get(&client)
            .map(|u| online_of(u, now_ms()))
    }

    fn mac_of(&self, client: Ipv4Addr) -> Option<[u8; 6]> {
        self.mac(client)
    }
}

/// Start the portal engine: open the journal in `DATA/portal/`, restore the users, and run.
/// A journal that cannot be opened is logged and leaves portal stopped (it must not log users
/// in without a journal); the device runs on.
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    net: &Network<'_>,
) -> Result<(), StartError> {
    let _g = device.span().entered();
    let dir = device.options.data_dir.join("portal");
    let (journal, recovered) = match Journal::open(&dir) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(
                module = "PORTAL",
                severity = 3u8,
                mnemonic = "PORTAL_JOURNAL",
                "Portal cannot open its user journal: {e}"
            );
            return Ok(());
        }
    };
    if recovered.torn_bytes > 0 {
        tracing::warn!(
            module = "PORTAL",
            severity = 4u8,
            mnemonic = "PORTAL_JOURNAL_TORN",
            "The portal user journal ended with an incomplete record ({} bytes); it was discarded.",
            recovered.torn_bytes
        );
    }
    for (file, bytes) in &recovered.damaged {
        tracing::error!(
            module = "PORTAL",
            severity = 3u8,
            mnemonic = "PORTAL_JOURNAL_DAMAGED",
            "The portal file {file} is damaged: {bytes} bytes after the last good record were not read."
        );
    }
    let (linux_ports, firewall): (BTreeMap<IfName, String>, Box<dyn Firewall>) = match net {
        Network::Linux(ports) => {
            let suffix = table_suffix(&device.options.data_dir);
            // Recorded before the table can exist, so `duet cleanup` (the unit's ExecStopPost)
            // removes it after a crash; an absent table is skipped there.
            let table = crate::net::ledger::KernelObject::NftTable {
                family: "inet".into(),
                name: super::firewall::render::table_name(&suffix),
            };
            if let Err(e) = device.kernel.record(table) {
                tracing::warn!(error = %e, "portal: recording the firewall table for cleanup failed");
            }
            (ports.iter().cloned().collect(), edges::nft(&suffix))
        }
        Network::Sim(..) => (BTreeMap::new(), Box::new(edges::NoFirewall::default())),
    };
    let linux = matches!(net, Network::Linux(_));
    let restored = recovered.users.len();
    let parts = Parts {
        journal,
        users: recovered.users,
        config: device.config.subscribe(),
        if_status: device.if_status.subscribe(),
        leases: device.dhcp.get().map(|d| d.subscribe()),
        firewall,
        linux_ports,
        linux,
        pages_dir: Some(dir.join("pages")),
    };
    let (engine, handle, run) = assemble(parts);
    if device.portal.set(handle).is_err() {
        return Ok(());
    }
    if restored > 0 {
        tracing::info!(
            module = "PORTAL",
            severity = 6u8,
            mnemonic = "PORTAL_RECOVERED",
            "Recovered {restored} portal users from the user journal."
        );
    }
    device.spawn(rt, engine.run(run));
    Ok(())
}

/// What an engine is built from.
struct Parts {
    journal: Journal,
    /// The users the journal recovered.
    users: Vec<User>,
    config: watch::Receiver<Arc<Config>>,
    if_status: watch::Receiver<Arc<IfStatus>>,
    leases: Option<tokio::sync::broadcast::Receiver<LeaseEvent>>,
    firewall: Box<dyn Firewall>,
    linux_ports: BTreeMap<IfName, String>,
    linux: bool,
    pages_dir: Option<std::path::PathBuf>,
}

/// The receiving ends the engine's task reads.
struct Inbox {
    work: mpsc::Receiver<Work>,
    activity: mpsc::Receiver<Vec<Ipv4Addr>>,
}

/// Build the engine (its table restored) and its handle.
fn assemble(p: Parts) -> (Engine, PortalHandle, Inbox) {
    let config = p.config;
    let mut table = Table::new(limits_of(&config.borrow()));
    table.restore(now_ms(), p.users);
    let (work_tx, work_rx) = mpsc::channel(1024);
    let shared = Arc::new(Shared::default());
    *write(&shared.online) = table.users().map(|u| (u.ip, u.clone())).collect();
    let web_counters = Arc::new(edges::WebCounters::default());
    let gate = Arc::new(Gate {
        work: work_tx.clone(),
        shared: shared.clone(),
        config: config.clone(),
        checks: Arc::new(Semaphore::new(PASSWORD_CHECKS)),
        verified: Arc::new(verified::Verified::default()),
        linux: p.linux,
    });
    let handle = PortalHandle {
        work: work_tx,
        web: web_counters.clone(),
        gate: gate.clone(),
    };
    let (activity_tx, activity_rx) = mpsc::channel(64);
    let engine = Engine {
        table,
        journal: p.journal,
        config,
        if_status: p.if_status,
        leases: p.leases,
        firewall: p.firewall,
        web: WebServer::new(gate, web_counters, p.linux),
        shared,
        linux_ports: p.linux_ports,
        linux: p.linux,
        plan: None,
        forwarding_on: false,
        waiting: Vec::new(),
        journal_retry: None,
        activity_tx,
        ports_up: BTreeMap::new(),
        pages_dir: p.pages_dir,
    };
    let inbox = Inbox {
        work: work_rx,
        activity: activity_rx,
    };
    (engine, handle, inbox)
}

/// The suffix of this device's nftables table (`duet_<suffix>`): from its data directory, so
/// two devices on one host (or in one test) never share a table.
fn table_suffix(data_dir: &Path) -> String {
    let text = data_dir.to_string_lossy();
    let h = crate::dhcp::store::crc32(text.as_bytes());
    format!("portal_{h:08x}")
}

/// The table's limits from the configuration: every portal-enabled interface.
fn limits_of(cfg: &Config) -> Limits {
    Limits {
        max_users: cfg.portal.max_users,
        interfaces: cfg
            .interfaces
            .iter()
            .filter(|(_, i)| i.portal.enabled)
            .map(|(name, i)| {
                (
                    name.to_string(),
                    PortLimits {
                        max_users: i.portal.max_users,
                        detect: i.portal.detect,
                    },
                )
            })
            .collect(),
    }
}

/// What the web server serves, from the configuration: the web server applied on the first
/// portal interface that applies one (its URL), else the local server on that interface's
/// address. `None` without a local web server.
fn site_of(cfg: &Config) -> Option<(Site, u16)> {
    let local = cfg.portal.local_web_server.as_ref()?;
    let port = local.tcp_port;
    let applied = cfg
        .interfaces
        .values()
        .filter(|i| i.portal.enabled)
        .find_map(|i| i.portal.web_server.as_ref())
        .and_then(|name| cfg.portal.web_servers.get(name));
    let fallback = || {
        let addr = cfg
            .interfaces
            .values()
            .filter(|i| i.portal.enabled)
            .find_map(|i| i.address)
            .map_or(Ipv4Addr::UNSPECIFIED, |(a, _)| a);
        if port == 80 {
            format!("http://{addr}/portal/")
        } else {
            format!("http://{addr}:{port}/portal/")
        }
    };
    let site = Site {
        portal_url: applied.and_then(|w| w.url.clone()).unwrap_or_else(fallback),
        url_parameters: applied
            .map(|w| w.url_parameters.clone())
            .unwrap_or_default(),
        pages: None,
    };
    Some((site, port))
}

/// The firewall plan without its users: ports (Linux names, addresses and VRRP virtual IPs),
/// where intercepted HTTP goes, free rules. `None` when no port is a portal port.
fn plan_of(cfg: &Config, linux_ports: &BTreeMap<IfName, String>) -> Option<Plan> {
    let ports: Vec<PortalPort> = cfg
        .interfaces
        .iter()
        .filter(|(_, i)| i.portal.enabled)
        .filter_map(|(name, i)| {
            let mut local_addresses: Vec<Ipv4Addr> =
                i.address.map(|(a, _)| a).into_iter().collect();
            for g in i.vrrp.groups.values() {
                local_addresses.extend(&g.virtual_ips);
            }
            Some(PortalPort {
                linux_name: linux_ports.get(name)?.clone(),
                local_addresses,
            })
        })
        .collect();
    if ports.is_empty() {
        return None;
    }
    let (site, port) = site_of(cfg).unwrap_or((
        Site {
            portal_url: String::new(),
            url_parameters: Vec::new(),
            pages: None,
        },
        super::config::DEFAULT_HTTP_PORT,
    ));
    // Intercepted HTTP goes to the URL's host when it is an address of the device (the VRRP
    // virtual IP in a pair), else to the first portal port's address.
    let host = site
        .portal_url
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', ':']).next())
        .and_then(|h| h.parse::<Ipv4Addr>().ok());
    let first = ports
        .iter()
        .find_map(|p| p.local_addresses.first().copied())
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let web_server = (
        host.filter(|h| ports.iter().any(|p| p.local_addresses.contains(h)))
            .unwrap_or(first),
        port,
    );
    Some(Plan {
        ports,
        web_server,
        free_rules: cfg.portal.free_rules.values().cloned().collect(),
        authorized: Vec::new(),
    })
}

/// A login waiting for its journal flush.
struct Waiting {
    reply: oneshot::Sender<Logon>,
    online: Online,
}

/// Everything the task owns.
struct Engine {
    table: Table,
    journal: Journal,
    config: watch::Receiver<Arc<Config>>,
    if_status: watch::Receiver<Arc<IfStatus>>,
    leases: Option<tokio::sync::broadcast::Receiver<LeaseEvent>>,
    firewall: Box<dyn Firewall>,
    web: WebServer,
    shared: Arc<Shared>,
    linux_ports: BTreeMap<IfName, String>,
    linux: bool,
    /// The plan last loaded (without users).
    plan: Option<Plan>,
    forwarding_on: bool,
    waiting: Vec<Waiting>,
    journal_retry: Option<tokio::time::Instant>,
    activity_tx: mpsc::Sender<Vec<Ipv4Addr>>,
    /// Each portal port's state last seen (up or not), for the interface-down logout.
    ports_up: BTreeMap<IfName, bool>,
    /// Where an operator's own pages replace the built-in ones, when that directory exists.
    pages_dir: Option<std::path::PathBuf>,
}

/// The tokio instant of a deadline in the table's clock.
fn instant_of(deadline: Millis) -> tokio::time::Instant {
    let now = now_ms();
    tokio::time::Instant::now() + Duration::from_millis(deadline.saturating_sub(now))
}

impl Engine {
    async fn run(mut self, inbox: Inbox) {
        let Inbox {
            mut work,
            mut activity,
        } = inbox;
        self.apply_config().await;
        let mut poll = tokio::time::interval(self.activity_interval());
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let far = Duration::from_secs(3600);
        let mut stopped = None;
        loop {
            let deadline = self
                .table
                .poll_timeout()
                .map_or_else(|| tokio::time::Instant::now() + far, instant_of);
            let retry = self
                .journal_retry
                .unwrap_or_else(|| tokio::time::Instant::now() + far);
            tokio::select! {
                item = work.recv() => {
                    let Some(item) = item else { break };
                    if let Some(stop) = self.handle(item) {
                        stopped = Some(stop);
                    }
                    // Group commit: everything already waiting goes into the same flush.
                    for _ in 1..BATCH {
                        match work.try_recv() {
                            Ok(item) => {
                                if let Some(stop) = self.handle(item) {
                                    stopped = Some(stop);
                                }
                            }
                            Err(_) => break,
                        }
                    }
                }
                changed = self.config.changed() => {
                    if changed.is_err() { break }
                    self.apply_config().await;
                    poll = tokio::time::interval(self.activity_interval());
                    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.table.handle_timeout(now_ms());
                }
                _ = tokio::time::sleep_until(retry) => {
                    self.journal_retry = None;
                }
                _ = poll.tick() => {
                    match self.firewall.active().await {
                        Ok(ips) => self.table.activity(now_ms(), ips),
                        Err(e) => tracing::warn!(error = %e, "portal: reading activity failed"),
                    }
                }
                Some(ips) = activity.recv() => {
                    self.table.activity(now_ms(), ips);
                }
                changed = self.if_status.changed() => {
                    if changed.is_ok() { self.check_ports(); }
                }
                event = recv_lease(&mut self.leases) => {
                    self.lease_event(event);
                }
            }
            self.settle().await;
            if stopped.is_some() {
                break;
            }
        }
        self.web.apply(None).await;
        if let Err(e) = self.firewall.remove().await {
            tracing::warn!(error = %e, "portal: removing the firewall table failed");
        }
        if let Some(done) = stopped {
            let _ = done.send(());
        }
    }

    /// Run one work item; returns the stop order if it is one.
    fn handle(&mut self, item: Work) -> Option<oneshot::Sender<()>> {
        let now = now_ms();
        match item {
            Work::Stop(done) => return Some(done),
            Work::Job(job) => job(&mut self.table, now),
            Work::Logon {
                req,
                verdict,
                reply,
            } => match self.table.login(now, req, verdict) {
                Ok(done) => {
                    let online = online_of(&done.user, now);
                    match done.commit {
                        Some(_) => self.waiting.push(Waiting { reply, online }),
                        None => {
                            let _ = reply.send(Logon::Success(online));
                        }
                    }
                }
                Err(e) => {
                    let _ = reply.send(Logon::Failed(e.page_text()));
                }
            },
        }
        None
    }

    /// Carry out the table's events: journal (one flush), firewall, logs, probes; then
    /// answer the logins the flush made durable.
    async fn settle(&mut self) {
        let events = self.table.drain();
        let mut allow = Vec::new();
        let mut revoke = Vec::new();
        for event in events {
            match event {
                Event::Journal(change) => self.journal.append(&change),
                Event::Allow(c) => {
                    if let Some(u) = self.table.get(c.ip) {
                        write(&self.shared.online).insert(c.ip, u.clone());
                    }
                    revoke.retain(|r: &Client| *r != c);
                    allow.push(c);
                }
                Event::Revoke(c) => {
                    let mut online = write(&self.shared.online);
                    if online.get(&c.ip).is_some_and(|u| u.mac == c.mac) {
                        online.remove(&c.ip);
                    }
                    drop(online);
                    allow.retain(|a: &Client| *a != c);
                    revoke.push(c);
                }
                Event::Log(log) => tracing::info!(
                    module = "PORTAL",
                    severity = log.severity,
                    mnemonic = log.mnemonic.as_str(),
                    "{}",
                    log.message
                ),
                Event::Probe { client, kind } => self.probe(client, kind),
            }
        }
        if self.journal_retry.is_none()
            && (self.journal.pending() > 0 || self.journal.is_poisoned())
        {
            if let Err(e) = self.journal.flush() {
                tracing::error!(
                    module = "PORTAL",
                    severity = 3u8,
                    mnemonic = "PORTAL_JOURNAL",
                    "The portal user journal could not be written: {e}. Logins wait until it can."
                );
                self.journal_retry = Some(tokio::time::Instant::now() + JOURNAL_RETRY);
            }
            // A failed fsync leaves the journal untrustworthy: only a snapshot of the whole
            // table makes it writable again (and holds what was pending).
            if self.journal.is_poisoned()
                && let Err(e) = self.journal.compact(self.table.users())
            {
                tracing::warn!(error = %e, "portal journal compaction failed");
            } else if self.journal.should_compact(self.table.len())
                && let Err(e) = self.journal.compact(self.table.users())
            {
                tracing::warn!(error = %e, "portal journal compaction failed");
            }
        }
        // Revocations first: a reused IP's old element goes before the new one comes. The
        // changes of a round go to the firewall together (the nftables edge batches
        // concurrent changes into one `nft -f`).
        let firewall = &self.firewall;
        let revoked = futures::future::join_all(revoke.iter().map(|c| firewall.revoke(*c))).await;
        for (c, r) in revoke.iter().zip(revoked) {
            if let Err(e) = r {
                tracing::warn!(error = %e, ip = %c.ip, "portal: removing a client from the firewall failed");
            }
        }
        let allowed = futures::future::join_all(allow.iter().map(|c| firewall.allow(*c))).await;
        for (c, r) in allow.iter().zip(allowed) {
            if let Err(e) = r {
                tracing::warn!(error = %e, ip = %c.ip, "portal: adding a client to the firewall failed");
            }
        }
        // Answer the logins the journal now holds (everything appended is durable once
        // nothing is pending and no fsync failed since).
        if self.journal.pending() == 0 && !self.journal.is_poisoned() {
            for w in self.waiting.drain(..) {
                let _ = w.reply.send(Logon::Success(w.online));
            }
        }
    }

    fn probe(&self, client: Client, kind: super::config::DetectKind) {
        if !self.linux {
            return;
        }
        let interval = self
            .table
            .get(client.ip)
            .and_then(|u| self.table.limits().interfaces.get(&u.interface))
            .and_then(|p| p.detect)
            .map_or(3, |d| d.interval_secs);
        let tx = self.activity_tx.clone();
        tokio::spawn(async move {
            if probe::probe(kind, client.ip, Duration::from_secs(u64::from(interval))).await {
                let _ = tx.send(vec![client.ip]).await;
            }
        });
    }

    fn activity_interval(&self) -> Duration {
        self.table
            .limits()
            .interfaces
            .values()
            .filter_map(|p| {
                p.detect
                    .map(|d| Duration::from_secs(u64::from(d.interval_secs.max(1))))
            })
            .min()
            .unwrap_or(ACTIVITY_POLL)
    }

    /// A new configuration: the table's limits (users of interfaces that left the portal are
    /// logged out), the web server, the firewall plan, forwarding.
    async fn apply_config(&mut self) {
        let cfg = self.config.borrow_and_update().clone();
        self.table.set_limits(now_ms(), limits_of(&cfg));
        // The logouts this causes reach the journal and the firewall before the firewall's
        // table is reloaded or removed.
        self.settle().await;
        let site = site_of(&cfg).map(|(mut site, port)| {
            // An operator's own pages: DATA/portal/pages/ (docs/portal.md, "Your own pages").
            site.pages = self.pages_dir.as_ref().filter(|d| d.is_dir()).cloned();
            (site, port)
        });
        self.web.apply(site).await;
        let plan = plan_of(&cfg, &self.linux_ports);
        if plan.is_some() && self.linux && !self.forwarding_on {
            match crate::net::linux::enable_ipv4_forwarding() {
                Ok(changed) => {
                    self.forwarding_on = true;
                    if changed {
                        tracing::info!(
                            module = "PORTAL",
                            severity = 5u8,
                            mnemonic = "PORTAL_FORWARDING",
                            "IPv4 forwarding was turned on in this network namespace for portal."
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "portal: turning IPv4 forwarding on failed"),
            }
        }
        if plan != self.plan {
            match &plan {
                Some(p) => {
                    let mut full = p.clone();
                    full.authorized = self.table.users().map(User::client).collect();
                    if let Err(e) = self.firewall.load(&full).await {
                        tracing::error!(
                            module = "PORTAL",
                            severity = 3u8,
                            mnemonic = "PORTAL_FIREWALL",
                            "The portal firewall table could not be loaded: {e}"
                        );
                    }
                }
                None => {
                    if self.plan.is_some()
                        && let Err(e) = self.firewall.remove().await
                    {
                        tracing::warn!(error = %e, "portal: removing the firewall table failed");
                    }
                }
            }
            self.plan = plan;
        }
        self.check_ports();
    }

    /// Log out the users of a portal port that went down (up -> down only: a port that was
    /// never seen up logs nobody out).
    fn check_ports(&mut self) {
        let status = self.if_status.borrow_and_update().clone();
        let portal: Vec<String> = self.table.limits().interfaces.keys().cloned().collect();
        for name in portal {
            let Ok(port) = name.parse::<IfName>() else {
                continue;
            };
            let up = status.get(&port).is_some_and(|s| s.physical_up());
            let was = self.ports_up.insert(port, up);
            if was == Some(true) && !up {
                self.table
                    .logout(now_ms(), &Selector::Interface(name), Cause::InterfaceDown);
            }
        }
    }

    /// A lease event of the DHCP server: remember the client's MAC; a release, an expiry
    /// or a removal logs out the user of that address.
    fn lease_event(&mut self, event: Option<LeaseEvent>) {
        let Some(event) = event else {
            return;
        };
        match &event.change {
            LeaseChange::Upsert(r) if r.state == LeaseState::Committed => {
                if let Ok(mac) = <[u8; 6]>::try_from(&r.chaddr[..]) {
                    write(&self.shared.macs).insert(r.ip, mac);
                    // The address now belongs to another client: its old user goes.
                    if self.table.get(r.ip).is_some_and(|u| u.mac != mac) {
                        self.table
                            .logout(now_ms(), &Selector::Ip(r.ip), Cause::DhcpRelease);
                    }
                }
            }
            LeaseChange::Upsert(r) if r.state == LeaseState::Offered => {}
            change => {
                let ip = change.ip();
                write(&self.shared.macs).remove(&ip);
                self.table
                    .logout(now_ms(), &Selector::Ip(ip), Cause::DhcpRelease);
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// The next lease event, or never when there is no DHCP server. A lagging receiver skips
/// what it missed (those users are logged out by their idle timer instead).
async fn recv_lease(
    leases: &mut Option<tokio::sync::broadcast::Receiver<LeaseEvent>>,
) -> Option<LeaseEvent> {
    let Some(rx) = leases else {
        return futures::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(e) => return Some(e),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "portal: lease events missed");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                *leases = None;
                return None;
            }
        }
    }
}
