//! The portal part of `display current-configuration`: the global lines (free rules, the
//! device's user limit), the `portal web-server NAME` and `portal local-web-server http`
//! sections, and the interface lines (rendered with the interface, `interface::render`).
//! Only what differs from a new device is shown.

use super::commands::{local_web_server_view, web_server_view};
use super::config::{
    DEFAULT_DETECT_IDLE_SECS, DEFAULT_DETECT_INTERVAL_SECS, DEFAULT_DETECT_RETRY,
    DEFAULT_HTTP_PORT, InterfacePortal, PortalConfig, url_param_name,
};
use super::firewall::{FreeRule, Transport};
use crate::config::render::Section;
use crate::net::mac_text;

/// ` portal free-rule ...` in number order, then ` portal max-user N`.
pub fn global_lines(cfg: &PortalConfig) -> Vec<String> {
    let mut lines: Vec<String> = cfg
        .free_rules
        .iter()
        .map(|(n, rule)| format!(" {}", free_rule_text(*n, rule)))
        .collect();
    if let Some(n) = cfg.max_users {
        lines.push(format!(" portal max-user {n}"));
    }
    lines
}

/// `portal free-rule N ...` as typed.
pub fn free_rule_text(n: u32, rule: &FreeRule) -> String {
    match rule {
        FreeRule::Destination { net, port } => {
            let dest = match net {
                Some((ip, len)) => format!("{ip} {len}"),
                None => "any".to_string(),
            };
            let port = match port {
                Some((Transport::Tcp, p)) => format!(" tcp {p}"),
                Some((Transport::Udp, p)) => format!(" udp {p}"),
                None => String::new(),
            };
            format!("portal free-rule {n} destination ip {dest}{port}")
        }
        FreeRule::SourceMac(mac) => format!("portal free-rule {n} source mac {}", mac_text(mac)),
    }
}

/// One section per web server (name order), then the local web server's.
pub fn view_sections(cfg: &PortalConfig) -> Vec<Section> {
    let mut sections: Vec<Section> = cfg
        .web_servers
        .iter()
        .map(|(name, ws)| {
            let mut lines = vec![format!("portal web-server {name}")];
            if let Some(url) = &ws.url {
                lines.push(format!(" url {url}"));
            }
            for (param, kind) in &ws.url_parameters {
                lines.push(format!(" url-parameter {param} {}", url_param_name(*kind)));
            }
            Section {
                view: web_server_view(name),
                lines,
            }
        })
        .collect();
    if let Some(local) = &cfg.local_web_server {
        let mut lines = vec!["portal local-web-server http".to_string()];
        if local.tcp_port != DEFAULT_HTTP_PORT {
            lines.push(format!(" tcp-port {}", local.tcp_port));
        }
        sections.push(Section {
            view: local_web_server_view(),
            lines,
        });
    }
    sections
}

/// The portal lines of an interface section, in Comware's order.
pub fn interface_lines(p: &InterfacePortal) -> Vec<String> {
    let mut lines = Vec::new();
    if p.enabled {
        lines.push(" portal enable method direct".to_string());
    }
    if let Some(d) = &p.domain {
        lines.push(format!(" portal domain {d}"));
    }
    if let Some(ws) = &p.web_server {
        lines.push(format!(" portal apply web-server {ws}"));
    }
    if let Some(d) = &p.detect {
        let mut line = format!(" portal user-detect type {}", d.kind.name());
        if d.retry != DEFAULT_DETECT_RETRY {
            line.push_str(&format!(" retry {}", d.retry));
        }
        if d.interval_secs != DEFAULT_DETECT_INTERVAL_SECS {
            line.push_str(&format!(" interval {}", d.interval_secs));
        }
        if d.idle_secs != DEFAULT_DETECT_IDLE_SECS {
            line.push_str(&format!(" idle {}", d.idle_secs));
        }
        lines.push(line);
    }
    if let Some(n) = p.max_users {
        lines.push(format!(" portal max-user {n}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::config::{Detect, DetectKind, LocalWebServer, WebServer};
    use crate::portal::web::UrlParam;

    #[test]
    fn golden() {
        let mut cfg = PortalConfig::default();
        cfg.free_rules.insert(
            1,
            FreeRule::Destination {
                net: Some(("10.1.1.53".parse().unwrap(), 32)),
                port: Some((Transport::Udp, 53)),
            },
        );
        cfg.free_rules.insert(
            2,
            FreeRule::Destination {
                net: None,
                port: None,
            },
        );
        cfg.free_rules
            .insert(3, FreeRule::SourceMac([0, 0x0d, 0x88, 0xf8, 0x0e, 0xab]));
        cfg.max_users = Some(100);
        assert_eq!(
            global_lines(&cfg),
            [
                " portal free-rule 1 destination ip 10.1.1.53 32 udp 53",
                " portal free-rule 2 destination ip any",
                " portal free-rule 3 source mac 000d-88f8-0eab",
                " portal max-user 100",
            ]
        );
        cfg.web_servers.insert(
            "local".into(),
            WebServer {
                url: Some("http://10.1.1.254/portal/".into()),
                url_parameters: vec![("userurl".into(), UrlParam::OriginalUrl)],
            },
        );
        cfg.local_web_server = Some(LocalWebServer { tcp_port: 8080 });
        let text: Vec<Vec<String>> = view_sections(&cfg).into_iter().map(|s| s.lines).collect();
        assert_eq!(
            text,
            [
                vec![
                    "portal web-server local",
                    " url http://10.1.1.254/portal/",
                    " url-parameter userurl original-url"
                ],
                vec!["portal local-web-server http", " tcp-port 8080"],
            ]
        );
        let p = InterfacePortal {
            enabled: true,
            domain: Some("campus".into()),
            web_server: Some("local".into()),
            detect: Some(Detect {
                kind: DetectKind::Arp,
                retry: 3,
                interval_secs: 3,
                idle_secs: 300,
            }),
            max_users: Some(10),
        };
        assert_eq!(
            interface_lines(&p),
            [
                " portal enable method direct",
                " portal domain campus",
                " portal apply web-server local",
                " portal user-detect type arp idle 300",
                " portal max-user 10",
            ]
        );
    }
}
