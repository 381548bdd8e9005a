//! Fuzz the codecs' promises: parse, emit, parse gives the same value and,
//! where promised, the same bytes (VRRP v2/v3, AH, hmac trailer, IPv4
//! header). Harness: `tests/fuzz_harness/roundtrip.rs`.
//!
//! ```sh
//! fuzz/run.sh 600 roundtrip
//! ```
#![no_main]

#[path = "../../tests/fuzz_harness/roundtrip.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
