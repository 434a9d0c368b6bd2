//! The demo network: devices A and B on one simulated LAN segment (GigabitEthernet1/0/1)
//! plus a failover link segment (GigabitEthernet1/0/2), configured for one VRRP group and
//! one DHCP pool, with simulated client stations. `duet demo` and the whole-system
//! simulation tests (tests/sim_pair.rs) build the same pair from here.
//!
//! With [`PairOptions::hot_backup`] the devices run hot backup over the failover link: A
//! (192.168.255.1) and B (192.168.255.2) connect through their GigabitEthernet1/0/2 on the
//! link segment (the simulated LAN's connections, [`crate::net::sim::tcp`]), so pulling a
//! link cable really cuts hot backup, and a paused clock drives the whole pair. The
//! hot-backup engine decides who serves: only the VRRP master, with the virtual IP as server
//! identifier, holding every binding of the peer. This is what `duet demo` runs.
//!
//! Without hot backup [`Pair::start`] ties each device's DHCP server to its VRRP role (only the master answers, with the virtual IP as server
//! identifier). Without hot backup the new master knows none of the old master's bindings:
//! it ACKs a renewal of an address that is free in its own table (so clients keep their
//! addresses across a switchover), but it may offer a new client an address the old master
//! gave away. [`PairOptions::split_pool`] closes that hole the way hot backup does during a
//! split brain: each device gives new bindings only from its own half of the pool (A the even
//! offsets, B the odd ones), at the price of NAKing renewals of the other half's addresses
//! it does not know.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;

use super::client::{Client, ClientOptions};
use super::station::Station;
use crate::device::{Device, DeviceOptions, NetKind, StartError};
use crate::dhcp::driver::{DhcpHandle, DriverError};
use crate::dhcp::pool::Half;
use crate::interface::name::IfName;
use crate::net::sim::{Lan, NodeId, PortId, SegmentId};
use crate::session::{Interaction, Role, Session, SessionState};
use crate::vrrp::driver::VrrpStatus;

/// The VRRP group of the demo.
pub const VRID: u8 = 1;
/// The VRRP virtual IP: the clients' gateway and, with hot backup, the DHCP server identifier.
pub const VIRTUAL_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
/// The pool's range (A gives new bindings from even offsets, B from odd ones).
pub const POOL_FIRST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const POOL_LAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 199);

/// The failover-link addresses of A and B (on GigabitEthernet1/0/2, a /30): hot backup's
/// source and peer.
pub const LINK_A: Ipv4Addr = Ipv4Addr::new(192, 168, 255, 1);
pub const LINK_B: Ipv4Addr = Ipv4Addr::new(192, 168, 255, 2);

/// The LAN port of each device.
pub fn lan_port() -> IfName {
    IfName::parse_parts("GigabitEthernet", "1/0/1").expect("valid interface name")
}

/// The failover-link port of each device.
pub fn link_port() -> IfName {
    IfName::parse_parts("GigabitEthernet", "1/0/2").expect("valid interface name")
}

/// Device A (the preferred master) or device B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::A, Side::B];

    pub fn name(self) -> &'static str {
        match self {
            Side::A => "A",
            Side::B => "B",
        }
    }

    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    /// The half of each pool this device gives new bindings from.
    fn half(self) -> Half {
        match self {
            Side::A => Half::Even,
            Side::B => Half::Odd,
        }
    }
}

/// Timers of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairOptions {
    /// The DHCP lease, in seconds (at least 1).
    pub lease_secs: u32,
    /// The VRRP advertisement interval, in centiseconds.
    pub advert_cs: u32,
    /// A's preemption delay, in centiseconds (so it takes back the master role only once
    /// it is settled).
    pub preempt_delay_cs: u32,
    /// New bindings only from each device's own half of the pool (see the module doc);
    /// without hot backup only.
    pub split_pool: bool,
    /// Hot backup over the failover link on this port (`None`: no hot backup).
    pub hot_backup: Option<u16>,
    /// The hot-backup mode (with [`PairOptions::hot_backup`]); false: synchronous.
    pub asynchronous: bool,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            lease_secs: 60,
            advert_cs: 50,
            preempt_delay_cs: 300,
            split_pool: false,
            hot_backup: None,
            asynchronous: false,
        }
    }
}

/// Why the pair could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("device {0}: `{1}` was refused: {2}")]
    Config(&'static str, String, String),
    #[error("device {0}: {1}")]
    Start(&'static str, StartError),
    #[error("device {0}: the DHCP server did not start (see its log buffer)")]
    NoDhcp(&'static str),
    #[error("device {0}: {1}")]
    Dhcp(&'static str, DriverError),
}

/// The configuration of one device, as typed at its console (from user view).
pub fn config_lines(side: Side, opts: &PairOptions) -> Vec<String> {
    let (own, link, priority) = match side {
        Side::A => ("10.0.0.1", LINK_A, 120),
        Side::B => ("10.0.0.2", LINK_B, 100),
    };
    let (m, s) = (opts.lease_secs / 60, opts.lease_secs % 60);
    let mut lines = vec![
        "system-view".to_string(),
        format!("sysname {}", side.name()),
        format!("dhcp server ip-pool lan"),
        "network 10.0.0.0 24".to_string(),
        format!("address range {POOL_FIRST} {POOL_LAST}"),
        format!("gateway-list {VIRTUAL_IP}"),
        format!("expired day 0 hour 0 minute {m} second {s}"),
        "quit".to_string(),
        format!("interface {}", lan_port()),
        format!("ip address {own} 24"),
        format!("vrrp vrid {VRID} virtual-ip {VIRTUAL_IP}"),
        format!("vrrp vrid {VRID} priority {priority}"),
        format!("vrrp vrid {VRID} timer advertise {}", opts.advert_cs),
        "dhcp server apply ip-pool lan".to_string(),
    ];
    if side == Side::A {
        lines.push(format!(
            "vrrp vrid {VRID} preempt-mode delay {}",
            opts.preempt_delay_cs
        ));
    }
    lines.extend([
        "quit".to_string(),
        format!("interface {}", link_port()),
        format!("ip address {link} 30"),
        "quit".to_string(),
    ]);
    if let Some(port) = opts.hot_backup {
        let (source, peer) = match side {
            Side::A => (LINK_A, LINK_B),
            Side::B => (LINK_B, LINK_A),
        };
        let mode = if opts.asynchronous {
            "asynchronous"
        } else {
            "synchronous"
        };
        lines.extend([
            "dhcp server hot-backup".to_string(),
            "hot-backup".to_string(),
            format!("peer {peer} source {source} port {port}"),
            format!("track vrrp vrid {VRID} interface {}", lan_port()),
            format!("backup-mode {mode}"),
            "hot-backup enable".to_string(),
            "quit".to_string(),
        ]);
    }
    lines.push("return".to_string());
    lines
}

/// Answers every confirmation question with end of input (configuration needs none).
struct NoAnswers;

impl Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn configure(device: &Arc<Device>, side: Side, lines: &[String]) -> Result<(), PairError> {
    let mut session = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    for line in lines {
        let o = session.execute(line, &mut NoAnswers);
        if !o.ok {
            return Err(PairError::Config(
                side.name(),
                line.clone(),
                o.output.trim().to_string(),
            ));
        }
    }
    Ok(())
}

/// One running device of the pair.
struct Running {
    device: Arc<Device>,
    /// What ties DHCP to VRRP without hot backup.
    follower: Option<JoinHandle<()>>,
}

/// Two devices and their clients on one simulated LAN.
pub struct Pair {
    pub lan: Lan,
    /// The client LAN (both devices' GigabitEthernet1/0/1 and every station).
    pub lan_segment: SegmentId,
    /// The failover link (both devices' GigabitEthernet1/0/2).
    pub link_segment: SegmentId,
    pub opts: PairOptions,
    nodes: [NodeId; 2],
    dirs: [PathBuf; 2],
    running: [Option<Running>; 2],
    stations: Vec<Station>,
}

impl Pair {
    /// The network, with A's data in `dirs[0]` and B's in `dirs[1]`; no device runs yet.
    pub fn new(dirs: [PathBuf; 2], opts: PairOptions) -> Pair {
        let lan = Lan::new();
        let ports = Device::ports_for(&NetKind::Sim);
        let nodes = [lan.add_node("A", &ports), lan.add_node("B", &ports)];
        let (lan_segment, link_segment) = (lan.segment(), lan.segment());
        for node in nodes {
            for (port, seg) in [(lan_port(), lan_segment), (link_port(), link_segment)] {
                lan.attach(&PortId { node, port }, seg)
                    .expect("the node was added with this port");
            }
        }
        Pair {
            lan,
            lan_segment,
            link_segment,
            opts,
            nodes,
            dirs,
            running: [None, None],
            stations: Vec::new(),
        }
    }

    /// The LAN or link port of a device on the simulated LAN.
    pub fn port(&self, side: Side, port: IfName) -> PortId {
        PortId {
            node: self.nodes[side.index()],
            port,
        }
    }

    /// The running device of that side.
    pub fn device(&self, side: Side) -> Option<&Arc<Device>> {
        self.running[side.index()].as_ref().map(|r| &r.device)
    }

    pub fn data_dir(&self, side: Side) -> &PathBuf {
        &self.dirs[side.index()]
    }

    /// Start (or restart) a device on its data directory: configure it, start its engines on
    /// the LAN, make its DHCP server follow its VRRP role, then enable DHCP.
    pub async fn start(&mut self, side: Side) -> Result<Arc<Device>, PairError> {
        self.crash(side);
        let device = Device::new(DeviceOptions {
            data_dir: self.dirs[side.index()].clone(),
            net: NetKind::Sim,
        });
        configure(&device, side, &config_lines(side, &self.opts))?;
        let rt = tokio::runtime::Handle::current();
        device
            .start_on_lan(&rt, &self.lan, self.nodes[side.index()])
            .map_err(|e| PairError::Start(side.name(), e))?;
        let dhcp = device
            .dhcp
            .get()
            .cloned()
            .ok_or(PairError::NoDhcp(side.name()))?;
        // Silent until VRRP says master; DHCP is enabled only after this took effect, so
        // the server never answers a packet before it knows its role. With hot backup its
        // engine takes it from there.
        let hot_backup = self.opts.hot_backup.is_some();
        let half = (self.opts.split_pool && !hot_backup).then(|| side.half());
        dhcp.call(move |s, _| {
            s.set_serving(false);
            if !hot_backup {
                s.set_server_id(Some(VIRTUAL_IP));
                s.set_half(half);
            }
        })
        .await
        .map_err(|e| PairError::Dhcp(side.name(), e))?;
        configure(&device, side, &["system-view".into(), "dhcp enable".into()])?;
        let follower = (!hot_backup).then(|| {
            tokio::spawn(
                serve_when_master(dhcp, device.vrrp_status.subscribe()).instrument(device.span()),
            )
        });
        self.running[side.index()] = Some(Running {
            device: device.clone(),
            follower,
        });
        Ok(device)
    }

    /// Kill a device at once (no VRRP resignation), as `kill -9` would: its engines stop;
    /// its data directory stays for [`Pair::start`].
    pub fn crash(&mut self, side: Side) {
        if let Some(r) = self.running[side.index()].take() {
            if let Some(f) = r.follower {
                f.abort();
            }
            r.device.stop();
        }
    }

    /// Stop a device gracefully (VRRP master resigns).
    pub async fn shutdown(&mut self, side: Side) {
        if let Some(r) = self.running[side.index()].take() {
            if let Some(f) = r.follower {
                f.abort();
            }
            r.device.shutdown().await;
        }
    }

    /// Add `count` client stations on the client LAN, each a node of its own; their event
    /// times count from `epoch`. Client `i` (from 0) of the pair gets seed `seed + i`.
    pub fn add_clients(&mut self, count: usize, opts: ClientOptions, seed: u64, epoch: Instant) {
        let port = lan_port();
        for _ in 0..count {
            let i = self.stations.len();
            let node = self
                .lan
                .add_node(&format!("client{:02}", i + 1), std::slice::from_ref(&port));
            let id = PortId {
                node,
                port: port.clone(),
            };
            self.lan
                .attach(&id, self.lan_segment)
                .expect("the node was added with this port");
            let mac = self
                .lan
                .port_state(&id)
                .ok()
                .and_then(|s| s.mac)
                .expect("sim ports have a MAC");
            let client = Client::new(mac, seed.wrapping_add(i as u64), opts);
            self.stations
                .push(Station::start(&self.lan, id, client, epoch));
        }
    }

    pub fn stations(&self) -> &[Station] {
        &self.stations
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for side in Side::BOTH {
            self.crash(side);
        }
    }
}

/// Answer DHCP exactly while this device is the VRRP master of the demo group (what the
/// hot-backup engine does once it runs).
async fn serve_when_master(dhcp: DhcpHandle, mut status: watch::Receiver<Arc<VrrpStatus>>) {
    let port = lan_port();
    let mut serving = false;
    loop {
        let master = status.borrow_and_update().is_master(&port, VRID);
        if master != serving {
            if dhcp.set_serving(master).await.is_err() {
                return;
            }
            serving = master;
            tracing::info!(
                module = "DHCPS",
                severity = 5u8,
                mnemonic = "DHCPS_SERVING",
                "The DHCP server {} answering clients (VRRP group {VRID} is {}).",
                if master { "is now" } else { "stopped" },
                if master { "master" } else { "not master" },
            );
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}
