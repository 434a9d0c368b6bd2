//! `reboot`: Comware 7's dialogue, then the device restarts in place.
//!
//! Restarting in place means what a power cycle means to a Duet process: the engines stop
//! (each VRRP master gives up its virtual IPs and MAC on the way out, as a device that loses
//! power stops answering for them), and the process replaces itself with the same program and
//! arguments (`exec` of `/proc/self/exe`, same PID), so start-up runs again and reads the next
//! startup configuration; unsaved changes are gone. The peer of a hot-backup pair sees its
//! session drop and the VRRP master disappear, and takes over. Open files close at the exec
//! (the data directory's lock included); the control socket left behind is replaced by the new
//! start-up; sessions end with their connections.
//!
//! Only `duet run` can restart itself: it installs the restart with [`install`]. Elsewhere
//! (tests, `duet demo`) the command says it cannot.

use std::sync::OnceLock;

use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::config::{atomic, startup};
use crate::device::{Ctx, Device};

use super::save::confirm;

/// Restarts the process; returns only when it could not (the reason).
pub type Restart = Box<dyn Fn(&Device) -> std::io::Error + Send + Sync>;

static RESTART: OnceLock<Restart> = OnceLock::new();

/// Make `reboot` restart the process with `restart` (once, by `duet run`).
pub fn install(restart: Restart) {
    let _ = RESTART.set(restart);
}

const CHECKING: &str =
    "Start to check configuration with next startup configuration file, please wait.........DONE!";
const SAVE_FIRST: &str =
    "Current configuration may be lost after the reboot, save current configuration? [Y/N]:";
const CONTINUE: &str = "This command will reboot the device. Continue? [Y/N]:";

/// `reboot`
pub fn reboot(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let Some(restart) = RESTART.get() else {
        return Err(CmdError::msg(
            "This device cannot reboot: only a device started with `duet run` restarts itself.",
        ));
    };
    let data_dir = ctx.device.options.data_dir.clone();
    let next = startup::next_startup(&data_dir);
    let running = ctx.device.config.lock().render();
    let saved = std::fs::read_to_string(next.path(&data_dir)).ok();
    ctx.progress_line(CHECKING);
    if saved.as_deref() != Some(running.as_str()) && confirm(ctx.io, SAVE_FIRST) {
        ctx.progress_line("Validating file. Please wait...");
        crate::datadir::create(&data_dir)
            .and_then(|_| atomic::write(&next.path(&data_dir), running.as_bytes()))
            .map_err(|e| {
                CmdError::msg(format!(
                    "Failed to save the configuration to {next}: {e}. The device was not rebooted."
                ))
            })?;
        ctx.progress_line("Saved the current configuration to mainboard device successfully.");
    }
    if !confirm(ctx.io, CONTINUE) {
        return Ok(());
    }
    ctx.progress_line("Now rebooting, please wait...");
    ctx.device.log(
        "DEV",
        5,
        "SYSTEM_REBOOT",
        &format!(
            "System is rebooting now. (Line={}, User={})",
            ctx.session.line, ctx.session.user
        ),
    );
    let error = restart(ctx.device);
    Err(CmdError::msg(format!(
        "Failed to reboot the device: {error}."
    )))
}

/// The restart of `duet run`: stop the engines (VRRP masters remove their virtual IPs and
/// MAC), put the terminal back in `terminal_mode`, then exec the same program with the same
/// arguments. Runs on a session thread, outside the runtime: the engines' stop is driven by a
/// runtime of its own. Returns only if the exec failed.
pub fn restart_process(
    device: &Device,
    terminal_mode: Option<&nix::sys::termios::Termios>,
) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        rt.block_on(device.shutdown());
    } else {
        device.stop();
    }
    if let Some(mode) = terminal_mode {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            mode,
        );
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "duet".into());
    // /proc/self/exe is the running program even if its file was replaced meanwhile.
    std::process::Command::new("/proc/self/exe")
        .arg0(arg0)
        .args(args)
        .exec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestBed, args};

    #[test]
    fn refuses_where_the_process_cannot_restart() {
        let mut t = TestBed::new();
        let run = t.run(reboot, &args(&[]), &["y", "y"]);
        assert!(
            matches!(&run.result, Err(CmdError::Message(m)) if m.contains("cannot reboot")),
            "{:?}",
            run.result
        );
        assert!(run.asked.is_empty());
    }
}
