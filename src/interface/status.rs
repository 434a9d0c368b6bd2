//! What the interface engine publishes about each port (read by displays and other engines
//! through a `watch`, without locks).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::name::IfName;
use crate::net::IfAddr;

/// The observed state of one port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortStatus {
    /// Administratively up (not `shutdown`), as the network reports it.
    pub admin_up: bool,
    /// Carrier present.
    pub link_up: bool,
    pub mac: Option<[u8; 6]>,
    /// IPv4 addresses present on the port.
    pub addresses: Vec<IfAddr>,
    /// The Linux interface behind the port (Linux backend only).
    pub linux_name: Option<String>,
    /// The last error the network reported for this port (e.g. the Linux interface is gone).
    pub error: Option<String>,
}

impl PortStatus {
    /// Comware's physical state: up when enabled and the carrier is present.
    pub fn physical_up(&self) -> bool {
        self.admin_up && self.link_up
    }
    /// Line protocol state: an Ethernet port in route mode has its link layer up with its
    /// physical layer.
    pub fn protocol_up(&self) -> bool {
        self.physical_up()
    }
}

/// Every port's status, in Comware order.
pub type IfStatus = BTreeMap<IfName, PortStatus>;

/// The channel the engine publishes on.
pub type StatusSender = watch::Sender<Arc<IfStatus>>;

/// Status before the engine has looked at the network: enabled, no carrier.
pub fn initial(ports: &[IfName]) -> IfStatus {
    ports
        .iter()
        .map(|p| {
            (
                p.clone(),
                PortStatus {
                    admin_up: true,
                    ..PortStatus::default()
                },
            )
        })
        .collect()
}
