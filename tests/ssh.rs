//! The SSH server against the real OpenSSH client: password and public-key login, wrong
//! passwords and the lockout, exec requests and their exit status, an interactive session on
//! a PTY (expect), roles, the host key across restarts, the idle timeout, `free line`, and bad
//! input the server must survive. Each test runs its own `duet run` on a free port of
//! 127.0.0.1 with its own data directory.
//!
//! Without `ssh`, `sshpass` or `expect` the tests skip with a printed reason; with
//! `DUET_REQUIRE_LAB=1` the skip is a failure.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::text;

const DUET: &str = env!("CARGO_BIN_EXE_duet");
const PASSWORD: &str = "Secret-123";

/// Skip (or fail under `DUET_REQUIRE_LAB=1`) when a client program is missing.
fn tools_or_skip(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
        "{test}: needs {missing:?} (DUET_REQUIRE_LAB=1)"
    );
    eprintln!("skipping {test}: {missing:?} not installed");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A device with SSH enabled on 127.0.0.1, killed when dropped.
struct Device {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// Users `admin` (network-admin) and `oper` (network-operator), both with the test password
/// and `service-type ssh`; vty lines authenticate by scheme.
fn base_config(extra_vty: &str) -> String {
    format!(
        "#\n sysname Dut\n#\nline vty 0 63\n authentication-mode scheme\n{extra_vty}#\n ssh server enable\n#\n\
         local-user admin class manage\n service-type ssh\n authorization-attribute user-role network-admin\n#\n\
         local-user oper class manage\n service-type ssh\n#\nreturn\n"
    )
}

impl Device {
    fn start(config: &str) -> Device {
        let dir = tempfile::tempdir().expect("temp dir");
        let device = Device::start_in(dir, config);
        // Passwords are set through the shell so the file needs no hash.
        for user in ["admin", "oper"] {
            let out = device.connect(&[
                "system-view",
                &format!("local-user {user}"),
                &format!("password simple {PASSWORD}"),
            ]);
            assert!(out.status.success(), "{}", text(&out.stdout));
        }
        device
    }

    fn start_in(dir: tempfile::TempDir, config: &str) -> Device {
        let cfg = dir.path().join("test.cfg");
        std::fs::write(&cfg, config).unwrap();
        let port = free_port();
        let child = Command::new(DUET)
            .args(["run", "--no-console", "--ssh-address", "127.0.0.1"])
            .arg("--ssh-port")
            .arg(port.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&cfg)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start duet");
        let device = Device { child, dir, port };
        wait_for("the SSH port", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        device
    }

    /// Stop the process, keeping the data directory.
    fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `duet connect -c ...` as network-admin on the control socket.
    fn connect(&self, commands: &[&str]) -> Output {
        self.connect_with_input(commands, "")
    }

    fn connect_with_input(&self, commands: &[&str], input: &str) -> Output {
        common::connect_with_input(&self.data(), commands, input)
    }

    fn logbuffer(&self) -> String {
        text(&self.connect(&["display logbuffer"]).stdout)
    }

    /// OpenSSH options for this device: no host key prompts, no agent or default keys.
    fn ssh_args(&self, known_hosts: Option<&Path>) -> Vec<String> {
        let known = known_hosts
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/dev/null".into());
        let strict = if known_hosts.is_some() {
            "accept-new"
        } else {
            "no"
        };
        [
            "-F",
            "/dev/null",
            "-p",
            &self.port.to_string(),
            "-o",
            &format!("StrictHostKeyChecking={strict}"),
            "-o",
            &format!("UserKnownHostsFile={known}"),
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "LogLevel=ERROR",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// `sshpass -p PASSWORD ssh USER@127.0.0.1 COMMAND`.
    fn ssh_password(&self, user: &str, password: &str, command: &str) -> Output {
        let mut cmd = Command::new("sshpass");
        cmd.args(["-p", password, "ssh"])
            .args(self.ssh_args(None))
            .args(["-o", "PubkeyAuthentication=no"])
            .arg(format!("{user}@127.0.0.1"))
            .arg(command);
        run(&mut cmd)
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait at most 60 s for `child` and collect its output.
fn wait_output(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a client did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Poll `cond` every 20 ms for at most 20 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `cmd` with no input; its output and exit status (at most 60 s).
fn run(cmd: &mut Command) -> Output {
    wait_output(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Run an expect script; its output and exit status.
fn expect(script: &str) -> Output {
    run(Command::new("expect").args(["-c", script]))
}

/// Runs an expect script that must exit 0; on failure shows what the session printed.
fn expect_success(script: &str) {
    let out = expect(script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A fresh ed25519 client key pair (comment `test key`) in the device's directory: the private
/// key's path and the public key's line.
fn client_key(device: &Device) -> (PathBuf, String) {
    let key = device.dir.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test key", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public)
}

/// Runs `interactive_script(device, user, body)`, which must exit 0.
fn expect_interactive(device: &Device, user: &str, body: &str) {
    expect_success(&interactive_script(device, user, body));
}

/// An expect script for an interactive password login as `user`: it waits for the user-view
/// prompt (exit 2 when it does not come) and goes on with `body`.
fn interactive_script(device: &Device, user: &str, body: &str) -> String {
    format!(
        "set timeout 20\n\
         spawn sshpass -p {PASSWORD} ssh -tt {} -o PubkeyAuthentication=no {user}@127.0.0.1\n\
         expect \"<Dut>\" {{}} timeout {{ exit 2 }}\n\
         {body}",
        device.ssh_args(None).join(" ")
    )
}

#[test]
fn password_login_runs_exec_requests_with_their_exit_status() {
    if !tools_or_skip("password_login", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Duet"), "{}", text(&out.stdout));

    // A command that fails: its error, and a nonzero exit status.
    let out = device.ssh_password("admin", PASSWORD, "display nonsense");
    assert_eq!(out.status.code(), Some(1));
    // The caret points into the echoed line, as on a terminal.
    assert_eq!(
        text(&out.stdout),
        "<Dut>display nonsense\n             ^\n % Unrecognized command found at '^' position.\n"
    );

    // A configuration change through exec is visible to the other sessions at once.
    let out = device.ssh_password("admin", PASSWORD, "display users");
    assert!(text(&out.stdout).contains("admin"), "{}", text(&out.stdout));
    let logs = device.logbuffer();
    assert!(
        logs.contains("SSHS/6/SSHS_CONNECT: SSH user admin (IP: 127.0.0.1) connected"),
        "{logs}"
    );
    assert!(logs.contains("SSHS/6/SSHS_DISCONNECT"), "{logs}");
}

#[test]
fn wrong_password_is_refused_and_logged() {
    if !tools_or_skip("wrong_password", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let out = device.ssh_password("admin", "not-the-password", "display version");
    assert_ne!(out.status.code(), Some(0));
    assert!(!text(&out.stdout).contains("Duet"));
    let out = device.ssh_password("nobody", PASSWORD, "display version");
    assert_ne!(out.status.code(), Some(0));
    let logs = device.logbuffer();
    assert!(
        logs.contains("SSHS/6/SSHS_LOG: Authentication failed for admin from 127.0.0.1 port")
            && logs.contains("because of a wrong password."),
        "{logs}"
    );
    assert!(logs.contains("because of an unknown user name."), "{logs}");
    // The right password still works (two failures do not lock the source out).
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn five_failures_lock_the_source_out() {
    if !tools_or_skip("lockout", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    for _ in 0..5 {
        let out = device.ssh_password("admin", "wrong", "display version");
        assert_ne!(out.status.code(), Some(0));
    }
    // Now even the right password is refused.
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("Duet"));
    let logs = device.logbuffer();
    assert!(
        logs.contains(
            "SSHS/4/SSHS_LOCKOUT: 127.0.0.1 is refused for 300 seconds after 5 failed logins within a minute."
        ),
        "{logs}"
    );
    assert!(logs.contains("the source is locked out"), "{logs}");
}

#[test]
fn lockout_time_is_configurable_and_ends() {
    if !tools_or_skip("lockout_time", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let out = device.connect(&["system-view", "ssh server login-lockout 2"]);
    assert!(out.status.success());
    for _ in 0..5 {
        device.ssh_password("admin", "wrong", "display version");
    }
    assert!(device.logbuffer().contains("is refused for 2 seconds"));
    std::thread::sleep(Duration::from_millis(2500));
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn public_key_login() {
    if !tools_or_skip("public_key", &["ssh", "ssh-keygen"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let (key, public) = client_key(&device);
    let login = |device: &Device| {
        let mut cmd = Command::new("ssh");
        cmd.args(device.ssh_args(None))
            .args([
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "BatchMode=yes",
                "-i",
            ])
            .arg(&key)
            .arg("admin@127.0.0.1")
            .arg("display current-configuration");
        run(&mut cmd)
    };
    // Not yet authorized.
    assert_ne!(login(&device).status.code(), Some(0));
    let out = device.connect(&[
        "system-view",
        "local-user admin",
        &format!("ssh authorized-key {}", public.trim()),
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = login(&device);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The key is in the configuration without its comment.
    let shown = text(&out.stdout);
    let material: Vec<&str> = public.split_whitespace().take(2).collect();
    assert!(
        shown.contains(&format!(" ssh authorized-key {}\n", material.join(" "))),
        "{shown}"
    );
}

#[test]
fn operator_may_display_but_not_enter_system_view() {
    if !tools_or_skip("operator", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let out = device.ssh_password("oper", PASSWORD, "system-view");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Permission denied.\n");
    let out = device.ssh_password("oper", PASSWORD, "display users");
    assert_eq!(out.status.code(), Some(0));
    let out = device.ssh_password("oper", PASSWORD, "save force");
    assert_eq!(out.status.code(), Some(1));
    // Secrets are masked for an operator: the users' password hashes show as `******`.
    let out = device.ssh_password("oper", PASSWORD, "display current-configuration");
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out.stdout);
    assert!(shown.contains("\n password hash ******\n"), "{shown}");
    assert!(!shown.contains("$argon2id$"), "{shown}");
}

#[test]
fn interactive_session_on_a_pty_changes_the_sysname() {
    if !tools_or_skip("interactive", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    expect_interactive(
        &device,
        "admin",
        r#"send "sys\r"
expect -ex {[Dut]} {} timeout { exit 3 }
send "sysname Renamed\r"
expect -ex {[Renamed]} {} timeout { exit 4 }
send "sysname Abandoned\003"
# A fresh prompt on the next line; it is empty, as `[Renamed]display us` below shows.
expect -re {Abandoned\r\n\[Renamed\]} {} timeout { exit 8 }
send "display us?"
expect "users" {} timeout { exit 5 }
# (Keys typed before the line comes back are kept: type_ahead_after_help_over_ssh_is_not_lost.)
expect -ex {[Renamed]display us} {} timeout { exit 9 }
send "\025"
send "return\r"
expect "<Renamed>" {} timeout { exit 6 }
send "quit\r"
expect eof {} timeout { exit 7 }
catch wait result
exit [lindex $result 3]
"#,
    );
    // The other sessions see the change at once.
    let cfg = text(&device.connect(&["display current-configuration"]).stdout);
    assert!(cfg.contains(" sysname Renamed\n"), "{cfg}");
    // Ctrl+C abandoned the line it ended.
    assert!(!device.logbuffer().contains("Abandoned"));
    let logs = device.logbuffer();
    assert!(
        logs.contains("SHELL/5/SHELL_LOGIN: admin logged in from 127.0.0.1."),
        "{logs}"
    );
    assert!(
        logs.contains("SHELL/5/SHELL_LOGOUT: admin logged out from 127.0.0.1."),
        "{logs}"
    );
    assert!(
        logs.contains("-Line=vty0-IPAddr=127.0.0.1-User=admin; Command is sysname Renamed"),
        "{logs}"
    );
}

/// Keys typed right after `?` over SSH, without waiting for the help or the redrawn line, reach
/// the next read unchanged: Ctrl+U kills the line, `return` runs alone. Many times over.
#[test]
fn type_ahead_after_help_over_ssh_is_not_lost() {
    if !tools_or_skip("type-ahead", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    expect_interactive(
        &device,
        "admin",
        r#"for {set i 0} {$i < 20} {incr i} {
    send "sys\r"
    expect -ex {[Dut]} {} timeout { exit 3 }
    send "display us?"
    send "\025"
    send "return\r"
    expect {
        "<Dut>" {}
        "Unrecognized" { exit 4 }
        timeout { exit 5 }
    }
}
send "quit\r"
expect eof {} timeout { exit 7 }
catch wait result
exit [lindex $result 3]
"#,
    );
}

/// Up-arrow in an SSH session recalls what the session's history holds: a line that carried a
/// password never comes back on screen, the ordinary line before it does.
#[test]
fn recall_over_ssh_leaves_out_a_password() {
    if !tools_or_skip("recall", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    expect_interactive(
        &device,
        "admin",
        r#"send "system-view\r"
expect -ex {[Dut]} {} timeout { exit 3 }
send "local-user oper\r"
expect -ex {[Dut-luser-manage-oper]} {} timeout { exit 4 }
send "password simple Recall-9876\r"
# The next prompt, on a line of its own (the line being typed may be redrawn with its prompt).
expect -re {\n[^\n]*\[Dut-luser-manage-oper\]} {} timeout { exit 5 }
send "\033\[A"
expect {
    "Recall-9876" { exit 6 }
    "local-user oper" {}
    timeout { exit 7 }
}
send "\003"
expect -re {\n[^\n]*\[Dut-luser-manage-oper\]} {} timeout { exit 8 }
send "quit\r"
expect -ex {[Dut]} {} timeout { exit 11 }
send "return\r"
expect "<Dut>" {} timeout { exit 9 }
send "quit\r"
expect eof {} timeout { exit 10 }
catch wait result
exit [lindex $result 3]
"#,
    );
}

#[test]
fn operator_is_refused_system_view_interactively() {
    if !tools_or_skip("operator_interactive", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    expect_interactive(
        &device,
        "oper",
        r#"send "system-view\r"
expect "Permission denied." {} timeout { exit 3 }
expect "<Dut>" {} timeout { exit 4 }
send "quit\r"
expect eof {} timeout { exit 5 }
exit 0
"#,
    );
}

#[test]
fn host_key_is_stable_across_restarts() {
    if !tools_or_skip("host_key", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let known = device.dir.path().join("known_hosts");
    let login = |device: &Device, port: u16| {
        let mut cmd = Command::new("sshpass");
        let mut args = device.ssh_args(Some(&known));
        // The new instance listens on another port: pin the host key alias.
        args.extend(["-o".to_string(), "HostKeyAlias=dut".to_string()]);
        args[3] = port.to_string();
        cmd.args(["-p", PASSWORD, "ssh"])
            .args(args)
            .args(["-o", "PubkeyAuthentication=no"])
            .arg("admin@127.0.0.1")
            .arg("display version");
        run(&mut cmd)
    };
    let out = login(&device, device.port);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first_key = std::fs::read_to_string(known.clone()).unwrap();
    let key_file = device.data().join("ssh_host_ed25519_key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Restart on the same data directory (the passwords are set again: the running
    // configuration was not saved).
    let dir = device.stop();
    let device = Device::start_in(dir, &base_config(""));
    device.connect(&[
        "system-view",
        "local-user admin",
        &format!("password simple {PASSWORD}"),
    ]);
    // StrictHostKeyChecking=accept-new refuses a changed key.
    let out = login(&device, device.port);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(known).unwrap(), first_key);
}

#[test]
fn idle_sessions_are_logged_out() {
    if !tools_or_skip("idle_timeout", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(" idle-timeout 0 2\n"));
    let script = interactive_script(
        &device,
        "admin",
        r#"expect eof {} timeout { exit 3 }
exit 0
"#,
    );
    let started = Instant::now();
    expect_success(&script);
    assert!(started.elapsed() >= Duration::from_secs(2));
    let logs = device.logbuffer();
    assert!(
        logs.contains("SHELL/5/SHELL_LOGOUT_IDLE: vty0 was logged out: idle for 2 seconds."),
        "{logs}"
    );
}

#[test]
fn free_line_ends_another_session() {
    if !tools_or_skip("free_line", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let script = interactive_script(
        &device,
        "admin",
        r#"send "display ssh server session\r"
expect "Stelnet  admin" {} timeout { exit 3 }
expect eof {} timeout { exit 4 }
exit 0
"#,
    );
    let expecting = Command::new("expect")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the SSH session", || {
        text(&device.connect(&["display users"]).stdout).contains("SSH      admin")
    });
    let users = text(&device.connect(&["display users"]).stdout);
    let line = users
        .lines()
        .find(|l| l.contains("SSH      admin"))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the SSH session's line")
        .to_string();
    let out = device.connect_with_input(&[&format!("free line vty {line}")], "Y\n");
    assert!(
        text(&out.stdout).contains(&format!("Line vty{line} freed.")),
        "{}",
        text(&out.stdout)
    );
    let out = wait_output(expecting);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn bad_input_is_logged_and_the_server_carries_on() {
    if !tools_or_skip("bad_input", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    // A client that leaves in the middle of the handshake, and one that sends garbage.
    let mut ports = Vec::new();
    for greeting in [&b"SSH-2.0-half\r\n"[..], &[0xffu8; 4096][..], b""] {
        let mut s = TcpStream::connect(("127.0.0.1", device.port)).unwrap();
        ports.push(s.local_addr().unwrap().port());
        let _ = s.write_all(greeting);
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = s.read(&mut [0u8; 256]);
    }
    // Oversized user name and password.
    let long_user = "u".repeat(4000);
    let out = device.ssh_password(&long_user, PASSWORD, "display version");
    assert_ne!(out.status.code(), Some(0));
    let out = device.ssh_password("admin", &"p".repeat(1000), "display version");
    assert_ne!(out.status.code(), Some(0));
    // A channel type the server does not serve (direct-tcpip, `ssh -W`).
    let mut cmd = Command::new("sshpass");
    cmd.args(["-p", PASSWORD, "ssh"])
        .args(device.ssh_args(None))
        .args(["-o", "PubkeyAuthentication=no", "-W", "127.0.0.1:9"])
        .arg("admin@127.0.0.1");
    let out = wait_output(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    assert_ne!(out.status.code(), Some(0));
    let logs = device.logbuffer();
    assert!(
        logs.contains("because the user name or password is too long."),
        "{logs}"
    );
    assert!(logs.contains("Refused a port-forwarding channel"), "{logs}");
    // Each broken client left a line.
    for port in ports {
        assert!(
            logs.contains(&format!(
                "The connection from 127.0.0.1 port {port} ended before login"
            )),
            "{port}: {logs}"
        );
    }
    // Four failures so far: still below the lockout. The server still serves.
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn the_server_follows_ssh_server_enable() {
    if !tools_or_skip("enable", &["ssh", "sshpass"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let status = text(&device.connect(&["display ssh server status"]).stdout);
    assert!(
        status.contains(&format!(
            " SSH server state : Listening on 127.0.0.1:{}",
            device.port
        )),
        "{status}"
    );
    device.connect(&["system-view", "undo ssh server enable"]);
    wait_for("the port to close", || {
        TcpStream::connect(("127.0.0.1", device.port)).is_err()
    });
    let status = text(&device.connect(&["display ssh server status"]).stdout);
    assert!(status.contains(" Stelnet server: Disable"), "{status}");
    assert!(
        status.contains(" SSH server state : Not listening"),
        "{status}"
    );
    device.connect(&["system-view", "ssh server enable"]);
    wait_for("the port to open", || {
        TcpStream::connect(("127.0.0.1", device.port)).is_ok()
    });
    let out = device.ssh_password("admin", PASSWORD, "display version");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn the_pager_follows_the_client_window() {
    if !tools_or_skip("window", &["ssh", "ssh-keygen", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    let (key, public) = client_key(&device);
    device.connect(&[
        "system-view",
        "local-user admin",
        &format!("ssh authorized-key {}", public.trim()),
    ]);
    // The client's terminal starts 10 rows high: pages of 9 lines. Then it grows to 60 rows
    // (ssh sends window-change): pages of 24, the session's screen length.
    let script = format!(
        r#"set timeout 20
spawn ssh -tt {args} -o PasswordAuthentication=no -o BatchMode=yes -i {key} admin@127.0.0.1
stty rows 10 columns 100 < $spawn_out(slave,name)
expect "<Dut>" {{}} timeout {{ exit 2 }}
send "display current-configuration\r"
expect -re "(.*)---- More ----" {{}} timeout {{ exit 3 }}
if {{[string match "*GigabitEthernet1/0/4*" $expect_out(1,string)]}} {{ exit 4 }}
send "q"
expect "<Dut>" {{}} timeout {{ exit 5 }}
stty rows 60 columns 100 < $spawn_out(slave,name)
sleep 0.5
send "display current-configuration\r"
expect -re "(.*)---- More ----" {{}} timeout {{ exit 6 }}
if {{![string match "*GigabitEthernet1/0/4*" $expect_out(1,string)]}} {{ exit 7 }}
send "q"
expect "<Dut>" {{}} timeout {{ exit 8 }}
send "quit\r"
expect eof {{}} timeout {{ exit 9 }}
exit 0
"#,
        args = device.ssh_args(None).join(" "),
        key = key.display()
    );
    expect_success(&script);
}

/// `ping` over SSH prints its replies as they come and Ctrl+C stops it, as on the console:
/// the stream front end shows progress and looks for Ctrl+C while the command runs.
#[test]
fn ctrl_c_stops_a_ping_over_ssh() {
    if !tools_or_skip("ctrl-c over ssh", &["ssh", "sshpass", "expect"]) {
        return;
    }
    let device = Device::start(&base_config(""));
    expect_interactive(
        &device,
        "admin",
        r#"send "system-view\r"
expect -ex {[Dut]} {} timeout { exit 3 }
send "interface g1/0/1\r"
expect -ex {[Dut-GigabitEthernet1/0/1]} {} timeout { exit 4 }
send "ip address 10.1.1.1 24\r"
expect -ex {[Dut-GigabitEthernet1/0/1]} {} timeout { exit 5 }
send "return\r"
expect "<Dut>" {} timeout { exit 6 }
send "ping -c 4294967295 10.1.1.9\r"
expect "Request time out" {} timeout { exit 7 }
send "\003"
expect "packet loss" {} timeout { exit 8 }
expect "<Dut>" {} timeout { exit 9 }
send "quit\r"
expect eof {} timeout { exit 10 }
catch wait result
exit [lindex $result 3]
"#,
    );
}
