//! The SSH server (Stelnet), built on russh: it runs inside `duet run` while `ssh server
//! enable` is configured, on `ssh server port` (or `duet run --ssh-port`), and follows
//! configuration changes (enable, disable, new port) as they are published.
//!
//! - [`hostkey`]: the ed25519 host key in the data directory.
//! - [`auth`]: the login decision (vty `authentication-mode`, local users, keys).
//! - [`lockout`]: brute-force protection (sans-IO).
//! - [`startups`]: unauthenticated connections per source and in total (sans-IO).
//! - [`checks`]: password checks, a few at once behind a bounded queue.
//! - [`pty`]: a PTY per interactive session with the `duet connect` front end on it.
//! - `server`: the russh handler that ties them together.

pub mod auth;
pub mod checks;
pub mod hostkey;
pub mod lockout;
pub mod pty;
mod server;
pub mod startups;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::device::Device;

/// The environment variable that carries an SSH login's one-time token to its shell process
/// (`duet connect`), which presents it on the control socket.
pub const LOGIN_TOKEN_ENV: &str = "DUET_LOGIN_TOKEN";

/// How `duet run` starts the SSH server.
#[derive(Clone, Debug)]
pub struct SshOptions {
    /// Address to listen on (`0.0.0.0` by default; tests use 127.0.0.1).
    pub address: IpAddr,
    /// Overrides `ssh server port` (for unprivileged testing).
    pub port: Option<u16>,
    /// The `duet` binary, run as each interactive session's shell.
    pub exe: PathBuf,
    /// The control socket the shells connect to.
    pub socket: PathBuf,
}

/// The SSH server's logins in progress, as `display ssh server status` shows them.
#[derive(Debug, Default)]
pub struct LoginLoad {
    /// Connections that hold a startup slot (accepted, not logged in yet).
    pub logging_in: AtomicUsize,
    /// Connections closed at accept (no startup slot, or a locked-out source), since start.
    pub refused: AtomicU64,
    pub checks: Arc<checks::CheckLoad>,
}

/// The running SSH service (a supervisor task); dropping it stops listening.
pub struct SshService {
    task: JoinHandle<()>,
}

impl Drop for SshService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start supervising the SSH server of `device` on `rt`.
pub fn start(device: Arc<Device>, options: SshOptions, rt: &Handle) -> SshService {
    let load = Arc::new(LoginLoad::default());
    let checks = match checks::Checks::start(checks::CHECKERS, checks::QUEUE, load.checks.clone()) {
        Ok(c) => c,
        Err(e) => {
            device.log(
                "SSHS",
                3,
                "SSHS_LOG",
                &format!("The SSH server cannot start its password checkers: {e}"),
            );
            return SshService {
                task: rt.spawn(async {}),
            };
        }
    };
    device.sessions.set_ssh_load(Some(load.clone()));
    let shared = Arc::new(server::Shared {
        device,
        options,
        lockout: Mutex::new(lockout::Lockout::default()),
        startups: Mutex::new(startups::Startups::default()),
        checks,
        load,
        rt: rt.clone(),
    });
    let span = shared.device.span();
    let task = rt.spawn(tracing::Instrument::instrument(supervise(shared), span));
    SshService { task }
}

/// The listener that runs now: its address and its accept task.
struct Running {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follow the configuration: listen while enabled, on the configured (or overridden) port.
async fn supervise(shared: Arc<server::Shared>) {
    let device = shared.device.clone();
    let mut config = device.config.subscribe();
    let mut running: Option<Running> = None;
    let mut key: Option<russh::keys::PrivateKey> = None;
    loop {
        let want = {
            let c = config.borrow_and_update();
            c.ssh.enabled.then(|| {
                SocketAddr::new(
                    shared.options.address,
                    shared.options.port.unwrap_or(c.ssh.port),
                )
            })
        };
        if running.as_ref().map(|r| r.addr) != want {
            if let Some(old) = running.take() {
                drop(old);
                device.sessions.set_ssh_listening(None);
                device.log("SSHS", 6, "SSHS_LOG", "The SSH server stopped listening.");
            }
            if let Some(addr) = want {
                running = listen(&shared, addr, &mut key).await;
            }
        }
        if config.changed().await.is_err() {
            break;
        }
    }
}

async fn listen(
    shared: &Arc<server::Shared>,
    addr: SocketAddr,
    key: &mut Option<russh::keys::PrivateKey>,
) -> Option<Running> {
    let device = &shared.device;
    if key.is_none() {
        let dir = device.options.data_dir.clone();
        match tokio::task::spawn_blocking(move || hostkey::load_or_create(&dir)).await {
            Ok(Ok(k)) => *key = Some(k),
            Ok(Err(e)) => {
                device.log(
                    "SSHS",
                    3,
                    "SSHS_LOG",
                    &format!("The SSH server cannot start: {e}"),
                );
                return None;
            }
            Err(_) => return None,
        }
    }
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            device.log(
                "SSHS",
                3,
                "SSHS_LOG",
                &format!("The SSH server cannot listen on {addr}: {e}"),
            );
            return None;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let config = Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-Duet".into()),
        keys: key.iter().cloned().collect(),
        // Failed attempts cost the client this long; the first "none" probe costs nothing.
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(60)),
        ..Default::default()
    });
    let accepting = shared.clone();
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((socket, peer)) => {
                    // Refused before the handshake: a locked-out source, or no startup slot.
                    let Some(slot) = server::Slot::take(&accepting, peer) else {
                        drop(socket);
                        continue;
                    };
                    let _ = socket.set_nodelay(true);
                    // Each connection is a task of its own: it outlives this loop, so
                    // stopping or moving the server leaves open sessions alone.
                    tokio::spawn(server::serve_connection(
                        accepting.clone(),
                        config.clone(),
                        socket,
                        peer,
                        slot,
                    ));
                }
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "ssh server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    device.sessions.set_ssh_listening(Some(bound));
    device.log(
        "SSHS",
        6,
        "SSHS_LOG",
        &format!("The SSH server is listening on {bound}."),
    );
    Some(Running { addr, task })
}
