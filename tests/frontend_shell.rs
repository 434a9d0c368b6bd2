//! The front ends driving real commands (these need the whole shell: the matcher, the commands
//! and `load_text`): `duet connect -c` exit status and piped screen, `duet check` and start-up
//! configuration errors, `?`, Tab and Ctrl+Z on a terminal.

mod common;

use std::io::Write;

use common::*;

/// `duet connect -c` shows each command after its prompt, as a terminal does, so an error's
/// caret points into the command it is about.
#[test]
fn connect_c_echoes_the_line_so_the_caret_points_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap();
    let out = duet(&["connect", "--socket", socket, "-c", "display clok"], "");
    let screen = text(&out.stdout);
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines[0], "<Duet>display clok", "{screen}");
    let caret = lines[1].find('^').expect("a caret line");
    assert_eq!(&lines[0][caret..], "clok", "{screen}");
    assert!(lines[2].contains("% Unrecognized command"), "{screen}");
}

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
        "<Duet>system-view\nSystem View: return to User View with Ctrl+Z.\n[Duet]return\n"
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
    t.master.write_all(b"\x04").unwrap();
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

/// Up-arrow recalls what the session's history holds (`display history-command`): a line that
/// carried a password never comes back on screen, the ordinary line before it does. On the
/// console and in `duet connect` (which is also the shell of every SSH login; over OpenSSH:
/// tests/ssh.rs, `recall_over_ssh_leaves_out_a_password`).
#[test]
fn terminal_recall_leaves_out_lines_with_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap().to_string();
    let console = Terminal::start();
    let connect = Terminal::spawn(&["connect".into(), "--socket".into(), socket], None);
    for (name, mut t) in [("console", console), ("connect", connect)] {
        t.type_and_expect("system-view\r", "[Duet]");
        t.type_and_expect("local-user admin\r", "[Duet-luser-manage-admin]");
        t.type_and_expect("password simple S3cret!x\r", "[Duet-luser-manage-admin]");
        let before = t.plain().len();
        t.type_and_expect("\x1b[A", "local-user admin");
        t.type_and_expect("\x1b[A", "system-view");
        let recalled = t.plain()[before..].to_string();
        assert!(!recalled.contains("S3cret"), "{name}: {recalled}");
        // Down-arrow walks back to the empty line without the password either.
        let before = t.plain().len();
        t.type_and_expect("\x1b[B", "local-user admin");
        t.type_and_expect("\x1b[B", "[Duet-luser-manage-admin]");
        let recalled = t.plain()[before..].to_string();
        assert!(!recalled.contains("S3cret"), "{name}: {recalled}");
        t.master.write_all(b"\x04").unwrap();
        assert!(t.finish().success(), "{name}");
    }
}

/// Run `duet` with raw bytes on standard input.
fn duet_bytes(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = std::process::Command::new(DUET)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait_output(child);
    writer.join().unwrap();
    out
}

/// Bad bytes through `duet connect` (piped): invalid UTF-8, control characters and a 100 KB
/// line are refused one by one with a clear error; the lines after them run, the client exits
/// 1 (some command failed), and the device keeps serving.
#[test]
fn connect_survives_bad_bytes_and_an_overlong_line() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap();
    let mut input = b"sysname \xff\xfe\n\x01\x1b[A\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 100 * 1024));
    input.extend_from_slice(b"\nsystem-view\nsysname Still-\x07Here\nsysname Fine\nquit\n");
    let out = duet_bytes(&["connect", "--socket", socket], &input);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let screen = text(&out.stdout);
    assert!(
        screen.starts_with(
            "<Duet>sysname \u{fffd}\u{fffd}\n      ^\n % Unrecognized command found at '^' position.\n"
        ),
        "{screen:?}"
    );
    assert!(
        screen.contains("<Duet>\u{fffd}\u{fffd}[A\n      ^\n % Unrecognized"),
        "{screen:?}"
    );
    assert!(screen.contains("% The command is too long"), "{screen:?}");
    // The control character is refused where a name would take it; the next name is taken.
    assert!(
        screen.contains("[Duet]sysname Still-\u{fffd}Here\n              ^\n % Wrong parameter"),
        "{screen:?}"
    );
    assert!(screen.ends_with("[Fine]quit\n<Fine>\n"), "{screen:?}");
    // The device still serves new sessions, with the name the good line set.
    let again = duet(&["connect", "--socket", socket, "-c", "display this"], "");
    assert!(
        text(&again.stdout).contains(" sysname Fine"),
        "{}",
        text(&again.stdout)
    );
}

/// A binary or truncated configuration: `duet check` names the line and fails; `duet run`
/// reports the same on standard error, loads what it can and starts.
#[test]
fn binary_and_truncated_configs_are_reported_and_start_up_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary.cfg");
    std::fs::write(&binary, b"#\n sysname Bin\n\x00\x01\x02\xff garbage").unwrap();
    let cut = dir.path().join("cut.cfg");
    std::fs::write(
        &cut,
        "#\n sysname Cut\n#\ninterface GigabitEthernet1/0/1\n ip addr",
    )
    .unwrap();
    for (file, line, message, prompt) in [
        (&binary, 3, "binary file", "<Duet>"),
        (
            &cut,
            5,
            "% Incomplete command found at '^' position.",
            "<Cut>",
        ),
    ] {
        let path = file.to_str().unwrap();
        let check = duet(&["check", path], "");
        assert_eq!(check.status.code(), Some(1), "{path}");
        let wanted = format!("{path}:{line}: {message}");
        assert!(
            text(&check.stdout).starts_with(&wanted),
            "{}",
            text(&check.stdout)
        );
        let data = tempfile::tempdir().unwrap();
        let run = duet(
            &[
                "run",
                "--data-dir",
                data.path().to_str().unwrap(),
                "--config",
                path,
            ],
            "display this\n",
        );
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(text(&run.stderr).contains(&wanted), "{}", text(&run.stderr));
        assert!(
            text(&run.stdout).starts_with(prompt),
            "{}",
            text(&run.stdout)
        );
    }
}

/// Comware's editing keys and edit buffer, on the console (rustyline) and in the byte-stream
/// editor of SSH shells (`duet connect --comware-stream`): Ctrl+X deletes to the start of the
/// line, Ctrl+Y to its end, and characters past the 511th are refused as they are typed, so
/// Enter runs the 511 kept instead of refusing the line.
#[test]
fn ctrl_x_ctrl_y_and_the_511_character_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap().to_string();
    let console = Terminal::start();
    let stream = Terminal::spawn(
        &[
            "connect".into(),
            "--comware-stream".into(),
            "--socket".into(),
            socket,
        ],
        None,
    );
    let left = |n: usize| "\x1b[D".repeat(n);
    for (name, mut t) in [("console", console), ("stream", stream)] {
        t.type_and_expect(
            &format!("junk words display version{}\x18\r", left(15)),
            "uptime",
        );
        t.type_and_expect(
            &format!("display version junk words{}\x19\r", left(11)),
            "uptime",
        );
        // 511 characters fill the buffer; the `x`s after them are refused as typed.
        let full = format!("display version{}", " ".repeat(511 - 15));
        let before = t.plain().len();
        t.type_and_expect(&format!("{full}{}\r", "x".repeat(100)), "uptime");
        let screen = t.plain()[before..].to_string();
        assert!(!screen.contains("xx"), "{name}: {screen}");
        assert!(!screen.contains("too long"), "{name}: {screen}");
        t.master.write_all(b"\x04").unwrap();
        assert!(t.finish().success(), "{name}");
    }
}

/// `terminal monitor` in a `duet connect` session (the shell of every SSH login): log
/// messages show as they happen, above the line being typed, which comes back intact; in the
/// byte-stream editor of SSH shells without a single escape sequence. Off by default on vty
/// lines, as on Comware.
#[test]
fn terminal_monitor_shows_logs_above_the_typed_line_in_connect_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap().to_string();
    for stream in [false, true] {
        let mut args = vec!["connect".to_string(), "--socket".into(), socket.clone()];
        if stream {
            args.push("--comware-stream".into());
        }
        let mut t = Terminal::spawn(&args, None);
        // Off by default: another login (on vty1: this session holds vty0) is not shown.
        duet(&["connect", "--socket", &socket, "-c", "display clock"], "");
        t.type_and_expect("terminal monitor\r", "<Duet>");
        t.type_and_expect("display ver", "display ver");
        duet(&["connect", "--socket", &socket, "-c", "display clock"], "");
        t.expect("logged out.");
        let at = t.plain().rfind("SHELL/5/SHELL_LOGIN").unwrap();
        t.type_and_expect("sion\r", "uptime");
        let after = t.plain()[at..].to_string();
        assert!(
            after.contains("<Duet>display version\n"),
            "{stream}: {after}"
        );
        assert!(!after.contains("Unrecognized"), "{stream}: {after}");
        let shown = t.plain();
        assert_eq!(
            shown.matches("SHELL_LOGIN: vty1 logged in").count(),
            1,
            "only the login after `terminal monitor`: {shown}"
        );
        if stream {
            let raw = t.screen.lock().unwrap().clone();
            assert!(!raw.contains(&0x1b), "escape in: {}", text(&raw));
        }
        t.master.write_all(b"\x04").unwrap();
        assert!(t.finish().success());
    }
}

/// `display history-command all`: the lines every session kept, oldest first, one leading
/// space (a line with a password is kept by none, so it is not there either); `display users
/// all`: every user line, in use or not.
#[test]
fn history_and_users_of_all_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let device = Headless::start(dir.path());
    let socket = device.socket.to_str().unwrap();
    let run = |commands: &[&str]| {
        let mut args = vec!["connect", "--socket", socket];
        for c in commands {
            args.extend(["-c", c]);
        }
        text(&duet(&args, "").stdout)
    };
    run(&[
        "system-view",
        "sysname One",
        "local-user bob",
        "password simple Secret-998",
    ]);
    run(&["display clock"]);
    let shown = run(&["display history-command all"]);
    assert!(
        shown.ends_with(
            " system-view\n sysname One\n local-user bob\n display clock\n display history-command all\n"
        ),
        "{shown}"
    );
    assert!(!shown.contains("Secret-998"), "{shown}");

    let users = run(&["display users all"]);
    let rows: Vec<&str> = users.lines().collect();
    assert_eq!(
        rows[1],
        "  Idx  Line    Idle       Time                 Type     User"
    );
    // The console's row, then VTY 0 (this session, marked) to VTY 63.
    assert_eq!(rows[2], "  0    CON 0");
    assert!(rows[3].starts_with("+ 1    VTY 0   "), "{users}");
    assert!(rows[3].ends_with("CONTROL  **"), "{users}");
    assert_eq!(rows[4], "  2    VTY 1");
    assert_eq!(rows[66], "  64   VTY 63");
    assert_eq!(rows[67], "Following are more details.");
}
