//! The routing table, computed (sans-IO) from the configuration and the ports' status: the
//! Direct routes of the up ports' subnets and of the loopback, the static routes with their
//! state, and the forwarding entries the driver installs.
//!
//! Rules (Comware 7, and what the kernel does with the same routes):
//! - a static route is *resolved* when its next hop lies in the subnet of a port whose line
//!   protocol is up and is not that port's own address; its interface is that port. An
//!   unresolved route stays in the configuration and becomes resolved when its next hop
//!   becomes reachable (the port comes up, the address is configured);
//! - per destination (network and length), the routes with the lowest preference win: Direct
//!   (0) before Static (60 by default); resolved static routes of equal preference are all
//!   active (equal-cost multipath). The others are inactive.
//! - the driver installs the active static routes only: Direct routes are the kernel's own.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::config::StaticKey;
use crate::features::Config;
use crate::interface::address::network_of;
use crate::interface::name::IfName;
use crate::interface::status::IfStatus;

/// The protocol a route comes from (the `Proto` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    Direct,
    Static,
}

impl Proto {
    pub fn text(self) -> &'static str {
        match self {
            Proto::Direct => "Direct",
            Proto::Static => "Static",
        }
    }
}

/// Where a route sends packets (the `Interface` column).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    Port(IfName),
    /// The device itself: its own addresses and the loopback network.
    InLoop0,
    /// Discarded: the multicast ranges.
    Null0,
    /// A static route whose next hop no up port reaches.
    Unresolved,
}

impl Via {
    pub fn text(&self) -> String {
        match self {
            Via::Port(p) => p.short(),
            Via::InLoop0 => "InLoop0".into(),
            Via::Null0 => "NULL0".into(),
            Via::Unresolved => "--".into(),
        }
    }
}

/// One route of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4Addr,
    pub len: u8,
    pub proto: Proto,
    pub preference: u8,
    pub next_hop: Ipv4Addr,
    pub via: Via,
}

/// A destination the driver installs: its active static routes' next hops, each with the
/// port it leaves by, sorted; `metric` is their preference (so a route of the kernel's own,
/// metric 0, is never replaced by Duet's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FibRoute {
    pub dest: Ipv4Addr,
    pub len: u8,
    pub metric: u32,
    pub next_hops: Vec<(Ipv4Addr, IfName)>,
}

/// The routes of the table, active and inactive, sorted by destination, length, protocol
/// and next hop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub active: Vec<Route>,
    /// Static routes that are not used: unresolved, or beaten by a lower preference.
    pub inactive: Vec<Route>,
}

impl Table {
    /// The static routes the driver installs, one entry per destination.
    pub fn fib(&self) -> Vec<FibRoute> {
        let mut by_dest: BTreeMap<(Ipv4Addr, u8), FibRoute> = BTreeMap::new();
        for r in self.active.iter().filter(|r| r.proto == Proto::Static) {
            let Via::Port(port) = &r.via else { continue };
            by_dest
                .entry((r.dest, r.len))
                .or_insert_with(|| FibRoute {
                    dest: r.dest,
                    len: r.len,
                    metric: u32::from(r.preference),
                    next_hops: Vec::new(),
                })
                .next_hops
                .push((r.next_hop, port.clone()));
        }
        by_dest.into_values().collect()
    }
}

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The routes the device has without any port: the loopback network and its ends, 0.0.0.0,
/// the limited broadcast (to the device itself) and the multicast ranges (to NULL0), as
/// Comware 7 lists them.
fn builtin() -> Vec<Route> {
    let direct = |dest: [u8; 4], len, next_hop, via| Route {
        dest: Ipv4Addr::from(dest),
        len,
        proto: Proto::Direct,
        preference: 0,
        next_hop,
        via,
    };
    vec![
        direct([0, 0, 0, 0], 32, LOOPBACK, Via::InLoop0),
        direct([127, 0, 0, 0], 8, LOOPBACK, Via::InLoop0),
        direct([127, 0, 0, 0], 32, LOOPBACK, Via::InLoop0),
        direct([127, 0, 0, 1], 32, LOOPBACK, Via::InLoop0),
        direct([127, 255, 255, 255], 32, LOOPBACK, Via::InLoop0),
        direct([224, 0, 0, 0], 4, Ipv4Addr::UNSPECIFIED, Via::Null0),
        direct([224, 0, 0, 0], 24, Ipv4Addr::UNSPECIFIED, Via::Null0),
        direct([255, 255, 255, 255], 32, LOOPBACK, Via::InLoop0),
    ]
}

/// The up ports' configured addresses: `(port, address, length)`.
fn connected(cfg: &Config, status: &IfStatus) -> Vec<(IfName, Ipv4Addr, u8)> {
    cfg.interfaces
        .iter()
        .filter(|(port, _)| status.get(*port).is_some_and(|s| s.protocol_up()))
        .filter_map(|(port, c)| c.address.map(|(a, l)| (port.clone(), a, l)))
        .collect()
}

/// A port's Direct routes: its subnet, and as host routes its network address, its own
/// address (to the device itself) and its broadcast address; a /31 or /32 has no network
/// or broadcast address (RFC 3021).
fn port_routes(port: &IfName, addr: Ipv4Addr, len: u8) -> Vec<Route> {
    let direct = |dest, len, next_hop, via| Route {
        dest,
        len,
        proto: Proto::Direct,
        preference: 0,
        next_hop,
        via,
    };
    let on_port = || Via::Port(port.clone());
    let mut routes = vec![direct(addr, 32, LOOPBACK, Via::InLoop0)];
    if len < 32 {
        routes.push(direct(network_of(addr, len), len, addr, on_port()));
    }
    if len < 31 {
        let net = network_of(addr, len);
        let broadcast = Ipv4Addr::from(u32::from(net) | (u32::MAX >> len));
        routes.push(direct(net, 32, addr, on_port()));
        routes.push(direct(broadcast, 32, addr, on_port()));
    }
    routes
}

/// The port whose subnet holds `next_hop` (not as the port's own address), if any.
fn resolve(connected: &[(IfName, Ipv4Addr, u8)], next_hop: Ipv4Addr) -> Option<IfName> {
    connected
        .iter()
        .find(|(_, addr, len)| {
            *addr != next_hop && *len < 32 && network_of(next_hop, *len) == network_of(*addr, *len)
        })
        .map(|(port, _, _)| port.clone())
}

/// The whole table for this configuration and these ports.
pub fn compute(cfg: &Config, status: &IfStatus) -> Table {
    let connected = connected(cfg, status);
    let mut candidates = builtin();
    for (port, addr, len) in &connected {
        candidates.extend(port_routes(port, *addr, *len));
    }
    for (
        StaticKey {
            dest,
            len,
            next_hop,
        },
        r,
    ) in &cfg.route.statics
    {
        candidates.push(Route {
            dest: *dest,
            len: *len,
            proto: Proto::Static,
            preference: r.preference,
            next_hop: *next_hop,
            via: resolve(&connected, *next_hop).map_or(Via::Unresolved, Via::Port),
        });
    }
    candidates.sort_by(|a, b| {
        (a.dest, a.len, a.proto, a.next_hop).cmp(&(b.dest, b.len, b.proto, b.next_hop))
    });
    // Per destination, the lowest preference among the usable routes wins.
    let mut best: BTreeMap<(Ipv4Addr, u8), u8> = BTreeMap::new();
    for r in candidates.iter().filter(|r| r.via != Via::Unresolved) {
        let b = best.entry((r.dest, r.len)).or_insert(r.preference);
        *b = (*b).min(r.preference);
    }
    let mut table = Table::default();
    for r in candidates {
        let wins = r.via != Via::Unresolved && best.get(&(r.dest, r.len)) == Some(&r.preference);
        if wins {
            table.active.push(r);
        } else {
            table.inactive.push(r);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::status::PortStatus;
    use crate::route::config::StaticRoute;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    fn setup(up: &[u32]) -> (Config, IfStatus) {
        let ports: Vec<IfName> = (1..=3).map(ge).collect();
        let mut cfg = Config::new(&ports);
        cfg.interfaces.get_mut(&ge(1)).unwrap().address = Some(("10.1.0.1".parse().unwrap(), 24));
        cfg.interfaces.get_mut(&ge(2)).unwrap().address = Some(("10.2.0.1".parse().unwrap(), 24));
        let status = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let on = up.contains(&(i as u32 + 1));
                let st = PortStatus {
                    admin_up: true,
                    link_up: on,
                    ..PortStatus::default()
                };
                (p.clone(), st)
            })
            .collect();
        (cfg, status)
    }

    fn add(cfg: &mut Config, dest: &str, len: u8, nh: &str, preference: u8) {
        cfg.route.statics.insert(
            StaticKey {
                dest: dest.parse().unwrap(),
                len,
                next_hop: nh.parse().unwrap(),
            },
            StaticRoute { preference },
        );
    }

    #[test]
    fn a_static_route_is_active_only_while_its_next_hop_is_on_an_up_subnet() {
        let (mut cfg, status) = setup(&[1]);
        add(&mut cfg, "10.3.0.0", 24, "10.2.0.3", 60);
        let t = compute(&cfg, &status);
        assert!(t.fib().is_empty());
        assert_eq!(t.inactive.len(), 1);
        assert_eq!(t.inactive[0].via, Via::Unresolved);
        let (_, status) = setup(&[1, 2]);
        let t = compute(&cfg, &status);
        assert_eq!(
            t.fib(),
            [FibRoute {
                dest: "10.3.0.0".parse().unwrap(),
                len: 24,
                metric: 60,
                next_hops: vec![("10.2.0.3".parse().unwrap(), ge(2))],
            }]
        );
        assert!(t.inactive.is_empty());
    }

    #[test]
    fn the_lowest_preference_wins_and_equal_ones_share_the_destination() {
        let (mut cfg, status) = setup(&[1, 2]);
        add(&mut cfg, "0.0.0.0", 0, "10.2.0.3", 60);
        add(&mut cfg, "0.0.0.0", 0, "10.1.0.9", 60);
        add(&mut cfg, "0.0.0.0", 0, "10.2.0.4", 80);
        // A static route to a connected subnet loses to the Direct route.
        add(&mut cfg, "10.1.0.0", 24, "10.2.0.3", 60);
        let t = compute(&cfg, &status);
        let fib = t.fib();
        assert_eq!(fib.len(), 1);
        assert_eq!(
            fib[0].next_hops,
            [
                ("10.1.0.9".parse().unwrap(), ge(1)),
                ("10.2.0.3".parse().unwrap(), ge(2))
            ]
        );
        let inactive: Vec<_> = t.inactive.iter().map(|r| (r.next_hop, r.len)).collect();
        assert_eq!(
            inactive,
            [
                ("10.2.0.4".parse().unwrap(), 0),
                ("10.2.0.3".parse().unwrap(), 24)
            ]
        );
    }

    #[test]
    fn an_up_port_gives_its_subnet_and_host_routes() {
        let (cfg, status) = setup(&[1]);
        let t = compute(&cfg, &status);
        let rows: Vec<String> = t
            .active
            .iter()
            .map(|r| format!("{}/{} {}", r.dest, r.len, r.via.text()))
            .collect();
        assert_eq!(
            rows,
            [
                "0.0.0.0/32 InLoop0",
                "10.1.0.0/24 GE1/0/1",
                "10.1.0.0/32 GE1/0/1",
                "10.1.0.1/32 InLoop0",
                "10.1.0.255/32 GE1/0/1",
                "127.0.0.0/8 InLoop0",
                "127.0.0.0/32 InLoop0",
                "127.0.0.1/32 InLoop0",
                "127.255.255.255/32 InLoop0",
                "224.0.0.0/4 NULL0",
                "224.0.0.0/24 NULL0",
                "255.255.255.255/32 InLoop0",
            ]
        );
    }

    #[test]
    fn the_next_hop_is_never_the_port_itself() {
        let (mut cfg, status) = setup(&[1]);
        add(&mut cfg, "10.9.0.0", 16, "10.1.0.1", 60);
        assert_eq!(compute(&cfg, &status).inactive[0].via, Via::Unresolved);
    }
}
