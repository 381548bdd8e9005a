//! `[[virtual_route]]` / `[[virtual_rule]]` in a group file (SPEC §2.2):
//! what loads, and each bad value reported at its file:line:column (exit 2
//! from `vrrpd check`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use vrrpd::config::{UnknownHost, load};
use vrrpd::proto::Family;
use vrrpd::proto::routes::{RouteKind, RuleAction};

const HEAD: &str = "vrid = 51\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.100/24\"]\n";

/// A config directory holding groups.d/web.toml = HEAD + `extra`.
fn dir_with(test: &str, extra: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-cfg-routes-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("groups.d")).unwrap();
    std::fs::write(d.join("groups.d/web.toml"), format!("{HEAD}{extra}")).unwrap();
    d
}

/// The errors as "line:column: message" (file names stripped).
fn errors(test: &str, extra: &str) -> Vec<String> {
    let d = dir_with(test, extra);
    let r = load(&d, &HashMap::new(), &UnknownHost);
    let _ = std::fs::remove_dir_all(&d);
    match r {
        Ok(_) => panic!("{test}: loaded"),
        Err(e) => e
            .errors
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
    }
}

#[track_caller]
fn assert_error(test: &str, extra: &str, at: &str, needle: &str) {
    let errs = errors(test, extra);
    assert!(
        errs.iter()
            .any(|e| e.starts_with(&format!("{at}: ")) && e.contains(needle)),
        "{test}: no error at {at} containing {needle:?}: {errs:#?}"
    );
}

#[test]
fn routes_and_rules_of_both_families_load() {
    let d = dir_with(
        "ok",
        r#"
[[virtual_route]]
to = "198.51.100.0/24"
via = "192.0.2.254"
src = "192.0.2.100"
table = 100
metric = 5
[[virtual_route]]
to = "2001:db8:1::/48"
dev = "eth0"
[[virtual_route]]
to = "203.0.113.0/24"
type = "blackhole"
[[virtual_rule]]
from = "192.0.2.100/32"
table = 100
preference = 1000
[[virtual_rule]]
to = "2001:db8::/32"
iif = "eth1"
type = "prohibit"
[[virtual_rule]]
fwmark = 7
table = 7
"#,
    );
    let l = load(&d, &HashMap::new(), &UnknownHost).expect("loads");
    let _ = std::fs::remove_dir_all(&d);
    let g = &l.config.groups[0];
    assert_eq!(g.virtual_routes.len(), 3);
    assert_eq!(g.virtual_routes[0].table, Some(100));
    assert_eq!(g.virtual_routes[0].metric, Some(5));
    assert_eq!(g.virtual_routes[1].family(), Family::V6);
    assert_eq!(g.virtual_routes[2].kind, RouteKind::Blackhole);
    assert_eq!(g.virtual_rules.len(), 3);
    assert_eq!(g.virtual_rules[0].action, RuleAction::Table(100));
    assert_eq!(g.virtual_rules[1].family, Family::V6);
    assert_eq!(g.virtual_rules[1].action, RuleAction::Prohibit);
    // No address: the group's family.
    assert_eq!(g.virtual_rules[2].family, Family::V4);
    assert!(g.has_routes());
}

#[test]
fn bad_prefix_is_reported_at_its_value() {
    assert_error(
        "prefix",
        "[[virtual_route]]\nto = \"198.51.100.1/24\"\nvia = \"192.0.2.254\"\n",
        "5:6",
        "did you mean 198.51.100.0/24",
    );
    assert_error(
        "prefix_len",
        "[[virtual_rule]]\nfrom = \"192.0.2.0/40\"\ntable = 1\n",
        "5:8",
        "bad prefix length",
    );
}

#[test]
fn unknown_type_is_reported() {
    assert_error(
        "type",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\ntype = \"throw\"\n",
        "6:8",
        "expected one of \"unicast\", \"blackhole\"",
    );
}

#[test]
fn mixed_families_within_a_route_or_rule_are_reported() {
    assert_error(
        "mixed_route",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\nvia = \"2001:db8::1\"\n",
        "6:7",
        "mixed address families",
    );
    assert_error(
        "mixed_rule",
        "[[virtual_rule]]\nfrom = \"192.0.2.0/24\"\nto = \"2001:db8::/32\"\ntable = 1\n",
        "6:6",
        "mixed address families",
    );
}

#[test]
fn incomplete_or_contradictory_entries_are_reported() {
    assert_error(
        "no_nexthop",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\n",
        "4:1",
        "needs `via` or `dev`",
    );
    assert_error(
        "blackhole_via",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\ntype = \"blackhole\"\nvia = \"192.0.2.1\"\n",
        "7:7",
        "takes no `via`",
    );
    assert_error(
        "no_table",
        "[[virtual_rule]]\nfrom = \"192.0.2.0/24\"\n",
        "4:1",
        "missing required key `table`",
    );
    assert_error(
        "unknown_key",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\ndev = \"eth0\"\ngateway = \"192.0.2.1\"\n",
        "7:1",
        "unknown key `gateway`",
    );
    assert_error(
        "twice",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\ndev = \"eth0\"\n[[virtual_route]]\nto = \"198.51.100.0/24\"\ndev = \"eth0\"\n",
        "7:1",
        "listed twice",
    );
}

#[test]
fn vrrpd_check_exits_2_on_a_bad_route() {
    let d = dir_with(
        "cli",
        "[[virtual_route]]\nto = \"198.51.100.0/24\"\ntype = \"sometimes\"\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&d)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("web.toml:6:8:"), "{err}");
}
