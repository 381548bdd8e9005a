//! Loading: defaults, single-file mode, secrets masking, reload equality.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrpd::config::{
    AuthConfig, ChecksumMode, LogFormat, StartState, UnknownHost, load, render_seeded,
};
use vrrpd::proto::{Family, Version};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(rel)
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples")
}

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn defaults_follow_the_spec() {
    let l = load(&fixture("defaults"), &no_env(), &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let d = &l.config.daemon;
    assert!(!d.router_id.is_empty());
    assert_eq!(d.control_socket, PathBuf::from("/run/vrrpd/vrrpd.sock"));
    assert_eq!(d.metrics_listen, None);
    assert_eq!(d.log_format, LogFormat::Text);
    assert_eq!(d.log_level, "info");
    assert_eq!(d.environment_init, None);
    assert!(d.sync_groups.is_empty());
    let g = &l.config.groups[0];
    assert_eq!(g.name, "web");
    assert_eq!(g.priority, 100);
    assert_eq!(g.version, Version::V3);
    assert_eq!(g.family, Family::V4);
    assert_eq!(g.advert_interval_cs, 100);
    assert_eq!(g.advert_interval(), Duration::from_secs(1));
    assert!(g.preempt);
    assert_eq!(g.preempt_delay, Duration::ZERO);
    assert_eq!(g.start_state, StartState::Backup);
    assert_eq!(g.checksum, ChecksumMode::PseudoHeader);
    assert_eq!(g.unicast_source, None);
    assert!(g.unicast_peers.is_empty() && !g.is_unicast());
    assert_eq!(g.min_ttl, 255);
    // keepalived's defaults (SPEC §1): 5 at 10 ms, 5 more after 5 s.
    assert_eq!(g.garp_repeat, 5);
    assert_eq!(g.garp_interval, Duration::from_millis(10));
    assert_eq!(g.garp_master_delay, Some(Duration::from_secs(5)));
    assert_eq!(g.garp_refresh, None);
    assert_eq!(g.auth, None);
    assert!(
        g.excluded_ips.is_empty() && g.track_interfaces.is_empty() && g.track_scripts.is_empty()
    );
    assert_eq!(g.notify, Default::default());
    assert_eq!(g.sync_group, None);
}

#[test]
fn unicast_min_ttl_defaults_to_1() {
    let l = load(&fixture("same_vrid_allowed"), &no_env(), &UnknownHost).unwrap();
    let d = l.config.group("d").unwrap();
    assert!(d.is_unicast());
    assert_eq!(d.min_ttl, 1);
}

#[test]
fn track_http_defaults() {
    let l = load(&examples(), &no_env(), &UnknownHost).unwrap();
    let s = &l.config.group("web-public").unwrap().builtin.http[0].probe;
    assert_eq!(s.timeout, s.interval, "timeout defaults to the interval");
    assert_eq!((s.rise, s.fall, s.weight), (2, 2, -60));
}

#[test]
fn single_group_file_mode() {
    let l = load(&fixture("single_file/web.toml"), &no_env(), &UnknownHost)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.groups.len(), 1);
    assert_eq!(l.config.groups[0].name, "web");
    assert_eq!(l.config.daemon.log_level, "info");
}

#[test]
fn vrrpd_toml_path_means_its_directory() {
    let a = load(&examples().join("vrrpd.toml"), &no_env(), &UnknownHost).unwrap();
    let b = load(&examples(), &no_env(), &UnknownHost).unwrap();
    assert_eq!(a, b);
}

#[test]
fn groups_are_sorted_by_name_and_sync_groups_resolved() {
    let l = load(&examples(), &no_env(), &UnknownHost).unwrap();
    let names: Vec<&str> = l.config.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["web-private", "web-public"]);
    assert_eq!(
        l.config.daemon.sync_groups[0].members,
        ["web-private", "web-public"]
    );
    assert!(
        l.config
            .groups
            .iter()
            .all(|g| g.sync_group.as_deref() == Some("edge"))
    );
}

#[test]
fn secrets_are_decoded_and_never_printed() {
    let env = HashMap::from([("VRRP_SECRET".to_string(), "hunter2x".to_string())]);
    let l = load(&fixture("secrets"), &env, &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    let pass = l.config.group("pass").unwrap();
    match &pass.auth {
        Some(AuthConfig::Pass { secret }) => assert_eq!(secret.expose(), b"hunter2x"),
        other => panic!("{other:?}"),
    }
    let hmac = l.config.group("hmac").unwrap();
    match &hmac.auth {
        Some(AuthConfig::Hmac(h)) => {
            assert_eq!(
                h.keys[&1].expose(),
                [0xc0, 0xff, 0xee, 0x00, 0xc0, 0xff, 0xee, 0x00]
            );
            assert_eq!(
                h.keys[&7].expose(),
                b"filekeyMATERIAL",
                "file: key, trailing newline dropped"
            );
            assert_eq!(h.active_key, 7);
        }
        other => panic!("{other:?}"),
    }
    let rendered = render_seeded(&l.config);
    let debug = format!("{:?}", l.config);
    for shown in [&rendered, &debug] {
        for secret in ["hunter2x", "c0ffee", "filekeyMATERIAL", "../hmac.key"] {
            assert!(!shown.contains(secret), "{secret:?} leaked:\n{shown}");
        }
        assert!(shown.contains("***"));
    }
    // The rendering is TOML a person (or a tool) can read back.
    let parsed: toml::Table = toml::from_str(&rendered).unwrap();
    assert!(parsed.contains_key("groups"));
}

#[test]
fn render_shows_seeded_values() {
    let env = HashMap::from([("PRIORITY".to_string(), "123".to_string())]);
    let l = load(&fixture("seeding"), &env, &UnknownHost).unwrap();
    let text = render_seeded(&l.config);
    assert!(text.contains("priority = 123"), "{text}");
    assert!(!text.contains("${PRIORITY"), "{text}");
    // `$${` is a literal `${`, shown as such.
    assert!(text.contains("${NOT_A_VAR}"), "{text}");
}

#[test]
fn two_loads_of_the_same_config_are_equal() {
    let a = load(&examples(), &no_env(), &UnknownHost).unwrap();
    let b = load(&examples(), &no_env(), &UnknownHost).unwrap();
    assert_eq!(a, b);
    // A changed input changes exactly the groups that use it.
    let env = HashMap::from([("PUBLIC_INTERFACE".to_string(), "eth2".to_string())]);
    let c = load(&examples(), &env, &UnknownHost).unwrap();
    assert_eq!(a.config.group("web-private"), c.config.group("web-private"));
    assert_ne!(a.config.group("web-public"), c.config.group("web-public"));
}

#[test]
fn long_pass_secret_warns_like_keepalived_truncation() {
    let env = HashMap::from([("VRRP_SECRET".to_string(), "much-longer-than-8".to_string())]);
    let l = load(&fixture("secrets"), &env, &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    // git checks fixtures out 0644: leave the key-file mode warning aside.
    let warnings: Vec<_> = l
        .warnings
        .iter()
        .filter(|w| !w.message.contains("readable by every user"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", l.warnings);
    let w = warnings[0];
    assert!(w.file.ends_with("secrets/groups.d/pass.toml"));
    assert_eq!((w.line, w.column), (8, 10), "{w}");
    assert!(w.message.contains("only the first 8 are used"), "{w}");
    assert!(
        !w.to_string().contains("much-longer"),
        "the warning must not show the secret"
    );
}
