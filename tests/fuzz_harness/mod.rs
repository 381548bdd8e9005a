//! Fuzz harnesses shared by the fuzz targets (`fuzz/fuzz_targets/*`, which
//! include these files with `#[path]`) and the tests that replay seeds and
//! flagged inputs through the very same code.
#![allow(dead_code)]

pub mod bfd;
pub mod endpoint;
pub mod roundtrip;
pub mod seeds;
