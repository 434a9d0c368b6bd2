//! The interface engine: one tokio task per device that reconciles each port's admin state
//! and addresses (primary and secondary) from configuration snapshots onto a [`NetBackend`], and publishes
//! what the network reports (admin and link state, MAC, addresses) through a `watch`.
//!
//! It only removes addresses it added itself: other engines (VRRP's virtual IP) and the
//! operator may put their own addresses on the same interface.
//!
//! LoopBacks created by `interface LoopBackN` are not ports: they come and go with the
//! configuration. Their addresses live on an interface the backend chooses (the namespace's
//! `lo` on Linux) and shared with others, so the engine shows only their own addresses, takes
//! them away when the LoopBack is removed, and again when the device shuts down
//! ([`run`]'s `cleanup`).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::config::InterfaceConfig;
use super::name::{IfKind, IfName};
use super::status::{IfStatus, PortStatus, StatusSender};
use crate::features::Config;
use crate::net::{IfAddr, NetBackend, NetError};

/// The engine's own state between reconciliations.
pub struct Engine<B> {
    backend: B,
    status: StatusSender,
    /// The addresses the engine put on each port (removed when the configuration changes).
    owned: BTreeMap<IfName, Vec<IfAddr>>,
    /// The device's ports (the status when the engine started); any other LoopBack in the
    /// status is one the configuration created.
    ports: std::collections::BTreeSet<IfName>,
}

/// Run the engine until the configuration store goes away. After each reconciliation the
/// snapshot it applied is sent on `applied`, so a display can wait until the status it
/// shows follows the last command (see [`crate::device::Device::settled_interfaces`]).
/// When `cleanup` delivers, the engine removes the LoopBacks' addresses from the host, answers
/// and stops.
pub async fn run<B: NetBackend>(
    backend: B,
    mut config: watch::Receiver<Arc<Config>>,
    status: StatusSender,
    applied: watch::Sender<Option<Arc<Config>>>,
    mut cleanup: tokio::sync::oneshot::Receiver<tokio::sync::oneshot::Sender<()>>,
) {
    let ports = status.borrow().keys().cloned().collect();
    let mut engine = Engine {
        backend,
        status,
        owned: BTreeMap::new(),
        ports,
    };
    let mut cfg = config.borrow_and_update().clone();
    loop {
        engine.reconcile(&cfg).await;
        applied.send_replace(Some(cfg.clone()));
        tokio::select! {
            changed = config.changed() => {
                if changed.is_err() {
                    return;
                }
                cfg = config.borrow_and_update().clone();
            }
            // Any link change: re-read every port (a device has a handful).
            _ = engine.backend.changed() => {}
            done = &mut cleanup => {
                if let Ok(done) = done {
                    engine.remove_loopbacks().await;
                    let _ = done.send(());
                    return;
                }
                // No shutdown will ask (the device is gone): just keep running.
                cleanup = tokio::sync::oneshot::channel().1;
            }
        }
    }
}

impl<B: NetBackend> Engine<B> {
    /// Bring every port of the published status in line with `cfg`, then publish what the
    /// network reports and log the changes.
    pub async fn reconcile(&mut self, cfg: &Config) {
        let old = self.status.borrow().clone();
        let mut new = IfStatus::new();
        // LoopBacks that were removed: take their addresses off the host.
        let removed: Vec<IfName> = old
            .keys()
            .filter(|p| self.is_loopback(p) && !cfg.interfaces.contains_key(*p))
            .cloned()
            .collect();
        for gone in &removed {
            if let Err(e) = self.reconcile_port(gone, &InterfaceConfig::default()).await {
                tracing::warn!(port = %gone, error = %e, "cannot remove the addresses of a LoopBack");
            }
            self.owned.remove(gone);
        }
        // The ports, and the LoopBacks configured now (new ones start with an empty status).
        let created = cfg
            .interfaces
            .keys()
            .filter(|p| self.is_loopback(p) && !old.contains_key(*p))
            .map(|p| (p, PortStatus::default()))
            .collect::<Vec<_>>();
        let current = old
            .iter()
            .filter(|(p, _)| !self.is_loopback(p) || cfg.interfaces.contains_key(*p))
            .map(|(p, st)| (p, st.clone()))
            .chain(created)
            .collect::<Vec<_>>();
        for (port, ref before) in current {
            let want = cfg.interfaces.get(port).cloned().unwrap_or_default();
            let status = match self.reconcile_port(port, &want).await {
                Ok(status) => status,
                Err(e) => {
                    let text = e.to_string();
                    if before.error.as_deref() != Some(text.as_str()) {
                        tracing::warn!(port = %port, error = %text, "cannot apply the interface configuration");
                    }
                    PortStatus {
                        error: Some(text),
                        ..before.clone()
                    }
                }
            };
            log_changes(port, before, &status);
            new.insert(port.clone(), status);
        }
        if new != *old {
            self.status.send_replace(Arc::new(new));
        }
    }

    async fn reconcile_port(
        &mut self,
        port: &IfName,
        want: &InterfaceConfig,
    ) -> Result<PortStatus, NetError> {
        let mut state = self.backend.port_state(port).await?;
        let mut touched = false;
        if state.admin_up == want.shutdown {
            self.backend.set_admin(port, !want.shutdown).await?;
            touched = true;
        }
        let wanted: Vec<IfAddr> = want.addresses().collect();
        // What we own stays recorded until it is gone, so a failed step is retried at the
        // next reconciliation.
        let owned = self.owned.entry(port.clone()).or_default();
        for old in owned.clone().iter().filter(|a| !wanted.contains(a)) {
            if state.addresses.contains(old) {
                self.backend.del_address(port, *old).await?;
                touched = true;
            }
            owned.retain(|a| a != old);
        }
        for addr in &wanted {
            if !state.addresses.contains(addr) {
                self.backend.add_address(port, *addr).await?;
                touched = true;
            }
            if !owned.contains(addr) {
                owned.push(*addr);
            }
        }
        if touched {
            state = self.backend.port_state(port).await?;
        }
        if self.is_loopback(port) {
            // The host's loopback carries other addresses too (127.0.0.1, other LoopBacks').
            state.addresses.retain(|a| wanted.contains(a));
            state.mac = None;
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

impl<B: NetBackend> Engine<B> {
    /// A LoopBack the engine created (the device's ports were known when it started).
    fn is_loopback(&self, name: &IfName) -> bool {
        name.kind == IfKind::LoopBack && !self.ports.contains(name)
    }

    /// Take every LoopBack's addresses off the host (the device shuts down).
    async fn remove_loopbacks(&mut self) {
        let loopbacks: Vec<IfName> = self
            .owned
            .keys()
            .filter(|p| self.is_loopback(p))
            .cloned()
            .collect();
        for port in loopbacks {
            for addr in self.owned.remove(&port).unwrap_or_default() {
                if let Err(e) = self.backend.del_address(&port, addr).await {
                    tracing::warn!(port = %port, error = %e, "cannot remove the address of a LoopBack");
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use tokio::runtime::Handle;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::device::Device;
    use crate::device::testing::test_device;
    use crate::infocenter::info_center_layer;
    use crate::net::sim::{Lan, PortId};

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    fn addr(text: &str, len: u8) -> IfAddr {
        (text.parse::<Ipv4Addr>().unwrap(), len)
    }

    /// Wait (bounded) until the published status satisfies `pred`.
    async fn wait_for(device: &Device, what: &str, pred: impl Fn(&IfStatus) -> bool) {
        let mut rx = device.if_status.subscribe();
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if pred(&rx.borrow_and_update()) {
                    return;
                }
                rx.changed().await.expect("status sender alive");
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for {what}: {:?}",
            device.interfaces()
        );
    }

    fn configure(device: &Device, port: &IfName, edit: impl FnOnce(&mut InterfaceConfig)) {
        edit(device.config.lock().interfaces.get_mut(port).unwrap());
        device.config.publish();
    }

    fn messages(device: &Device) -> Vec<String> {
        device
            .logs
            .entries()
            .iter()
            .map(|e| format!("{}/{}/{}: {}", e.module, e.severity, e.mnemonic, e.message))
            .collect()
    }

    /// A LoopBack appears in the status when the configuration creates it, with only its own
    /// addresses, and leaves the status and the network when removed; at shutdown the engine
    /// takes the remaining LoopBacks' addresses off (on Linux they sit on the shared `lo`).
    #[tokio::test]
    async fn loopbacks_come_and_go_with_the_configuration() {
        // Its IFNET events go to a subscriber of its own, as in the other tests here: logging
        // them with none installed would race with the tests that count theirs.
        let _log = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(info_center_layer()),
        );
        let (_d, dev) = test_device();
        dev.start(&Handle::current()).unwrap();
        let (lan, node) = dev.sim.get().unwrap().clone();
        let loop0: IfName = "LoopBack0".parse().unwrap();
        let loop1: IfName = "LoopBack1".parse().unwrap();
        for (name, a) in [(&loop0, "10.255.0.1"), (&loop1, "10.255.0.2")] {
            dev.config.lock().interfaces.insert(
                name.clone(),
                InterfaceConfig {
                    address: Some(addr(a, 32)),
                    ..InterfaceConfig::default()
                },
            );
        }
        dev.config.publish();
        wait_for(&dev, "both LoopBacks up with their address", |s| {
            [(&loop0, "10.255.0.1"), (&loop1, "10.255.0.2")]
                .iter()
                .all(|(l, a)| {
                    s.get(*l)
                        .is_some_and(|st| st.physical_up() && st.addresses == [addr(a, 32)])
                })
        })
        .await;
        dev.config.lock().interfaces.remove(&loop1);
        dev.config.publish();
        wait_for(&dev, "LoopBack1 gone", |s| !s.contains_key(&loop1)).await;
        let id1 = PortId { node, port: loop1 };
        assert_eq!(lan.port_state(&id1).unwrap().addresses, []);
        dev.shutdown().await;
        let id0 = PortId { node, port: loop0 };
        assert_eq!(lan.port_state(&id0).unwrap().addresses, []);
    }

    #[tokio::test]
    async fn reconciles_addresses_and_admin_state_on_the_sim() {
        let _log = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(info_center_layer()),
        );
        let (_d, dev) = test_device();
        let lan = Lan::new();
        let node = lan.add_node("A", &dev.ports);
        let p1 = PortId { node, port: ge(1) };
        lan.attach(&p1, lan.segment()).unwrap();
        dev.start_on_lan(&Handle::current(), &lan, node).unwrap();
        wait_for(&dev, "ge1/0/1 up", |s| {
            s[&ge(1)].physical_up() && s[&ge(1)].mac.is_some()
        })
        .await;
        assert!(
            !dev.interfaces()[&ge(2)].link_up,
            "unplugged port stays down"
        );

        // A primary address goes onto the port.
        configure(&dev, &ge(1), |c| c.address = Some(addr("10.0.0.1", 24)));
        wait_for(&dev, "address", |s| {
            s[&ge(1)].addresses == [addr("10.0.0.1", 24)]
        })
        .await;
        assert_eq!(
            lan.port_state(&p1).unwrap().addresses,
            [addr("10.0.0.1", 24)]
        );

        // Someone else's address (VRRP's virtual IP) survives a change of the primary.
        lan.add_address(&p1, addr("10.0.0.254", 24)).unwrap();
        configure(&dev, &ge(1), |c| c.address = Some(addr("10.0.1.1", 24)));
        wait_for(&dev, "new address", |s| {
            s[&ge(1)].addresses.contains(&addr("10.0.1.1", 24))
        })
        .await;
        assert_eq!(
            lan.port_state(&p1).unwrap().addresses,
            [addr("10.0.0.254", 24), addr("10.0.1.1", 24)]
        );

        // shutdown / undo shutdown
        configure(&dev, &ge(1), |c| c.shutdown = true);
        wait_for(&dev, "admin down", |s| !s[&ge(1)].admin_up).await;
        assert!(!lan.port_state(&p1).unwrap().admin_up);
        configure(&dev, &ge(1), |c| c.shutdown = false);
        wait_for(&dev, "admin up", |s| s[&ge(1)].physical_up()).await;

        // Secondary addresses go on beside the primary and come off alone.
        configure(&dev, &ge(1), |c| c.secondary = vec![addr("10.9.0.1", 16)]);
        wait_for(&dev, "secondary", |s| {
            s[&ge(1)].addresses.contains(&addr("10.9.0.1", 16))
        })
        .await;
        configure(&dev, &ge(1), |c| c.secondary.clear());
        wait_for(&dev, "secondary gone", |s| {
            !s[&ge(1)].addresses.contains(&addr("10.9.0.1", 16))
                && s[&ge(1)].addresses.contains(&addr("10.0.1.1", 24))
        })
        .await;

        // undo ip address removes only ours.
        configure(&dev, &ge(1), |c| c.address = None);
        wait_for(&dev, "address gone", |s| {
            s[&ge(1)].addresses == [addr("10.0.0.254", 24)]
        })
        .await;

        // Pulling the cable is seen without any configuration change.
        lan.set_cable(&p1, false).unwrap();
        wait_for(&dev, "cable out", |s| !s[&ge(1)].link_up).await;

        let name = "GigabitEthernet1/0/1";
        let up = [
            format!("IFNET/3/PHY_UPDOWN: Physical state on the interface {name} changed to up."),
            format!(
                "IFNET/5/LINK_UPDOWN: Line protocol state on the interface {name} changed to up."
            ),
        ];
        let down = [
            format!("IFNET/3/PHY_UPDOWN: Physical state on the interface {name} changed to down."),
            format!(
                "IFNET/5/LINK_UPDOWN: Line protocol state on the interface {name} changed to down."
            ),
        ];
        let expected: Vec<String> = [&up, &down, &up, &down]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        assert_eq!(messages(&dev), expected);
        dev.stop();
    }

    /// A display right after a command sees the engine's result of that command: it waits
    /// until the engine has applied the published snapshot (the shell thread blocks, the
    /// engine runs on another worker).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settled_status_follows_the_last_command() {
        let (_d, dev) = test_device();
        // Not started: no engine to wait for, the answer is immediate.
        let t0 = std::time::Instant::now();
        dev.settled_interfaces();
        assert!(t0.elapsed() < Duration::from_millis(100));
        dev.start(&Handle::current()).unwrap();
        for round in 0..20 {
            let shut = round % 2 == 0;
            configure(&dev, &ge(2), |c| c.shutdown = shut);
            let d = dev.clone();
            let st = tokio::task::spawn_blocking(move || d.settled_interfaces())
                .await
                .unwrap();
            assert_eq!(st[&ge(2)].admin_up, !shut, "round {round}");
        }
    }

    #[tokio::test]
    async fn two_devices_on_one_lan_log_to_their_own_buffers() {
        let _log = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(info_center_layer()),
        );
        let (_da, a) = test_device();
        let (_db, b) = test_device();
        b.config.lock().sysname = "B".into();
        b.config.publish();
        let lan = Lan::new();
        let na = lan.add_node("A", &a.ports);
        let nb = lan.add_node("B", &b.ports);
        let seg = lan.segment();
        lan.attach(
            &PortId {
                node: na,
                port: ge(1),
            },
            seg,
        )
        .unwrap();
        lan.attach(
            &PortId {
                node: nb,
                port: ge(2),
            },
            seg,
        )
        .unwrap();
        a.start_on_lan(&Handle::current(), &lan, na).unwrap();
        b.start_on_lan(&Handle::current(), &lan, nb).unwrap();
        wait_for(&a, "A up", |s| s[&ge(1)].link_up).await;
        wait_for(&b, "B up", |s| s[&ge(2)].link_up).await;
        let la = a.logs.entries();
        let lb = b.logs.entries();
        assert_eq!(la.len(), 2);
        assert_eq!(lb.len(), 2);
        assert!(
            la.iter()
                .all(|e| e.sysname == "Duet" && e.message.contains("GigabitEthernet1/0/1"))
        );
        assert!(
            lb.iter()
                .all(|e| e.sysname == "B" && e.message.contains("GigabitEthernet1/0/2"))
        );
        // Frames flow between the two devices' ports.
        let mut rx = lan
            .listen(&PortId {
                node: nb,
                port: ge(2),
            })
            .unwrap();
        assert_eq!(
            lan.send(
                &PortId {
                    node: na,
                    port: ge(1)
                },
                b"hello"
            )
            .unwrap(),
            1
        );
        assert_eq!(rx.recv().await.unwrap().bytes, b"hello");
    }

    #[tokio::test]
    async fn network_errors_are_published_per_port() {
        let (_d, dev) = test_device();
        let lan = Lan::new();
        // A node without the device's ports: every operation fails.
        let node = lan.add_node("A", &[]);
        dev.start_on_lan(&Handle::current(), &lan, node).unwrap();
        wait_for(&dev, "errors", |s| s.values().all(|p| p.error.is_some())).await;
        let st = dev.interfaces();
        assert_eq!(
            st[&ge(1)].error.as_deref(),
            Some("the port GigabitEthernet1/0/1 is not mapped to a network interface")
        );
    }

    /// The sim backend, with address additions failing while `fail_adds` lasts.
    struct Flaky {
        inner: crate::net::sim::SimBackend,
        fail_adds: usize,
    }

    impl NetBackend for Flaky {
        async fn port_state(&mut self, port: &IfName) -> Result<crate::net::PortState, NetError> {
            self.inner.port_state(port).await
        }
        async fn set_admin(&mut self, port: &IfName, up: bool) -> Result<(), NetError> {
            self.inner.set_admin(port, up).await
        }
        async fn add_address(&mut self, port: &IfName, addr: IfAddr) -> Result<(), NetError> {
            if self.fail_adds > 0 {
                self.fail_adds -= 1;
                return Err(NetError::Netlink("File exists (os error 17)".into()));
            }
            self.inner.add_address(port, addr).await
        }
        async fn del_address(&mut self, port: &IfName, addr: IfAddr) -> Result<(), NetError> {
            self.inner.del_address(port, addr).await
        }
        async fn changed(&mut self) -> Option<IfName> {
            self.inner.changed().await
        }
    }

    #[tokio::test]
    async fn a_failed_change_is_reported_then_retried() {
        let (_d, dev) = test_device();
        let lan = Lan::new();
        let node = lan.add_node("A", &dev.ports);
        let p1 = PortId { node, port: ge(1) };
        lan.attach(&p1, lan.segment()).unwrap();
        dev.start_with(
            &Handle::current(),
            Flaky {
                inner: lan.backend(node),
                fail_adds: 1,
            },
        )
        .unwrap();
        wait_for(&dev, "up", |s| s[&ge(1)].physical_up()).await;
        configure(&dev, &ge(1), |c| c.address = Some(addr("10.0.0.1", 24)));
        wait_for(&dev, "error", |s| s[&ge(1)].error.is_some()).await;
        let st = dev.interfaces();
        assert_eq!(
            st[&ge(1)].error.as_deref(),
            Some("netlink: File exists (os error 17)")
        );
        assert!(st[&ge(1)].link_up, "the last known state is kept");
        // The next wake-up (here a link change) retries and succeeds.
        lan.set_cable(&p1, false).unwrap();
        wait_for(&dev, "retried", |s| {
            s[&ge(1)].error.is_none() && !s[&ge(1)].addresses.is_empty()
        })
        .await;
        assert_eq!(
            lan.port_state(&p1).unwrap().addresses,
            [addr("10.0.0.1", 24)]
        );
    }

    #[tokio::test]
    async fn start_on_sim_gives_every_port_a_link() {
        let (_d, dev) = test_device();
        dev.start(&Handle::current()).unwrap();
        wait_for(&dev, "all up", |s| s.values().all(|p| p.physical_up())).await;
        let (lan, node) = dev.sim.get().expect("sim LAN recorded");
        assert_eq!(lan.label(*node).as_deref(), Some("Duet"));
        // One engine per device.
        assert_eq!(
            dev.start(&Handle::current()),
            Err(crate::device::StartError::AlreadyStarted)
        );
        let other = lan.add_node("again", &dev.ports);
        assert_eq!(
            dev.start_on_lan(&Handle::current(), lan, other),
            Err(crate::device::StartError::AlreadyStarted)
        );
    }
}
