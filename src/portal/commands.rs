//! The portal configuration commands: the local web server and web server views, free rules,
//! the interface settings, the device's user limit, and `portal delete-user`.

use super::config::{
    DEFAULT_DETECT_IDLE_SECS, DEFAULT_DETECT_INTERVAL_SECS, DEFAULT_DETECT_RETRY,
    DEFAULT_HTTP_PORT, Detect, DetectKind, InterfacePortal, LocalWebServer,
};
use super::firewall::{FreeRule, Transport};
use super::users::{Cause, Selector};
use super::web::UrlParam;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, View};
use crate::device::{Ctx, Registry};
use crate::interface::name::IfName;

/// The view kind of `portal local-web-server http` (`views: [portal-local-websvr]`).
pub const LOCAL_WEB_SERVER_VIEW: &str = "portal-local-websvr";
/// The view kind of `portal web-server NAME` (`views: [portal-websvr]`).
pub const WEB_SERVER_VIEW: &str = "portal-websvr";

/// `[Sysname-portal-local-websvr-http]`.
pub fn local_web_server_view() -> View {
    View::feature(LOCAL_WEB_SERVER_VIEW, "http", "portal-local-websvr-http")
}

/// `[Sysname-portal-websvr-NAME]`.
pub fn web_server_view(name: &str) -> View {
    View::feature(WEB_SERVER_VIEW, name, format!("portal-websvr-{name}"))
}

pub fn register(r: &mut Registry) {
    r.add("portal.local_web_server", local_web_server);
    r.add("portal.tcp_port", tcp_port);
    r.add("portal.web_server", web_server);
    r.add("portal.url", url);
    r.add("portal.url_parameter", url_parameter);
    r.add("portal.free_rule", free_rule);
    r.add("portal.enable", enable);
    r.add("portal.domain", domain);
    r.add("portal.apply_web_server", apply_web_server);
    r.add("portal.user_detect", user_detect);
    r.add("portal.max_user", max_user);
    r.add("portal.delete_user", delete_user);
}

fn enter(ctx: &mut Ctx<'_>, view: View) {
    View::enter_under_system(&mut ctx.session.views, view);
}

/// `portal local-web-server http` enters its view (creating it); the undo form removes it.
fn local_web_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let mut config = ctx.device.config.lock();
    if args.undo {
        config.portal.local_web_server = None;
        return Ok(());
    }
    config
        .portal
        .local_web_server
        .get_or_insert_with(LocalWebServer::default);
    drop(config);
    enter(ctx, local_web_server_view());
    Ok(())
}

fn tcp_port(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if ctx
        .session
        .view()
        .feature_arg(LOCAL_WEB_SERVER_VIEW)
        .is_none()
    {
        return Err(CmdError::msg(
            "This command must be run in local portal web server view.",
        ));
    }
    let port = if args.undo {
        DEFAULT_HTTP_PORT
    } else {
        u16::try_from(args.int("port").unwrap_or(0))
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| CmdError::WrongParameter("port".into()))?
    };
    let mut config = ctx.device.config.lock();
    config
        .portal
        .local_web_server
        .get_or_insert_with(LocalWebServer::default)
        .tcp_port = port;
    Ok(())
}

/// A web server name: printable, no spaces.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 32
        && name.chars().all(|c| c.is_ascii_graphic() && c != '?')
}

/// `portal web-server NAME` enters its view (creating it); the undo form deletes it unless an
/// interface applies it.
fn web_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = args.str("name").unwrap_or_default().to_string();
    if !valid_name(&name) {
        return Err(CmdError::WrongParameter("name".into()));
    }
    let mut config = ctx.device.config.lock();
    if args.undo {
        if let Some((port, _)) = config
            .interfaces
            .iter()
            .find(|(_, i)| i.portal.web_server.as_deref() == Some(&name))
        {
            return Err(CmdError::msg(format!(
                "The portal web server {name} is applied on {port}; run undo portal apply web-server there first."
            )));
        }
        if config.portal.web_servers.remove(&name).is_none() {
            return Err(CmdError::msg(format!(
                "The portal web server {name} does not exist."
            )));
        }
        return Ok(());
    }
    config.portal.web_servers.entry(name.clone()).or_default();
    drop(config);
    enter(ctx, web_server_view(&name));
    Ok(())
}

/// Edit the web server of the current web server view.
fn with_web_server(
    ctx: &mut Ctx<'_>,
    edit: impl FnOnce(&mut super::config::WebServer) -> CmdResult,
) -> CmdResult {
    let Some(name) = ctx
        .session
        .view()
        .feature_arg(WEB_SERVER_VIEW)
        .map(str::to_string)
    else {
        return Err(CmdError::msg(
            "This command must be run in portal web server view.",
        ));
    };
    let mut config = ctx.device.config.lock();
    let ws =
        config.portal.web_servers.get_mut(&name).ok_or_else(|| {
            CmdError::msg(format!("The portal web server {name} does not exist."))
        })?;
    edit(ws)
}

/// `url http://ADDRESS[:PORT]/PATH`: only plain HTTP URLs (the local server speaks HTTP).
fn url(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let url = if args.undo {
        None
    } else {
        let text = args.str("address").unwrap_or_default();
        let rest = text
            .strip_prefix("http://")
            .filter(|r| !r.is_empty() && !r.starts_with('/'))
            .ok_or_else(|| CmdError::msg("The URL must start with http:// and name a host."))?;
        if rest
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '<' || c == '>')
        {
            return Err(CmdError::WrongParameter("url".into()));
        }
        Some(text.to_string())
    };
    with_web_server(ctx, |ws| {
        ws.url = url;
        Ok(())
    })
}

fn url_parameter(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = args.str("param").unwrap_or_default().to_string();
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    {
        return Err(CmdError::WrongParameter("param".into()));
    }
    let kind = if args.has("original-url") {
        UrlParam::OriginalUrl
    } else if args.has("source-address") {
        UrlParam::SourceAddress
    } else {
        UrlParam::SourceMac
    };
    let undo = args.undo;
    with_web_server(ctx, |ws| {
        let at = ws.url_parameters.iter().position(|(n, _)| *n == name);
        match (undo, at) {
            (true, Some(i)) => {
                ws.url_parameters.remove(i);
            }
            (true, None) => {
                return Err(CmdError::msg(format!(
                    "The URL parameter {name} does not exist."
                )));
            }
            (false, Some(i)) => ws.url_parameters[i].1 = kind,
            (false, None) => ws.url_parameters.push((name, kind)),
        }
        Ok(())
    })
}

/// `portal free-rule N destination ip {A LEN | any} [tcp P | udp P]`, `portal free-rule N
/// source mac H-H-H`; `undo portal free-rule {N | all}`.
fn free_rule(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let mut config = ctx.device.config.lock();
    if args.undo {
        if args.has("all") {
            config.portal.free_rules.clear();
            return Ok(());
        }
        let n = args.int("n").unwrap_or(0) as u32;
        if config.portal.free_rules.remove(&n).is_none() {
            return Err(CmdError::msg(format!(
                "The portal free rule {n} does not exist."
            )));
        }
        return Ok(());
    }
    let n = u32::try_from(args.int("n").unwrap_or(0))
        .map_err(|_| CmdError::WrongParameter("n".into()))?;
    let rule = if let Some(mac) = args.mac("smac") {
        FreeRule::SourceMac(mac)
    } else {
        let net = match args.ipv4("dip") {
            Some(ip) => {
                let len = args.int("len").unwrap_or(32) as u8;
                // The network address of the prefix: `10.1.1.7 24` is 10.1.1.0/24.
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Some((std::net::Ipv4Addr::from(u32::from(ip) & mask), len))
            }
            None => None,
        };
        let port = if let Some(p) = args.int("tport") {
            Some((Transport::Tcp, p as u16))
        } else {
            args.int("uport").map(|p| (Transport::Udp, p as u16))
        };
        FreeRule::Destination { net, port }
    };
    if let Some(old) = config.portal.free_rules.get(&n)
        && *old != rule
    {
        return Err(CmdError::msg(format!(
            "The portal free rule {n} already exists; delete it first to change it."
        )));
    }
    config.portal.free_rules.insert(n, rule);
    Ok(())
}

/// The interface of the current interface view.
fn current_port(ctx: &Ctx<'_>) -> Result<IfName, CmdError> {
    let View::Interface(text) = ctx.session.view() else {
        return Err(CmdError::msg("This command must be run in interface view."));
    };
    text.parse::<IfName>()
        .ok()
        .filter(|name| ctx.device.has_port(name))
        .ok_or_else(|| CmdError::msg(format!("The interface {text} does not exist.")))
}

fn with_port(ctx: &mut Ctx<'_>, edit: impl FnOnce(&mut InterfacePortal) -> CmdResult) -> CmdResult {
    let port = current_port(ctx)?;
    let mut config = ctx.device.config.lock();
    let cfg = config
        .interfaces
        .get_mut(&port)
        .ok_or_else(|| CmdError::msg(format!("The interface {port} does not exist.")))?;
    edit(&mut cfg.portal)
}

/// `portal enable method direct`; `undo portal enable` logs the interface's users out (the
/// driver does, when it applies the change: cause "configuration changed").
fn enable(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let on = !args.undo;
    with_port(ctx, |p| {
        p.enabled = on;
        Ok(())
    })
}

fn domain(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let domain = if args.undo {
        None
    } else {
        let d = args.str("dname").unwrap_or_default();
        if !crate::aaa::network::valid_domain_name(d) {
            return Err(CmdError::WrongParameter("dname".into()));
        }
        Some(d.to_string())
    };
    with_port(ctx, |p| {
        p.domain = domain;
        Ok(())
    })
}

fn apply_web_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let ws = if args.undo {
        None
    } else {
        let name = args.str("ws").unwrap_or_default();
        if !valid_name(name) {
            return Err(CmdError::WrongParameter("ws".into()));
        }
        Some(name.to_string())
    };
    with_port(ctx, |p| {
        p.web_server = ws;
        Ok(())
    })
}

fn user_detect(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let detect = if args.undo {
        None
    } else {
        Some(Detect {
            kind: if args.has("icmp") {
                DetectKind::Icmp
            } else {
                DetectKind::Arp
            },
            retry: args.int("tries").map_or(DEFAULT_DETECT_RETRY, |n| n as u32),
            interval_secs: args
                .int("secs")
                .map_or(DEFAULT_DETECT_INTERVAL_SECS, |n| n as u32),
            idle_secs: args
                .int("idle_secs")
                .map_or(DEFAULT_DETECT_IDLE_SECS, |n| n as u32),
        })
    };
    with_port(ctx, |p| {
        p.detect = detect;
        Ok(())
    })
}

/// `portal max-user N` in system view (the device) or interface view (the interface). Users
/// already logged in stay; new logins wait for room.
fn max_user(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let max = if args.undo {
        None
    } else {
        Some(
            u32::try_from(args.int("max").unwrap_or(1))
                .map_err(|_| CmdError::WrongParameter("max".into()))?,
        )
    };
    if matches!(ctx.session.view(), View::Interface(_)) {
        return with_port(ctx, |p| {
            p.max_users = max;
            Ok(())
        });
    }
    ctx.device.config.lock().portal.max_users = max;
    Ok(())
}

/// `portal delete-user {A.B.C.D | all | interface IF | mac H-H-H}`: log the users out now.
fn delete_user(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let selector = if args.has("all") {
        Selector::All
    } else if let Some(ip) = args.ipv4("uip") {
        Selector::Ip(ip)
    } else if let Some(mac) = args.mac("umac") {
        Selector::Mac(mac)
    } else {
        let port = args.str("if").unwrap_or_default().to_string();
        Selector::Interface(port)
    };
    let Some(portal) = ctx.device.portal.get() else {
        return Err(CmdError::msg("Portal is not running."));
    };
    match portal.query(move |core, now| core.logout(now, &selector, Cause::DeleteUser)) {
        Ok(_) => Ok(()),
        Err(e) => Err(CmdError::msg(e.to_string())),
    }
}
