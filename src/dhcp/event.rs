//! What goes in and out of the sans-IO [`Server`](super::server::Server): where a packet came
//! from, the replies and where to send them, lease change events, and statistics.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::lease::LeaseRecord;
use super::options::MessageType;

/// The interface a request arrived on, as the driver knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingress {
    /// The interface name (`GigabitEthernet1/0/1`); replies go out of the same interface.
    pub interface: String,
    /// The interface's primary address: the default server identifier, and it selects the
    /// pool of a request that was not relayed.
    pub address: Ipv4Addr,
    /// `dhcp server apply ip-pool NAME` on the interface, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

/// Where a reply goes (RFC 2131 section 4.1, "the server sends...").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Destination {
    /// 255.255.255.255:68 out of the ingress interface.
    Broadcast,
    /// `ip`:68 through the IP stack (the client has an address: ciaddr).
    Unicast { ip: Ipv4Addr },
    /// A frame built by hand to the client's hardware address, IP destination `ip` (yiaddr):
    /// the client has no address yet and cannot answer ARP.
    Hardware {
        ip: Ipv4Addr,
        #[serde(with = "super::lease::hex_box")]
        chaddr: Box<[u8]>,
    },
    /// The relay agent, `ip`:67 (giaddr).
    Relay { ip: Ipv4Addr },
}

/// One message to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub interface: String,
    /// The message type (OFFER, ACK, NAK), for the counters of what was sent or withheld.
    pub kind: MessageType,
    pub to: Destination,
    #[serde(with = "super::lease::hex_vec")]
    pub bytes: Vec<u8>,
    /// Hold this reply until every event up to this sequence number is durable (journal
    /// flushed; with hot backup, also acknowledged by the peer). `None`: send at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<u64>,
}

/// Who made a lease change: this server, or the peer through hot backup (which must not send
/// it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Local,
    Peer,
}

/// A change to the lease table. Records carry the whole binding, so applying a change twice,
/// or replaying a journal over a snapshot, gives the same table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseChange {
    Upsert(LeaseRecord),
    Remove(Ipv4Addr),
}

impl LeaseChange {
    pub fn ip(&self) -> Ipv4Addr {
        match self {
            LeaseChange::Upsert(r) => r.ip,
            LeaseChange::Remove(ip) => *ip,
        }
    }
}

/// A lease change to journal (and replicate), numbered in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseEvent {
    pub seq: u64,
    pub origin: Origin,
    pub change: LeaseChange,
    /// The change binds an address to a client that did not hold it in this table (a DHCP
    /// REQUEST answered with a fresh binding), rather than renewing, releasing or expiring a
    /// binding. Hot backup revokes such a binding when the peer goes down before confirming it
    /// and the address is in the peer's half (the peer may hand it out alone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_binding: bool,
}

/// Counters for `display dhcp server statistics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// DHCP messages received, by type.
    pub received: BTreeMap<MessageType, u64>,
    /// BOOTP requests (no option 53) received; the server does not answer them.
    pub bootp_requests: u64,
    /// Replies that left the device, by type: counted by the driver once a reply is sent
    /// ([`Server::reply_sent`](super::server::Server::reply_sent)), not when it is built.
    pub sent: BTreeMap<MessageType, u64>,
    /// Replies built and never sent, by reason: `journal-failed` (the lease did not reach the
    /// disk), `peer-unconfirmed` (hot backup: the peer went down before confirming it),
    /// `send-failed` (the socket refused it). An ACK is in `sent` or here, never both.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<String, u64>,
    /// Undecodable or invalid messages, by reason.
    pub bad: BTreeMap<String, u64>,
    /// Valid messages not answered, by reason (no pool, pool exhausted, another server...).
    pub ignored: BTreeMap<String, u64>,
}

impl Stats {
    pub fn received(&self, t: MessageType) -> u64 {
        self.received.get(&t).copied().unwrap_or(0)
    }
    pub fn sent(&self, t: MessageType) -> u64 {
        self.sent.get(&t).copied().unwrap_or(0)
    }
    /// Replies withheld, whatever the reason.
    pub fn withheld_total(&self) -> u64 {
        self.withheld.values().sum()
    }
    /// The `Bad Messages:` total.
    pub fn bad_total(&self) -> u64 {
        self.bad.values().sum()
    }
    pub(crate) fn bad(&mut self, reason: &str) {
        *self.bad.entry(reason.to_string()).or_default() += 1;
    }
    pub(crate) fn ignored(&mut self, reason: &str) {
        *self.ignored.entry(reason.to_string()).or_default() += 1;
    }
}
