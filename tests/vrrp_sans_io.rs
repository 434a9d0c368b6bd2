//! The VRRP core is sans-IO: no tokio, no sockets, no clock, no threads (design.md section 8).

use std::fs;
use std::path::Path;

#[test]
fn the_vrrp_core_does_no_io_and_reads_no_clock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vrrp");
    let mut files = vec![];
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                // The driver is the I/O shell around the core: it owns the clock and the task.
                && p.file_name().is_some_and(|n| n != "driver.rs")
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    let forbidden = [
        "tokio",
        "Instant",
        "SystemTime",
        "UdpSocket",
        "TcpStream",
        "socket2",
        "nix::",
        "libc::",
        "std::thread",
        "std::fs",
        "chrono",
    ];
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word}", f.display());
        }
    }
}
