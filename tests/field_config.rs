//! Issue 12 config rules (SPEC §1, §2.3), each test named after its rule:
//! the own-address error on any host interface, keepalived's GARP defaults
//! and `garp_master_delay`, `ndisc_router`, and the IPv6 first-address
//! warning.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use vrrpd::config::{HostView, Loaded, NdiscRouter, UnknownHost, load};

/// A temporary config directory with one group file `web.toml`.
struct Dir(PathBuf);

impl Dir {
    fn with_group(tag: &str, group: &str) -> Dir {
        let root =
            std::env::temp_dir().join(format!("vrrpd-field-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("groups.d")).unwrap();
        std::fs::write(root.join("groups.d/web.toml"), group).unwrap();
        Dir(root)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// eth0 with 192.0.2.1, eth1 with 198.51.100.1 (the kernel's view).
struct Host;

impl HostView for Host {
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>> {
        match name {
            "eth0" => Some(vec!["192.0.2.1".parse().unwrap()]),
            "eth1" => Some(vec!["198.51.100.1".parse().unwrap()]),
            _ => None,
        }
    }
    fn address_interface(&self, addr: IpAddr) -> Option<String> {
        ["eth0", "eth1"]
            .into_iter()
            .find(|n| self.interface_addresses(n).unwrap().contains(&addr))
            .map(str::to_string)
    }
}

fn group(prio: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nvirtual_ips = [\"{vip}\"]\n{extra}"
    )
}

fn load_ok(tag: &str, text: &str, host: &dyn HostView) -> Loaded {
    let d = Dir::with_group(tag, text);
    load(&d.0, &HashMap::new(), host).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn non_owner_naming_an_address_of_another_host_interface_is_an_error_with_position() {
    let d = Dir::with_group("other-if", &group(100, "198.51.100.1/24", ""));
    let e = load(&d.0, &HashMap::new(), &Host).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.exit_code(), 2, "{text}");
    assert!(text.contains("web.toml:4:"), "{text}");
    assert!(
        text.contains("198.51.100.1") && text.contains("eth1"),
        "{text}"
    );
}

#[test]
fn owner_may_name_a_host_address() {
    let l = load_ok("owner", &group(255, "192.0.2.1/24", ""), &Host);
    assert_eq!(l.config.groups[0].priority, 255);
    // Without a kernel view (no privileges) nothing is known: no error.
    load_ok("unknown", &group(100, "198.51.100.1/24", ""), &UnknownHost);
}

#[test]
fn garp_defaults_are_keepalived_and_garp_master_delay_zero_is_off() {
    let g = &load_ok("garp-default", &group(100, "192.0.2.100/24", ""), &Host)
        .config
        .groups[0];
    assert_eq!(g.garp_repeat, 5);
    assert_eq!(g.garp_interval, Duration::from_millis(10));
    assert_eq!(g.garp_master_delay, Some(Duration::from_secs(5)));
    let g = &load_ok(
        "garp-off",
        &group(100, "192.0.2.100/24", "garp_master_delay = \"0s\"\n"),
        &Host,
    )
    .config
    .groups[0];
    assert_eq!(g.garp_master_delay, None);
    let d = Dir::with_group(
        "garp-bad",
        &group(100, "192.0.2.100/24", "garp_master_delay = \"2h\"\n"),
    );
    let e = load(&d.0, &HashMap::new(), &Host).unwrap_err().to_string();
    assert!(
        e.contains("web.toml:5:") && e.contains("garp_master_delay"),
        "{e}"
    );
}

#[test]
fn ndisc_router_is_auto_by_default_and_takes_true_false_or_strings() {
    let cases = [
        ("", NdiscRouter::Auto),
        ("ndisc_router = \"auto\"\n", NdiscRouter::Auto),
        ("ndisc_router = true\n", NdiscRouter::On),
        ("ndisc_router = false\n", NdiscRouter::Off),
        ("ndisc_router = \"true\"\n", NdiscRouter::On),
    ];
    for (i, (extra, want)) in cases.into_iter().enumerate() {
        let l = load_ok(
            &format!("ndisc{i}"),
            &group(100, "2001:db8::100/64", extra),
            &UnknownHost,
        );
        assert_eq!(l.config.groups[0].ndisc_router, want, "{extra:?}");
    }
    let d = Dir::with_group(
        "ndisc-bad",
        &group(100, "2001:db8::100/64", "ndisc_router = \"sometimes\"\n"),
    );
    let e = load(&d.0, &HashMap::new(), &UnknownHost)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("web.toml:5:") && e.contains("ndisc_router"),
        "{e}"
    );
}

#[test]
fn ipv6_group_whose_first_vip_is_not_link_local_warns_as_keepalived() {
    let l = load_ok(
        "v6-global",
        &group(100, "2001:db8::100/64", ""),
        &UnknownHost,
    );
    assert!(
        l.warnings
            .iter()
            .any(|w| w.to_string().contains("not link-local")),
        "{:?}",
        l.warnings
    );
    let l = load_ok(
        "v6-ll",
        "vrid = 51\ninterface = \"eth0\"\nvirtual_ips = [\"fe80::51/64\", \"2001:db8::100/64\"]\n",
        &UnknownHost,
    );
    assert!(
        !l.warnings
            .iter()
            .any(|w| w.to_string().contains("not link-local")),
        "{:?}",
        l.warnings
    );
}
