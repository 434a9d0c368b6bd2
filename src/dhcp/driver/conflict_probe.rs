//! `dhcp server ping`: the echo probes the server asks for before an offer
//! ([`ProbeRequest`]), each on a blocking thread of its own so the engine keeps serving other
//! clients while one waits (up to packets x timeout). Results come back to the engine's loop
//! through a channel and go to [`crate::dhcp::server::Server::probe_result`].

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::dhcp::server::ProbeRequest;
use crate::net::probe::{LinuxProber, Outcome, Probe, Prober, SimProber};
use crate::net::sim::{Lan, NodeId};

/// Where the probes go: the device's namespace on Linux, or its node on the simulated LAN.
#[derive(Clone)]
pub enum ProbeNet {
    Linux,
    Sim(Lan, NodeId),
}

/// The ICMP identifier of the next probe: each probe has its own, so answers to the `ping`
/// command or another probe (every raw ICMP socket sees every answer) are told apart.
static NEXT_ID: AtomicU16 = AtomicU16::new(0xD400);

/// Probes in flight at once, per process. Each holds a blocking thread and a raw socket that
/// sees every ICMP answer, so a DISCOVER flood with probing on must not open hundreds of them:
/// beyond this, probes wait their turn (their clients' offers wait; other clients are served).
const MAX_PROBES_IN_FLIGHT: usize = 32;
static IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_PROBES_IN_FLIGHT);

/// Run `req` beside the engine and send `(address, answered)` to `results` when done.
pub fn spawn(net: ProbeNet, req: ProbeRequest, results: mpsc::UnboundedSender<(Ipv4Addr, bool)>) {
    tokio::spawn(async move {
        let Ok(_turn) = IN_FLIGHT.acquire().await else {
            return;
        };
        let ip = req.ip;
        let answered = tokio::task::spawn_blocking(move || answered(net, &req))
            .await
            .unwrap_or(false);
        let _ = results.send((ip, answered));
    });
}

/// Whether any of the probe's echo requests was answered by `req.ip`. A probe that cannot be
/// sent (no raw socket: not root) counts as unanswered, so the server still offers (fails
/// open, as the server does without the probe); the reason is logged.
fn answered(net: ProbeNet, req: &ProbeRequest) -> bool {
    let mut prober: Box<dyn Prober> = match net {
        ProbeNet::Sim(lan, node) => Box::new(SimProber { lan, node }),
        ProbeNet::Linux => match LinuxProber::new() {
            Ok(p) => Box::new(p),
            Err(e) => {
                tracing::warn!(module = "DHCPS", ip = %req.ip, "conflict probe not sent: {e}");
                return false;
            }
        },
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    for seq in 0..u16::from(req.packets) {
        let probe = Probe {
            dst: req.ip,
            source: None,
            ttl: 64,
            data_len: 32,
            timeout: Duration::from_millis(u64::from(req.timeout_ms)),
            id,
            seq,
        };
        match prober.probe(&probe, &mut || false) {
            Ok(Outcome::Reply { from, .. }) if from == req.ip => return true,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(module = "DHCPS", ip = %req.ip, "conflict probe not sent: {e}");
                return false;
            }
        }
    }
    false
}
