//! The interface part of the configuration.

use std::net::Ipv4Addr;

use crate::vrrp::config::InterfaceVrrp;

/// What `interface X` holds in the configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterfaceConfig {
    /// `description TEXT`
    pub description: Option<String>,
    /// `shutdown`
    pub shutdown: bool,
    /// `ip address A.B.C.D MASK|LEN`: the primary address and its prefix length.
    pub address: Option<(Ipv4Addr, u8)>,
    /// `ip address A.B.C.D MASK|LEN sub`: the secondary addresses, in the order configured.
    /// Invariant (held by the `ip address` handler): there are secondaries only while there is
    /// a primary, and no two addresses of the device's ports have overlapping subnets.
    pub secondary: Vec<(Ipv4Addr, u8)>,
    /// `vrrp version` and the `vrrp vrid N ...` groups of this interface.
    pub vrrp: InterfaceVrrp,
    /// `dhcp select server` / `dhcp server apply ip-pool NAME`.
    pub dhcp: InterfaceDhcp,
}

impl InterfaceConfig {
    /// Every configured address: the primary, then the secondaries.
    pub fn addresses(&self) -> impl Iterator<Item = (Ipv4Addr, u8)> + '_ {
        self.address.iter().chain(&self.secondary).copied()
    }
}

/// The DHCP server side of an interface.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterfaceDhcp {
    /// `dhcp select server` was typed. Server mode is also the default once `dhcp enable` is
    /// on (Comware 7), so this only records the explicit command for the configuration text.
    pub select_server: bool,
    /// `dhcp server apply ip-pool NAME`: the pool that serves clients on this interface.
    pub apply_pool: Option<String>,
}
