//! What the session tells its driver: events, the changes the peer never acknowledged, and
//! the errors it counts.

use thiserror::Error;

use crate::dhcp::Millis;

use super::frame::{FrameError, VERSION};
use super::merge::Conflict;
use super::message::Role;
use super::service::{Change, EntryError, Service};

/// A violation of the protocol by the peer; the connection is closed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("{0} before hello")]
    BeforeHello(&'static str),
    #[error("second hello on one connection")]
    DuplicateHello,
    #[error("peer speaks protocol version {0}, this device {VERSION}")]
    Version(u8),
    #[error("peer has this device's own id {0}")]
    SameDeviceId(u32),
    /// The peer's clock differs from ours by more than the bound (Kea HA refuses 60 s too):
    /// entry times from it would win or lose merges they should not, so no pairing.
    #[error(
        "the peer's clock is {} s {} this device's, more than the {} s allowed: synchronize both clocks (NTP)",
        fmt_secs(offset.unsigned_abs()),
        if *offset > 0 { "ahead of" } else { "behind" },
        fmt_secs(*limit)
    )]
    ClockSkew { offset: i64, limit: u64 },
    #[error("unknown service {0}")]
    Service(u8),
    #[error("{0} out of place")]
    Unexpected(&'static str),
    #[error("update {got} after {last}: updates lost")]
    Gap { last: u64, got: u64 },
    #[error("batch ended at {upto} but updates reached {last}")]
    BatchEnd { upto: u64, last: u64 },
    #[error(transparent)]
    Entry(#[from] EntryError),
}

impl ProtocolError {
    /// The counter name in `display hot-backup statistics`.
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::Version(_) => "wrong-version",
            ProtocolError::Entry(_) => "bad-entry",
            ProtocolError::Gap { .. } => "out-of-order",
            ProtocolError::ClockSkew { .. } => "clock-skew",
            _ => "protocol",
        }
    }
}

/// Milliseconds as seconds with three decimals.
fn fmt_secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Why a frame, an entry or the connection was rejected.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SessionError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// An entry that decoded but may not enter this table (`Replica::admit`): dropped,
    /// counted as `bad-entry`; the stream goes on.
    #[error("refused: {0}")]
    Refused(EntryError),
}

impl SessionError {
    /// The counter name in `display hot-backup statistics`.
    pub fn reason(&self) -> &'static str {
        match self {
            SessionError::Frame(f) => f.reason(),
            SessionError::Protocol(p) => p.reason(),
            SessionError::Refused(_) => "bad-entry",
        }
    }

    /// Whether the connection must close: after a bad frame (unless only replayed) or a
    /// protocol violation; not after a refused entry.
    pub fn is_fatal(&self) -> bool {
        match self {
            SessionError::Frame(f) => f.is_fatal(),
            SessionError::Protocol(_) => true,
            SessionError::Refused(_) => false,
        }
    }
}

/// What the driver learns from the session.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<S: Service> {
    /// Negotiation done with the peer.
    PeerUp { device_id: u32, role: Role },
    /// The peer's VRRP role changed.
    PeerRole(Role),
    /// The peer's configuration digest differs from ours (vendors require the same
    /// configuration on both devices); the session goes on.
    ConfigMismatch,
    /// The connection was lost or the peer fell silent; this device serves alone.
    PeerDown,
    /// Synchronous mode: the peer confirmed none of the `held` changes for `waited` ms (the
    /// silence bound): it is treated as down (`PeerDown` and `Close` follow).
    AckTimeout { held: usize, waited: Millis },
    /// Every entry the peer had is applied here: this device may now become master (VRRP
    /// must not preempt before this).
    BatchReceived,
    /// Both directions complete: real-time backup.
    Synchronized,
    /// Local changes with a token up to `upto` may be released (send the DHCPACK).
    Released { upto: u64 },
    /// The peer went down before acknowledging these changes (token, change). They are in
    /// the local table, but the peer may never have seen them: the driver releases each one
    /// that is safe to answer alone and revokes the others (for DHCP bindings:
    /// [`Session::settle_unconfirmed`](super::Session::settle_unconfirmed)). Later `Released` events do not cover these tokens.
    Unconfirmed(Vec<Unconfirmed<S>>),
    /// One key was claimed for two owners; both devices keep `kept`.
    Conflict(Conflict<S>),
    /// A bad frame or a protocol violation (counted; logged by the driver).
    Error(SessionError),
    /// The driver must close the connection (the session is already back in Silence).
    Close,
    /// Silence lasted `partner_down_after`: the driver may take over the whole pool.
    PartnerDown,
}

/// A local change the peer had not acknowledged when it went down.
#[derive(Clone, Debug, PartialEq)]
pub struct Unconfirmed<S: Service> {
    /// The token given with the change.
    pub token: u64,
    pub change: Change<S>,
    /// The change claimed its key for an owner that did not hold it on this device (given with
    /// [`Session::handle_new_claim`](super::Session::handle_new_claim): for DHCP, a new
    /// binding rather than a renewal). The peer, serving alone, may give such a key to
    /// another owner.
    pub new_claim: bool,
}
