//! Fuzz the command shell: each input is a session's keystrokes, one line per `\n`, fed to a
//! network-admin session on a sim device; `cargo +nightly fuzz run cli_session
//! fuzz/corpus/cli_session` from the repository root. The oracle is `duet::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = duet::fuzzing::session(data) {
        panic!("{failure}");
    }
});
