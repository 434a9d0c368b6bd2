//! The user table: the only owner of the logged-in users. No clock, no I/O: every method
//! takes `now` and pushes what the driver must do onto the event queue ([`Table::drain`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::{Cause, Change, Event, Log, LoginRequest, Millis, Selector, Stats, User};
use crate::aaa::network::{Grant, Refusal};
use crate::net::mac_text;
use crate::portal::config::Detect;

/// Failed logins from one source within [`FAILURE_WINDOW_MS`] that lock it out.
pub const MAX_FAILURES: u32 = 5;
/// The window failures are counted in, and how long a locked source is refused.
pub const FAILURE_WINDOW_MS: Millis = 60_000;
pub const LOCKOUT_MS: Millis = 60_000;
/// Sources whose failures are remembered at most (an attacker with many addresses cannot
/// grow the table without bound; the oldest unlocked entries go first).
pub const MAX_TRACKED_SOURCES: usize = 65_536;

/// The limits and detection settings the table enforces, from the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// `portal max-user N` (system view).
    pub max_users: Option<u32>,
    /// Every portal-enabled interface, by name.
    pub interfaces: BTreeMap<String, PortLimits>,
}

/// One portal interface's limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortLimits {
    pub max_users: Option<u32>,
    pub detect: Option<Detect>,
}

/// Why a login was refused. [`LoginError::page_text`] is what the client sees (never which of
/// name or password was wrong); the log says more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginError {
    Refused(Refusal),
    /// Too many failures from this source: refused for this many more seconds.
    LockedOut {
        secs: u64,
    },
    /// The user's `access-limit` is reached.
    AccessLimit,
    /// `portal max-user` of the interface is reached.
    InterfaceFull,
    /// `portal max-user` of the device is reached.
    DeviceFull,
    /// The client is not on a portal interface.
    NotPortal,
}

impl LoginError {
    /// The key of the failure counters.
    pub fn key(&self) -> &'static str {
        match self {
            LoginError::Refused(Refusal::UnknownUser | Refusal::BadPassword) => "bad-credentials",
            LoginError::Refused(Refusal::NoPortalService) => "no-portal-service",
            LoginError::Refused(Refusal::UnknownDomain) => "unknown-domain",
            LoginError::LockedOut { .. } => "locked-out",
            LoginError::AccessLimit => "access-limit",
            LoginError::InterfaceFull | LoginError::DeviceFull => "max-user",
            LoginError::NotPortal => "not-portal-interface",
        }
    }

    /// The sentence for logonFail.htm.
    pub fn page_text(&self) -> String {
        match self {
            LoginError::Refused(_) => "The user name or password is incorrect.".to_string(),
            LoginError::LockedOut { secs } => {
                format!("Too many failed logins from this address. Try again in {secs} seconds.")
            }
            LoginError::AccessLimit => {
                "This account is already logged in on as many devices as it may be.".to_string()
            }
            LoginError::InterfaceFull | LoginError::DeviceFull => {
                "The portal has reached its maximum number of users. Try again later.".to_string()
            }
            LoginError::NotPortal => {
                "This address is not on a network that needs a portal login.".to_string()
            }
        }
    }

    /// The reason in the log.
    fn log_text(&self) -> String {
        match self {
            LoginError::Refused(r) => r.text().to_string(),
            LoginError::LockedOut { .. } => "Too many failed logins from this source.".to_string(),
            LoginError::AccessLimit => "The user's access limit is reached.".to_string(),
            LoginError::InterfaceFull => {
                "The interface's maximum number of users is reached.".to_string()
            }
            LoginError::DeviceFull => {
                "The device's maximum number of users is reached.".to_string()
            }
            LoginError::NotPortal => "Portal is not enabled on the client's interface.".to_string(),
        }
    }
}

/// The result of a successful login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedIn {
    pub user: User,
    /// The journal must hold every change up to this sequence number before the client is
    /// told; `None` when nothing changed (the same client was already logged in).
    pub commit: Option<u64>,
}

/// Where a user's idle detection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Probing {
    sent: u32,
    next: Millis,
}

/// A user and its run-time state (not journaled: after a restart activity starts afresh).
#[derive(Clone, Debug)]
struct Entry {
    user: User,
    last_active: Millis,
    probing: Option<Probing>,
    /// The deadline this entry has in `deadlines`, if any.
    due: Option<Millis>,
}

/// Failed logins of one source.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    window_start: Millis,
    locked_until: Option<Millis>,
}

/// The portal user table.
#[derive(Debug, Default)]
pub struct Table {
    users: BTreeMap<Ipv4Addr, Entry>,
    /// Users per user name, per interface (the limits' counts).
    per_name: HashMap<String, u32>,
    per_interface: HashMap<String, u32>,
    /// Every entry's one pending deadline. Invariant: `(t, ip)` is here iff
    /// `users[ip].due == Some(t)`.
    deadlines: BTreeSet<(Millis, Ipv4Addr)>,
    failures: HashMap<Ipv4Addr, Failures>,
    limits: Limits,
    next_seq: u64,
    stats: Stats,
    events: Vec<Event>,
}

impl Table {
    pub fn new(limits: Limits) -> Self {
        Table {
            limits,
            next_seq: 1,
            ..Table::default()
        }
    }

    /// Put back the users a journal recovered (no events: the driver builds the firewall
    /// from [`Table::users`]). Activity restarts at `now`; a session whose deadline has
    /// passed ends at the next [`Table::handle_timeout`].
    pub fn restore(&mut self, now: Millis, users: Vec<User>) {
        for user in users {
            self.next_seq = self.next_seq.max(user.seq + 1);
            self.insert(now, user);
        }
    }

    /// The sequence number the next change will get (hot backup and the journal's check).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// New limits (a configuration change). Users on an interface that is no longer a portal
    /// interface are logged out; users beyond a lowered `max-user` stay (Comware keeps them;
    /// only new logins wait). Detection changes apply from each user's next deadline.
    pub fn set_limits(&mut self, now: Millis, limits: Limits) {
        self.limits = limits;
        let gone: Vec<Ipv4Addr> = self
            .users
            .values()
            .filter(|e| !self.limits.interfaces.contains_key(&e.user.interface))
            .map(|e| e.user.ip)
            .collect();
        for ip in gone {
            self.remove(now, ip, Cause::ConfigChange);
        }
        let ips: Vec<Ipv4Addr> = self.users.keys().copied().collect();
        for ip in ips {
            self.reschedule(ip);
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Is `ip` locked out at `now`? Returns the seconds left. The driver asks before it
    /// spends a password check on the source.
    pub fn locked_out(&self, now: Millis, ip: Ipv4Addr) -> Option<u64> {
        let until = self.failures.get(&ip)?.locked_until?;
        (until > now).then(|| (until - now).div_ceil(1000))
    }

    /// A login: `verdict` is the AAA check of the name and password the driver made
    /// (`aaa::network::authenticate_portal`). On success the client is allowed and the login
    /// journaled; the caller answers once the journal holds `commit`.
    pub fn login(
        &mut self,
        now: Millis,
        req: LoginRequest,
        verdict: Result<Grant, Refusal>,
    ) -> Result<LoggedIn, LoginError> {
        let result = self.try_login(now, &req, verdict);
        match &result {
            Ok(done) if done.commit.is_some() => {
                self.stats.logins += 1;
                self.log(
                    "PORTAL_USER_LOGON",
                    format!("{}; User got online successfully.", fields(&done.user)),
                );
            }
            Ok(_) => {}
            Err(e) => {
                *self.stats.failures.entry(e.key().to_string()).or_default() += 1;
                let name = req.username.clone();
                self.log(
                    "PORTAL_USER_LOGONFAILED",
                    format!(
                        "-UserName={name}-IPAddr={}-IfName={}-OuterVLAN=N/A-InnerVLAN=N/A-MACAddr={}-Reason={}; User failed to get online.",
                        req.ip,
                        req.interface,
                        mac_text(&req.mac),
                        e.log_text()
                    ),
                );
            }
        }
        result
    }

    fn try_login(
        &mut self,
        now: Millis,
        req: &LoginRequest,
        verdict: Result<Grant, Refusal>,
    ) -> Result<LoggedIn, LoginError> {
        if let Some(secs) = self.locked_out(now, req.ip) {
            return Err(LoginError::LockedOut { secs });
        }
        let Some(port) = self.limits.interfaces.get(&req.interface).cloned() else {
            return Err(LoginError::NotPortal);
        };
        let grant = match verdict {
            Ok(g) => g,
            Err(r) => {
                if matches!(r, Refusal::UnknownUser | Refusal::BadPassword) {
                    self.count_failure(now, req.ip);
                }
                return Err(LoginError::Refused(r));
            }
        };
        self.failures.remove(&req.ip);
        // One IP is one user. The same client logging in again as the same user changes
        // nothing; any other login from that IP replaces what is there (another MAC: the
        // address was reused; another name: the client switched accounts).
        let existing = self.users.get(&req.ip).map(|e| e.user.clone());
        if let Some(old) = &existing
            && old.mac == req.mac
            && old.username == grant.username
            && old.interface == req.interface
        {
            return Ok(LoggedIn {
                user: old.clone(),
                commit: None,
            });
        }
        // Limits, counting without the user this login replaces.
        let replaced = |name: &str| existing.as_ref().is_some_and(|o| o.username == name);
        if let Some(limit) = grant.access_limit {
            let n = self.per_name.get(&grant.username).copied().unwrap_or(0)
                - u32::from(replaced(&grant.username));
            if n >= limit {
                return Err(LoginError::AccessLimit);
            }
        }
        let same_port = existing
            .as_ref()
            .is_some_and(|o| o.interface == req.interface);
        if let Some(limit) = port.max_users {
            let n =
                self.per_interface.get(&req.interface).copied().unwrap_or(0) - u32::from(same_port);
            if n >= limit {
                return Err(LoginError::InterfaceFull);
            }
        }
        if let Some(limit) = self.limits.max_users {
            let n = self.users.len() as u32 - u32::from(existing.is_some());
            if n >= limit {
                return Err(LoginError::DeviceFull);
            }
        }
        if existing.is_some() {
            self.remove(now, req.ip, Cause::Replaced);
        }
        let seq = self.take_seq();
        let user = User {
            ip: req.ip,
            mac: req.mac,
            username: grant.username,
            interface: req.interface.clone(),
            login_ms: now,
            seq,
            idle_cut_secs: grant.idle_cut_secs.or(port.detect.map(|d| d.idle_secs)),
            session_deadline_ms: grant
                .session_secs
                .map(|s| now.saturating_add(u64::from(s) * 1000)),
        };
        self.events
            .push(Event::Journal(Change::Login(user.clone())));
        self.events.push(Event::Allow(user.client()));
        self.insert(now, user.clone());
        Ok(LoggedIn {
            user,
            commit: Some(seq),
        })
    }

    /// `PtButton=Logoff` from `ip`: true when a user was logged out.
    pub fn logoff(&mut self, now: Millis, ip: Ipv4Addr) -> bool {
        self.logout(now, &Selector::Ip(ip), Cause::Logoff) > 0
    }

    /// Log out every user `selector` matches, for `cause`. Returns how many.
    pub fn logout(&mut self, now: Millis, selector: &Selector, cause: Cause) -> usize {
        let ips: Vec<Ipv4Addr> = match selector {
            Selector::Ip(ip) => self
                .users
                .contains_key(ip)
                .then_some(*ip)
                .into_iter()
                .collect(),
            _ => self
                .users
                .values()
                .filter(|e| selector.matches(&e.user))
                .map(|e| e.user.ip)
                .collect(),
        };
        for ip in &ips {
            self.remove(now, *ip, cause);
        }
        ips.len()
    }

    /// Traffic (or an answer to a probe) was seen from these sources at `now`.
    pub fn activity(&mut self, now: Millis, ips: impl IntoIterator<Item = Ipv4Addr>) {
        for ip in ips {
            if let Some(e) = self.users.get_mut(&ip) {
                e.last_active = e.last_active.max(now);
                e.probing = None;
                self.reschedule(ip);
            }
        }
    }

    /// The next deadline, if any: call [`Table::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Run every deadline due at `now`: session limits, idle probes and idle cuts.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some(&(t, ip)) = self.deadlines.first() {
            if t > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(e) = self.users.get_mut(&ip) else {
                continue;
            };
            e.due = None;
            if e.user.session_deadline_ms.is_some_and(|d| d <= now) {
                self.remove(now, ip, Cause::SessionTimeout);
                continue;
            }
            let detect = self
                .limits
                .interfaces
                .get(&e.user.interface)
                .and_then(|p| p.detect);
            match (detect, e.probing) {
                // Idle without detection: the activity the firewall reports is the measure.
                (None, _) => {
                    self.remove(now, ip, Cause::IdleCut);
                    continue;
                }
                (Some(d), Some(p)) if p.sent >= d.retry => {
                    self.remove(now, ip, Cause::IdleCut);
                    continue;
                }
                (Some(d), probing) => {
                    let sent = probing.map_or(0, |p| p.sent) + 1;
                    e.probing = Some(Probing {
                        sent,
                        next: now + u64::from(d.interval_secs) * 1000,
                    });
                    let client = e.user.client();
                    self.stats.probes += 1;
                    self.events.push(Event::Probe {
                        client,
                        kind: d.kind,
                    });
                }
            }
            self.reschedule(ip);
        }
        // Forget failures whose window and lockout are over.
        self.failures.retain(|_, f| {
            f.locked_until.is_some_and(|u| u > now) || f.window_start + FAILURE_WINDOW_MS > now
        });
    }

    /// Take the events produced since the last call, in order.
    pub fn drain(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn get(&self, ip: Ipv4Addr) -> Option<&User> {
        self.users.get(&ip).map(|e| &e.user)
    }

    /// Every user, by IP.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values().map(|e| &e.user)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Users logged in as `username`.
    pub fn count_of(&self, username: &str) -> u32 {
        self.per_name.get(username).copied().unwrap_or(0)
    }

    /// Milliseconds since the user was last seen active.
    pub fn idle_ms(&self, now: Millis, ip: Ipv4Addr) -> Option<Millis> {
        self.users
            .get(&ip)
            .map(|e| now.saturating_sub(e.last_active))
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn count_failure(&mut self, now: Millis, ip: Ipv4Addr) {
        if self.failures.len() >= MAX_TRACKED_SOURCES && !self.failures.contains_key(&ip) {
            // Drop the entries that lock nothing out; if all do, the oldest window.
            self.failures
                .retain(|_, f| f.locked_until.is_some_and(|u| u > now));
            if self.failures.len() >= MAX_TRACKED_SOURCES
                && let Some(oldest) = self
                    .failures
                    .iter()
                    .min_by_key(|(_, f)| f.window_start)
                    .map(|(ip, _)| *ip)
            {
                self.failures.remove(&oldest);
            }
        }
        let f = self.failures.entry(ip).or_insert(Failures {
            count: 0,
            window_start: now,
            locked_until: None,
        });
        if now >= f.window_start + FAILURE_WINDOW_MS {
            *f = Failures {
                count: 0,
                window_start: now,
                locked_until: None,
            };
        }
        f.count += 1;
        if f.count >= MAX_FAILURES {
            f.locked_until = Some(now + LOCKOUT_MS);
            f.count = 0;
            f.window_start = now;
            self.stats.lockouts += 1;
            self.log(
                "PORTAL_USER_LOCKOUT",
                format!(
                    "-IPAddr={ip}; {MAX_FAILURES} failed logins within {} seconds: the source is refused for {} seconds.",
                    FAILURE_WINDOW_MS / 1000,
                    LOCKOUT_MS / 1000
                ),
            );
        }
    }

    fn insert(&mut self, now: Millis, user: User) {
        let ip = user.ip;
        *self.per_name.entry(user.username.clone()).or_default() += 1;
        *self
            .per_interface
            .entry(user.interface.clone())
            .or_default() += 1;
        self.users.insert(
            ip,
            Entry {
                user,
                last_active: now,
                probing: None,
                due: None,
            },
        );
        self.reschedule(ip);
    }

    /// Remove the user at `ip`: revoke, journal a tombstone, log the cause.
    fn remove(&mut self, _now: Millis, ip: Ipv4Addr, cause: Cause) {
        let Some(e) = self.users.remove(&ip) else {
            return;
        };
        if let Some(t) = e.due {
            self.deadlines.remove(&(t, ip));
        }
        decrement(&mut self.per_name, &e.user.username);
        decrement(&mut self.per_interface, &e.user.interface);
        let seq = self.take_seq();
        self.events.push(Event::Revoke(e.user.client()));
        self.events.push(Event::Journal(Change::Logout { ip, seq }));
        *self.stats.logouts.entry(cause).or_default() += 1;
        self.log(
            "PORTAL_USER_LOGOFF",
            format!(
                "{}-Reason={}; User logged off.",
                fields(&e.user),
                cause.text()
            ),
        );
    }

    /// Give the entry at `ip` its one deadline: the earliest of its session limit and its
    /// idle stage (the next probe while probing, else the end of its idle time).
    fn reschedule(&mut self, ip: Ipv4Addr) {
        let Some(e) = self.users.get_mut(&ip) else {
            return;
        };
        if let Some(t) = e.due.take() {
            self.deadlines.remove(&(t, ip));
        }
        let idle = match e.probing {
            Some(p) => Some(p.next),
            None => e
                .user
                .idle_cut_secs
                .map(|s| e.last_active.saturating_add(u64::from(s) * 1000)),
        };
        let due = match (e.user.session_deadline_ms, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(t) = due {
            e.due = Some(t);
            self.deadlines.insert((t, ip));
        }
    }

    fn log(&mut self, mnemonic: &str, message: String) {
        self.events.push(Event::Log(Log {
            severity: 6,
            mnemonic: mnemonic.to_string(),
            message,
        }));
    }
}

fn decrement(map: &mut HashMap<String, u32>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// The user fields of the Comware log lines.
fn fields(u: &User) -> String {
    format!(
        "-UserName={}-IPAddr={}-IfName={}-OuterVLAN=N/A-InnerVLAN=N/A-MACAddr={}",
        u.username,
        u.ip,
        u.interface,
        mac_text(&u.mac)
    )
}

#[cfg(test)]
mod tests;
