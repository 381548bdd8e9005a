//! Fuzz the config loader: the input is a group file (`groups.d/fuzz.toml`
//! in a fresh temp dir), seeded from a fixed environment map (no
//! `$ENVIRONMENT_INIT`, so nothing is executed), loaded and validated, and a
//! loaded config is rendered the way `vrrpd check --print` does.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run config_load -- -max_total_time=60
//! ```
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use vrrpd::config::{HostView, load, render_seeded};

/// A host with one interface, so the address-owner and missing-interface
/// checks run too.
struct Host;

impl HostView for Host {
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>> {
        (name == "eth0").then(|| {
            vec![
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            ]
        })
    }
}

fn env() -> HashMap<String, String> {
    [
        ("VRID", "51"),
        ("PRIORITY", "150"),
        ("IFACE", "eth0"),
        ("PEER", "192.0.2.2"),
        ("VIP", "192.0.2.100/24"),
        ("SECRET", "secret12"),
        ("EMPTY", ""),
        ("DOLLAR", "$"),
        ("BRACE", "${VRID}"),
        ("INJECT", "$(touch /tmp/pwned)"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

static N: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!(
        "vrrpd-fuzz-config-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let groups = dir.join("groups.d");
    if std::fs::create_dir_all(&groups).is_err() {
        return;
    }
    // A key file next to the group file for `file:` secrets.
    let _ = std::fs::write(groups.join("key"), b"0123456789abcdef\n");
    if std::fs::write(groups.join("fuzz.toml"), data).is_ok()
        && let Ok(loaded) = load(&dir, &env(), &Host)
    {
        let _ = render_seeded(&loaded.config);
        let _ = serde_json::to_string(&loaded.config);
    }
    let _ = std::fs::remove_dir_all(&dir);
});
