//! SPEC §2.2 / §2.3: a group without VIPs is allowed when `[notify]` is set
//! (cloud failover by a provider API), the loader and `vrrpd check` accept
//! it, the protocol core encodes and accepts its address-less adverts, and
//! a config with no group at all is an error.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;

use vrrpd::config::{UnknownHost, load};
use vrrpd::proto::Family;

mod common;
use common::TempDir;

fn env() -> HashMap<String, String> {
    HashMap::new()
}

fn check(dir: &TempDir) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&dir.0)
        .env_remove("ENVIRONMENT_INIT")
        .output()
        .expect("run vrrpd check");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const HOOK_ONLY: &str = "vrid = 60\ninterface = \"eth0\"\npriority = 150\n\
    unicast_source = \"198.51.100.1\"\nunicast_peers = [\"198.51.100.2\"]\n\
    virtual_ips = []\n\n[notify]\nmaster = [\"/usr/local/bin/move-eip\", \"here\"]\n";

#[test]
fn group_without_vips_but_with_notify_loads_and_passes_check() {
    let d = TempDir::config("ok");
    d.group("eip", HOOK_ONLY);
    let cfg = load(&d.0, &env(), &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    let g = cfg.config.group("eip").unwrap();
    assert!(g.virtual_ips.is_empty());
    assert_eq!(g.family, Family::V4);
    assert_eq!(
        g.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/move-eip", "here"]
    );
    let (code, err) = check(&d);
    assert_eq!(code, 0, "{err}");
    // `virtual_ips` may also be left out, and IPv6 peers give the family.
    let d = TempDir::config("v6");
    d.group(
        "eip6",
        "vrid = 61\ninterface = \"eth0\"\nunicast_peers = [\"2001:db8::2\"]\n[notify]\nany = [\"/bin/true\"]\n",
    );
    let cfg = load(&d.0, &env(), &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.config.groups[0].family, Family::V6);
}

#[test]
fn group_without_vips_and_without_notify_is_an_error_with_position() {
    let d = TempDir::config("bad");
    d.group("eip", "vrid = 60\ninterface = \"eth0\"\nvirtual_ips = []\n");
    let e = load(&d.0, &env(), &UnknownHost).unwrap_err().to_string();
    assert!(e.contains("eip.toml:3:15") && e.contains("[notify]"), "{e}");
    let d = TempDir::config("bad2");
    d.group("eip", "vrid = 60\ninterface = \"eth0\"\n[notify]\n");
    let e = load(&d.0, &env(), &UnknownHost).unwrap_err().to_string();
    assert!(e.contains("missing required key `virtual_ips`"), "{e}");
    // Mixed families among the unicast addresses of a VIP-less group.
    let d = TempDir::config("mixed");
    d.group(
        "eip",
        "vrid = 60\ninterface = \"eth0\"\nunicast_source = \"192.0.2.1\"\nunicast_peers = [\"2001:db8::2\"]\n[notify]\nany = [\"/bin/true\"]\n",
    );
    let e = load(&d.0, &env(), &UnknownHost).unwrap_err().to_string();
    assert!(e.contains("eip.toml:4:17") && e.contains("IPv6"), "{e}");
}

#[test]
fn config_dir_without_any_group_is_an_error() {
    let d = TempDir::config("empty");
    let e = load(&d.0, &env(), &UnknownHost).unwrap_err().to_string();
    assert!(e.contains("no groups configured"), "{e}");
    let (code, err) = check(&d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no groups configured"), "{err}");
}

#[test]
fn address_less_adverts_encode_and_validate() {
    use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket, VrrpRepr};
    let d = TempDir::config("proto");
    d.group("eip", HOOK_ONLY);
    let g = load(&d.0, &env(), &UnknownHost)
        .unwrap_or_else(|e| panic!("{e}"))
        .config
        .groups
        .remove(0);
    // The advert the group sends: 8 bytes header, no address (count 0).
    let adv = VrrpRepr {
        version: g.version,
        vrid: g.vrid,
        priority: g.priority,
        interval_cs: g.advert_interval_cs,
        addresses: g.virtual_ips.iter().map(|v| v.address).collect(),
        auth_type: 0,
        auth_data: [0; 8],
    };
    let src: IpAddr = "198.51.100.2".parse().unwrap();
    let dst: IpAddr = "198.51.100.1".parse().unwrap();
    let mut buf = Vec::new();
    adv.append_checksummed(src, dst, ChecksumForm::PseudoHeader, &mut buf)
        .expect("emit");
    assert_eq!(buf.len(), 8);
    assert_eq!(buf[3], 0, "count");
    let (view, _) = VrrpPacket::new_verified(&buf[..], src, dst).expect("parse");
    let parsed = VrrpRepr::parse(&view).expect("parse");
    assert!(parsed.addresses.is_empty());
    assert_eq!(parsed.priority, 150);
}
