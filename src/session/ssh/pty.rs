//! A pseudo-terminal per interactive SSH session, with the shell process on its slave side as
//! its controlling terminal (design A of platform-notes: the shell is the `duet connect` front
//! end, so SSH users get exactly the console's line editor, `?`, Tab and pager).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::{Winsize, openpty};

/// Serialises PTY creation and spawning, so no other session's child inherits this PTY's
/// descriptors between `openpty` and marking them close-on-exec (an inherited slave would
/// keep the master from seeing the end of the session).
static SPAWN: Mutex<()> = Mutex::new(());

fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// Start `exe args` on a new PTY of `cols` x `rows` in a session of its own, with exactly the
/// environment `env`. Returns the master side and the child.
pub fn spawn(
    exe: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    cols: u16,
    rows: u16,
) -> io::Result<(File, Child)> {
    let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    let pty = openpty(Some(&winsize(cols, rows)), None).map_err(io::Error::from)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
    }
    let slave: OwnedFd = pty.slave;
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec: a new session, then the
    // PTY (already on fd 0) becomes its controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // `cmd` (holding the parent's copies of the slave) is dropped here.
    drop(cmd);
    Ok((File::from(pty.master), child))
}

/// Tell the PTY (and so the shell, by SIGWINCH) the client's new window size.
pub fn resize(master: &File, cols: u16, rows: u16) -> io::Result<()> {
    let size = winsize(cols, rows);
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn child_runs_on_the_pty_and_eio_ends_the_output() {
        let (mut master, mut child) = spawn(
            Path::new("/bin/sh"),
            &["-c", "stty size; echo done"],
            &[("PATH", "/usr/bin:/bin")],
            100,
            30,
        )
        .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                // The child closed the slave: the session is over.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
                Err(e) => panic!("{e}"),
            }
        }
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("30 100"), "{text}");
        assert!(text.contains("done\r\n"), "{text}");
        assert!(child.wait().unwrap().success());
    }
}
