//! Interface commands: `interface X` (enter the interface view), and in that view
//! `ip address`, `shutdown` and `description` with their `undo` forms.

use super::address::{self, AddressError};
use super::name::{IfKind, IfName};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, View};
use crate::device::{Ctx, NetKind};

/// Longest description Comware accepts.
const MAX_DESCRIPTION: usize = 255;

/// `interface X`: enter the view of one of the device's interfaces: its ports (physical or
/// mapped with `--port`) and its LoopBacks, which entering creates (Comware). `undo interface
/// LoopBackN` removes a LoopBack with its configuration.
pub fn enter(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let typed = args
        .str("if")
        .ok_or_else(|| CmdError::WrongParameter("if".into()))?;
    let name: IfName = typed
        .parse()
        .map_err(|_| CmdError::WrongParameter("if".into()))?;
    if args.undo {
        return remove_loopback(ctx, &name);
    }
    if is_loopback(ctx, &name) {
        // Created here; the interface engine gives its addresses a home on the host
        // (`net::linux`: the namespace's `lo`) and removes them when it goes.
        let mut config = ctx.device.config.lock();
        config.interfaces.entry(name.clone()).or_default();
    } else if !ctx.device.has_port(&name) {
        return Err(match name.kind {
            // Comware rejects the number of a port the device does not have as a wrong parameter.
            IfKind::GigabitEthernet | IfKind::TenGigabitEthernet | IfKind::LoopBack => {
                CmdError::WrongParameter("if".into())
            }
            // Comware creates a Vlan-interface when its VLAN exists; Duet has no VLANs of its
            // own, only Linux interfaces mapped at start-up.
            IfKind::VlanInterface => match ctx.device.options.net {
                NetKind::Linux { .. } => CmdError::msg(format!(
                    "The interface {name} does not exist. Map it onto a Linux interface when starting Duet: --port {name}=LINUXIF."
                )),
                NetKind::Sim => CmdError::msg(format!(
                    "The interface {name} does not exist: the simulated device has only its GigabitEthernet ports."
                )),
            },
        });
    }
    // The interface view sits directly under system view, wherever the command came from.
    View::enter_under_system(&mut ctx.session.views, View::Interface(name.to_string()));
    Ok(())
}

/// A LoopBack that is not a mapped port: created by `interface LoopBackN`, its addresses go to
/// the host's loopback. (`--port LoopBack0=LINUXIF` makes it an ordinary port instead.)
fn is_loopback(ctx: &Ctx<'_>, name: &IfName) -> bool {
    name.kind == IfKind::LoopBack && !ctx.device.has_port(name)
}

/// `undo interface LoopBackN`: remove the LoopBack and its addresses (the interface engine
/// takes them off the host).
fn remove_loopback(ctx: &mut Ctx<'_>, name: &IfName) -> CmdResult {
    if !is_loopback(ctx, name) {
        return Err(CmdError::msg(format!(
            "The interface {name} cannot be removed: only LoopBack interfaces can."
        )));
    }
    let mut config = ctx.device.config.lock();
    let Some(gone) = config.interfaces.remove(name) else {
        return Err(CmdError::msg(format!(
            "The interface {name} does not exist."
        )));
    };
    for (addr, len) in gone.addresses() {
        config.subnets.remove(name, addr, len);
    }
    Ok(())
}

/// The port whose view the session is in (a port: VRRP and the DHCP server run on ports,
/// not on LoopBacks).
pub(crate) fn current_port(ctx: &Ctx<'_>) -> Result<IfName, CmdError> {
    let name = current_interface(ctx)?;
    if !ctx.device.has_port(&name) {
        return Err(CmdError::msg(format!(
            "This command is not supported on {name}."
        )));
    }
    Ok(name)
}

/// The interface whose view the session is in: a port or a LoopBack that exists.
fn current_interface(ctx: &Ctx<'_>) -> Result<IfName, CmdError> {
    let View::Interface(text) = ctx.session.view() else {
        return Err(CmdError::msg("This command must be run in interface view."));
    };
    text.parse::<IfName>()
        .ok()
        .filter(|name| {
            ctx.device.has_port(name)
                || (is_loopback(ctx, name)
                    && ctx.device.config.lock().interfaces.contains_key(name))
        })
        .ok_or_else(|| CmdError::msg(format!("The interface {text} does not exist.")))
}

/// Most secondary addresses on one interface (Comware 7's limit).
const MAX_SECONDARY: usize = 31;

/// The address and prefix length of `ip address A { MASK | LEN }`, checked.
fn typed_address(args: &Args) -> Result<(std::net::Ipv4Addr, u8), CmdError> {
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
    Ok((addr, len))
}

/// `ip address A.B.C.D { MASK | LEN } [ sub ]`: set the primary address (replacing the old
/// one) or add a secondary one. `undo ip address` removes every address; `undo ip address A
/// MASK` the primary (once no secondary is left), `undo ip address A MASK sub` one secondary.
pub fn ip_address(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_interface(ctx)?;
    // A LoopBack's address is a host address: Comware turns any mask into 32 bits.
    let typed = |args: &Args| {
        typed_address(args).map(|(addr, len)| {
            let len = if port.kind == IfKind::LoopBack {
                32
            } else {
                len
            };
            (addr, len)
        })
    };
    let sub = args.has("sub");
    let mut config = ctx.device.config.lock();
    let current = config.interfaces.get(&port).cloned().unwrap_or_default();
    if args.undo {
        let gone: Vec<(std::net::Ipv4Addr, u8)> = if !args.has("addr") {
            current.addresses().collect()
        } else {
            let (addr, len) = typed(args)?;
            let configured = if sub {
                current.secondary.contains(&(addr, len))
            } else {
                current.address == Some((addr, len))
            };
            if !configured {
                let kind = if sub { "secondary" } else { "primary" };
                return Err(CmdError::msg(format!(
                    "The {kind} IP address {addr}/{len} is not configured on {port}."
                )));
            }
            if !sub && !current.secondary.is_empty() {
                return Err(CmdError::msg(
                    "The primary IP address cannot be removed while the interface has secondary IP addresses. Remove them first.",
                ));
            }
            vec![(addr, len)]
        };
        for (addr, len) in &gone {
            config.subnets.remove(&port, *addr, *len);
        }
        if let Some(entry) = config.interfaces.get_mut(&port) {
            entry.secondary.retain(|a| !gone.contains(a));
            if entry.address.is_some_and(|a| gone.contains(&a)) {
                entry.address = None;
            }
        }
        return Ok(());
    }
    let (addr, len) = typed(args)?;
    address::check_host(addr, len).map_err(|e| CmdError::msg(e.to_string()))?;
    if sub {
        if current.address.is_none() {
            return Err(CmdError::msg(
                "Configure the primary IP address of the interface before a secondary one.",
            ));
        }
        if current.secondary.contains(&(addr, len)) {
            return Ok(());
        }
        if current.secondary.len() >= MAX_SECONDARY {
            return Err(CmdError::msg(format!(
                "An interface can have at most {MAX_SECONDARY} secondary IP addresses."
            )));
        }
    } else if current.secondary.contains(&(addr, len)) {
        return Err(CmdError::msg(format!(
            "The IP address {addr}/{len} is already a secondary address of {port}."
        )));
    }
    // The port's own other addresses (all but the primary being replaced) may not overlap
    // either: one subnet has one address per interface.
    let replaced = (!sub).then_some(current.address).flatten();
    for (own, own_len) in current.addresses().filter(|a| Some(*a) != replaced) {
        if address::overlaps(addr, len, own, own_len) {
            return Err(CmdError::msg(format!(
                "The IP address {addr}/{len} overlaps with {own}/{own_len} on this interface."
            )));
        }
    }
    // The index names the candidates; the configuration confirms them.
    for other in config.subnets.candidates(&port, addr, len) {
        let Some(other_cfg) = config.interfaces.get(other) else {
            continue;
        };
        if let Some((other_addr, other_len)) = other_cfg
            .addresses()
            .find(|(a, l)| address::overlaps(addr, len, *a, *l))
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
    if sub {
        entry.secondary.push((addr, len));
    } else if let Some((old, old_len)) = entry.address.replace((addr, len)) {
        config.subnets.remove(&port, old, old_len);
    }
    config.subnets.insert(&port, addr, len);
    Ok(())
}

/// `shutdown` / `undo shutdown`
pub fn shutdown(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_interface(ctx)?;
    if is_loopback(ctx, &port) && !args.undo {
        // Its addresses live on the host's shared loopback, which must stay up.
        return Err(CmdError::msg(format!(
            "{port} cannot be shut down on Duet."
        )));
    }
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
    let port = current_interface(ctx)?;
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
                "Vlan-interface10",
                CmdError::msg(
                    "The interface Vlan-interface10 does not exist: the simulated device has only its GigabitEthernet ports.",
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

    fn addr_args(ip_text: &str, len: u64, sub: bool) -> Args {
        let mut items = vec![("addr", ip(ip_text)), ("len", Value::Int(len))];
        if sub {
            items.push(("sub", Value::Keyword));
        }
        args(&items)
    }

    fn undo_addr(ip_text: &str, len: u64, sub: bool) -> Args {
        let mut a = addr_args(ip_text, len, sub);
        a.undo = true;
        a
    }

    #[test]
    fn secondary_addresses() {
        let mut t = in_port("GigabitEthernet1/0/1");
        let port: IfName = "ge1/0/1".parse().unwrap();
        let cfg = |t: &TestBed| t.config().interfaces[&port].clone();
        // A secondary needs a primary.
        assert_eq!(
            t.run(ip_address, &addr_args("10.2.0.1", 24, true), &[])
                .result,
            Err(CmdError::msg(
                "Configure the primary IP address of the interface before a secondary one."
            ))
        );
        assert_eq!(
            t.run(ip_address, &addr_args("10.1.0.1", 24, false), &[])
                .result,
            Ok(())
        );
        assert_eq!(
            t.run(ip_address, &addr_args("10.2.0.1", 24, true), &[])
                .result,
            Ok(())
        );
        assert_eq!(
            t.run(ip_address, &addr_args("10.3.0.1", 24, true), &[])
                .result,
            Ok(())
        );
        // Again is nothing new.
        assert_eq!(
            t.run(ip_address, &addr_args("10.3.0.1", 24, true), &[])
                .result,
            Ok(())
        );
        assert_eq!(
            cfg(&t).secondary,
            [
                ("10.2.0.1".parse().unwrap(), 24),
                ("10.3.0.1".parse().unwrap(), 24)
            ]
        );
        // Overlaps with the port's own addresses and with another port's secondary.
        assert!(
            t.run(ip_address, &addr_args("10.2.0.9", 16, true), &[])
                .result
                .is_err()
        );
        t.session.views.truncate(2);
        t.session
            .views
            .push(View::Interface("GigabitEthernet1/0/2".into()));
        assert_eq!(
            t.run(ip_address, &addr_args("10.9.0.1", 24, false), &[])
                .result,
            Ok(())
        );
        let run = t.run(ip_address, &addr_args("10.3.0.2", 24, true), &[]);
        assert_eq!(
            run.result,
            Err(CmdError::msg(
                "The IP address 10.3.0.2/24 overlaps with the subnet of GigabitEthernet1/0/1 (10.3.0.1/24)."
            ))
        );
        t.session.views.truncate(2);
        t.session
            .views
            .push(View::Interface("GigabitEthernet1/0/1".into()));
        // The primary stays while secondaries remain; a named address must be configured.
        let before = t.config();
        assert!(
            t.run(ip_address, &undo_addr("10.1.0.1", 24, false), &[])
                .result
                .is_err()
        );
        assert!(
            t.run(ip_address, &undo_addr("10.4.0.1", 24, true), &[])
                .result
                .is_err()
        );
        assert!(
            t.run(ip_address, &undo_addr("10.2.0.1", 24, false), &[])
                .result
                .is_err()
        );
        assert_eq!(t.config(), before);
        assert_eq!(
            t.run(ip_address, &undo_addr("10.2.0.1", 24, true), &[])
                .result,
            Ok(())
        );
        assert_eq!(cfg(&t).secondary, [("10.3.0.1".parse().unwrap(), 24)]);
        // `undo ip address` removes everything, and the subnets are free again.
        assert_eq!(t.run(ip_address, &undo(&[]), &[]).result, Ok(()));
        assert_eq!((cfg(&t).address, cfg(&t).secondary.len()), (None, 0));
        t.session.views.truncate(2);
        t.session
            .views
            .push(View::Interface("GigabitEthernet1/0/2".into()));
        assert_eq!(
            t.run(ip_address, &addr_args("10.3.0.2", 24, true), &[])
                .result,
            Ok(())
        );
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
