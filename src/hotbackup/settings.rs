//! The `hot-backup` part of the running configuration (the `[Sysname-hot-backup]` view and
//! the system view's `dhcp server hot-backup`), its defaults, and how it becomes the protocol
//! core's [`SessionConfig`].

use std::net::Ipv4Addr;

use super::config::{Mode, SessionConfig};
use super::frame::AuthKey;
use crate::interface::name::IfName;

/// `peer PEER-IP source LOCAL-IP` without `port`.
pub const DEFAULT_PORT: u16 = 10241;
/// `keepalive interval SECONDS` default.
pub const DEFAULT_KEEPALIVE_SECS: u32 = 1;
/// `retransmit COUNT` default: the peer is down after 3 silent intervals.
pub const DEFAULT_RETRANSMIT: u32 = 3;

/// The failover link's two ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub peer: Ipv4Addr,
    pub source: Ipv4Addr,
    pub port: u16,
}

/// The VRRP group whose role decides which device serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackVrrp {
    pub vrid: u8,
    pub interface: IfName,
}

/// Everything the `hot-backup` view configures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotBackupConfig {
    pub peer: Option<PeerConfig>,
    pub keepalive_secs: u32,
    pub retransmit: u32,
    /// The plain key (shown ciphered; HMAC-SHA256 over every frame).
    pub key: Option<String>,
    pub track: Option<TrackVrrp>,
    pub mode: Mode,
    /// `partner-down delay SECONDS`: take over the whole pool after this much silence.
    pub partner_down_secs: Option<u32>,
    /// `hot-backup enable`.
    pub enabled: bool,
    /// System view `dhcp server hot-backup`: the DHCP bindings are backed up.
    pub dhcp: bool,
}

impl Default for HotBackupConfig {
    fn default() -> Self {
        HotBackupConfig {
            peer: None,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
            retransmit: DEFAULT_RETRANSMIT,
            key: None,
            track: None,
            mode: Mode::Synchronous,
            partner_down_secs: None,
            enabled: false,
            dhcp: false,
        }
    }
}

impl HotBackupConfig {
    /// Whether the view holds anything to render.
    pub fn is_default(&self) -> bool {
        let d = HotBackupConfig {
            dhcp: self.dhcp,
            ..Default::default()
        };
        *self == d
    }

    /// Whether the engine has what it needs to run: enabled, with a peer, backing up DHCP.
    pub fn active(&self) -> Option<PeerConfig> {
        (self.enabled && self.dhcp).then_some(self.peer).flatten()
    }

    /// The protocol core's settings for this configuration.
    pub fn session_config(
        &self,
        device_id: u32,
        boot_id: u64,
        config_digest: [u8; 32],
    ) -> SessionConfig {
        SessionConfig {
            keepalive_interval: u64::from(self.keepalive_secs) * 1000,
            retransmit: self.retransmit,
            mode: self.mode,
            key: self.key.as_deref().map(|k| AuthKey::new(k.as_bytes())),
            config_digest,
            partner_down_after: self.partner_down_secs.map(|s| u64::from(s) * 1000),
            ..SessionConfig::new(device_id, boot_id)
        }
    }
}
