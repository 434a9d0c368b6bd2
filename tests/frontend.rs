//! The front ends end to end on the real binary, in everything that needs no command: `duet run`
//! headless and on a terminal (a PTY), the control socket and its protocol errors, `duet connect`
//! to nothing, `duet check` on files that are not text, bad input bytes, start-up time.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;

#[test]
fn headless_run_stops_cleanly_on_sigterm_and_sigint() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let device = Headless::start(dir.path());
        let mode = std::fs::metadata(&device.socket)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
        device.signal(signal);
        let socket = device.socket.clone();
        let out = device.wait();
        assert!(
            out.status.success(),
            "{signal}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
        assert!(!socket.exists(), "{signal}: socket left behind");
    }
}

#[test]
fn stale_socket_is_replaced_and_a_live_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Headless::start(dir.path());
    let second = duet(
        &[
            "run",
            "--no-console",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(!second.status.success());
    // Refused at the data directory's lock, before any engine or the socket was touched.
    let pid = format!("in use by another duet (pid {})", first.child.id());
    assert!(
        text(&second.stderr).contains(&pid),
        "{}",
        text(&second.stderr)
    );
    first.signal(Signal::SIGKILL);
    let _ = first.wait();
    assert!(
        dir.path().join("duet.sock").exists(),
        "kill -9 leaves the socket"
    );
    let third = Headless::start(dir.path());
    wait_for("the replaced socket", || {
        UnixStream::connect(&third.socket).is_ok()
    });
    assert_eq!(Raw::open(&third.socket).recv()["type"], "done");
}

#[test]
fn control_protocol_errors_keep_the_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let mut a = Raw::open(&device.socket);
    let hello = a.recv();
    assert_eq!(hello["type"], "done");
    assert_eq!(hello["prompt"], "<Duet>");
    let line_a = hello["line"].as_str().unwrap().to_string();
    assert_eq!(line_a, "vty0");
    assert_eq!(hello["screen_length"], 24);
    a.expect_error("not json", "bad request");
    a.expect_error(r#"{"op":"exec"}"#, "missing field `line`");
    a.expect_error(r#"{"op":"fly","line":"x"}"#, "unknown variant");
    a.expect_error(r#"{"op":"exec","line":"x","extra":1}"#, "unknown field");
    a.expect_error(r#"{"op":"answer","text":"y"}"#, "no question is pending");
    a.expect_error(&"x".repeat(70 * 1024), "longer than");
    a.send("\u{0}\u{1}\u{fffd}");
    assert_eq!(a.recv()["type"], "error");
    a.send(r#"{"op":"user-view"}"#);
    let done = a.recv();
    assert_eq!(
        (done["type"].as_str(), done["ok"].as_bool()),
        (Some("done"), Some(true))
    );
    // An overlong command line is refused before any command runs.
    a.send(&format!(r#"{{"op":"exec","line":"{}"}}"#, "y".repeat(600)));
    assert!(a.recv()["text"].as_str().unwrap().contains("too long"));
    assert_eq!(a.recv()["ok"], false);

    // Each connection has its own line; a line is free again when its connection ends.
    let mut b = Raw::open(&device.socket);
    let line_b = b.recv()["line"].as_str().unwrap().to_string();
    assert_ne!(line_a, line_b);
    drop(a);
    wait_for("the first line to be free", || {
        Raw::open(&device.socket).recv()["line"] == *line_a
    });
    b.send(r#"{"op":"user-view"}"#);
    assert_eq!(b.recv()["line"], *line_b);
}

#[test]
fn connect_reports_a_missing_device() {
    let out = duet(
        &[
            "connect",
            "--socket",
            "/nonexistent/duet.sock",
            "-c",
            "display version",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_refuses_files_that_are_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 2] = [
        ("bin.cfg", b"sysname A\n\0\x01", ":2: binary file"),
        ("latin1.cfg", b"sysname Caf\xe9\n", ":1: not UTF-8 text"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = duet(&["check", path.to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(1), "{name}");
        let wanted = format!("{}{expected}", path.display());
        assert!(
            text(&out.stdout).starts_with(&wanted),
            "{name}: {}",
            text(&out.stdout)
        );
    }
    let out = duet(&["check", "/nonexistent.cfg"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("/nonexistent.cfg: cannot read"));
}

#[test]
fn startup_to_first_prompt_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = Command::new(DUET)
        .args(["run", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 6];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(&first, b"<Duet>");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    eprintln!("start-up to first prompt: {elapsed:?}");
    // The target is < 50 ms on a release build; a debug build on a busy CI box gets slack.
    assert!(
        elapsed < Duration::from_secs(2),
        "start-up took {elapsed:?}"
    );
}

#[test]
fn bad_input_bytes_do_not_stop_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"\xff\xfe\x01\x1b[A\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 100 * 1024));
    input.extend_from_slice(b"\n\n");
    let mut child = Command::new(DUET)
        .args(["run", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = wait_output(child);
    assert!(out.status.success());
    let screen = text(&out.stdout);
    assert!(
        screen.starts_with("<Duet>\u{fffd}\u{fffd}\u{fffd}\u{fffd}[A\n"),
        "{screen:?}"
    );
    assert!(screen.contains("% The command is too long"));
    assert!(
        screen.ends_with("<Duet>\n<Duet>\n"),
        "{:?}",
        &screen[screen.len() - 40..]
    );
}

#[test]
fn terminal_ctrl_c_abandons_the_line_and_ctrl_d_ends() {
    let mut t = Terminal::start();
    t.type_and_expect("abandoned words\x03", "<Duet>");
    t.type_and_expect("\r", "<Duet>");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}

/// Keys typed right after `?` (before the help and the redrawn line are out) go to the next
/// read untouched: Ctrl+U kills the redrawn line, so `return` runs alone. Also keys typed while
/// a command runs.
#[test]
fn type_ahead_after_help_is_kept_for_the_next_read() {
    let mut t = Terminal::start();
    for round in 0..25 {
        t.type_and_expect("system-view\r", "[Duet]");
        let before = t.plain().len();
        match round % 3 {
            // One write: the bytes may reach the console in one read.
            0 => t.master.write_all(b"display us?\x15return\r").unwrap(),
            // The rest as soon as the `?` is echoed: the console is between two reads.
            1 => {
                t.master.write_all(b"display us").unwrap();
                wait_for("the line", || t.plain()[before..].contains("display us"));
                t.master.write_all(b"?").unwrap();
                spin_until(|| t.plain()[before..].contains("?\n"));
                t.master.write_all(b"\x15return\r").unwrap();
            }
            // Three writes back to back.
            _ => {
                for keys in [&b"display us?"[..], b"\x15", b"return\r"] {
                    t.master.write_all(keys).unwrap();
                }
            }
        }
        wait_for("user view", || t.plain()[before..].contains("<Duet>"));
    }
    // Typed while `display version` runs and prints.
    t.type_and_expect(
        "system-view\rdisplay version\rdisplay us?\x15return\r",
        "<Duet>",
    );
    // (On screen "display usreturn" is the redrawn line with its erasing escapes removed.)
    let screen = t.plain();
    assert!(!screen.contains("Unrecognized"), "{screen}");
    assert!(!screen.contains("^U"), "{screen}");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}

/// A command's question is answered with the terminal's own line editing (the original mode
/// comes back for it): the answer is echoed, backspace edits it, Enter ends it.
#[test]
fn questions_on_the_terminal_are_answered_in_cooked_mode() {
    let mut t = Terminal::start();
    t.type_and_expect("save\r", "[Y/N]:");
    t.type_and_expect("yx\x7f\r", "press the enter key):");
    t.type_and_expect("\r", "<Duet>");
    let screen = t.plain();
    assert!(screen.contains("[Y/N]:y"), "{screen}");
    assert!(!screen.contains("'YES' or 'NO'"), "{screen}");
    // Back in session mode: keys typed while the next command runs wait for the prompt.
    t.type_and_expect("display version\rsystem-view\r", "[Duet]");
    t.master.write_all(b"quit\r\x04").unwrap();
    assert!(t.finish().success());
}

/// `line console 0` / `idle-timeout`: a prompt left alone that long logs the console user out
/// (a new session starts: there is no authentication); `idle-timeout 0 0` disables it.
#[test]
fn console_idle_timeout_logs_the_user_out() {
    let mut t = Terminal::start();
    t.type_and_expect("system-view\r", "[Duet]");
    t.type_and_expect("line console 0\r", "[Duet-line-console0]");
    let started = Instant::now();
    t.type_and_expect(
        "idle-timeout 0 1\r",
        "The connection was idle too long and is closed.",
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    // A fresh session, in user view.
    t.type_and_expect("\r", "<Duet>");
    t.type_and_expect(
        "display logbuffer\r",
        "con0 was logged out: idle for 1 seconds.",
    );
    // Typing keeps the session alive only by finishing lines; a half line is no activity.
    t.type_and_expect("display ver", "idle too long");
    t.type_and_expect("\r", "<Duet>");
    assert!(!t.plain().contains("uptime"), "{}", t.plain());
    t.type_and_expect(
        "system-view\rline console 0\ridle-timeout 0 0\r",
        "[Duet-line-console0]",
    );
    let before = t.plain().len();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !t.plain()[before..].contains("idle too long"),
        "{}",
        t.plain()
    );
    t.master.write_all(b"return\r\x04").unwrap();
    assert!(t.finish().success());
}

/// With authentication, an idle logout brings the login prompt back.
#[test]
fn console_idle_timeout_with_a_password_asks_for_it_again() {
    let mut t = Terminal::start();
    t.type_and_expect("system-view\rline console 0\r", "[Duet-line-console0]");
    t.type_and_expect(
        "set authentication password simple Secret1\r",
        "[Duet-line-console0]",
    );
    t.type_and_expect("authentication-mode password\r", "[Duet-line-console0]");
    t.type_and_expect("idle-timeout 0 1\r", "Password:");
    t.type_and_expect("Secret1\r", "<Duet>");
    // `quit` logs out the same way: the login dialogue is back after Enter.
    t.type_and_expect("quit\r", "Press ENTER to get started.");
    t.type_and_expect("\r", "Password:");
    t.type_and_expect("Secret1\r", "<Duet>");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}

/// `quit` in user view logs the console user out; the device keeps running (its control
/// socket answers, its engines run) and Enter starts a new session. End of input at the
/// `Press ENTER` prompt ends `duet run`.
#[test]
fn quit_at_the_console_logs_out_and_the_device_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let mut t = Terminal::spawn(&["run".into(), "--data-dir".into(), data.clone()], None);
    t.type_and_expect("system-view\rsysname Kept\rreturn\r", "<Kept>");
    t.type_and_expect(
        "quit\r",
        "\nLine con0 is available.\n\n\nPress ENTER to get started.\n",
    );
    let shown = duet(
        &["connect", "--data-dir", &data, "-c", "display logbuffer"],
        "",
    );
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains("SHELL/5/SHELL_LOGOUT: Console logged out from con0."),
        "{}",
        text(&shown.stdout)
    );
    assert!(t.child.try_wait().unwrap().is_none(), "the device stopped");
    t.type_and_expect("\r", "<Kept>");
    t.type_and_expect("quit\r", "Press ENTER");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}

/// Poll `cond` without sleeping (at most 10 s): to act inside a short window.
fn spin_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out");
        std::hint::spin_loop();
    }
}

/// The console changes the terminal's mode for the whole session and puts it back on `quit`,
/// on end of input and on SIGTERM.
#[test]
fn terminal_mode_is_restored_when_the_console_ends() {
    for end in ["quit", "eof", "sigterm"] {
        let mut t = Terminal::start();
        // At a prompt: not the mode openpty gave (which the console found at start).
        let during = t.stty();
        match end {
            "quit" => {
                t.type_and_expect("quit\r", "Press ENTER");
                t.master.write_all(b"\x04").unwrap();
            }
            "eof" => t.master.write_all(b"\x04").unwrap(),
            _ => nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(t.child.id() as i32),
                Signal::SIGTERM,
            )
            .unwrap(),
        }
        t.finish_in_place();
        let after = t.stty();
        let fresh = {
            let pty = nix::pty::openpty(None, None).unwrap();
            let out = Command::new("stty")
                .arg("-g")
                .stdin(Stdio::from(pty.slave))
                .output()
                .unwrap();
            text(&out.stdout)
        };
        assert_ne!(during, fresh, "{end}: the session changes the mode");
        assert_eq!(after, fresh, "{end}: mode not restored");
    }
}

#[test]
fn connect_on_a_terminal_keeps_the_device_running() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap().to_string();
    let mut t = Terminal::spawn(&["connect".into(), "--socket".into(), socket], None);
    t.type_and_expect("half a line\x03", "<Duet>");
    // Ctrl+Z asks the device for user view and shows the prompt it returns.
    t.type_and_expect("\x1a", "<Duet>");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
    assert_eq!(Raw::open(&device.socket).recv()["type"], "done");
}

#[test]
fn piped_console_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(DUET)
        .args(["run", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = dir.path().join("duet.sock");
    wait_for("the control socket", || socket.exists());
    let stdin = child.stdin.take();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGTERM,
    )
    .unwrap();
    let out = wait_output(child);
    drop(stdin);
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    assert!(!socket.exists());
}

#[test]
fn run_rejects_inconsistent_network_options() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--port", "ge1/0/1=eth0"], "--port needs --net linux"),
        (&["--net", "linux"], "needs at least one --port"),
        (
            &["--net", "linux", "--port", "bogus=eth0"],
            "not an interface name",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["run", "--no-console", "--data-dir", data];
        all.extend_from_slice(args);
        let out = duet(&all, "");
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!dir.path().join("duet.sock").exists());
    }
}

/// `duet stop --data-dir DIR` stops the device running there as SIGTERM does (the console's
/// terminal put back, the socket removed) and returns once it has stopped; with no device
/// running it says so and fails.
#[test]
fn duet_stop_ends_the_device_of_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let mut t = Terminal::spawn(&["run".into(), "--data-dir".into(), data.clone()], None);
    let stopped = duet(&["stop", "--data-dir", &data], "");
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    assert!(
        text(&stopped.stdout).contains(&format!("Stopped the device (pid {}).", t.child.id())),
        "{}",
        text(&stopped.stdout)
    );
    // Stopped by the time `duet stop` returned: the lock is free only once the process is gone.
    assert!(t.finish_in_place().success());
    assert!(!dir.path().join("duet.sock").exists(), "socket left behind");
    let again = duet(&["stop", "--data-dir", &data], "");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no device is running with the data directory"),
        "{}",
        text(&again.stderr)
    );
}

/// The console shows log messages as they happen (info-center's terminal channel, on by default
/// at the console): one that arrives while someone types is printed above the prompt and the
/// typed line comes back under it, intact; the line then runs as typed.
#[test]
fn a_log_message_while_typing_is_printed_above_the_typed_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let mut t = Terminal::spawn(&["run".into(), "--data-dir".into(), data.clone()], None);
    t.type_and_expect("display ver", "display ver");
    // Another session logs in and out: SHELL/5 messages on this device.
    let other = duet(&["connect", "--data-dir", &data, "-c", "display clock"], "");
    assert!(other.status.success());
    t.expect("SHELL/5/SHELL_LOGOUT: vty0 logged out.");
    let at = t
        .plain()
        .find("SHELL/5/SHELL_LOGIN: vty0 logged in")
        .unwrap();
    t.type_and_expect("sion\r", "uptime");
    let after = t.plain()[at..].to_string();
    let line = after
        .find("<Duet>display version\n")
        .expect("the typed line, whole");
    assert!(
        after[..line].contains("SHELL_LOGOUT"),
        "both messages above the line:\n{after}"
    );
    assert!(!after.contains("Unrecognized"), "{after}");
    // `undo terminal monitor`: this terminal shows no more messages.
    t.type_and_expect("undo terminal monitor\r", "<Duet>");
    let before = t.plain().len();
    duet(&["connect", "--data-dir", &data, "-c", "display clock"], "");
    t.type_and_expect("display logbuffer\r", "vty0 logged out.");
    let shown = t.plain()[before..].to_string();
    let buffer_starts = shown.find("Log buffer: Enabled").unwrap();
    assert!(!shown[..buffer_starts].contains("SHELL_LOG"), "{shown}");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}
