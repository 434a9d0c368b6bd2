//! The login and access commands: `local-user` and its view, `line vty|console` and the line
//! view, `ssh server ...`, and `free line vty N`.

use super::lines::{AuthMode, DEFAULT_IDLE_SECS, LineConfig, LineRange};
use super::password;
use super::users::{
    DEFAULT_AUTH_TIMEOUT_SECS, DEFAULT_LOCKOUT_SECS, DEFAULT_SSH_PORT, LocalUser, USER_VIEW,
    user_view, valid_user_name,
};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, View};
use crate::device::{Ctx, Registry};
use crate::session::Role;

pub fn register(r: &mut Registry) {
    r.add("aaa.local_user", local_user);
    r.add("aaa.user_password", user_password);
    r.add("aaa.service_type", service_type);
    r.add("aaa.user_role", user_role);
    r.add("aaa.authorized_key", authorized_key);
    r.add("line.enter_vty", enter_vty);
    r.add("line.enter_console", enter_console);
    r.add("line.authentication_mode", authentication_mode);
    r.add("line.password", line_password);
    r.add("line.user_role", line_role);
    r.add("line.idle_timeout", idle_timeout);
    r.add("line.free", free_line);
    r.add("ssh.enable", ssh_enable);
    r.add("ssh.port", ssh_port);
    r.add("ssh.lockout", ssh_lockout);
    r.add("ssh.auth_timeout", ssh_auth_timeout);
}

/// Put `view` directly under system view, wherever the command came from.
fn enter(ctx: &mut Ctx<'_>, view: View) {
    View::enter_under_system(&mut ctx.session.views, view);
}

/// The role named by the `network-admin` / `network-operator` keyword.
fn role_of(args: &Args) -> Role {
    if args.has("network-admin") {
        Role::NetworkAdmin
    } else {
        Role::NetworkOperator
    }
}

/// The stored hash for `{ simple TEXT | hash TEXT }`.
fn password_of(args: &Args) -> Result<String, CmdError> {
    if let Some(plain) = args.str("plain") {
        if plain.is_empty() || plain.chars().count() > password::MAX_PLAIN {
            return Err(CmdError::WrongParameter("plain".into()));
        }
        password::hash(plain).map_err(|e| CmdError::msg(format!("{e}.")))
    } else {
        let hashed = args.str("hashed").unwrap_or_default();
        password::check_hash(hashed).map_err(|_| CmdError::WrongParameter("hashed".into()))
    }
}

/// `local-user NAME [class manage]` creates the user if needed and enters its view;
/// `undo local-user NAME` deletes it, `undo local-user all` every local user.
fn local_user(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo && args.has("all") {
        ctx.device.config.lock().users.clear();
        return Ok(());
    }
    let name = args.str("name").unwrap_or_default().to_string();
    if !valid_user_name(&name) {
        return Err(CmdError::WrongParameter("name".into()));
    }
    let mut config = ctx.device.config.lock();
    if args.undo {
        if config.users.remove(&name).is_none() {
            return Err(CmdError::msg(format!(
                "The local user {name} does not exist."
            )));
        }
        return Ok(());
    }
    let new = !config.users.contains_key(&name);
    config.users.entry(name.clone()).or_default();
    drop(config);
    if new {
        ctx.line("New local user added.");
    }
    enter(ctx, user_view(&name));
    Ok(())
}

/// Edit the user of the current local-user view.
fn with_user(ctx: &mut Ctx<'_>, edit: impl FnOnce(&mut LocalUser) -> CmdResult) -> CmdResult {
    let Some(name) = ctx
        .session
        .view()
        .feature_arg(USER_VIEW)
        .map(str::to_string)
    else {
        return Err(CmdError::msg(
            "This command must be run in local user view.",
        ));
    };
    let mut config = ctx.device.config.lock();
    let user = config
        .users
        .get_mut(&name)
        .ok_or_else(|| CmdError::msg(format!("The local user {name} does not exist.")))?;
    edit(user)
}

fn user_password(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let hash = if args.undo {
        None
    } else {
        Some(password_of(args)?)
    };
    with_user(ctx, |u| {
        u.password = hash;
        Ok(())
    })
}

/// `service-type {ssh | terminal} *` adds the services; the undo form removes them.
fn service_type(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let on = !args.undo;
    let (ssh, terminal) = (args.has("ssh"), args.has("terminal"));
    with_user(ctx, |u| {
        if ssh {
            u.ssh = on;
        }
        if terminal {
            u.terminal = on;
        }
        Ok(())
    })
}

/// `authorization-attribute user-role R`; the undo form puts back network-operator.
/// A Comware user holds a set of roles, and a device management user is given
/// network-operator besides what it is granted, so a Comware file lists
/// `authorization-attribute user-role network-admin` and then `... network-operator`. Duet
/// keeps the strongest role the user holds: adding network-operator never takes
/// network-admin away; `undo ... network-admin` does.
fn user_role(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let given = role_of(args);
    let undo = args.undo;
    with_user(ctx, |u| {
        u.role = match (undo, given) {
            (true, _) => Role::NetworkOperator,
            (false, Role::NetworkAdmin) => Role::NetworkAdmin,
            (false, Role::NetworkOperator) => u.role,
        };
        Ok(())
    })
}

/// The canonical `TYPE BASE64` form of an OpenSSH public key line (comment dropped).
pub fn canonical_key(text: &str) -> Option<String> {
    let mut key = russh::keys::PublicKey::from_openssh(text.trim()).ok()?;
    key.set_comment("");
    key.to_openssh().ok().map(|s| s.trim().to_string())
}

/// `ssh authorized-key TYPE BASE64 [COMMENT]` adds a key; `undo ssh authorized-key` removes
/// every key of the user.
fn authorized_key(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo {
        return with_user(ctx, |u| {
            u.keys.clear();
            Ok(())
        });
    }
    let key = canonical_key(args.str("key").unwrap_or_default())
        .ok_or_else(|| CmdError::WrongParameter("key".into()))?;
    with_user(ctx, |u| {
        if !u.keys.contains(&key) {
            u.keys.push(key);
        }
        Ok(())
    })
}

fn enter_vty(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let first = args.int("first").unwrap_or(0) as u8;
    let last = args.int("last").map(|n| n as u8).unwrap_or(first);
    if last < first {
        return Err(CmdError::WrongParameter("last".into()));
    }
    enter(ctx, LineRange::Vty { first, last }.view());
    Ok(())
}

fn enter_console(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    enter(ctx, LineRange::Console.view());
    Ok(())
}

/// Edit every line of the current line view.
fn with_lines(ctx: &mut Ctx<'_>, edit: impl Fn(&mut LineConfig, &LineConfig)) -> CmdResult {
    let Some(range) = LineRange::of_view(ctx.session.view()) else {
        return Err(CmdError::msg("This command must be run in line view."));
    };
    let default = match range {
        LineRange::Console => LineConfig::console_default(),
        LineRange::Vty { .. } => LineConfig::vty_default(),
    };
    let mut config = ctx.device.config.lock();
    for line in config.lines.range_mut(range) {
        edit(line, &default);
    }
    Ok(())
}

fn authentication_mode(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let mode = if args.has("none") {
        AuthMode::None
    } else if args.has("scheme") {
        AuthMode::Scheme
    } else {
        AuthMode::Password
    };
    let undo = args.undo;
    with_lines(ctx, |l, d| l.auth = if undo { d.auth } else { mode })
}

fn line_password(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let hash = if args.undo {
        None
    } else {
        Some(password_of(args)?)
    };
    with_lines(ctx, |l, _| l.password = hash.clone())
}

fn line_role(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (role, undo) = (role_of(args), args.undo);
    with_lines(ctx, |l, d| l.role = if undo { d.role } else { role })
}

/// `idle-timeout MINUTES [SECONDS]`; `idle-timeout 0` (or `0 0`) disables it.
fn idle_timeout(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let secs = if args.undo {
        DEFAULT_IDLE_SECS
    } else {
        let minutes = args.int("minutes").unwrap_or(0);
        let seconds = args.int("seconds").unwrap_or(0);
        u32::try_from(minutes * 60 + seconds)
            .map_err(|_| CmdError::WrongParameter("minutes".into()))?
    };
    with_lines(ctx, |l, _| l.idle_secs = secs)
}

/// `free line vty N`: log out the session on that line (after confirmation).
fn free_line(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let n = args.int("n").unwrap_or(0);
    let line = format!("vty{n}");
    if line == ctx.session.line {
        return Err(CmdError::msg("The current line cannot be freed."));
    }
    if !ctx.device.sessions.list().iter().any(|s| s.line == line) {
        return Err(CmdError::msg(format!(
            "No user is logged in on line vty {n}."
        )));
    }
    let answer = ctx
        .io
        .ask(&format!("Are you sure to free line vty{n}? [Y/N]:"));
    if !answer.is_some_and(|a| a.trim().eq_ignore_ascii_case("y")) {
        return Ok(());
    }
    ctx.device.sessions.free(&line);
    ctx.line(format!(" [OK]  Line vty{n} freed."));
    Ok(())
}

fn ssh_enable(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    ctx.device.config.lock().ssh.enabled = !args.undo;
    Ok(())
}

fn ssh_port(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = if args.undo {
        DEFAULT_SSH_PORT
    } else {
        u16::try_from(args.int("number").unwrap_or(0))
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| CmdError::WrongParameter("number".into()))?
    };
    ctx.device.config.lock().ssh.port = port;
    Ok(())
}

fn ssh_lockout(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let secs = if args.undo {
        DEFAULT_LOCKOUT_SECS
    } else {
        u32::try_from(args.int("seconds").unwrap_or(0))
            .map_err(|_| CmdError::WrongParameter("seconds".into()))?
    };
    ctx.device.config.lock().ssh.lockout_secs = secs;
    Ok(())
}

fn ssh_auth_timeout(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let secs = if args.undo {
        DEFAULT_AUTH_TIMEOUT_SECS
    } else {
        u32::try_from(args.int("seconds").unwrap_or(0))
            .ok()
            .filter(|s| (1..=120).contains(s))
            .ok_or_else(|| CmdError::WrongParameter("seconds".into()))?
    };
    ctx.device.config.lock().ssh.auth_timeout_secs = secs;
    Ok(())
}
