//! SPEC §1 / §2.2 virtual MAC mode: `use_vmac`, `vmac_interface` (default
//! `vrrp.<vrid>`, `vrrp6.<vrid>` for IPv6) and `vmac_xmit_base`, with bad
//! values rejected at file:line:column by `vrrpd check` (exit 2).

use std::collections::HashMap;
use std::process::Command;

use vrrpd::config::{UnknownHost, VmacConfig, load};

mod common;
use common::TempDir;

fn vmac_of(text: &str) -> Option<VmacConfig> {
    let d = TempDir::with_group("config-vmac", text);
    let l = load(&d.0, &HashMap::new(), &UnknownHost).expect("valid config");
    l.config.groups[0].vmac.clone()
}

/// `vrrpd check`'s exit code and stderr.
fn check(text: &str) -> (i32, String) {
    let d = TempDir::with_group("config-vmac", text);
    let o = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&d.0)
        .env_remove("ENVIRONMENT_INIT")
        .output()
        .expect("run vrrpd check");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const V4: &str = "vrid = 51\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.100/24\"]\n";
const V6: &str =
    "vrid = 52\ninterface = \"eth0\"\nvirtual_ips = [\"fe80::52/64\", \"2001:db8::52/64\"]\n";

#[test]
fn vmac_is_off_by_default() {
    assert_eq!(vmac_of(V4), None);
    assert_eq!(vmac_of(&format!("{V4}use_vmac = false\n")), None);
}

#[test]
fn vmac_interface_defaults_to_keepalived_names_per_family() {
    let v4 = vmac_of(&format!("{V4}use_vmac = true\n")).unwrap();
    assert_eq!(v4.interface, "vrrp.51");
    assert!(!v4.xmit_base);
    let v6 = vmac_of(&format!("{V6}use_vmac = true\n")).unwrap();
    assert_eq!(v6.interface, "vrrp6.52");
}

#[test]
fn vmac_interface_and_xmit_base_are_taken() {
    let v = vmac_of(&format!(
        "{V4}use_vmac = true\nvmac_interface = \"vm51\"\nvmac_xmit_base = true\n"
    ))
    .unwrap();
    assert_eq!(
        v,
        VmacConfig {
            interface: "vm51".into(),
            xmit_base: true
        }
    );
}

#[test]
fn vmac_keys_without_use_vmac_are_rejected_at_their_position() {
    let (code, err) = check(&format!("{V4}vmac_interface = \"vm51\"\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("web.toml:4:18:") && err.contains("`vmac_interface` needs `use_vmac = true`"),
        "{err}"
    );
    let (code, err) = check(&format!("{V4}use_vmac = false\nvmac_xmit_base = true\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.toml:5:18:"), "{err}");
}

#[test]
fn bad_vmac_interface_names_are_rejected() {
    for (name, needle) in [
        ("a-name-longer-than-15", "not a valid interface name"),
        ("bad/name", "not a valid interface name"),
        ("eth0", "the group's own `interface`"),
    ] {
        let (code, err) = check(&format!(
            "{V4}use_vmac = true\nvmac_interface = \"{name}\"\n"
        ));
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains("web.toml:5:18:") && err.contains(needle),
            "{name}: {err}"
        );
    }
    let (code, err) = check(&format!("{V4}use_vmac = \"yes\"\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("web.toml:4:12:") && err.contains("use_vmac"),
        "{err}"
    );
}
