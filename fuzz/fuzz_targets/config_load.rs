//! Fuzz the configuration loader with arbitrary file text; `cargo +nightly fuzz run
//! config_load fuzz/corpus/config_load` from the repository root. The oracle is
//! `duet::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = duet::fuzzing::config_file(data) {
        panic!("{failure}");
    }
});
