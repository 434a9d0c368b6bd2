//! The DHCP protocol core is sans-IO: its modules use no tokio, no sockets, no files and no
//! clock (the lease store, `store.rs` and its folder `store/`, is the one core module that does
//! file I/O; the driver modules own the sockets and the task).

use std::fs;
use std::path::{Path, PathBuf};

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
    "server",
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
        for file in rust_files(&dir.join(name)) {
            let text = fs::read_to_string(&file).unwrap();
            for word in FORBIDDEN {
                assert!(
                    !text.contains(word),
                    "{} mentions {word}: the core must stay sans-IO",
                    file.display()
                );
            }
        }
    }
    // Every module of src/dhcp is either core, driver or the store (`store/` holds its recovery,
    // file handling and fault seam).
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            CORE.contains(&name.as_str())
                || DRIVER.contains(&name.as_str())
                || name == "store.rs"
                || name == "store"
                || name == "mod.rs",
            "unclassified module {name}"
        );
    }
}

/// The file itself, or every `.rs` file of a module folder (`server/` holds `server.rs`'s
/// submodules).
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect()
    } else {
        vec![path.to_path_buf()]
    }
}
