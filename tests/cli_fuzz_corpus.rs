//! Replays the command shell and configuration loader fuzz corpora (`fuzz/corpus/cli_session/`,
//! `fuzz/corpus/config_load/`) through the fuzz targets' oracles on stable Rust: no panic, no
//! broken invariant. Inputs that once failed are named `crash-*` and stay tested here.

use std::fs;
use std::path::Path;

use duet::fuzzing::{Failure, config_file, session};

/// Every file of `fuzz/corpus/<target>` through `oracle`; the number of files.
fn replay(target: &str, oracle: fn(&[u8]) -> Result<(), Failure>) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        if let Err(failure) = oracle(&data) {
            panic!("{}: {failure}", path.display());
        }
        count += 1;
    }
    count
}

#[test]
fn session_corpus_keeps_every_invariant() {
    let files = replay("cli_session", session);
    assert!(
        files >= 200,
        "the session corpus lost its seeds ({files} files)"
    );
}

#[test]
fn config_corpus_keeps_every_invariant() {
    let files = replay("config_load", config_file);
    assert!(
        files >= 50,
        "the config corpus lost its seeds ({files} files)"
    );
}
