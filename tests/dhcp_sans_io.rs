//! The DHCP protocol core is sans-IO: its modules use no tokio, no sockets, no files and no
//! clock (the lease store, `store.rs`, is the one core module that does file I/O; the driver
//! modules own the sockets and the task).

use std::fs;
use std::path::Path;

const CORE: &[&str] = &[
    "config.rs",
    "event.rs",
    "frame.rs",
    "lease.rs",
    "options.rs",
    "packet.rs",
    "pool.rs",
    "reply.rs",
    "render.rs",
    "server.rs",
];
/// The driver side: the engine task, its sockets, and the shell's commands and displays.
/// (`driver/` holds the driver's submodules: its sockets and frames.)
const DRIVER: &[&str] = &["commands.rs", "display.rs", "driver.rs", "driver"];
const FORBIDDEN: &[&str] = &[
    "tokio",
    "UdpSocket",
    "TcpStream",
    "socket2",
    "std::fs",
    "File::",
    "SystemTime",
    "Instant",
    "thread::sleep",
];

#[test]
fn dhcp_core_modules_do_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dhcp");
    for name in CORE {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        for word in FORBIDDEN {
            assert!(
                !text.contains(word),
                "src/dhcp/{name} mentions {word}: the core must stay sans-IO"
            );
        }
    }
    // Every module of src/dhcp is either core or the store.
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            CORE.contains(&name.as_str())
                || DRIVER.contains(&name.as_str())
                || name == "store.rs"
                || name == "mod.rs",
            "unclassified module {name}"
        );
    }
}
