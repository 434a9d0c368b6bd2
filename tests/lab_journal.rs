//! The journal output of the real binary: `duet run` started as systemd would start it
//! (`INVOCATION_ID` set, a journal socket at `/run/systemd/journal/socket`) sends its Comware
//! lines to that socket in the journal's native protocol, with the Comware parts as fields.
//!
//! CI machines run no systemd: the test runs Duet in a private mount namespace (`unshare -m`,
//! root needed) where a tmpfs on `/run` holds `systemd/journal/socket`, a symbolic link to a
//! datagram socket the test binds in its temporary directory. The host's `/run` is not
//! touched. Without root or unshare the test skips with the reason; `DUET_REQUIRE_LAB=1`
//! turns the skip into a failure.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/netns.rs"]
mod netns;

/// Kills and reaps the device when the test ends, also on failure.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fields of a native-protocol datagram made only of `NAME=value` lines.
fn fields(datagram: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(datagram)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn under_systemd_lines_reach_the_journal_with_their_fields() {
    if !netns::lab_or_skip(
        "under_systemd_lines_reach_the_journal_with_their_fields",
        &["unshare", "mount"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("journal.socket");
    let journal = UnixDatagram::bind(&socket).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = dir.path().join("j.cfg");
    std::fs::write(
        &config,
        "#\n sysname J\n#\ninterface GigabitEthernet1/0/1\n ip address 10.0.0.1 255.255.255.0\n \
         vrrp vrid 1 virtual-ip 10.0.0.254\n#\nreturn\n",
    )
    .unwrap();
    let script = r#"mount -t tmpfs duet-journal-test /run && mkdir -p /run/systemd/journal &&
ln -s "$SOCK" /run/systemd/journal/socket &&
exec "$DUET" run --net sim --no-console --data-dir "$DATA" --config "$CFG""#;
    let child = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .env("SOCK", &socket)
        .env("DUET", env!("CARGO_BIN_EXE_duet"))
        .env("DATA", dir.path().join("data"))
        .env("CFG", &config)
        .env("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs");
    let _running = Running(child);

    // The simulated port is up with no other router: the group becomes master after
    // Master_Down_Interval (about 3 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = vec![0u8; 65536];
    let mut seen = Vec::new();
    let master = loop {
        assert!(
            Instant::now() < deadline,
            "no VRRP change to Master in the journal; received:\n{seen:#?}"
        );
        let Ok(n) = journal.recv(&mut buf) else {
            continue;
        };
        let f = fields(&buf[..n]);
        if f.get("DUET_MNEMONIC").map(String::as_str) == Some("VRRP_STATUS_CHANGE")
            && f.get("MESSAGE").is_some_and(|m| m.contains("to Master"))
        {
            break f;
        }
        seen.push(f);
    };
    let want = |k: &str| master.get(k).map(String::as_str);
    assert_eq!(want("SYSLOG_IDENTIFIER"), Some("duet"));
    assert_eq!(want("PRIORITY"), Some("6"));
    assert_eq!(want("DUET_MODULE"), Some("VRRP"));
    assert_eq!(want("DUET_LEVEL"), Some("6"));
    assert_eq!(want("DUET_SYSNAME"), Some("J"));
    assert!(
        want("MESSAGE").is_some_and(|m| m.starts_with("VRRP/6/VRRP_STATUS_CHANGE: The status of")),
        "{master:?}"
    );
}
