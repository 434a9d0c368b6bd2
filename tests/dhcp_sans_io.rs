//! The DHCP protocol core is sans-IO: its modules use no tokio, no sockets, no files and no
//! clock (the lease store, `store.rs` and its folder `store/`, is the one core module that does
//! file I/O; the driver modules own the sockets and the task).

use std::path::Path;

#[path = "common/sources.rs"]
mod sources;

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

#[test]
fn dhcp_core_modules_do_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dhcp");
    for name in CORE {
        for file in sources::module_files(&dir.join(name)) {
            sources::assert_sans_io(&file, &["socket2"], "the core");
        }
    }
    // Every module of src/dhcp is either core, driver or the store (`store/` holds its recovery,
    // file handling and fault seam).
    for name in sources::entry_names(&dir) {
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
