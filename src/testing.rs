//! Test helpers that need a whole device (built only for tests): the handlers of the CLI
//! core's test grammar (`cli::testing`) and a device to run them on, and a bed for running one
//! handler with scripted answers to its questions.

use std::collections::VecDeque;
use std::sync::Arc;

use tempfile::TempDir;

pub use crate::cli::testing::grammar;
use crate::cli::{Args, CmdError, CmdResult, Value, View};
use crate::device::{Ctx, Device, DeviceOptions, Handler, NetKind, Registry};
use crate::features::Config;
use crate::interface::name::IfName;
use crate::session::{Interaction, Role, SessionState};

fn ok(_: &mut Ctx<'_>, _: &Args) -> CmdResult {
    Ok(())
}

fn system_view(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    ctx.session.views.push(View::System);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    if ctx.session.views.len() > 1 {
        ctx.session.views.pop();
    } else {
        ctx.session.exit = true;
    }
    Ok(())
}

fn clock(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    ctx.line("10:38:12.320 UTC Sat 11/21/2026");
    ctx.line("Time Zone : UTC");
    Ok(())
}

fn sysname(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = if args.undo {
        crate::config::DEFAULT_SYSNAME
    } else {
        args.str("name").unwrap_or_default()
    };
    if name == "bad" {
        return Err(CmdError::WrongParameter("name".into()));
    }
    if name == "refused" {
        ctx.line("partial output");
        return Err(CmdError::msg("The name is refused."));
    }
    ctx.device.config.lock().sysname = name.to_string();
    Ok(())
}

fn interface(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = args.str("if").unwrap_or_default().to_string();
    let parsed: IfName = name
        .parse()
        .map_err(|_| CmdError::WrongParameter("if".into()))?;
    if !ctx.device.ports.contains(&parsed) {
        return Err(CmdError::WrongParameter("if".into()));
    }
    ctx.session.views.push(View::Interface(name));
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let View::Interface(name) = ctx.session.view().clone() else {
        return Err(CmdError::msg("not in interface view"));
    };
    let name: IfName = name.parse().map_err(|_| CmdError::msg("bad interface"))?;
    if let Some(i) = ctx.device.config.lock().interfaces.get_mut(&name) {
        i.shutdown = !args.undo;
    }
    Ok(())
}

/// The handlers of the test grammar [`grammar`].
pub fn registry() -> Registry {
    let mut r = Registry::default();
    r.add("t.system_view", system_view);
    r.add("t.quit", quit);
    r.add("t.clock", clock);
    r.add("t.sysname", sysname);
    r.add("t.interface", interface);
    r.add("t.shutdown", shutdown);
    for name in [
        "t.return",
        "t.cc",
        "t.ip",
        "t.pool",
        "t.save",
        "t.vip",
        "t.priority",
        "t.gateways",
        "t.expired",
        "t.service",
        "t.address",
        "t.mac",
    ] {
        r.add(name, ok);
    }
    r
}

/// A simulated device (its own handlers are not used by the tests: they pass [`registry`]).
pub fn device() -> Arc<Device> {
    Device::new(DeviceOptions {
        data_dir: std::env::temp_dir(),
        net: NetKind::Sim,
    })
}

/// Answers every question with "no".
pub struct Silent;

impl Interaction for Silent {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// Answers given in order; once they run out the user is gone (`None`, end of input).
pub(crate) struct Script {
    answers: VecDeque<String>,
    pub asked: Vec<String>,
}

impl Interaction for Script {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        self.asked.push(prompt.to_string());
        self.answers.pop_front()
    }
}

/// What one handler call did.
pub(crate) struct Run {
    pub result: CmdResult,
    pub out: String,
    /// The prompts shown, in order.
    pub asked: Vec<String>,
}

pub(crate) struct TestBed {
    pub device: Arc<Device>,
    pub session: SessionState,
    pub dir: TempDir,
}

impl TestBed {
    /// A simulated device (ports GigabitEthernet1/0/1 to 1/0/4), a network-admin session in
    /// system view.
    pub fn new() -> TestBed {
        let dir = tempfile::tempdir().expect("temporary directory");
        let device = Device::new(DeviceOptions {
            data_dir: dir.path().join("data"),
            net: NetKind::Sim,
        });
        let mut session = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
        session.views.push(View::System);
        TestBed {
            device,
            session,
            dir,
        }
    }

    pub fn run(&mut self, handler: Handler, args: &Args, answers: &[&str]) -> Run {
        let mut io = Script {
            answers: answers.iter().map(|a| a.to_string()).collect(),
            asked: Vec::new(),
        };
        let mut out = String::new();
        let result = {
            let mut ctx = Ctx {
                device: &self.device,
                session: &mut self.session,
                io: &mut io,
                out: &mut out,
            };
            handler(&mut ctx, args)
        };
        Run {
            result,
            out,
            asked: io.asked,
        }
    }

    /// A copy of the running configuration.
    pub fn config(&self) -> Config {
        self.device.config.lock().clone()
    }

    pub fn data_file(&self, name: &str) -> std::path::PathBuf {
        self.device.options.data_dir.join(name)
    }
}

/// `Args` as the matcher would fill them (spans are not used by handlers' logic).
pub(crate) fn args(items: &[(&str, Value)]) -> Args {
    let mut args = Args::default();
    for (name, value) in items {
        args.push(name, value.clone(), (0, 0));
    }
    args
}

/// The `undo` form of [`args`].
pub(crate) fn undo(items: &[(&str, Value)]) -> Args {
    Args {
        undo: true,
        ..args(items)
    }
}
