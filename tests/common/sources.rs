//! The crate's own sources, for the tests that read them (`#[path = "common/sources.rs"] mod
//! sources;`): the layering and display-table checks, and the sans-IO checks of the protocol
//! cores.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`, at any depth.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(dir, &mut out);
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file itself, or every `.rs` file below a module folder.
pub fn module_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        rust_files(path)
    } else {
        vec![path.to_path_buf()]
    }
}

/// The words that betray I/O or a clock in a sans-IO module: the runtime, sockets, files and
/// time. A check adds the words of its own drivers' libraries (`socket2`, `rtnetlink`).
pub const IO_WORDS: &[&str] = &[
    "tokio",
    "UdpSocket",
    "TcpStream",
    "std::fs",
    "File::",
    "SystemTime",
    "Instant",
    "thread::sleep",
];

/// Panics when `file` mentions one of [`IO_WORDS`] or `more`: what it is (`what`) must stay
/// sans-IO.
pub fn assert_sans_io(file: &Path, more: &[&str], what: &str) {
    let text = std::fs::read_to_string(file).expect("readable source file");
    for word in IO_WORDS.iter().chain(more) {
        assert!(
            !text.contains(word),
            "{} mentions {word}: {what} must stay sans-IO",
            file.display()
        );
    }
}

/// The names of the entries of a source folder (files and module folders).
pub fn entry_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("readable source folder")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .to_string()
        })
        .collect()
}
