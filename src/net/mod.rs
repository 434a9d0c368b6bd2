//! Network backends: `linux` (real interfaces through netlink) and `sim` (an in-process LAN),
//! behind the [`NetBackend`] trait the interface engine drives, and their VRRP I/O (`vrrp`);
//! the record of what a device added to the kernel (`ledger`) and its removal (`cleanup`).

pub mod cleanup;
pub mod icmp;
pub mod ledger;
pub mod linux;
pub mod probe;
pub mod sim;
pub mod vrrp;

use std::future::Future;
use std::net::Ipv4Addr;

use crate::interface::name::IfName;

/// An IPv4 address with its prefix length, as configured on an interface.
pub type IfAddr = (Ipv4Addr, u8);

/// What a backend reports about one port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortState {
    /// The Linux interface behind the port (`None` on the simulated LAN).
    pub linux_name: Option<String>,
    pub mac: Option<[u8; 6]>,
    /// Administratively up (`undo shutdown`; Linux `IFF_UP`).
    pub admin_up: bool,
    /// Carrier present (Linux `IFF_LOWER_UP`; sim: cable plugged into a segment and port up).
    pub link_up: bool,
    /// IPv4 addresses on the port, in the backend's order.
    pub addresses: Vec<IfAddr>,
}

/// Why a backend operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("the port {0} is not mapped to a network interface")]
    UnknownPort(String),
    #[error("the Linux interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("cannot open a netlink socket: {0}")]
    Socket(String),
}

/// The operations the interface engine needs from a network. Futures are `Send` so engines
/// run on the multi-threaded runtime.
pub trait NetBackend: Send + 'static {
    /// The state of one port as the network sees it now.
    fn port_state(
        &mut self,
        port: &IfName,
    ) -> impl Future<Output = Result<PortState, NetError>> + Send;
    /// Bring the port administratively up or down.
    fn set_admin(
        &mut self,
        port: &IfName,
        up: bool,
    ) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Add an address (already present is success).
    fn add_address(
        &mut self,
        port: &IfName,
        addr: IfAddr,
    ) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Remove an address (already absent is success).
    fn del_address(
        &mut self,
        port: &IfName,
        addr: IfAddr,
    ) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Wait until something may have changed on the network (a link went up or down).
    /// Returns the port concerned when the backend knows it, `None` for "re-read all".
    /// Cancel-safe: the engine calls it inside `select!`.
    fn changed(&mut self) -> impl Future<Output = Option<IfName>> + Send;
}

/// `0000-5e00-0101`: a MAC address as Comware prints it.
pub fn mac_text(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn mac_in_comware_form() {
        assert_eq!(super::mac_text(&[0, 0, 0x5e, 0, 1, 1]), "0000-5e00-0101");
    }
}
