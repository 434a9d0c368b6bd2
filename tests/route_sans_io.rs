//! The routing table is computed sans-IO (route/table.rs, from the configuration and the
//! ports' status, no clock), and so is the simulated LAN's forwarding (net/sim/forward.rs): no
//! tokio, sockets, files or clock in them. The driver modules own the task and the netlink
//! socket; the commands and displays run on the shell's thread.

use std::fs;
use std::path::Path;

const CORE: &[&str] = &[
    "route/config.rs",
    "route/table.rs",
    "route/mod.rs",
    "net/sim/forward.rs",
];
/// The driver side of src/route: the task and its I/O, and the shell's commands and displays.
const DRIVER: &[&str] = &["commands.rs", "display.rs", "driver.rs", "io.rs"];
const FORBIDDEN: &[&str] = &[
    "tokio",
    "UdpSocket",
    "TcpStream",
    "rtnetlink",
    "std::fs",
    "File::",
    "SystemTime",
    "Instant",
    "thread::sleep",
];

#[test]
fn the_routing_table_and_sim_forwarding_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for name in CORE {
        let text = fs::read_to_string(src.join(name)).unwrap();
        for word in FORBIDDEN {
            assert!(
                !text.contains(word),
                "src/{name} mentions {word}: it must stay sans-IO"
            );
        }
    }
    // Every module of src/route is either core or driver.
    for entry in fs::read_dir(src.join("route")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            CORE.contains(&format!("route/{name}").as_str()) || DRIVER.contains(&name.as_str()),
            "unclassified module src/route/{name}"
        );
    }
}
