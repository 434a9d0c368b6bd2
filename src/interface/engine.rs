//! The interface engine: one tokio task per device that reconciles each port's admin state
//! and primary address from configuration snapshots onto a [`NetBackend`], and publishes
//! what the network reports (admin and link state, MAC, addresses) through a `watch`.
//!
//! It only removes addresses it added itself: other engines (VRRP's virtual IP) and the
//! operator may put their own addresses on the same interface.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::config::InterfaceConfig;
use super::name::IfName;
use super::status::{IfStatus, PortStatus, StatusSender};
use crate::config::Config;
use crate::net::{IfAddr, NetBackend, NetError};

/// The engine's own state between reconciliations.
pub struct Engine<B> {
    backend: B,
    status: StatusSender,
    /// The address the engine put on each port (removed when the configuration changes).
    owned: BTreeMap<IfName, IfAddr>,
}

/// Run the engine until the configuration store goes away.
pub async fn run<B: NetBackend>(backend: B, mut config: watch::Receiver<Arc<Config>>, status: StatusSender) {
    let mut engine = Engine { backend, status, owned: BTreeMap::new() };
    let mut cfg = config.borrow_and_update().clone();
    loop {
        engine.reconcile(&cfg).await;
        tokio::select! {
            changed = config.changed() => {
                if changed.is_err() {
                    return;
                }
                cfg = config.borrow_and_update().clone();
            }
            // Any link change: re-read every port (a device has a handful).
            _ = engine.backend.changed() => {}
        }
    }
}

impl<B: NetBackend> Engine<B> {
    /// Bring every port of the published status in line with `cfg`, then publish what the
    /// network reports and log the changes.
    pub async fn reconcile(&mut self, cfg: &Config) {
        let old = self.status.borrow().clone();
        let mut new = IfStatus::new();
        for (port, before) in old.iter() {
            let want = cfg.interfaces.get(port).cloned().unwrap_or_default();
            let status = match self.reconcile_port(port, &want).await {
                Ok(status) => status,
                Err(e) => {
                    let text = e.to_string();
                    if before.error.as_deref() != Some(text.as_str()) {
                        tracing::warn!(port = %port, error = %text, "cannot apply the interface configuration");
                    }
                    PortStatus { error: Some(text), ..before.clone() }
                }
            };
            log_changes(port, before, &status);
            new.insert(port.clone(), status);
        }
        if new != *old {
            self.status.send_replace(Arc::new(new));
        }
    }

    async fn reconcile_port(&mut self, port: &IfName, want: &InterfaceConfig) -> Result<PortStatus, NetError> {
        let mut state = self.backend.port_state(port).await?;
        let mut touched = false;
        if state.admin_up == want.shutdown {
            self.backend.set_admin(port, !want.shutdown).await?;
            touched = true;
        }
        if let Some(old) = self.owned.get(port).copied()
            && Some(old) != want.address
        {
            if state.addresses.contains(&old) {
                self.backend.del_address(port, old).await?;
                touched = true;
            }
            self.owned.remove(port);
        }
        if let Some(addr) = want.address {
            if !state.addresses.contains(&addr) {
                self.backend.add_address(port, addr).await?;
                touched = true;
            }
            self.owned.insert(port.clone(), addr);
        }
        if touched {
            state = self.backend.port_state(port).await?;
        }
        Ok(PortStatus {
            admin_up: state.admin_up,
            link_up: state.link_up,
            mac: state.mac,
            addresses: state.addresses,
            linux_name: state.linux_name,
            error: None,
        })
    }
}

fn up_down(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

/// Comware's IFNET messages for a port whose physical or protocol state moved.
fn log_changes(port: &IfName, before: &PortStatus, after: &PortStatus) {
    if before.physical_up() != after.physical_up() {
        tracing::warn!(
            module = "IFNET",
            severity = 3u8,
            mnemonic = "PHY_UPDOWN",
            "Physical state on the interface {port} changed to {}.",
            up_down(after.physical_up())
        );
    }
    if before.protocol_up() != after.protocol_up() {
        tracing::info!(
            module = "IFNET",
            severity = 5u8,
            mnemonic = "LINK_UPDOWN",
            "Line protocol state on the interface {port} changed to {}.",
            up_down(after.protocol_up())
        );
    }
}
