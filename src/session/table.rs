//! The device's table of logged-in sessions: which user line each occupies (`con0`, `vtyN`),
//! who and from where, when it last did something, and how to end it. `display users`,
//! `free line vty N`, the idle timeout and the SSH server's one-time login tokens use it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::Role;
use super::ssh::LoginLoad;
use crate::aaa::VTY_LINES;

/// How a session reached the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Console,
    /// `duet connect` on the control socket.
    Control,
    Ssh,
}

/// Ends a session from outside (shuts its socket, stops its process).
pub type Closer = Box<dyn Fn() + Send + Sync>;

/// One logged-in session as displays see it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    /// `con0`, `vty3`.
    pub line: String,
    pub access: Access,
    pub user: String,
    pub peer: String,
    pub role: Role,
    pub since: SystemTime,
    pub idle: Duration,
}

struct Entry {
    info: SessionInfo,
    last: Instant,
    closers: Vec<Closer>,
}

/// Who an SSH login is: handed from the SSH server to the session that runs its shell.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub user: String,
    pub role: Role,
    pub peer: String,
}

struct Token {
    identity: Identity,
    expires: Instant,
    closer: Option<Closer>,
}

#[derive(Default)]
struct Inner {
    vty_used: BTreeSet<usize>,
    /// Every session's history, oldest first (`display history-command all`).
    history: VecDeque<String>,
    active: BTreeMap<String, Entry>,
    tokens: HashMap<String, Token>,
    ssh_listening: Option<SocketAddr>,
    ssh_load: Option<Arc<LoginLoad>>,
}

/// Lines the shared history keeps (Comware 7's `display history-command all` buffer).
pub const SHARED_HISTORY: usize = 1024;

/// How long a login token stays valid: the shell process starts well within it.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30);

/// The table; one per device.
#[derive(Default)]
pub struct Sessions {
    inner: Arc<Mutex<Inner>>,
}

/// A vty line held by a session; freed on drop (and the session's entry removed).
pub struct VtyLine {
    n: usize,
    inner: Arc<Mutex<Inner>>,
}

impl VtyLine {
    pub fn number(&self) -> usize {
        self.n
    }
    /// `vty3`.
    pub fn name(&self) -> String {
        format!("vty{}", self.n)
    }
}

impl Drop for VtyLine {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.vty_used.remove(&self.n);
        inner.active.remove(&format!("vty{}", self.n));
    }
}

/// Random bytes from the kernel, as lowercase hex.
pub fn random_hex(bytes: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lowest free vty line, or `None` when all 64 are in use.
    pub fn take_vty(&self) -> Option<VtyLine> {
        let mut inner = self.lock();
        let n = (0..VTY_LINES).find(|n| !inner.vty_used.contains(n))?;
        inner.vty_used.insert(n);
        Some(VtyLine {
            n,
            inner: self.inner.clone(),
        })
    }

    /// The vty line the next login would get.
    pub fn next_vty(&self) -> Option<usize> {
        let inner = self.lock();
        (0..VTY_LINES).find(|n| !inner.vty_used.contains(n))
    }

    /// Record a logged-in session on `line` (replacing an earlier entry of that line).
    pub fn register(&self, line: &str, access: Access, identity: &Identity, closer: Closer) {
        let entry = Entry {
            info: SessionInfo {
                line: line.to_string(),
                access,
                user: identity.user.clone(),
                peer: identity.peer.clone(),
                role: identity.role,
                since: SystemTime::now(),
                idle: Duration::ZERO,
            },
            last: Instant::now(),
            closers: vec![closer],
        };
        self.lock().active.insert(line.to_string(), entry);
    }

    /// Add a way to end the session on `line` (the SSH server's, after a token login).
    pub fn add_closer(&self, line: &str, closer: Closer) {
        if let Some(e) = self.lock().active.get_mut(line) {
            e.closers.push(closer);
        }
    }

    /// Change who is logged in on `line` (after a token login).
    pub fn set_identity(&self, line: &str, access: Access, identity: &Identity) {
        if let Some(e) = self.lock().active.get_mut(line) {
            e.info.access = access;
            e.info.user = identity.user.clone();
            e.info.peer = identity.peer.clone();
            e.info.role = identity.role;
        }
    }

    /// The session on `line` did something now.
    pub fn touch(&self, line: &str) {
        if let Some(e) = self.lock().active.get_mut(line) {
            e.last = Instant::now();
        }
    }

    /// Add a line to the history all sessions share (`display history-command all`): at most
    /// [`SHARED_HISTORY`] lines, a line the same as the one before it once (Comware's buffer).
    pub fn remember(&self, line: &str) {
        let mut inner = self.lock();
        if inner.history.back().map(String::as_str) == Some(line) {
            return;
        }
        if inner.history.len() >= SHARED_HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(line.to_string());
    }

    /// The shared history, oldest first.
    pub fn history(&self) -> Vec<String> {
        self.lock().history.iter().cloned().collect()
    }

    /// Forget the session on `line` (it logged out).
    pub fn unregister(&self, line: &str) {
        self.lock().active.remove(line);
    }

    /// Every logged-in session, console first, then vty lines by number.
    pub fn list(&self) -> Vec<SessionInfo> {
        let inner = self.lock();
        let now = Instant::now();
        let mut out: Vec<SessionInfo> = inner
            .active
            .values()
            .map(|e| SessionInfo {
                idle: now.saturating_duration_since(e.last),
                ..e.info.clone()
            })
            .collect();
        out.sort_by_key(|s| line_order(&s.line));
        out
    }

    /// End the session on `line`; false when no session is there.
    pub fn free(&self, line: &str) -> bool {
        let closers = match self.lock().active.get_mut(line) {
            Some(e) => std::mem::take(&mut e.closers),
            None => return false,
        };
        // Outside the lock: a closer may wake a thread that unregisters its line.
        closers.iter().for_each(|c| c());
        true
    }

    /// Register a one-time login token for `identity`; `closer` ends the SSH side of the
    /// session. Expired tokens are dropped here.
    pub fn add_token(&self, identity: Identity, closer: Closer) -> std::io::Result<String> {
        let token = random_hex(32)?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.tokens.retain(|_, t| t.expires > now);
        inner.tokens.insert(
            token.clone(),
            Token {
                identity,
                expires: now + TOKEN_LIFETIME,
                closer: Some(closer),
            },
        );
        Ok(token)
    }

    /// Take a token (it works once): the identity and the SSH side's closer.
    pub fn take_token(&self, token: &str) -> Option<(Identity, Option<Closer>)> {
        let mut t = self.lock().tokens.remove(token)?;
        (t.expires > Instant::now()).then(|| (t.identity, t.closer.take()))
    }

    /// Where the SSH server listens (set by the server; `None` when it is not running).
    pub fn set_ssh_listening(&self, addr: Option<SocketAddr>) {
        self.lock().ssh_listening = addr;
    }
    pub fn ssh_listening(&self) -> Option<SocketAddr> {
        self.lock().ssh_listening
    }

    /// The SSH server's logins in progress (set when the server starts).
    pub fn set_ssh_load(&self, load: Option<Arc<LoginLoad>>) {
        self.lock().ssh_load = load;
    }
    pub fn ssh_load(&self) -> Option<Arc<LoginLoad>> {
        self.lock().ssh_load.clone()
    }
}

/// `con0` first, then `vty0`, `vty1`, ... numerically.
fn line_order(line: &str) -> (u8, usize) {
    match line.strip_prefix("vty").and_then(|n| n.parse().ok()) {
        Some(n) => (1, n),
        None => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn admin() -> Identity {
        Identity {
            user: "admin".into(),
            role: Role::NetworkAdmin,
            peer: "127.0.0.1".into(),
        }
    }

    #[test]
    fn vty_lines_are_lowest_free_and_released() {
        let t = Sessions::default();
        let a = t.take_vty().unwrap();
        let b = t.take_vty().unwrap();
        assert_eq!((a.number(), b.number()), (0, 1));
        drop(a);
        assert_eq!(t.next_vty(), Some(0));
        let held: Vec<_> = (0..63).map(|_| t.take_vty().unwrap()).collect();
        assert!(t.take_vty().is_none(), "64 lines only");
        drop(held);
    }

    #[test]
    fn free_runs_closers_and_list_is_ordered() {
        let t = Sessions::default();
        let count = Arc::new(AtomicUsize::new(0));
        let line = t.take_vty().unwrap();
        let c = count.clone();
        t.register(
            &line.name(),
            Access::Control,
            &admin(),
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            }),
        );
        t.register("con0", Access::Console, &admin(), Box::new(|| {}));
        let lines: Vec<String> = t.list().into_iter().map(|s| s.line).collect();
        assert_eq!(lines, ["con0", "vty0"]);
        assert!(t.free("vty0"));
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(!t.free("vty9"));
        drop(line);
        assert_eq!(t.list().len(), 1);
    }

    #[test]
    fn tokens_work_once() {
        let t = Sessions::default();
        let token = t.add_token(admin(), Box::new(|| {})).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(t.take_token(&token).map(|(i, _)| i), Some(admin()));
        assert!(t.take_token(&token).is_none());
        assert!(t.take_token("nonsense").is_none());
    }
}
