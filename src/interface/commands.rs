//! Interface commands: `interface X` (enter the interface view), and in that view
//! `ip address`, `shutdown` and `description` with their `undo` forms.

use super::address::{self, AddressError};
use super::name::{IfKind, IfName};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, View};
use crate::device::Ctx;

/// Longest description Comware accepts.
const MAX_DESCRIPTION: usize = 255;

/// `interface X`: enter the view of one of the device's ports.
pub fn enter(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let typed = args
        .str("if")
        .ok_or_else(|| CmdError::WrongParameter("if".into()))?;
    let name: IfName = typed
        .parse()
        .map_err(|_| CmdError::WrongParameter("if".into()))?;
    if !ctx.device.has_port(&name) {
        // Comware rejects the number of a port the device does not have as a wrong parameter.
        return Err(match name.kind {
            IfKind::GigabitEthernet | IfKind::TenGigabitEthernet => {
                CmdError::WrongParameter("if".into())
            }
            IfKind::LoopBack | IfKind::VlanInterface => CmdError::msg(format!(
                "The interface {name} cannot be created: only the device's ports can be configured."
            )),
        });
    }
    // The interface view sits directly under system view, wherever the command came from.
    View::enter_under_system(&mut ctx.session.views, View::Interface(name.to_string()));
    Ok(())
}

/// The port whose view the session is in.
pub(crate) fn current_port(ctx: &Ctx<'_>) -> Result<IfName, CmdError> {
    let View::Interface(text) = ctx.session.view() else {
        return Err(CmdError::msg("This command must be run in interface view."));
    };
    text.parse::<IfName>()
        .ok()
        .filter(|name| ctx.device.has_port(name))
        .ok_or_else(|| CmdError::msg(format!("The interface {text} does not exist.")))
}

/// `ip address A.B.C.D { MASK | LEN }` sets the primary address (replacing the old one);
/// `undo ip address` removes it.
pub fn ip_address(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_port(ctx)?;
    let mut config = ctx.device.config.lock();
    if args.undo {
        if let Some(entry) = config.interfaces.get_mut(&port)
            && let Some((old, old_len)) = entry.address.take()
        {
            config.subnets.remove(&port, old, old_len);
        }
        return Ok(());
    }
    let addr = args
        .ipv4("addr")
        .ok_or_else(|| CmdError::WrongParameter("addr".into()))?;
    let len = match (args.ipv4("mask"), args.int("len")) {
        (Some(mask), _) => {
            address::prefix_of(mask).map_err(|_| CmdError::WrongParameter("mask".into()))?
        }
        (None, Some(len)) => u8::try_from(len)
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| CmdError::WrongParameter("len".into()))?,
        (None, None) => return Err(CmdError::WrongParameter("addr".into())),
    };
    if len == 0 {
        let slot = if args.has("mask") { "mask" } else { "len" };
        return Err(CmdError::WrongParameter(slot.into()));
    }
    address::check_host(addr, len).map_err(|e| CmdError::msg(e.to_string()))?;
    // The index names the candidates; the configuration confirms them.
    for other in config.subnets.candidates(&port, addr, len) {
        if let Some((other_addr, other_len)) = config.interfaces.get(other).and_then(|c| c.address)
            && address::overlaps(addr, len, other_addr, other_len)
        {
            let e = AddressError::Overlap {
                addr,
                len,
                other: other.to_string(),
                other_addr,
                other_len,
            };
            return Err(CmdError::msg(e.to_string()));
        }
    }
    let entry = config
        .interfaces
        .get_mut(&port)
        .ok_or_else(|| CmdError::msg(format!("The interface {port} does not exist.")))?;
    let old = entry.address.replace((addr, len));
    if let Some((old, old_len)) = old {
        config.subnets.remove(&port, old, old_len);
    }
    config.subnets.insert(&port, addr, len);
    Ok(())
}

/// `shutdown` / `undo shutdown`
pub fn shutdown(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_port(ctx)?;
    let mut config = ctx.device.config.lock();
    let entry = config
        .interfaces
        .get_mut(&port)
        .ok_or_else(|| CmdError::msg(format!("The interface {port} does not exist.")))?;
    entry.shutdown = !args.undo;
    Ok(())
}

/// `description TEXT` / `undo description`
pub fn description(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_port(ctx)?;
    let text = if args.undo {
        None
    } else {
        let text = args
            .str("text")
            .ok_or_else(|| CmdError::WrongParameter("text".into()))?;
        let count = text.chars().count();
        if count == 0 || count > MAX_DESCRIPTION || text.chars().any(char::is_control) {
            return Err(CmdError::WrongParameter("text".into()));
        }
        Some(text.to_string())
    };
    let mut config = ctx.device.config.lock();
    let entry = config
        .interfaces
        .get_mut(&port)
        .ok_or_else(|| CmdError::msg(format!("The interface {port} does not exist.")))?;
    entry.description = text;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::testing::{TestBed, args, undo};
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> Value {
        Value::Ipv4(s.parse().unwrap())
    }

    /// A test bed in the view of `port`.
    fn in_port(port: &str) -> TestBed {
        let mut t = TestBed::new();
        t.session.views.push(View::Interface(port.to_string()));
        t
    }

    fn address_of(t: &TestBed, port: &str) -> Option<(Ipv4Addr, u8)> {
        t.config().interfaces[&port.parse::<IfName>().unwrap()].address
    }

    #[test]
    fn enter_an_existing_port() {
        let mut t = TestBed::new();
        let run = t.run(
            enter,
            &args(&[("if", Value::Interface("GigabitEthernet1/0/2".into()))]),
            &[],
        );
        assert_eq!(run.result, Ok(()));
        assert_eq!(
            t.session.views,
            [
                View::User,
                View::System,
                View::Interface("GigabitEthernet1/0/2".into())
            ]
        );
        // From another interface view: the new view replaces the old one.
        t.run(
            enter,
            &args(&[("if", Value::Interface("GigabitEthernet1/0/4".into()))]),
            &[],
        );
        assert_eq!(
            t.session.views,
            [
                View::User,
                View::System,
                View::Interface("GigabitEthernet1/0/4".into())
            ]
        );
    }

    #[test]
    fn enter_refuses_ports_the_device_lacks() {
        let wrong = CmdError::WrongParameter("if".into());
        for (name, error) in [
            ("GigabitEthernet1/0/9", wrong.clone()),
            ("Ten-GigabitEthernet1/0/1", wrong),
            (
                "LoopBack0",
                CmdError::msg(
                    "The interface LoopBack0 cannot be created: only the device's ports can be configured.",
                ),
            ),
            (
                "Vlan-interface10",
                CmdError::msg(
                    "The interface Vlan-interface10 cannot be created: only the device's ports can be configured.",
                ),
            ),
        ] {
            let mut t = TestBed::new();
            let run = t.run(enter, &args(&[("if", Value::Interface(name.into()))]), &[]);
            assert_eq!(run.result, Err(error));
            assert_eq!(t.session.views, [View::User, View::System]);
        }
        let mut t = TestBed::new();
        let run = t.run(
            enter,
            &args(&[("if", Value::Interface("bogus".into()))]),
            &[],
        );
        assert_eq!(run.result, Err(CmdError::WrongParameter("if".into())));
    }

    #[test]
    fn ports_come_from_the_device() {
        use crate::device::{Device, DeviceOptions, NetKind};
        let mut t = TestBed::new();
        let xge: IfName = "xge1/0/1".parse().unwrap();
        t.device = Device::new(DeviceOptions {
            data_dir: t.dir.path().to_path_buf(),
            net: NetKind::Linux {
                ports: vec![(xge, "eth1".into())],
            },
        });
        let run = t.run(
            enter,
            &args(&[("if", Value::Interface("Ten-GigabitEthernet1/0/1".into()))]),
            &[],
        );
        assert_eq!(run.result, Ok(()));
        let run = t.run(
            enter,
            &args(&[("if", Value::Interface("GigabitEthernet1/0/1".into()))]),
            &[],
        );
        assert_eq!(run.result, Err(CmdError::WrongParameter("if".into())));
        assert_eq!(
            t.session.view(),
            &View::Interface("Ten-GigabitEthernet1/0/1".into())
        );
    }

    #[test]
    fn ip_address_with_mask_or_length() {
        let mut t = in_port("GigabitEthernet1/0/1");
        let run = t.run(
            ip_address,
            &args(&[("addr", ip("10.1.1.1")), ("mask", ip("255.255.255.0"))]),
            &[],
        );
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert_eq!(
            address_of(&t, "ge1/0/1"),
            Some(("10.1.1.1".parse().unwrap(), 24))
        );
        // A new address replaces the primary one, even in the same subnet.
        assert_eq!(
            t.run(
                ip_address,
                &args(&[("addr", ip("10.1.1.2")), ("len", Value::Int(25))]),
                &[]
            )
            .result,
            Ok(())
        );
        assert_eq!(
            address_of(&t, "ge1/0/1"),
            Some(("10.1.1.2".parse().unwrap(), 25))
        );
        // /31 and /32 have no network or broadcast address to avoid.
        assert_eq!(
            t.run(
                ip_address,
                &args(&[("addr", ip("10.9.9.0")), ("len", Value::Int(31))]),
                &[]
            )
            .result,
            Ok(())
        );
        assert_eq!(
            t.run(
                ip_address,
                &args(&[("addr", ip("10.9.9.9")), ("mask", ip("255.255.255.255"))]),
                &[]
            )
            .result,
            Ok(())
        );
        assert_eq!(t.run(ip_address, &undo(&[]), &[]).result, Ok(()));
        assert_eq!(address_of(&t, "ge1/0/1"), None);
        // Removing an address that is not there is not an error.
        assert_eq!(t.run(ip_address, &undo(&[]), &[]).result, Ok(()));
    }

    #[test]
    fn ip_address_rejections_change_nothing() {
        let mut t = in_port("GigabitEthernet1/0/1");
        t.run(
            ip_address,
            &args(&[("addr", ip("10.1.1.1")), ("len", Value::Int(24))]),
            &[],
        );
        t.session.views.pop();
        t.session
            .views
            .push(View::Interface("GigabitEthernet1/0/2".into()));
        t.run(
            ip_address,
            &args(&[("addr", ip("192.168.5.1")), ("len", Value::Int(24))]),
            &[],
        );
        let before = t.config();
        let cases: Vec<(Args, CmdError)> = vec![
            (
                args(&[("addr", ip("10.2.0.1")), ("mask", ip("255.0.255.0"))]),
                CmdError::WrongParameter("mask".into()),
            ),
            (
                args(&[("addr", ip("10.2.0.1")), ("mask", ip("0.0.0.0"))]),
                CmdError::WrongParameter("mask".into()),
            ),
            (
                args(&[("addr", ip("10.2.0.1")), ("len", Value::Int(0))]),
                CmdError::WrongParameter("len".into()),
            ),
            (
                args(&[("addr", ip("10.2.0.1")), ("len", Value::Int(33))]),
                CmdError::WrongParameter("len".into()),
            ),
            (
                args(&[("addr", ip("10.2.0.0")), ("len", Value::Int(24))]),
                CmdError::msg(
                    "The IP address 10.2.0.0 is the network address of subnet 10.2.0.0/24.",
                ),
            ),
            (
                args(&[("addr", ip("10.2.0.255")), ("mask", ip("255.255.255.0"))]),
                CmdError::msg(
                    "The IP address 10.2.0.255 is the broadcast address of subnet 10.2.0.0/24.",
                ),
            ),
            (
                args(&[("addr", ip("127.0.0.1")), ("len", Value::Int(8))]),
                CmdError::msg("The IP address 127.0.0.1 is not a valid unicast host address."),
            ),
            (
                args(&[("addr", ip("224.0.0.18")), ("len", Value::Int(24))]),
                CmdError::msg("The IP address 224.0.0.18 is not a valid unicast host address."),
            ),
            (
                args(&[("addr", ip("10.1.1.9")), ("len", Value::Int(30))]),
                CmdError::msg(
                    "The IP address 10.1.1.9/30 overlaps with the subnet of GigabitEthernet1/0/1 (10.1.1.1/24).",
                ),
            ),
            (
                args(&[("addr", ip("10.1.200.1")), ("len", Value::Int(16))]),
                CmdError::msg(
                    "The IP address 10.1.200.1/16 overlaps with the subnet of GigabitEthernet1/0/1 (10.1.1.1/24).",
                ),
            ),
        ];
        for (a, expected) in cases {
            let run = t.run(ip_address, &a, &[]);
            assert_eq!(run.result, Err(expected), "{a:?}");
            assert_eq!(run.out, "");
            assert_eq!(t.config(), before, "{a:?}");
        }
    }

    #[test]
    fn commands_need_an_interface_view() {
        let mut t = TestBed::new();
        let before = t.config();
        let message = CmdError::msg("This command must be run in interface view.");
        assert_eq!(
            t.run(shutdown, &args(&[]), &[]).result,
            Err(message.clone())
        );
        assert_eq!(
            t.run(ip_address, &undo(&[]), &[]).result,
            Err(message.clone())
        );
        assert_eq!(
            t.run(description, &args(&[("text", Value::Str("x".into()))]), &[])
                .result,
            Err(message)
        );
        let mut t = in_port("GigabitEthernet1/0/7");
        assert_eq!(
            t.run(shutdown, &args(&[]), &[]).result,
            Err(CmdError::msg(
                "The interface GigabitEthernet1/0/7 does not exist."
            ))
        );
        assert_eq!(t.config(), before);
    }

    #[test]
    fn shutdown_and_undo() {
        let mut t = in_port("GigabitEthernet1/0/3");
        assert_eq!(t.run(shutdown, &args(&[]), &[]).result, Ok(()));
        assert!(t.config().interfaces[&"ge1/0/3".parse::<IfName>().unwrap()].shutdown);
        assert_eq!(t.run(shutdown, &undo(&[]), &[]).result, Ok(()));
        assert!(!t.config().interfaces[&"ge1/0/3".parse::<IfName>().unwrap()].shutdown);
    }

    #[test]
    fn description_set_undo_and_rejections() {
        let mut t = in_port("GigabitEthernet1/0/1");
        let port: IfName = "ge1/0/1".parse().unwrap();
        assert_eq!(
            t.run(
                description,
                &args(&[("text", Value::Str("to core  switch".into()))]),
                &[]
            )
            .result,
            Ok(())
        );
        assert_eq!(
            t.config().interfaces[&port].description.as_deref(),
            Some("to core  switch")
        );
        let before = t.config();
        for bad in [String::new(), "x".repeat(256), "bell\u{7}".to_string()] {
            let run = t.run(
                description,
                &args(&[("text", Value::Str(bad.clone()))]),
                &[],
            );
            assert_eq!(
                run.result,
                Err(CmdError::WrongParameter("text".into())),
                "{bad:?}"
            );
            assert_eq!(t.config(), before);
        }
        assert_eq!(
            t.run(
                description,
                &args(&[("text", Value::Str("é".repeat(255)))]),
                &[]
            )
            .result,
            Ok(())
        );
        assert_eq!(t.run(description, &undo(&[]), &[]).result, Ok(()));
        assert_eq!(t.config().interfaces[&port].description, None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever sequence of `ip address` commands runs on whichever ports, every accepted
        /// address is a host address and no two ports' subnets overlap; a refused command
        /// leaves the configuration as it was.
        #[test]
        fn accepted_addresses_never_overlap(
            steps in proptest::collection::vec((1u32..=4, 0u8..4, 0u8..=255, 0u8..=255, 0u8..=33, proptest::bool::ANY), 1..40)
        ) {
            let mut t = TestBed::new();
            for (port, b, c, d, len, remove) in steps {
                t.session.views.truncate(2);
                t.session.views.push(View::Interface(format!("GigabitEthernet1/0/{port}")));
                let a = if remove { undo(&[]) } else {
                    args(&[("ip", Value::Ipv4(Ipv4Addr::new(10, b, c, d))), ("len", Value::Int(len.into()))])
                };
                let before = t.config();
                if t.run(ip_address, &a, &[]).result.is_err() {
                    proptest::prop_assert_eq!(t.config(), before);
                }
            }
            let addrs: Vec<(Ipv4Addr, u8)> = t.config().interfaces.values().filter_map(|c| c.address).collect();
            for (i, (a, alen)) in addrs.iter().enumerate() {
                proptest::prop_assert!(address::check_host(*a, *alen).is_ok());
                for (b, blen) in &addrs[i + 1..] {
                    proptest::prop_assert!(!address::overlaps(*a, *alen, *b, *blen), "{a}/{alen} and {b}/{blen}");
                }
            }
        }
    }
}
