//! The info-center commands: `display logbuffer`, `reset logbuffer`,
//! `info-center logbuffer size N`, `info-center loghost`, `info-center source`,
//! `info-center timestamp loghost`, `display info-center`, and a session's `terminal monitor` /
//! `terminal logging level N` (grammar in commands/infocenter.yaml).

use std::sync::atomic::Ordering;

use super::buffer::{DEFAULT_SIZE, MAX_SIZE};
use super::config::{
    DEFAULT_FACILITY, DEFAULT_LOGHOST_PORT, Destination, LogHost, LoghostTimestamp, MAX_LOGHOSTS,
    SEVERITY_NAMES, SourceRule,
};
use super::journal;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};

pub fn register(r: &mut Registry) {
    r.add("infocenter.display", display_logbuffer);
    r.add("infocenter.reset", reset_logbuffer);
    r.add("infocenter.size", logbuffer_size);
    r.add("infocenter.loghost", loghost);
    r.add("infocenter.source", source);
    r.add("infocenter.timestamp", timestamp);
    r.add("infocenter.display_info_center", display_info_center);
    r.add("infocenter.terminal_monitor", terminal_monitor);
    r.add("infocenter.terminal_level", terminal_level);
}

/// `info-center loghost A.B.C.D [port P] [facility localN]` / `undo info-center loghost A.B.C.D`.
/// Configuring an address again replaces its port and facility.
fn loghost(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let address = args
        .ipv4("host")
        .ok_or_else(|| CmdError::WrongParameter("host".into()))?;
    let mut cfg = ctx.device.config.lock();
    let hosts = &mut cfg.infocenter.loghosts;
    if args.undo {
        let before = hosts.len();
        hosts.retain(|h| h.address != address);
        if hosts.len() == before {
            return Err(CmdError::Message(format!(
                "The log host {address} does not exist."
            )));
        }
        return Ok(());
    }
    if address.is_unspecified() || address.is_broadcast() || address.is_multicast() {
        return Err(CmdError::Message(format!(
            "{address} cannot be a log host: give the unicast address of a syslog server."
        )));
    }
    let port = match args.int("udp") {
        Some(p) => u16::try_from(p).map_err(|_| CmdError::WrongParameter("udp".into()))?,
        None => DEFAULT_LOGHOST_PORT,
    };
    let facility = (0..8u8)
        .find(|n| args.has(&format!("local{n}")))
        .unwrap_or(DEFAULT_FACILITY);
    let host = LogHost {
        address,
        port,
        facility,
    };
    let count = hosts.len();
    match hosts.iter_mut().find(|h| h.address == address) {
        Some(h) => *h = host,
        None if count >= MAX_LOGHOSTS => {
            return Err(CmdError::Message(format!(
                "The number of log hosts has reached the limit ({MAX_LOGHOSTS})."
            )));
        }
        None => hosts.push(host),
    }
    Ok(())
}

/// `info-center source MODULE DEST {deny | level SEVERITY}` / `undo info-center source MODULE DEST`.
fn source(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let module = args
        .str("module")
        .ok_or_else(|| CmdError::WrongParameter("module".into()))?;
    if !module
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(CmdError::WrongParameter("module".into()));
    }
    // Module names are upper case on Comware (`VRRP`); `default` stays as typed.
    let module = if module.eq_ignore_ascii_case(super::config::DEFAULT_MODULE) {
        super::config::DEFAULT_MODULE.to_string()
    } else {
        module.to_ascii_uppercase()
    };
    let dest = [
        Destination::Console,
        Destination::Monitor,
        Destination::Logbuffer,
        Destination::Loghost,
    ]
    .into_iter()
    .find(|d| args.has(d.keyword()))
    .ok_or_else(|| CmdError::WrongParameter("destination".into()))?;
    let mut cfg = ctx.device.config.lock();
    let sources = &mut cfg.infocenter.sources;
    if args.undo {
        sources.remove(&(module, dest));
        return Ok(());
    }
    let rule = if args.has("deny") {
        SourceRule::Deny
    } else {
        let level = SEVERITY_NAMES
            .iter()
            .position(|n| args.has(n))
            .ok_or_else(|| CmdError::WrongParameter("level".into()))?;
        SourceRule::Level(level as u8)
    };
    sources.insert((module, dest), rule);
    Ok(())
}

/// `info-center timestamp loghost {date | iso | no-year-date | none}` / undo (back to `date`).
fn timestamp(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let format = if args.undo {
        LoghostTimestamp::Date
    } else {
        [
            LoghostTimestamp::Date,
            LoghostTimestamp::Iso,
            LoghostTimestamp::NoYearDate,
            LoghostTimestamp::None,
        ]
        .into_iter()
        .find(|t| args.has(t.keyword()))
        .ok_or_else(|| CmdError::WrongParameter("timestamp".into()))?
    };
    ctx.device.config.lock().infocenter.loghost_timestamp = format;
    Ok(())
}

/// `display info-center`: the outputs, the log hosts with their counters, the log buffer,
/// the journal and the timestamp format (Comware's layout; the counters are Duet's).
fn display_info_center(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let cfg = ctx.device.config.snapshot();
    let ic = &cfg.infocenter;
    ctx.line("Information Center: Enabled");
    let counters = &ctx.device.loghost.counters;
    if ic.loghosts.is_empty() {
        ctx.line("Log host: Disabled");
    } else {
        ctx.line("Log host: Enabled");
        for h in &ic.loghosts {
            ctx.line(format!(
                "    {}, port number: {}, host facility: local{}",
                h.address, h.port, h.facility
            ));
        }
    }
    ctx.line(format!(
        "    Sent datagrams {}, dropped messages {}, failed datagrams {}",
        counters.sent.load(Ordering::Relaxed),
        counters.dropped.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed)
    ));
    let stats = ctx.device.logs.stats();
    ctx.line("Log buffer: Enabled");
    ctx.line(format!(
        "    Max buffer size {MAX_SIZE}, current buffer size {},",
        stats.capacity
    ));
    ctx.line(format!(
        "    Current messages {}, dropped messages {}, overwritten messages {}",
        stats.current, stats.dropped, stats.overwritten
    ));
    match journal::global() {
        Some(j) => {
            ctx.line("Journal: Enabled");
            ctx.line(format!(
                "    Sent messages {}, dropped messages {}",
                j.sent.load(Ordering::Relaxed),
                j.dropped.load(Ordering::Relaxed)
            ));
        }
        None => ctx.line("Journal: Disabled (not running under systemd)"),
    }
    ctx.line("Information timestamp format:");
    let ts = match ic.loghost_timestamp {
        LoghostTimestamp::Date => "Date",
        LoghostTimestamp::Iso => "ISO",
        LoghostTimestamp::NoYearDate => "No-year-date",
        LoghostTimestamp::None => "None",
    };
    ctx.line(format!("    Log host: {ts}"));
    ctx.line("    Other output destination: Date");
    Ok(())
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

    mod shell {
        use crate::device::testing::TestIo;
        use crate::session::Session;

        fn session() -> (tempfile::TempDir, Session) {
            let (dir, mut s) = crate::device::testing::admin_session();
            assert!(s.execute("system-view", &mut TestIo).ok);
            (dir, s)
        }

        fn run(s: &mut Session, line: &str) -> String {
            let o = s.execute(line, &mut TestIo);
            assert!(o.ok, "{line}: {}", o.output);
            o.output
        }

        fn fail(s: &mut Session, line: &str) -> String {
            let before = s.device.config.lock().clone();
            let o = s.execute(line, &mut TestIo);
            assert!(!o.ok, "{line} should fail");
            assert_eq!(
                *s.device.config.lock(),
                before,
                "{line} changed the configuration"
            );
            o.output
        }

        fn info_center_lines(s: &mut Session) -> Vec<String> {
            run(s, "display current-configuration")
                .lines()
                .filter(|l| l.starts_with(" info-center"))
                .map(str::to_string)
                .collect()
        }

        #[test]
        fn loghost_source_timestamp_render_reload_and_undo() {
            let (_d, mut s) = session();
            for line in [
                "info-center loghost 192.0.2.10",
                "info-center loghost 192.0.2.11 port 1514 facility local3",
                "info-center loghost 192.0.2.12 port 514 facility local7",
                // Again: replaces the port and facility of that host.
                "info-center loghost 192.0.2.12 port 600",
                "info-center source vrrp loghost level warning",
                "info-center source SHELL logbuffer deny",
                "info-center source default loghost level error",
                "info-center timestamp loghost no-year-date",
            ] {
                run(&mut s, line);
            }
            let want = [
                " info-center loghost 192.0.2.10",
                " info-center loghost 192.0.2.11 port 1514 facility local3",
                " info-center loghost 192.0.2.12 port 600",
                " info-center source SHELL logbuffer deny",
                " info-center source VRRP loghost level warning",
                " info-center source default loghost level error",
                " info-center timestamp loghost no-year-date",
            ];
            assert_eq!(info_center_lines(&mut s), want);
            // Round trip: the rendered lines give the same configuration on a new device.
            let (_d2, fresh) = crate::device::testing::test_device();
            let text = s.device.config.lock().render();
            assert!(crate::session::load::load_text(&fresh, &text).is_empty());
            assert_eq!(
                fresh.config.lock().infocenter,
                s.device.config.lock().infocenter
            );

            let shown = run(&mut s, "display info-center");
            assert!(
                shown.contains(
                    "Log host: Enabled\n    192.0.2.10, port number: 514, host facility: local7\n"
                ),
                "{shown}"
            );
            assert!(shown.contains("    192.0.2.11, port number: 1514, host facility: local3\n"));
            assert!(shown.contains("    Sent datagrams "));
            assert!(shown.contains("    Log host: No-year-date\n"));

            for line in [
                "undo info-center loghost 192.0.2.10",
                "undo info-center loghost 192.0.2.11",
                "undo info-center loghost 192.0.2.12",
                "undo info-center source VRRP loghost",
                "undo info-center source shell logbuffer",
                "undo info-center source default loghost",
                "undo info-center timestamp loghost",
            ] {
                run(&mut s, line);
            }
            assert!(info_center_lines(&mut s).is_empty());
            assert!(run(&mut s, "display info-center").contains("Log host: Disabled\n"));
        }

        #[test]
        fn bad_loghosts_are_refused_with_a_sentence() {
            let (_d, mut s) = session();
            assert!(fail(&mut s, "undo info-center loghost 192.0.2.1").contains("does not exist"));
            assert!(
                fail(&mut s, "info-center loghost 255.255.255.255")
                    .contains("cannot be a log host")
            );
            assert!(fail(&mut s, "info-center loghost 224.0.0.1").contains("cannot be a log host"));
            fail(&mut s, "info-center loghost 192.0.2.1 port 0");
            fail(&mut s, "info-center loghost 192.0.2.1 facility local8");
            fail(&mut s, "info-center source VR.RP loghost deny");
            for n in 0..super::MAX_LOGHOSTS {
                run(&mut s, &format!("info-center loghost 192.0.2.{}", n + 1));
            }
            assert!(fail(&mut s, "info-center loghost 192.0.2.200").contains("limit"));
        }

        #[test]
        fn source_rules_filter_the_log_buffer() {
            let (_d, mut s) = session();
            run(&mut s, "info-center source TEST logbuffer level error");
            s.device.config.publish();
            s.device.log("TEST", 6, "T", "filtered out");
            s.device.log("TEST", 3, "T", "kept");
            s.device.log("OTHER", 6, "T", "kept too");
            let kept: Vec<String> = s
                .device
                .logs
                .entries()
                .into_iter()
                .map(|e| e.message)
                .collect();
            assert!(!kept.contains(&"filtered out".to_string()), "{kept:?}");
            assert!(kept.contains(&"kept".to_string()) && kept.contains(&"kept too".to_string()));
        }
    }
}
