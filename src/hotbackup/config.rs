//! The session's settings: `hot-backup` view configuration as the protocol core needs it.

use super::frame::AuthKey;
use crate::dhcp::Millis;

/// The largest difference between the two devices' clocks the session accepts at negotiation
/// (Kea HA refuses 60 s too), and how far ahead of the local clock a received entry may be
/// dated.
pub const MAX_CLOCK_SKEW: Millis = 60_000;

/// Whether a local change waits for the peer's acknowledgement before it is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// While the peer is up, a change (and the DHCPACK that depends on it) is released only
    /// once the peer has applied it.
    Synchronous,
    /// Changes are released at once; the peer may miss the last ones if this device dies.
    Asynchronous,
}

/// The session's settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// This device's id (different on the two devices).
    pub device_id: u32,
    /// New on every start of the process (the driver draws it at random or from the clock).
    pub boot_id: u64,
    /// `keepalive interval SECONDS`, in ms.
    pub keepalive_interval: Millis,
    /// `retransmit COUNT`: the peer is declared down after interval x count of silence.
    pub retransmit: u32,
    pub mode: Mode,
    pub key: Option<AuthKey>,
    /// Digest of the replicated configuration, compared with the peer's.
    pub config_digest: [u8; 32],
    /// Entries per batch page.
    pub page_size: usize,
    /// Local changes kept for a resume after a short break.
    pub resend_log: usize,
    /// Declare the partner down after this much silence (None: only when the operator says).
    pub partner_down_after: Option<Millis>,
    /// [`MAX_CLOCK_SKEW`].
    pub max_clock_skew: Millis,
}

impl SessionConfig {
    /// The defaults: keepalive every 1 s, peer down after 3 missed, synchronous mode.
    pub fn new(device_id: u32, boot_id: u64) -> SessionConfig {
        SessionConfig {
            device_id,
            boot_id,
            keepalive_interval: 1000,
            retransmit: 3,
            mode: Mode::Synchronous,
            key: None,
            config_digest: [0; 32],
            page_size: 4096,
            resend_log: 65_536,
            partner_down_after: None,
            max_clock_skew: MAX_CLOCK_SKEW,
        }
    }
}
