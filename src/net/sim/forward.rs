//! IPv4 forwarding on the simulated LAN: the part of a kernel that routes between a node's
//! ports, so a device with forwarding on carries hosts' packets from one segment to another
//! as a Linux namespace with `ip_forward=1` does.
//!
//! A frame is forwarded by the node whose port receives it when all of these hold (the
//! rules a router applies, RFC 1812 §5.2 and §5.3.1):
//! - the node has forwarding on ([`super::Lan::set_forwarding`]);
//! - the frame is addressed to the receiving port's MAC (on a hub every port hears every
//!   frame: only the router the sender chose forwards it), carries IPv4 with a sane header,
//!   and its destination is unicast and not an address of the node (those are the node's own);
//! - a route leads to the destination: the subnet of one of the node's up ports (the longest
//!   match), or a route the driver installed ([`SimRoute`]; longest prefix, then lowest
//!   metric; connected subnets win a tie, as their metric is 0);
//! - the TTL is above 1 (it leaves decremented, with the header checksum updated);
//! - a port on the outgoing segment holds the next hop's address: the LAN knows every
//!   port's addresses, so it resolves the MAC itself where a kernel would send an ARP request.
//!
//! A frame that cannot be forwarded is counted in the node's [`ForwardCounters`] and dropped.
//! Forwarded frames are sent from the outgoing port like any other, inside the same locked
//! delivery (so a run stays deterministic); each hop decrements the TTL, which bounds a loop.

use std::net::Ipv4Addr;

use super::{LanState, NodeId, PortId};
use crate::interface::name::IfName;
use crate::net::IfAddr;

/// A route installed on a simulated node, the analogue of a kernel route: a destination,
/// its metric, and its next hops with the port each leaves by (several: equal-cost multipath,
/// the first one that is up is used).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimRoute {
    pub dest: Ipv4Addr,
    pub len: u8,
    pub metric: u32,
    pub next_hops: Vec<(Ipv4Addr, IfName)>,
}

/// What a node's forwarding did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardCounters {
    pub forwarded: u64,
    /// No route to the destination.
    pub no_route: u64,
    /// The TTL ran out.
    pub ttl_exceeded: u64,
    /// No port on the next hop's segment holds its address (a failed ARP).
    pub unresolved: u64,
}

/// A node's forwarding state.
#[derive(Clone, Debug, Default)]
pub(super) struct Routing {
    pub(super) enabled: bool,
    /// Sorted by destination, length and metric; one route per such triple.
    pub(super) routes: Vec<SimRoute>,
    pub(super) counters: ForwardCounters,
}

impl Routing {
    /// Add a route, replacing the one with the same destination, length and metric.
    pub(super) fn replace(&mut self, route: SimRoute) {
        self.remove(route.dest, route.len, route.metric);
        self.routes.push(route);
        self.routes.sort();
    }

    pub(super) fn remove(&mut self, dest: Ipv4Addr, len: u8, metric: u32) {
        self.routes
            .retain(|r| (r.dest, r.len, r.metric) != (dest, len, metric));
    }
}

const ETHERNET: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// The destination MAC, IPv4 destination and TTL of an Ethernet frame carrying IPv4 with a
/// valid header length, or `None`.
fn ipv4_of(frame: &[u8]) -> Option<([u8; 6], Ipv4Addr, u8)> {
    if frame.len() < ETHERNET + 20 || frame[12..14] != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &frame[ETHERNET..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl {
        return None;
    }
    let dst_mac = frame[0..6].try_into().ok()?;
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    Some((dst_mac, dst, ip[8]))
}

/// The frame as it leaves the router: new MACs, TTL one less, header checksum recomputed
/// (RFC 1071).
fn rewrite(frame: &[u8], src_mac: [u8; 6], dst_mac: [u8; 6]) -> Vec<u8> {
    let mut out = frame.to_vec();
    out[0..6].copy_from_slice(&dst_mac);
    out[6..12].copy_from_slice(&src_mac);
    let ihl = usize::from(out[ETHERNET] & 0x0f) * 4;
    out[ETHERNET + 8] -= 1;
    out[ETHERNET + 10..ETHERNET + 12].copy_from_slice(&[0, 0]);
    let header = &out[ETHERNET..ETHERNET + ihl];
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    out[ETHERNET + 10..ETHERNET + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    out
}

fn contains(net: Ipv4Addr, len: u8, a: Ipv4Addr) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(net) & mask == u32::from(a) & mask
}

impl LanState {
    /// Whether the frame `at` received is one its node forwards (see the module's rules
    /// before the route lookup).
    pub(super) fn wants_to_forward(&self, at: &PortId, frame: &[u8]) -> bool {
        let Some(node) = self.nodes.get(at.node.0 as usize) else {
            return false;
        };
        let Some(port) = node.ports.get(&at.port) else {
            return false;
        };
        let Some((dst_mac, dst, _)) = ipv4_of(frame) else {
            return false;
        };
        node.routing.enabled
            && dst_mac == port.mac
            && dst.octets()[0] != 0
            && dst.octets()[0] < 224
            && !node
                .ports
                .values()
                .any(|p| p.addresses.iter().any(|(a, _)| *a == dst))
    }

    /// Route a frame the node of `at` wants to forward: the outgoing port and the rewritten
    /// frame, or `None` (counted) when it is dropped.
    pub(super) fn forward(&mut self, at: &PortId, frame: &[u8]) -> Option<(PortId, Vec<u8>)> {
        let node_id = at.node;
        let result = self.route(node_id, frame);
        let counters = &mut self.nodes[node_id.0 as usize].routing.counters;
        match result {
            Ok(out) => {
                counters.forwarded += 1;
                Some(out)
            }
            Err(Dropped::NoRoute) => {
                counters.no_route += 1;
                None
            }
            Err(Dropped::Ttl) => {
                counters.ttl_exceeded += 1;
                None
            }
            Err(Dropped::Unresolved) => {
                counters.unresolved += 1;
                None
            }
        }
    }

    fn route(&self, node_id: NodeId, frame: &[u8]) -> Result<(PortId, Vec<u8>), Dropped> {
        let node = &self.nodes[node_id.0 as usize];
        let (_, dst, ttl) = ipv4_of(frame).ok_or(Dropped::NoRoute)?;
        if ttl <= 1 {
            return Err(Dropped::Ttl);
        }
        // (prefix length, metric, port, next hop); connected subnets first, so they win a tie.
        let mut candidates: Vec<(u8, u32, IfName, Ipv4Addr)> = Vec::new();
        for (name, p) in node.ports.iter().filter(|(_, p)| p.link_up()) {
            for &(addr, len) in &p.addresses {
                if contains(addr, len, dst) {
                    candidates.push((len, 0, name.clone(), dst));
                }
            }
        }
        for r in node
            .routing
            .routes
            .iter()
            .filter(|r| contains(r.dest, r.len, dst))
        {
            let up = r
                .next_hops
                .iter()
                .find(|(_, port)| node.ports.get(port).is_some_and(|p| p.link_up()));
            if let Some((hop, port)) = up {
                candidates.push((r.len, r.metric, port.clone(), *hop));
            }
        }
        // The longest prefix, then the lowest metric.
        let (_, _, port, hop) = candidates
            .into_iter()
            .min_by_key(|(len, metric, _, _)| (std::cmp::Reverse(*len), *metric))
            .ok_or(Dropped::NoRoute)?;
        let out = &node.ports[&port];
        let segment = out.segment;
        let out_id = PortId {
            node: node_id,
            port,
        };
        let neighbour = self.nodes.iter().enumerate().find_map(|(n, other)| {
            other.ports.iter().find_map(|(name, p)| {
                let is_out = n as u32 == node_id.0 && *name == out_id.port;
                let holds = p.addresses.iter().any(|&(a, _): &IfAddr| a == hop);
                (!is_out && p.segment == segment && p.link_up() && holds).then_some(p.mac)
            })
        });
        let dst_mac = neighbour.ok_or(Dropped::Unresolved)?;
        Ok((out_id, rewrite(frame, out.mac, dst_mac)))
    }
}

/// Why a frame was not forwarded.
enum Dropped {
    NoRoute,
    Ttl,
    Unresolved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_decrements_the_ttl_and_keeps_the_checksum_valid() {
        // An IPv4 header (RFC 1071's example values are not needed: check the sum is 0xffff).
        let mut frame = vec![0u8; ETHERNET];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        frame.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 1, 0, 2, 10, 2, 0, 2,
        ]);
        frame.extend_from_slice(&[0; 8]);
        let out = rewrite(&frame, [2; 6], [4; 6]);
        assert_eq!(out[ETHERNET + 8], 63);
        assert_eq!((&out[0..6], &out[6..12]), (&[4u8; 6][..], &[2u8; 6][..]));
        let sum: u32 = out[ETHERNET..ETHERNET + 20]
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!(folded, 0xffff);
        assert_eq!(
            ipv4_of(&out).map(|(_, d, t)| (d, t)),
            Some(("10.2.0.2".parse().unwrap(), 63))
        );
    }

    #[test]
    fn prefixes_match_by_their_length() {
        let net: Ipv4Addr = "10.2.0.0".parse().unwrap();
        assert!(contains(net, 16, "10.2.200.1".parse().unwrap()));
        assert!(!contains(net, 24, "10.2.1.1".parse().unwrap()));
        assert!(contains(
            Ipv4Addr::UNSPECIFIED,
            0,
            "8.8.8.8".parse().unwrap()
        ));
    }
}
