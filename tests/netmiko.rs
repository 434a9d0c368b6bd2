//! Network automation drives Duet as it drives Comware: Netmiko's `hp_comware` driver (the
//! library under Ansible's and Nornir's network modules) over SSH on 127.0.0.1 finds the
//! prompt, runs displays, configures across views, saves and disconnects
//! (tests/netmiko/drive_comware.py), and the SSH byte stream it saw holds no escape sequence.
//!
//! The Python comes from `DUET_NETMIKO_PYTHON` (`.ci/run` makes a venv with netmiko and sets
//! it), else `python3`. Without netmiko the test skips with a reason; with `DUET_REQUIRE_LAB=1`
//! the skip is a failure.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

use common::*;

const PASSWORD: &str = "Secret-123";

fn python() -> String {
    std::env::var("DUET_NETMIKO_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Is netmiko importable? Skips (or fails under `DUET_REQUIRE_LAB=1`) when not.
fn netmiko_or_skip(test: &str) -> bool {
    let found = Command::new(python())
        .args(["-c", "import netmiko"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    assert!(
        std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
        "{test}: needs the Python package netmiko in {} (DUET_REQUIRE_LAB=1)",
        python()
    );
    eprintln!(
        "skipping {test}: {} cannot import netmiko (set DUET_NETMIKO_PYTHON)",
        python()
    );
    false
}

#[test]
fn netmiko_hp_comware_configures_the_device_over_ssh() {
    if !netmiko_or_skip("netmiko_hp_comware_configures_the_device_over_ssh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("test.cfg");
    std::fs::write(
        &config,
        "#\n sysname Dut\n#\nline vty 0 63\n authentication-mode scheme\n#\n ssh server enable\n#\n\
         local-user admin class manage\n service-type ssh\n authorization-attribute user-role network-admin\n#\nreturn\n",
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let data = dir.path().join("data");
    let child = Command::new(DUET)
        .args(["run", "--no-console", "--ssh-address", "127.0.0.1"])
        .arg("--ssh-port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _device = Running(child);
    wait_for("the SSH port", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let connect = |commands: &[&str]| {
        let mut cmd = Command::new(DUET);
        cmd.arg("connect").arg("--data-dir").arg(&data);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        wait_output(cmd.spawn().unwrap())
    };
    let set = connect(&[
        "system-view",
        "local-user admin",
        &format!("password simple {PASSWORD}"),
    ]);
    assert!(set.status.success(), "{}", text(&set.stdout));

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/netmiko/drive_comware.py"
    );
    let child = Command::new(python())
        .arg(script)
        .args(["127.0.0.1", &port.to_string(), "admin", PASSWORD])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output_for(child, 120);
    assert!(
        out.status.success(),
        "netmiko failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok disconnect"));

    // What Netmiko read: a Comware device's plain stream.
    let stream = std::fs::read(dir.path().join("netmiko-session.log")).unwrap();
    assert!(
        !stream.contains(&0x1b),
        "an escape sequence in the SSH stream:\n{}",
        text(&stream)
    );
    // The configuration changed, and was saved.
    let shown = text(&connect(&["display current-configuration"]).stdout);
    assert!(shown.contains("dhcp server ip-pool netmiko"), "{shown}");
    let saved = std::fs::read_to_string(data.join("startup.cfg")).unwrap();
    assert!(
        saved.contains("ip address 192.0.2.1 255.255.255.0"),
        "{saved}"
    );
}

/// A child killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
