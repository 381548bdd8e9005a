//! Fuzz what the daemon does with a received datagram: demultiplexing over
//! the configured groups, validation, PASS / AH / hmac (every mode and
//! anti-replay), the state machine on virtual time and advert encoding.
//! The harness and the input format are in `tests/fuzz_harness/endpoint.rs`
//! (shared with `cargo test`, which replays seeds and flagged inputs).
//!
//! ```sh
//! fuzz/run.sh 600 endpoint
//! ```
#![no_main]

#[path = "../../tests/fuzz_harness/endpoint.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::run(data);
});
