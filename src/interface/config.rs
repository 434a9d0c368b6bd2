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
    /// `vrrp version` and the `vrrp vrid N ...` groups of this interface.
    pub vrrp: InterfaceVrrp,
}
