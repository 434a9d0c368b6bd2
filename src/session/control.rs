//! The control socket: a Unix socket at `DATA/duet.sock` (mode 0600) where `duet connect`
//! opens command sessions as network-admin. Each connection gets its own thread holding a
//! [`Session`] on line `vtyN` (the lowest free number) and speaks the JSON line protocol of
//! [`super::protocol`] (docs/control-protocol.md). The SSH server runs each interactive
//! login's shell as a `duet connect` that first presents a one-time token (`login`), so that
//! session takes the SSH user's identity and role. A session idle for its vty line's
//! `idle-timeout` is closed.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::frontend::{InputLine, Shell, TOO_LONG, read_bounded_line};
use super::monitor::LogFeed;
use super::protocol::{MAX_REQUEST_BYTES, Reply, Request, SessionInfo, encode};
use super::table::{Access, Identity, VtyLine};
use super::{Interaction, Role, Session, SessionState};
use crate::device::Device;

/// The socket's file name inside the data directory.
pub const SOCKET_NAME: &str = "duet.sock";

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0} is in use: another duet is running with this data directory")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket: move it away")]
    NotASocket(PathBuf),
    #[error("cannot open the control socket {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The running control socket. Dropping it (or [`ControlServer::shutdown`]) stops accepting
/// and removes the socket file; sessions already open run until their client leaves.
pub struct ControlServer {
    path: PathBuf,
    file: SocketFile,
    stop: Option<oneshot::Sender<()>>,
}

/// The socket file a server bound, known by its inode: removed only while the path still
/// names that file, so a device never removes a socket it does not own.
#[derive(Clone, Debug)]
pub struct SocketFile {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl SocketFile {
    /// The file at `path` now.
    pub fn at(path: &Path) -> SocketFile {
        use std::os::unix::fs::MetadataExt;
        SocketFile {
            path: path.to_path_buf(),
            id: std::fs::symlink_metadata(path)
                .ok()
                .map(|m| (m.dev(), m.ino())),
        }
    }

    /// Remove the file if the path still names it.
    pub fn remove(&self) {
        if self.id.is_some() && SocketFile::at(&self.path).id == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl ControlServer {
    /// Bind `path` (replacing a stale socket left by a crash), restrict it to the owner and
    /// accept connections on `rt`.
    pub fn start(device: Arc<Device>, path: &Path, rt: &Handle) -> Result<Self, ControlError> {
        let io_err = |source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(ControlError::NotASocket(path.to_path_buf()));
            }
            Ok(_) => {
                if UnixStream::connect(path).is_ok() {
                    return Err(ControlError::InUse(path.to_path_buf()));
                }
                std::fs::remove_file(path).map_err(io_err)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        // Bind under a temporary name and rename once restricted, so the socket never shows
        // at its real path with the umask's mode.
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(io_err)?;
        let file = SocketFile::at(&tmp);
        let ready = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .and_then(|_| std::fs::rename(&tmp, path))
            .and_then(|_| listener.set_nonblocking(true));
        let file = SocketFile {
            path: path.to_path_buf(),
            ..file
        };
        if let Err(e) = ready {
            let _ = std::fs::remove_file(&tmp);
            file.remove();
            return Err(io_err(e));
        }
        let listener = {
            let _guard = rt.enter();
            tokio::net::UnixListener::from_std(listener).map_err(io_err)?
        };
        let (stop, mut stopped) = oneshot::channel();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            if let Err(e) = spawn_session(device.clone(), stream) {
                                tracing::warn!(error = %e, "control socket: cannot start a session");
                            }
                        }
                        Err(e) => {
                            // Out of descriptors or similar: back off instead of spinning.
                            tracing::warn!(error = %e, "control socket: accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    },
                }
            }
        });
        Ok(ControlServer {
            path: path.to_path_buf(),
            file,
            stop: Some(stop),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bound socket file, for whoever removes it at exit.
    pub fn socket_file(&self) -> SocketFile {
        self.file.clone()
    }

    /// Stop accepting and remove the socket file.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.file.remove();
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn spawn_session(device: Arc<Device>, stream: tokio::net::UnixStream) -> io::Result<()> {
    let mut stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    let Some(vty) = device.sessions.take_vty() else {
        // Every vty line is taken: say so and hang up.
        let _ = stream.write_all(
            encode(&Reply::Error {
                message: "All user lines are in use; try again later.".into(),
            })
            .as_bytes(),
        );
        return Ok(());
    };
    let line = vty.name();
    std::thread::Builder::new()
        .name(line.clone())
        .spawn(move || {
            // Events of this session go to this device's log buffer.
            let _span = device.span().entered();
            if let Err(e) = serve(&device, stream, &vty) {
                tracing::debug!(error = %e, line = vty.name(), "control session ended");
            }
            drop(vty);
        })?;
    Ok(())
}

/// The device side of one connection.
struct Link {
    reader: BufReader<UnixStream>,
    /// Shared with the thread that sends log messages: one reply is written whole.
    writer: Arc<Mutex<UnixStream>>,
}

/// Write one reply, whole.
fn send_on(writer: &Mutex<UnixStream>, reply: &Reply) -> io::Result<()> {
    writer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_all(encode(reply).as_bytes())
}

impl Link {
    fn send(&mut self, reply: &Reply) -> io::Result<()> {
        send_on(&self.writer, reply)
    }

    /// The next request, `Ok(None)` at end of input. A line that is not a valid request is
    /// answered with an error here and skipped.
    fn next_request(&mut self) -> io::Result<Option<Request>> {
        loop {
            let Some((raw, dropped)) = read_bounded_line(&mut self.reader, MAX_REQUEST_BYTES)?
            else {
                return Ok(None);
            };
            if dropped {
                self.send(&Reply::Error {
                    message: format!("request longer than {MAX_REQUEST_BYTES} bytes"),
                })?;
                continue;
            }
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Request>(&raw) {
                Ok(req) => return Ok(Some(req)),
                Err(e) => self.send(&Reply::Error {
                    message: format!("bad request: {e}"),
                })?,
            }
        }
    }
}

/// Questions a command asks go to the client as `ask`; requests other than `answer` meanwhile
/// get an error and the question stays pending. A running command's progress goes out as
/// `progress`, and an `interrupt` request stops it.
impl Interaction for Link {
    fn progress(&mut self, text: &str) -> bool {
        self.send(&Reply::Progress {
            text: text.to_string(),
        })
        .is_ok()
    }

    fn interrupted(&mut self) -> bool {
        let mut stop = false;
        while let Some(request) = self.waiting_request() {
            match request {
                Request::Interrupt => stop = true,
                _ => {
                    let _ = self.send(&Reply::Error {
                        message: "a command is running: wait for its end or interrupt it".into(),
                    });
                }
            }
        }
        stop
    }

    fn ask(&mut self, prompt: &str) -> Option<String> {
        self.send(&Reply::Ask {
            prompt: prompt.to_string(),
        })
        .ok()?;
        loop {
            match self.next_request().ok()?? {
                Request::Answer { text } => return text.map(|t| InputLine::new(t.as_bytes()).text),
                _ => self
                    .send(&Reply::Error {
                        message: "a question is pending: send an answer first".into(),
                    })
                    .ok()?,
            }
        }
    }
}

impl Link {
    /// A complete request line already waiting on the connection, taken without blocking.
    /// A partial line stays where it is.
    fn waiting_request(&mut self) -> Option<Request> {
        let stream = self.reader.get_ref().try_clone().ok()?;
        stream.set_nonblocking(true).ok()?;
        let complete = self
            .reader
            .fill_buf()
            .map(|b| b.contains(&b'\n'))
            .unwrap_or(false);
        let _ = stream.set_nonblocking(false);
        if !complete {
            return None;
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).ok()?;
        serde_json::from_str(&line).ok()
    }
}

/// The session's state; `in_history` only for the `done` that ends an `exec`.
fn info(session: &Session, ok: bool, in_history: bool) -> Reply {
    Reply::Done(SessionInfo {
        ok,
        prompt: session.prompt(),
        screen_length: session.state.screen_length,
        exit: session.state.exit,
        line: session.state.line.clone(),
        in_history,
    })
}

/// How the session on a connection logged in (logged at its first request).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoggedIn {
    Not,
    /// `duet connect` by someone with access to the socket.
    Control,
    /// The shell of an SSH login, identified by its token.
    Ssh,
}

fn serve(device: &Arc<Device>, stream: UnixStream, vty: &VtyLine) -> io::Result<()> {
    let line = vty.name();
    let closer = stream.try_clone()?;
    let anonymous = Identity {
        user: "**".into(),
        role: Role::NetworkAdmin,
        peer: "**".into(),
    };
    device.sessions.register(
        &line,
        Access::Control,
        &anonymous,
        Box::new(move || {
            let _ = closer.shutdown(std::net::Shutdown::Both);
        }),
    );
    let mut link = Link {
        reader: BufReader::new(stream.try_clone()?),
        writer: Arc::new(Mutex::new(stream)),
    };
    let state = SessionState::new(Role::NetworkAdmin, "**", &line, "**");
    let mut session = Session::new(device.clone(), state);
    let mut logged = LoggedIn::Not;
    let forwarding = forward_logs(device, &link, &session)?;
    let result = converse(device, &mut link, &mut session, vty.number(), &mut logged);
    forwarding.store(true, Ordering::SeqCst);
    let state = &session.state;
    match logged {
        LoggedIn::Not => {}
        LoggedIn::Control => device.log("SHELL", 5, "SHELL_LOGOUT", &format!("{line} logged out.")),
        LoggedIn::Ssh => device.log(
            "SHELL",
            5,
            "SHELL_LOGOUT",
            &format!("{} logged out from {}.", state.user, state.peer),
        ),
    }
    let _ = link.reader.get_ref().shutdown(std::net::Shutdown::Both);
    result
}

/// Send the log messages the session's terminal shows (`terminal monitor`) as `log` replies,
/// from a thread of its own, until the returned flag is set or the connection fails.
fn forward_logs(
    device: &Arc<Device>,
    link: &Link,
    session: &Session,
) -> io::Result<Arc<AtomicBool>> {
    let done = Arc::new(AtomicBool::new(false));
    let feed = LogFeed::Entries {
        entries: device.logs.watch(),
        terminal: session.state.terminal.clone(),
    };
    let (writer, stop) = (link.writer.clone(), done.clone());
    std::thread::Builder::new()
        .name("control-log".into())
        .spawn(move || {
            while let Some(text) = feed.next(&stop) {
                if send_on(&writer, &Reply::Log { text }).is_err() {
                    break;
                }
            }
        })?;
    Ok(done)
}

/// Requests until the client leaves, the session ends or it is idle too long.
fn converse(
    device: &Arc<Device>,
    link: &mut Link,
    session: &mut Session,
    vty: usize,
    logged: &mut LoggedIn,
) -> io::Result<()> {
    let line = session.state.line.clone();
    link.send(&info(session, true, false))?;
    loop {
        let idle = device.config.lock().lines.vty(vty).idle_secs;
        let timeout = (idle > 0).then(|| Duration::from_secs(u64::from(idle)));
        link.reader.get_ref().set_read_timeout(timeout)?;
        let request = match link.next_request() {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                device.log(
                    "SHELL",
                    5,
                    "SHELL_LOGOUT_IDLE",
                    &format!("{line} was logged out: idle for {idle} seconds."),
                );
                let said = link.send(&Reply::Output {
                    text: "\n The connection was idle too long and is closed.\n".into(),
                });
                // Also ends the SSH side (its shell process), not only this socket.
                device.sessions.free(&line);
                return said;
            }
            Err(e) => return Err(e),
        };
        device.sessions.touch(&line);
        if *logged == LoggedIn::Not {
            if let Request::Login { token } = &request {
                let Some((identity, closer)) = device.sessions.take_token(token) else {
                    return link.send(&Reply::Error {
                        message: "the login token is unknown or expired".into(),
                    });
                };
                session.state.user = identity.user.clone();
                session.state.role = identity.role;
                session.state.peer = identity.peer.clone();
                device.sessions.set_identity(&line, Access::Ssh, &identity);
                if let Some(closer) = closer {
                    device.sessions.add_closer(&line, closer);
                }
                device.log(
                    "SHELL",
                    5,
                    "SHELL_LOGIN",
                    &format!("{} logged in from {}.", identity.user, identity.peer),
                );
                *logged = LoggedIn::Ssh;
                link.send(&info(session, true, false))?;
                continue;
            }
            device.log(
                "SHELL",
                5,
                "SHELL_LOGIN",
                &format!("{line} logged in from the control socket."),
            );
            *logged = LoggedIn::Control;
        }
        match request {
            Request::Exec { line } => {
                let input = InputLine::new(line.as_bytes());
                let (output, ok, in_history) = if input.too_long {
                    (TOO_LONG.to_string(), false, false)
                } else if input.text.trim().is_empty() {
                    (String::new(), true, false)
                } else {
                    let outcome = Shell::execute(session, &input.text, link);
                    (outcome.output, outcome.ok, session.last_in_history())
                };
                if !output.is_empty() {
                    link.send(&Reply::Output { text: output })?;
                }
                link.send(&info(session, ok, in_history))?;
                if session.state.exit {
                    return Ok(());
                }
            }
            // An interrupt that came after its command ended.
            Request::Interrupt => {}
            Request::Help { line } => {
                let text = Shell::help(session, &InputLine::new(line.as_bytes()).text);
                link.send(&Reply::Help { text })?;
            }
            Request::Complete { line } => {
                let c = Shell::complete(session, &InputLine::new(line.as_bytes()).text);
                link.send(&Reply::Completion {
                    start: c.start,
                    candidates: c.candidates,
                })?;
            }
            Request::UserView => {
                session.user_view();
                link.send(&info(session, true, false))?;
            }
            Request::Answer { .. } => {
                link.send(&Reply::Error {
                    message: "no question is pending".into(),
                })?;
            }
            Request::Login { .. } => {
                link.send(&Reply::Error {
                    message: "the session is already logged in".into(),
                })?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_file_is_removed_only_while_it_is_the_one_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SOCKET_NAME);
        let _first = UnixListener::bind(&path).unwrap();
        let ours = SocketFile::at(&path);
        // Another device replaced it (a stale socket after our own crash, say).
        std::fs::remove_file(&path).unwrap();
        let _other = UnixListener::bind(&path).unwrap();
        ours.remove();
        assert!(path.exists(), "someone else's socket was removed");
        SocketFile::at(&path).remove();
        assert!(!path.exists());
    }
}
