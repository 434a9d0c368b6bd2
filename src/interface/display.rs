//! Interface displays (grammar in commands/interface-display.yaml): `display interface brief`,
//! `display ip interface brief` and `display interface [IF]`, drawn from the engine's
//! published status and the configured descriptions.

use super::name::IfName;
use super::status::PortStatus;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, Ctx, Registry};
use crate::config::Config;
use crate::net::{IfAddr, mac_text};

pub fn register(r: &mut Registry) {
    r.add("ifdisplay.brief", display_brief);
    r.add("ifdisplay.ip_brief", display_ip_brief);
    r.add("ifdisplay.detail", display_detail);
}

/// The address shown as primary: the configured one when it is on the port, else the first.
fn primary(cfg: &Config, port: &IfName, st: &PortStatus) -> Option<IfAddr> {
    let configured = cfg.interfaces.get(port).and_then(|c| c.address);
    configured
        .filter(|a| st.addresses.contains(a))
        .or_else(|| st.addresses.first().copied())
}

fn description(cfg: &Config, port: &IfName) -> Option<String> {
    cfg.interfaces.get(port).and_then(|c| c.description.clone())
}

/// `display interface brief`
fn display_brief(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.if_status.borrow().clone();
    ctx.line("Brief information on interfaces in route mode:");
    ctx.line("Link: ADM - administratively down; Stby - standby");
    ctx.line("Protocol: (s) - spoofing");
    ctx.line(format!("{:<21}{:<5}{:<9}{:<16}{}", "Interface", "Link", "Protocol", "Primary IP", "Description"));
    for (port, st) in status.iter() {
        let link = match (st.admin_up, st.link_up) {
            (false, _) => "ADM",
            (true, true) => "UP",
            (true, false) => "DOWN",
        };
        let ip = primary(&cfg, port, st).map_or("--".to_string(), |(a, _)| a.to_string());
        let row = format!(
            "{:<21}{:<5}{:<9}{:<16}{}",
            port.short(),
            link,
            if st.protocol_up() { "UP" } else { "DOWN" },
            ip,
            description(&cfg, port).unwrap_or_default()
        );
        ctx.line(row.trim_end());
    }
    Ok(())
}

/// `display ip interface brief`
fn display_ip_brief(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.if_status.borrow().clone();
    ctx.line("*down: administratively down");
    ctx.line("(s): spoofing  (l): loopback");
    ctx.line(format!(
        "{:<21}{:<9}{:<9}{:<16}{:<13}{}",
        "Interface", "Physical", "Protocol", "IP address", "VPN instance", "Description"
    ));
    for (port, st) in status.iter() {
        let physical = match (st.admin_up, st.link_up) {
            (false, _) => "*down",
            (true, true) => "up",
            (true, false) => "down",
        };
        let ip = primary(&cfg, port, st).map_or("--".to_string(), |(a, _)| a.to_string());
        ctx.line(format!(
            "{:<21}{:<9}{:<9}{:<16}{:<13}{}",
            port.short(),
            physical,
            up_down(st.protocol_up()),
            ip,
            "--",
            description(&cfg, port).unwrap_or_else(|| "--".to_string())
        ));
    }
    Ok(())
}

fn up_down(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

/// `display interface [IF]`: a compact Comware-style detail view of one port or all.
fn display_detail(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let cfg = ctx.device.config.lock().clone();
    let status = ctx.device.if_status.borrow().clone();
    let ports: Vec<(&IfName, &PortStatus)> = match args.str("if") {
        Some(text) => {
            let name: IfName = text.parse().map_err(|_| CmdError::WrongParameter("if".into()))?;
            let (port, st) = status
                .get_key_value(&name)
                .ok_or_else(|| CmdError::msg(format!("The interface {name} does not exist.")))?;
            vec![(port, st)]
        }
        None => status.iter().collect(),
    };
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
        ctx.line(format!("Line protocol state: {}", if st.protocol_up() { "UP" } else { "DOWN" }));
        ctx.line(format!(
            "Description: {}",
            description(&cfg, port).unwrap_or_else(|| format!("{port} Interface"))
        ));
        ctx.line("Bandwidth: 1000000 kbps");
        ctx.line("Maximum transmission unit: 1500");
        let first = primary(&cfg, port, st);
        match first {
            None => ctx.line("Internet protocol processing: Disabled"),
            Some((a, len)) => ctx.line(format!("Internet address: {a}/{len} (primary)")),
        }
        for (a, len) in st.addresses.iter().filter(|a| Some(**a) != first) {
            ctx.line(format!("Internet address: {a}/{len} (sub)"));
        }
        if let Some(mac) = &st.mac {
            ctx.line(format!("IP packet frame type: Ethernet II, hardware address: {}", mac_text(mac)));
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
