//! The front ends driving real commands (these need the whole shell: the matcher, the commands
//! and `load_text`): `duet connect -c` exit status and piped screen, `duet check` and start-up
//! configuration errors, `?`, Tab and Ctrl+Z on a terminal.

mod common;

use std::io::Write;

use common::*;

#[test]
fn connect_c_exit_status_follows_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap();
    let ok = duet(
        &[
            "connect",
            "--socket",
            socket,
            "-c",
            "system-view",
            "-c",
            "return",
        ],
        "",
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}{}",
        text(&ok.stdout),
        text(&ok.stderr)
    );
    assert_eq!(
        text(&ok.stdout),
        "System View: return to User View with Ctrl+Z.\n"
    );
    let bad = duet(
        &[
            "connect",
            "--socket",
            socket,
            "-c",
            "foo",
            "-c",
            "system-view",
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains("% Unrecognized command"),
        "{}",
        text(&bad.stdout)
    );
    assert!(
        text(&bad.stdout).contains("System View"),
        "later commands still run"
    );
}

#[test]
fn connect_with_piped_input_shows_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap();
    let out = duet(
        &["connect", "--socket", socket],
        "system-view\nsysname Far\nquit\nquit\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "<Duet>system-view\nSystem View: return to User View with Ctrl+Z.\n[Duet]sysname Far\n\
         [Far]quit\n<Far>quit\n"
    );
    // `quit` ended the connect session only: the device still answers.
    Raw::open(&device.socket).recv();
}

#[test]
fn check_reports_each_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.cfg");
    std::fs::write(&good, "#\n sysname A\n#\nreturn\n").unwrap();
    let out = duet(&["check", good.to_str().unwrap()], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), String::new())
    );
    let bad = dir.path().join("bad.cfg");
    std::fs::write(&bad, "#\n sysname A\n bogus line\n#\n frobnicate\nreturn\n").unwrap();
    let out = duet(&["check", bad.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{}:3: ", bad.display())),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with(&format!("{}:5: ", bad.display())),
        "{lines:?}"
    );
}

#[test]
fn startup_config_errors_are_reported_and_start_up_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("startup.cfg");
    std::fs::write(&cfg, "#\n sysname Loaded\n nonsense here\n#\nreturn\n").unwrap();
    let out = duet(&["run", "--data-dir", dir.path().to_str().unwrap()], "");
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains(&format!("{}:3: ", cfg.display())),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "<Loaded>\n");
}

#[test]
fn terminal_question_mark_tab_and_ctrl_z() {
    let mut t = Terminal::start();
    // `?` shows help at once, then the prompt and the partial line again.
    t.type_and_expect("?", "User view commands:");
    t.expect("\n<Duet>");
    t.type_and_expect("sys?", "system-view");
    t.type_and_expect("\t", "<Duet>system-view");
    t.type_and_expect("\r", "[Duet]");
    t.type_and_expect("\x1a", "<Duet>");
    t.type_and_expect("quit\r", "quit");
    assert!(t.finish().success());
}

#[test]
fn terminal_history_holds_executed_commands_only() {
    let mut t = Terminal::start();
    t.type_and_expect("system-view\r", "[Duet]");
    // A line that only asked for help is not history.
    t.type_and_expect("ret?", "[Duet]ret");
    t.type_and_expect("urn\r", "<Duet>");
    t.type_and_expect("\x1b[A", "return");
    t.type_and_expect("\x1b[A", "system-view");
    t.type_and_expect("\x03", "<Duet>");
    t.master.write_all(b"\x04").unwrap();
    assert!(t.finish().success());
}
