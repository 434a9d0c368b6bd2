//! The shell's own commands: moving between views, the session's screen length and its
//! command history.

use crate::cli::{Args, CmdResult, View};
use crate::device::{Ctx, Registry};

/// The page length a session gets back with `undo screen-length disable`.
pub const DEFAULT_SCREEN_LENGTH: usize = 24;

pub fn register(r: &mut Registry) {
    r.add("shell.system_view", system_view);
    r.add("shell.quit", quit);
    r.add("shell.return", return_to_user);
    r.add("shell.screen_length", screen_length);
    r.add("shell.display_history", display_history);
}

/// `system-view` (user view).
fn system_view(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    ctx.session.views.truncate(1);
    ctx.session.views.push(View::System);
    ctx.line("System View: return to User View with Ctrl+Z.");
    Ok(())
}

/// `quit`: up one view; in user view the session ends.
fn quit(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    if ctx.session.views.len() > 1 {
        ctx.session.views.pop();
    } else {
        ctx.session.exit = true;
    }
    Ok(())
}

/// `return`: straight to user view.
fn return_to_user(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    ctx.session.views.truncate(1);
    Ok(())
}

/// `screen-length disable` / `undo screen-length disable`, for this session.
fn screen_length(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    ctx.session.screen_length = if args.undo {
        Some(DEFAULT_SCREEN_LENGTH)
    } else {
        None
    };
    Ok(())
}

/// `display history-command`: this session's commands, one per line with one leading space.
fn display_history(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    // `all`: the buffer every session adds to (session/table.rs), as Comware 7 keeps it.
    let history = if args.has("all") {
        ctx.device.sessions.history()
    } else {
        ctx.session.history.clone()
    };
    let lines: Vec<String> = history.iter().map(|h| format!(" {h}")).collect();
    for l in lines {
        ctx.line(l);
    }
    Ok(())
}
