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
    assert!(
        text(&second.stderr).contains("another duet is running"),
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
