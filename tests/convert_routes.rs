//! `vrrpd convert`: keepalived's `virtual_routes` / `virtual_rules` blocks
//! become `[[virtual_route]]` / `[[virtual_rule]]`; what vrrpd cannot do is
//! reported per line, never dropped. The output is loaded with the real
//! config loader.

use std::collections::HashMap;
use std::path::PathBuf;

use vrrpd::config::{GroupConfig, UnknownHost, load};
use vrrpd::convert::syntax::ReadOptions;
use vrrpd::convert::{Conversion, ReportKind, convert_file_with, write};
use vrrpd::proto::Family;
use vrrpd::proto::routes::{RouteKind, RuleAction};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-conv-routes-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn convert(tag: &str, conf: &str) -> (Conversion, GroupConfig) {
    let src = tmp(&format!("{tag}-src"));
    let path = src.join("keepalived.conf");
    std::fs::write(&path, conf).unwrap();
    let conv = convert_file_with(&path, &ReadOptions { config_id: None }).unwrap();
    let out = tmp(&format!("{tag}-out"));
    write(&conv, &out).unwrap();
    let loaded = load(&out, &HashMap::<String, String>::new(), &UnknownHost).unwrap_or_else(|e| {
        panic!(
            "output does not load:\n{e}\n{}",
            conv.groups
                .iter()
                .map(|(n, t)| format!("--- {n}\n{t}"))
                .collect::<String>()
        )
    });
    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&out);
    (conv, loaded.config.groups[0].clone())
}

fn instance(family_vip: &str, body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    \
         virtual_ipaddress {{\n        {family_vip}\n    }}\n{body}}}\n"
    )
}

#[test]
fn keepalived_documented_route_forms_are_mapped() {
    let conf = instance(
        "192.0.2.100/24",
        "    virtual_routes {
        src 192.0.2.100 to 198.51.100.0/24 via 192.0.2.254 dev eth1
        203.0.113.0/25 dev eth2 table 100 metric 7
        blackhole 203.0.113.128/25
        0.0.0.0/0 gw 192.0.2.1 table 100
        default via 192.0.2.1 table main
        unreachable 198.51.100.128/25 table 200
    }
",
    );
    let (conv, g) = convert("doc", &conf);
    assert!(
        conv.reports.iter().all(|r| r.kind != ReportKind::NotMapped),
        "{:#?}",
        conv.reports
    );
    let r = &g.virtual_routes;
    assert_eq!(r.len(), 6);
    assert_eq!(r[0].to.to_string(), "198.51.100.0/24");
    assert_eq!(r[0].src, Some("192.0.2.100".parse().unwrap()));
    assert_eq!(r[0].via, Some("192.0.2.254".parse().unwrap()));
    assert_eq!(r[0].dev.as_deref(), Some("eth1"));
    assert_eq!((r[1].table, r[1].metric), (Some(100), Some(7)));
    assert_eq!(r[2].kind, RouteKind::Blackhole);
    assert_eq!(r[3].to.to_string(), "0.0.0.0/0");
    assert_eq!(r[4].table, Some(254));
    assert_eq!((r[5].kind, r[5].table), (RouteKind::Unreachable, Some(200)));
}

#[test]
fn keepalived_rule_forms_are_mapped() {
    let conf = instance(
        "192.0.2.100/24",
        "    virtual_rules {
        from 192.0.2.100/32 table 100 priority 100
        to 198.51.100.0/24 lookup 101
        from 192.0.2.0/24 to 198.51.100.0/24 table 1 no_track
        from all fwmark 0x10 table 16 pref 1600
        to all iif eth1 prohibit
        from 2001:db8::100/128 table 100
        inet6 oif eth0 table 6
    }
",
    );
    let (conv, g) = convert("rules", &conf);
    assert!(
        conv.reports.iter().all(|r| r.kind != ReportKind::NotMapped),
        "{:#?}",
        conv.reports
    );
    assert!(
        conv.reports
            .iter()
            .any(|r| r.kind == ReportKind::Note && r.message.contains("no_track"))
    );
    let u = &g.virtual_rules;
    assert_eq!(u.len(), 7);
    assert_eq!(u[0].action, RuleAction::Table(100));
    assert_eq!(u[0].preference, Some(100));
    assert_eq!(
        u[1].to.map(|p| p.to_string()).as_deref(),
        Some("198.51.100.0/24")
    );
    assert!(u[2].from.is_some() && u[2].to.is_some());
    assert_eq!((u[3].fwmark, u[3].preference), (Some(16), Some(1600)));
    assert_eq!(u[3].family, Family::V4);
    assert_eq!(u[4].action, RuleAction::Prohibit);
    assert_eq!(u[4].iif.as_deref(), Some("eth1"));
    assert_eq!(u[5].family, Family::V6);
    assert_eq!(
        (u[6].family, u[6].oif.as_deref()),
        (Family::V6, Some("eth0"))
    );
}

#[test]
fn default_route_of_an_ipv6_instance_is_ipv6() {
    let conf = instance(
        "fe80::100/64",
        "    virtual_routes {\n        default dev eth0 table 5\n    }\n",
    );
    let (_, g) = convert("v6default", &conf);
    assert_eq!(g.virtual_routes[0].to.to_string(), "::/0");
}

#[test]
fn what_vrrpd_cannot_do_is_reported_per_line() {
    let conf = instance(
        "192.0.2.100/24",
        "    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 or 192.0.2.253
        198.51.100.0/25 via 192.0.2.254 onlink
        throw 203.0.113.0/24
        203.0.113.0/24 via 192.0.2.254 table isp
        198.51.100.0/24 via 192.0.2.254
    }
    virtual_rules {
        from 192.0.2.0/24 goto 100
        from 192.0.2.0/24 fwmark 1/0xff table 1
    }
",
    );
    let (conv, g) = convert("unmapped", &conf);
    let lines: Vec<usize> = conv
        .reports
        .iter()
        .filter(|r| r.kind == ReportKind::NotMapped)
        .map(|r| r.loc.line)
        .collect();
    assert_eq!(lines, vec![9, 10, 11, 12, 16, 17], "{:#?}", conv.reports);
    assert!(conv.reports.iter().any(|r| r.message.contains("rt_tables")));
    // The one that maps is still written.
    assert_eq!(g.virtual_routes.len(), 1);
    assert!(g.virtual_rules.is_empty());
}
