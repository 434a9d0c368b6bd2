//! `duet demo`: the [`Pair`] with hot backup and its clients in this process, a control socket per device,
//! the console on device A, the clients' events in `DIR/clients.log`, and a summary of what
//! the clients went through when the console ends, or when a signal stops the demo (SIGTERM,
//! SIGHUP, and SIGINT unless the console is on a terminal): both devices are stopped as
//! `duet run` stops (VRRP masters resign; every lease is already in the journal, which is
//! flushed before each reply leaves) before the summary is printed.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context as _;
use tokio::time::Instant;

use super::check::check;
use super::client::{ClientEvent, ClientOptions, ClientState};
use super::pair::{
    LINK_A, LINK_B, POOL_FIRST, POOL_LAST, Pair, PairOptions, Side, VIRTUAL_IP, lan_port, link_port,
};
use super::station::StationView;
use crate::device::Device;
use crate::session::console;
use crate::session::control::{ControlServer, SOCKET_NAME};
use crate::session::signals::StopSignals;

/// What `duet demo` runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The folder holding `A/`, `B/` and `clients.log`.
    pub dir: PathBuf,
    pub clients: usize,
    pub lease_secs: u32,
    /// The hot-backup port on the failover link (A 192.168.255.1, B 192.168.255.2).
    pub hot_backup_port: u16,
}

/// Client retransmission timing scaled to the demo's short leases.
pub fn demo_client_options() -> ClientOptions {
    ClientOptions {
        first_retransmit: Duration::from_secs(1),
        max_retransmit: Duration::from_secs(8),
        request_attempts: 4,
    }
}

/// Run the demo until A's console ends; returns the summary printed last.
pub fn run(opts: DemoOptions) -> anyhow::Result<String> {
    let dirs = [opts.dir.join("A"), opts.dir.join("B")];
    for d in &dirs {
        crate::datadir::create(d)
            .with_context(|| format!("cannot create the data directory {}", d.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("duet-demo")
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let pair_opts = PairOptions {
        lease_secs: opts.lease_secs.max(4),
        hot_backup: Some(opts.hot_backup_port),
        ..PairOptions::default()
    };
    let mut pair = Pair::new(dirs.clone(), pair_opts);
    let mut controls = Vec::new();
    for side in Side::BOTH {
        let device = runtime.block_on(pair.start(side))?;
        let path = pair.data_dir(side).join(SOCKET_NAME);
        controls.push(ControlServer::start(device, &path, runtime.handle())?);
    }
    let epoch = runtime.block_on(async { Instant::now() });
    {
        let _rt = runtime.enter();
        pair.add_clients(opts.clients, demo_client_options(), 1, epoch);
    }
    let log_path = opts.dir.join("clients.log");
    let logger = runtime.spawn(write_client_log(log_path.clone(), station_views(&pair)));
    print_banner(&opts, &pair_opts, &log_path)?;
    let device = pair
        .device(Side::A)
        .cloned()
        .context("device A is not running")?;
    let signals = {
        let _rt = runtime.enter();
        StopSignals::new().context("cannot catch the stop signals")?
    };
    runtime.spawn(stop_on_signal(
        signals,
        Side::BOTH.map(|s| pair.device(s).cloned()),
        controls.iter().map(|c| c.path().to_path_buf()).collect(),
        station_views(&pair),
        console::on_terminal(),
        // Read now: the task may first run after the console has changed the mode.
        nix::sys::termios::tcgetattr(io::stdin()).ok(),
    ));
    let console = console::run_console(device, console::AfterQuit::End, None);
    logger.abort();
    let summary = summary(&views(&pair));
    println!("{summary}");
    io::stdout().flush()?;
    for side in Side::BOTH {
        runtime.block_on(pair.shutdown(side));
    }
    for c in controls {
        c.shutdown();
    }
    drop(pair);
    runtime.shutdown_timeout(Duration::from_secs(1));
    match console {
        Ok(_) => Ok(summary),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(summary),
        Err(e) => Err(e).context("console"),
    }
}

/// The console holds the main thread (and the stdout lock while it waits for input): a stop
/// signal ends the demo from here. Both devices stop as on `quit`, the terminal is put back,
/// the control sockets are removed, and the summary goes straight to standard output. `saved`
/// is the terminal's mode from before the console started.
async fn stop_on_signal(
    signals: StopSignals,
    devices: [Option<Arc<Device>>; 2],
    sockets: Vec<PathBuf>,
    views: impl Fn() -> Vec<StationView>,
    on_terminal: bool,
    saved: Option<nix::sys::termios::Termios>,
) {
    signals.next(on_terminal).await;
    for d in devices.iter().flatten() {
        d.shutdown().await;
    }
    if let Some(saved) = saved {
        let _ =
            nix::sys::termios::tcsetattr(io::stdin(), nix::sys::termios::SetArg::TCSANOW, &saved);
    }
    for s in &sockets {
        let _ = std::fs::remove_file(s);
    }
    let text = format!("\n{}\n", summary(&views()));
    let mut bytes = text.as_bytes();
    while !bytes.is_empty() {
        match nix::unistd::write(io::stdout(), bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    std::process::exit(0);
}

fn print_banner(opts: &DemoOptions, pair: &PairOptions, log: &Path) -> io::Result<()> {
    let b = opts.dir.join("B");
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Duet demo: devices A and B on a simulated LAN (10.0.0.0/24, {lan} on each) and a \
         failover link.\n\
         VRRP group 1: virtual IP {VIRTUAL_IP}, A priority 120 (master), B priority 100.\n\
         DHCP pool lan: {POOL_FIRST}-{POOL_LAST}, {lease} s leases; {n} simulated clients \
         obtain and renew them.\n\
         Hot backup: A ({LINK_A}) copies every binding to B ({LINK_B}) over the failover link\n\
         ({link} on each) before the client's ACK.\n\
         \n\
         This console is device A. Device B: duet connect --data-dir {b}\n\
         The clients' ACKs and NAKs: tail -f {log}\n\
         \n\
         Try: display vrrp, display hot-backup, display dhcp server ip-in-use. Then take A off the LAN:\n\
         \x20 system-view\n\
         \x20 interface {lan}\n\
         \x20 shutdown\n\
         B becomes master (display vrrp on B), already holding every binding, and the clients\n\
         renew their addresses with B.\n\
         `undo shutdown` gives A the master role back. `quit` ends the demo.\n",
        lan = lan_port(),
        link = link_port(),
        lease = pair.lease_secs,
        n = opts.clients,
        b = b.display(),
        log = log.display(),
    )?;
    out.flush()
}

/// A snapshot of every client.
pub fn views(pair: &Pair) -> Vec<StationView> {
    pair.stations().iter().map(|s| s.view()).collect()
}

/// A way to read the clients from the log task (the pair stays on the main thread).
fn station_views(pair: &Pair) -> impl Fn() -> Vec<StationView> + Send + 'static {
    let stations: Vec<_> = pair.stations().iter().map(|s| s.viewer()).collect();
    move || stations.iter().map(|v| v()).collect()
}

fn mac_text(mac: [u8; 6]) -> String {
    // Comware style: 0011-2233-4455.
    format!(
        "{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// One line per client event.
pub fn event_line(client: usize, mac: [u8; 6], ev: &ClientEvent) -> String {
    let who = format!("client{:02} {}", client + 1, mac_text(mac));
    match ev {
        ClientEvent::Ack { at, lease } => format!(
            "{:>8.1}s {who} ACK {} from {} (lease {} s)",
            at.as_secs_f64(),
            lease.ip,
            lease.server_id,
            (lease.expiry - lease.start).as_secs()
        ),
        ClientEvent::Nak { at, held } => format!(
            "{:>8.1}s {who} NAK{}",
            at.as_secs_f64(),
            held.map(|ip| format!(" while holding {ip}"))
                .unwrap_or_default()
        ),
        ClientEvent::Expired { at, ip } => {
            format!("{:>8.1}s {who} lease of {ip} EXPIRED", at.as_secs_f64())
        }
    }
}

/// Append new client events to the log file twice a second.
async fn write_client_log(path: PathBuf, views: impl Fn() -> Vec<StationView>) {
    let mut written: Vec<usize> = Vec::new();
    let mut file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("cannot write {}: {e}", path.display());
            return;
        }
    };
    loop {
        let mut text = String::new();
        for (i, v) in views().iter().enumerate() {
            if written.len() <= i {
                written.resize(i + 1, 0);
            }
            for ev in &v.events[written[i]..] {
                let _ = writeln!(text, "{}", event_line(i, v.mac, ev));
            }
            written[i] = v.events.len();
        }
        if !text.is_empty() && file.write_all(text.as_bytes()).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the clients went through, in a few lines.
pub fn summary(views: &[StationView]) -> String {
    let bound = views
        .iter()
        .filter(|v| {
            matches!(
                v.state,
                ClientState::Bound | ClientState::Renewing | ClientState::Rebinding
            )
        })
        .count();
    let acks: usize = views
        .iter()
        .map(|v| {
            v.events
                .iter()
                .filter(|e| matches!(e, ClientEvent::Ack { .. }))
                .count()
        })
        .sum();
    let servers: std::collections::BTreeSet<_> = views
        .iter()
        .flat_map(|v| v.events.iter())
        .filter_map(|e| match e {
            ClientEvent::Ack { lease, .. } => Some(lease.server_id),
            _ => None,
        })
        .collect();
    let problems = check(views);
    let mut s = format!(
        "Clients: {} in total, {bound} bound, {acks} ACKs received (server identifiers: {}).\n",
        views.len(),
        servers
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if problems.is_empty() {
        s.push_str("Every client kept its address; no address was held by two clients.");
    } else {
        let _ = write!(s, "{} problems:", problems.len());
        for p in problems {
            let _ = write!(s, "\n  {p}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::client::Lease;

    fn view(ip: [u8; 4], state: ClientState) -> StationView {
        let s = Duration::from_secs;
        StationView {
            mac: [2, 0xd0, 0, 2, 0, 1],
            state,
            lease: None,
            events: vec![ClientEvent::Ack {
                at: s(3),
                lease: Lease {
                    ip: ip.into(),
                    server_id: VIRTUAL_IP,
                    start: s(3),
                    t1: s(33),
                    t2: s(55),
                    expiry: s(63),
                },
            }],
        }
    }

    #[test]
    fn summary_counts_clients_and_names_problems() {
        let ok = summary(&[
            view([10, 0, 0, 100], ClientState::Bound),
            view([10, 0, 0, 101], ClientState::Selecting),
        ]);
        assert_eq!(
            ok,
            "Clients: 2 in total, 1 bound, 2 ACKs received (server identifiers: 10.0.0.254).\n\
             Every client kept its address; no address was held by two clients."
        );
        let shared = summary(&[
            view([10, 0, 0, 100], ClientState::Bound),
            view([10, 0, 0, 100], ClientState::Bound),
        ]);
        assert!(
            shared.ends_with("1 problems:\n  10.0.0.100 was held by clients 0 and 1 at 3s"),
            "{shared}"
        );
    }

    #[test]
    fn event_lines_name_client_mac_and_address() {
        let v = view([10, 0, 0, 100], ClientState::Bound);
        assert_eq!(
            event_line(0, v.mac, &v.events[0]),
            "     3.0s client01 02d0-0002-0001 ACK 10.0.0.100 from 10.0.0.254 (lease 60 s)"
        );
        let nak = ClientEvent::Nak {
            at: Duration::from_millis(40_500),
            held: Some([10, 0, 0, 100].into()),
        };
        assert_eq!(
            event_line(1, v.mac, &nak),
            "    40.5s client02 02d0-0002-0001 NAK while holding 10.0.0.100"
        );
    }
}
