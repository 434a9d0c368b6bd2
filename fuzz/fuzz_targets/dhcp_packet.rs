//! Fuzz the DHCP message decoder: any bytes either decode to a message that re-encodes to the
//! same message, or are rejected with a typed error; never a panic.
//! Run: `cargo +nightly fuzz run dhcp_packet` (from the crate root).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = duet::dhcp::packet::check_round_trip(data);
});
