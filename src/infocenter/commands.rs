//! The info-center commands: `display logbuffer`, `reset logbuffer`,
//! `info-center logbuffer size N`, and a session's `terminal monitor` / `terminal logging
//! level N` (grammar in commands/infocenter.yaml).

use super::buffer::{DEFAULT_SIZE, MAX_SIZE};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};

pub fn register(r: &mut Registry) {
    r.add("infocenter.display", display_logbuffer);
    r.add("infocenter.reset", reset_logbuffer);
    r.add("infocenter.size", logbuffer_size);
    r.add("infocenter.terminal_monitor", terminal_monitor);
    r.add("infocenter.terminal_level", terminal_level);
}

/// `terminal monitor` / `undo terminal monitor` (user view): this session's terminal shows log
/// messages as they happen, or not (session/monitor.rs).
fn terminal_monitor(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    ctx.session.terminal.set_monitor(!args.undo);
    Ok(())
}

/// `terminal logging level N` / `undo terminal logging level` (user view): the least severe
/// messages this session's terminal shows (default 6, informational).
fn terminal_level(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let level = if args.undo {
        crate::session::monitor::DEFAULT_LEVEL
    } else {
        match args.int("severity") {
            Some(n) if n <= 7 => n as u8,
            _ => return Err(CmdError::WrongParameter("severity".into())),
        }
    };
    ctx.session.terminal.set_level(level);
    Ok(())
}

/// `display logbuffer [ { reverse | level SEVERITY | size N } * ]`: the header, then the
/// entries oldest first (`reverse`: newest first), only those at `level` or more severe,
/// only the newest `size`.
fn display_logbuffer(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let level = match args.int("severity") {
        Some(n) if n > 7 => return Err(CmdError::WrongParameter("severity".into())),
        Some(n) => n as u8,
        None => 7,
    };
    let stats = ctx.device.logs.stats();
    let mut entries: Vec<_> = ctx
        .device
        .logs
        .entries()
        .into_iter()
        .filter(|e| e.severity <= level)
        .collect();
    if let Some(n) = args.int("count") {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        entries.drain(..entries.len().saturating_sub(n));
    }
    if args.has("reverse") {
        entries.reverse();
    }
    ctx.line("Log buffer: Enabled");
    ctx.line(format!("Max buffer size: {MAX_SIZE}"));
    ctx.line(format!("Actual buffer size: {}", stats.capacity));
    ctx.line(format!("Dropped messages: {}", stats.dropped));
    ctx.line(format!("Overwritten messages: {}", stats.overwritten));
    ctx.line(format!("Current messages: {}", stats.current));
    for e in entries {
        ctx.line(e.to_string());
    }
    Ok(())
}

/// `reset logbuffer` (user view).
fn reset_logbuffer(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    ctx.device.logs.clear();
    Ok(())
}

/// `info-center logbuffer size N` / `undo info-center logbuffer size` (system view).
fn logbuffer_size(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let size = if args.undo {
        DEFAULT_SIZE
    } else {
        match args.int("entries") {
            Some(n) if n <= MAX_SIZE as u64 => n as usize,
            _ => return Err(CmdError::WrongParameter("entries".into())),
        }
    };
    ctx.device.config.lock().infocenter.logbuffer_size = size;
    ctx.device.logs.set_capacity(size);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::device::testing::{TestIo, test_device};
    use crate::infocenter::buffer::{LogEntry, local_time};
    use crate::session::{Role, SessionState};

    fn run(device: &crate::device::Device, handler: &str, args: &Args) -> (CmdResult, String) {
        let mut session = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
        let mut io = TestIo;
        let mut out = String::new();
        let h = Registry::all().get(handler).expect("registered");
        let r = h(
            &mut Ctx {
                device,
                session: &mut session,
                io: &mut io,
                out: &mut out,
            },
            args,
        );
        (r, out)
    }

    fn fill(device: &crate::device::Device) {
        for (n, sev) in [(1, 6u8), (2, 3), (3, 5)] {
            device.logs.push_entry(LogEntry {
                time: local_time(2026, 11, 21, 10, 38, n, 0).unwrap(),
                sysname: "Duet".into(),
                module: "TEST".into(),
                severity: sev,
                mnemonic: "T".into(),
                message: format!("m{n}"),
            });
        }
    }

    #[test]
    fn display_header_and_entries() {
        let (_dir, d) = test_device();
        fill(&d);
        let (r, out) = run(&d, "infocenter.display", &Args::default());
        r.unwrap();
        assert_eq!(
            out,
            "Log buffer: Enabled\nMax buffer size: 1024\nActual buffer size: 1024\n\
             Dropped messages: 0\nOverwritten messages: 0\nCurrent messages: 3\n\
             %Nov 21 10:38:01:000 2026 Duet TEST/6/T: m1\n\
             %Nov 21 10:38:02:000 2026 Duet TEST/3/T: m2\n\
             %Nov 21 10:38:03:000 2026 Duet TEST/5/T: m3\n"
        );
    }

    #[test]
    fn display_filters() {
        let (_dir, d) = test_device();
        fill(&d);
        let mut args = Args::default();
        args.push("reverse", Value::Keyword, (0, 0));
        args.push("level", Value::Keyword, (0, 0));
        args.push("severity", Value::Int(5), (0, 0));
        let (_, out) = run(&d, "infocenter.display", &args);
        let lines: Vec<&str> = out.lines().skip(6).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("m3") && lines[1].ends_with("m2"));
        let mut args = Args::default();
        args.push("size", Value::Keyword, (0, 0));
        args.push("count", Value::Int(1), (0, 0));
        let (_, out) = run(&d, "infocenter.display", &args);
        assert_eq!(out.lines().skip(6).collect::<Vec<_>>().len(), 1);
        assert!(out.ends_with("m3\n"));
    }

    #[test]
    fn size_sets_config_and_buffer_and_undo_restores() {
        let (_dir, d) = test_device();
        fill(&d);
        let mut args = Args::default();
        args.push("entries", Value::Int(2), (0, 0));
        run(&d, "infocenter.size", &args).0.unwrap();
        assert_eq!(d.config.lock().infocenter.logbuffer_size, 2);
        assert_eq!(d.logs.stats().current, 2);
        let mut bad = Args::default();
        bad.push("entries", Value::Int(5000), (0, 0));
        assert_eq!(
            run(&d, "infocenter.size", &bad).0,
            Err(CmdError::WrongParameter("entries".into()))
        );
        assert_eq!(d.config.lock().infocenter.logbuffer_size, 2);
        let undo = Args {
            undo: true,
            items: vec![],
        };
        run(&d, "infocenter.size", &undo).0.unwrap();
        assert_eq!(d.config.lock().infocenter.logbuffer_size, DEFAULT_SIZE);
        assert_eq!(d.logs.stats().capacity, DEFAULT_SIZE);
    }

    #[test]
    fn reset_empties() {
        let (_dir, d) = test_device();
        fill(&d);
        run(&d, "infocenter.reset", &Args::default()).0.unwrap();
        assert_eq!(d.logs.stats().current, 0);
    }
}
