//! Interface displays (grammar in commands/interface-display.yaml): `display interface brief`,
//! `display ip interface brief` and `display interface [IF]`, drawn from the engine's
//! published status and the configured descriptions.

use std::net::Ipv4Addr;

use super::name::{IfKind, IfName};
use super::status::{IfStatus, PortStatus};
use crate::cli::handler::CmdResult;
use crate::cli::table::{Column, Table};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};
use crate::features::Config;
use crate::net::{IfAddr, mac_text};

pub fn register(r: &mut Registry) {
    r.add("ifdisplay.brief", display_brief);
    r.add("ifdisplay.ip_brief", display_ip_brief);
    r.add("ifdisplay.detail", display_detail);
}

/// The address shown as primary: the configured one when it is on the port, else the first.
fn primary(cfg: &Config, port: &IfName, st: &PortStatus) -> Option<IfAddr> {
    let configured = cfg.interfaces.get(port).and_then(|c| c.address);
    let own = own_addresses(cfg, port, st);
    configured
        .filter(|a| own.contains(a))
        .or_else(|| own.first().copied())
}

/// The port's addresses as Comware lists them: a VRRP virtual IP the port holds as master
/// is the group's, never one of the interface's (Comware shows it only in `display vrrp`),
/// unless it is the port's own configured address (the IP owner).
fn own_addresses(cfg: &Config, port: &IfName, st: &PortStatus) -> Vec<IfAddr> {
    let Some(c) = cfg.interfaces.get(port) else {
        return st.addresses.clone();
    };
    let configured = c.address.map(|(a, _)| a);
    let virtual_ip = |a: &Ipv4Addr| {
        Some(*a) != configured && c.vrrp.groups.values().any(|g| g.virtual_ips.contains(a))
    };
    st.addresses
        .iter()
        .filter(|(a, _)| !virtual_ip(a))
        .copied()
        .collect()
}

fn description(cfg: &Config, port: &IfName) -> Option<String> {
    cfg.interfaces.get(port).and_then(|c| c.description.clone())
}

/// Description characters `display interface brief` shows without `description`.
const BRIEF_DESCRIPTION: usize = 27;
/// Description characters `display ip interface brief` shows without `description`.
const IP_BRIEF_DESCRIPTION: usize = 12;

/// `display interface brief`: interface, link, protocol, primary IP, description.
const BRIEF: &[Column] = &[
    Column::left(21),
    Column::left(5),
    Column::left(9),
    Column::left(16),
    Column::rest(),
];
/// `display interface brief down`: interface, link, cause.
const BRIEF_DOWN: &[Column] = &[Column::left(21), Column::left(5), Column::rest()];
/// `display ip interface brief`: interface, physical, protocol, IP address, VPN instance,
/// description.
const IP_BRIEF: &[Column] = &[
    Column::left(21),
    Column::left(9),
    Column::left(9),
    Column::left(16),
    Column::left(13),
    Column::rest(),
];

/// The description as a brief display shows it: cut to `max` characters unless the
/// `description` keyword asks for all of it.
fn brief_description(text: &str, args: &Args, max: usize) -> String {
    if args.has("description") {
        text.to_string()
    } else {
        text.chars().take(max).collect()
    }
}

/// The ports a display covers: the one named by the `if` argument, or all of them.
fn selected<'a>(
    status: &'a IfStatus,
    args: &Args,
) -> Result<Vec<(&'a IfName, &'a PortStatus)>, CmdError> {
    match args.str("if") {
        Some(text) => {
            let name: IfName = text
                .parse()
                .map_err(|_| CmdError::WrongParameter("if".into()))?;
            let found = status
                .get_key_value(&name)
                .ok_or_else(|| CmdError::msg(format!("The interface {name} does not exist.")))?;
            Ok(vec![found])
        }
        None => Ok(status.iter().collect()),
    }
}

fn link_word(st: &PortStatus) -> &'static str {
    match (st.admin_up, st.link_up) {
        (false, _) => "ADM",
        (true, true) => "UP",
        (true, false) => "DOWN",
    }
}

/// `display interface [ IF ] brief [ description | down ]`
fn display_brief(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.settled_interfaces();
    let ports = selected(&status, args)?;
    ctx.line("Brief information on interfaces in route mode:");
    ctx.line("Link: ADM - administratively down; Stby - standby");
    if args.has("down") {
        // Only ports that are not up, with the reason.
        let mut table = Table::new(BRIEF_DOWN);
        table.row(["Interface", "Link", "Cause"]);
        for (port, st) in ports.into_iter().filter(|(_, st)| !st.physical_up()) {
            let cause = if st.admin_up {
                "Not connected"
            } else {
                "Administratively"
            };
            table.row([port.short(), link_word(st).into(), cause.into()]);
        }
        ctx.table(&table);
        return Ok(());
    }
    ctx.line("Protocol: (s) - spoofing");
    let mut table = Table::new(BRIEF);
    table.row(["Interface", "Link", "Protocol", "Primary IP", "Description"]);
    for (port, st) in ports {
        let ip = primary(&cfg, port, st).map_or("--".to_string(), |(a, _)| a.to_string());
        let text = description(&cfg, port).unwrap_or_default();
        table.row([
            port.short(),
            link_word(st).into(),
            format!(
                "{}{}",
                if st.protocol_up() { "UP" } else { "DOWN" },
                spoofing(port)
            ),
            ip,
            brief_description(&text, args, BRIEF_DESCRIPTION),
        ]);
    }
    ctx.table(&table);
    Ok(())
}

/// `display ip interface [ IF ] brief [ description ]`
fn display_ip_brief(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.settled_interfaces();
    let ports = selected(&status, args)?;
    ctx.line("*down: administratively down");
    ctx.line("(s): spoofing  (l): loopback");
    let mut table = Table::new(IP_BRIEF);
    table.row([
        "Interface",
        "Physical",
        "Protocol",
        "IP address",
        "VPN instance",
        "Description",
    ]);
    for (port, st) in ports {
        let physical = match (st.admin_up, st.link_up) {
            (false, _) => "*down",
            (true, true) => "up",
            (true, false) => "down",
        };
        let ip = primary(&cfg, port, st).map_or("--".to_string(), |(a, _)| a.to_string());
        table.row([
            port.short(),
            physical.into(),
            format!("{}{}", up_down(st.protocol_up()), spoofing(port)),
            ip,
            "--".into(),
            description(&cfg, port).map_or("--".to_string(), |d| {
                brief_description(&d, args, IP_BRIEF_DESCRIPTION)
            }),
        ]);
    }
    ctx.table(&table);
    Ok(())
}

/// `(s)`: a LoopBack's line protocol is spoofed up (it has no link layer), as Comware marks it.
fn spoofing(port: &IfName) -> &'static str {
    if port.kind == IfKind::LoopBack {
        "(s)"
    } else {
        ""
    }
}

fn up_down(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

/// `display interface [IF]`: a compact Comware-style detail view of one port or all.
fn display_detail(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.settled_interfaces();
    let ports = selected(&status, args)?;
    for (i, (port, st)) in ports.into_iter().enumerate() {
        if i > 0 {
            ctx.line("");
        }
        let state = match (st.admin_up, st.link_up) {
            (false, _) => "Administratively DOWN",
            (true, true) => "UP",
            (true, false) => "DOWN",
        };
        ctx.line(port.to_string());
        ctx.line(format!("Current state: {state}"));
        ctx.line(format!(
            "Line protocol state: {}{}",
            if st.protocol_up() { "UP" } else { "DOWN" },
            if port.kind == IfKind::LoopBack {
                " (spoofing)"
            } else {
                ""
            }
        ));
        ctx.line(format!(
            "Description: {}",
            description(&cfg, port).unwrap_or_else(|| format!("{port} Interface"))
        ));
        ctx.line("Bandwidth: 1000000 kbps");
        ctx.line("Maximum transmission unit: 1500");
        let first = primary(&cfg, port, st);
        match first {
            None => ctx.line("Internet protocol processing: Disabled"),
            Some((a, len)) => ctx.line(format!("Internet address: {a}/{len} (Primary)")),
        }
        let own = own_addresses(&cfg, port, st);
        for (a, len) in own.iter().filter(|a| Some(**a) != first) {
            ctx.line(format!("Internet address: {a}/{len} (Sub)"));
        }
        if let Some(mac) = &st.mac {
            ctx.line(format!(
                "IP packet frame type: Ethernet II, hardware address: {}",
                mac_text(mac)
            ));
        }
        if let Some(linux) = &st.linux_name {
            ctx.line(format!("Linux interface: {linux}"));
        }
        if let Some(err) = &st.error {
            ctx.line(format!("Last error: {err}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cli::Value;
    use crate::device::Device;
    use crate::device::testing::{TestIo, test_device};
    use crate::interface::status::IfStatus;
    use crate::session::{Role, SessionState};

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    fn run(device: &Device, handler: &str, args: &Args) -> Result<String, CmdError> {
        let mut session = SessionState::new(Role::NetworkOperator, "**", "con0", "**");
        let mut out = String::new();
        let h = Registry::all().get(handler).expect("registered");
        h(
            &mut Ctx {
                device,
                session: &mut session,
                io: &mut TestIo,
                out: &mut out,
            },
            args,
        )
        .map(|()| out)
    }

    /// GE1/0/1 up with an address and a description, GE1/0/2 shut down, the others without
    /// carrier.
    fn sample() -> (tempfile::TempDir, Arc<Device>) {
        let (dir, d) = test_device();
        {
            let mut cfg = d.config.lock();
            let c1 = cfg.interfaces.get_mut(&ge(1)).unwrap();
            c1.address = Some(("192.168.1.1".parse().unwrap(), 24));
            c1.description = Some("to-core".into());
            cfg.interfaces.get_mut(&ge(2)).unwrap().shutdown = true;
        }
        let mut st: IfStatus = (*d.interfaces()).clone();
        let p1 = st.get_mut(&ge(1)).unwrap();
        p1.link_up = true;
        p1.mac = Some([0x02, 0xd0, 0, 0, 0, 1]);
        p1.addresses = vec![
            ("10.9.9.9".parse().unwrap(), 32),
            ("192.168.1.1".parse().unwrap(), 24),
        ];
        st.get_mut(&ge(2)).unwrap().admin_up = false;
        d.if_status.send_replace(Arc::new(st));
        (dir, d)
    }

    #[test]
    fn interface_brief_layout() {
        let (_dir, d) = sample();
        let out = run(&d, "ifdisplay.brief", &Args::default()).unwrap();
        assert_eq!(
            out,
            "Brief information on interfaces in route mode:\n\
             Link: ADM - administratively down; Stby - standby\n\
             Protocol: (s) - spoofing\n\
             Interface            Link Protocol Primary IP      Description\n\
             GE1/0/1              UP   UP       192.168.1.1     to-core\n\
             GE1/0/2              ADM  DOWN     --\n\
             GE1/0/3              DOWN DOWN     --\n\
             GE1/0/4              DOWN DOWN     --\n"
        );
    }

    #[test]
    fn interface_brief_down_and_long_descriptions() {
        let (_dir, d) = sample();
        let mut args = Args::default();
        args.push("down", Value::Keyword, (0, 0));
        let out = run(&d, "ifdisplay.brief", &args).unwrap();
        assert_eq!(
            out,
            "Brief information on interfaces in route mode:\n\
             Link: ADM - administratively down; Stby - standby\n\
             Interface            Link Cause\n\
             GE1/0/2              ADM  Administratively\n\
             GE1/0/3              DOWN Not connected\n\
             GE1/0/4              DOWN Not connected\n"
        );
        let long = "uplink to the core switch in rack 12, port 48";
        d.config
            .lock()
            .interfaces
            .get_mut(&ge(1))
            .unwrap()
            .description = Some(long.into());
        let out = run(&d, "ifdisplay.brief", &Args::default()).unwrap();
        assert!(
            out.contains("192.168.1.1     uplink to the core switch i\n"),
            "{out}"
        );
        let out = run(&d, "ifdisplay.ip_brief", &Args::default()).unwrap();
        assert!(out.contains("--           uplink to th\n"), "{out}");
        let mut args = Args::default();
        args.push("description", Value::Keyword, (0, 0));
        let out = run(&d, "ifdisplay.brief", &args).unwrap();
        assert!(out.contains(&format!("192.168.1.1     {long}\n")), "{out}");
        let out = run(&d, "ifdisplay.ip_brief", &args).unwrap();
        assert!(out.contains(&format!("--           {long}\n")), "{out}");
    }

    #[test]
    fn brief_of_one_interface() {
        let (_dir, d) = sample();
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/2".into()),
            (0, 0),
        );
        let out = run(&d, "ifdisplay.brief", &args).unwrap();
        assert_eq!(
            out.lines().skip(4).collect::<Vec<_>>(),
            ["GE1/0/2              ADM  DOWN     --"]
        );
        let out = run(&d, "ifdisplay.ip_brief", &args).unwrap();
        assert_eq!(
            out.lines().skip(3).collect::<Vec<_>>(),
            ["GE1/0/2              *down    down     --              --           --"]
        );
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/7".into()),
            (0, 0),
        );
        assert_eq!(
            run(&d, "ifdisplay.ip_brief", &args),
            Err(CmdError::msg(
                "The interface GigabitEthernet1/0/7 does not exist."
            ))
        );
    }

    #[test]
    fn ip_interface_brief_layout() {
        let (_dir, d) = sample();
        let out = run(&d, "ifdisplay.ip_brief", &Args::default()).unwrap();
        assert_eq!(
            out,
            "*down: administratively down\n\
             (s): spoofing  (l): loopback\n\
             Interface            Physical Protocol IP address      VPN instance Description\n\
             GE1/0/1              up       up       192.168.1.1     --           to-core\n\
             GE1/0/2              *down    down     --              --           --\n\
             GE1/0/3              down     down     --              --           --\n\
             GE1/0/4              down     down     --              --           --\n"
        );
    }

    #[test]
    fn interface_detail_of_one_port() {
        let (_dir, d) = sample();
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/1".into()),
            (0, 0),
        );
        let out = run(&d, "ifdisplay.detail", &args).unwrap();
        assert_eq!(
            out,
            "GigabitEthernet1/0/1\n\
             Current state: UP\n\
             Line protocol state: UP\n\
             Description: to-core\n\
             Bandwidth: 1000000 kbps\n\
             Maximum transmission unit: 1500\n\
             Internet address: 192.168.1.1/24 (Primary)\n\
             Internet address: 10.9.9.9/32 (Sub)\n\
             IP packet frame type: Ethernet II, hardware address: 02d0-0000-0001\n"
        );
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/2".into()),
            (0, 0),
        );
        let out = run(&d, "ifdisplay.detail", &args).unwrap();
        assert!(out.contains("Current state: Administratively DOWN\n"));
        assert!(out.contains("Description: GigabitEthernet1/0/2 Interface\n"));
        assert!(out.contains("Internet protocol processing: Disabled\n"));
    }

    /// A VRRP virtual IP the port holds is the group's: never an interface address, also
    /// while the port is shut and its own address is gone (issue 14).
    #[test]
    fn a_virtual_ip_is_never_listed_as_an_interface_address() {
        let (_dir, d) = sample();
        let vip: Ipv4Addr = "192.168.1.254".parse().unwrap();
        d.config
            .lock()
            .interfaces
            .get_mut(&ge(1))
            .unwrap()
            .vrrp
            .groups
            .insert(1, crate::vrrp::config::GroupConfig::new(1, vec![vip]));
        let mut st: IfStatus = (*d.interfaces()).clone();
        st.get_mut(&ge(1)).unwrap().addresses =
            vec![(vip, 32), ("192.168.1.1".parse().unwrap(), 24)];
        d.if_status.send_replace(Arc::new(st.clone()));
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/1".into()),
            (0, 0),
        );
        let out = run(&d, "ifdisplay.detail", &args).unwrap();
        assert!(
            out.contains("Internet address: 192.168.1.1/24 (Primary)\n"),
            "{out}"
        );
        assert!(!out.contains("192.168.1.254"), "{out}");
        // The port shut: its own address is gone, the virtual IP not yet.
        st.get_mut(&ge(1)).unwrap().addresses = vec![(vip, 32)];
        d.if_status.send_replace(Arc::new(st));
        let out = run(&d, "ifdisplay.detail", &args).unwrap();
        assert!(
            out.contains("Internet protocol processing: Disabled\n"),
            "{out}"
        );
        assert!(!out.contains("192.168.1.254"), "{out}");
        let out = run(&d, "ifdisplay.ip_brief", &Args::default()).unwrap();
        assert!(!out.contains("192.168.1.254"), "{out}");
    }

    #[tokio::test]
    async fn brief_follows_the_running_engine() {
        let (_dir, d) = test_device();
        {
            let mut cfg = d.config.lock();
            cfg.interfaces.get_mut(&ge(1)).unwrap().address =
                Some(("10.1.1.1".parse().unwrap(), 24));
            cfg.interfaces.get_mut(&ge(2)).unwrap().shutdown = true;
        }
        d.config.publish();
        d.start(&tokio::runtime::Handle::current()).unwrap();
        let mut rx = d.if_status.subscribe();
        let ready = |s: &IfStatus| {
            !s[&ge(1)].addresses.is_empty() && !s[&ge(2)].admin_up && s[&ge(3)].link_up
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !ready(&rx.borrow_and_update()) {
                rx.changed().await.unwrap();
            }
        })
        .await
        .expect("engine applied the configuration");
        let out = run(&d, "ifdisplay.brief", &Args::default()).unwrap();
        let rows: Vec<&str> = out.lines().skip(4).collect();
        assert_eq!(
            rows,
            [
                "GE1/0/1              UP   UP       10.1.1.1",
                "GE1/0/2              ADM  DOWN     --",
                "GE1/0/3              UP   UP       --",
                "GE1/0/4              UP   UP       --",
            ]
        );
    }

    #[test]
    fn interface_detail_all_and_unknown() {
        let (_dir, d) = sample();
        let out = run(&d, "ifdisplay.detail", &Args::default()).unwrap();
        assert_eq!(out.matches("Current state:").count(), 4);
        assert!(out.contains("\n\nGigabitEthernet1/0/2\n"));
        let mut args = Args::default();
        args.push(
            "if",
            Value::Interface("GigabitEthernet1/0/9".into()),
            (0, 0),
        );
        assert_eq!(
            run(&d, "ifdisplay.detail", &args),
            Err(CmdError::msg(
                "The interface GigabitEthernet1/0/9 does not exist."
            ))
        );
    }
}
