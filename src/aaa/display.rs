//! `display local-user`, `display users` and `display ssh server { status | session }`.

use crate::cli::Args;
use crate::cli::handler::CmdResult;
use crate::cli::table::{self, Column, Table};
use crate::device::{Ctx, Registry};
use std::sync::atomic::Ordering;

use crate::session::ssh::{checks, startups};
use crate::session::table::Access;

pub fn register(r: &mut Registry) {
    r.add("aaa.display_local_user", local_user);
    r.add("line.display_users", users);
    r.add("ssh.display_server", ssh_server);
}

/// The `display local-user` layout: `  Label:` and its value at column 29 (a second pair after
/// the first value on the access line).
const USER_FIELDS: &[Column] = &[Column::left(27).indent(2), Column::left(14), Column::rest()];

/// One line of a local user's block.
fn user_field(label: &str, value: impl ToString) -> String {
    table::line(USER_FIELDS, [label.to_string(), value.to_string()])
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
        ctx.line(user_field("State:", "Active"));
        ctx.line(user_field(
            "Service type:",
            if services.is_empty() {
                "-".to_string()
            } else {
                services.join("/")
            },
        ));
        ctx.line(table::line(
            USER_FIELDS,
            [
                "Access limit:".to_string(),
                "Disabled".into(),
                format!("Current access number: {logged_in}"),
            ],
        ));
        ctx.line(user_field(
            "Password:",
            if user.password.is_some() {
                "Set (argon2id hash)"
            } else {
                "Not set"
            },
        ));
        ctx.line(user_field("Authorized public keys:", user.keys.len()));
        ctx.line(user_field("Authorization attributes:", ""));
        ctx.line(user_field("  User role list:", user.role.name()));
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

/// The `display users` layout: mark, index, line, idle time, login time, type, user.
const USERS: &[Column] = &[
    Column::left(1).gap(1),
    Column::left(4).gap(1),
    Column::left(7).gap(1),
    Column::left(10).gap(1),
    Column::left(20).gap(1),
    Column::left(8).gap(1),
    Column::rest(),
];

/// `display users`: one row per logged-in session, the caller's marked `+`. `display users
/// all`: a row for every user line (CON 0, VTY 0 to 63), the ones nobody uses with their index
/// and name only, as Comware lists them.
fn users(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let sessions = ctx.device.sessions.list();
    let mut table = Table::new(USERS);
    table.row(["", "Idx", "Line", "Idle", "Time", "Type", "User"]);
    if args.has("all") {
        let lines = std::iter::once("con0".to_string())
            .chain((0..crate::aaa::VTY_LINES).map(|n| format!("vty{n}")));
        for line in lines {
            match sessions.iter().find(|s| s.line == line) {
                Some(s) => user_row(ctx, &mut table, s.clone()),
                None => {
                    table.row([
                        String::new(),
                        line_index(&line).to_string(),
                        line_label(&line),
                    ]);
                }
            }
        }
    } else {
        for s in sessions {
            user_row(ctx, &mut table, s);
        }
    }
    ctx.table(&table);
    ctx.line("Following are more details.");
    ctx.line("+    : Current operation user.");
    Ok(())
}

/// `Idx` of a line: 0 for the console, N+1 for vty N.
fn line_index(line: &str) -> usize {
    match line
        .strip_prefix("vty")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => n + 1,
        None => 0,
    }
}

/// The row of a logged-in session (and its `Location:` line).
fn user_row(ctx: &Ctx<'_>, table: &mut Table, s: crate::session::table::SessionInfo) {
    {
        let mark = if s.line == ctx.session.line { '+' } else { ' ' };
        let idx = line_index(&s.line);
        let time = chrono::DateTime::<chrono::Local>::from(s.since)
            .format("%b %d %H:%M:%S")
            .to_string();
        let kind = match s.access {
            Access::Console => "",
            Access::Control => "CONTROL",
            Access::Ssh => "SSH",
        };
        table.row([
            mark.to_string(),
            idx.to_string(),
            line_label(&s.line),
            hms(s.idle.as_secs()),
            time,
            kind.into(),
            s.user,
        ]);
        if s.peer != "**" {
            table.text(format!("               Location: {}", s.peer));
        }
    }
}

/// The `display ssh server session` layout: line, version, state, service, user, peer.
const SSH_SESSIONS: &[Column] = &[
    Column::left(8).indent(1).gap(1),
    Column::left(3).gap(2),
    Column::left(11).gap(2),
    Column::left(7).gap(2),
    Column::left(16).gap(1),
    Column::rest(),
];

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
    let mut table = Table::new(SSH_SESSIONS);
    table.row(["Conn", "Ver", "State", "SerType", "Username", "Peer"]);
    for s in sessions {
        table.row([
            line_label(&s.line),
            "2.0".into(),
            "Established".into(),
            "Stelnet".into(),
            s.user,
            s.peer,
        ]);
    }
    ctx.table(&table);
    Ok(())
}
