//! proto::router: the rules of one group's core that sit between the state
//! machine and the wire (event order, one copy per destination, IP ids, AH
//! sequence continuity), on virtual time with bytes.

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{WALL_EPOCH, cfg, router_config, v3};
use vrrpd::proto::Version;
use vrrpd::proto::auth::AuthConfig;
use vrrpd::proto::instance::{Input, Reason, ReleaseReason, State};
use vrrpd::proto::receive::RxPacket;
use vrrpd::proto::router::{Event, Router, RouterConfig};
use vrrpd::proto::wire::IPPROTO_AH;

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Every event queued, each Transmit with the datagrams it sent, as the
/// daemon handles them.
fn carry_out(r: &mut Router, now: Duration) -> Vec<(Event, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    while let Some(e) = r.poll_event() {
        let sent = if e == Event::Transmit {
            datagrams(r, now)
        } else {
            Vec::new()
        };
        out.push((e, sent));
    }
    out
}

fn events(r: &mut Router) -> Vec<Event> {
    carry_out(r, Duration::ZERO)
        .into_iter()
        .map(|(e, _)| e)
        .collect()
}

/// Every datagram of the Transmit just polled.
fn datagrams(r: &mut Router, now: Duration) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(t) = r.poll_transmit(WALL_EPOCH + now, &mut buf) {
        let t = t.unwrap();
        out.push(buf[..t.len].to_vec());
    }
    out
}

fn sent(c: &[(Event, Vec<Vec<u8>>)]) -> Vec<Vec<u8>> {
    c.iter().flat_map(|(_, d)| d.clone()).collect()
}

fn master(cfg: RouterConfig) -> (Router, Duration) {
    let mut r = Router::new(cfg).unwrap();
    r.handle(Duration::ZERO, Input::Startup);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

#[test]
fn a_master_after_silence_adverts_before_it_adds_and_announces_its_vips() {
    // RFC 5798 §6.4.2: on Master_Down_Timer, send an advert, then take the
    // addresses (no live master to make room for).
    let mut r = Router::new(router_config(v3(100, A), AuthConfig::None)).unwrap();
    r.handle(Duration::ZERO, Input::Startup);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    let ev = events(&mut r);
    let pos = |e: Event| ev.iter().position(|x| *x == e).unwrap();
    assert!(pos(Event::Transmit) < pos(Event::AddVips), "{ev:?}");
    assert!(pos(Event::AddVips) < pos(Event::Announce), "{ev:?}");
}

#[test]
fn a_planned_takeover_adds_and_announces_before_its_first_advert() {
    // SPEC §4: the old master released with priority 0 and still serves;
    // clients must point here before it lets go.
    let mut b = Router::new(router_config(v3(100, B), AuthConfig::None)).unwrap();
    let (mut a, t) = master(router_config(v3(150, A), AuthConfig::None));
    events(&mut a);
    b.handle(t, Input::Startup);
    events(&mut b);
    a.handle(t, Input::Release(ReleaseReason::Handover));
    let c = carry_out(&mut a, t);
    assert_eq!(c[0].0, Event::Transmit);
    let zero = sent(&c).remove(0);
    let pkt = RxPacket::from_ipv4_datagram(&zero).unwrap();
    b.handle_datagram(t, WALL_EPOCH + t, &pkt).unwrap();
    let t2 = b.poll_timeout().unwrap();
    b.handle_timeout(t2);
    let ev = events(&mut b);
    let pos = |e: Event| ev.iter().position(|x| *x == e).unwrap();
    assert!(pos(Event::AddVips) < pos(Event::Transmit), "{ev:?}");
    assert!(pos(Event::Announce) < pos(Event::Transmit), "{ev:?}");
}

#[test]
fn one_copy_per_unicast_peer_each_with_its_own_ip_id() {
    let mut c = router_config(v3(150, A), AuthConfig::None);
    c.rx.unicast_peers = vec![ip(B), ip("192.0.2.3")];
    c.tx.unicast_peers = c.rx.unicast_peers.clone();
    let (mut r, t) = master(c);
    let copies = sent(&carry_out(&mut r, t));
    assert_eq!(copies.len(), 2);
    let dst: Vec<_> = copies
        .iter()
        .map(|d| RxPacket::from_ipv4_datagram(d).unwrap().dst)
        .collect();
    assert_eq!(dst, vec![ip(B), ip("192.0.2.3")]);
    let ids: Vec<u16> = copies
        .iter()
        .map(|d| u16::from_be_bytes([d[4], d[5]]))
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn an_advert_the_shell_did_not_send_is_never_sent_later() {
    let (mut r, t) = master(router_config(v3(150, A), AuthConfig::None));
    // Poll the events but skip the transmit ...
    assert!(events(&mut r).contains(&Event::Transmit));
    // ... the next poll_transmit has nothing: no stale advert.
    assert!(datagrams(&mut r, t).is_empty());
    // The next advert (after the gratuitous-ARP rounds) is one advert.
    for _ in 0..20 {
        let next = r.poll_timeout().unwrap();
        r.handle_timeout(next);
        let c = carry_out(&mut r, next);
        if let Some((_, d)) = c.iter().find(|(e, _)| *e == Event::Transmit) {
            assert_eq!(d.len(), 1, "exactly this interval's advert: {c:?}");
            return;
        }
    }
    panic!("no advert in 20 wake-ups");
}

fn ah_seq(d: &[u8]) -> u32 {
    let pkt = RxPacket::from_ipv4_datagram(d).unwrap();
    assert_eq!(pkt.protocol, IPPROTO_AH);
    u32::from_be_bytes(pkt.payload[8..12].try_into().unwrap())
}

#[test]
fn a_bfd_takeover_skips_the_ah_sequence_ahead_like_a_master_down_takeover() {
    // The old master was not released: it may have counted adverts we never
    // saw, and keepalived drops seq <= its own counter.
    let ah = || AuthConfig::Ah { key: *b"secret12" };
    let (mut a, t) = master(router_config(cfg(Version::V2, 150, 100, A), ah()));
    carry_out(&mut a, t);
    let mut b = Router::new(router_config(cfg(Version::V2, 100, 100, B), ah())).unwrap();
    b.handle(t, Input::Startup);
    events(&mut b);
    let mut last = 0;
    let mut now = t;
    let mut adverts = 0;
    for _ in 0..50 {
        if adverts >= 3 {
            break;
        }
        now = a.poll_timeout().unwrap();
        a.handle_timeout(now);
        for d in sent(&carry_out(&mut a, now)) {
            adverts += 1;
            last = ah_seq(&d);
            let pkt = RxPacket::from_ipv4_datagram(&d).unwrap();
            b.handle_datagram(now, WALL_EPOCH + now, &pkt).unwrap();
        }
        carry_out(&mut b, now);
    }
    assert!(last > 0);
    b.handle(now, Input::PeerDown { peer: ip(A) });
    let c = carry_out(&mut b, now);
    assert!(
        c.iter().any(|(e, _)| matches!(
            e,
            Event::StateChanged {
                to: State::Master,
                reason: Reason::BfdPeerDown,
                ..
            }
        )),
        "{c:?}"
    );
    let first = sent(&c);
    assert!(
        ah_seq(&first[0]) > last + 1,
        "{} after {last}",
        ah_seq(&first[0])
    );
}
