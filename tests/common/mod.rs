//! Helpers for the front-end tests: run the binary, a headless device, a raw protocol client,
//! a console on a PTY.

#![allow(dead_code)] // each test crate uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

pub const DUET: &str = env!("CARGO_BIN_EXE_duet");

pub fn duet(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(DUET)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start duet");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    wait_output(child)
}

/// `duet connect --data-dir DATA -c COMMAND...` on a device's control socket, with `input` on
/// stdin (the answers to the commands' questions); its output, waited for at most 60 s.
pub fn connect_with_input(data_dir: &Path, commands: &[&str], input: &str) -> Output {
    let mut child = Command::new(DUET)
        .arg("connect")
        .arg("--data-dir")
        .arg(data_dir)
        .args(commands.iter().flat_map(|c| ["-c", c]))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start duet connect");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    wait_output_for(child, 60)
}

/// Wait at most 30 s for `child` and collect its output.
pub fn wait_output(child: Child) -> Output {
    wait_output_for(child, 30)
}

/// Wait at most `secs` seconds for `child` and collect its output.
pub fn wait_output_for(mut child: Child, secs: u64) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the child did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Poll `cond` every 10 ms for at most 10 s.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A headless device (`duet run --no-console`), killed when dropped.
pub struct Headless {
    pub child: Child,
    pub socket: PathBuf,
}

impl Headless {
    pub fn start(dir: &Path) -> Headless {
        let child = Command::new(DUET)
            .args(["run", "--no-console", "--data-dir"])
            .arg(dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start duet");
        let socket = dir.join("duet.sock");
        // The socket appears at its path only once it is bound and restricted.
        wait_for("the control socket", || socket.exists());
        Headless { child, socket }
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    pub fn wait(mut self) -> Output {
        let child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        wait_output(child)
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw protocol client.
pub struct Raw {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
}

impl Raw {
    pub fn open(socket: &Path) -> Raw {
        let stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Raw {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }
    pub fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }
    pub fn recv(&mut self) -> Value {
        let mut line = String::new();
        assert!(
            self.reader.read_line(&mut line).unwrap() > 0,
            "connection closed"
        );
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad reply {line:?}: {e}"))
    }
    pub fn expect_error(&mut self, request: &str, containing: &str) {
        self.send(request);
        let reply = self.recv();
        assert_eq!(reply["type"], "error", "{request} -> {reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(containing), "{request} -> {message}");
    }
}

/// A `duet run` whose console is a PTY; the screen is collected by a reader thread.
pub struct Terminal {
    pub child: Child,
    pub master: std::fs::File,
    /// The terminal's side of the PTY, to look at its mode (`stty -g`).
    pub slave: OwnedFd,
    pub screen: Arc<Mutex<Vec<u8>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Terminal {
    /// `duet run` on a fresh data directory, its console on a PTY.
    pub fn start() -> Terminal {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["run".to_string(), "--data-dir".to_string()];
        args.push(dir.path().to_str().unwrap().to_string());
        Terminal::spawn(&args, Some(dir))
    }

    /// `duet ARGS` on a PTY; waits for the first prompt.
    pub fn spawn(args: &[String], dir: Option<tempfile::TempDir>) -> Terminal {
        let t = Terminal::spawn_program(DUET, args, dir);
        t.expect("<Duet>");
        t
    }

    /// `PROGRAM ARGS` on a PTY (a `duet` inside `ip netns exec`, say), without waiting.
    pub fn spawn_program(
        program: &str,
        args: &[String],
        dir: Option<tempfile::TempDir>,
    ) -> Terminal {
        let pty = nix::pty::openpty(None, None).unwrap();
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer.
        unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let child = Command::new(program)
            .args(args)
            .env("TERM", "xterm")
            .env_remove("RUST_LOG")
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), screen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // The read fails with EIO once the child has closed the terminal.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            child,
            master,
            slave: pty.slave,
            screen,
            _dir: dir,
        }
    }

    /// The screen so far with escape sequences removed.
    pub fn plain(&self) -> String {
        let raw = text(&self.screen.lock().unwrap());
        let mut out = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                }
            } else if c != '\r' {
                out.push(c);
            }
        }
        out
    }

    pub fn expect(&self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.plain().contains(wanted) {
            assert!(
                Instant::now() < deadline,
                "no {wanted:?} on screen:\n{}",
                self.plain()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Type `keys`, then wait for `wanted` to appear in what follows.
    pub fn type_and_expect(&mut self, keys: &str, wanted: &str) {
        let before = self.plain().len();
        self.master.write_all(keys.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.plain()[before..].contains(wanted) {
            assert!(
                Instant::now() < deadline,
                "typed {keys:?}, no {wanted:?} in:\n{}",
                &self.plain()[before..]
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The terminal's mode as `stty -g` prints it.
    pub fn stty(&self) -> String {
        let out = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::from(self.slave.try_clone().unwrap()))
            .output()
            .expect("run stty");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }

    pub fn finish(mut self) -> std::process::ExitStatus {
        self.finish_in_place()
    }

    /// Wait at most 10 s for the console to exit; the terminal stays open.
    pub fn finish_in_place(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "console did not exit:\n{}",
                self.plain()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
