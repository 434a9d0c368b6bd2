//! The routing table is computed sans-IO (route/table.rs, from the configuration and the
//! ports' status, no clock), and so is the simulated LAN's forwarding (net/sim/forward.rs): no
//! tokio, sockets, files or clock in them. The driver modules own the task and the netlink
//! socket; the commands and displays run on the shell's thread.

use std::path::Path;

#[path = "common/sources.rs"]
mod sources;

const CORE: &[&str] = &[
    "route/config.rs",
    "route/table.rs",
    "route/mod.rs",
    "net/sim/forward.rs",
];
/// The driver side of src/route: the task and its I/O, and the shell's commands and displays.
const DRIVER: &[&str] = &["commands.rs", "display.rs", "driver.rs", "io.rs"];

#[test]
fn the_routing_table_and_sim_forwarding_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for name in CORE {
        sources::assert_sans_io(&src.join(name), &["rtnetlink"], "it");
    }
    // Every module of src/route is either core or driver.
    for name in sources::entry_names(&src.join("route")) {
        assert!(
            CORE.contains(&format!("route/{name}").as_str()) || DRIVER.contains(&name.as_str()),
            "unclassified module src/route/{name}"
        );
    }
}
