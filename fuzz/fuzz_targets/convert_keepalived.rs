//! Fuzz the keepalived.conf converter (`vrrpd convert`): the input is a
//! keepalived.conf in a fresh temp dir; it is parsed, mapped, written to an
//! output dir, and each written group file is loaded back with the config
//! loader (what `vrrpd check` would do next).
//!
//! Inputs with an `include` and a `/` are skipped so the fuzzer never walks
//! or reads the host's file system (relative includes inside the temp dir,
//! including self-includes and globs, are still exercised).
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run convert_keepalived -- -max_total_time=60
//! ```
#![no_main]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use vrrpd::config::{UnknownHost, load};
use vrrpd::convert::{convert_file, write};

static N: AtomicU64 = AtomicU64::new(0);

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fuzz_target!(|data: &[u8]| {
    if contains(data, b"include") && (data.contains(&b'/') || data.contains(&b'\\')) {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "vrrpd-fuzz-convert-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let conf = dir.join("keepalived.conf");
    let out = dir.join("out");
    if std::fs::write(&conf, data).is_ok()
        && let Ok(conv) = convert_file(&conf)
        && write(&conv, &out).is_ok()
    {
        let env: HashMap<String, String> = HashMap::new();
        let _ = load(&out, &env, &UnknownHost);
    }
    let _ = std::fs::remove_dir_all(&dir);
});
