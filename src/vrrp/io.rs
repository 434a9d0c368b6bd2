//! What goes into a [`Router`](super::Router) and what comes out of it. Every type derives
//! serde so a driver can record what a device saw as jsonl and a test can replay it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::config::GroupConfig;
use super::packet::{Advertisement, EncodeError, IpHeader, RejectReason};
use crate::interface::name::IfName;
use crate::track::TrackState;

/// RFC 5798 section 6.4 states. Comware shows `Inactive` for an Initialize group whose
/// interface is down; [`Status`](super::Status) carries that distinction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Initialize,
    Backup,
    Master,
}

/// Why the state changed, as `display vrrp state-change` and the log say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateReason {
    /// The group can run: configured, interface up with an address (RFC 5798 6.4.1 Startup).
    Startup,
    /// The group owns the virtual IP and runs at priority 255 (RFC 5798 6.4.1).
    AddressOwner,
    /// Master_Down_Timer fired: no acceptable advert within Master_Down_Interval.
    MasterDownExpired,
    /// Skew_Time after the master resigned with priority 0.
    MasterResigned,
    /// An advert with a higher priority (or the same priority from a higher address).
    HigherPriorityMaster,
    AdminShutdown,
    InterfaceDown,
    /// No primary address on the interface, or no virtual IP in the group.
    NoAddress,
    /// The VRRP version changed: the group restarts so peers see one version only.
    VersionChanged,
    /// The group was deleted.
    Removed,
    /// A track entry with `switchover` turned Negative while this router was backup.
    TrackSwitchover,
}

/// One advertisement to send: the driver encodes it with [`Transmit::encode`] and sends it
/// with TTL 255 from `ip.src` (the interface's primary address) to `ip.dst`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmit {
    pub ip: IpHeader,
    pub advert: Advertisement,
}

impl Transmit {
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.advert.encode(self.ip.src, self.ip.dst)
    }
}

/// What the driver must act on (or publish) besides sending adverts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    StateChanged {
        from: State,
        to: State,
        reason: StateReason,
    },
    /// Add these addresses to the interface (with the virtual MAC where the backend can).
    AddVirtualIps {
        addresses: Vec<Ipv4Addr>,
        mac: [u8; 6],
    },
    RemoveVirtualIps {
        addresses: Vec<Ipv4Addr>,
        mac: [u8; 6],
    },
    /// Broadcast gratuitous ARP for each address from the virtual MAC (RFC 5798 6.4.1).
    GratuitousArp {
        addresses: Vec<Ipv4Addr>,
        mac: [u8; 6],
    },
    /// A VRRPv3 backup now times the master by the interval the master advertises.
    AdoptInterval { interval_cs: u16 },
    /// Tracking or configuration changed the priority the group runs at.
    PriorityChanged { from: u8, to: u8 },
    /// A received packet was dropped (counted in the statistics too).
    PacketRejected {
        from: Ipv4Addr,
        reason: RejectReason,
    },
}

/// Everything a router produces, in the order it produced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    Transmit(Transmit),
    Event(Event),
}

/// Everything a router takes, for recording and replay (see [`Router::handle`](super::Router::handle)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    Config {
        config: GroupConfig,
        primary_ip: Option<Ipv4Addr>,
    },
    /// A received VRRP message (the IP payload) and its IPv4 header.
    Packet {
        ip: IpHeader,
        #[serde(with = "hex")]
        payload: Vec<u8>,
    },
    Timeout,
    Link {
        up: bool,
    },
    Track {
        #[serde(with = "super::config::ifname_text")]
        interface: IfName,
        up: bool,
    },
    /// A track entry's state (`track N ...`, src/track).
    TrackEntry {
        entry: u16,
        state: TrackState,
    },
    Remove,
}

/// Packet bytes in recordings are lowercase hex, as tcpdump -x prints them.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = String::deserialize(d)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return Err(D::Error::custom(
                "hex payload needs an even number of hex digits",
            ));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(D::Error::custom))
            .collect()
    }
}
