//! `vrrpd convert` follows keepalived's own reading of a config (issue 16):
//! one test per rule, each converting a small keepalived.conf, loading the
//! output with the real config loader, and checking values and reports.

use std::collections::HashMap;
use std::time::Duration;

use vrrpd::config::{AuthConfig, Config, GroupConfig, StartState, UnknownHost, load};
use vrrpd::convert::syntax::ReadOptions;
use vrrpd::convert::{Conversion, ReportKind, convert_file_with, write};
use vrrpd::proto::Family;

mod common;
use common::TempDir;

fn try_convert(conf: &str, config_id: Option<&str>) -> Result<Conversion, String> {
    let t = TempDir::new("src");
    let path = t.0.join("keepalived.conf");
    std::fs::write(&path, conf).unwrap();
    let opts = ReadOptions {
        config_id: config_id.map(str::to_string),
    };
    convert_file_with(&path, &opts).map_err(|e| e.to_string())
}

/// Convert `conf`, write it, load it with the real loader.
fn convert_load(conf: &str, config_id: Option<&str>) -> (Conversion, Config) {
    let conv = try_convert(conf, config_id).unwrap_or_else(|e| panic!("{e}"));
    let out = TempDir::new("out");
    write(&conv, &out.0).unwrap();
    let loaded =
        load(&out.0, &HashMap::<String, String>::new(), &UnknownHost).unwrap_or_else(|e| {
            panic!(
                "output does not load:\n{e}\n{}",
                conv.groups
                    .iter()
                    .map(|(n, t)| format!("--- {n}.toml\n{t}"))
                    .collect::<String>()
            )
        });
    (conv, loaded.config)
}

fn report<'c>(conv: &'c Conversion, kind: ReportKind, keyword: &str, line: usize) -> &'c str {
    conv.reports
        .iter()
        .find(|r| r.kind == kind && r.keyword == keyword && r.loc.line == line)
        .map(|r| r.message.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {kind:?} for {keyword} at line {line}:\n{}",
                conv.reports
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

fn only(cfg: &Config) -> &GroupConfig {
    assert_eq!(cfg.groups.len(), 1, "{:?}", cfg.groups);
    &cfg.groups[0]
}

fn vips(g: &GroupConfig) -> Vec<String> {
    g.virtual_ips.iter().map(|v| v.to_string()).collect()
}

/// A minimal instance with `body` inside it.
fn instance(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}\n virtual_ipaddress {{\n  192.0.2.100/24\n }}\n}}\n"
    )
}

#[test]
fn comments_end_a_line_only_outside_double_quotes_as_keepalived_parser_c() {
    let conf = "\
vrrp_script chk_down {
    script \"[ ! -f /etc/keepalived/down ]\"   # the down-file pattern
}
vrrp_script chk_hash {
    script \"/usr/bin/printf 'a#b'\"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100#main
    authentication {
        auth_type PASS
        auth_pass Kp!9x2Lm
    }
    virtual_ipaddress {
        192.0.2.100/24 ! the VIP
    }
    track_script {
        chk_down
        chk_hash
    }
    notify_master \"/usr/local/bin/ctl \\#1\"
}
";
    let (_, cfg) = convert_load(conf, None);
    let g = only(&cfg);
    // `!` inside quotes is the script's own: the check is not cut to `[`.
    assert_eq!(
        g.track_scripts[0].command,
        ["[", "!", "-f", "/etc/keepalived/down", "]"]
    );
    assert_eq!(g.track_scripts[1].command, ["/usr/bin/printf", "a#b"]);
    // Outside quotes a comment may start inside a word.
    assert_eq!(g.priority, 100);
    match &g.auth {
        Some(AuthConfig::Pass { secret }) => assert_eq!(secret.expose(), b"Kp"),
        a => panic!("{a:?}"),
    }
    assert_eq!(vips(g), ["192.0.2.100/24 dev eth0"]);
    // Inside quotes `\#` stays as keepalived's script splitter reads it.
    assert_eq!(
        g.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/ctl", "#1"]
    );
    // Outside quotes `\#` is a literal `#`.
    let (_, cfg) = convert_load(
        &instance(" authentication {\n  auth_type PASS\n  auth_pass pa\\#ss\n }"),
        None,
    );
    match &only(&cfg).auth {
        Some(AuthConfig::Pass { secret }) => assert_eq!(secret.expose(), b"pa#ss"),
        a => panic!("{a:?}"),
    }
}

#[test]
fn state_other_than_master_or_backup_is_backup_with_a_warning() {
    for (word, line) in [("SLAVE", 4), ("master", 4), ("Backup", 4)] {
        let conf = format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n state {word}\n priority 255\n virtual_ipaddress {{\n  192.0.2.100/24\n }}\n}}\n"
        );
        let (conv, cfg) = convert_load(&conf, None);
        // keepalived compares case-sensitively: even the address owner
        // starts as backup then.
        assert_eq!(only(&cfg).start_state, StartState::Backup, "{word}");
        assert!(report(&conv, ReportKind::Warning, "state", line).contains("BACKUP"));
    }
    // The real MASTER still maps for the owner.
    let (conv, cfg) = convert_load(&instance(" state MASTER\n priority 255"), None);
    assert_eq!(only(&cfg).start_state, StartState::Master);
    assert!(conv.reports.iter().all(|r| r.kind != ReportKind::Warning));
}

#[test]
fn repeated_notify_lines_keep_the_first_with_a_warning() {
    let (conv, cfg) = convert_load(
        &instance(
            " notify_master \"/usr/bin/first\"\n notify_master \"/usr/bin/second\"\n notify \"/usr/bin/any1\"\n notify \"/usr/bin/any2\"",
        ),
        None,
    );
    let n = &only(&cfg).notify;
    assert_eq!(n.master.as_deref().unwrap(), ["/usr/bin/first"]);
    assert_eq!(n.any.as_deref().unwrap(), ["/usr/bin/any1"]);
    assert!(report(&conv, ReportKind::Warning, "notify_master", 5).contains(":4"));
    assert!(report(&conv, ReportKind::Warning, "notify", 7).contains("keeps the first"));
}

#[test]
fn keepalived_definitions_are_expanded() {
    let conf = "\
$PRIO=150
$IFACE = eth1
$VIPS=192.0.2.100/24 \\
      192.0.2.101/24
vrrp_instance VI_${IFACE} {
    interface $IFACE
    virtual_router_id 51
    priority $PRIO
    virtual_ipaddress {
        $VIPS
    }
    notify_master \"/usr/bin/ctl $IFACE ${UNDEFINED}\"
}
";
    let (_, cfg) = convert_load(conf, None);
    let g = only(&cfg);
    assert_eq!(g.name, "VI_eth1");
    assert_eq!(g.interface, "eth1");
    assert_eq!(g.priority, 150);
    assert_eq!(
        vips(g),
        ["192.0.2.100/24 dev eth1", "192.0.2.101/24 dev eth1"]
    );
    // An undefined reference is left as written (and kept literal for vrrpd).
    assert_eq!(
        g.notify.master.as_deref().unwrap(),
        ["/usr/bin/ctl", "eth1", "${UNDEFINED}"]
    );
    // A definition that refers to itself is an error, not a hang.
    let e = try_convert("$A=$A x\nvrrp_instance V {\n interface $A\n}\n", None).unwrap_err();
    assert!(
        e.contains("keepalived.conf:3") && e.contains("expand"),
        "{e}"
    );
}

#[test]
fn conditional_lines_follow_config_id() {
    let conf = "\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    @lb1 priority 150
    @lb2 priority 100
    @^lb1 nopreempt
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";
    let (conv, cfg) = convert_load(conf, Some("lb1"));
    let g = only(&cfg);
    assert_eq!(g.priority, 150);
    assert!(g.preempt);
    assert!(report(&conv, ReportKind::Note, "@", 4).contains("\"lb1\""));
    let (_, cfg) = convert_load(conf, Some("lb2"));
    let g = only(&cfg);
    assert_eq!(g.priority, 100);
    assert!(!g.preempt);
    // Another id: neither @lb1 nor @lb2, but @^lb1.
    let (_, cfg) = convert_load(conf, Some("lb3"));
    assert_eq!(only(&cfg).priority, 100); // the default
    assert!(!only(&cfg).preempt);
    // $_INSTANCE is the config id.
    let (_, cfg) = convert_load(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.100/24\n }\n notify_master \"/usr/bin/ctl ${_INSTANCE}\"\n}\n",
        Some("edge-a"),
    );
    assert_eq!(
        only(&cfg).notify.master.as_deref().unwrap(),
        ["/usr/bin/ctl", "edge-a"]
    );
}

#[test]
fn instances_without_vips_become_hook_only_groups() {
    let conf = "\
vrrp_instance cloud_eip {
    interface eth0
    virtual_router_id 60
    priority 150
    unicast_src_ip 198.51.100.1
    unicast_peer {
        198.51.100.2
    }
    notify_master \"/usr/local/bin/move-eip.sh\"
}
vrrp_instance useless {
    interface eth0
    virtual_router_id 61
}
";
    let (conv, cfg) = convert_load(conf, None);
    let g = cfg.group("cloud_eip").expect("cloud_eip carried over");
    assert!(g.virtual_ips.is_empty());
    assert_eq!(g.family, Family::V4);
    assert_eq!(
        g.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/move-eip.sh"]
    );
    assert!(report(&conv, ReportKind::Note, "virtual_ipaddress", 1).contains("virtual_ips = []"));
    // No VIPs and no hook: nothing to do, reported.
    assert!(cfg.group("useless").is_none());
    assert!(report(&conv, ReportKind::NotMapped, "vrrp_instance", 11).contains("no notify"));
    // IPv6 unicast peers give the family.
    let (_, cfg) = convert_load(
        "vrrp_instance v6 {\n interface eth0\n virtual_router_id 62\n unicast_peer {\n  2001:db8::2\n }\n notify_master \"/usr/bin/x\"\n}\n",
        None,
    );
    let g = only(&cfg);
    assert_eq!(g.family, Family::V6);
    assert_eq!(g.version, vrrpd::proto::Version::V3);
    // Nothing left at all: an error, nothing written.
    let e = try_convert(
        "vrrp_instance useless {\n interface eth0\n virtual_router_id 61\n}\n",
        None,
    )
    .unwrap_err();
    assert!(e.contains("no vrrp_instance could be converted"), "{e}");
    assert!(
        e.contains("keepalived.conf:1: vrrp_instance: not mapped"),
        "{e}"
    );
}

/// keepalived 2.2.7 stops on an instance without `interface` ("Unknown
/// interface!", even with `default_interface`); convert carries it over on
/// `default_interface`, else eth0, and warns.
#[test]
fn instances_without_interface_take_the_default_interface_with_a_warning() {
    let body = "vrrp_instance VI_1 {\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";
    let (conv, cfg) = convert_load(body, None);
    assert_eq!(only(&cfg).interface, "eth0");
    assert!(report(&conv, ReportKind::Warning, "interface", 1).contains("eth0"));
    let (conv, cfg) = convert_load(
        &format!("global_defs {{\n default_interface bond0\n}}\n{body}"),
        None,
    );
    assert_eq!(only(&cfg).interface, "bond0");
    assert!(report(&conv, ReportKind::Warning, "interface", 4).contains("default_interface"));
}

#[test]
fn sub_second_script_interval_is_what_keepalived_ran_and_said_so() {
    let conf = "\
vrrp_script fast {
    script /usr/bin/true
    interval 0.5
    timeout 1.5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_script {
        fast
    }
}
";
    let (conv, cfg) = convert_load(conf, None);
    let ts = &only(&cfg).track_scripts[0];
    // keepalived reads whole seconds: 0.5 -> 0 -> 1 s, 1.5 -> 1 s.
    assert_eq!(ts.interval, Duration::from_secs(1));
    assert_eq!(ts.timeout, Duration::from_secs(1));
    let m = report(&conv, ReportKind::Warning, "interval", 3);
    assert!(m.contains("interval 0.5") && m.contains("500ms"), "{m}");
    assert!(report(&conv, ReportKind::Warning, "timeout", 4).contains("1500ms"));
}

#[test]
fn duplicates_are_written_once_with_a_warning() {
    let conf = "\
vrrp_script chk {
    script /usr/bin/true
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    unicast_peer {
        192.0.2.2
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.100/24
    }
    virtual_ipaddress_excluded {
        192.0.2.100/24 dev eth1
    }
    track_script {
        chk
        chk weight -10
    }
    track_interface {
        eth1
        eth1
    }
}
";
    let (conv, cfg) = convert_load(conf, None);
    let g = only(&cfg);
    assert_eq!(vips(g), ["192.0.2.100/24 dev eth0"]);
    assert!(g.excluded_ips.is_empty());
    assert_eq!(g.unicast_peers.len(), 1);
    assert_eq!(g.track_scripts.len(), 1);
    assert_eq!(g.track_scripts[0].weight, 0); // the first reference wins
    assert_eq!(g.track_interfaces.len(), 1);
    for (kw, line) in [
        ("unicast_peer", 9),
        ("virtual_ipaddress", 13),
        ("virtual_ipaddress_excluded", 16),
        ("track_script", 20),
        ("track_interface", 24),
    ] {
        report(&conv, ReportKind::Warning, kw, line);
    }
}

#[test]
fn unicast_addresses_lose_their_mask_as_in_keepalived() {
    let (conv, cfg) = convert_load(
        &instance(" unicast_src_ip 192.0.2.1/24\n unicast_peer {\n  192.0.2.2/24\n }"),
        None,
    );
    let g = only(&cfg);
    assert_eq!(g.unicast_source, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(
        g.unicast_peers,
        vec!["192.0.2.2".parse::<std::net::IpAddr>().unwrap()]
    );
    report(&conv, ReportKind::Note, "unicast_src_ip", 4);
    report(&conv, ReportKind::Note, "unicast_peer", 6);
}

/// keepalived's effective priority: clamp(base + passing positive weights +
/// failing negative weights, 1, 254).
fn keepalived_prio(base: i32, weights: &[(i32, bool)]) -> i32 {
    let sum: i32 = weights
        .iter()
        .map(|&(w, failing)| match (w > 0, failing) {
            (true, false) => w,
            (false, true) => w,
            _ => 0,
        })
        .sum();
    (base + sum).clamp(1, 254)
}

/// vrrpd's: clamp(base + weights of failing trackers, 1, 254).
fn vrrpd_prio(g: &GroupConfig, failing: &[bool]) -> i32 {
    let sum: i32 = g
        .track_scripts
        .iter()
        .zip(failing)
        .filter(|(_, f)| **f)
        .map(|(t, _)| i32::from(t.weight))
        .sum();
    (i32::from(g.priority) + sum).clamp(1, 254)
}

fn weighted(base: u8, weights: &[i32]) -> String {
    let mut s = String::new();
    for (i, w) in weights.iter().enumerate() {
        s.push_str(&format!(
            "vrrp_script c{i} {{\n script /usr/bin/true\n weight {w}\n}}\n"
        ));
    }
    let refs: String = (0..weights.len()).map(|i| format!("  c{i}\n")).collect();
    s + &format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority {base}\n virtual_ipaddress {{\n  192.0.2.100/24\n }}\n track_script {{\n{refs} }}\n}}\n"
    )
}

#[test]
fn weight_inversion_at_the_254_cap_is_exact_or_stated_precisely() {
    // Below the cap: the same priority in every state.
    for (base, weights) in [(100u8, vec![10, -20]), (240, vec![14, 0])] {
        let (_, cfg) = convert_load(&weighted(base, &weights), None);
        let g = only(&cfg);
        for mask in 0..(1 << weights.len()) {
            let failing: Vec<bool> = (0..weights.len()).map(|i| mask & (1 << i) != 0).collect();
            let w: Vec<(i32, bool)> = weights
                .iter()
                .copied()
                .zip(failing.iter().copied())
                .collect();
            if weights.iter().zip(&failing).any(|(w, f)| *w == 0 && *f) {
                continue; // weight 0 is FAULT in both
            }
            assert_eq!(
                vrrpd_prio(g, &failing),
                keepalived_prio(i32::from(base), &w),
                "{base} {weights:?} {failing:?}"
            );
        }
    }
    // One positive weight over the cap: compensated exactly.
    let (conv, cfg) = convert_load(&weighted(250, &[10]), None);
    let g = only(&cfg);
    assert_eq!(g.priority, 254);
    assert_eq!(g.track_scripts[0].weight, -4);
    for failing in [false, true] {
        assert_eq!(
            vrrpd_prio(g, &[failing]),
            keepalived_prio(250, &[(10, failing)])
        );
    }
    assert!(
        conv.reports
            .iter()
            .any(|r| r.keyword == "weight" && r.message.contains("-4 (254 - 250)"))
    );
    // Several positive weights over the cap: stated with the exact excess.
    let (conv, cfg) = convert_load(&weighted(250, &[10, 10]), None);
    let g = only(&cfg);
    assert_eq!(g.priority, 254);
    assert_eq!(
        vrrpd_prio(g, &[false, false]),
        keepalived_prio(250, &[(10, false), (10, false)])
    );
    // One failing: keepalived 254 (capped 260), vrrpd 244: 16 lower.
    let diff = keepalived_prio(250, &[(10, true), (10, false)]) - vrrpd_prio(g, &[true, false]);
    let note = conv.reports.iter().find(|r| r.keyword == "weight").unwrap();
    assert!(
        note.message.contains(&format!("up to {}", 250 + 20 - 254)),
        "{}",
        note.message
    );
    assert!(diff > 0 && diff <= 16, "{diff}");
}

#[test]
fn words_after_a_notify_script_are_its_user_and_group() {
    // root exists on every host; the other name on none. keepalived drops a
    // notify script whose user does not exist, and so does the conversion.
    let (conv, cfg) = convert_load(
        &instance(
            " notify_master /usr/local/bin/promote.sh root root\n notify_backup \"/usr/local/bin/demote.sh --now\" root\n notify_fault /usr/local/bin/ctl fault-no-such-user-vrrpd",
        ),
        None,
    );
    let n = &only(&cfg).notify;
    assert_eq!(n.master.as_deref().unwrap(), ["/usr/local/bin/promote.sh"]);
    assert_eq!(
        n.backup.as_deref().unwrap(),
        ["/usr/local/bin/demote.sh", "--now"]
    );
    assert_eq!(n.fault, None);
    let m = report(&conv, ReportKind::NotMapped, "notify_master", 4);
    assert!(m.contains("user \"root\" and group \"root\""), "{m}");
    assert!(report(&conv, ReportKind::NotMapped, "notify_backup", 5).contains("user \"root\""));
    let m = report(&conv, ReportKind::NotMapped, "notify_fault", 6);
    assert!(
        m.contains("no user \"fault-no-such-user-vrrpd\"") && m.contains("ignores the script"),
        "{m}"
    );
}

#[test]
fn script_security_garp_delay_init_fail_and_dont_track_primary_are_reported() {
    let conf = "\
global_defs {
    script_user keepalived_script
    enable_script_security
    vrrp_garp_master_delay 10
}
vrrp_script chk {
    script /usr/bin/true
    init_fail
    user nobody
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    garp_master_delay 1
    dont_track_primary
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_script {
        chk
    }
}
";
    let (conv, cfg) = convert_load(conf, None);
    for (kw, line) in [
        ("script_user", 2),
        ("enable_script_security", 3),
        ("init_fail", 8),
        ("user", 9),
        ("dont_track_primary", 15),
    ] {
        report(&conv, ReportKind::NotMapped, kw, line);
    }
    // garp_master_delay is mapped (the instance's 1 s over the global 10 s).
    assert_eq!(
        cfg.groups[0].garp_master_delay,
        Some(std::time::Duration::from_secs(1))
    );
    assert!(
        !conv
            .reports
            .iter()
            .any(|r| r.keyword.contains("garp_master_delay")),
        "garp_master_delay reported"
    );
}

#[test]
fn every_keyword_is_mapped_or_reported_never_dropped() {
    // Each line below carries one keyword; every line that is not a block
    // delimiter or a mapped keyword must appear in the report.
    let conf = "\
global_defs {
    router_id lb1
    notification_email_from a@example.org
    lvs_id x
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    mcast_src_ip 192.0.2.1
    lvs_sync_daemon_interface eth0
    use_vmac
    made_up_keyword 1
    virtual_ipaddress {
        192.0.2.100/24 scope global
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 6
}
";
    let (conv, _) = convert_load(conf, None);
    let mapped = [1, 2, 5, 6, 7, 8, 9, 10, 13, 15, 17, 18, 19, 20, 21, 23, 24];
    for line in 1..=24 {
        let reported = conv.reports.iter().any(|r| r.loc.line == line);
        if mapped.contains(&line) {
            continue;
        }
        assert!(
            reported,
            "line {line} dropped silently: {:#?}",
            conv.reports
        );
    }
}

#[test]
fn use_vmac_and_vmac_xmit_base_map_to_virtual_mac_mode() {
    let conf = "\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    use_vmac vrrp51
    vmac_xmit_base
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 52
    use_vmac
    virtual_ipaddress {
        2001:db8::52/64
    }
}
";
    let (conv, cfg) = convert_load(conf, None);
    assert_eq!(conv.not_mapped().count(), 0, "{:#?}", conv.reports);
    let v4 = cfg.groups.iter().find(|g| g.vrid == 51).unwrap();
    let v = v4.vmac.as_ref().expect("use_vmac mapped");
    assert_eq!((v.interface.as_str(), v.xmit_base), ("vrrp51", true));
    // Without a name: keepalived's default, per family.
    let v6 = cfg.groups.iter().find(|g| g.vrid == 52).unwrap();
    let v = v6.vmac.as_ref().expect("use_vmac mapped");
    assert_eq!((v.interface.as_str(), v.xmit_base), ("vrrp6.52", false));
}
