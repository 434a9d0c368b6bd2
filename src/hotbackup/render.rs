//! The hot-backup part of the configuration text: ` dhcp server hot-backup` among the system
//! lines, then the `hot-backup` section with its settings in Comware order (peer, keepalive,
//! key, track, mode, partner-down delay, and `hot-backup enable` last). Defaults are not shown.

use super::commands::hot_backup_view;
use super::config::Mode;
use super::settings::{DEFAULT_KEEPALIVE_SECS, DEFAULT_PORT, DEFAULT_RETRANSMIT, HotBackupConfig};
use crate::config::render::Section;
use crate::vrrp::cipher;

/// The system-view line.
pub fn global_lines(cfg: &HotBackupConfig) -> Vec<String> {
    if cfg.dhcp {
        vec![" dhcp server hot-backup".to_string()]
    } else {
        Vec::new()
    }
}

/// The `hot-backup` section, when anything in it differs from the defaults.
pub fn section(cfg: &HotBackupConfig) -> Option<Section> {
    if cfg.is_default() {
        return None;
    }
    let mut lines = vec!["hot-backup".to_string()];
    if let Some(p) = cfg.peer {
        let mut line = format!(" peer {} source {}", p.peer, p.source);
        if p.port != DEFAULT_PORT {
            line.push_str(&format!(" port {}", p.port));
        }
        lines.push(line);
    }
    if cfg.keepalive_secs != DEFAULT_KEEPALIVE_SECS || cfg.retransmit != DEFAULT_RETRANSMIT {
        lines.push(format!(
            " keepalive interval {} retransmit {}",
            cfg.keepalive_secs, cfg.retransmit
        ));
    }
    if let Some(key) = &cfg.key {
        lines.push(format!(
            " authentication-key cipher {}",
            cipher::encrypt(key)
        ));
    }
    if let Some(t) = &cfg.track {
        lines.push(format!(
            " track vrrp vrid {} interface {}",
            t.vrid, t.interface
        ));
    }
    if cfg.mode == Mode::Asynchronous {
        lines.push(" backup-mode asynchronous".to_string());
    }
    if let Some(s) = cfg.partner_down_secs {
        lines.push(format!(" partner-down delay {s}"));
    }
    if cfg.enabled {
        lines.push(" hot-backup enable".to_string());
    }
    Some(Section {
        view: hot_backup_view(),
        lines,
    })
}
