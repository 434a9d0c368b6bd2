//! The portal user table, a sans-IO core like the DHCP server's: logins, logouts with their
//! cause, idle and session timers and the per-source lockout, with `now` passed in and every
//! effect returned as an [`Event`] for the driver (docs/portal.md, "The user table").
//!
//! Invariants, enforced in [`table::Table`] and checked by its property tests:
//! - an `Allow(client)` is followed by exactly one `Revoke(client)` before the same IP is
//!   allowed again: the driver's set of allowed clients equals the table's users (no element
//!   without a user, no user without an element);
//! - every change to the users is a `Journal` event, in the order made, carrying a sequence
//!   number that only grows (the driver answers a login only once the journal holds it);
//! - each user has at most one pending deadline, and a deadline fires once;
//! - `access-limit` and `max-user` (interface and device) hold after every call.

pub mod table;

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use table::{Limits, LoginError, PortLimits, Table};

/// Milliseconds since the Unix epoch (the driver's clock; tests use any origin).
pub type Millis = u64;

/// One logged-in user: what the journal keeps (and, with issue 13, what hot backup copies):
/// plain data with its login time and a sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    /// The user name without its domain.
    pub username: String,
    /// The portal interface the client is on (`GigabitEthernet1/0/1`).
    pub interface: String,
    pub login_ms: Millis,
    /// The table's sequence number of this login.
    pub seq: u64,
    /// The idle time after which the user is logged out (or probed, with `portal
    /// user-detect`): the user's `idle-cut`, else the interface's detection idle time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_cut_secs: Option<u32>,
    /// When the session limit logs the user out (absolute, so it survives a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_deadline_ms: Option<Millis>,
}

impl User {
    pub fn client(&self) -> super::firewall::Client {
        super::firewall::Client {
            ip: self.ip,
            mac: self.mac,
        }
    }
}

/// A change of the table, as journaled (and later replicated). Applying changes in order to
/// an empty table gives the table back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Login(User),
    /// The user at `ip` logged out; `seq` is the logout's own sequence number (a tombstone
    /// for issue 13's merge).
    Logout {
        ip: Ipv4Addr,
        seq: u64,
    },
}

/// Why a user was logged out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// `PtButton=Logoff` from the client.
    Logoff,
    /// `portal delete-user`.
    DeleteUser,
    /// No traffic for the idle time (and no answer to the detection probes).
    IdleCut,
    /// The session limit (`authorization-attribute session-timeout`).
    SessionTimeout,
    /// The client's DHCP lease was released or expired.
    DhcpRelease,
    /// The interface went down.
    InterfaceDown,
    /// The configuration changed (`undo portal enable`, the interface left the portal).
    ConfigChange,
    /// Another client (another MAC) logged in from the same IP.
    Replaced,
}

impl Cause {
    /// The reason as logs and displays show it.
    pub fn text(self) -> &'static str {
        match self {
            Cause::Logoff => "User request",
            Cause::DeleteUser => "Deleted by administrator",
            Cause::IdleCut => "Idle cut",
            Cause::SessionTimeout => "Session timeout",
            Cause::DhcpRelease => "DHCP lease released or expired",
            Cause::InterfaceDown => "Interface down",
            Cause::ConfigChange => "Configuration changed",
            Cause::Replaced => "Another client logged in with this IP address",
        }
    }
}

/// Which users `portal delete-user` (and other bulk logouts) means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selector {
    All,
    Ip(Ipv4Addr),
    Mac([u8; 6]),
    Interface(String),
    Username(String),
}

impl Selector {
    pub fn matches(&self, u: &User) -> bool {
        match self {
            Selector::All => true,
            Selector::Ip(ip) => u.ip == *ip,
            Selector::Mac(mac) => u.mac == *mac,
            Selector::Interface(i) => u.interface == *i,
            Selector::Username(n) => u.username == *n,
        }
    }
}

/// A login attempt, as the driver knows it: the client's IP is the TCP peer's (never a form
/// field), its MAC and interface come from the device's tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub interface: String,
    /// The name as typed (with `@domain` if given).
    pub username: String,
}

/// serde for [`firewall::Client`](super::firewall::Client) (the edge's type, kept free of
/// serde there): events are recorded and replayed as JSON.
#[derive(Serialize, Deserialize)]
#[serde(remote = "super::firewall::Client")]
struct ClientDef {
    ip: Ipv4Addr,
    mac: [u8; 6],
}

/// What the table asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Let the client through (add it to the firewall's set).
    Allow(#[serde(with = "ClientDef")] super::firewall::Client),
    /// Stop letting it through.
    Revoke(#[serde(with = "ClientDef")] super::firewall::Client),
    /// Append to the journal.
    Journal(Change),
    /// Write a log line (`PORTAL/6/...`).
    Log(Log),
    /// Probe an idle client (`portal user-detect`): an answer is reported as activity.
    Probe {
        #[serde(with = "ClientDef")]
        client: super::firewall::Client,
        kind: super::config::DetectKind,
    },
}

/// A Comware log line of the portal module (`PORTAL/<severity>/<mnemonic>: <message>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    pub severity: u8,
    pub mnemonic: String,
    pub message: String,
}

/// Counters for `display portal statistics` (cleared by `reset portal statistics`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub logins: u64,
    /// Refused logins, by reason (`bad-password`, `locked-out`, `access-limit`, ...).
    pub failures: std::collections::BTreeMap<String, u64>,
    /// Logouts, by cause.
    pub logouts: std::collections::BTreeMap<Cause, u64>,
    /// Sources locked out after repeated failures.
    pub lockouts: u64,
    /// Probes sent to idle clients.
    pub probes: u64,
}
