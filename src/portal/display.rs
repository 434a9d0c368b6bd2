//! `display portal user|web-server|interface|rule static|statistics` and `reset portal
//! statistics` (layouts: docs/portal.md, "Displays"; Comware 7's where it has one).

use super::config::{DetectKind, url_param_name};
use super::firewall::{FreeRule, Transport};
use super::users::{Selector, User};
use crate::cli::handler::CmdResult;
use crate::cli::table::{self, Column, Table};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};
use crate::interface::name::IfName;
use crate::net::mac_text;

pub fn register(r: &mut Registry) {
    r.add("portal.display_user", user);
    r.add("portal.display_web_server", web_server);
    r.add("portal.display_interface", interface);
    r.add("portal.display_rule", rule);
    r.add("portal.display_statistics", statistics);
    r.add("portal.reset_statistics", reset_statistics);
}

/// The `MAC  IP  VLAN  Interface` rows of a user block.
const USER_ROW: &[Column] = &[
    Column::left(19).indent(2),
    Column::left(19),
    Column::left(7),
    Column::rest(),
];
/// `Label: value` lines of the verbose block.
const FIELD: &[Column] = &[Column::left(30).indent(2), Column::rest()];
/// `Label : value` lines of the web server and statistics displays.
const PAIR: &[Column] = &[Column::left(17).indent(2), Column::rest()];

fn field(label: &str, value: impl ToString) -> String {
    table::line(FIELD, [label.to_string(), value.to_string()])
}

fn pair(label: &str, value: impl ToString) -> String {
    table::line(
        PAIR,
        [label.to_string(), format!(": {}", value.to_string())],
    )
}

/// A snapshot of the users (and the clock the driver read) for a display.
fn users(ctx: &Ctx<'_>) -> Result<(Vec<(User, u64)>, u64), CmdError> {
    let Some(portal) = ctx.device.portal.get() else {
        return Ok((Vec::new(), 0));
    };
    portal
        .query(|t, now| {
            let users = t
                .users()
                .map(|u| (u.clone(), t.idle_ms(now, u.ip).unwrap_or(0)))
                .collect();
            (users, now)
        })
        .map_err(|e| CmdError::msg(e.to_string()))
}

fn utc(ms: u64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".to_string())
}

fn hms(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `display portal user {all | interface IF | ip A | mac M | username U} [verbose]`.
fn user(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let selector = if let Some(ip) = args.ipv4("uip") {
        Selector::Ip(ip)
    } else if let Some(mac) = args.mac("umac") {
        Selector::Mac(mac)
    } else if let Some(name) = args.str("uname") {
        Selector::Username(name.to_string())
    } else if let Some(port) = args.str("if") {
        Selector::Interface(port.to_string())
    } else {
        Selector::All
    };
    let (all, now) = users(ctx)?;
    let shown: Vec<_> = all
        .into_iter()
        .filter(|(u, _)| selector.matches(u))
        .collect();
    let config = ctx.device.config.lock().clone();
    ctx.line(format!("Total portal users: {}", shown.len()));
    for (u, idle_ms) in &shown {
        let web_server = u
            .interface
            .parse::<IfName>()
            .ok()
            .and_then(|p| config.interfaces.get(&p))
            .and_then(|i| i.portal.web_server.clone())
            .unwrap_or_else(|| "N/A".to_string());
        ctx.line(format!("Username: {}", u.username));
        ctx.line(format!("  Portal server: {web_server}"));
        ctx.line("  State: Online");
        ctx.line("  VPN instance: N/A");
        let mut rows = Table::new(USER_ROW);
        rows.row(["MAC", "IP", "VLAN", "Interface"]);
        rows.row([
            mac_text(&u.mac),
            u.ip.to_string(),
            "--".into(),
            u.interface.clone(),
        ]);
        ctx.table(&rows);
        if args.has("verbose") {
            ctx.line("  Basic:");
            ctx.line(field("  User ID:", format!("0x{:08x}", u.seq)));
            ctx.line(field("  Portal authentication method:", "Direct"));
            ctx.line("  AAA:");
            ctx.line(field(
                "  Idle-cut:",
                match u.idle_cut_secs {
                    Some(s) => format!("{s} sec (idle {} sec)", idle_ms / 1000),
                    None => "N/A".to_string(),
                },
            ));
            ctx.line(field(
                "  Session duration:",
                match u.session_deadline_ms {
                    Some(d) => format!(
                        "{} sec, remaining: {} sec",
                        d.saturating_sub(u.login_ms) / 1000,
                        d.saturating_sub(now) / 1000
                    ),
                    None => "Unlimited".to_string(),
                },
            ));
            ctx.line(field("  Login time:", utc(u.login_ms)));
            ctx.line(field(
                "  Online duration (hh:mm:ss):",
                hms(now.saturating_sub(u.login_ms) / 1000),
            ));
        } else {
            ctx.line("  Authorization information:");
            for label in [
                "DHCP IP pool",
                "User profile",
                "Session group profile",
                "ACL number",
                "Inbound CAR",
                "Outbound CAR",
            ] {
                ctx.line(format!("    {label}: N/A"));
            }
        }
    }
    Ok(())
}

/// `display portal web-server [NAME]`.
fn web_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let servers = ctx.device.config.lock().portal.web_servers.clone();
    let shown: Vec<_> = match args.str("name") {
        Some(name) => match servers.get_key_value(name) {
            Some(s) => vec![s],
            None => {
                return Err(CmdError::msg(format!(
                    "The portal web server {name} does not exist."
                )));
            }
        },
        None => servers.iter().collect(),
    };
    for (name, ws) in shown {
        ctx.line(format!("Portal Web server: {name}"));
        ctx.line(pair("URL", ws.url.as_deref().unwrap_or("Not configured")));
        let mut params = ws
            .url_parameters
            .iter()
            .map(|(n, k)| format!("{n}={}", url_param_name(*k)));
        ctx.line(pair(
            "URL parameters",
            params.next().unwrap_or_else(|| "Not configured".into()),
        ));
        for more in params {
            ctx.line(table::line(PAIR, [String::new(), format!("  {more}")]));
        }
        ctx.line(pair("VPN instance", "Not configured"));
        ctx.line(pair("Server detection", "Not configured"));
        ctx.line(pair("IPv4 status", "N/A"));
        ctx.line(pair("IPv6 status", "N/A"));
        ctx.line("");
    }
    Ok(())
}

fn port_of(ctx: &Ctx<'_>, args: &Args) -> Result<IfName, CmdError> {
    let text = args.str("if").unwrap_or_default();
    text.parse::<IfName>()
        .ok()
        .filter(|p| ctx.device.has_port(p))
        .ok_or_else(|| CmdError::msg(format!("The interface {text} does not exist.")))
}

/// `display portal interface IF`.
fn interface(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = port_of(ctx, args)?;
    let config = ctx.device.config.lock().clone();
    let p = config
        .interfaces
        .get(&port)
        .map(|i| i.portal.clone())
        .unwrap_or_default();
    let (users, _) = users(ctx)?;
    let online = users
        .iter()
        .filter(|(u, _)| u.interface == port.to_string())
        .count();
    ctx.line(format!(" Portal information of {port}"));
    ctx.line("     Authorization                  : Strict checking");
    ctx.line(" IPv4:");
    let rows: Vec<(&str, String)> = vec![
        (
            "Portal status",
            if p.enabled { "Enabled" } else { "Disabled" }.to_string(),
        ),
        (
            "Portal authentication method",
            if p.enabled { "Direct" } else { "Disabled" }.to_string(),
        ),
        (
            "Portal web server",
            p.web_server
                .clone()
                .unwrap_or_else(|| "Not configured".into()),
        ),
        (
            "Authentication domain",
            p.domain.clone().unwrap_or_else(|| "Not configured".into()),
        ),
        (
            "User detection",
            match p.detect {
                Some(d) => format!(
                    "Type: {}  Interval: {}s  Attempts: {}  Idle time: {}s",
                    match d.kind {
                        DetectKind::Arp => "ARP",
                        DetectKind::Icmp => "ICMP",
                    },
                    d.interval_secs,
                    d.retry,
                    d.idle_secs
                ),
                None => "Not configured".into(),
            },
        ),
        (
            "Max portal users",
            p.max_users
                .map_or_else(|| "Not configured".to_string(), |n| n.to_string()),
        ),
        ("Online portal users", online.to_string()),
    ];
    let layout = [Column::left(31).indent(5), Column::rest()];
    for (label, value) in rows {
        ctx.line(table::line(
            &layout,
            [label.to_string(), format!(": {value}")],
        ));
    }
    Ok(())
}

/// `display portal rule static interface IF`: the rules in the order they match (H3C's
/// filtering order: the portal and free rules permit, then logged-in users, then redirect
/// HTTP, then deny).
fn rule(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = port_of(ctx, args)?;
    let config = ctx.device.config.lock().clone();
    let enabled = config
        .interfaces
        .get(&port)
        .is_some_and(|i| i.portal.enabled);
    if !enabled {
        ctx.line(format!("Portal is not enabled on {port}."));
        return Ok(());
    }
    let web_port = config
        .portal
        .local_web_server
        .as_ref()
        .map_or(super::config::DEFAULT_HTTP_PORT, |l| l.tcp_port);
    let mut rules: Vec<(String, Vec<(String, String)>)> = vec![(
        "Permit".into(),
        vec![
            ("Source".into(), "any".into()),
            (
                "Destination".into(),
                format!("the device's addresses, TCP port {web_port}, DHCP"),
            ),
        ],
    )];
    for (n, r) in &config.portal.free_rules {
        let (src, dst) = match r {
            FreeRule::Destination { net, port } => {
                let ip = net.map_or("any".to_string(), |(a, l)| format!("{a}/{l}"));
                let p = match port {
                    Some((Transport::Tcp, p)) => format!(", TCP port {p}"),
                    Some((Transport::Udp, p)) => format!(", UDP port {p}"),
                    None => String::new(),
                };
                ("any".to_string(), format!("{ip}{p}"))
            }
            FreeRule::SourceMac(m) => (format!("MAC {}", mac_text(m)), "any".to_string()),
        };
        rules.push((
            "Permit".into(),
            vec![
                ("Free rule".into(), n.to_string()),
                ("Source".into(), src),
                ("Destination".into(), dst),
            ],
        ));
    }
    rules.push((
        "Redirect".into(),
        vec![
            ("Source".into(), "any (not logged in)".into()),
            ("Destination".into(), "TCP port 80".into()),
        ],
    ));
    rules.push((
        "Deny".into(),
        vec![
            ("Source".into(), "any (not logged in)".into()),
            ("Destination".into(), "any (TCP port 443: reset)".into()),
        ],
    ));
    let layout = [Column::left(14).indent(1), Column::rest()];
    for (i, (action, fields)) in rules.into_iter().enumerate() {
        ctx.line(format!("Rule {}:", i + 1));
        ctx.line(table::line(
            &layout,
            ["Type".to_string(), ": Static".into()],
        ));
        ctx.line(table::line(
            &layout,
            ["Action".to_string(), format!(": {action}")],
        ));
        for (label, value) in fields {
            ctx.line(table::line(&layout, [label, format!(": {value}")]));
        }
        ctx.line(table::line(
            &layout,
            ["Interface".to_string(), format!(": {port}")],
        ));
    }
    Ok(())
}

/// `display portal statistics`: logins, failures, logouts by cause, lockouts, probes.
fn statistics(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let Some(portal) = ctx.device.portal.get() else {
        return Err(CmdError::msg("Portal is not running."));
    };
    let (stats, online) = portal
        .query(|t, _| (t.stats().clone(), t.len()))
        .map_err(|e| CmdError::msg(e.to_string()))?;
    let layout = [Column::left(34).indent(2), Column::rest()];
    let row = |label: &str, n: u64| table::line(&layout, [format!("{label}:"), n.to_string()]);
    ctx.line("Portal statistics:");
    ctx.line(row("Online users", online as u64));
    ctx.line(row("Successful logins", stats.logins));
    ctx.line(row("Failed logins", stats.failures.values().sum::<u64>()));
    for (reason, n) in &stats.failures {
        ctx.line(row(&format!("  {reason}"), *n));
    }
    ctx.line(row("Sources locked out", stats.lockouts));
    ctx.line(row("Logouts", stats.logouts.values().sum::<u64>()));
    for (cause, n) in &stats.logouts {
        ctx.line(row(&format!("  {}", cause.text()), *n));
    }
    ctx.line(row("Idle detection probes", stats.probes));
    for (label, n) in portal.web_counters() {
        ctx.line(row(label, n));
    }
    Ok(())
}

fn reset_statistics(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let Some(portal) = ctx.device.portal.get() else {
        return Err(CmdError::msg("Portal is not running."));
    };
    portal
        .query(|t, _| t.reset_stats())
        .map_err(|e| CmdError::msg(e.to_string()))?;
    portal.reset_web_counters();
    Ok(())
}
