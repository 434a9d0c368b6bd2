//! The portal user table is sans-IO: `src/portal/users/` uses no tokio, no sockets, no files
//! and no clock (the journal, `journal.rs`, does the file I/O; the driver owns the task, the
//! clock and the edges).

use std::fs;
use std::path::{Path, PathBuf};

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

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(path).unwrap() {
        out.extend(rust_files(&entry.unwrap().path()));
    }
    out
}

#[test]
fn the_user_table_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/portal/users");
    let files = rust_files(&dir);
    assert!(files.len() >= 2, "src/portal/users holds the table");
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for word in FORBIDDEN {
            assert!(
                !text.contains(word),
                "{} mentions {word}: the user table must stay sans-IO",
                file.display()
            );
        }
    }
}
