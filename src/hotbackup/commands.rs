//! The hot-backup configuration commands (grammar in commands/hot-backup.yaml): system view
//! `hot-backup` (enters `[Sysname-hot-backup]`) and `dhcp server hot-backup`; in the view
//! `peer`, `keepalive`, `authentication-key`, `track vrrp`, `backup-mode`, `partner-down
//! delay` and `hot-backup enable`; `undo` of each. Every handler validates first and stores
//! last, so a rejected command changes nothing.

use std::net::Ipv4Addr;

use super::config::Mode;
use super::settings::{
    DEFAULT_KEEPALIVE_SECS, DEFAULT_PORT, DEFAULT_RETRANSMIT, HotBackupConfig, PeerConfig,
    TrackVrrp,
};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, View};
use crate::device::{Ctx, Registry};
use crate::interface::name::IfName;
use crate::vrrp::cipher;

/// The view kind of the hot-backup view (`views: [hot-backup]` in commands/hot-backup.yaml).
pub const HOT_BACKUP_VIEW: &str = "hot-backup";

/// The view `hot-backup` enters, `[Sysname-hot-backup]` (there is one).
pub fn hot_backup_view() -> View {
    View::feature(HOT_BACKUP_VIEW, "", "hot-backup")
}

pub fn register(r: &mut Registry) {
    r.add("hotbackup.view", view);
    r.add("hotbackup.peer", peer);
    r.add("hotbackup.keepalive", keepalive);
    r.add("hotbackup.key", key);
    r.add("hotbackup.track", track);
    r.add("hotbackup.mode", mode);
    r.add("hotbackup.partner_down_delay", partner_down_delay);
    r.add("hotbackup.enable", enable);
    r.add("hotbackup.dhcp", dhcp);
    super::display::register(r);
}

/// Apply `change` to the hot-backup configuration (under the configuration lock).
fn edit(ctx: &mut Ctx<'_>, change: impl FnOnce(&mut HotBackupConfig) -> CmdResult) -> CmdResult {
    let mut config = ctx.device.config.lock();
    let mut hb = config.hotbackup.clone();
    change(&mut hb)?;
    config.hotbackup = hb;
    Ok(())
}

/// `hot-backup` enters the view; `undo hot-backup` removes the view's whole configuration
/// (`dhcp server hot-backup` is a system-view setting and stays).
fn view(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo {
        return edit(ctx, |hb| {
            *hb = HotBackupConfig {
                dhcp: hb.dhcp,
                ..Default::default()
            };
            Ok(())
        });
    }
    View::enter_under_system(&mut ctx.session.views, hot_backup_view());
    Ok(())
}

/// A unicast host address usable as one end of the failover link. Loopback addresses are
/// allowed: devices on the simulated network may pair over TCP on 127.0.0.0/8 (engine tests).
fn unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.octets()[0] >= 240)
}

/// `peer PEER-IP source LOCAL-IP [port PORT]` / `undo peer`.
fn peer(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo {
        return edit(ctx, |hb| {
            hb.peer = None;
            Ok(())
        });
    }
    let peer = args
        .ipv4("pip")
        .filter(|a| unicast(*a))
        .ok_or_else(|| CmdError::WrongParameter("pip".into()))?;
    let source = args
        .ipv4("sip")
        .filter(|a| unicast(*a))
        .ok_or_else(|| CmdError::WrongParameter("sip".into()))?;
    if peer == source {
        return Err(CmdError::msg(
            "The peer and source addresses must be different.",
        ));
    }
    let port = match args.int("tcp") {
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| CmdError::WrongParameter("tcp".into()))?,
        None => DEFAULT_PORT,
    };
    edit(ctx, |hb| {
        hb.peer = Some(PeerConfig { peer, source, port });
        Ok(())
    })
}

/// `keepalive interval SECONDS retransmit COUNT` / `undo keepalive` (1 and 3).
fn keepalive(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (secs, count) = if args.undo {
        (DEFAULT_KEEPALIVE_SECS, DEFAULT_RETRANSMIT)
    } else {
        let secs = args
            .int("seconds")
            .and_then(|s| u32::try_from(s).ok())
            .filter(|s| (1..=10).contains(s))
            .ok_or_else(|| CmdError::WrongParameter("seconds".into()))?;
        let count = args
            .int("count")
            .and_then(|s| u32::try_from(s).ok())
            .filter(|s| (1..=20).contains(s))
            .ok_or_else(|| CmdError::WrongParameter("count".into()))?;
        (secs, count)
    };
    edit(ctx, |hb| {
        hb.keepalive_secs = secs;
        hb.retransmit = count;
        Ok(())
    })
}

/// Longest plain key.
const MAX_KEY: usize = 63;

/// `authentication-key { plain KEY | cipher CIPHERTEXT }` / `undo authentication-key`. Kept
/// plain in memory (it keys the HMAC), shown ciphered.
fn key(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let key = if args.undo {
        None
    } else if let Some(plain) = args.str("key") {
        if plain.is_empty() || plain.len() > MAX_KEY || !plain.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(CmdError::WrongParameter("key".into()));
        }
        Some(plain.to_string())
    } else {
        let text = args
            .str("ckey")
            .ok_or_else(|| CmdError::WrongParameter("ckey".into()))?;
        let plain = cipher::decrypt(text)
            .filter(|k| k.len() <= MAX_KEY)
            .ok_or_else(|| CmdError::WrongParameter("ckey".into()))?;
        Some(plain)
    };
    edit(ctx, |hb| {
        hb.key = key;
        Ok(())
    })
}

/// `track vrrp vrid N interface IF` / `undo track vrrp`.
fn track(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo {
        return edit(ctx, |hb| {
            hb.track = None;
            Ok(())
        });
    }
    let vrid = args
        .int("id")
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| CmdError::WrongParameter("id".into()))?;
    let interface: IfName = args
        .str("if")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| CmdError::WrongParameter("if".into()))?;
    if !ctx.device.ports.contains(&interface) {
        return Err(CmdError::msg(format!(
            "The interface {interface} does not exist."
        )));
    }
    edit(ctx, |hb| {
        hb.track = Some(TrackVrrp { vrid, interface });
        Ok(())
    })
}

/// `backup-mode { synchronous | asynchronous }` / `undo backup-mode` (synchronous).
fn mode(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let mode = if !args.undo && args.has("asynchronous") {
        Mode::Asynchronous
    } else {
        Mode::Synchronous
    };
    edit(ctx, |hb| {
        hb.mode = mode;
        Ok(())
    })
}

/// `partner-down delay SECONDS` / `undo partner-down delay` (only the operator declares it).
fn partner_down_delay(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let secs = if args.undo {
        None
    } else {
        Some(
            args.int("wait")
                .and_then(|s| u32::try_from(s).ok())
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| CmdError::WrongParameter("wait".into()))?,
        )
    };
    edit(ctx, |hb| {
        hb.partner_down_secs = secs;
        Ok(())
    })
}

/// `hot-backup enable` / `undo hot-backup enable`.
fn enable(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    edit(ctx, |hb| {
        hb.enabled = !args.undo;
        Ok(())
    })
}

/// `dhcp server hot-backup` / `undo dhcp server hot-backup`.
fn dhcp(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    edit(ctx, |hb| {
        hb.dhcp = !args.undo;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::hot_backup_view;
    use crate::device::testing::TestIo;
    use crate::features::Config;
    use crate::session::Session;

    fn session() -> (tempfile::TempDir, Session) {
        let (dir, mut s) = crate::device::testing::admin_session();
        run(&mut s, "system-view");
        (dir, s)
    }

    fn run(s: &mut Session, line: &str) -> String {
        let o = s.execute(line, &mut TestIo);
        assert!(o.ok, "{line}: {}", o.output);
        o.output
    }

    fn fails(s: &mut Session, line: &str) {
        assert!(!s.execute(line, &mut TestIo).ok, "{line} was accepted");
    }

    fn config(s: &Session) -> Config {
        s.device.config.lock().clone()
    }

    #[test]
    fn the_view_and_its_settings_render_in_comware_order() {
        let (_d, mut s) = session();
        for line in [
            "dhcp server hot-backup",
            "hot-backup",
            "hot-backup enable",
            "backup-mode asynchronous",
            "track vrrp vrid 1 interface GigabitEthernet1/0/1",
            "authentication-key plain s3cret",
            "keepalive interval 2 retransmit 5",
            "peer 10.9.0.2 source 10.9.0.1 port 20000",
            "partner-down delay 600",
        ] {
            run(&mut s, line);
        }
        assert_eq!(s.state.view(), &hot_backup_view());
        let text = config(&s).render();
        let cipher = crate::vrrp::cipher::encrypt("s3cret");
        let expected = format!(
            "#\n dhcp server hot-backup\n#\nhot-backup\n peer 10.9.0.2 source 10.9.0.1 port 20000\n keepalive interval 2 retransmit 5\n authentication-key cipher {cipher}\n track vrrp vrid 1 interface GigabitEthernet1/0/1\n backup-mode asynchronous\n partner-down delay 600\n hot-backup enable\n#\n"
        );
        assert!(text.contains(&expected), "{text}");
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn defaults_are_not_shown_and_undo_restores_them() {
        let (_d, mut s) = session();
        for line in [
            "hot-backup",
            "peer 10.9.0.2 source 10.9.0.1",
            "keepalive interval 1 retransmit 3",
            "backup-mode synchronous",
        ] {
            run(&mut s, line);
        }
        let text = config(&s).render();
        assert!(
            text.contains("hot-backup\n peer 10.9.0.2 source 10.9.0.1\n#"),
            "{text}"
        );
        run(&mut s, "undo peer");
        assert!(!config(&s).render().contains("hot-backup"));
        assert_eq!(config(&s).hotbackup, Default::default());
    }

    #[test]
    fn bad_values_are_rejected_and_change_nothing() {
        let (_d, mut s) = session();
        run(&mut s, "hot-backup");
        fails(&mut s, "peer 10.9.0.1 source 10.9.0.1");
        fails(&mut s, "peer 224.0.0.1 source 10.9.0.1");
        fails(&mut s, "track vrrp vrid 1 interface GigabitEthernet1/0/9");
        fails(&mut s, "authentication-key cipher notours");
        fails(&mut s, "keepalive interval 11 retransmit 3");
        assert_eq!(config(&s).hotbackup, Default::default());
    }

    #[test]
    fn a_ciphered_key_gives_the_same_key_back() {
        let (_d, mut s) = session();
        let cipher = crate::vrrp::cipher::encrypt("k3y-of-any-length-up-to-63");
        run(&mut s, "hot-backup");
        run(&mut s, &format!("authentication-key cipher {cipher}"));
        assert_eq!(
            config(&s).hotbackup.key.as_deref(),
            Some("k3y-of-any-length-up-to-63")
        );
    }

    #[test]
    fn undo_hot_backup_clears_the_view_but_not_the_dhcp_switch() {
        let (_d, mut s) = session();
        run(&mut s, "dhcp server hot-backup");
        run(&mut s, "hot-backup");
        run(&mut s, "hot-backup enable");
        run(&mut s, "quit");
        run(&mut s, "undo hot-backup");
        let hb = config(&s).hotbackup;
        assert!(hb.dhcp && !hb.enabled);
    }
}
