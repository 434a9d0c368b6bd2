//! How the route driver reaches the network: [`RouteIo`], on Linux through rtnetlink with
//! Duet's own route protocol number ([`RTPROT_DUET`]), each recorded in the device's
//! kernel-object ledger before it is installed (`duet cleanup`), on the simulated LAN through the
//! node's forwarding table (net/sim/forward.rs).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use futures::StreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol,
};
use rtnetlink::{Handle, RouteMessageBuilder, RouteNextHopBuilder};

use super::table::FibRoute;
use crate::interface::name::IfName;
use crate::net::NetError;
use crate::net::ledger::{KernelObject, Ledger};
use crate::net::sim::forward::SimRoute;
use crate::net::sim::{Lan, NodeId};

/// The route protocol number Duet's routes carry in the kernel (`ip route` shows
/// `proto 208`, or `proto duet` with a line `208 duet` in /etc/iproute2/rt_protos.d/). It is
/// unassigned in iproute2's list; the driver finds, replaces and removes its routes by it and
/// never touches a route with another protocol.
pub const RTPROT_DUET: u8 = 0xD0;

/// The network's routing table as the driver sees it: Duet's routes only.
pub trait RouteIo: Send + 'static {
    /// Duet's routes now installed. A next hop through an interface that is not one of the
    /// device's ports is left out of its route (the route then differs from any the driver
    /// wants, and is replaced or removed).
    fn installed(&mut self) -> impl Future<Output = Result<Vec<FibRoute>, NetError>> + Send;
    /// Install a route, replacing the one with the same destination, length and metric.
    fn replace(&mut self, route: &FibRoute) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Remove a route of Duet's (absent is success).
    fn remove(&mut self, route: &FibRoute) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Turn IPv4 forwarding on; `Ok(true)` when it was off.
    fn enable_forwarding(&mut self) -> std::io::Result<bool>;
}

/// The simulated LAN's node of the device.
pub struct SimRouteIo {
    pub lan: Lan,
    pub node: NodeId,
}

impl RouteIo for SimRouteIo {
    async fn installed(&mut self) -> Result<Vec<FibRoute>, NetError> {
        Ok(self
            .lan
            .routes(self.node)
            .into_iter()
            .map(|r| FibRoute {
                dest: r.dest,
                len: r.len,
                metric: r.metric,
                next_hops: r.next_hops,
            })
            .collect())
    }
    async fn replace(&mut self, r: &FibRoute) -> Result<(), NetError> {
        let route = SimRoute {
            dest: r.dest,
            len: r.len,
            metric: r.metric,
            next_hops: r.next_hops.clone(),
        };
        self.lan.replace_route(self.node, route);
        Ok(())
    }
    async fn remove(&mut self, r: &FibRoute) -> Result<(), NetError> {
        self.lan.remove_route(self.node, r.dest, r.len, r.metric);
        Ok(())
    }
    fn enable_forwarding(&mut self) -> std::io::Result<bool> {
        Ok(!self.lan.set_forwarding(self.node, true))
    }
}

/// The main table of the network namespace `duet run` runs in.
pub struct LinuxRouteIo {
    handle: Handle,
    /// Port -> Linux interface name.
    ports: Vec<(IfName, String)>,
    /// Each route is recorded here before it is installed and forgotten once removed, so
    /// `duet cleanup` removes it after a crash (crate::net::ledger).
    kernel: Arc<Ledger>,
}

/// The ledger's record of a route of Duet's.
fn route_object(r: &FibRoute) -> KernelObject {
    KernelObject::Route {
        dst: r.dest,
        prefix: r.len,
        table: u32::from(RouteHeader::RT_TABLE_MAIN),
        metric: r.metric,
        protocol: RTPROT_DUET,
    }
}

/// A ledger write that fails is logged, never fatal (the route is still installed or removed).
fn ledger_log(result: std::io::Result<()>, object: &KernelObject) {
    if let Err(e) = result {
        tracing::warn!(object = %object, error = %e, "cannot update the kernel-object ledger");
    }
}

const ESRCH: i32 = 3;

fn netlink_error(e: rtnetlink::Error) -> NetError {
    NetError::Netlink(e.to_string())
}

impl LinuxRouteIo {
    /// Open a netlink connection (inside a tokio runtime: it spawns the connection's task);
    /// routes are recorded in `kernel`.
    pub fn new(ports: &[(IfName, String)], kernel: Arc<Ledger>) -> Result<Self, NetError> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::Socket(e.to_string()))?;
        tokio::spawn(conn);
        Ok(LinuxRouteIo {
            handle,
            ports: ports.to_vec(),
            kernel,
        })
    }

    /// Linux interface index -> port, read now (an interface may have been recreated).
    async fn indexes(&self) -> HashMap<u32, IfName> {
        let mut out = HashMap::new();
        for (port, linux) in &self.ports {
            let mut links = self.handle.link().get().match_name(linux.clone()).execute();
            if let Some(Ok(link)) = links.next().await {
                out.insert(link.header.index, port.clone());
            }
        }
        out
    }

    fn base(r: &FibRoute) -> RouteMessageBuilder<Ipv4Addr> {
        RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(r.dest, r.len)
            .priority(r.metric)
            .protocol(RouteProtocol::Other(RTPROT_DUET))
    }
}

fn gateway_of(attributes: &[RouteAttribute]) -> Option<Ipv4Addr> {
    attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(*g),
        _ => None,
    })
}

/// A kernel route of Duet's as a [`FibRoute`], its next hops mapped to ports by `index`.
fn fib_of(m: &RouteMessage, index: &HashMap<u32, IfName>) -> Option<FibRoute> {
    let h = &m.header;
    if h.address_family != AddressFamily::Inet
        || h.protocol != RouteProtocol::Other(RTPROT_DUET)
        || h.table != RouteHeader::RT_TABLE_MAIN
    {
        return None;
    }
    let mut dest = Ipv4Addr::UNSPECIFIED;
    let mut metric = 0;
    let mut oif = None;
    let mut next_hops = Vec::new();
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(d)) => dest = *d,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    if let (Some(g), Some(port)) =
                        (gateway_of(&hop.attributes), index.get(&hop.interface_index))
                    {
                        next_hops.push((g, port.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    if let (Some(g), Some(port)) = (gateway_of(&m.attributes), oif.and_then(|i| index.get(&i))) {
        next_hops.push((g, port.clone()));
    }
    next_hops.sort();
    Some(FibRoute {
        dest,
        len: h.destination_prefix_length,
        metric,
        next_hops,
    })
}

impl RouteIo for LinuxRouteIo {
    async fn installed(&mut self) -> Result<Vec<FibRoute>, NetError> {
        let index = self.indexes().await;
        let mut dump = self
            .handle
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute();
        let mut out = Vec::new();
        while let Some(m) = dump.next().await {
            if let Some(r) = fib_of(&m.map_err(netlink_error)?, &index) {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn replace(&mut self, r: &FibRoute) -> Result<(), NetError> {
        let by_port: HashMap<IfName, u32> = self
            .indexes()
            .await
            .into_iter()
            .map(|(i, p)| (p, i))
            .collect();
        let mut hops = Vec::new();
        for (gateway, port) in &r.next_hops {
            let index = by_port
                .get(port)
                .ok_or_else(|| NetError::UnknownPort(port.to_string()))?;
            hops.push((*gateway, *index));
        }
        let message = match hops.as_slice() {
            [(gateway, index)] => Self::base(r).gateway(*gateway).output_interface(*index),
            _ => {
                let mut multipath = Vec::new();
                for (gateway, index) in hops {
                    let hop = RouteNextHopBuilder::new_ipv4()
                        .interface(index)
                        .via(IpAddr::V4(gateway))
                        .map_err(|e| NetError::Netlink(e.to_string()))?;
                    multipath.push(hop.build());
                }
                Self::base(r).multipath(multipath)
            }
        }
        .build();
        let object = route_object(r);
        ledger_log(self.kernel.record(object.clone()), &object);
        self.handle
            .route()
            .add(message)
            .replace()
            .execute()
            .await
            .map_err(netlink_error)
    }

    async fn remove(&mut self, r: &FibRoute) -> Result<(), NetError> {
        // The kernel deletes only a route with this protocol (fib_table_delete compares it):
        // a route with the same destination and metric added by hand stays.
        let result = match self
            .handle
            .route()
            .del(Self::base(r).build())
            .execute()
            .await
        {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == ESRCH => Ok(()),
            other => other.map_err(netlink_error),
        };
        if result.is_ok() {
            let object = route_object(r);
            ledger_log(self.kernel.forget(&object), &object);
        }
        result
    }

    fn enable_forwarding(&mut self) -> std::io::Result<bool> {
        crate::net::linux::enable_ipv4_forwarding()
    }
}
