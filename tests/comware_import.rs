//! A real Comware 7 startup.cfg (tests/comware/startup.cfg, written from public configuration
//! examples: IRF and clock lines (the time zone is Duet's, the clock protocol is not), VLAN 1, routed ports, the default domain, roles and user
//! group, a local user with a Comware password hash, VRRP and a DHCP pool) loads: what Duet
//! implements is applied, the harmless rest is reported as not supported and skipped, and
//! `duet check` passes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use duet::device::{Device, DeviceOptions, NetKind};
use duet::session::Role;
use duet::session::load::{Severity, load_file};

fn startup_cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/comware/startup.cfg")
}

#[test]
fn a_comware_startup_cfg_loads_with_its_harmless_lines_reported() {
    let device = Device::new(DeviceOptions {
        data_dir: std::env::temp_dir(),
        net: NetKind::Sim,
    });
    let reports = load_file(&device, &startup_cfg()).expect("readable");
    let errors: Vec<&String> = reports
        .iter()
        .filter(|(s, _)| *s == Severity::Error)
        .map(|(_, m)| m)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let lines: Vec<usize> = reports
        .iter()
        .map(|(_, m)| m.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            7, 9, 10, 11, 12, 16, 18, 19, 21, 31, 34, 35, 43, 44, 48, 49, 53, 54, 57, 68, 70, 72,
            75, 78, 82, 86
        ]
    );
    // `service-type ssh telnet terminal`: telnet is reported, ssh and terminal kept.
    assert!(
        reports.iter().any(|(_, m)| m.ends_with(
            "startup.cfg:82: Not supported, skipped: telnet (Duet has no Telnet, FTP or web management server)"
        )),
        "{reports:#?}"
    );

    let config = device.config.snapshot();
    assert_eq!(config.sysname, "GW-A");
    // `clock timezone` is Duet's own setting (for its displays).
    assert_eq!(
        config.timezone.as_ref().map(|z| z.offset_secs),
        Some(8 * 3600)
    );
    let admin = &config.users["admin"];
    assert!(admin.ssh && admin.terminal);
    // network-operator, listed after network-admin as Comware writes it, does not demote.
    assert_eq!(admin.role, Role::NetworkAdmin);
    // The Comware hash (its password is "abc") is kept and verifies.
    let hash = admin.password.as_deref().unwrap();
    assert!(hash.starts_with("$h$6$"), "{hash}");
    assert!(duet::aaa::password::verify("abc", hash));
    let text = config.render();
    for expected in [
        "interface GigabitEthernet1/0/1\n ip address 10.1.1.2 255.255.255.0\n vrrp vrid 1 virtual-ip 10.1.1.1\n vrrp vrid 1 priority 120\n",
        "interface GigabitEthernet1/0/3\n shutdown\n",
        " address range 10.1.1.100 10.1.1.199\n",
        " ssh server enable\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}

/// `duet check` reports the skipped lines and passes the file: nothing in it is an error.
#[test]
fn duet_check_passes_a_comware_startup_cfg() {
    let out = Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg("check")
        .arg(startup_cfg())
        .output()
        .expect("duet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().count(), 26, "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.contains(": Not supported, skipped: ")),
        "{stdout}"
    );
}
