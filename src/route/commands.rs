//! `ip route-static DEST {MASK|LEN} NEXT-HOP [preference P]` and its `undo` (system view;
//! grammar in commands/route.yaml).

use std::net::Ipv4Addr;

use super::config::{MAX_STATIC_ROUTES, StaticKey, StaticRoute};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::Ctx;
use crate::interface::address::{network_of, prefix_of};

/// The destination's length from `MASK` or `LEN`.
fn prefix_len(args: &Args) -> Result<u8, CmdError> {
    match (args.ipv4("mask"), args.int("len")) {
        (Some(mask), _) => prefix_of(mask).map_err(|_| CmdError::WrongParameter("mask".into())),
        (None, Some(len)) => u8::try_from(len)
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| CmdError::WrongParameter("len".into())),
        (None, None) => Err(CmdError::WrongParameter("dest".into())),
    }
}

/// A next hop must be a unicast address another host can hold: not 0.0.0.0/8, loopback,
/// multicast, class E or the limited broadcast (RFC 1122 §3.2.1.3).
fn unicast(a: Ipv4Addr) -> bool {
    let first = a.octets()[0];
    first != 0 && first != 127 && first < 224
}

/// `ip route-static` adds a static route or changes its preference; `undo ip route-static
/// DEST MASK` removes every route to DEST, with `NEXT-HOP` only that one (removing a route
/// that is not configured is not an error, as on Comware).
///
/// DEST is cleared to its network address (`10.3.0.9 24` is the route to `10.3.0.0/24`), so a
/// route has one key whatever form was typed. The next hop does not have to be reachable
/// now: the route is kept and becomes active when a port's subnet holds it (route/table.rs).
pub fn route_static(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let typed = args
        .ipv4("dest")
        .ok_or_else(|| CmdError::WrongParameter("dest".into()))?;
    let len = prefix_len(args)?;
    let dest = network_of(typed, len);
    let next_hop = args.ipv4("nexthop");
    let mut config = ctx.device.config.lock();
    if args.undo {
        config.route.statics.retain(|k, _| {
            !(k.dest == dest && k.len == len && next_hop.is_none_or(|n| n == k.next_hop))
        });
        return Ok(());
    }
    let next_hop = next_hop.ok_or_else(|| CmdError::WrongParameter("nexthop".into()))?;
    if dest.octets()[0] >= 224 {
        return Err(CmdError::msg(format!(
            "The destination {dest}/{len} is not a unicast network: static routes go to unicast destinations only."
        )));
    }
    if !unicast(next_hop) || next_hop == Ipv4Addr::BROADCAST {
        return Err(CmdError::msg(format!(
            "The next hop {next_hop} is not a unicast address."
        )));
    }
    if let Some((port, _)) = config
        .interfaces
        .iter()
        .find(|(_, c)| c.address.is_some_and(|(a, _)| a == next_hop))
    {
        return Err(CmdError::msg(format!(
            "The next hop {next_hop} is the address of this device's {port}: the next hop must be another router."
        )));
    }
    let preference = match args.int("pref") {
        Some(p) => u8::try_from(p)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| CmdError::WrongParameter("pref".into()))?,
        None => StaticRoute::default().preference,
    };
    let key = StaticKey {
        dest,
        len,
        next_hop,
    };
    let statics = &mut config.route.statics;
    if !statics.contains_key(&key) && statics.len() >= MAX_STATIC_ROUTES {
        return Err(CmdError::msg(format!(
            "The number of static routes has reached the upper limit ({MAX_STATIC_ROUTES})."
        )));
    }
    statics.insert(key, StaticRoute { preference });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::device::testing::{TestIo, admin_session};
    use crate::route::config::{StaticKey, StaticRoute};
    use crate::session::Session;

    /// Run lines through the real grammar; returns the session and the failed lines' output.
    fn shell(lines: &[&str]) -> (Session, Vec<String>) {
        let (_dir, mut s) = admin_session();
        let mut errors = Vec::new();
        for l in lines {
            let o = s.execute(l, &mut TestIo);
            if !o.ok {
                errors.push(format!("{l}: {}", o.output.trim_end()));
            }
        }
        (s, errors)
    }

    fn routes(s: &Session) -> Vec<(StaticKey, StaticRoute)> {
        let cfg = s.device.config.lock();
        cfg.route.statics.iter().map(|(k, r)| (*k, *r)).collect()
    }

    fn key(dest: &str, len: u8, nh: &str) -> StaticKey {
        StaticKey {
            dest: dest.parse().unwrap(),
            len,
            next_hop: nh.parse().unwrap(),
        }
    }

    #[test]
    fn host_bits_are_cleared_and_a_repeat_changes_the_preference() {
        let (s, errors) = shell(&[
            "system-view",
            "ip route-static 10.3.0.9 255.255.255.0 10.2.0.3",
            "ip route-static 10.3.0.0 24 10.2.0.3 preference 70",
            "ip route-static 0.0.0.0 0 10.2.0.1",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            routes(&s),
            [
                (
                    key("0.0.0.0", 0, "10.2.0.1"),
                    StaticRoute { preference: 60 }
                ),
                (
                    key("10.3.0.0", 24, "10.2.0.3"),
                    StaticRoute { preference: 70 }
                ),
            ]
        );
    }

    #[test]
    fn undo_removes_one_next_hop_or_every_route_to_the_destination() {
        let (s, errors) = shell(&[
            "system-view",
            "ip route-static 10.3.0.0 24 10.2.0.3",
            "ip route-static 10.3.0.0 24 10.2.0.4",
            "ip route-static 10.4.0.0 16 10.2.0.4",
            "undo ip route-static 10.3.0.0 24 10.2.0.4",
            "undo ip route-static 10.9.0.0 24",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(routes(&s).len(), 2);
        let (s, errors) = shell(&[
            "system-view",
            "ip route-static 10.3.0.0 24 10.2.0.3",
            "ip route-static 10.3.0.0 24 10.2.0.4",
            "ip route-static 10.4.0.0 16 10.2.0.4",
            "undo ip route-static 10.3.0.77 255.255.255.0",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            routes(&s),
            [(key("10.4.0.0", 16, "10.2.0.4"), StaticRoute::default())]
        );
    }

    #[test]
    fn bad_destinations_and_next_hops_are_refused_with_a_reason() {
        let (s, errors) = shell(&[
            "system-view",
            "interface g1/0/1",
            "ip address 10.1.0.1 24",
            "quit",
            "ip route-static 224.1.0.0 16 10.1.0.2",
            "ip route-static 10.3.0.0 24 127.0.0.1",
            "ip route-static 10.3.0.0 24 0.0.0.0",
            "ip route-static 10.3.0.0 24 255.255.255.255",
            "ip route-static 10.3.0.0 24 10.1.0.1",
            "ip route-static 10.3.0.0 255.0.255.0 10.1.0.2",
        ]);
        assert_eq!(
            errors[..5],
            [
                "ip route-static 224.1.0.0 16 10.1.0.2: The destination 224.1.0.0/16 is not a unicast network: static routes go to unicast destinations only.",
                "ip route-static 10.3.0.0 24 127.0.0.1: The next hop 127.0.0.1 is not a unicast address.",
                "ip route-static 10.3.0.0 24 0.0.0.0: The next hop 0.0.0.0 is not a unicast address.",
                "ip route-static 10.3.0.0 24 255.255.255.255: The next hop 255.255.255.255 is not a unicast address.",
                "ip route-static 10.3.0.0 24 10.1.0.1: The next hop 10.1.0.1 is the address of this device's GigabitEthernet1/0/1: the next hop must be another router.",
            ]
        );
        assert!(errors[5].contains("Wrong parameter"), "{}", errors[5]);
        assert!(routes(&s).is_empty());
    }

    #[test]
    fn the_number_of_routes_is_bounded() {
        let (mut s, errors) = shell(&["system-view"]);
        assert!(errors.is_empty());
        for i in 0..super::MAX_STATIC_ROUTES {
            let line = format!("ip route-static 10.{}.{}.0 24 10.0.0.2", i / 256, i % 256);
            assert!(s.execute(&line, &mut TestIo).ok, "{line}");
        }
        let o = s.execute("ip route-static 11.0.0.0 8 10.0.0.2", &mut TestIo);
        assert!(!o.ok);
        assert_eq!(
            o.output.trim_end(),
            "The number of static routes has reached the upper limit (1024)."
        );
        // Changing a route that exists is not adding one.
        assert!(
            s.execute(
                "ip route-static 10.0.0.0 24 10.0.0.2 preference 9",
                &mut TestIo
            )
            .ok
        );
    }
}
