//! The login and access parts of `display current-configuration`, in Comware order: the line
//! sections after the interfaces, then the ` ssh server` lines, then one section per local
//! user. Only what differs from a new device is shown.

use super::lines::{LineConfig, LineRange, LinesConfig};
use super::network::{DomainsConfig, NetworkUser, SYSTEM_DOMAIN, domain_view, network_user_view};
use super::users::user_view;
use super::users::{
    DEFAULT_AUTH_TIMEOUT_SECS, DEFAULT_LOCKOUT_SECS, DEFAULT_SSH_PORT, LocalUser, SshServerConfig,
};
use crate::config::render::Section;

/// The lines of one user line's section below its header.
fn line_body(cfg: &LineConfig, default: &LineConfig) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.auth != default.auth {
        out.push(format!(" authentication-mode {}", cfg.auth.name()));
    }
    if let Some(hash) = &cfg.password {
        out.push(format!(" set authentication password hash {hash}"));
    }
    if cfg.role != default.role {
        out.push(format!(" user-role {}", cfg.role.name()));
    }
    if cfg.idle_secs != default.idle_secs {
        let (m, s) = (cfg.idle_secs / 60, cfg.idle_secs % 60);
        out.push(if s == 0 {
            format!(" idle-timeout {m}")
        } else {
            format!(" idle-timeout {m} {s}")
        });
    }
    out
}

fn line_section(range: LineRange, body: Vec<String>) -> Section {
    let mut lines = vec![format!("line {}", range.words())];
    lines.extend(body);
    Section {
        view: range.view(),
        lines,
    }
}

/// `line console 0` when changed, then one `line vty A B` section per run of consecutive vty
/// lines with the same (non-default) settings.
pub fn render_lines(lines: &LinesConfig) -> Vec<Section> {
    let mut sections = Vec::new();
    let console = line_body(&lines.console, &LineConfig::console_default());
    if !console.is_empty() {
        sections.push(line_section(LineRange::Console, console));
    }
    let default = LineConfig::vty_default();
    let mut first = 0;
    while first < lines.vty.len() {
        let cfg = &lines.vty[first];
        let mut last = first;
        while last + 1 < lines.vty.len() && lines.vty[last + 1] == *cfg {
            last += 1;
        }
        let body = line_body(cfg, &default);
        if !body.is_empty() {
            let range = LineRange::Vty {
                first: first as u8,
                last: last as u8,
            };
            sections.push(line_section(range, body));
        }
        first = last + 1;
    }
    sections
}

/// The global ` ssh server ...` lines.
pub fn render_ssh(ssh: &SshServerConfig) -> Vec<String> {
    let mut out = Vec::new();
    if ssh.enabled {
        out.push(" ssh server enable".to_string());
    }
    if ssh.port != DEFAULT_SSH_PORT {
        out.push(format!(" ssh server port {}", ssh.port));
    }
    if ssh.lockout_secs != DEFAULT_LOCKOUT_SECS {
        out.push(format!(" ssh server login-lockout {}", ssh.lockout_secs));
    }
    if ssh.auth_timeout_secs != DEFAULT_AUTH_TIMEOUT_SECS {
        out.push(format!(
            " ssh server authentication-timeout {}",
            ssh.auth_timeout_secs
        ));
    }
    out
}

/// `local-user NAME class manage` and its settings.
pub fn render_user(name: &str, user: &LocalUser) -> Section {
    let mut lines = vec![format!("local-user {name} class manage")];
    if let Some(hash) = &user.password {
        lines.push(format!(" password hash {hash}"));
    }
    let services: Vec<&str> = [(user.ssh, "ssh"), (user.terminal, "terminal")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if !services.is_empty() {
        lines.push(format!(" service-type {}", services.join(" ")));
    }
    lines.push(format!(
        " authorization-attribute user-role {}",
        user.role.name()
    ));
    for key in &user.keys {
        lines.push(format!(" ssh authorized-key {key}"));
    }
    Section {
        view: user_view(name),
        lines,
    }
}

/// One `domain NAME` section per domain; `system` only when something is set in it (a new
/// device's configuration stays as it was).
pub fn render_domains(domains: &DomainsConfig) -> Vec<Section> {
    domains
        .domains
        .iter()
        .filter(|(name, d)| name.as_str() != SYSTEM_DOMAIN || d.portal_local)
        .map(|(name, d)| {
            let mut lines = vec![format!("domain {name}")];
            if d.portal_local {
                lines.push(" authentication portal local".to_string());
            }
            Section {
                view: domain_view(name),
                lines,
            }
        })
        .collect()
}

/// ` domain default enable NAME` when it is not `system`.
pub fn render_default_domain(domains: &DomainsConfig) -> Vec<String> {
    if domains.default == SYSTEM_DOMAIN {
        Vec::new()
    } else {
        vec![format!(" domain default enable {}", domains.default)]
    }
}

/// `local-user NAME class network` and its settings.
pub fn render_network_user(name: &str, user: &NetworkUser) -> Section {
    let mut lines = vec![format!("local-user {name} class network")];
    if let Some(hash) = &user.password {
        lines.push(format!(" password hash {hash}"));
    }
    if user.portal {
        lines.push(" service-type portal".to_string());
    }
    if let Some(n) = user.access_limit {
        lines.push(format!(" access-limit {n}"));
    }
    if let Some(m) = user.idle_cut_minutes {
        lines.push(format!(" authorization-attribute idle-cut {m}"));
    }
    if let Some(m) = user.session_timeout_minutes {
        lines.push(format!(" authorization-attribute session-timeout {m}"));
    }
    Section {
        view: network_user_view(name),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aaa::AuthMode;
    use crate::session::Role;

    #[test]
    fn vty_runs_group_and_defaults_vanish() {
        let mut lines = LinesConfig::default();
        assert!(render_lines(&lines).is_empty());
        for l in &mut lines.vty[0..=4] {
            l.auth = AuthMode::Scheme;
        }
        lines.vty[9].idle_secs = 65;
        lines.console.auth = AuthMode::Password;
        let text: Vec<Vec<String>> = render_lines(&lines).into_iter().map(|s| s.lines).collect();
        assert_eq!(
            text,
            [
                vec!["line console 0", " authentication-mode password"],
                vec!["line vty 0 4", " authentication-mode scheme"],
                vec!["line vty 9", " idle-timeout 1 5"],
            ]
        );
    }

    #[test]
    fn user_section() {
        let user = LocalUser {
            password: Some("$argon2id$x".into()),
            ssh: true,
            terminal: true,
            role: Role::NetworkAdmin,
            keys: vec!["ssh-ed25519 AAAA".into()],
        };
        assert_eq!(
            render_user("admin", &user).lines,
            [
                "local-user admin class manage",
                " password hash $argon2id$x",
                " service-type ssh terminal",
                " authorization-attribute user-role network-admin",
                " ssh authorized-key ssh-ed25519 AAAA",
            ]
        );
    }
}
