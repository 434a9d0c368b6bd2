//! The simulated network: an in-process LAN of hubs.
//!
//! Ports of one or several devices (nodes) plug into segments. A frame sent from a port is
//! delivered, as bytes, to every other port of its segment whose link is up, provided the
//! sender's link is up too. A port's link is up when it is administratively up, its cable is
//! plugged and it is attached to a segment. Delivery happens synchronously under one lock, in
//! (node, port) order, so a run is deterministic: the same sends give the same receive order.
//! Each port has a stable, locally administered MAC address derived from its node and port
//! numbers. Frames wait in a bounded queue per listener; a full queue drops (and counts) the
//! frame, as a NIC does. A node with forwarding on routes IPv4 frames addressed to its ports
//! between its segments ([`forward`]). Byte-stream connections between the nodes' addresses (the
//! hot-backup failover link) are in [`tcp`].

/// IPv4 forwarding between a node's ports (a router on the simulated LAN).
pub mod forward;
/// Connections (listen, dial, byte streams) over the simulated LAN.
pub mod tcp;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::{IfAddr, NetBackend, NetError, PortState};
use crate::interface::name::{IfKind, IfName};

/// Frames a listener may have waiting before new ones are dropped.
pub const RX_QUEUE: usize = 1024;

/// A neighbour a node's port reaches (see [`Lan::neighbours`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimNeighbour {
    pub ip: std::net::Ipv4Addr,
    pub mac: [u8; 6],
    /// The node's port it is reached through.
    pub port: IfName,
}

/// A device on the LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// A hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u32);

/// One port of one node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId {
    pub node: NodeId,
    pub port: IfName,
}

/// An Ethernet frame as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The port that sent it.
    pub from: PortId,
    pub bytes: Vec<u8>,
}

/// Frame counters of one port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub tx_frames: u64,
    pub rx_frames: u64,
    /// Frames that arrived while every listener's queue was full, or with no listener.
    pub rx_dropped: u64,
}

struct SimPort {
    mac: [u8; 6],
    admin_up: bool,
    cable: bool,
    segment: Option<SegmentId>,
    addresses: Vec<IfAddr>,
    listeners: Vec<mpsc::Sender<Frame>>,
    counters: PortCounters,
}

impl SimPort {
    fn link_up(&self) -> bool {
        self.admin_up && self.cable && self.segment.is_some()
    }
}

struct Node {
    label: String,
    ports: BTreeMap<IfName, SimPort>,
    watchers: Vec<mpsc::UnboundedSender<IfName>>,
    routing: forward::Routing,
}

/// Decides, per frame and receiving port, whether the frame is delivered (fault injection in
/// simulation tests): `(from, to, bytes) -> deliver`.
pub type FrameFilter = Arc<dyn Fn(&PortId, &PortId, &[u8]) -> bool + Send + Sync>;

#[derive(Default)]
struct LanState {
    nodes: Vec<Node>,
    segments: u32,
    filter: Option<FrameFilter>,
    tcp: tcp::TcpState,
    /// Connections and dials waiting for a path to come up, woken at any port change.
    path_wakers: Vec<std::task::Waker>,
}

impl LanState {
    /// Deliver a frame from `from` to the other up ports of its segment; frames a receiving
    /// router forwards are pushed on `forwards` as (outgoing port, frame).
    fn deliver(
        &mut self,
        from: &PortId,
        bytes: &[u8],
        forwards: &mut Vec<(PortId, Vec<u8>)>,
    ) -> Result<usize, NetError> {
        let sender = self.port(from)?;
        if !sender.link_up() {
            return Ok(0);
        }
        sender.counters.tx_frames += 1;
        let segment = sender.segment;
        let filter = self.filter.clone();
        let mut delivered = 0;
        let mut routers = Vec::new();
        for (n, node) in self.nodes.iter_mut().enumerate() {
            for (name, port) in node.ports.iter_mut() {
                let is_sender = n as u32 == from.node.0 && *name == from.port;
                if is_sender || port.segment != segment || !port.link_up() {
                    continue;
                }
                let to = || PortId {
                    node: NodeId(n as u32),
                    port: name.clone(),
                };
                if let Some(f) = &filter
                    && !f(from, &to(), bytes)
                {
                    port.counters.rx_dropped += 1;
                    continue;
                }
                let frame = Frame {
                    from: from.clone(),
                    bytes: bytes.to_vec(),
                };
                port.listeners.retain(|l| !l.is_closed());
                let mut taken = false;
                for l in &port.listeners {
                    taken |= l.try_send(frame.clone()).is_ok();
                }
                if taken {
                    port.counters.rx_frames += 1;
                    delivered += 1;
                }
                if node.routing.enabled {
                    // The node's IP stack takes the frame too; counted below.
                    routers.push((to(), taken));
                } else if !taken {
                    port.counters.rx_dropped += 1;
                }
            }
        }
        for (at, taken) in routers {
            let forwarded = self.wants_to_forward(&at, bytes)
                && self
                    .forward(&at, bytes)
                    .map(|out| forwards.push(out))
                    .is_some();
            if !taken && let Ok(port) = self.port(&at) {
                if forwarded {
                    port.counters.rx_frames += 1;
                } else {
                    port.counters.rx_dropped += 1;
                }
            }
        }
        Ok(delivered)
    }

    fn port(&mut self, id: &PortId) -> Result<&mut SimPort, NetError> {
        self.nodes
            .get_mut(id.node.0 as usize)
            .and_then(|n| n.ports.get_mut(&id.port))
            .ok_or_else(|| NetError::UnknownPort(id.port.to_string()))
    }

    /// Run `change` on a port and tell the node's watchers if its link state moved.
    fn change_port(
        &mut self,
        id: &PortId,
        change: impl FnOnce(&mut SimPort),
    ) -> Result<(), NetError> {
        let port = self.port(id)?;
        let before = port.link_up();
        change(port);
        if port.link_up() != before {
            let node = &mut self.nodes[id.node.0 as usize];
            node.watchers.retain(|w| w.send(id.port.clone()).is_ok());
        }
        for w in self.path_wakers.drain(..) {
            w.wake();
        }
        Ok(())
    }
}

/// The simulated LAN. Cheap to clone; all clones are the same network.
#[derive(Clone, Default)]
pub struct Lan {
    state: Arc<Mutex<LanState>>,
}

impl Lan {
    pub fn new() -> Self {
        Lan::default()
    }

    fn lock(&self) -> MutexGuard<'_, LanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a device with these ports: all administratively up, unplugged.
    pub fn add_node(&self, label: &str, ports: &[IfName]) -> NodeId {
        let mut s = self.lock();
        let node = s.nodes.len() as u32;
        let ports = ports
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let i = i as u16 + 1;
                let [hi, lo] = i.to_be_bytes();
                // 02-xx: locally administered, unicast; node and port make it unique.
                let [n1, n2] = (node as u16).to_be_bytes();
                let mac = [0x02, 0xd0, n1, n2, hi, lo];
                let port = SimPort {
                    mac,
                    admin_up: true,
                    cable: false,
                    segment: None,
                    addresses: Vec::new(),
                    listeners: Vec::new(),
                    counters: PortCounters::default(),
                };
                (name.clone(), port)
            })
            .collect();
        s.nodes.push(Node {
            label: label.to_string(),
            ports,
            watchers: Vec::new(),
            routing: forward::Routing::default(),
        });
        NodeId(node)
    }

    /// Give a node a LoopBack (idempotent): a port of its own that is always up, on a hub
    /// nobody else joins, so its addresses are the node's own and reach no neighbour.
    pub fn add_loopback(&self, node: NodeId, name: &IfName) -> Result<(), NetError> {
        let mut s = self.lock();
        s.segments += 1;
        let segment = SegmentId(s.segments);
        let node_state = s
            .nodes
            .get_mut(node.0 as usize)
            .ok_or_else(|| NetError::UnknownPort(name.to_string()))?;
        node_state.ports.entry(name.clone()).or_insert(SimPort {
            // A loopback has no hardware address worth showing; this one is never sent from.
            mac: [0; 6],
            admin_up: true,
            cable: true,
            segment: Some(segment),
            addresses: Vec::new(),
            listeners: Vec::new(),
            counters: PortCounters::default(),
        });
        Ok(())
    }

    /// The label a node was added with.
    pub fn label(&self, node: NodeId) -> Option<String> {
        self.lock()
            .nodes
            .get(node.0 as usize)
            .map(|n| n.label.clone())
    }

    /// A new, empty hub.
    pub fn segment(&self) -> SegmentId {
        let mut s = self.lock();
        s.segments += 1;
        SegmentId(s.segments)
    }

    /// Plug the port's cable into a segment (moving it from any other).
    pub fn attach(&self, port: &PortId, segment: SegmentId) -> Result<(), NetError> {
        self.lock().change_port(port, |p| {
            p.segment = Some(segment);
            p.cable = true;
        })
    }

    /// Pull (`false`) or plug back (`true`) the port's cable, keeping its segment.
    pub fn set_cable(&self, port: &PortId, plugged: bool) -> Result<(), NetError> {
        self.lock().change_port(port, |p| p.cable = plugged)
    }

    /// Administratively enable or disable a port (`shutdown`).
    pub fn set_admin(&self, port: &PortId, up: bool) -> Result<(), NetError> {
        self.lock().change_port(port, |p| p.admin_up = up)
    }

    pub fn port_state(&self, port: &PortId) -> Result<PortState, NetError> {
        let mut s = self.lock();
        let p = s.port(port)?;
        Ok(PortState {
            linux_name: None,
            mac: Some(p.mac),
            admin_up: p.admin_up,
            link_up: p.link_up(),
            addresses: p.addresses.clone(),
        })
    }

    pub fn add_address(&self, port: &PortId, addr: IfAddr) -> Result<(), NetError> {
        let mut s = self.lock();
        let p = s.port(port)?;
        if !p.addresses.contains(&addr) {
            p.addresses.push(addr);
        }
        Ok(())
    }

    pub fn del_address(&self, port: &PortId, addr: IfAddr) -> Result<(), NetError> {
        let mut s = self.lock();
        s.port(port)?.addresses.retain(|a| *a != addr);
        Ok(())
    }

    /// Receive the frames arriving at a port from now on (each listener gets every frame).
    pub fn listen(&self, port: &PortId) -> Result<mpsc::Receiver<Frame>, NetError> {
        let (tx, rx) = mpsc::channel(RX_QUEUE);
        self.lock().port(port)?.listeners.push(tx);
        Ok(rx)
    }

    /// Send a frame from a port: returns how many ports received it (0 when the sender's
    /// link is down). Frames a router node forwards on ([`forward`]) are delivered before
    /// this returns; they are not in the count.
    pub fn send(&self, from: &PortId, bytes: &[u8]) -> Result<usize, NetError> {
        /// Forwarded frames one send may cause: each hop costs a TTL unit, so this only
        /// bounds a flood of copies, which forwarding (unicast only) never makes.
        const MAX_FORWARDED: usize = 1024;
        let mut s = self.lock();
        let mut forwards = Vec::new();
        let delivered = s.deliver(from, bytes, &mut forwards)?;
        let mut sent = 0;
        while let Some((out, frame)) = forwards.pop() {
            sent += 1;
            if sent > MAX_FORWARDED {
                break;
            }
            s.deliver(&out, &frame, &mut forwards)?;
        }
        Ok(delivered)
    }

    /// Turn IPv4 forwarding on or off on a node (off for a new node, like a host); returns
    /// whether it was on.
    pub fn set_forwarding(&self, node: NodeId, on: bool) -> bool {
        match self.lock().nodes.get_mut(node.0 as usize) {
            Some(n) => std::mem::replace(&mut n.routing.enabled, on),
            None => false,
        }
    }

    /// The routes installed on a node, sorted.
    pub fn routes(&self, node: NodeId) -> Vec<forward::SimRoute> {
        self.lock()
            .nodes
            .get(node.0 as usize)
            .map(|n| n.routing.routes.clone())
            .unwrap_or_default()
    }

    /// Install a route on a node, replacing the one with the same destination, length and
    /// metric (`ip route replace`).
    pub fn replace_route(&self, node: NodeId, route: forward::SimRoute) {
        if let Some(n) = self.lock().nodes.get_mut(node.0 as usize) {
            n.routing.replace(route);
        }
    }

    /// Remove a node's route (absent is success).
    pub fn remove_route(&self, node: NodeId, dest: std::net::Ipv4Addr, len: u8, metric: u32) {
        if let Some(n) = self.lock().nodes.get_mut(node.0 as usize) {
            n.routing.remove(dest, len, metric);
        }
    }

    /// What a node's forwarding did.
    pub fn forward_counters(&self, node: NodeId) -> forward::ForwardCounters {
        self.lock()
            .nodes
            .get(node.0 as usize)
            .map(|n| n.routing.counters)
            .unwrap_or_default()
    }

    /// Is `addr` an address of one of the node's ports?
    pub fn is_local(&self, node: NodeId, addr: std::net::Ipv4Addr) -> bool {
        let s = self.lock();
        s.nodes.get(node.0 as usize).is_some_and(|n| {
            n.ports
                .values()
                .any(|p| p.addresses.iter().any(|(a, _)| *a == addr))
        })
    }

    /// Would an echo request from `node` to `dst` be answered (`ping` on the simulated LAN)?
    /// Yes when `dst` is the node's own address, or when a port of the node whose link is up
    /// has a subnet holding `dst` and another port on its segment, link up, has `dst`. Probes
    /// are not forwarded by the nodes that route (src/net/sim/forward.rs), so nothing beyond
    /// the segment answers.
    pub fn answers_echo(&self, node: NodeId, dst: std::net::Ipv4Addr) -> bool {
        if self.is_local(node, dst) {
            return true;
        }
        !self.neighbours(node).into_iter().all(|n| n.ip != dst)
    }

    /// The other ports the node's ports can reach on their segments, by address: for each port
    /// of the node whose link is up, every port of another node on the same segment, link up,
    /// with an address inside one of the port's subnets. This is what the node's ARP table
    /// would learn (`display arp` on the simulated LAN), in (port, address) order.
    pub fn neighbours(&self, node: NodeId) -> Vec<SimNeighbour> {
        let s = self.lock();
        let Some(me) = s.nodes.get(node.0 as usize) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (name, port) in &me.ports {
            if !port.link_up() {
                continue;
            }
            for (n, other) in s.nodes.iter().enumerate() {
                if n as u32 == node.0 {
                    continue;
                }
                for peer in other.ports.values() {
                    if peer.segment != port.segment || !peer.link_up() {
                        continue;
                    }
                    for (ip, _) in &peer.addresses {
                        let inside = port.addresses.iter().any(|(a, len)| {
                            crate::interface::address::network_of(*a, *len)
                                == crate::interface::address::network_of(*ip, *len)
                        });
                        if inside {
                            found.push(SimNeighbour {
                                ip: *ip,
                                mac: peer.mac,
                                port: name.clone(),
                            });
                        }
                    }
                }
            }
        }
        found.sort_by(|a, b| (&a.port, a.ip).cmp(&(&b.port, b.ip)));
        found.dedup();
        found
    }

    /// Drop the frames `filter` refuses (counted as `rx_dropped` at the receiver), or deliver
    /// everything again with `None`.
    pub fn set_filter(&self, filter: Option<FrameFilter>) {
        self.lock().filter = filter;
    }

    pub fn counters(&self, port: &PortId) -> Result<PortCounters, NetError> {
        Ok(self.lock().port(port)?.counters)
    }

    /// Be told (by port name) whenever the link state of one of the node's ports changes.
    pub fn watch(&self, node: NodeId) -> mpsc::UnboundedReceiver<IfName> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(n) = self.lock().nodes.get_mut(node.0 as usize) {
            n.watchers.push(tx);
        }
        rx
    }

    /// The backend through which a device's engines use its node.
    pub fn backend(&self, node: NodeId) -> SimBackend {
        SimBackend {
            changes: self.watch(node),
            lan: self.clone(),
            node,
        }
    }
}

/// One node's view of the LAN, driven by the interface engine.
pub struct SimBackend {
    lan: Lan,
    node: NodeId,
    changes: mpsc::UnboundedReceiver<IfName>,
}

impl SimBackend {
    fn id(&self, port: &IfName) -> PortId {
        PortId {
            node: self.node,
            port: port.clone(),
        }
    }

    /// The port, after creating it if it is a LoopBack the configuration made (the interface
    /// engine asks for those only once `interface LoopBackN` created them).
    fn port(&self, port: &IfName) -> Result<PortId, NetError> {
        if port.kind == IfKind::LoopBack {
            self.lan.add_loopback(self.node, port)?;
        }
        Ok(self.id(port))
    }
}

impl NetBackend for SimBackend {
    async fn port_state(&mut self, port: &IfName) -> Result<PortState, NetError> {
        self.lan.port_state(&self.port(port)?)
    }
    async fn set_admin(&mut self, port: &IfName, up: bool) -> Result<(), NetError> {
        self.lan.set_admin(&self.port(port)?, up)
    }
    async fn add_address(&mut self, port: &IfName, addr: IfAddr) -> Result<(), NetError> {
        self.lan.add_address(&self.port(port)?, addr)
    }
    async fn del_address(&mut self, port: &IfName, addr: IfAddr) -> Result<(), NetError> {
        self.lan.del_address(&self.id(port), addr)
    }
    async fn changed(&mut self) -> Option<IfName> {
        match self.changes.recv().await {
            Some(port) => Some(port),
            // The LAN keeps the sender while it lives, and this backend holds the LAN.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    /// Two nodes, A and B, with their first ports on one hub.
    fn pair() -> (Lan, PortId, PortId) {
        let lan = Lan::new();
        let a = lan.add_node("A", &[ge(1), ge(2)]);
        let b = lan.add_node("B", &[ge(1), ge(2)]);
        let seg = lan.segment();
        let pa = PortId {
            node: a,
            port: ge(1),
        };
        let pb = PortId {
            node: b,
            port: ge(1),
        };
        lan.attach(&pa, seg).unwrap();
        lan.attach(&pb, seg).unwrap();
        (lan, pa, pb)
    }

    #[test]
    fn frames_reach_the_other_ports_of_the_segment_in_order() {
        let (lan, pa, pb) = pair();
        let c = PortId {
            node: NodeId(1),
            port: ge(2),
        };
        let mut rb = lan.listen(&pb).unwrap();
        let mut rc = lan.listen(&c).unwrap();
        let mut ra = lan.listen(&pa).unwrap();
        for i in 0..3u8 {
            assert_eq!(lan.send(&pa, &[i]).unwrap(), 1);
        }
        for i in 0..3u8 {
            let f = rb.try_recv().unwrap();
            assert_eq!((f.from.clone(), f.bytes), (pa.clone(), vec![i]));
        }
        assert!(rc.try_recv().is_err(), "unplugged port hears nothing");
        assert!(ra.try_recv().is_err(), "the sender does not hear itself");
        assert_eq!(lan.counters(&pa).unwrap().tx_frames, 3);
        assert_eq!(lan.counters(&pb).unwrap().rx_frames, 3);
    }

    #[test]
    fn link_down_stops_delivery_both_ways() {
        let (lan, pa, pb) = pair();
        let mut rb = lan.listen(&pb).unwrap();
        let mut ra = lan.listen(&pa).unwrap();
        lan.set_cable(&pb, false).unwrap();
        assert!(!lan.port_state(&pb).unwrap().link_up);
        assert_eq!(lan.send(&pa, b"x").unwrap(), 0);
        assert_eq!(lan.send(&pb, b"y").unwrap(), 0);
        lan.set_cable(&pb, true).unwrap();
        lan.set_admin(&pa, false).unwrap();
        assert_eq!(lan.send(&pa, b"x").unwrap(), 0);
        assert_eq!(lan.send(&pb, b"y").unwrap(), 0);
        assert!(rb.try_recv().is_err() && ra.try_recv().is_err());
        lan.set_admin(&pa, true).unwrap();
        assert_eq!(lan.send(&pb, b"z").unwrap(), 1);
        assert_eq!(ra.try_recv().unwrap().bytes, b"z");
    }

    #[test]
    fn link_changes_are_announced_to_the_node() {
        let (lan, pa, _pb) = pair();
        let mut w = lan.watch(pa.node);
        lan.set_admin(&pa, false).unwrap();
        lan.set_admin(&pa, false).unwrap(); // no change, no event
        lan.set_cable(&pa, false).unwrap(); // admin down already: link stays down
        lan.set_admin(&pa, true).unwrap(); // cable out: still down
        lan.set_cable(&pa, true).unwrap();
        assert_eq!(w.try_recv().unwrap(), ge(1));
        assert_eq!(w.try_recv().unwrap(), ge(1));
        assert!(w.try_recv().is_err());
    }

    /// Three nodes on one hub and a fourth on another: every send reaches exactly the
    /// other up ports of its own hub, and two identical runs see identical traffic.
    #[test]
    fn delivery_is_per_segment_and_deterministic() {
        /// Per receiving node: (sending node, bytes) in arrival order.
        type Heard = Vec<(u32, Vec<(u32, Vec<u8>)>)>;
        fn run() -> Heard {
            let lan = Lan::new();
            let nodes: Vec<NodeId> = (0..4)
                .map(|n| lan.add_node(&format!("N{n}"), &[ge(1)]))
                .collect();
            let (hub, other) = (lan.segment(), lan.segment());
            let ports: Vec<PortId> = nodes
                .iter()
                .map(|&node| PortId { node, port: ge(1) })
                .collect();
            for (i, p) in ports.iter().enumerate() {
                lan.attach(p, if i < 3 { hub } else { other }).unwrap();
            }
            let mut rx: Vec<_> = ports.iter().map(|p| lan.listen(p).unwrap()).collect();
            let sends = [(0usize, 1u8), (2, 2), (1, 3), (3, 4), (0, 5)];
            let counts: Vec<usize> = sends
                .iter()
                .map(|&(i, b)| lan.send(&ports[i], &[b]).unwrap())
                .collect();
            assert_eq!(counts, [2, 2, 2, 0, 2]);
            rx.iter_mut()
                .enumerate()
                .map(|(i, r)| {
                    let mut got = Vec::new();
                    while let Ok(f) = r.try_recv() {
                        got.push((f.from.node.0, f.bytes));
                    }
                    (i as u32, got)
                })
                .collect()
        }
        let first = run();
        assert_eq!(first[0].1, [(2, vec![2]), (1, vec![3])]);
        assert_eq!(first[1].1, [(0, vec![1]), (2, vec![2]), (0, vec![5])]);
        assert_eq!(first[3].1, []);
        assert_eq!(first, run());
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let (lan, pa, pb) = pair();
        let _rb = lan.listen(&pb).unwrap();
        for _ in 0..RX_QUEUE + 5 {
            lan.send(&pa, b"f").unwrap();
        }
        let c = lan.counters(&pb).unwrap();
        assert_eq!((c.rx_frames, c.rx_dropped), (RX_QUEUE as u64, 5));
    }

    #[test]
    fn a_filter_drops_chosen_frames_and_counts_them() {
        let (lan, pa, pb) = pair();
        let mut rb = lan.listen(&pb).unwrap();
        lan.set_filter(Some(Arc::new(|_, _, bytes: &[u8]| bytes != b"drop")));
        assert_eq!(lan.send(&pa, b"drop").unwrap(), 0);
        assert_eq!(lan.send(&pa, b"keep").unwrap(), 1);
        lan.set_filter(None);
        assert_eq!(lan.send(&pa, b"drop").unwrap(), 1);
        assert_eq!(rb.try_recv().unwrap().bytes, b"keep");
        assert_eq!(rb.try_recv().unwrap().bytes, b"drop");
        assert_eq!(lan.counters(&pb).unwrap().rx_dropped, 1);
    }

    #[test]
    fn macs_are_distinct_and_addresses_kept() {
        let (lan, pa, pb) = pair();
        let ma = lan.port_state(&pa).unwrap().mac;
        assert_ne!(ma, lan.port_state(&pb).unwrap().mac);
        assert_eq!(ma.unwrap()[0] & 0x03, 0x02, "locally administered unicast");
        let a = ("10.0.0.1".parse().unwrap(), 24);
        lan.add_address(&pa, a).unwrap();
        lan.add_address(&pa, a).unwrap();
        assert_eq!(lan.port_state(&pa).unwrap().addresses, vec![a]);
        lan.del_address(&pa, a).unwrap();
        assert!(lan.port_state(&pa).unwrap().addresses.is_empty());
        assert!(matches!(
            lan.port_state(&PortId {
                node: NodeId(7),
                port: ge(1)
            }),
            Err(NetError::UnknownPort(_))
        ));
    }
}
