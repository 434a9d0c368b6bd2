//! The Linux backend: each port is a Linux interface (`--port GigabitEthernet1/0/1=veth0`, or
//! `--port Vlan-interface100=eth0.100` onto a VLAN subinterface or bridge the operator made),
//! driven through rtnetlink: addresses, admin state, carrier and MAC. Changes come from the
//! `RTNLGRP_LINK` and `RTNLGRP_IPV4_IFADDR` multicast groups, with a bounded poll as a safety
//! net for missed notifications (netlink multicast may drop under load: ENOBUFS).
//!
//! `LinuxBackend::new` must run inside a tokio runtime (it spawns the netlink connections),
//! and acts on the network namespace of the calling thread.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, LinkUnspec, MulticastGroup};

use super::{IfAddr, NetBackend, NetError, PortState};
use crate::interface::name::{IfKind, IfName};

/// The Linux interface that carries the addresses of LoopBacks not mapped with `--port`.
pub const HOST_LOOPBACK: &str = "lo";

/// How often the state is re-read even without a notification.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;

type Notifications = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// Ports mapped onto Linux interfaces.
pub struct LinuxBackend {
    handle: Handle,
    ports: BTreeMap<IfName, String>,
    /// Interface index -> port, learnt when reading state; resolves notifications.
    by_index: HashMap<u32, IfName>,
    notifications: Notifications,
    poll: tokio::time::Interval,
}

fn netlink_error(e: rtnetlink::Error) -> NetError {
    NetError::Netlink(e.to_string())
}

/// The errno of a netlink error reply, if it is one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

impl LinuxBackend {
    /// Open the netlink connections for these `(port, Linux interface)` pairs.
    pub fn new(ports: &[(IfName, String)]) -> Result<Self, NetError> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::Socket(e.to_string()))?;
        tokio::spawn(conn);
        let groups = [MulticastGroup::Link, MulticastGroup::Ipv4Ifaddr];
        let (mconn, _, notifications) = rtnetlink::new_multicast_connection(&groups)
            .map_err(|e| NetError::Socket(e.to_string()))?;
        tokio::spawn(mconn);
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(LinuxBackend {
            handle,
            ports: ports.iter().cloned().collect(),
            by_index: HashMap::new(),
            notifications,
            poll,
        })
    }

    /// The Linux interface of a port. A LoopBack not mapped with `--port` lives on the
    /// namespace's `lo`: this kernel (and many CI kernels) has no `dummy` link type, and `lo`
    /// is always there and always up. Its addresses are shared with other LoopBacks and with
    /// 127.0.0.1: the interface engine only ever removes its own.
    fn linux_name(&self, port: &IfName) -> Result<&str, NetError> {
        match self.ports.get(port) {
            Some(name) => Ok(name),
            None if port.kind == IfKind::LoopBack => Ok(HOST_LOOPBACK),
            None => Err(NetError::UnknownPort(port.to_string())),
        }
    }

    async fn link(&mut self, port: &IfName) -> Result<LinkMessage, NetError> {
        let name = self.linux_name(port)?.to_string();
        let mut links = self.handle.link().get().match_name(name.clone()).execute();
        match links.next().await {
            Some(Ok(link)) => {
                // The interface may have been recreated under a new index.
                self.by_index.retain(|_, p| p != port);
                self.by_index.insert(link.header.index, port.clone());
                Ok(link)
            }
            Some(Err(e)) if errno(&e) == Some(ENODEV) => Err(NetError::NoSuchInterface(name)),
            Some(Err(e)) => Err(netlink_error(e)),
            None => Err(NetError::NoSuchInterface(name)),
        }
    }

    /// The IPv4 address messages of an interface.
    async fn address_messages(&self, index: u32) -> Result<Vec<AddressMessage>, NetError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(m) = stream.next().await {
            let m = m.map_err(netlink_error)?;
            // The kernel may ignore the index filter without strict checking: filter here.
            if m.header.family == AddressFamily::Inet && m.header.index == index {
                out.push(m);
            }
        }
        Ok(out)
    }
}

/// The IPv4 address of an address message (`IFA_LOCAL`, else `IFA_ADDRESS`).
fn ipv4_of(m: &AddressMessage) -> Option<IfAddr> {
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(IpAddr::V4(v4)) => return Some((*v4, m.header.prefix_len)),
            AddressAttribute::Address(IpAddr::V4(v4)) => address = Some((*v4, m.header.prefix_len)),
            _ => {}
        }
    }
    address
}

fn mac_of(link: &LinkMessage) -> Option<[u8; 6]> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    })
}

impl NetBackend for LinuxBackend {
    async fn port_state(&mut self, port: &IfName) -> Result<PortState, NetError> {
        let link = self.link(port).await?;
        let addresses = self
            .address_messages(link.header.index)
            .await?
            .iter()
            .filter_map(ipv4_of)
            .collect();
        Ok(PortState {
            linux_name: Some(self.linux_name(port)?.to_string()),
            mac: mac_of(&link),
            admin_up: link.header.flags.contains(LinkFlags::Up),
            link_up: link.header.flags.contains(LinkFlags::LowerUp),
            addresses,
        })
    }

    async fn set_admin(&mut self, port: &IfName, up: bool) -> Result<(), NetError> {
        let index = self.link(port).await?.header.index;
        let builder = LinkUnspec::new_with_index(index);
        let message = if up { builder.up() } else { builder.down() }.build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(netlink_error)
    }

    async fn add_address(&mut self, port: &IfName, (ip, len): IfAddr) -> Result<(), NetError> {
        let index = self.link(port).await?.header.index;
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(ip), len)
            .execute()
            .await
        {
            Err(e) if errno(&e) == Some(EEXIST) => Ok(()),
            r => r.map_err(netlink_error),
        }
    }

    async fn del_address(&mut self, port: &IfName, addr: IfAddr) -> Result<(), NetError> {
        let index = self.link(port).await?.header.index;
        for m in self.address_messages(index).await? {
            if ipv4_of(&m) == Some(addr) {
                match self.handle.address().del(m).execute().await {
                    Err(e) if errno(&e) == Some(EADDRNOTAVAIL) => {}
                    r => r.map_err(netlink_error)?,
                }
            }
        }
        Ok(())
    }

    async fn changed(&mut self) -> Option<IfName> {
        loop {
            tokio::select! {
                msg = self.notifications.next() => match msg {
                    Some((msg, _)) => {
                        let (index, is_link) = match msg.payload {
                            NetlinkPayload::InnerMessage(
                                RouteNetlinkMessage::NewLink(link) | RouteNetlinkMessage::DelLink(link),
                            ) => (link.header.index, true),
                            NetlinkPayload::InnerMessage(
                                RouteNetlinkMessage::NewAddress(addr) | RouteNetlinkMessage::DelAddress(addr),
                            ) => (addr.header.index, false),
                            _ => continue,
                        };
                        if let Some(port) = self.by_index.get(&index) {
                            return Some(port.clone());
                        }
                        // A link we have not resolved yet may be one of ours (created late,
                        // renamed or recreated): re-read everything.
                        if is_link && self.by_index.len() < self.ports.len() {
                            return None;
                        }
                    }
                    // The notification socket is gone: fall back to polling alone.
                    None => {
                        self.poll.tick().await;
                        return None;
                    }
                },
                _ = self.poll.tick() => return None,
            }
        }
    }
}

/// Parse `GigabitEthernet1/0/1=veth0` (the `--port` option).
pub fn parse_port_map(text: &str) -> Result<(IfName, String), PortMapError> {
    let (port, linux) = text.split_once('=').ok_or(PortMapError::Syntax)?;
    let port: IfName = port
        .trim()
        .parse()
        .map_err(|_| PortMapError::Port(port.to_string()))?;
    let linux = linux.trim();
    // IFNAMSIZ is 16 including the terminating NUL.
    if linux.is_empty() || linux.len() > 15 || linux.contains(['/', ' ']) {
        return Err(PortMapError::Linux(linux.to_string()));
    }
    Ok((port, linux.to_string()))
}

/// A bad `--port` option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortMapError {
    #[error("expected PORT=LINUXIF, e.g. GigabitEthernet1/0/1=veth0")]
    Syntax,
    #[error(
        "{0} is not an interface name (GigabitEthernet1/0/1, Vlan-interface1 to Vlan-interface4094, LoopBack0 to LoopBack1023)"
    )]
    Port(String),
    #[error("{0} is not a valid Linux interface name (1 to 15 characters, no '/' or space)")]
    Linux(String),
}

/// Turns IPv4 forwarding on in the network namespace Duet runs in (a static route or a portal
/// makes the device route between its ports). Returns whether it was off before, so the
/// caller can log the change it made to the host (docs/logs-and-network.md).
pub fn enable_ipv4_forwarding() -> std::io::Result<bool> {
    const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
    let was_on = std::fs::read_to_string(PATH)?.trim() == "1";
    if !was_on {
        std::fs::write(PATH, "1")?;
    }
    Ok(!was_on)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn port_map_parses_and_rejects() {
        let (p, l) = parse_port_map("ge1/0/1=veth0").unwrap();
        assert_eq!(
            (p.to_string().as_str(), l.as_str()),
            ("GigabitEthernet1/0/1", "veth0")
        );
        assert_eq!(parse_port_map("ge1/0/1"), Err(PortMapError::Syntax));
        assert!(matches!(
            parse_port_map("xx=veth0"),
            Err(PortMapError::Port(_))
        ));
        assert!(matches!(
            parse_port_map("ge1/0/1=averyveryverylongname"),
            Err(PortMapError::Linux(_))
        ));
        assert!(matches!(
            parse_port_map("ge1/0/1="),
            Err(PortMapError::Linux(_))
        ));
    }

    #[test]
    fn address_message_prefers_local() {
        let mut m = AddressMessage::default();
        m.header.prefix_len = 24;
        let peer = Ipv4Addr::new(10, 0, 0, 9);
        let local = Ipv4Addr::new(10, 0, 0, 1);
        m.attributes
            .push(AddressAttribute::Address(IpAddr::V4(peer)));
        assert_eq!(ipv4_of(&m), Some((peer, 24)));
        m.attributes
            .push(AddressAttribute::Local(IpAddr::V4(local)));
        assert_eq!(ipv4_of(&m), Some((local, 24)));
    }
}
