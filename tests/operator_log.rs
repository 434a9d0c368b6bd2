//! The process-wide logging: `init_tracing` writes the operator log to a file (no colour
//! codes) and still feeds each device's log buffer. A test binary of its own, because the
//! global subscriber can be set only once per process.

use duet::device::{Device, DeviceOptions, NetKind};
use duet::infocenter::init_tracing;
use duet::infocenter::route::InitError;

#[test]
fn operator_log_file_and_log_buffer() {
    // SAFETY: the only test of this binary, before any thread reads the environment.
    unsafe { std::env::remove_var("RUST_LOG") };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duet.log");
    init_tracing(Some(&path)).expect("first init");
    assert!(matches!(init_tracing(None), Err(InitError::AlreadySet)));

    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    device.span().in_scope(|| {
        tracing::warn!(
            module = "VRRP",
            severity = 6u8,
            mnemonic = "VRRP_STATUS_CHANGE",
            "became Master"
        );
        // Below the default `info` filter of the operator log, yet a Comware event.
        tracing::debug!(
            module = "DHCPS",
            severity = 7u8,
            mnemonic = "DHCPS_DEBUG",
            "offer sent"
        );
    });
    device.log(
        "SHELL",
        5,
        "SHELL_CMD",
        "-Line=con0-IPAddr=**-User=**; Command is sysname A",
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("became Master"), "{text}");
    assert!(
        !text.contains("offer sent"),
        "debug is filtered out of the operator log: {text}"
    );
    assert!(text.contains("SHELL/5/SHELL_CMD"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI escapes in a file: {text:?}"
    );

    let entries: Vec<String> = device
        .logs
        .entries()
        .iter()
        .map(|e| e.mnemonic.clone())
        .collect();
    assert_eq!(entries, ["VRRP_STATUS_CHANGE", "DHCPS_DEBUG", "SHELL_CMD"]);
}
