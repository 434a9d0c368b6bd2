//! The portal user table is sans-IO: `src/portal/users/` uses no tokio, no sockets, no files
//! and no clock (the journal, `journal.rs`, does the file I/O; the driver owns the task, the
//! clock and the edges).

use std::path::Path;

#[path = "common/sources.rs"]
mod sources;

#[test]
fn the_user_table_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/portal/users");
    let files = sources::rust_files(&dir);
    assert!(files.len() >= 2, "src/portal/users holds the table");
    for file in files {
        sources::assert_sans_io(&file, &["socket2"], "the user table");
    }
}
