//! The route driver: one task per device that keeps the network's routes equal to the active
//! static routes of the routing table (route/table.rs) as the configuration and the ports'
//! status change, turns IPv4 forwarding on once a static route is configured, and removes
//! Duet's routes when the device stops.
//!
//! Invariant: after each pass the network holds exactly the routes of `Table::fib` among
//! Duet's routes (RTPROT_DUET on Linux): the driver compares against what the network reports
//! (`RouteIo::installed`), not against what it remembers, so a route the kernel dropped with
//! an address, or one left by a Duet that was killed, is repaired or removed. Routes of any
//! other protocol are never touched.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

use super::io::{LinuxRouteIo, RouteIo, SimRouteIo};
use super::table::{self, FibRoute};
use crate::device::{Device, StartError};
use crate::features::{Config, Network};
use crate::interface::status::IfStatus;

/// How often the routes are compared with the network even when nothing changed here (a
/// route removed by hand, or by the kernel with an address, comes back within this time).
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(10);

/// Start the driver on a started device.
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    net: &Network<'_>,
) -> Result<(), StartError> {
    match net {
        Network::Sim(lan, node) => {
            let io = SimRouteIo {
                lan: (*lan).clone(),
                node: *node,
            };
            start_on(device, rt, io);
        }
        Network::Linux(ports) => {
            let io = {
                let _enter = rt.enter();
                LinuxRouteIo::new(ports, device.kernel.clone())?
            };
            start_on(device, rt, io);
        }
    }
    Ok(())
}

fn start_on<I: RouteIo>(device: &Arc<Device>, rt: &Handle, io: I) {
    let stop = device.cleanup_on_shutdown();
    let driver = run(
        io,
        device.config.subscribe(),
        device.if_status.subscribe(),
        stop,
    );
    device.spawn(rt, driver);
}

/// Run until the configuration store goes away, or until `stop` asks for the routes to be
/// removed (then answer on the sender it carries).
pub async fn run<I: RouteIo>(
    mut io: I,
    mut config: watch::Receiver<Arc<Config>>,
    mut interfaces: watch::Receiver<Arc<IfStatus>>,
    mut stop: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let mut d = Driver {
        forwarding: false,
        last_error: None,
    };
    let mut resync = tokio::time::interval(RESYNC_INTERVAL);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let cfg = config.borrow_and_update().clone();
        let ifs = interfaces.borrow_and_update().clone();
        if !cfg.route.statics.is_empty() {
            d.enable_forwarding(&mut io);
        }
        let want = table::compute(&cfg, &ifs).fib();
        d.reconcile(&mut io, &want).await;
        tokio::select! {
            changed = config.changed() => if changed.is_err() { return },
            changed = interfaces.changed() => if changed.is_err() { return },
            _ = resync.tick() => {}
            done = &mut stop => {
                // The device stops: its routes go with it (forwarding stays as it is: the
                // portal or the operator may rely on it; docs/logs-and-network.md).
                d.reconcile(&mut io, &[]).await;
                if let Ok(done) = done {
                    let _ = done.send(());
                }
                return;
            }
        }
    }
}

struct Driver {
    /// Forwarding was turned on (or found on) by this driver.
    forwarding: bool,
    /// The last error logged, so a failure repeated at every pass is logged once.
    last_error: Option<String>,
}

impl Driver {
    fn enable_forwarding<I: RouteIo>(&mut self, io: &mut I) {
        if self.forwarding {
            return;
        }
        match io.enable_forwarding() {
            Ok(changed) => {
                self.forwarding = true;
                if changed {
                    tracing::info!(
                        module = "RM",
                        severity = 5u8,
                        mnemonic = "RM_FORWARDING",
                        "IPv4 forwarding was turned on in the device's network namespace for its static routes."
                    );
                }
            }
            Err(e) => self.error(format!("Cannot turn on IPv4 forwarding: {e}.")),
        }
    }

    /// Make Duet's routes in the network equal to `want`.
    async fn reconcile<I: RouteIo>(&mut self, io: &mut I, want: &[FibRoute]) {
        let have = match io.installed().await {
            Ok(have) => have,
            Err(e) => return self.error(format!("Cannot read the routing table: {e}.")),
        };
        let same_slot =
            |a: &FibRoute, b: &FibRoute| (a.dest, a.len, a.metric) == (b.dest, b.len, b.metric);
        let mut failed = None;
        for r in have
            .iter()
            .filter(|h| !want.iter().any(|w| same_slot(w, h)))
        {
            if let Err(e) = io.remove(r).await {
                failed = Some(format!(
                    "Cannot remove the route to {}/{}: {e}.",
                    r.dest, r.len
                ));
            }
        }
        for r in want.iter().filter(|w| !have.contains(w)) {
            if let Err(e) = io.replace(r).await {
                failed = Some(format!(
                    "Cannot install the route to {}/{}: {e}.",
                    r.dest, r.len
                ));
            }
        }
        match failed {
            Some(text) => self.error(text),
            None => self.last_error = None,
        }
    }

    fn error(&mut self, text: String) {
        if self.last_error.as_deref() != Some(text.as_str()) {
            tracing::warn!(
                module = "RM",
                severity = 4u8,
                mnemonic = "RM_ROUTE_FAILED",
                "{text}"
            );
            self.last_error = Some(text);
        }
    }
}
