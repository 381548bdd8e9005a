//! `[[virtual_route]]` / `[[virtual_rule]]` (SPEC §2.2): present only on the
//! master, IPv4 and IPv6; they follow mastership across a link-cut failover
//! and back; a SIGKILL leaves them behind and the next start removes them,
//! never the operator's own route and rule in the same table; a reload that
//! changes only a route keeps the master master and applies the change; a
//! `via` the kernel cannot reach is logged and the group keeps running.

#[path = "ops_common.rs"]
mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const ROUTES: &str = r#"
[[virtual_route]]
to = "198.51.100.0/24"
via = "192.0.2.254"
table = 100
[[virtual_route]]
to = "2001:db8:1::/48"
dev = "eth0"
table = 100
[[virtual_rule]]
from = "192.0.2.100/32"
table = 100
preference = 1000
[[virtual_rule]]
from = "2001:db8::100/128"
table = 100
preference = 1000
"#;

/// Not through eth0: the link cut below must not make the kernel flush it.
const OPERATOR_ROUTE: &str = "blackhole 203.0.113.0/24";
const OPERATOR_RULE: &str = "from 192.0.2.200 lookup 100";

/// What one node has of ours (v4 route, v6 route, v4 rule, v6 rule) and of
/// the operator's (route, rule).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    ours: [bool; 4],
    operator: [bool; 2],
}

/// `ip ARGS` output; an empty table is "does not exist" to `ip`, so a
/// failing listing is read as empty.
fn show(n: &Node, args: &[&str]) -> String {
    run(n.ns.cmd("ip").args(args))
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn seen(n: &Node) -> Seen {
    let r4 = show(n, &["route", "show", "table", "100"]);
    let r6 = show(n, &["-6", "route", "show", "table", "100"]);
    let u4 = n.ns.ip(&["rule", "show"]);
    let u6 = n.ns.ip(&["-6", "rule", "show"]);
    Seen {
        ours: [
            r4.contains("198.51.100.0/24 via 192.0.2.254"),
            r6.contains("2001:db8:1::/48 dev eth0"),
            u4.contains("from 192.0.2.100 lookup 100"),
            u6.contains("from 2001:db8::100 lookup 100"),
        ],
        operator: [r4.contains(OPERATOR_ROUTE), u4.contains(OPERATOR_RULE)],
    }
}

fn all_ours(n: &Node) -> bool {
    seen(n).ours == [true; 4]
}

fn none_ours(n: &Node) -> bool {
    seen(n).ours == [false; 4]
}

fn tables(n: &Node) -> String {
    format!(
        "\n{} table 100:\n{}{}rules:\n{}{}",
        n.name,
        show(n, &["route", "show", "table", "100"]),
        show(n, &["-6", "route", "show", "table", "100"]),
        n.ns.ip(&["rule", "show"]),
        n.ns.ip(&["-6", "rule", "show"]),
    )
}

fn expect(p: &Pair, ok: bool, what: &str) {
    p.check(ok, &format!("{what}{}{}", tables(&p.a), tables(&p.b)));
}

/// The operator's own route and rule in table 100 on both nodes, before
/// vrrpd starts.
fn add_operator_entries(n: &Node) {
    n.ns.ip(&[
        "route",
        "add",
        "blackhole",
        "203.0.113.0/24",
        "table",
        "100",
    ]);
    n.ns.ip(&[
        "rule",
        "add",
        "from",
        "192.0.2.200",
        "table",
        "100",
        "pref",
        "2000",
    ]);
}

#[test]
fn routes_and_rules_follow_mastership_and_a_sigkill_leaves_nothing_stale() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut p = Pair::start(|a, b| {
        for n in [&*a, &*b] {
            add_operator_entries(n);
        }
        a.write_group("web", &group(51, 150, A, B, VIP, ROUTES));
        b.write_group("web", &group(51, 100, B, A, VIP, ROUTES));
    });
    let ok = wait_until(Duration::from_secs(3), || all_ours(&p.a) && none_ours(&p.b));
    expect(
        &p,
        ok,
        "start: the routes and rules are not on the master only",
    );
    let st = group_status(&p.a, "web").expect("status of a");
    expect(
        &p,
        st["virtual_routes"]
            .as_array()
            .is_some_and(|r| r.len() == 2 && r.iter().all(|x| x["installed"] == true))
            && st["virtual_rules"][0]["installed"] == true,
        &format!("status --json of the master does not show its installed routes: {st}"),
    );

    // Link-cut failover: a faults, b takes over. The kernel would drop a's
    // routes through eth0 by itself, but not the rules: vrrpd takes them back.
    p.a.ns.ip(&["link", "set", "eth0", "down"]);
    let ok = wait_until(Duration::from_secs(5), || {
        all_ours(&p.b) && none_ours(&p.a) && state_of(&p.b, "web") == "master"
    });
    expect(
        &p,
        ok,
        "after a's link cut: the routes and rules did not move to b",
    );
    p.a.ns.ip(&["link", "set", "eth0", "up"]);
    let ok = wait_until(Duration::from_secs(5), || all_ours(&p.a) && none_ours(&p.b));
    expect(
        &p,
        ok,
        "after a's link came back: a did not take the routes and rules back",
    );
    p.settle("back");

    // SIGKILL the master: its routes and rules stay behind.
    p.a.signal(9);
    let ok = wait_until(Duration::from_secs(5), || {
        all_ours(&p.b) && state_of(&p.b, "web") == "master"
    });
    expect(
        &p,
        ok,
        "after SIGKILL of a: b did not take over with the routes",
    );
    expect(
        &p,
        all_ours(&p.a),
        "a killed master keeps what it added (nothing ran)",
    );
    // Restart it below b's priority: it stays backup, so whatever is left
    // of ours in a is what the start-up cleanup missed.
    let _ = p.a.stop(9, Duration::from_secs(2));
    p.a.write_group("web", &group(51, 50, A, B, VIP, ROUTES));
    p.a.start();
    let ok = wait_until(Duration::from_secs(5), || state_of(&p.a, "web") == "backup");
    expect(&p, ok, "restarted a did not come up as backup");
    expect(
        &p,
        none_ours(&p.a) && all_ours(&p.b),
        "after the restart, a still has stale routes or rules",
    );
    for n in [&p.a, &p.b] {
        expect(
            &p,
            seen(n).operator == [true, true],
            &format!("the operator's own route or rule on {} is gone", n.name),
        );
    }
    expect(
        &p,
        p.a.log_text()
            .contains("removed stale virtual routes and rules"),
        "the start-up cleanup was not logged",
    );

    // A clean stop of the master takes its routes back too.
    let _ = p.b.stop(15, Duration::from_secs(5));
    let ok = wait_until(Duration::from_secs(5), || all_ours(&p.a));
    expect(
        &p,
        ok,
        "after b stopped, a did not take over with the routes",
    );
    expect(&p, none_ours(&p.b), "b left its routes behind on SIGTERM");
}

#[test]
fn reload_changing_only_a_route_keeps_the_master_and_an_unreachable_via_is_logged() {
    require_netns!();
    let _g = lock(&SERIAL);
    let p = Pair::start(|a, b| {
        a.write_group("web", &group(51, 150, A, B, VIP, ROUTES));
        b.write_group("web", &group(51, 100, B, A, VIP, ROUTES));
    });
    let ok = wait_until(Duration::from_secs(3), || all_ours(&p.a) && none_ours(&p.b));
    expect(
        &p,
        ok,
        "start: the routes and rules are not on the master only",
    );
    let before = (changes(&p.a, "web").len(), changes(&p.b, "web").len());

    // The first route moves to another prefix, and one whose via no route
    // reaches is added.
    let new_routes = ROUTES.replace("198.51.100.0/24", "198.51.100.128/25")
        + "[[virtual_route]]\nto = \"203.0.113.128/25\"\nvia = \"198.51.100.77\"\n";
    for (n, prio, me, peer) in [(&p.b, 100, B, A), (&p.a, 150, A, B)] {
        n.write_group("web", &group(51, prio, me, peer, VIP, &new_routes));
        let (code, out, err) = n.cli(&["reload"]);
        expect(
            &p,
            code == 0,
            &format!("reload on {}: exit {code} {out}{err}", n.name),
        );
    }
    let ok = wait_until(Duration::from_secs(3), || {
        let r = show(&p.a, &["route", "show", "table", "100"]);
        r.contains("198.51.100.128/25 via 192.0.2.254") && !r.contains("198.51.100.0/24")
    });
    expect(&p, ok, "the reload did not replace the route on the master");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after the reload");
    expect(
        &p,
        (changes(&p.a, "web").len(), changes(&p.b, "web").len()) == before,
        "a reload that changed only routes changed a state",
    );
    expect(
        &p,
        state_of(&p.a, "web") == "master",
        "a is no longer master",
    );
    let s = seen(&p.a);
    expect(
        &p,
        s.ours[1..] == [true; 3],
        "the unchanged routes and rules went",
    );
    expect(
        &p,
        !show(&p.b, &["route", "show", "table", "100"]).contains("198.51.100"),
        "the backup installed a route on reload",
    );
    let log = p.a.log_text();
    expect(
        &p,
        log.lines().any(|l| {
            l.contains("cannot add virtual route")
                && l.contains("198.51.100.77")
                && l.to_lowercase().contains("unreachable")
        }),
        "the unreachable via was not logged with the kernel's error",
    );
    let st = group_status(&p.a, "web").expect("status of a");
    let bad = st["virtual_routes"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["to"] == "203.0.113.128/25").cloned());
    expect(
        &p,
        bad.is_some_and(|b| b["installed"] == false),
        &format!("status does not show the unreachable route as not installed: {st}"),
    );
}
