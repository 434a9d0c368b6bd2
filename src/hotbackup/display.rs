//! `display hot-backup [verbose]`, `display hot-backup statistics`,
//! `reset hot-backup statistics` and the operator's `hot-backup partner-down`. Displays read
//! the configuration and the report the engine last published; they never wait for it.

use super::config::Mode;
use super::driver::{Order, Report, phase_name, role_name};
use super::settings::HotBackupConfig;
use super::status::{Phase, Stats};
use crate::cli::handler::CmdResult;
use crate::cli::table::{self, Column};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};

pub fn register(r: &mut Registry) {
    r.add("hotbackup.display", display);
    r.add("hotbackup.display_statistics", display_statistics);
    r.add("hotbackup.reset_statistics", reset_statistics);
    r.add("hotbackup.partner_down", partner_down);
}

fn report(ctx: &Ctx<'_>) -> Report {
    ctx.device
        .hotbackup
        .get()
        .map(|h| (*h.report()).clone())
        .unwrap_or_default()
}

/// The layout of both displays: `  Label                     : value`.
const FIELDS: &[Column] = &[Column::left(26).indent(2), Column::rest()];

fn field_line(name: &str, value: impl std::fmt::Display) -> String {
    table::line(FIELDS, [name.to_string(), format!(": {value}")])
}

fn field(ctx: &mut Ctx<'_>, name: &str, value: impl std::fmt::Display) {
    ctx.line(field_line(name, value));
}

/// The lines of `display hot-backup [verbose]`.
pub fn render(cfg: &HotBackupConfig, r: &Report, verbose: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut f = |name: &str, value: String| out.push(field_line(name, value));
    let (local, peer, port) = match cfg.peer {
        Some(p) => (p.source.to_string(), p.peer.to_string(), p.port.to_string()),
        None => ("-".into(), "-".into(), "-".into()),
    };
    f(
        "Hot backup",
        if cfg.enabled { "Enabled" } else { "Disabled" }.into(),
    );
    f(
        "DHCP hot backup",
        if cfg.dhcp { "Enabled" } else { "Disabled" }.into(),
    );
    f("Local address", local);
    f("Peer address", peer);
    f("TCP port", port);
    f(
        "Backup mode",
        match cfg.mode {
            Mode::Synchronous => "Synchronous",
            Mode::Asynchronous => "Asynchronous",
        }
        .into(),
    );
    f(
        "Channel state",
        match (r.running, r.connected) {
            (false, _) => "Not running".into(),
            (true, true) => "Connected".into(),
            (true, false) => "Disconnected".into(),
        },
    );
    let status = r.status.as_ref();
    let phase = match status {
        None => "-".to_string(),
        Some(s) => {
            let mut text = phase_name(s.phase).to_string();
            if s.phase == Phase::BatchBackup {
                let parts: Vec<String> = [("sending", s.sending), ("receiving", s.receiving)]
                    .into_iter()
                    .filter_map(|(what, p)| p.map(|p| format!("{what} {}/{}", p.done, p.total)))
                    .collect();
                if !parts.is_empty() {
                    text.push_str(&format!(" ({})", parts.join(", ")));
                }
            }
            text
        }
    };
    f("Backup phase", phase);
    f(
        "Local VRRP role",
        r.local_role.map_or("-", role_name).to_string(),
    );
    f(
        "Peer VRRP role",
        status
            .and_then(|s| s.peer_role)
            .map_or("-", role_name)
            .to_string(),
    );
    f("Bindings sent", r.stats.entries_sent.to_string());
    f("Bindings received", r.stats.entries_received.to_string());
    f(
        "Updates waiting for ack",
        status.map_or(0, |s| s.unacked).to_string(),
    );
    f(
        "Peer updates not saved",
        match status.map_or(0, |s| s.unsaved) {
            0 => "0".into(),
            n => format!("{n} (the lease store cannot write; acks withheld)"),
        },
    );
    f(
        "Last batch duration",
        status
            .and_then(|s| s.last_batch_ms)
            .map_or("-".into(), |ms| format!("{ms} ms")),
    );
    f(
        "Configuration consistency",
        match status.and_then(|s| s.config_consistent) {
            None => "-",
            Some(true) => "Consistent",
            Some(false) => "Inconsistent",
        }
        .into(),
    );
    f("Peer clock offset", clock_offset(status));
    if verbose {
        f(
            "Tracked VRRP group",
            cfg.track
                .as_ref()
                .map_or("-".into(), |t| format!("{} on {}", t.vrid, t.interface)),
        );
        f(
            "Keepalive",
            format!(
                "every {} s, peer down after {} missed",
                cfg.keepalive_secs, cfg.retransmit
            ),
        );
        f(
            "Authentication",
            if cfg.key.is_some() {
                "HMAC-SHA256"
            } else {
                "None"
            }
            .into(),
        );
        f(
            "Partner-down delay",
            cfg.partner_down_secs
                .map_or("Operator only".into(), |s| format!("{s} s")),
        );
        f(
            "Partner down",
            if status.is_some_and(|s| s.partner_down) {
                "Yes"
            } else {
                "No"
            }
            .into(),
        );
        f(
            "Peer device ID",
            status
                .and_then(|s| s.peer_device)
                .map_or("-".into(), |d| format!("{d:#010x}")),
        );
        f(
            "DHCP server identifier",
            r.server_id.map_or("-".into(), |ip| ip.to_string()),
        );
        f(
            "DHCP answering",
            if !r.running {
                "-"
            } else if r.serving {
                "Yes"
            } else {
                "No (backup)"
            }
            .into(),
        );
        f(
            "New addresses from",
            match (r.running, r.half) {
                (false, _) => "-".into(),
                (true, None) => "Whole pool".into(),
                (true, Some(h)) => format!("{h:?} half of each pool"),
            },
        );
        f("Refused connections", r.refused.to_string());
        if let Some(p) = &r.problem {
            f("Not running because", p.clone());
        }
    }
    out
}

/// The peer's clock minus ours at its last hello, and the bound beyond which the peer is
/// refused: `+0.012 s (limit 60 s)`, or `+75.000 s (over the 60 s limit: refused)`.
fn clock_offset(status: Option<&super::status::Status>) -> String {
    let Some(s) = status else {
        return "-".into();
    };
    let limit = format!("{} s", s.max_clock_skew / 1000);
    match s.peer_clock_offset {
        None => format!("- (limit {limit})"),
        Some(ms) => {
            let sign = if ms < 0 { '-' } else { '+' };
            let abs = ms.unsigned_abs();
            let value = format!("{sign}{}.{:03} s", abs / 1000, abs % 1000);
            if abs > s.max_clock_skew {
                format!("{value} (over the {limit} limit: refused)")
            } else {
                format!("{value} (limit {limit})")
            }
        }
    }
}

/// `display hot-backup [verbose]`.
fn display(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().hotbackup.clone();
    let r = report(ctx);
    ctx.line(" Hot backup information:");
    for line in render(&cfg, &r, args.has("verbose")) {
        ctx.line(line);
    }
    Ok(())
}

/// `display hot-backup statistics`.
fn display_statistics(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let stats: Stats = report(ctx).stats;
    ctx.line(" Hot backup statistics:");
    ctx.line("  Frames sent:");
    for (kind, n) in &stats.frames_sent {
        field(ctx, &format!("  {kind}"), n);
    }
    ctx.line("  Frames received:");
    for (kind, n) in &stats.frames_received {
        field(ctx, &format!("  {kind}"), n);
    }
    let bad: u64 = stats.bad.values().sum();
    field(ctx, "Bad frames", bad);
    for (reason, n) in &stats.bad {
        field(ctx, &format!("  {reason}"), n);
    }
    field(ctx, "Bindings sent", stats.entries_sent);
    field(ctx, "Bindings received", stats.entries_received);
    field(ctx, "Batch backups sent", stats.batches_sent);
    field(ctx, "Batch backups received", stats.batches_received);
    field(ctx, "Reconnections", stats.reconnects);
    field(ctx, "Switchovers", stats.switchovers);
    field(ctx, "Conflicts", stats.conflicts);
    field(ctx, "Ack timeouts", stats.ack_timeouts);
    Ok(())
}

fn engine(ctx: &Ctx<'_>) -> Result<super::driver::HotBackupHandle, CmdError> {
    let running = report(ctx).running;
    match ctx.device.hotbackup.get() {
        Some(h) if running => Ok(h.clone()),
        _ => Err(CmdError::msg("Hot backup is not running.")),
    }
}

/// `reset hot-backup statistics`.
fn reset_statistics(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    engine(ctx)?.order(Order::ResetStatistics);
    Ok(())
}

/// `hot-backup partner-down`: the operator says the peer is really down; this device takes
/// over the whole pool (only while the peer is not connected: the session ignores it in
/// real-time backup).
fn partner_down(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let h = engine(ctx)?;
    if report(ctx).connected {
        return Err(CmdError::msg(
            "The peer is connected; it cannot be declared down.",
        ));
    }
    h.order(Order::PartnerDown);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotbackup::Role;
    use crate::hotbackup::settings::PeerConfig;
    use crate::hotbackup::status::{Progress, Status};

    #[test]
    fn batch_progress_and_roles_are_shown() {
        let cfg = HotBackupConfig {
            peer: Some(PeerConfig {
                peer: "10.9.0.2".parse().unwrap(),
                source: "10.9.0.1".parse().unwrap(),
                port: 10241,
            }),
            enabled: true,
            dhcp: true,
            ..Default::default()
        };
        let r = Report {
            running: true,
            connected: true,
            status: Some(Status {
                phase: Phase::BatchBackup,
                local_role: Role::Master,
                peer_role: Some(Role::Backup),
                peer_device: Some(7),
                sending: Some(Progress {
                    done: 512,
                    total: 2000,
                }),
                receiving: None,
                unacked: 3,
                peer_up_since: Some(1),
                unsaved: 5,
                last_batch_ms: Some(42),
                config_consistent: Some(false),
                partner_down: false,
                peer_clock_offset: Some(-75_250),
                max_clock_skew: 60_000,
            }),
            local_role: Some(Role::Master),
            serving: true,
            ..Default::default()
        };
        let text = render(&cfg, &r, true).join("\n");
        for want in [
            "Channel state             : Connected",
            "Backup phase              : Batch backup (sending 512/2000)",
            "Local VRRP role           : Master",
            "Peer VRRP role            : Backup",
            "Updates waiting for ack   : 3",
            "Peer updates not saved    : 5 (the lease store cannot write; acks withheld)",
            "Last batch duration       : 42 ms",
            "Configuration consistency : Inconsistent",
            "DHCP answering            : Yes",
            "Peer clock offset         : -75.250 s (over the 60 s limit: refused)",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
    }

    #[test]
    fn a_stopped_engine_says_so() {
        let text = render(&HotBackupConfig::default(), &Report::default(), false).join("\n");
        assert!(
            text.contains("Channel state             : Not running"),
            "{text}"
        );
        assert!(text.contains("Backup phase              : -"), "{text}");
    }
}
