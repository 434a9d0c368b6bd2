//! The VRRP driver: one tokio task per device that runs a sans-IO [`Router`] per (interface,
//! VRID) on a [`VrrpIo`] (raw sockets and netlink on Linux, frames on the simulated LAN).
//!
//! It reconciles configuration snapshots and the interface engine's status (link state,
//! primary address, tracked interfaces) into routers, feeds them received packets and timer
//! expiries, carries out what they ask (send adverts, add and remove virtual IPs, gratuitous
//! ARP), logs state changes and rejected packets the Comware way, and publishes every group's
//! status on `Device::vrrp_status` for the displays and the engines that follow the master
//! role (DHCP, hot backup).
//!
//! This is the I/O shell around the core, so unlike the rest of `src/vrrp/` it uses tokio and
//! reads the clock (tests/vrrp_sans_io.rs exempts this file).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::config::GroupConfig;
use super::io::{Event, Output, State, StateReason};
use super::packet::{RejectReason, parse_ipv4};
use super::router::Router;
use super::status::{Statistics, Status};
use crate::device::{Device, StartError};
use crate::features::{Config, Network};
use crate::interface::name::IfName;
use crate::interface::status::IfStatus;
use crate::net::vrrp::linux::LinuxVrrpIo;
use crate::net::vrrp::sim::SimVrrpIo;
use crate::track::{TrackState, TrackStates};

/// Gratuitous ARPs after becoming master: at once, then after these delays (receivers only
/// update entries they already have, and a switch may miss the first).
pub const GARP_REPEATS: [Duration; 2] = [Duration::from_millis(100), Duration::from_secs(1)];

/// At most one log line per (interface, VRID, reason) of rejected packets in this period.
pub const REJECT_LOG_PERIOD: Duration = Duration::from_secs(10);

/// Why an I/O operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IoError {
    #[error("the port {0} is not mapped to a network interface")]
    UnknownPort(String),
    #[error("{0}")]
    Os(String),
}

/// A datagram from the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub port: IfName,
    /// The IPv4 datagram, header included.
    pub datagram: Vec<u8>,
    /// When it arrived (Linux: the kernel's receive timestamp), so Master_Down_Timer runs
    /// from the arrival, however late the driver gets to the packet.
    pub at: Instant,
}

/// Which MAC answers for the virtual IPs of a master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacMode {
    /// The virtual MAC 00-00-5E-00-01-{VRID} (RFC 5798 section 7.3).
    Virtual,
    /// The interface's own MAC, because the virtual one could not be set up.
    Real { reason: String },
}

/// What the driver needs from a network to run VRRP. Methods that only queue a frame or a
/// datagram are synchronous; `recv` is cancel-safe (the driver calls it inside `select!`).
pub trait VrrpIo: Send + 'static {
    /// Start receiving VRRP on a port (already open is success).
    fn open(&mut self, port: &IfName) -> Result<(), IoError>;
    /// Stop receiving on a port.
    fn close(&mut self, port: &IfName);
    /// The next VRRP datagram (IPv4 header included) received on an open port.
    fn recv(&mut self) -> impl Future<Output = Received> + Send;
    /// Send a VRRP message (no IP header) from `src` to 224.0.0.18 with TTL 255;
    /// `mac` is the source MAC where the backend can choose it (the virtual MAC on a master).
    fn send(
        &mut self,
        port: &IfName,
        src: Ipv4Addr,
        mac: Option<[u8; 6]>,
        msg: &[u8],
    ) -> Result<(), IoError>;
    /// Make the virtual IPs of group `vrid` local addresses of the port, answered from
    /// `mac` (the virtual MAC) where possible. Returns the MAC actually used.
    fn add_virtual_ips(
        &mut self,
        port: &IfName,
        vrid: u8,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> impl Future<Output = Result<MacMode, IoError>> + Send;
    /// Remove what `add_virtual_ips` added for these addresses.
    fn del_virtual_ips(
        &mut self,
        port: &IfName,
        vrid: u8,
        addresses: &[Ipv4Addr],
    ) -> impl Future<Output = Result<(), IoError>> + Send;
    /// Wait until `deadline` (the routers' next timer). Linux: a timerfd, exact to the
    /// microsecond (tokio's timer rounds up to whole milliseconds); sim: tokio's timer, which
    /// a paused test clock drives. Cancel-safe.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send + 'static;
    /// Broadcast one gratuitous ARP per address from `mac`.
    fn gratuitous_arp(
        &mut self,
        port: &IfName,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> Result<(), IoError>;
}

/// One group as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    pub interface: IfName,
    /// Changes when the group is deleted and created again (statistics restart from zero).
    pub instance: u64,
    /// The router's status; `become_master_in` is left out (see `master_down_at`).
    pub status: Status,
    pub statistics: Statistics,
    /// When a backup's Master_Down_Timer fires.
    pub master_down_at: Option<Instant>,
    /// The MAC in use while master.
    pub mac_mode: Option<MacMode>,
}

impl GroupStatus {
    /// `Become Master : Nms left`, as of now.
    pub fn become_master_in(&self) -> Option<Duration> {
        self.master_down_at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn is_master(&self) -> bool {
        self.status.state == State::Master
    }

    /// Set the Master_Down_Timer deadline this far from now (tests of the displays).
    pub fn set_become_master_in(&mut self, left: Duration) {
        self.master_down_at = Some(Instant::now() + left);
    }
}

/// Every group of a device, by (interface, VRID).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VrrpStatus {
    pub groups: BTreeMap<(IfName, u8), GroupStatus>,
    /// Adverts received for a VRID not configured on the interface (RFC 5798 7.1 / 3768 7.1).
    pub unknown_vrid: BTreeMap<IfName, u64>,
}

impl VrrpStatus {
    /// Is this device the master of that group?
    pub fn is_master(&self, interface: &IfName, vrid: u8) -> bool {
        self.groups
            .get(&(interface.clone(), vrid))
            .is_some_and(GroupStatus::is_master)
    }
}

/// The channel the driver publishes on (`Device::vrrp_status`).
pub type VrrpStatusSender = watch::Sender<Arc<VrrpStatus>>;

/// What the driver runs for one group.
struct Group {
    router: Router,
    instance: u64,
    primary_ip: Option<Ipv4Addr>,
    link_up: bool,
    /// Tracked interfaces as last told to the router.
    tracks: BTreeMap<IfName, bool>,
    /// Track entries' states as last told to the router.
    entries: BTreeMap<u16, TrackState>,
    mac_mode: Option<MacMode>,
}

/// A gratuitous ARP still to send.
struct GarpRepeat {
    at: Instant,
    port: IfName,
    vrid: u8,
    addresses: Vec<Ipv4Addr>,
    mac: [u8; 6],
}

struct Driver<I> {
    io: I,
    epoch: Instant,
    /// The last `now` given to the routers.
    last_now: Duration,
    groups: BTreeMap<(IfName, u8), Group>,
    open: BTreeSet<IfName>,
    next_instance: u64,
    garps: Vec<GarpRepeat>,
    /// Last log line per (interface, VRID, reason) and how many were suppressed since.
    reject_logs: HashMap<(IfName, u8, RejectReason), (Instant, u64)>,
    unknown_vrid: BTreeMap<IfName, u64>,
    status: VrrpStatusSender,
    /// Every port's MAC, for the real-MAC fallback.
    macs: BTreeMap<IfName, [u8; 6]>,
    /// The group hot backup keeps from preempting, if any.
    held: Option<(IfName, u8)>,
}

/// Which group must not preempt now (hot backup: its batch backup has not completed).
pub type PreemptHold = watch::Receiver<Option<(IfName, u8)>>;

/// The feature's `start` (`features::Feature`): this driver on the device's network (after
/// the interface engine, whose status it follows).
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    net: &Network<'_>,
) -> Result<(), StartError> {
    match net {
        Network::Sim(lan, node) => start_on(device, rt, SimVrrpIo::new((*lan).clone(), *node)),
        Network::Linux(ports) => {
            let io = {
                let _enter = rt.enter();
                LinuxVrrpIo::new(ports)?
            };
            start_on(device, rt, io)
        }
    }
    Ok(())
}

fn start_on<I: VrrpIo>(device: &Arc<Device>, rt: &Handle, io: I) {
    let (stop, stopped) = oneshot::channel();
    *device.vrrp_stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
    let driver = run(
        io,
        device.config.subscribe(),
        device.if_status.subscribe(),
        device.vrrp_status.clone(),
        device.vrrp_applied.clone(),
        stopped,
        device.preempt_hold.subscribe(),
        device.track_states.subscribe(),
    );
    device.spawn(rt, driver);
}

/// Run the driver until the configuration store goes away or `stop` fires (then every group
/// resigns and its virtual IPs are removed). Run it inside the device's span so its logs
/// reach the device's log buffer.
// Each argument is one channel the driver follows or feeds; bundling them would only rename.
#[allow(clippy::too_many_arguments)]
pub async fn run<I: VrrpIo>(
    io: I,
    mut config: watch::Receiver<Arc<Config>>,
    mut interfaces: watch::Receiver<Arc<IfStatus>>,
    status: VrrpStatusSender,
    applied: watch::Sender<Option<Arc<Config>>>,
    mut stop: oneshot::Receiver<()>,
    mut hold: PreemptHold,
    mut track_states: watch::Receiver<Arc<TrackStates>>,
) {
    let mut d = Driver {
        io,
        epoch: Instant::now(),
        last_now: Duration::ZERO,
        groups: BTreeMap::new(),
        open: BTreeSet::new(),
        next_instance: 0,
        garps: Vec::new(),
        reject_logs: HashMap::new(),
        unknown_vrid: BTreeMap::new(),
        status,
        macs: BTreeMap::new(),
        held: hold.borrow_and_update().clone(),
    };
    let mut cfg = config.borrow_and_update().clone();
    let mut ifs = interfaces.borrow_and_update().clone();
    let mut entries = track_states.borrow_and_update().clone();
    d.reconcile(&cfg, &ifs, &entries).await;
    applied.send_replace(Some(cfg.clone()));
    loop {
        d.run_outputs().await;
        d.publish();
        let deadline = d.next_deadline();
        tokio::select! {
            changed = config.changed() => {
                if changed.is_err() {
                    d.shutdown().await;
                    return;
                }
                cfg = config.borrow_and_update().clone();
                d.reconcile(&cfg, &ifs, &entries).await;
                // Published after the status below would be stale: run outputs first.
                d.run_outputs().await;
                d.publish();
                applied.send_replace(Some(cfg.clone()));
            }
            changed = interfaces.changed() => {
                if changed.is_ok() {
                    ifs = interfaces.borrow_and_update().clone();
                    d.reconcile(&cfg, &ifs, &entries).await;
                }
            }
            // The track engine's entries, followed like the interface status.
            changed = track_states.changed(), if track_states.has_changed().is_ok() => {
                if changed.is_ok() {
                    entries = track_states.borrow_and_update().clone();
                    d.reconcile(&cfg, &ifs, &entries).await;
                }
            }
            got = d.io.recv() => d.receive(got),
            changed = hold.changed(), if hold.has_changed().is_ok() => {
                if changed.is_ok() {
                    d.held = hold.borrow_and_update().clone();
                    for (key, g) in d.groups.iter_mut() {
                        g.router.set_preempt_held(d.held.as_ref() == Some(key));
                    }
                }
            }
            Ok(()) = &mut stop => {
                d.shutdown().await;
                return;
            }
            _ = sleep_until::<I>(deadline) => d.fire_timers(),
        }
    }
}

async fn sleep_until<I: VrrpIo>(deadline: Option<Instant>) {
    match deadline {
        Some(at) => I::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The interface's primary address, once the interface engine has put it on the port.
fn primary_ip(cfg: &Config, ifs: &IfStatus, port: &IfName) -> Option<Ipv4Addr> {
    let (addr, len) = cfg.interfaces.get(port)?.address?;
    ifs.get(port)?
        .addresses
        .contains(&(addr, len))
        .then_some(addr)
}

fn link_up(ifs: &IfStatus, port: &IfName) -> bool {
    ifs.get(port).is_some_and(|p| p.physical_up())
}

/// Comware's words for why a group changed state.
pub fn reason_text(reason: StateReason) -> &'static str {
    match reason {
        StateReason::Startup => "VRRP group started",
        StateReason::AddressOwner => "IP address owner",
        StateReason::MasterDownExpired => "Master down timer expired",
        StateReason::MasterResigned => "Received an advertisement with priority 0",
        StateReason::HigherPriorityMaster => "Received an advertisement with a higher priority",
        StateReason::AdminShutdown => "VRRP group shut down",
        StateReason::InterfaceDown => "Interface down",
        StateReason::NoAddress => "No primary IP address or virtual IP address",
        StateReason::VersionChanged => "VRRP version changed",
        StateReason::Removed => "VRRP group removed",
        StateReason::TrackSwitchover => "Track switchover",
    }
}

pub fn state_text(state: State) -> &'static str {
    match state {
        State::Initialize => "Initialize",
        State::Backup => "Backup",
        State::Master => "Master",
    }
}

impl<I: VrrpIo> Driver<I> {
    fn now(&mut self) -> Duration {
        let now = Instant::now()
            .saturating_duration_since(self.epoch)
            .max(self.last_now);
        self.last_now = now;
        now
    }

    /// Bring the routers in line with the configuration and the interfaces' state.
    async fn reconcile(&mut self, cfg: &Config, ifs: &IfStatus, entries: &TrackStates) {
        let now = self.now();
        self.macs = ifs
            .iter()
            .filter_map(|(p, s)| s.mac.map(|m| (p.clone(), m)))
            .collect();
        let wanted: BTreeMap<(IfName, u8), &GroupConfig> = cfg
            .interfaces
            .iter()
            .flat_map(|(port, ic)| {
                ic.vrrp
                    .groups
                    .iter()
                    .map(move |(vrid, g)| ((port.clone(), *vrid), g))
            })
            .collect();
        // Deleted groups resign (priority 0 advert, virtual IPs removed).
        let gone: Vec<_> = self
            .groups
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(mut g) = self.groups.remove(&key) {
                g.router.handle_remove();
                let outputs = g.router.drain_outputs();
                self.execute(&key, &mut g, outputs).await;
            }
        }
        for (key, gc) in wanted {
            let port = key.0.clone();
            let primary = primary_ip(cfg, ifs, &port);
            let up = link_up(ifs, &port);
            let group = match self.groups.entry(key.clone()) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    self.next_instance += 1;
                    let mut router = Router::new(key.1, up);
                    router.set_preempt_held(self.held.as_ref() == Some(&key));
                    e.insert(Group {
                        router,
                        instance: self.next_instance,
                        primary_ip: None,
                        link_up: up,
                        tracks: BTreeMap::new(),
                        entries: BTreeMap::new(),
                        mac_mode: None,
                    })
                }
            };
            // Tracked interfaces first, so a new group starts at its running priority.
            let tracked: BTreeMap<IfName, bool> = gc
                .tracks
                .iter()
                .map(|t| (t.interface.clone(), link_up(ifs, &t.interface)))
                .collect();
            for (name, state) in &tracked {
                if group.tracks.get(name).copied().unwrap_or(true) != *state {
                    group.router.handle_track(now, name, *state);
                }
            }
            group.tracks = tracked;
            // The track entries the group follows, before its configuration too (the router
            // keeps states it was told before the configuration that names them).
            let states: BTreeMap<u16, TrackState> = gc
                .track_entries
                .iter()
                .map(|t| (t.entry, entries.state(t.entry)))
                .collect();
            for (entry, state) in &states {
                if group.entries.get(entry) != Some(state) {
                    group.router.handle_track_entry(now, *entry, *state);
                }
            }
            group.entries = states;
            if group.link_up != up {
                group.link_up = up;
                group.router.handle_link(now, up);
            }
            if group.router.config() != gc || group.primary_ip != primary {
                group.primary_ip = primary;
                if let Err(e) = group.router.handle_config(now, gc, primary) {
                    // The commands validate first, so this is a configuration loaded
                    // around them; say so once per change.
                    tracing::warn!(port = %port, vrid = key.1, error = %e, "VRRP group configuration refused");
                }
            }
        }
        // Receive on every port with a group, and only there.
        let ports: BTreeSet<IfName> = self.groups.keys().map(|(p, _)| p.clone()).collect();
        for port in self.open.difference(&ports).cloned().collect::<Vec<_>>() {
            self.io.close(&port);
            self.open.remove(&port);
        }
        for port in ports {
            if !self.open.contains(&port) {
                match self.io.open(&port) {
                    Ok(()) => {
                        self.open.insert(port);
                    }
                    Err(e) => {
                        tracing::warn!(port = %port, error = %e, "cannot receive VRRP on the interface")
                    }
                }
            }
        }
    }

    /// A datagram from the network: to the group of its VRID, or counted as unknown.
    fn receive(&mut self, got: Received) {
        let Received { port, datagram, at } = got;
        let port = &port;
        // The arrival time, but never before what the routers were last told (inputs stay in
        // time order).
        let now = at.saturating_duration_since(self.epoch).max(self.last_now);
        self.last_now = now;
        let (ip, msg) = match parse_ipv4(&datagram) {
            Ok(parsed) => parsed,
            Err(reason) => {
                tracing::debug!(port = %port, %reason, "dropped a malformed VRRP datagram");
                return;
            }
        };
        // The VRID is the second byte of both versions' header.
        let Some(&vrid) = msg.get(1) else {
            return;
        };
        match self.groups.get_mut(&(port.clone(), vrid)) {
            Some(g) => g.router.handle_packet(now, &ip, msg),
            None => {
                *self.unknown_vrid.entry(port.clone()).or_default() += 1;
                self.log_reject(port, vrid, ip.src, RejectReason::VridNotConfigured);
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now();
        for g in self.groups.values_mut() {
            if g.router.poll_timeout().is_some_and(|t| t <= now) {
                g.router.handle_timeout(now);
            }
        }
        let instant = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.garps)
            .into_iter()
            .partition(|r| r.at <= instant);
        self.garps = later;
        for r in due {
            // Only while the group is still master.
            let master = self
                .groups
                .get(&(r.port.clone(), r.vrid))
                .is_some_and(|g| g.router.state() == State::Master);
            if master && let Err(e) = self.io.gratuitous_arp(&r.port, &r.addresses, r.mac) {
                tracing::warn!(port = %r.port, error = %e, "cannot send gratuitous ARP");
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let routers = self
            .groups
            .values()
            .filter_map(|g| g.router.poll_timeout())
            .min()
            .map(|t| self.epoch + t);
        let garps = self.garps.iter().map(|r| r.at).min();
        match (routers, garps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Carry out every router's pending outputs.
    async fn run_outputs(&mut self) {
        let keys: Vec<_> = self.groups.keys().cloned().collect();
        for key in keys {
            let Some(mut g) = self.groups.remove(&key) else {
                continue;
            };
            let outputs = g.router.drain_outputs();
            self.execute(&key, &mut g, outputs).await;
            self.groups.insert(key, g);
        }
    }

    async fn execute(&mut self, key: &(IfName, u8), g: &mut Group, mut outputs: Vec<Output>) {
        let (port, vrid) = (&key.0, key.1);
        // On becoming master the advert goes first (RFC 5798 6.4.2 lists it first too):
        // setting up the virtual MAC and addresses takes netlink round trips, and the
        // backups are waiting for that advert.
        if outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::AddVirtualIps { .. })))
        {
            outputs.sort_by_key(|o| !matches!(o, Output::Transmit(_)));
        }
        for out in outputs {
            match out {
                Output::Transmit(t) => {
                    // RFC 5798 section 7.3: from the virtual MAC while it is installed.
                    // `mac_mode` is set only on a master and cleared when it leaves Master,
                    // which the router reports after its priority 0 advert: the resignation
                    // goes out from the virtual MAC too, before the macvlan is removed.
                    let mac = match &g.mac_mode {
                        Some(MacMode::Virtual) => Some(super::status::virtual_mac(vrid)),
                        _ => None,
                    };
                    match t.encode() {
                        Ok(bytes) => {
                            if let Err(e) = self.io.send(port, t.ip.src, mac, &bytes) {
                                tracing::warn!(port = %port, vrid, error = %e, "cannot send a VRRP advertisement");
                            }
                        }
                        Err(e) => {
                            tracing::warn!(port = %port, vrid, error = %e, "cannot encode a VRRP advertisement")
                        }
                    }
                }
                Output::Event(e) => self.event(port, vrid, g, e).await,
            }
        }
    }

    async fn event(&mut self, port: &IfName, vrid: u8, g: &mut Group, event: Event) {
        match event {
            Event::StateChanged { from, to, reason } => {
                tracing::info!(
                    module = "VRRP",
                    severity = 6u8,
                    mnemonic = "VRRP_STATUS_CHANGE",
                    "The status of IPv4 virtual router {vrid} (configured on {port}) changed from {} to {}: {}.",
                    state_text(from),
                    state_text(to),
                    reason_text(reason)
                );
                if to != State::Master {
                    g.mac_mode = None;
                }
            }
            Event::AddVirtualIps { addresses, mac } => {
                match self.io.add_virtual_ips(port, vrid, &addresses, mac).await {
                    Ok(mode) => {
                        if let MacMode::Real { reason } = &mode {
                            tracing::warn!(
                                module = "VRRP",
                                severity = 4u8,
                                mnemonic = "VRRP_VMAC_INEFFECTIVE",
                                "The virtual MAC of virtual router {vrid} (configured on {port}) is not in use, the interface MAC answers instead: {reason}."
                            );
                        }
                        g.mac_mode = Some(mode);
                    }
                    Err(e) => {
                        tracing::warn!(port = %port, vrid, error = %e, "cannot add the virtual IP addresses")
                    }
                }
            }
            Event::RemoveVirtualIps { addresses, .. } => {
                if let Err(e) = self.io.del_virtual_ips(port, vrid, &addresses).await {
                    tracing::warn!(port = %port, vrid, error = %e, "cannot remove the virtual IP addresses");
                }
            }
            Event::GratuitousArp { addresses, mac } => {
                let mac = match &g.mac_mode {
                    Some(MacMode::Real { .. }) => self.macs.get(port).copied().unwrap_or(mac),
                    _ => mac,
                };
                if let Err(e) = self.io.gratuitous_arp(port, &addresses, mac) {
                    tracing::warn!(port = %port, error = %e, "cannot send gratuitous ARP");
                }
                let now = Instant::now();
                for delay in GARP_REPEATS {
                    self.garps.push(GarpRepeat {
                        at: now + delay,
                        port: port.clone(),
                        vrid,
                        addresses: addresses.clone(),
                        mac,
                    });
                }
            }
            Event::AdoptInterval { interval_cs } => {
                tracing::debug!(port = %port, vrid, interval_cs, "adopted the master's advertisement interval");
            }
            Event::PriorityChanged { from, to } => {
                tracing::info!(
                    module = "VRRP",
                    severity = 6u8,
                    mnemonic = "VRRP_PRIORITY_CHANGE",
                    "The running priority of IPv4 virtual router {vrid} (configured on {port}) changed from {from} to {to}."
                );
            }
            Event::PacketRejected { from, reason } => self.log_reject(port, vrid, from, reason),
        }
    }

    /// Log a dropped packet, at most once per (interface, VRID, reason) per
    /// [`REJECT_LOG_PERIOD`], saying how many were dropped silently since.
    fn log_reject(&mut self, port: &IfName, vrid: u8, from: Ipv4Addr, reason: RejectReason) {
        let now = Instant::now();
        let key = (port.clone(), vrid, reason);
        let suppressed = match self.reject_logs.get_mut(&key) {
            Some((last, count)) if now.duration_since(*last) < REJECT_LOG_PERIOD => {
                *count += 1;
                return;
            }
            Some((_, count)) => std::mem::take(count),
            None => 0,
        };
        self.reject_logs.insert(key, (now, 0));
        let more = if suppressed > 0 {
            format!(" ({suppressed} more since the last message)")
        } else {
            String::new()
        };
        tracing::info!(
            module = "VRRP",
            severity = 6u8,
            mnemonic = "VRRP_PACKET_ERROR",
            "The IPv4 virtual router {vrid} (configured on {port}) received an error packet from {from}: {reason}{more}."
        );
    }

    fn publish(&mut self) {
        let now = self.now();
        let instant = Instant::now();
        let groups = self
            .groups
            .iter()
            .map(|(key, g)| {
                let mut status = g.router.status(now);
                let master_down_at = status.become_master_in.take().map(|d| instant + d);
                let published = GroupStatus {
                    interface: key.0.clone(),
                    instance: g.instance,
                    status,
                    statistics: g.router.statistics().clone(),
                    master_down_at,
                    mac_mode: g.mac_mode.clone(),
                };
                (key.clone(), published)
            })
            .collect();
        let new = VrrpStatus {
            groups,
            unknown_vrid: self.unknown_vrid.clone(),
        };
        self.status.send_if_modified(|old| {
            if **old == new {
                false
            } else {
                *old = Arc::new(new);
                true
            }
        });
    }

    /// The device is shutting down: every group resigns (priority 0 from a master) and its
    /// virtual IPs go; the empty status published last tells `Device::shutdown` it is done.
    async fn shutdown(&mut self) {
        for (key, mut g) in std::mem::take(&mut self.groups) {
            g.router.handle_remove();
            let outputs = g.router.drain_outputs();
            self.execute(&key, &mut g, outputs).await;
        }
        for port in std::mem::take(&mut self.open) {
            self.io.close(&port);
        }
        self.publish();
    }
}
