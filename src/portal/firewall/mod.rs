//! Interception on Linux: one nftables table that Duet owns, loaded atomically, holding the set
//! of authorized clients (keyed by IP and MAC) that logins add to and logouts remove from.
//! See docs/portal.md, "The nftables table". [`Nft`] (in `nft`) applies the text that `render`
//! writes.

use std::net::Ipv4Addr;

mod nft;
pub mod render;

pub use nft::Nft;

/// Everything the table is built from. The driver derives it from the configuration and the
/// ports, and loads it again (atomically, users included) whenever it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The ports with `portal enable`: only traffic arriving on these is intercepted.
    pub ports: Vec<PortalPort>,
    /// Where intercepted TCP/80 is sent: the portal web server's address and port.
    pub web_server: (Ipv4Addr, u16),
    /// `portal free-rule ...`, in rule-number order.
    pub free_rules: Vec<FreeRule>,
    /// The users logged in when the plan is loaded.
    pub authorized: Vec<Client>,
}

/// One portal-enabled port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalPort {
    /// The Linux interface behind the port.
    pub linux_name: String,
    /// The device's own addresses on the port (and the VRRP virtual IPs), which captive
    /// clients may always reach for DHCP, DNS and the portal.
    pub local_addresses: Vec<Ipv4Addr>,
}

/// A logged-in client: both must match, so a reused IP with another MAC stays captive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
}

/// What a captive client may reach without logging in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FreeRule {
    /// `portal free-rule N destination ip {A LEN | any} [tcp P | udp P]`: `net` is `None` for
    /// `any`.
    Destination {
        net: Option<(Ipv4Addr, u8)>,
        port: Option<(Transport, u16)>,
    },
    /// `portal free-rule N source mac H-H-H`: everything from this MAC.
    SourceMac([u8; 6]),
}

/// The transport of a free rule's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}
