//! What `display hot-backup [verbose]` and `display hot-backup statistics` show: the phase,
//! batch progress, the peer, and the counters.

use std::collections::BTreeMap;

use super::message::Role;
use crate::dhcp::Millis;

/// Where the session is, as `display hot-backup` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// No connection to the peer (peer unreachable).
    Silence,
    /// Connected, hello not yet received.
    Negotiating,
    /// A batch (or a resend) is under way in at least one direction.
    BatchBackup,
    /// Both tables are complete; changes flow as they happen.
    RealTime,
}

/// N of M entries of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Counters for `display hot-backup statistics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub frames_sent: BTreeMap<&'static str, u64>,
    pub frames_received: BTreeMap<&'static str, u64>,
    /// Bad frames and protocol violations, by reason.
    pub bad: BTreeMap<&'static str, u64>,
    pub entries_sent: u64,
    pub entries_received: u64,
    pub batches_sent: u64,
    pub batches_received: u64,
    /// Times the peer came up again after having been up.
    pub reconnects: u64,
    /// Local VRRP role changes between master and backup.
    pub switchovers: u64,
    pub conflicts: u64,
    /// Times the peer was treated as down because it confirmed no held change within the
    /// bound (synchronous mode).
    pub ack_timeouts: u64,
}

/// What `display hot-backup` shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub phase: Phase,
    pub local_role: Role,
    pub peer_role: Option<Role>,
    pub peer_device: Option<u32>,
    /// Our batch to the peer, while it runs.
    pub sending: Option<Progress>,
    /// The peer's batch to us, while it runs.
    pub receiving: Option<Progress>,
    /// Local changes waiting for the peer's ack.
    pub unacked: usize,
    /// When the current connection's peer said hello (ms): in synchronous mode every ACK
    /// released since then waited for the peer's ack, unless the peer went down in between
    /// (then this is later, or `None`).
    pub peer_up_since: Option<Millis>,
    /// The peer's entries applied here but not yet durable, hence not acknowledged (the
    /// lease store cannot write).
    pub unsaved: u64,
    pub last_batch_ms: Option<Millis>,
    /// `None` until a peer has been seen.
    pub config_consistent: Option<bool>,
    pub partner_down: bool,
    /// The peer's clock minus ours (ms), from its last hello; `None` until a hello arrived.
    pub peer_clock_offset: Option<i64>,
    /// The largest offset accepted (a bigger one refuses the peer).
    pub max_clock_skew: Millis,
}
