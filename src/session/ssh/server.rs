//! The russh handler: one [`Conn`] per SSH connection. It authenticates against the running
//! configuration (see [`super::auth`]), counts failures for the lockout, runs exec requests in
//! process with the user's role, and runs interactive sessions as the `duet connect` front end
//! on a PTY, logged in through a one-time token registered in the device's session table.
//!
//! What an unauthenticated client can make the server hold is bounded: a connection is only
//! served with a startup [`Slot`] (per source and in total, see [`super::startups`]) until it
//! logs in or its `authentication-timeout` runs out; each password attempt counts against the
//! source's lockout when it starts, and its check waits for one of a few checkers
//! ([`super::checks`]) or is refused.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use russh::keys::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session as SshSession};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::runtime::Handle;

use super::auth::{self, Credential, Refusal};
use super::checks::{Busy, Checks};
use super::lockout::Lockout;
use super::startups::Startups;
use super::{LOGIN_TOKEN_ENV, LoginLoad, SshOptions, pty};
use crate::device::Device;
use crate::session::table::{Access, Identity};
use crate::session::{Interaction, Role, Session, SessionState};

/// Channels one connection may open at once.
const MAX_CHANNELS: usize = 4;
/// Window size for clients that send none or 0x0 (`ssh -T`).
const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// What every connection of one server shares.
pub struct Shared {
    pub device: Arc<Device>,
    pub options: SshOptions,
    pub lockout: Mutex<Lockout>,
    pub startups: Mutex<Startups>,
    pub checks: Checks,
    pub load: Arc<LoginLoad>,
    pub rt: Handle,
}

impl Shared {
    fn log(&self, severity: u8, what: &str, text: &str) {
        self.device.log("SSHS", severity, what, text);
    }

    /// Is `source` locked out now?
    fn locked(&self, source: IpAddr) -> bool {
        self.lockout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_locked(source, Instant::now())
    }
}

/// A startup slot: held by a connection from accept until it logs in or ends.
pub struct Slot {
    shared: Arc<Shared>,
    source: IpAddr,
}

impl Slot {
    /// A slot for a new connection from `peer`, or `None` (logged and counted) when the source
    /// is locked out or no slot is free: the caller closes the connection before any handshake.
    pub fn take(shared: &Arc<Shared>, peer: SocketAddr) -> Option<Slot> {
        let source = peer.ip();
        let refused = if shared.locked(source) {
            Some("the source is locked out after repeated login failures".to_string())
        } else {
            let admitted = shared
                .startups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .admit(source);
            admitted.err().map(|crowded| crowded.reason())
        };
        if let Some(reason) = refused {
            shared.load.refused.fetch_add(1, Ordering::Relaxed);
            shared.log(
                5,
                "SSHS_LOG",
                &format!(
                    "Refused a connection from {source} port {}: {reason}.",
                    peer.port()
                ),
            );
            return None;
        }
        shared.load.logging_in.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            shared: shared.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared
            .startups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(self.source);
        self.shared.load.logging_in.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve one accepted TCP connection: the SSH handshake and session, dropped when it has not
/// logged in within `ssh server authentication-timeout` (OpenSSH's `LoginGraceTime`). A
/// connection that fails before logging in (a scanner, a client that hangs up mid-handshake,
/// garbage) is logged and ends alone; its `slot` goes back with it.
pub async fn serve_connection(
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    let grace_secs = shared.device.config.lock().ssh.auth_timeout_secs;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(grace_secs));
    let authenticated = Arc::new(AtomicBool::new(false));
    let conn = Conn {
        shared: shared.clone(),
        peer: Some(peer),
        identity: None,
        channels: HashMap::new(),
        authenticated: authenticated.clone(),
        slot: Some(slot),
    };
    let device = shared.device.clone();
    let early = |reason: String| {
        device.log(
            "SSHS",
            6,
            "SSHS_LOG",
            &format!(
                "The connection from {} port {} ended before login: {reason}.",
                peer.ip(),
                peer.port()
            ),
        );
    };
    let running =
        match tokio::time::timeout_at(deadline, russh::server::run_stream(config, socket, conn))
            .await
        {
            Ok(Ok(running)) => running,
            Ok(Err(e)) => return early(e.to_string()),
            Err(_) => return early("no SSH identification in time".into()),
        };
    let handle = running.handle();
    let mut running = std::pin::pin!(running);
    let logged_in = tokio::select! {
        ended = &mut running => {
            match ended {
                Err(e) if !authenticated.load(Ordering::SeqCst) => early(e.to_string()),
                Ok(()) if !authenticated.load(Ordering::SeqCst) => {
                    early("the client closed the connection".into())
                }
                Err(e) => tracing::debug!(error = %e, "ssh connection ended with an error"),
                Ok(()) => {}
            }
            return;
        }
        () = tokio::time::sleep_until(deadline) => authenticated.load(Ordering::SeqCst),
    };
    if !logged_in {
        early(format!("no login within {grace_secs} seconds"));
        let _ = handle
            .disconnect(
                russh::Disconnect::ByApplication,
                "login timed out".into(),
                String::new(),
            )
            .await;
    }
    if let Err(e) = running.await {
        tracing::debug!(error = %e, "ssh connection ended with an error");
    }
}

/// One interactive shell: the PTY's writer and the process.
struct Shell {
    input: mpsc::Sender<Vec<u8>>,
    master: Arc<File>,
    pid: Arc<AtomicI32>,
}

#[derive(Default)]
struct Chan {
    size: Option<(u16, u16)>,
    term: Option<String>,
    shell: Option<Shell>,
}

/// One SSH connection.
pub struct Conn {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    identity: Option<Identity>,
    channels: HashMap<ChannelId, Chan>,
    /// Set once a login succeeded (read by [`serve_connection`]'s login deadline).
    authenticated: Arc<AtomicBool>,
    /// The startup slot, given back when the login succeeds (or with the connection).
    slot: Option<Slot>,
}

fn kill_group(pid: &AtomicI32) {
    let pid = pid.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: plain syscall; the child leads its own process group (setsid).
        unsafe {
            libc::kill(-pid, libc::SIGHUP);
        }
    }
}

/// Commands of an exec request ask nothing.
struct NoQuestions;
impl Interaction for NoQuestions {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// Run one exec request's command line as `identity` on a vty line of its own.
fn run_exec(device: &Arc<Device>, identity: &Identity, line: &str) -> (String, bool) {
    let Some(vty) = device.sessions.take_vty() else {
        return (
            "All user lines are in use; try again later.\n".into(),
            false,
        );
    };
    let _span = device.span().entered();
    // Listed by `display users` while it runs; the entry goes with the line.
    device
        .sessions
        .register(&vty.name(), Access::Ssh, identity, Box::new(|| {}));
    let state = SessionState::new(identity.role, &identity.user, &vty.name(), &identity.peer);
    let mut session = Session::new(device.clone(), state);
    let line = crate::session::frontend::InputLine::new(line.trim_end().as_bytes());
    if line.too_long {
        return (crate::session::frontend::TOO_LONG.into(), false);
    }
    let prompt = session.prompt();
    let outcome = session.execute(&line.text, &mut NoQuestions);
    // A caret counts the prompt's width: show the line it points into, as a terminal would.
    let caret = outcome.output.lines().any(|l| l.trim() == "^");
    let output = if caret {
        format!("{prompt}{}\n{}", line.text, outcome.output)
    } else {
        outcome.output
    };
    (output, outcome.ok)
}

impl Conn {
    fn device(&self) -> &Arc<Device> {
        &self.shared.device
    }

    fn peer_ip(&self) -> String {
        self.peer
            .map(|p| p.ip().to_string())
            .unwrap_or_else(|| "**".into())
    }

    fn peer_port(&self) -> u16 {
        self.peer.map(|p| p.port()).unwrap_or(0)
    }

    /// Retry is allowed: OpenSSH asks again (`Auth::reject()` would drop the method).
    fn retry() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(
                &[MethodKind::Password, MethodKind::PublicKey][..],
            )),
            partial_success: false,
        }
    }

    /// Refuse a locked-out source: log it and end the connection.
    fn check_locked(&self) -> Result<(), russh::Error> {
        let Some(peer) = self.peer else {
            return Ok(());
        };
        if self.shared.locked(peer.ip()) {
            self.device().log(
                "SSHS",
                5,
                "SSHS_LOG",
                &format!(
                    "Refused a connection from {} port {}: the source is locked out after repeated login failures.",
                    peer.ip(),
                    peer.port()
                ),
            );
            return Err(russh::Error::Disconnect);
        }
        Ok(())
    }

    fn succeeded(&mut self, user: &str, role: Role) -> Auth {
        if let Some(peer) = self.peer {
            self.shared
                .lockout
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .success(peer.ip());
        }
        self.slot = None;
        self.authenticated.store(true, Ordering::SeqCst);
        self.identity = Some(Identity {
            user: user.to_string(),
            role,
            peer: self.peer_ip(),
        });
        Auth::Accept
    }

    /// Count an attempt as a failure before its credential is checked (the lockout's
    /// invariant); log the lockout it causes.
    fn count_attempt(&self) {
        let Some(peer) = self.peer else {
            return;
        };
        let lock_for = Duration::from_secs(u64::from(self.device().config.lock().ssh.lockout_secs));
        let locked = self
            .shared
            .lockout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failure(peer.ip(), Instant::now(), lock_for);
        if locked {
            self.device().log(
                "SSHS",
                4,
                "SSHS_LOCKOUT",
                &format!(
                    "{} is refused for {} seconds after {} failed logins within a minute.",
                    peer.ip(),
                    lock_for.as_secs(),
                    super::lockout::MAX_FAILURES
                ),
            );
        }
    }

    fn failed(&self, user: &str, refusal: Refusal) -> Auth {
        // Oversized names are cut for the log.
        let shown: String = user.chars().take(64).collect();
        self.device().log(
            "SSHS",
            6,
            "SSHS_LOG",
            &format!(
                "Authentication failed for {} from {} port {} because {}.",
                shown,
                self.peer_ip(),
                self.peer_port(),
                refusal.reason()
            ),
        );
        Self::retry()
    }

    /// Decide a login: counted against the lockout first, then a password goes to the
    /// checkers (argon2 is slow on purpose) and a key, already proved by its signature, is
    /// looked up at once.
    async fn decide(
        &mut self,
        user: &str,
        credential: OwnedCredential,
    ) -> Result<Auth, russh::Error> {
        self.check_locked()?;
        let Some(vty) = self.device().sessions.next_vty() else {
            return Ok(Auth::reject());
        };
        self.count_attempt();
        let decided = match credential {
            OwnedCredential::Key(key) => {
                let config = self.device().config.snapshot();
                let scratch = &mut Default::default();
                auth::authenticate(&config, vty, user, Credential::Key(&key), scratch)
            }
            OwnedCredential::Password(password) => {
                let device = self.device().clone();
                let name = user.to_string();
                let submitted = self.shared.checks.submit(move |scratch| {
                    let config = device.config.snapshot();
                    let credential = Credential::Password(&password);
                    auth::authenticate(&config, vty, &name, credential, scratch)
                });
                match submitted {
                    Ok(result) => result.await.unwrap_or(Err(Refusal::WrongPassword)),
                    Err(Busy) => Err(Refusal::Busy),
                }
            }
        };
        Ok(match decided {
            Ok(role) => self.succeeded(user, role),
            Err(refusal) => self.failed(user, refusal),
        })
    }

    fn start_shell(&mut self, channel: ChannelId, session: &mut SshSession) -> std::io::Result<()> {
        let identity = self
            .identity
            .clone()
            .ok_or_else(|| std::io::Error::other("not authenticated"))?;
        let chan = self.channels.entry(channel).or_default();
        if chan.shell.is_some() {
            return Err(std::io::Error::other("a shell is already running"));
        }
        let (cols, rows) = chan.size.unwrap_or(DEFAULT_SIZE);
        let term = chan.term.clone().unwrap_or_else(|| "vt100".into());
        let pid = Arc::new(AtomicI32::new(0));
        let killer = pid.clone();
        let token = self
            .shared
            .device
            .sessions
            .add_token(identity, Box::new(move || kill_group(&killer)))?;
        let socket = self.shared.options.socket.to_string_lossy().to_string();
        let (master, mut child) = pty::spawn(
            &self.shared.options.exe,
            // The byte stream of a Comware device (session/lineedit.rs): SSH is where scripts
            // drive the device.
            &["connect", "--comware-stream", "--socket", &socket],
            &[("TERM", &term), (LOGIN_TOKEN_ENV, &token)],
            cols,
            rows,
        )?;
        pid.store(child.id() as i32, Ordering::SeqCst);
        let master = Arc::new(master);
        let (input, typed) = mpsc::channel::<Vec<u8>>();
        let mut writer = master.try_clone()?;
        std::thread::Builder::new()
            .name("ssh-pty-in".into())
            .spawn(move || {
                for bytes in typed {
                    if writer.write_all(&bytes).is_err() {
                        break;
                    }
                }
            })?;
        let mut reader = master.try_clone()?;
        let handle = session.handle();
        let rt = self.shared.rt.clone();
        let reaped = pid.clone();
        std::thread::Builder::new()
            .name("ssh-pty-out".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let data = buf[..n].to_vec();
                            if rt.block_on(handle.data(channel, data)).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // EIO: the shell closed the terminal (platform-notes).
                        Err(_) => break,
                    }
                }
                let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
                reaped.store(0, Ordering::SeqCst);
                rt.block_on(async {
                    let _ = handle.exit_status_request(channel, status as u32).await;
                    let _ = handle.eof(channel).await;
                    let _ = handle.close(channel).await;
                });
            })?;
        chan.shell = Some(Shell { input, master, pid });
        Ok(())
    }
}

/// A credential moved into the blocking task.
enum OwnedCredential {
    Password(String),
    Key(PublicKey),
}

impl Drop for Conn {
    fn drop(&mut self) {
        for chan in self.channels.values() {
            if let Some(shell) = &chan.shell {
                kill_group(&shell.pid);
            }
        }
        if let Some(identity) = &self.identity {
            self.shared.device.log(
                "SSHS",
                6,
                "SSHS_DISCONNECT",
                &format!(
                    "SSH user {} (IP: {}) disconnected from the server.",
                    identity.user, identity.peer
                ),
            );
        }
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        self.check_locked()?;
        let vty = self.device().sessions.next_vty();
        let open = vty.and_then(|n| auth::open_line(&self.device().config.snapshot(), n));
        Ok(match open {
            Some(role) if user.chars().count() <= crate::aaa::users::MAX_USER_NAME => {
                self.succeeded(user, role)
            }
            _ => Self::retry(),
        })
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.decide(user, OwnedCredential::Password(password.to_string()))
            .await
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        self.check_locked()?;
        // Only keys some local user authorized go on to the signature check; offering others
        // is not a failure (clients try every key they have).
        let config = self.device().config.snapshot();
        let known = config
            .users
            .get(user)
            .is_some_and(|u| auth::key_authorized(&u.keys, offer.public_key));
        Ok(if known { Auth::Accept } else { Self::retry() })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.decide(user, OwnedCredential::Key(key.public_key.clone()))
            .await
    }

    async fn auth_succeeded(&mut self, _session: &mut SshSession) -> Result<(), Self::Error> {
        if let Some(identity) = &self.identity {
            self.shared.device.log(
                "SSHS",
                6,
                "SSHS_CONNECT",
                &format!(
                    "SSH user {} (IP: {}) connected to the server successfully.",
                    identity.user, identity.peer
                ),
            );
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        if self.channels.len() >= MAX_CHANNELS {
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        }
        self.channels.insert(channel.id(), Chan::default());
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.device().log(
            "SSHS",
            6,
            "SSHS_LOG",
            &format!(
                "Refused a port-forwarding channel from {}: not supported.",
                self.peer_ip()
            ),
        );
        reply
            .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        let Some(chan) = self.channels.get_mut(&channel) else {
            return session.channel_failure(channel);
        };
        chan.size = Some(size_of(col_width, row_height));
        // Only a plain terminal name goes into the shell's environment.
        let plain = !term.is_empty()
            && term.len() <= 64
            && term
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
        chan.term = plain.then(|| term.to_string());
        session.channel_success(channel)
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        if let Some(chan) = self.channels.get_mut(&channel) {
            let (cols, rows) = size_of(col_width, row_height);
            chan.size = Some((cols, rows));
            if let Some(shell) = &chan.shell {
                let _ = pty::resize(&shell.master, cols, rows);
            }
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        match self.start_shell(channel, session) {
            Ok(()) => session.channel_success(channel),
            Err(e) => {
                tracing::warn!(error = %e, "ssh: cannot start a shell");
                session.channel_failure(channel)
            }
        }
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        let Some(identity) = self.identity.clone() else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data).into_owned();
        let device = self.device().clone();
        let handle = session.handle();
        tokio::spawn(async move {
            let ran =
                tokio::task::spawn_blocking(move || run_exec(&device, &identity, &command)).await;
            let (output, ok) = ran.unwrap_or_else(|_| ("The command failed.\n".into(), false));
            if !output.is_empty() {
                let _ = handle.data(channel, output.into_bytes()).await;
            }
            let _ = handle
                .exit_status_request(channel, if ok { 0 } else { 1 })
                .await;
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
        });
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        if let Some(shell) = self.channels.get(&channel).and_then(|c| c.shell.as_ref()) {
            let _ = shell.input.send(data.to_vec());
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        if let Some(shell) = self.channels.get(&channel).and_then(|c| c.shell.as_ref()) {
            // Ctrl+D on an empty line reaches the shell as input; an EOF of the channel means
            // the client will send nothing more: end the shell.
            kill_group(&shell.pid);
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        if let Some(chan) = self.channels.remove(&channel)
            && let Some(shell) = chan.shell
        {
            kill_group(&shell.pid);
        }
        Ok(())
    }
}

/// The client's window, with 80x24 for a 0x0 report.
fn size_of(cols: u32, rows: u32) -> (u16, u16) {
    let clamp = |v: u32, default: u16| {
        if v == 0 {
            default
        } else {
            u16::try_from(v).unwrap_or(u16::MAX)
        }
    };
    (clamp(cols, DEFAULT_SIZE.0), clamp(rows, DEFAULT_SIZE.1))
}
