//! `display local-user`, `display users` and `display ssh server { status | session }`.

use crate::cli::handler::CmdResult;
use crate::cli::{Args, Ctx, Registry};
use std::sync::atomic::Ordering;

use crate::session::ssh::{checks, startups};
use crate::session::table::Access;

pub fn register(r: &mut Registry) {
    r.add("aaa.display_local_user", local_user);
    r.add("line.display_users", users);
    r.add("ssh.display_server", ssh_server);
}

/// One block per local user, then the count.
fn local_user(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let users = ctx.device.config.lock().users.clone();
    let online = ctx.device.sessions.list();
    for (name, user) in &users {
        let services: Vec<&str> = [(user.ssh, "SSH"), (user.terminal, "Terminal")]
            .into_iter()
            .filter_map(|(on, s)| on.then_some(s))
            .collect();
        let logged_in = online.iter().filter(|s| &s.user == name).count();
        ctx.line(format!("Device management user {name}:"));
        ctx.line("  State:                     Active");
        ctx.line(format!(
            "  Service type:              {}",
            if services.is_empty() {
                "-".to_string()
            } else {
                services.join("/")
            }
        ));
        ctx.line(format!(
            "  Access limit:              Disabled      Current access number: {logged_in}"
        ));
        ctx.line(format!(
            "  Password:                  {}",
            if user.password.is_some() {
                "Set (argon2id hash)"
            } else {
                "Not set"
            }
        ));
        ctx.line(format!("  Authorized public keys:    {}", user.keys.len()));
        ctx.line("  Authorization attributes:");
        ctx.line(format!("    User role list:          {}", user.role.name()));
    }
    ctx.line(format!("Total {} local users matched.", users.len()));
    Ok(())
}

fn hms(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The line's label in `display users`: `CON 0`, `VTY 3`.
fn line_label(line: &str) -> String {
    match line.strip_prefix("vty") {
        Some(n) => format!("VTY {n}"),
        None => "CON 0".to_string(),
    }
}

/// `display users`: one row per logged-in session, the caller's marked `+`.
fn users(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let sessions = ctx.device.sessions.list();
    ctx.line("  Idx  Line    Idle       Time                 Type     User");
    for s in sessions {
        let mark = if s.line == ctx.session.line { '+' } else { ' ' };
        let idx = match s
            .line
            .strip_prefix("vty")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n + 1,
            None => 0,
        };
        let time = chrono::DateTime::<chrono::Local>::from(s.since)
            .format("%b %d %H:%M:%S")
            .to_string();
        let kind = match s.access {
            Access::Console => "",
            Access::Control => "CONTROL",
            Access::Ssh => "SSH",
        };
        ctx.line(format!(
            "{mark} {idx:<4} {:<7} {:<10} {:<20} {kind:<8} {}",
            line_label(&s.line),
            hms(s.idle.as_secs()),
            time,
            s.user
        ));
        if s.peer != "**" {
            ctx.line(format!("               Location: {}", s.peer));
        }
    }
    ctx.line("Following are more details.");
    ctx.line("+    : Current operation user.");
    Ok(())
}

fn ssh_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let ssh = ctx.device.config.lock().ssh.clone();
    if args.has("status") {
        let listening = ctx.device.sessions.ssh_listening();
        ctx.line(format!(
            " Stelnet server: {}",
            if ssh.enabled { "Enable" } else { "Disable" }
        ));
        ctx.line(" SSH version : 2.0");
        ctx.line(format!(
            " SSH server port : {}",
            listening.map(|a| a.port()).unwrap_or(ssh.port)
        ));
        ctx.line(format!(
            " SSH server state : {}",
            match listening {
                Some(addr) => format!("Listening on {addr}"),
                None => "Not listening".to_string(),
            }
        ));
        ctx.line(" SSH authentication retries : 5 time(s) per minute per source");
        ctx.line(format!(
            " SSH login lockout : {} second(s)",
            ssh.lockout_secs
        ));
        ctx.line(format!(
            " SSH authentication-timeout : {} second(s)",
            ssh.auth_timeout_secs
        ));
        // What unauthenticated clients hold now, against the server's fixed bounds.
        let load = ctx.device.sessions.ssh_load().unwrap_or_default();
        ctx.line(format!(
            " SSH connections logging in : {} (at most {}, {} per source), {} refused",
            load.logging_in.load(Ordering::Relaxed),
            startups::MAX_TOTAL,
            startups::MAX_PER_SOURCE,
            load.refused.load(Ordering::Relaxed)
        ));
        ctx.line(format!(
            " SSH password checks : {} running, {} waiting (at most {} and {}), {} refused",
            load.checks.running.load(Ordering::Relaxed),
            load.checks.waiting.load(Ordering::Relaxed),
            checks::CHECKERS,
            checks::QUEUE,
            load.checks.refused.load(Ordering::Relaxed)
        ));
        ctx.line(" SFTP server: Disable");
        return Ok(());
    }
    let sessions: Vec<_> = ctx
        .device
        .sessions
        .list()
        .into_iter()
        .filter(|s| s.access == Access::Ssh)
        .collect();
    ctx.line(" Conn     Ver  State        SerType  Username         Peer");
    for s in sessions {
        ctx.line(format!(
            " {:<8} 2.0  Established  Stelnet  {:<16} {}",
            line_label(&s.line),
            s.user,
            s.peer
        ));
    }
    Ok(())
}
