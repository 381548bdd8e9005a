//! `vrrpd convert`: every fixture converts, the output passes the loader, and
//! the values, notes and unmapped items are the expected ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vrrpd::config::{AuthConfig, Config, HmacMode, StartState, UnknownHost, load};
use vrrpd::convert::{Conversion, ReportKind, convert_file, write};
use vrrpd::proto::Version;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "vrrpd-convert-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Convert, write, load with `env`; returns the report and the loaded config.
fn convert_and_load(rel: &str, env: &[(&str, &str)]) -> (Conversion, Config) {
    let conv = convert_file(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let out = temp_dir(&rel.replace('/', "_"));
    write(&conv, &out).unwrap();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let loaded = load(&out, &env, &UnknownHost).unwrap_or_else(|e| {
        panic!(
            "{rel}: converted output does not load:\n{e}\n--- vrrpd.toml\n{}\n{}",
            conv.daemon_toml,
            conv.groups
                .iter()
                .map(|(n, t)| format!("--- {n}.toml\n{t}"))
                .collect::<String>()
        )
    });
    let _ = std::fs::remove_dir_all(&out);
    (conv, loaded.config)
}

/// The report lines (`file:line: keyword: not mapped (...)`) as strings.
fn lines(conv: &Conversion) -> Vec<String> {
    conv.reports.iter().map(|r| r.to_string()).collect()
}

fn has(conv: &Conversion, kind: ReportKind, file_suffix: &str, line: usize, keyword: &str) -> bool {
    conv.reports.iter().any(|r| {
        r.kind == kind
            && r.loc.line == line
            && r.keyword == keyword
            && r.loc.file.to_string_lossy().ends_with(file_suffix)
    })
}

fn vip_strings(g: &vrrpd::config::GroupConfig, excluded: bool) -> Vec<String> {
    let v = if excluded {
        &g.excluded_ips
    } else {
        &g.virtual_ips
    };
    v.iter().map(|v| v.to_string()).collect()
}

#[test]
fn keepalived_2_2_7_fixture_configs_convert_and_load() {
    for (case, version, cs, unicast, auth) in [
        ("v2-pass-mc", Version::V2, 100, false, Some("pass")),
        ("v2-ah-mc", Version::V2, 100, false, Some("ah")),
        ("v2-ah-uni", Version::V2, 100, true, Some("ah")),
        ("v3-mc-4", Version::V3, 50, false, None),
        ("v3-mc-6", Version::V3, 50, false, None),
        ("v3-uni-4", Version::V3, 50, true, None),
        ("v3-uni-6", Version::V3, 50, true, None),
    ] {
        let (conv, cfg) = convert_and_load(&format!("keepalived-2.2.7/{case}/a.conf"), &[]);
        assert!(conv.reports.is_empty(), "{case}: {:?}", lines(&conv));
        assert_eq!(cfg.daemon.router_id, format!("a-{case}"));
        let g = cfg
            .group("VI_1")
            .unwrap_or_else(|| panic!("{case}: no VI_1"));
        assert_eq!(g.vrid, 51, "{case}");
        assert_eq!(g.priority, 150, "{case}");
        assert_eq!(g.version, version, "{case}");
        assert_eq!(g.advert_interval_cs, cs, "{case}");
        assert_eq!(g.interface, "eth0");
        assert_eq!(g.start_state, StartState::Backup);
        let v6 = case.ends_with("-6");
        let want_vips = if v6 {
            vec!["fe80::100/64 dev eth0", "2001:db8::100/64 dev eth0"]
        } else {
            vec!["192.0.2.100/24 dev eth0", "192.0.2.101/24 dev eth0"]
        };
        assert_eq!(vip_strings(g, false), want_vips, "{case}");
        if unicast {
            let (src, peer) = if v6 {
                ("fe80::1", "fe80::2")
            } else {
                ("192.0.2.1", "192.0.2.2")
            };
            assert_eq!(g.unicast_source, Some(src.parse().unwrap()), "{case}");
            assert_eq!(
                g.unicast_peers,
                vec![peer.parse::<std::net::IpAddr>().unwrap()],
                "{case}"
            );
        } else {
            assert!(g.unicast_peers.is_empty(), "{case}");
        }
        match (auth, &g.auth) {
            (None, None) => {}
            (Some("pass"), Some(AuthConfig::Pass { secret }))
            | (Some("ah"), Some(AuthConfig::Ah { secret })) => {
                assert_eq!(secret.expose(), b"secret12", "{case}")
            }
            (want, got) => panic!("{case}: auth {want:?} vs {got:?}"),
        }
    }
}

#[test]
fn proxy_pair_maps_scripts_trackers_vips_and_notify() {
    let (conv, cfg) = convert_and_load("keepalived-conf/proxy-pair/keepalived.conf", &[]);
    let f = "proxy-pair/keepalived.conf";
    let g = cfg.group("VI_web").expect("VI_web");
    assert_eq!(cfg.daemon.router_id, "lb1");
    assert_eq!(g.vrid, 51);
    assert_eq!(g.version, Version::V3); // global vrrp_version 3
    assert_eq!(g.advert_interval_cs, 50); // advert_int 0.5
    assert_eq!(g.preempt_delay, Duration::from_secs(5));
    assert!(g.preempt);
    assert_eq!(g.garp_repeat, 4);
    assert_eq!(g.garp_refresh, Some(Duration::from_secs(60)));
    // MASTER below 255 starts as backup, with a note.
    assert_eq!(g.start_state, StartState::Backup);
    assert!(has(&conv, ReportKind::Note, f, 29, "state"));
    // chk_bonus has weight +10: base 150 + 10, weight -10 while failing.
    assert_eq!(g.priority, 160);
    assert!(has(&conv, ReportKind::Note, f, 44, "weight"));
    assert_eq!(
        vip_strings(g, false),
        [
            "192.0.2.100/24 dev eth0",
            "192.0.2.101/24 dev eth1",
            "192.0.2.102/32 dev eth0"
        ]
    );
    assert_eq!(
        vip_strings(g, true),
        ["203.0.113.10/24 dev eth1", "2001:db8::10/64 dev eth0"]
    );
    let ti: Vec<(&str, i16)> = g
        .track_interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(ti, [("eth1", -20), ("eth2", 0)]);
    let ts = &g.track_scripts;
    assert_eq!(ts.len(), 3);
    assert_eq!(ts[0].name, "chk_haproxy");
    assert_eq!(
        ts[0].command,
        [
            "/usr/bin/curl",
            "-fsS",
            "--max-time",
            "1",
            "http://127.0.0.1:8404/health"
        ]
    );
    assert_eq!(ts[0].interval, Duration::from_secs(2));
    assert_eq!(ts[0].timeout, Duration::from_secs(3));
    assert_eq!((ts[0].rise, ts[0].fall, ts[0].weight), (2, 3, -60));
    // Shell syntax: through /bin/sh, with a warning; instance weight overrides.
    assert_eq!(ts[1].command, ["/bin/sh", "-c", "pidof haproxy || exit 1"]);
    assert_eq!(ts[1].weight, -30);
    assert!(has(&conv, ReportKind::Warning, f, 19, "script"));
    // Unquoted words after the script: keepalived 2.x runs the first word
    // alone (the rest is reported, line 24).
    assert_eq!(ts[2].command, ["/usr/local/bin/check-upstream"]);
    assert_eq!(ts[2].weight, -10);
    let n = &g.notify;
    assert_eq!(
        n.master.as_deref().unwrap(),
        ["/usr/local/bin/proxy-ctl", "become-master"]
    );
    assert_eq!(
        n.backup.as_deref().unwrap(),
        ["/usr/local/bin/proxy-ctl", "become backup"]
    );
    // `notify_fault /usr/local/bin/proxy-ctl fault`: keepalived 2.x reads
    // "fault" as the user to run it as; there is no such user, so keepalived
    // ignores the script and so does the conversion (not mapped, line 57).
    assert_eq!(n.fault, None);
    assert_eq!(
        n.stop.as_deref().unwrap(),
        [
            "/bin/sh",
            "-c",
            "/usr/local/bin/proxy-ctl stop > /var/log/stop.log"
        ]
    );
    assert!(has(&conv, ReportKind::Warning, f, 58, "notify_stop"));
    assert_eq!(n.any.as_deref().unwrap(), ["/usr/local/bin/log-transition"]);
    // Unmapped, with their lines.
    for (line, kw) in [
        (5, "enable_script_security"),
        (6, "script_user"),
        (24, "script"),
        (48, "virtual_ipaddress"),
        (57, "notify_fault"),
        (60, "smtp_alert"),
    ] {
        assert!(
            has(&conv, ReportKind::NotMapped, f, line, kw),
            "{line} {kw}: {:#?}",
            lines(&conv)
        );
    }
    assert_eq!(conv.not_mapped().count(), 6, "{:#?}", lines(&conv));
    let label = conv
        .reports
        .iter()
        .find(|r| r.keyword == "virtual_ipaddress")
        .unwrap()
        .to_string();
    assert!(label.ends_with(
        "proxy-pair/keepalived.conf:48: virtual_ipaddress: not mapped (option `label eth1:vip` of 192.0.2.101/24: vrrpd adds VIPs with address, prefix and interface only)"
    ), "{label}");
}

#[test]
fn include_globs_are_relative_to_the_including_file() {
    let (conv, cfg) = convert_and_load("keepalived-conf/include-tree/keepalived.conf", &[]);
    assert_eq!(cfg.daemon.router_id, "edge-1");
    let names: Vec<&str> = cfg.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["private", "public"]);
    let p = cfg.group("private").unwrap();
    assert_eq!(p.vrid, 10);
    assert_eq!(p.version, Version::V2);
    assert_eq!(p.advert_interval_cs, 100);
    assert_eq!(p.unicast_source, Some("192.0.2.11".parse().unwrap()));
    assert_eq!(
        p.unicast_peers,
        vec![
            "192.0.2.12".parse::<std::net::IpAddr>().unwrap(),
            "192.0.2.13".parse().unwrap()
        ]
    );
    // The script from scripts/checks.conf, weight 0 = FAULT.
    assert_eq!(
        p.track_scripts[0].command,
        ["/usr/bin/pgrep", "-x", "nginx"]
    );
    assert_eq!(p.track_scripts[0].interval, Duration::from_secs(3));
    assert_eq!((p.track_scripts[0].rise, p.track_scripts[0].fall), (2, 2));
    assert_eq!(p.track_scripts[0].weight, 0);
    let q = cfg.group("public").unwrap();
    assert_eq!(q.vrid, 20);
    assert_eq!(q.version, Version::V2); // keepalived's default
    assert_eq!(q.priority, 100);
    // `use_vmac` in the included file is mapped (SPEC §1 virtual MAC mode).
    let private = cfg
        .groups
        .iter()
        .find(|g| g.vmac.is_some())
        .expect("use_vmac mapped");
    assert_eq!(
        private.vmac.as_ref().unwrap().interface,
        format!("vrrp.{}", private.vrid)
    );
    assert_eq!(conv.not_mapped().count(), 0, "{:#?}", lines(&conv));
}

#[test]
fn sync_group_members_follow_renamed_instances() {
    let (conv, cfg) = convert_and_load(
        "keepalived-conf/sync-group/keepalived.conf",
        &[("VRRP_SECRET", "secret12")],
    );
    let f = "sync-group/keepalived.conf";
    let sg = &cfg.daemon.sync_groups;
    assert_eq!(sg.len(), 1);
    assert_eq!(sg[0].name, "edge");
    assert_eq!(sg[0].members, ["edge_public", "inside"]);
    assert!(has(&conv, ReportKind::Note, f, 14, "vrrp_instance"));
    assert!(has(&conv, ReportKind::NotMapped, f, 11, "notify_master"));
    let p = cfg.group("edge_public").unwrap();
    assert_eq!(p.sync_group.as_deref(), Some("edge"));
    assert!(!p.preempt);
    assert_eq!(p.version, Version::V2);
    match &p.auth {
        Some(AuthConfig::Pass { secret }) => assert_eq!(secret.expose(), b"s3cret"),
        a => panic!("{a:?}"),
    }
    let i = cfg.group("inside").unwrap();
    // ${_ENV VRRP_SECRET} became ${VRRP_SECRET}.
    match &i.auth {
        Some(AuthConfig::Ah { secret }) => assert_eq!(secret.expose(), b"secret12"),
        a => panic!("{a:?}"),
    }
    assert_eq!(vip_strings(i, false), ["10.0.0.1/8 dev eth1"]);
}

#[test]
fn auth_hmac_and_the_address_owner() {
    let creds = temp_dir("creds");
    std::fs::write(creds.join("vrrp72"), [7u8; 32]).unwrap();
    let (conv, cfg) = convert_and_load(
        "keepalived-conf/hmac/keepalived.conf",
        &[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())],
    );
    let o = cfg.group("v6_owner").unwrap();
    assert_eq!(o.priority, 255);
    assert_eq!(o.start_state, StartState::Master);
    assert_eq!(
        vip_strings(o, false),
        ["fe80::71/64 dev eth0", "2001:db8::71/128 dev eth0"]
    );
    match &o.auth {
        Some(AuthConfig::Hmac(h)) => {
            assert_eq!(h.keys.len(), 2);
            assert_eq!(h.keys[&1].expose(), (0u8..32).collect::<Vec<u8>>());
            assert_eq!(
                h.keys[&2].expose(),
                b"correct-horse-battery-staple-0123456789"
            );
            assert_eq!(h.active_key, 2);
            assert_eq!(h.time_window, Duration::from_secs(10));
            assert_eq!(h.mode, HmacMode::Permissive);
            assert_eq!(h.anti_replay, vrrpd::config::AntiReplay::Monotonic);
        }
        a => panic!("{a:?}"),
    }
    let v = cfg.group("v4_hmac").unwrap();
    assert_eq!(v.advert_interval_cs, 200);
    match &v.auth {
        Some(AuthConfig::Hmac(h)) => {
            assert_eq!(h.keys[&1].expose(), [7u8; 32]);
            // keepalived's default window: max(3 x advert_int, 5s).
            assert_eq!(h.time_window, Duration::from_secs(6));
            assert_eq!(h.mode, HmacMode::Enforce);
        }
        a => panic!("{a:?}"),
    }
    // A file: key gets a warning about its format.
    assert!(has(
        &conv,
        ReportKind::Warning,
        "hmac/keepalived.conf",
        37,
        "key"
    ));
    assert_eq!(conv.not_mapped().count(), 0, "{:#?}", lines(&conv));
    let _ = std::fs::remove_dir_all(&creds);
}

#[test]
fn legacy_one_line_blocks_and_unmapped_sections() {
    let (conv, cfg) = convert_and_load("keepalived-conf/legacy-v2/keepalived.conf", &[]);
    let f = "legacy-v2/keepalived.conf";
    assert_eq!(cfg.daemon.router_id, "LVS_DEVEL");
    let a = cfg.group("VI_1").unwrap();
    assert_eq!(a.version, Version::V2);
    assert_eq!(a.priority, 90);
    assert_eq!(a.garp_interval, Duration::from_millis(10));
    assert_eq!(a.garp_master_delay, Some(Duration::from_secs(10)));
    assert_eq!(vip_strings(a, false), ["192.0.2.81/32 dev eth0"]);
    match &a.auth {
        Some(AuthConfig::Pass { secret }) => assert_eq!(secret.expose(), b"1111"),
        x => panic!("{x:?}"),
    }
    let b = cfg.group("VI_2").unwrap();
    assert_eq!(b.version, Version::V3);
    assert!(b.auth.is_none());
    for (line, kw) in [
        (2, "notification_email"),
        (3, "smtp_server"),
        (23, "authentication"),
        (28, "virtual_ipaddress"),
        (31, "virtual_server"),
    ] {
        assert!(
            has(&conv, ReportKind::NotMapped, f, line, kw),
            "{line} {kw}: {:#?}",
            lines(&conv)
        );
    }
    assert_eq!(conv.not_mapped().count(), 5, "{:#?}", lines(&conv));
}

#[test]
fn parse_errors_carry_file_and_line() {
    for (file, want) in [
        ("unbalanced.conf", "unbalanced.conf:1: unbalanced braces"),
        ("extra-close.conf", "extra-close.conf:4: unbalanced braces"),
        ("cycle-a.conf", "cycle-b.conf:4: include cycle"),
        ("bad-vrid.conf", "bad-vrid.conf:3: virtual_router_id"),
    ] {
        let e = convert_file(&fixture(&format!("keepalived-conf/errors/{file}")))
            .expect_err(file)
            .to_string();
        assert!(e.contains(want), "{file}: {e}");
    }
}
