//! The endpoint's own rules, on virtual time and real bytes: demultiplexing
//! by (interface, family, VRID), accounting of packets no group takes,
//! rate-limited drop log lines, sync groups (SPEC §4) and the reload plan
//! (SPEC §5).

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{ms, router_config, v3, v3_vrid};
use vrrpd::proto::auth::AuthConfig;
use vrrpd::proto::bfd::{SessionConfig, SessionKey};
use vrrpd::proto::endpoint::reload::{self, GroupChange, GroupSpec};
use vrrpd::proto::endpoint::{Endpoint, LogWhat, Received};
use vrrpd::proto::instance::{Input, Reason, State};
use vrrpd::proto::receive::{DropReason, RxPacket};
use vrrpd::proto::router::{Event, Router, RouterConfig};
use vrrpd::proto::wire::ipv4::Ipv4Packet;
use vrrpd::proto::{Family, Time};

const WALL: Duration = sim::WALL_EPOCH;

/// A multicast v3 group at priority 100 on `ifindex`.
fn multicast(ep: &mut Endpoint<()>, name: &str, ifindex: u32, vrid: u8, addr: &str) -> usize {
    let cfg = router_config(v3_vrid(vrid, 100, addr), AuthConfig::None);
    group(ep, name, ifindex, cfg)
}

fn group(ep: &mut Endpoint<()>, name: &str, ifindex: u32, cfg: RouterConfig) -> usize {
    let family = Family::of(&cfg.instance.primary_address);
    let i = ep.insert(name, family, cfg.instance.vrid, ());
    ep.start(i, ifindex, cfg).expect("valid config");
    i
}

/// The bytes of one advert (the shipped encoder) of a master at
/// `priority` from `addr`; priority 0 is that master's shutdown release.
fn advert_from(vrid: u8, priority: u8, addr: &str) -> Vec<u8> {
    let p = if priority == 0 { 200 } else { priority };
    let mut r =
        Router::new(router_config(v3_vrid(vrid, p, addr), AuthConfig::None)).expect("valid config");
    r.handle(Time::ZERO, Input::Startup);
    let mut now = Time::ZERO;
    let mut buf = Vec::new();
    for _ in 0..4 {
        while let Some(ev) = r.poll_event() {
            if ev == Event::Transmit
                && let Some(t) = r.poll_transmit(WALL, &mut buf)
            {
                let t = t.expect("encodes");
                if t.priority == priority {
                    buf.truncate(t.len);
                    return buf;
                }
                while r.poll_transmit(WALL, &mut buf).is_some() {}
            }
        }
        if r.state() == State::Master && priority == 0 {
            r.handle(
                now,
                Input::Release(vrrpd::proto::instance::ReleaseReason::Shutdown),
            );
            continue;
        }
        // A non-owner starts as backup: fire its Master_Down timer.
        now = r.poll_timeout().expect("a timer runs");
        r.handle_timeout(now);
    }
    panic!("no advert at priority {priority}");
}

fn rx(bytes: &[u8]) -> RxPacket<'_> {
    RxPacket::from_ipv4_datagram(bytes).expect("valid IPv4 datagram")
}

fn drain(ep: &mut Endpoint<()>, now: Time) -> Vec<(usize, Event)> {
    let mut out = Vec::new();
    while let Some((i, ev)) = ep.poll_event(now) {
        if ev == Event::Transmit {
            let mut buf = Vec::new();
            while ep.poll_transmit(i, WALL + now, &mut buf).is_some() {}
        }
        out.push((i, ev));
    }
    out
}

#[test]
fn endpoint_demuxes_by_interface_and_vrid() {
    let mut ep = Endpoint::new();
    let a = multicast(&mut ep, "a", 1, 51, "192.0.2.1");
    let b = multicast(&mut ep, "b", 2, 51, "192.0.2.1");
    let c = multicast(&mut ep, "c", 1, 52, "192.0.2.1");
    for i in [a, b, c] {
        ep.handle(Time::ZERO, i, Input::Startup);
    }
    drain(&mut ep, Time::ZERO);
    let d51 = advert_from(51, 200, "192.0.2.9");
    let d52 = advert_from(52, 200, "192.0.2.9");
    let now = ms(10);
    assert!(
        matches!(ep.handle_datagram(now, WALL, 2, &rx(&d51)), Received::Accepted { group, .. } if group == b)
    );
    assert!(
        matches!(ep.handle_datagram(now, WALL, 1, &rx(&d51)), Received::Accepted { group, .. } if group == a)
    );
    assert!(
        matches!(ep.handle_datagram(now, WALL, 1, &rx(&d52)), Received::Accepted { group, .. } if group == c)
    );
    // The cached route is re-checked: VRID 52 on interface 2 is nobody's.
    assert_eq!(
        ep.handle_datagram(now, WALL, 2, &rx(&d52)),
        Received::Unmatched {
            reason: DropReason::VridUnknown
        }
    );
    assert_eq!(ep[a].counters.adverts_received, 1);
    assert_eq!(ep[b].counters.adverts_received, 1);
    assert_eq!(ep[c].counters.adverts_received, 1);
}

#[test]
fn unmatched_packets_count_under_every_group_of_their_link_and_family_only() {
    let mut ep = Endpoint::new();
    let a = multicast(&mut ep, "a", 1, 51, "192.0.2.1");
    let b = multicast(&mut ep, "b", 1, 52, "192.0.2.1");
    let other_link = multicast(&mut ep, "c", 2, 51, "192.0.2.1");
    let v6 = multicast(&mut ep, "d", 1, 51, "fe80::1");
    let d = advert_from(77, 200, "192.0.2.9");
    for k in 0..3u64 {
        let r = ep.handle_datagram(ms(k), WALL, 1, &rx(&d));
        assert_eq!(
            r,
            Received::Unmatched {
                reason: DropReason::VridUnknown
            }
        );
    }
    assert_eq!(ep.unmatched, 3);
    for i in [a, b] {
        assert_eq!(
            ep[i].counters.dropped.get("vrid_unknown"),
            Some(&3),
            "group {i}"
        );
    }
    for i in [other_link, v6] {
        assert!(
            ep[i].counters.dropped.is_empty(),
            "group {i}: {:?}",
            ep[i].counters.dropped
        );
    }
    // One log line per group for the burst (rate-limited), none for the rest.
    let lines: Vec<_> = std::iter::from_fn(|| ep.poll_log()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.what == LogWhat::Dropped(DropReason::VridUnknown) && l.suppressed == 0)
    );
    // Too short to carry a VRID: truncated, counted the same way.
    let mut short = d.clone();
    short.truncate(21);
    short[2..4].copy_from_slice(&21u16.to_be_bytes());
    fix_ip_checksum(&mut short);
    assert_eq!(
        ep.handle_datagram(ms(4), WALL, 1, &rx(&short)),
        Received::Unmatched {
            reason: DropReason::Truncated
        }
    );
    assert_eq!(ep[a].counters.dropped.get("truncated"), Some(&1));
}

fn fix_ip_checksum(d: &mut [u8]) {
    Ipv4Packet::new_unchecked(d).fill_checksum();
}

#[test]
fn a_dropped_advert_is_counted_logged_once_per_window_and_moves_no_timer() {
    let mut ep = Endpoint::new();
    let a = group(
        &mut ep,
        "a",
        1,
        router_config(v3(100, "192.0.2.1"), AuthConfig::None),
    );
    ep.handle(Time::ZERO, a, Input::Startup);
    drain(&mut ep, Time::ZERO);
    let before = ep.poll_timeout();
    let mut d = advert_from(51, 200, "192.0.2.9");
    d[8] = 64; // TTL 64: RFC 5798 §7.1 drops it.
    fix_ip_checksum(&mut d);
    for k in 0..5 {
        let r = ep.handle_datagram(ms(10 + k), WALL, 1, &rx(&d));
        assert_eq!(
            r,
            Received::Dropped {
                group: a,
                reason: DropReason::TtlTooLow
            }
        );
    }
    assert_eq!(ep.poll_timeout(), before, "a dropped advert moved a timer");
    assert!(
        ep.poll_event(ms(20)).is_none(),
        "a dropped advert made an event"
    );
    assert_eq!(ep[a].counters.dropped.values().sum::<u64>(), 5);
    assert_eq!(ep[a].counters.adverts_received, 0);
    let lines: Vec<_> = std::iter::from_fn(|| ep.poll_log()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // After the window, the next line says how many were suppressed.
    let later = ms(10) + vrrpd::proto::endpoint::LogLimiter::WINDOW;
    ep.handle_datagram(later, WALL, 1, &rx(&d));
    let line = ep.poll_log().expect("a line after the window");
    assert_eq!(line.suppressed, 4);
}

#[test]
fn sync_group_member_fault_moves_the_others_to_fault_and_back() {
    let mut ep = Endpoint::new();
    let a = group(
        &mut ep,
        "a",
        1,
        router_config(v3_vrid(51, 255, "192.0.2.1"), AuthConfig::None),
    );
    let b = group(
        &mut ep,
        "b",
        1,
        router_config(v3_vrid(52, 255, "192.0.2.1"), AuthConfig::None),
    );
    ep.set_sync_groups([vec!["a".to_string(), "b".to_string()]]);
    ep.handle(Time::ZERO, a, Input::Startup);
    ep.handle(Time::ZERO, b, Input::Startup);
    drain(&mut ep, Time::ZERO);
    assert_eq!(
        (ep[a].state(), ep[b].state()),
        (State::Master, State::Master)
    );
    ep.handle(ms(100), a, Input::LinkDown);
    let events = drain(&mut ep, ms(100));
    assert_eq!((ep[a].state(), ep[b].state()), (State::Fault, State::Fault));
    assert!(
        events.iter().any(|(i, e)| *i == b
            && matches!(e, Event::StateChanged { to: State::Fault, reason, .. } if reason.is_sync())),
        "{events:?}"
    );
    assert_eq!(ep[b].counters.transitions.get("fault"), Some(&1));
    ep.handle(ms(200), a, Input::LinkUp);
    drain(&mut ep, ms(200));
    assert_ne!(ep[b].state(), State::Fault, "b left Fault with a");
    assert_eq!(ep.sync_unsettled, 0);
}

#[test]
fn groups_keep_name_order_and_removal_clears_their_routes() {
    let mut ep = Endpoint::new();
    let d51 = advert_from(51, 200, "192.0.2.9");
    let _c = multicast(&mut ep, "c", 1, 53, "192.0.2.1");
    let _a = multicast(&mut ep, "a", 1, 51, "192.0.2.1");
    let names: Vec<_> = ep.iter().map(|s| s.name().to_string()).collect();
    assert_eq!(names, ["a", "c"]);
    assert!(matches!(
        ep.handle_datagram(ms(1), WALL, 1, &rx(&d51)),
        Received::Accepted { .. }
    ));
    let a = ep.find("a").expect("a");
    ep.remove(a);
    assert_eq!(ep.find("c"), Some(0));
    assert_eq!(
        ep.handle_datagram(ms(2), WALL, 1, &rx(&d51)),
        Received::Unmatched {
            reason: DropReason::VridUnknown
        }
    );
}

#[derive(Clone, Debug, PartialEq)]
struct Spec {
    name: &'static str,
    priority: u8,
    routes: u8,
}

impl GroupSpec for Spec {
    fn name(&self) -> &str {
        self.name
    }
    fn same_except_routes(&self, other: &Spec) -> bool {
        self.name == other.name && self.priority == other.priority
    }
}

fn spec(name: &'static str, priority: u8, routes: u8) -> Spec {
    Spec {
        name,
        priority,
        routes,
    }
}

#[test]
fn reload_plan_keeps_unchanged_groups_restarts_changed_ones_and_stops_before_starting() {
    let old = [
        spec("keep", 100, 0),
        spec("routes", 100, 1),
        spec("changed", 100, 0),
        spec("gone", 100, 0),
    ];
    let new = [
        spec("new", 100, 0),
        spec("changed", 150, 0),
        spec("routes", 100, 2),
        spec("keep", 100, 0),
    ];
    let plan = reload::plan(&old, &new);
    let expect: Vec<(String, GroupChange)> = [
        ("changed", GroupChange::Stop),
        ("gone", GroupChange::Stop),
        ("keep", GroupChange::Keep),
        ("routes", GroupChange::RoutesOnly),
        ("changed", GroupChange::Start),
        ("new", GroupChange::Start),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_string(), c))
    .collect();
    assert_eq!(plan, expect);
    // Nothing changed: nothing stops or starts.
    let same = reload::plan(&old, &old);
    assert!(
        same.iter().all(|(_, c)| *c == GroupChange::Keep),
        "{same:?}"
    );
}

#[test]
fn a_backup_hearing_priority_zero_through_the_endpoint_takes_over_after_skew_time() {
    // RFC 5798 §6.4.2: Master_Down_Timer = Skew_Time on priority 0.
    let mut ep = Endpoint::new();
    let b = group(
        &mut ep,
        "b",
        1,
        router_config(v3(100, "192.0.2.2"), AuthConfig::None),
    );
    ep.handle(Time::ZERO, b, Input::Startup);
    drain(&mut ep, Time::ZERO);
    let zero = advert_from(51, 0, "192.0.2.9");
    let now = ms(500);
    assert!(matches!(
        ep.handle_datagram(now, WALL, 1, &rx(&zero)),
        Received::Accepted { .. }
    ));
    drain(&mut ep, now);
    let skew = ep[b].inst().expect("runs").skew_time();
    assert_eq!(ep.poll_timeout(), Some(now + skew));
    ep.handle_timeout(now + skew);
    let events = drain(&mut ep, now + skew);
    assert!(
        events.iter().any(|(_, e)| matches!(
            e,
            Event::StateChanged {
                to: State::Master,
                reason: Reason::PriorityZeroReceived,
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(ep[b].counters.priority_zero_received, 1);
    let _: Option<IpAddr> = ep[b].source();
}

fn unicast(vrid: u8, priority: u8, addr: &str, peers: &[&str]) -> RouterConfig {
    let mut rc = router_config(v3_vrid(vrid, priority, addr), AuthConfig::None);
    let peers: Vec<IpAddr> = peers.iter().map(|p| p.parse().expect("peer")).collect();
    rc.tx.unicast_peers = peers.clone();
    rc.rx.unicast_peers = peers;
    rc
}

fn bfd(tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: ms(tx_ms),
        required_min_rx: ms(rx_ms),
        detect_mult: mult,
    }
}

#[test]
fn groups_naming_one_peer_share_one_bfd_session_at_the_fastest_parameters() {
    let mut ep = Endpoint::new();
    let a = group(
        &mut ep,
        "a",
        1,
        unicast(51, 100, "192.0.2.1", &["192.0.2.2"]),
    );
    let b = group(
        &mut ep,
        "b",
        1,
        unicast(52, 100, "192.0.2.1", &["192.0.2.2", "192.0.2.3"]),
    );
    let no_bfd = group(
        &mut ep,
        "c",
        1,
        unicast(53, 100, "192.0.2.1", &["192.0.2.4"]),
    );
    ep[a].bfd = Some(bfd(50, 300, 3));
    ep[b].bfd = Some(bfd(100, 100, 5));
    let w = ep.bfd_wanted();
    let key = |p: &str| SessionKey {
        ifindex: 1,
        peer: p.parse().expect("peer"),
    };
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(w[&key("192.0.2.2")].0, bfd(50, 100, 3));
    assert_eq!(w[&key("192.0.2.3")], (bfd(100, 100, 5), b));
    assert!(
        !w.contains_key(&key("192.0.2.4")),
        "group {no_bfd} has no BFD"
    );
}

#[test]
fn a_bfd_peer_failure_reaches_only_the_groups_with_bfd_to_that_peer_on_that_link() {
    let mut ep = Endpoint::new();
    let peer = "192.0.2.9";
    let a = group(&mut ep, "a", 1, unicast(51, 100, "192.0.2.1", &[peer]));
    let other_link = group(&mut ep, "b", 2, unicast(52, 100, "192.0.2.1", &[peer]));
    let no_bfd = group(&mut ep, "c", 1, unicast(53, 100, "192.0.2.1", &[peer]));
    for i in [a, other_link] {
        ep[i].bfd = Some(bfd(10, 10, 3));
    }
    for i in [a, other_link, no_bfd] {
        ep.handle(Time::ZERO, i, Input::Startup);
    }
    drain(&mut ep, Time::ZERO);
    // The peer is master of every VRID: its adverts arrive first.
    let mut now = ms(10);
    for (vrid, ifindex) in [(51, 1), (52, 2), (53, 1)] {
        let mut cfg = unicast(vrid, 200, peer, &["192.0.2.1"]);
        cfg.instance.priority = 200;
        let d = advert_bytes(cfg);
        assert!(matches!(
            ep.handle_datagram(now, WALL, ifindex, &rx(&d)),
            Received::Accepted { .. }
        ));
    }
    drain(&mut ep, now);
    now += ms(20);
    ep.handle_peer_down(
        now,
        SessionKey {
            ifindex: 1,
            peer: peer.parse().expect("peer"),
        },
    );
    drain(&mut ep, now);
    assert_eq!(
        ep[a].state(),
        State::Master,
        "RFC 5798 §6.4.2 via BFD: the backup takes over at once"
    );
    assert_eq!(
        ep[other_link].state(),
        State::Backup,
        "another link's session is another session"
    );
    assert_eq!(
        ep[no_bfd].state(),
        State::Backup,
        "a group without BFD waits for Master_Down"
    );
}

/// The first advert of a node configured by `cfg` once it is master.
fn advert_bytes(cfg: RouterConfig) -> Vec<u8> {
    let mut r = Router::new(cfg).expect("valid config");
    r.handle(Time::ZERO, Input::Startup);
    let mut buf = Vec::new();
    for _ in 0..3 {
        while let Some(ev) = r.poll_event() {
            if ev == Event::Transmit
                && let Some(t) = r.poll_transmit(WALL, &mut buf)
            {
                buf.truncate(t.expect("encodes").len);
                return buf;
            }
        }
        let t = r.poll_timeout().expect("a timer runs");
        r.handle_timeout(t);
    }
    panic!("no advert");
}
