//! Fuzz BFD: Control packet parse / emit and the session state machine
//! behind demultiplexing, on virtual time. Harness:
//! `tests/fuzz_harness/bfd.rs`.
//!
//! ```sh
//! fuzz/run.sh 600 bfd
//! ```
#![no_main]

#[path = "../../tests/fuzz_harness/bfd.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::run(data);
});
