//! Control protocol wire format and the Prometheus rendering (SPEC §3, §5).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use vrrpd::control::protocol::{
    BfdSessionStatus, GroupCounters, GroupStatus, HandoverResult, ReloadStatus, Request, Response,
    State, StatusReport, TrackerKind, TrackerStatus,
};
use vrrpd::control::render;

fn sample_report() -> StatusReport {
    let group = |name: &str, vrid, state, prio| GroupStatus {
        name: name.into(),
        vrid,
        interface: "eth0".into(),
        state,
        priority: prio,
        base_priority: 150,
        master_address: Some("192.0.2.1".parse::<IpAddr>().unwrap()),
        since: "2024-02-29T12:34:56Z".into(),
        virtual_ips: vec!["192.0.2.100/24".into(), "203.0.113.10/24".into()],
        vmac_interface: Some("vrrp.51".into()),
        drained: false,
        counters: GroupCounters {
            adverts_sent: 10,
            adverts_received: 20,
            dropped: BTreeMap::from([("checksum".into(), 3), ("ttl".into(), 1)]),
            transitions: BTreeMap::from([("backup".into(), 1), ("master".into(), 2)]),
            master_changes: 3,
            priority_zero_sent: 4,
            priority_zero_received: 5,
            garp_sent: 6,
        },
        trackers: vec![
            TrackerStatus {
                kind: TrackerKind::Interface,
                name: "eth1".into(),
                up: true,
                weight: 0,
                value: None,
            },
            TrackerStatus {
                kind: TrackerKind::Script,
                name: "proxy \"main\"".into(),
                up: false,
                weight: -60,
                value: None,
            },
        ],
        virtual_routes: vec![],
        virtual_rules: vec![],
    };
    StatusReport {
        bfd: vec![BfdSessionStatus {
            peer: "192.0.2.2".into(),
            interface: "eth0".into(),
            state: "up".into(),
            remote_state: "up".into(),
            diag: "none".into(),
        }],
        router_id: "lb1".into(),
        last_reload: Some(ReloadStatus {
            success: false,
            at: "2024-02-29T12:35:00Z".into(),
        }),
        groups: vec![
            group("public", 51, State::Master, 150),
            group("private", 52, State::Fault, 90),
        ],
    }
}

fn roundtrip<T>(v: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let line = serde_json::to_string(v).unwrap();
    assert!(!line.contains('\n'), "one JSON line: {line}");
    serde_json::from_str(&line).unwrap()
}

#[test]
fn every_request_and_response_roundtrips_as_one_json_line() {
    let requests = [
        Request::Status,
        Request::Handover {
            groups: vec!["public".into()],
            timeout: Duration::from_millis(2500),
        },
        Request::Handover {
            groups: vec![],
            timeout: Duration::from_secs(10),
        },
        Request::Reload,
        Request::Metrics,
    ];
    for r in &requests {
        assert_eq!(&roundtrip(r), r);
    }
    let responses = [
        Response::Status(sample_report()),
        Response::Handover(HandoverResult {
            moved: vec!["public".into()],
            failed: vec![("private".into(), "not master".into())],
        }),
        Response::Reload(Ok(())),
        Response::Reload(Err("groups.d/a.toml:1:1: bad".into())),
        Response::Metrics("# HELP x\n".into()),
        Response::Error("permission denied".into()),
    ];
    for r in &responses {
        assert_eq!(&roundtrip(r), r);
    }
}

#[test]
fn requests_have_a_readable_wire_form() {
    let v = serde_json::to_value(Request::Handover {
        groups: vec!["a".into()],
        timeout: Duration::from_secs(3),
    })
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"handover": {"groups": ["a"], "timeout_ms": 3000}})
    );
    assert_eq!(serde_json::to_value(Request::Status).unwrap(), "status");
}

#[test]
fn status_json_has_exactly_the_spec_field_names() {
    let v = serde_json::to_value(sample_report()).unwrap();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    // SPEC §3's two keys, plus "bfd" (issue 18: status shows BFD sessions)
    // only when a session runs, and "last_reload" (issue 15, the reload
    // metrics) from a daemon.
    assert_eq!(
        keys(&v),
        ["router_id", "groups", "bfd", "last_reload"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(v["last_reload"]["success"], false);
    let no_bfd = StatusReport {
        bfd: Vec::new(),
        last_reload: None,
        ..sample_report()
    };
    assert_eq!(
        keys(&serde_json::to_value(no_bfd).unwrap()),
        BTreeSet::from(["router_id".into(), "groups".into()])
    );
    assert_eq!(
        keys(&v["bfd"][0]),
        ["peer", "interface", "state", "remote_state", "diag"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let g = &v["groups"][0];
    let expected: BTreeSet<String> = [
        "name",
        "vrid",
        "interface",
        "state",
        "priority",
        "base_priority",
        "master_address",
        "since",
        "virtual_ips",
        "vmac_interface",
        "counters",
        "drained",
        "trackers",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(keys(g), expected);
    assert_eq!(g["state"], "master");
    assert_eq!(v["groups"][1]["state"], "fault");
    assert_eq!(g["master_address"], "192.0.2.1");
    assert_eq!(g["counters"]["dropped"]["checksum"], 3);
    assert_eq!(g["counters"]["transitions"]["master"], 2);
    assert_eq!(g["trackers"][1]["kind"], "script");
    assert_eq!(
        keys(&g["counters"]),
        [
            "adverts_sent",
            "adverts_received",
            "dropped",
            "transitions",
            "master_changes",
            "priority_zero_sent",
            "priority_zero_received",
            "garp_sent"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
}

// ---- a small Prometheus text-format (0.0.4) parser ------------------------

type Labels = BTreeMap<String, String>;

#[derive(Debug)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeSet<String>,
    samples: Vec<(String, Labels, f64)>,
}

fn valid_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_labels(s: &str) -> Result<Labels, String> {
    let mut labels = Labels::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|c| c.1) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|c| c.1) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                '"' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                '\n' => return Err("raw newline in label value".into()),
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated label value")?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("duplicate label {name}"));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let mut e = Exposition {
        types: BTreeMap::new(),
        helps: BTreeSet::new(),
        samples: Vec::new(),
    };
    let mut finished_families = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen = BTreeSet::new();
    if !text.ends_with('\n') {
        return Err("must end with a newline".into());
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kw = parts.next().unwrap_or_default();
            let name = parts.next().ok_or("comment without name")?.to_string();
            let arg = parts.next().unwrap_or_default();
            match kw {
                "HELP" => {
                    if !e.helps.insert(name.clone()) {
                        return Err(format!("second HELP for {name}"));
                    }
                }
                "TYPE" => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                        return Err(format!("bad type {arg}"));
                    }
                    if e.types.insert(name.clone(), arg.to_string()).is_some() {
                        return Err(format!("second TYPE for {name}"));
                    }
                }
                _ => continue,
            }
            if current.as_deref() != Some(&name) {
                if let Some(c) = current.take() {
                    finished_families.insert(c);
                }
                if finished_families.contains(&name) {
                    return Err(format!("family {name} is split"));
                }
                current = Some(name);
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or("sample without value")?;
        let value: f64 = value
            .parse()
            .map_err(|_| format!("bad value in {line:?}"))?;
        let (name, labels) = match series.find('{') {
            Some(i) => {
                let inner = series[i + 1..]
                    .strip_suffix('}')
                    .ok_or(format!("unclosed labels in {line:?}"))?;
                (&series[..i], parse_labels(inner)?)
            }
            None => (series, Labels::new()),
        };
        if !valid_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        if current.as_deref() != Some(name) || !e.types.contains_key(name) {
            return Err(format!("sample {name} outside its TYPE block"));
        }
        if !seen.insert((name.to_string(), labels.clone())) {
            return Err(format!("duplicate series {line:?}"));
        }
        e.samples.push((name.to_string(), labels, value));
    }
    Ok(e)
}

#[test]
fn the_test_parser_rejects_malformed_text() {
    assert!(parse_exposition("x 1\n").is_err(), "sample without TYPE");
    assert!(parse_exposition("# TYPE x gauge\nx{a=\"1} 1\n").is_err());
    assert!(parse_exposition("# TYPE x gauge\nx{a=\"1\"} one\n").is_err());
    assert!(parse_exposition("# TYPE x gauge\nx 1\nx 2\n").is_err());
    assert!(
        parse_exposition("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# HELP x again\n").is_err()
    );
    assert!(parse_exposition("# TYPE x gauge\nx{a=\"q\\\"\"} 1\n").is_ok());
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn metrics_render_as_valid_prometheus_text_with_every_spec_family() {
    let text = render(&sample_report());
    let e = parse_exposition(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    let families = [
        (
            "vrrpd_group_state",
            "gauge",
            &["group", "vrid", "state"][..],
        ),
        ("vrrpd_group_priority", "gauge", &["group"][..]),
        ("vrrpd_adverts_sent_total", "counter", &["group"][..]),
        ("vrrpd_adverts_received_total", "counter", &["group"][..]),
        (
            "vrrpd_adverts_dropped_total",
            "counter",
            &["group", "reason"][..],
        ),
        ("vrrpd_transitions_total", "counter", &["group", "to"][..]),
        ("vrrpd_track_script_up", "gauge", &["group", "script"][..]),
        (
            "vrrpd_tracker_up",
            "gauge",
            &["group", "tracker", "kind"][..],
        ),
        ("vrrpd_master_changes_total", "counter", &["group"][..]),
        ("vrrpd_bfd_session_up", "gauge", &["peer", "interface"][..]),
        ("vrrpd_priority_zero_sent_total", "counter", &["group"][..]),
        (
            "vrrpd_priority_zero_received_total",
            "counter",
            &["group"][..],
        ),
        ("vrrpd_garp_sent_total", "counter", &["group"][..]),
        ("vrrpd_group_state_since_seconds", "gauge", &["group"][..]),
        ("vrrpd_build_info", "gauge", &["version"][..]),
        ("vrrpd_config_last_reload_success", "gauge", &[][..]),
        (
            "vrrpd_config_last_reload_timestamp_seconds",
            "gauge",
            &[][..],
        ),
        (
            "vrrpd_group_vmac_interface",
            "gauge",
            &["group", "interface"][..],
        ),
    ];
    assert_eq!(e.types.len(), families.len(), "no extra families: {text}");
    for (name, kind, label_names) in families {
        assert_eq!(e.types.get(name).map(String::as_str), Some(kind), "{name}");
        assert!(e.helps.contains(name), "HELP for {name}");
        let samples: Vec<_> = e.samples.iter().filter(|s| s.0 == name).collect();
        assert!(!samples.is_empty(), "{name} has samples");
        for (_, l, _) in samples {
            let got: Vec<&str> = l.keys().map(String::as_str).collect();
            let mut want = label_names.to_vec();
            want.sort();
            assert_eq!(got, want, "{name} labels");
        }
    }
    let value = |name: &str, l: &[(&str, &str)]| -> f64 {
        let l = labels(l);
        e.samples
            .iter()
            .find(|s| s.0 == name && s.1 == l)
            .unwrap_or_else(|| panic!("no {name} {l:?}"))
            .2
    };
    // One series per state; 1 only for the current one.
    for (state, v) in [
        ("init", 0.0),
        ("backup", 0.0),
        ("master", 1.0),
        ("fault", 0.0),
    ] {
        assert_eq!(
            value(
                "vrrpd_group_state",
                &[("group", "public"), ("vrid", "51"), ("state", state)]
            ),
            v
        );
    }
    assert_eq!(
        value(
            "vrrpd_group_state",
            &[("group", "private"), ("vrid", "52"), ("state", "fault")]
        ),
        1.0
    );
    let states_of_public = e
        .samples
        .iter()
        .filter(|s| s.0 == "vrrpd_group_state" && s.1["group"] == "public")
        .count();
    assert_eq!(states_of_public, 4);
    assert_eq!(value("vrrpd_group_priority", &[("group", "private")]), 90.0);
    assert_eq!(
        value("vrrpd_adverts_sent_total", &[("group", "public")]),
        10.0
    );
    assert_eq!(
        value("vrrpd_adverts_received_total", &[("group", "public")]),
        20.0
    );
    assert_eq!(
        value(
            "vrrpd_adverts_dropped_total",
            &[("group", "public"), ("reason", "checksum")]
        ),
        3.0
    );
    assert_eq!(
        value(
            "vrrpd_transitions_total",
            &[("group", "public"), ("to", "master")]
        ),
        2.0
    );
    assert_eq!(
        value(
            "vrrpd_transitions_total",
            &[("group", "public"), ("to", "fault")]
        ),
        0.0,
        "states never entered still have a zero series"
    );
    assert_eq!(
        value(
            "vrrpd_track_script_up",
            &[("group", "public"), ("script", "proxy \"main\"")]
        ),
        0.0,
        "label values are escaped and read back"
    );
    assert!(
        !e.samples
            .iter()
            .any(|s| s.0 == "vrrpd_track_script_up" && s.1["script"] == "eth1"),
        "interface trackers are not scripts"
    );
    assert_eq!(
        value(
            "vrrpd_tracker_up",
            &[
                ("group", "public"),
                ("tracker", "eth1"),
                ("kind", "interface")
            ]
        ),
        1.0,
        "vrrpd_tracker_up covers every kind, interfaces too"
    );
    assert_eq!(
        value(
            "vrrpd_tracker_up",
            &[
                ("group", "public"),
                ("tracker", "proxy \"main\""),
                ("kind", "script")
            ]
        ),
        0.0
    );
    assert_eq!(
        value("vrrpd_master_changes_total", &[("group", "public")]),
        3.0
    );
    assert_eq!(
        value(
            "vrrpd_bfd_session_up",
            &[("peer", "192.0.2.2"), ("interface", "eth0")]
        ),
        1.0
    );
    let public = [("group", "public")];
    assert_eq!(value("vrrpd_priority_zero_sent_total", &public), 4.0);
    assert_eq!(value("vrrpd_priority_zero_received_total", &public), 5.0);
    assert_eq!(value("vrrpd_garp_sent_total", &public), 6.0);
    // 2024-02-29T12:34:56Z
    assert_eq!(
        value("vrrpd_group_state_since_seconds", &public),
        1_709_210_096.0
    );
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(value("vrrpd_build_info", &version), 1.0);
    assert_eq!(value("vrrpd_config_last_reload_success", &[]), 0.0);
    assert_eq!(
        value("vrrpd_config_last_reload_timestamp_seconds", &[]),
        1_709_210_100.0
    );
    assert_eq!(
        value(
            "vrrpd_group_vmac_interface",
            &[("group", "public"), ("interface", "vrrp.51")]
        ),
        1.0
    );
}

#[test]
fn metrics_of_no_groups_are_still_valid() {
    let text = render(&StatusReport::default());
    let e = parse_exposition(&text).unwrap();
    // Only the daemon-wide build info has a sample.
    assert_eq!(e.samples.len(), 1, "{text}");
    assert_eq!(e.types.len(), 18);
}

#[test]
fn virtual_routes_show_in_status_json_and_metrics_with_their_installed_flag() {
    use vrrpd::control::protocol::{RouteStatus, RuleStatus};
    use vrrpd::proto::routes::{Prefix, RouteKind, RuleAction, VirtualRoute, VirtualRule};
    let mut r = sample_report();
    r.groups[0].virtual_routes = vec![RouteStatus {
        route: VirtualRoute {
            to: Prefix::parse("198.51.100.0/24").unwrap(),
            via: Some("192.0.2.254".parse().unwrap()),
            dev: None,
            src: None,
            table: Some(100),
            metric: None,
            kind: RouteKind::Unicast,
        },
        installed: true,
    }];
    r.groups[0].virtual_rules = vec![RuleStatus {
        rule: VirtualRule {
            family: vrrpd::proto::Family::V4,
            from: Some(Prefix::parse("192.0.2.100/32").unwrap()),
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            action: RuleAction::Table(100),
            preference: None,
        },
        installed: false,
    }];
    let j = serde_json::to_value(&r).unwrap();
    let g = &j["groups"][0];
    assert_eq!(g["virtual_routes"][0]["to"], "198.51.100.0/24");
    assert_eq!(g["virtual_routes"][0]["via"], "192.0.2.254");
    assert_eq!(g["virtual_routes"][0]["installed"], true);
    assert_eq!(g["virtual_rules"][0]["from"], "192.0.2.100/32");
    assert_eq!(g["virtual_rules"][0]["installed"], false);
    assert_eq!(roundtrip(&r), r);
    let text = render(&r);
    parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let name = &r.groups[0].name;
    assert!(text.contains(&format!(
        "vrrpd_virtual_routes_installed{{group=\"{name}\",kind=\"route\"}} 1"
    )));
    assert!(text.contains(&format!(
        "vrrpd_virtual_routes_installed{{group=\"{name}\",kind=\"rule\"}} 0"
    )));
}
