//! A Device: the configuration owner, the engines and the sessions, and the wiring between them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::ConfigStore;
use crate::dhcp::driver::DhcpHandle;
use crate::features::{Config, Network};
use crate::hotbackup::driver::HotBackupHandle;
use crate::infocenter::loghost::LoghostSender;
use crate::infocenter::output::deliver;
use crate::infocenter::{LogBuffer, LogEntry, route};
use crate::interface::name::IfName;
use crate::interface::status::{self, IfStatus, StatusSender};
use crate::net::ledger::Ledger;
use crate::net::linux::LinuxBackend;
use crate::net::sim::{Lan, NodeId, PortId};
use crate::net::{NetBackend, NetError};
use crate::vrrp::driver::{VrrpStatus, VrrpStatusSender};
use crate::vrrp::status::Statistics;

/// The context every handler of this crate gets: this device and a session's state.
pub type Ctx<'a> = crate::cli::handler::Ctx<'a, Device, crate::session::SessionState>;
/// Handler name -> function, for this device's handlers (built by `Registry::all`, in `crate::features`).
pub type Registry = crate::cli::handler::Registry<Device, crate::session::SessionState>;
/// A handler of this crate.
pub type Handler = crate::cli::handler::Handler<Device, crate::session::SessionState>;

/// How long a display waits for the interface engine to apply the last command.
pub const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Which network a device runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetKind {
    /// The in-process simulated LAN (no root needed).
    Sim,
    /// Real Linux interfaces, each vendor-style port mapped onto a Linux interface name.
    Linux { ports: Vec<(IfName, String)> },
}

/// How to start a device.
#[derive(Clone, Debug)]
pub struct DeviceOptions {
    pub data_dir: PathBuf,
    pub net: NetKind,
}

/// Why a device's engines did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("the device is already started")]
    AlreadyStarted,
    #[error(transparent)]
    Net(#[from] NetError),
}

/// One network device.
pub struct Device {
    pub options: DeviceOptions,
    /// The ports this device has, in Comware order (sorted: [`Device::has_port`] relies on it).
    pub ports: Vec<IfName>,
    pub config: ConfigStore<Config>,
    pub logs: Arc<LogBuffer>,
    /// The queue and sender thread to the `info-center loghost`s.
    pub loghost: LoghostSender,
    pub handlers: Registry,
    pub started: SystemTime,
    /// The file the running configuration was loaded from at start-up, as `display startup`
    /// names it (`flash:/startup.cfg`); `None` when the device started without one. Set from
    /// the data directory by [`Device::new`]; start-up replaces it when `--config` names
    /// another file or loading fails.
    pub current_startup: Mutex<Option<String>>,
    /// Every port's status as the interface engine last saw it (displays borrow it).
    pub if_status: StatusSender,
    /// The configuration snapshot the interface engine last applied (`None` before it ran).
    pub if_applied: watch::Sender<Option<Arc<Config>>>,
    /// The configuration snapshot the VRRP driver last reconciled (see `settled_vrrp`).
    pub vrrp_applied: watch::Sender<Option<Arc<Config>>>,
    /// Every VRRP group's role and status as the VRRP driver last published it (displays,
    /// and the engines that follow the master role, subscribe here).
    pub vrrp_status: VrrpStatusSender,
    /// Every track entry's state as the track engine last published it (the VRRP driver
    /// follows it; `display track` reads it).
    pub track_states: crate::track::TrackStatesSender,
    /// `reset vrrp statistics`: the counters of each group (by instance) at the last reset;
    /// displays show the published counters minus these.
    pub vrrp_baseline: Mutex<BTreeMap<(IfName, u8), (u64, Statistics)>>,
    /// The simulated LAN and this device's node on it, once started on the sim backend.
    pub sim: OnceLock<(Lan, NodeId)>,
    /// The DHCP engine, once started (displays query it; hot backup steers it).
    pub dhcp: OnceLock<DhcpHandle>,
    /// Logged-in sessions, vty lines and SSH login tokens.
    pub sessions: crate::session::table::Sessions,
    /// The hot-backup engine, once started (displays read its report).
    pub hotbackup: OnceLock<HotBackupHandle>,
    /// The portal engine, once started (displays and `portal delete-user` query it).
    pub portal: OnceLock<crate::portal::driver::PortalHandle>,
    /// This device's id for log routing (see [`Device::span`]).
    log_id: u64,
    /// The engines' tasks, aborted by [`Device::stop`] and on drop.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The VRRP group hot backup keeps from preempting (set by the hot-backup engine).
    pub preempt_hold: watch::Sender<Option<(IfName, u8)>>,
    /// Tells the VRRP driver to resign and clean up ([`Device::shutdown`]).
    pub(crate) vrrp_stop: Mutex<Option<oneshot::Sender<()>>>,
    /// What this device added to the kernel (Linux backend), recorded before each creation so
    /// `duet cleanup` can remove it after a crash (`net::ledger`); in memory on the sim.
    pub kernel: Arc<Ledger>,
    /// The engines' heartbeats, which the systemd watchdog follows (`health`).
    pub health: Arc<crate::health::Health>,
    /// Engines that undo their changes to the network when the device shuts down (the route
    /// driver's routes): each is sent a sender to answer on once it is done.
    cleanups: Mutex<Vec<oneshot::Sender<oneshot::Sender<()>>>>,
}

impl Device {
    pub fn ports_for(net: &NetKind) -> Vec<IfName> {
        let mut ports: Vec<IfName> = match net {
            NetKind::Sim => (1..=4)
                .map(|n| {
                    IfName::parse_parts("GigabitEthernet", &format!("1/0/{n}")).expect("valid")
                })
                .collect(),
            NetKind::Linux { ports } => ports.iter().map(|(n, _)| n.clone()).collect(),
        };
        ports.sort();
        ports
    }

    /// A device with its configuration and log buffer; no engine runs until [`Device::start`]
    /// (so tests can use a device without a runtime).
    pub fn new(options: DeviceOptions) -> Arc<Device> {
        let ports = Self::ports_for(&options.net);
        let next = crate::config::startup::next_startup(&options.data_dir);
        let current_startup = next
            .path(&options.data_dir)
            .exists()
            .then(|| next.to_string());
        let kernel = match options.net {
            NetKind::Sim => Ledger::in_memory(),
            NetKind::Linux { .. } => {
                let (ledger, errors) = Ledger::open(&options.data_dir);
                for e in errors {
                    tracing::warn!("{e}");
                }
                ledger
            }
        };
        Arc::new_cyclic(|weak| Device {
            config: ConfigStore::new(Config::new(&ports)),
            if_status: watch::Sender::new(Arc::new(status::initial(&ports))),
            if_applied: watch::Sender::new(None),
            vrrp_applied: watch::Sender::new(None),
            vrrp_status: watch::Sender::new(Arc::new(VrrpStatus::default())),
            track_states: watch::Sender::new(Arc::default()),
            vrrp_baseline: Mutex::new(BTreeMap::new()),
            ports,
            options,
            logs: Arc::new(LogBuffer::default()),
            loghost: LoghostSender::default(),
            handlers: Registry::all(),
            started: SystemTime::now(),
            current_startup: Mutex::new(current_startup),
            sim: OnceLock::new(),
            dhcp: OnceLock::new(),
            sessions: Default::default(),
            hotbackup: OnceLock::new(),
            portal: OnceLock::new(),
            preempt_hold: watch::Sender::new(None),
            log_id: route::register(weak.clone()),
            tasks: Mutex::new(Vec::new()),
            vrrp_stop: Mutex::new(None),
            kernel: Arc::new(kernel),
            health: Arc::default(),
            cleanups: Mutex::new(Vec::new()),
        })
    }

    pub fn sysname(&self) -> String {
        self.config.lock().sysname.clone()
    }

    /// Record a Comware-style log line (`SHELL`, 5, `SHELL_CMD`, "...") in this device's log
    /// buffer, log hosts and the journal, as `info-center` says (`infocenter::output`). Also
    /// written to the operator log.
    pub fn log(&self, module: &str, severity: u8, mnemonic: &str, message: &str) {
        let sysname = self.sysname();
        let entry = LogEntry::now(&sysname, module, severity, mnemonic, message);
        let cfg = self.config.snapshot();
        deliver(&self.logs, &self.loghost, &cfg.infocenter, entry);
        // No Comware fields here: the entry is already in the buffer.
        tracing::info!(target: "duet::infocenter", "{sysname} {module}/{severity}/{mnemonic}: {message}");
    }

    /// The span that routes this device's Comware events to its log buffer: its engine tasks
    /// run in it, and session threads enter it (`let _g = device.span().entered();`).
    pub fn span(&self) -> tracing::Span {
        route::device_span(self.log_id)
    }

    /// Does the device have this port? (`ports` is sorted: a binary search, so commands that
    /// check their port stay cheap on a device with thousands of them.)
    pub fn has_port(&self, name: &IfName) -> bool {
        self.ports.binary_search(name).is_ok()
    }

    /// The current status of every port.
    pub fn interfaces(&self) -> Arc<IfStatus> {
        self.if_status.borrow().clone()
    }

    /// The status of every port once the interface engine has applied the last published
    /// configuration, so `shutdown` followed by `display interface brief` shows the port
    /// down as on Comware. A slow engine makes this display wait at most
    /// [`SETTLE_LIMIT`], then it shows what is known; a device whose engines do not run
    /// answers at once.
    pub fn settled_interfaces(&self) -> Arc<IfStatus> {
        self.wait_applied(&self.if_applied);
        self.interfaces()
    }

    /// Every VRRP group's status once the VRRP driver has applied the last published
    /// configuration (`undo vrrp vrid 1` then `display vrrp` no longer shows the group), with
    /// the same bounded wait as [`Device::settled_interfaces`].
    pub fn settled_vrrp(&self) -> Arc<crate::vrrp::driver::VrrpStatus> {
        self.wait_applied(&self.vrrp_applied);
        self.vrrp_status.borrow().clone()
    }

    /// Wait (at most [`SETTLE_LIMIT`]) until an engine reports that it applied the current
    /// configuration snapshot; a device whose engines do not run answers at once. Called from
    /// session threads only, never from the runtime.
    fn wait_applied(&self, applied: &watch::Sender<Option<Arc<Config>>>) {
        if !self.is_started() {
            return;
        }
        let target = self.config.snapshot();
        let deadline = std::time::Instant::now() + SETTLE_LIMIT;
        while !applied
            .borrow()
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(a, &target))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Start the engines (once per device) on the network of `options.net`. On `Sim` the device gets a LAN of
    /// its own where every port is plugged into a hub of its own (links up, no neighbours);
    /// use [`Device::start_on_lan`] to put several devices on one LAN. On `Linux` the
    /// netlink sockets are opened in the network namespace of the calling thread.
    pub fn start(self: &Arc<Self>, rt: &Handle) -> Result<(), StartError> {
        match &self.options.net {
            NetKind::Sim => {
                let lan = Lan::new();
                let node = lan.add_node(&self.sysname(), &self.ports);
                for port in &self.ports {
                    let seg = lan.segment();
                    lan.attach(
                        &PortId {
                            node,
                            port: port.clone(),
                        },
                        seg,
                    )?;
                }
                self.start_on_lan(rt, &lan, node)
            }
            NetKind::Linux { ports } => {
                if self.is_started() {
                    return Err(StartError::AlreadyStarted);
                }
                let backend = {
                    let _enter = rt.enter();
                    LinuxBackend::new(ports)?
                };
                self.start_with(rt, backend)?;
                self.start_features(rt, &Network::Linux(ports))
            }
        }
    }

    /// Start the engines on a shared simulated LAN, as `node` (added with this device's ports).
    pub fn start_on_lan(
        self: &Arc<Self>,
        rt: &Handle,
        lan: &Lan,
        node: NodeId,
    ) -> Result<(), StartError> {
        if self.sim.set((lan.clone(), node)).is_err() {
            return Err(StartError::AlreadyStarted);
        }
        self.start_with(rt, lan.backend(node))?;
        self.start_features(rt, &Network::Sim(lan, node))
    }

    /// Start every feature's engine, in the order of the feature list, once the interface
    /// engine runs. If one cannot start, the device stops what it started.
    fn start_features(self: &Arc<Self>, rt: &Handle, net: &Network<'_>) -> Result<(), StartError> {
        for feature in crate::features::ALL {
            if let Some(start) = feature.start
                && let Err(e) = start(self, rt, net)
            {
                self.stop();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Run an engine's task on `rt` in this device's span, aborted by [`Device::stop`].
    pub(crate) fn spawn(
        &self,
        rt: &Handle,
        engine: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let task = rt.spawn(engine.instrument(self.span()));
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Start the interface engine on any backend (VRRP needs a backend's VRRP I/O as well:
    /// [`Device::start`] and [`Device::start_on_lan`] start both).
    pub fn start_with<B: NetBackend>(
        self: &Arc<Self>,
        rt: &Handle,
        backend: B,
    ) -> Result<(), StartError> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if !tasks.is_empty() {
            return Err(StartError::AlreadyStarted);
        }
        let engine = crate::interface::engine::run(
            backend,
            self.config.subscribe(),
            self.if_status.clone(),
            self.if_applied.clone(),
            self.cleanup_on_shutdown(),
        );
        tasks.push(rt.spawn(engine.instrument(self.span())));
        Ok(())
    }

    fn is_started(&self) -> bool {
        !self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// A receiver that [`Device::shutdown`] sends a sender on, for an engine that must undo
    /// its changes to the network before the engines stop; the engine answers on that sender
    /// when it is done (the shutdown waits at most a second).
    pub(crate) fn cleanup_on_shutdown(&self) -> oneshot::Receiver<oneshot::Sender<()>> {
        let (tx, rx) = oneshot::channel();
        self.cleanups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Stop gracefully (SIGTERM): every VRRP master resigns with a priority 0 advert and its
    /// virtual IPs and MAC are removed, the engines registered with
    /// [`Device::cleanup_on_shutdown`] undo their changes (Duet's routes; each step waiting at
    /// most a second), then the engines stop.
    pub async fn shutdown(&self) {
        let cleanups: Vec<_> = self
            .cleanups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        let mut done = Vec::new();
        for cleanup in cleanups {
            let (tx, rx) = oneshot::channel();
            if cleanup.send(tx).is_ok() {
                done.push(rx);
            }
        }
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            futures::future::join_all(done),
        )
        .await;
        let stop = self
            .vrrp_stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(stop) = stop
            && stop.send(()).is_ok()
        {
            let mut status = self.vrrp_status.subscribe();
            // The driver publishes an empty status once it has resigned and cleaned up.
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                status.wait_for(|s| s.groups.is_empty()),
            )
            .await;
        }
        // Portal removes its firewall table (nothing of Duet's stays on the host).
        if let Some(portal) = self.portal.get() {
            portal.stop().await;
        }
        self.stop();
    }

    /// Stop the engines at once (the configuration and logs stay).
    pub fn stop(&self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stop();
        route::unregister(self.log_id);
    }
}

/// Helpers for unit tests that need a device and a session.
#[cfg(test)]
pub mod testing {
    use std::sync::Arc;

    use super::{Device, DeviceOptions, NetKind};
    use crate::session::Interaction;

    /// Answers every question with end of input.
    pub struct TestIo;

    impl Interaction for TestIo {
        fn ask(&mut self, _prompt: &str) -> Option<String> {
            None
        }
    }

    /// A sim device in a fresh data directory (kept alive by the returned guard).
    pub fn test_device() -> (tempfile::TempDir, Arc<Device>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let device = Device::new(DeviceOptions {
            data_dir: dir.path().to_path_buf(),
            net: NetKind::Sim,
        });
        (dir, device)
    }

    /// A network-admin console session (user view) on a fresh [`test_device`].
    pub fn admin_session() -> (tempfile::TempDir, crate::session::Session) {
        use crate::session::{Role, Session, SessionState};
        let (dir, device) = test_device();
        let state = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
        (dir, Session::new(device, state))
    }
}
