//! Test helpers for handlers: a device on the simulated network with a temporary data
//! directory, a session, and scripted answers to the questions a command asks.

use std::collections::VecDeque;
use std::sync::Arc;

use tempfile::TempDir;

use super::Config;
use crate::cli::handler::{CmdResult, Handler};
use crate::cli::{Args, Ctx, Value, View};
use crate::device::{Device, DeviceOptions, NetKind};
use crate::session::{Interaction, Role, SessionState};

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
