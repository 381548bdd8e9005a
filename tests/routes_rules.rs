//! Virtual routes and rules (SPEC §2.2) in the core, on virtual time: they
//! are present exactly while the VIPs are (installed right after them,
//! removed right before them), a route-only reload while master updates
//! them without touching the state, and the reload diff keeps what stays.

mod sim;

use std::time::Duration;

use sim::{Lan, secs_f, v3};
use vrrpd::proto::instance::{Action, Input, Instance, InstanceConfig, ReleaseReason, State};
use vrrpd::proto::routes::{Prefix, RouteKind, VirtualRoute, diff};

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";
const D: Duration = Duration::from_millis(1);

fn with_routes(c: InstanceConfig) -> InstanceConfig {
    InstanceConfig { routes: true, ..c }
}

fn pair() -> (Lan, usize, usize) {
    let mut lan = Lan::new(D);
    let a = lan.add("a", with_routes(v3(150, A)));
    let b = lan.add("b", with_routes(v3(100, B)));
    lan.start_all();
    lan.run_until(secs_f(5.0));
    assert_eq!(lan.masters(), vec![a]);
    (lan, a, b)
}

/// Replays the log: each router's AddRoutes comes right after its AddVips
/// and its RemoveRoutes right before its RemoveVips, so the routes are on a
/// router exactly while its VIPs are. Returns who holds routes at the end.
fn routes_follow_vips(lan: &Lan) -> Vec<bool> {
    let n = lan.routers.len();
    let mut last: Vec<Option<Action>> = vec![None; n];
    let mut routes = vec![false; n];
    for e in &lan.log {
        let prev = last[e.router];
        match e.action {
            Action::AddRoutes => {
                assert_eq!(
                    prev,
                    Some(Action::AddVips),
                    "AddRoutes not right after AddVips: {e:?}"
                );
                routes[e.router] = true;
            }
            Action::RemoveVips => {
                assert_eq!(
                    prev,
                    Some(Action::RemoveRoutes),
                    "RemoveVips without RemoveRoutes first: {e:?}"
                );
            }
            Action::RemoveRoutes => routes[e.router] = false,
            _ => {}
        }
        if matches!(
            e.action,
            Action::AddVips | Action::AddRoutes | Action::RemoveRoutes | Action::RemoveVips
        ) {
            last[e.router] = Some(e.action);
        }
    }
    routes
}

#[test]
fn routes_follow_mastership_across_a_link_cut_and_back() {
    let (mut lan, a, b) = pair();
    assert_eq!(routes_follow_vips(&lan), vec![true, false]);
    lan.input(a, Input::LinkDown);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.state(a), State::Fault);
    assert_eq!(lan.masters(), vec![b]);
    assert_eq!(routes_follow_vips(&lan), vec![false, true]);
    lan.input(a, Input::LinkUp);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![a]);
    assert_eq!(routes_follow_vips(&lan), vec![true, false]);
}

#[test]
fn routes_follow_mastership_when_the_master_dies_and_on_release() {
    let (mut lan, a, b) = pair();
    lan.kill(a);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![b]);
    // a died holding them: only the shell's start-up cleanup can help it.
    assert_eq!(routes_follow_vips(&lan), vec![true, true]);

    let (mut lan, a, b) = pair();
    let t0 = lan.now;
    lan.release(a, ReleaseReason::Handover);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![b]);
    assert_eq!(routes_follow_vips(&lan), vec![false, true]);
    // Make before break: a's routes go when its VIPs go, after b added its own.
    let removed = lan
        .events(a)
        .find(|e| e.at >= t0 && e.action == Action::RemoveRoutes)
        .map(|e| e.at)
        .expect("a removed its routes");
    let added = lan
        .events(b)
        .find(|e| e.action == Action::AddRoutes)
        .map(|e| e.at)
        .expect("b added routes");
    assert!(added < removed, "b {added:?} / a {removed:?}");
}

#[test]
fn a_group_without_routes_emits_no_route_actions() {
    let mut lan = Lan::new(D);
    let a = lan.add("a", v3(150, A));
    let b = lan.add("b", v3(100, B));
    lan.start_all();
    lan.run_until(secs_f(5.0));
    lan.input(a, Input::LinkDown);
    lan.run_for(Duration::from_secs(5));
    assert!(lan.log.iter().all(|e| !matches!(
        e.action,
        Action::AddRoutes | Action::RemoveRoutes | Action::UpdateRoutes
    )));
    assert_eq!(lan.masters(), vec![b]);
}

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

#[test]
fn routes_changed_by_a_reload_update_a_master_and_keep_its_state() {
    let mut i = Instance::new(v3(255, A)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    assert_eq!(i.state(), State::Master);
    let acts = drain(&mut i);
    assert!(!acts.contains(&Action::AddRoutes), "{acts:?}");
    let t = Duration::from_secs(1);
    // Routes appear: installed now, nothing else happens.
    i.handle(t, Input::RoutesChanged { present: true });
    assert_eq!(drain(&mut i), vec![Action::UpdateRoutes]);
    assert_eq!(i.state(), State::Master);
    // ... and go with the VIPs.
    i.handle(t, Input::LinkDown);
    let acts = drain(&mut i);
    let pos = |a| acts.iter().position(|x| *x == a);
    assert!(
        pos(Action::RemoveRoutes) < pos(Action::RemoveVips),
        "{acts:?}"
    );
    assert!(pos(Action::RemoveRoutes).is_some());
    // Not master: a change is only remembered.
    i.handle(t, Input::RoutesChanged { present: true });
    assert_eq!(drain(&mut i), vec![]);
    i.handle(t, Input::LinkUp);
    let acts = drain(&mut i);
    assert!(
        pos_of(&acts, Action::AddVips) < pos_of(&acts, Action::AddRoutes),
        "{acts:?}"
    );
    // All routes removed by a reload while master: one update, and none on
    // the next release.
    i.handle(t, Input::RoutesChanged { present: false });
    assert_eq!(drain(&mut i), vec![Action::UpdateRoutes]);
    i.handle(t, Input::LinkDown);
    assert!(!drain(&mut i).contains(&Action::RemoveRoutes));
}

fn pos_of(acts: &[Action], a: Action) -> Option<usize> {
    acts.iter().position(|x| *x == a)
}

fn route(to: &str, table: u32) -> VirtualRoute {
    VirtualRoute {
        to: Prefix::parse(to).unwrap(),
        via: Some("192.0.2.254".parse().unwrap()),
        dev: None,
        src: None,
        table: Some(table),
        metric: None,
        kind: RouteKind::Unicast,
    }
}

#[test]
fn reload_diff_keeps_what_stays_and_changes_the_rest() {
    let old = vec![route("198.51.100.0/24", 100), route("203.0.113.0/24", 100)];
    let new = vec![route("203.0.113.0/24", 100), route("198.51.100.0/25", 100)];
    let (remove, add) = diff(&old, &new);
    assert_eq!(remove, vec![route("198.51.100.0/24", 100)]);
    assert_eq!(add, vec![route("198.51.100.0/25", 100)]);
    // The same route in another table is another route.
    let (remove, add) = diff(&old[..1], &[route("198.51.100.0/24", 101)]);
    assert_eq!((remove.len(), add.len()), (1, 1));
}

#[test]
fn prefixes_with_host_bits_are_rejected_like_ip_route_does() {
    assert!(
        Prefix::parse("198.51.100.1/24")
            .unwrap_err()
            .contains("198.51.100.0/24")
    );
    assert!(
        Prefix::parse("2001:db8::1/64")
            .unwrap_err()
            .contains("2001:db8::/64")
    );
    assert_eq!(Prefix::parse("0.0.0.0/0").unwrap().len, 0);
    assert_eq!(Prefix::parse("192.0.2.100").unwrap().len, 32);
    assert!(Prefix::parse("192.0.2.0/33").is_err());
}
