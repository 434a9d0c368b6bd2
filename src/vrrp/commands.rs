//! VRRP configuration commands in interface view (grammar in commands/vrrp.yaml): groups
//! (`vrrp vrid N ...`) and `vrrp version`, with their `undo` forms. Each handler edits a copy
//! of the group, validates it with [`GroupConfig::validate`], and only then stores it, so a
//! failed command changes nothing.

use std::net::Ipv4Addr;

use super::cipher;
use super::config::{
    DEFAULT_INTERVAL_CS, DEFAULT_PRIORITY, DEFAULT_REDUCTION, GroupConfig, InterfaceVrrp,
    TrackAction, TrackedEntry, TrackedInterface,
};
use super::packet::Version;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::Ctx;
use crate::interface::commands::current_port;
use crate::interface::name::IfName;

/// Most virtual IPs one group takes (Comware's limit).
pub const MAX_VIRTUAL_IPS: usize = 16;

fn vrid_of(args: &Args) -> Result<u8, CmdError> {
    args.int("id")
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| CmdError::WrongParameter("id".into()))
}

fn no_group(vrid: u8) -> CmdError {
    CmdError::msg(format!("The VRRP group {vrid} does not exist."))
}

/// Run `edit` on the VRRP part of the current interface's configuration (a copy), and
/// store the result only when `edit` succeeds and every group still validates.
fn edit_interface(
    ctx: &mut Ctx<'_>,
    edit: impl FnOnce(&mut InterfaceVrrp, &IfName) -> CmdResult,
) -> CmdResult {
    let port = current_port(ctx)?;
    let mut config = ctx.device.config.lock();
    let entry = config
        .interfaces
        .get_mut(&port)
        .ok_or_else(|| CmdError::msg(format!("The interface {port} does not exist.")))?;
    let mut vrrp = entry.vrrp.clone();
    edit(&mut vrrp, &port)?;
    for g in vrrp.groups.values() {
        g.validate().map_err(|e| CmdError::msg(e.to_string()))?;
    }
    entry.vrrp = vrrp;
    Ok(())
}

/// Edit one existing group. A group exists while it has a virtual IP: `virtual-ip` creates
/// it, removing its last virtual IP deletes it (so the configuration text always shows it).
fn edit_group(
    ctx: &mut Ctx<'_>,
    args: &Args,
    edit: impl FnOnce(&mut GroupConfig) -> CmdResult,
) -> CmdResult {
    let vrid = vrid_of(args)?;
    edit_interface(ctx, |vrrp, _| {
        let mut group = vrrp.groups.get(&vrid).cloned().ok_or(no_group(vrid))?;
        edit(&mut group)?;
        vrrp.groups.insert(vrid, group);
        Ok(())
    })
}

/// `vrrp vrid N virtual-ip A.B.C.D` adds a virtual IP (creating the group);
/// `undo vrrp vrid N virtual-ip A.B.C.D` removes one; `undo vrrp vrid N` deletes the group.
pub fn virtual_ip(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let vrid = vrid_of(args)?;
    let vip = args.ipv4("vip");
    // `undo vrrp vrid N` and `undo vrrp vrid N virtual-ip` (every virtual IP) remove the
    // group: a group lives as long as it has a virtual IP, as when the last one is removed.
    if args.undo && vip.is_none() {
        return edit_interface(ctx, |vrrp, _| {
            vrrp.groups.remove(&vrid).map(|_| ()).ok_or(no_group(vrid))
        });
    }
    let vip = vip.ok_or_else(|| CmdError::WrongParameter("vip".into()))?;
    if !args.undo && !usable_virtual_ip(vip) {
        return Err(CmdError::WrongParameter("vip".into()));
    }
    edit_interface(ctx, |vrrp, port| {
        if !args.undo
            && let Some(other) = vrrp
                .groups
                .values()
                .find(|g| g.vrid != vrid && g.virtual_ips.contains(&vip))
        {
            return Err(CmdError::msg(format!(
                "The virtual IP address {vip} is already in VRRP group {} on {port}.",
                other.vrid
            )));
        }
        let mut group = match vrrp.groups.get(&vrid) {
            Some(g) => g.clone(),
            None if args.undo => return Err(no_group(vrid)),
            None => GroupConfig {
                version: vrrp.version,
                ..GroupConfig::new(vrid, Vec::new())
            },
        };
        if args.undo {
            let before = group.virtual_ips.len();
            group.virtual_ips.retain(|a| *a != vip);
            if group.virtual_ips.len() == before {
                return Err(CmdError::msg(format!(
                    "The virtual IP address {vip} does not exist in VRRP group {vrid}."
                )));
            }
            if group.virtual_ips.is_empty() {
                vrrp.groups.remove(&vrid);
                return Ok(());
            }
        } else if !group.virtual_ips.contains(&vip) {
            if group.virtual_ips.len() >= MAX_VIRTUAL_IPS {
                return Err(CmdError::msg(format!(
                    "VRRP group {vrid} already has the maximum of {MAX_VIRTUAL_IPS} virtual IP addresses."
                )));
            }
            group.virtual_ips.push(vip);
        }
        vrrp.groups.insert(vrid, group);
        Ok(())
    })
}

/// A unicast host address: not 0.0.0.0, loopback, multicast, broadcast or class E.
fn usable_virtual_ip(a: Ipv4Addr) -> bool {
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] >= 240)
}

/// `vrrp vrid N priority P` / `undo vrrp vrid N priority` (100).
pub fn priority(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let priority = if args.undo {
        DEFAULT_PRIORITY
    } else {
        args.int("pri")
            .and_then(|p| u8::try_from(p).ok())
            .filter(|p| (1..=254).contains(p))
            .ok_or_else(|| CmdError::WrongParameter("pri".into()))?
    };
    edit_group(ctx, args, |g| {
        g.priority = priority;
        Ok(())
    })
}

/// `vrrp vrid N preempt-mode [delay D]` (preemption on, delay D cs, default 0);
/// `undo vrrp vrid N preempt-mode` turns preemption off.
pub fn preempt(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let delay = match args.int("centiseconds") {
        Some(d) => u32::try_from(d).map_err(|_| CmdError::WrongParameter("centiseconds".into()))?,
        None => 0,
    };
    edit_group(ctx, args, |g| {
        g.preempt = !args.undo;
        g.preempt_delay_cs = if args.undo { 0 } else { delay };
        Ok(())
    })
}

/// `vrrp vrid N timer advertise T` (centiseconds) / `undo ...` (100).
pub fn timer(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let interval = if args.undo {
        DEFAULT_INTERVAL_CS
    } else {
        args.int("interval")
            .and_then(|t| u16::try_from(t).ok())
            .ok_or_else(|| CmdError::WrongParameter("interval".into()))?
    };
    edit_group(ctx, args, |g| {
        g.advertise_interval_cs = interval;
        Ok(())
    })
}

/// `vrrp version 2|3` / `undo vrrp version` (3): every group of the interface follows.
pub fn version(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let version = if args.undo {
        Version::V3
    } else {
        args.int("ver")
            .and_then(|v| u8::try_from(v).ok())
            .and_then(|v| Version::try_from(v).ok())
            .ok_or_else(|| CmdError::WrongParameter("ver".into()))?
    };
    edit_interface(ctx, |vrrp, _| {
        vrrp.version = version;
        for g in vrrp.groups.values_mut() {
            g.version = version;
        }
        Ok(())
    })
}

/// `vrrp vrid N authentication-mode simple { plain KEY | cipher CIPHERTEXT }` /
/// `undo vrrp vrid N authentication-mode`. The key is kept plain in memory (the router
/// sends it) and shown ciphered in the configuration. VRRPv3 ignores it.
pub fn authentication(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let key = if args.undo {
        None
    } else if let Some(plain) = args.str("key") {
        if plain.is_empty() || plain.len() > 8 || !plain.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CmdError::WrongParameter("key".into()));
        }
        Some(plain.to_string())
    } else {
        let text = args
            .str("ckey")
            .ok_or_else(|| CmdError::WrongParameter("ckey".into()))?;
        let plain = cipher::decrypt(text)
            .filter(|k| k.len() <= 8)
            .ok_or_else(|| CmdError::WrongParameter("ckey".into()))?;
        Some(plain)
    };
    edit_group(ctx, args, |g| {
        g.simple_key = key;
        Ok(())
    })
}

/// `vrrp vrid N track interface IF [reduced R]` (R default 10; tracking the same interface
/// again replaces its reduction), `vrrp vrid N track M [priority reduced [R] | switchover]`
/// (track entry M, src/track; again replaces its action); `undo vrrp vrid N track [interface
/// IF | M]` (without an object: every interface and entry).
pub fn track(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.has("entry") {
        return track_entry(ctx, args);
    }
    let interface = match args.str("if") {
        Some(text) => {
            let name: IfName = text
                .parse()
                .map_err(|_| CmdError::WrongParameter("if".into()))?;
            if !ctx.device.ports.contains(&name) {
                return Err(CmdError::msg(format!(
                    "The interface {name} does not exist."
                )));
            }
            Some(name)
        }
        None => None,
    };
    let reduced = reduction(args, "decrement")?;
    edit_group(ctx, args, |g| {
        match (args.undo, interface) {
            (true, None) => {
                g.tracks.clear();
                g.track_entries.clear();
            }
            (true, Some(name)) => {
                let before = g.tracks.len();
                g.tracks.retain(|t| t.interface != name);
                if g.tracks.len() == before {
                    return Err(CmdError::msg(format!(
                        "VRRP group {} does not track {name}.",
                        g.vrid
                    )));
                }
            }
            (false, Some(name)) => match g.tracks.iter_mut().find(|t| t.interface == name) {
                Some(t) => t.reduced = reduced,
                None => g.tracks.push(TrackedInterface {
                    interface: name,
                    reduced,
                }),
            },
            (false, None) => return Err(CmdError::WrongParameter("if".into())),
        }
        Ok(())
    })
}

/// `reduced R` / `priority reduced R`: 1-255, default 10.
fn reduction(args: &Args, name: &str) -> Result<u8, CmdError> {
    match args.int(name) {
        Some(r) => u8::try_from(r)
            .ok()
            .filter(|r| *r >= 1)
            .ok_or_else(|| CmdError::WrongParameter(name.into())),
        None => Ok(DEFAULT_REDUCTION),
    }
}

/// The track entry form. The entry need not exist yet: until it does it is NotReady and
/// changes nothing (Comware 7).
fn track_entry(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let entry = args
        .int("entry")
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| (1..=crate::track::MAX_ENTRY).contains(n))
        .ok_or_else(|| CmdError::WrongParameter("entry".into()))?;
    let action = if args.has("switchover") {
        TrackAction::Switchover
    } else {
        TrackAction::Reduce(reduction(args, "reduce")?)
    };
    edit_group(ctx, args, |g| {
        if args.undo {
            let before = g.track_entries.len();
            g.track_entries.retain(|t| t.entry != entry);
            if g.track_entries.len() == before {
                return Err(CmdError::msg(format!(
                    "VRRP group {} does not track the track entry {entry}.",
                    g.vrid
                )));
            }
            return Ok(());
        }
        match g.track_entries.iter_mut().find(|t| t.entry == entry) {
            Some(t) => t.action = action,
            None => g.track_entries.push(TrackedEntry { entry, action }),
        }
        Ok(())
    })
}

/// `vrrp vrid N shutdown` / `undo vrrp vrid N shutdown`.
pub fn shutdown(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    edit_group(ctx, args, |g| {
        g.shutdown = !args.undo;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::cli::View;
    use crate::device::testing::TestIo;
    use crate::session::Session;
    use crate::vrrp::config::InterfaceVrrp;

    fn session() -> (tempfile::TempDir, Session) {
        let (dir, mut s) = crate::device::testing::admin_session();
        assert!(s.execute("system-view", &mut TestIo).ok);
        assert!(s.execute("interface ge1/0/1", &mut TestIo).ok);
        assert_eq!(
            s.state.view(),
            &View::Interface("GigabitEthernet1/0/1".into())
        );
        (dir, s)
    }

    fn run(s: &mut Session, line: &str) -> String {
        let o = s.execute(line, &mut TestIo);
        assert!(o.ok, "{line}: {}", o.output);
        o.output
    }

    fn fail(s: &mut Session, line: &str) -> String {
        let before = s.device.config.lock().clone();
        let o = s.execute(line, &mut TestIo);
        assert!(!o.ok, "{line} should fail");
        assert_eq!(
            *s.device.config.lock(),
            before,
            "{line} changed the configuration"
        );
        o.output
    }

    fn vrrp(s: &Session) -> InterfaceVrrp {
        s.device.config.lock().interfaces[&"ge1/0/1".parse().unwrap()]
            .vrrp
            .clone()
    }

    #[test]
    fn a_group_with_every_setting_renders_and_undoes() {
        let (_d, mut s) = session();
        for line in [
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 virtual-ip 10.0.0.253",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 priority 120",
            "vrrp vrid 1 preempt-mode delay 500",
            "vrrp vrid 1 timer advertise 1",
            "vrrp vrid 1 authentication-mode simple plain abc",
            "vrrp vrid 1 track interface ge1/0/2 reduced 30",
            "vrrp vrid 1 track interface ge1/0/3",
            "vrrp vrid 1 shutdown",
            "vrrp version 2",
        ] {
            run(&mut s, line);
        }
        let g = &vrrp(&s).groups[&1];
        assert_eq!(g.virtual_ips.len(), 2);
        assert_eq!(g.version, crate::vrrp::Version::V2);
        assert_eq!(g.simple_key.as_deref(), Some("abc"));
        let text = run(&mut s, "display this");
        assert!(text.contains(" ip address 10.0.0.1 255.255.255.0\n vrrp version 2\n vrrp vrid 1 virtual-ip 10.0.0.254\n"), "{text}");
        assert!(
            text.contains(" vrrp vrid 1 authentication-mode simple cipher $c$3$"),
            "{text}"
        );
        assert!(!text.contains("abc"), "{text}");
        assert!(
            text.contains(" vrrp vrid 1 track interface GigabitEthernet1/0/2 reduced 30\n"),
            "{text}"
        );

        // The ciphered key is accepted back.
        let line = text
            .lines()
            .find(|l| l.contains("cipher"))
            .unwrap()
            .trim()
            .to_string();
        run(&mut s, "undo vrrp vrid 1 authentication-mode");
        assert_eq!(vrrp(&s).groups[&1].simple_key, None);
        run(&mut s, &line);
        assert_eq!(vrrp(&s).groups[&1].simple_key.as_deref(), Some("abc"));

        for line in [
            "undo vrrp vrid 1 priority",
            "undo vrrp vrid 1 preempt-mode",
            "undo vrrp vrid 1 timer advertise",
            "undo vrrp vrid 1 authentication-mode",
            "undo vrrp vrid 1 track interface ge1/0/2",
            "undo vrrp vrid 1 track",
            "undo vrrp vrid 1 shutdown",
            "undo vrrp vrid 1 virtual-ip 10.0.0.253",
            "undo vrrp version",
        ] {
            run(&mut s, line);
        }
        let mut expect = crate::vrrp::GroupConfig::new(1, vec!["10.0.0.254".parse().unwrap()]);
        expect.preempt = false;
        assert_eq!(vrrp(&s).groups[&1], expect);
        run(&mut s, "undo vrrp vrid 1");
        assert_eq!(vrrp(&s), InterfaceVrrp::default());
    }

    #[test]
    fn bad_commands_change_nothing() {
        let (_d, mut s) = session();
        run(&mut s, "vrrp vrid 1 virtual-ip 10.0.0.254");
        run(&mut s, "vrrp vrid 2 virtual-ip 10.0.0.250");
        assert!(fail(&mut s, "vrrp vrid 0 virtual-ip 10.0.0.254").contains("Wrong parameter"));
        assert!(fail(&mut s, "vrrp vrid 1 virtual-ip 224.0.0.18").contains("Wrong parameter"));
        assert!(
            fail(&mut s, "vrrp vrid 1 virtual-ip 10.0.0.250").contains("already in VRRP group 2")
        );
        assert!(fail(&mut s, "vrrp vrid 1 priority 255").contains("Wrong parameter"));
        assert!(fail(&mut s, "vrrp vrid 1 timer advertise 4096").contains("Wrong parameter"));
        assert!(fail(&mut s, "vrrp vrid 1 preempt-mode delay 180001").contains("Wrong parameter"));
        assert!(
            fail(
                &mut s,
                "vrrp vrid 1 authentication-mode simple plain 123456789"
            )
            .contains("Wrong parameter")
        );
        assert!(
            fail(
                &mut s,
                "vrrp vrid 1 authentication-mode simple cipher notours"
            )
            .contains("Wrong parameter")
        );
        assert!(fail(&mut s, "vrrp vrid 1 track interface ge1/0/9").contains("does not exist"));
        assert!(
            fail(&mut s, "undo vrrp vrid 1 track interface ge1/0/2").contains("does not track")
        );
        assert!(
            fail(&mut s, "undo vrrp vrid 3 priority").contains("The VRRP group 3 does not exist.")
        );
        assert!(fail(&mut s, "undo vrrp vrid 3").contains("does not exist"));
        assert!(fail(&mut s, "undo vrrp vrid 1 virtual-ip 10.0.0.1").contains("does not exist"));
        assert!(fail(&mut s, "vrrp version 4").contains("Wrong parameter"));
        for n in 1..=15u8 {
            run(&mut s, &format!("vrrp vrid 1 virtual-ip 10.0.1.{n}"));
        }
        assert!(fail(&mut s, "vrrp vrid 1 virtual-ip 10.0.2.1").contains("maximum of 16"));
    }

    #[test]
    fn a_group_lives_while_it_has_a_virtual_ip() {
        let (_d, mut s) = session();
        assert!(
            fail(&mut s, "vrrp vrid 9 priority 110").contains("The VRRP group 9 does not exist.")
        );
        run(&mut s, "vrrp version 2");
        run(&mut s, "vrrp vrid 9 virtual-ip 10.0.0.9");
        assert_eq!(vrrp(&s).groups[&9].version, crate::vrrp::Version::V2);
        run(&mut s, "undo vrrp vrid 9 virtual-ip 10.0.0.9");
        assert!(vrrp(&s).groups.is_empty());
    }
}
