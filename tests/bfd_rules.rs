//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop) on virtual time:
//! two `Sessions` endpoints exchange BYTES over a simulated link with
//! latency and loss. Each test is named after the rule it checks.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vrrpd::proto::bfd::{
    BfdDrop, ControlPacket, Diag, SessionConfig, SessionEvent, SessionKey, SessionState, Sessions,
    packet,
};
use vrrpd::proto::instance::{Action, Input, Instance, Reason, RxAdvert, State};

mod sim;

const IF: u32 = 2;
const LATENCY: Duration = Duration::from_micros(200);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cfg(tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: ms(tx_ms),
        required_min_rx: ms(rx_ms),
        detect_mult: mult,
    }
}

/// Two endpoints, A (192.0.2.1) and B (192.0.2.2), one session each to the
/// other, and the packets in flight.
struct Link {
    now: Duration,
    a: Sessions,
    b: Sessions,
    /// (arrival, to_b, bytes)
    wire: Vec<(Duration, bool, [u8; packet::LEN])>,
    /// Drop A->B (resp. B->A) packets while this says so.
    cut_ab: bool,
    cut_ba: bool,
    /// Drop the n-th packet of a direction when this says so.
    lose: Box<dyn FnMut(u64) -> bool>,
    sent_a: u64,
    sent_b: u64,
    events_a: Vec<(Duration, SessionEvent)>,
    events_b: Vec<(Duration, SessionEvent)>,
    tx_times_a: Vec<Duration>,
}

fn key_of(peer: &str) -> SessionKey {
    SessionKey {
        ifindex: IF,
        peer: ip(peer),
    }
}

impl Link {
    fn new(ca: SessionConfig, cb: SessionConfig) -> Link {
        let mut a = Sessions::new(1);
        let mut b = Sessions::new(2);
        a.sync(Duration::ZERO, &BTreeMap::from([(key_of("192.0.2.2"), ca)]));
        b.sync(Duration::ZERO, &BTreeMap::from([(key_of("192.0.2.1"), cb)]));
        Link {
            now: Duration::ZERO,
            a,
            b,
            wire: Vec::new(),
            cut_ab: false,
            cut_ba: false,
            lose: Box::new(|_| false),
            sent_a: 0,
            sent_b: 0,
            events_a: Vec::new(),
            events_b: Vec::new(),
            tx_times_a: Vec::new(),
        }
    }

    /// Run to `until`, stepping to each next wake-up (timers or arrivals).
    fn run_until(&mut self, until: Duration) {
        for _ in 0..1_000_000 {
            self.flush();
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.wire.iter().map(|w| w.0).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(t) = next.filter(|t| *t <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(t);
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|w| w.0 <= now);
            self.wire = rest;
            for (_, to_b, bytes) in due {
                if to_b {
                    let _ = self
                        .b
                        .handle_datagram(now, IF, ip("192.0.2.1"), 255, &bytes);
                } else {
                    let _ = self
                        .a
                        .handle_datagram(now, IF, ip("192.0.2.2"), 255, &bytes);
                }
            }
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
        }
        panic!("simulation did not reach {until:?}");
    }

    fn flush(&mut self) {
        let now = self.now;
        while let Some((_, bytes)) = self.a.poll_transmit(now) {
            self.tx_times_a.push(now);
            self.sent_a += 1;
            if !self.cut_ab && !(self.lose)(self.sent_a) {
                self.wire.push((now + LATENCY, true, bytes));
            }
        }
        while let Some((_, bytes)) = self.b.poll_transmit(now) {
            self.sent_b += 1;
            if !self.cut_ba && !(self.lose)(self.sent_b) {
                self.wire.push((now + LATENCY, false, bytes));
            }
        }
        while let Some((_, e)) = self.a.poll_event() {
            self.events_a.push((now, e));
        }
        while let Some((_, e)) = self.b.poll_event() {
            self.events_b.push((now, e));
        }
    }

    fn state_a(&self) -> SessionState {
        self.a.get(&key_of("192.0.2.2")).unwrap().state()
    }

    fn state_b(&self) -> SessionState {
        self.b.get(&key_of("192.0.2.1")).unwrap().state()
    }

    fn up_pair(tx: u64, mult: u8) -> Link {
        let mut l = Link::new(cfg(tx, tx, mult), cfg(tx, tx, mult));
        l.run_until(Duration::from_secs(5));
        assert_eq!(
            (l.state_a(), l.state_b()),
            (SessionState::Up, SessionState::Up)
        );
        l
    }
}

#[test]
fn bfd_three_way_handshake_brings_both_sessions_up() {
    // RFC 5880 §6.2: Down -> Init -> Up on both sides, one Up event each.
    let mut l = Link::new(cfg(10, 10, 3), cfg(10, 10, 3));
    l.run_until(Duration::from_secs(3));
    assert_eq!(l.state_a(), SessionState::Up);
    assert_eq!(l.state_b(), SessionState::Up);
    assert_eq!(
        l.events_a
            .iter()
            .filter(|e| e.1 == SessionEvent::Up)
            .count(),
        1
    );
    assert_eq!(
        l.events_b
            .iter()
            .filter(|e| e.1 == SessionEvent::Up)
            .count(),
        1
    );
    // Both learned each other's discriminator.
    let sa = l.a.get(&key_of("192.0.2.2")).unwrap();
    let sb = l.b.get(&key_of("192.0.2.1")).unwrap();
    assert_eq!(sa.remote_discr(), sb.local_discr());
    assert_eq!(sb.remote_discr(), sa.local_discr());
    // Up within a few slow (1 s) intervals at most.
    assert!(l.events_a[0].0 < Duration::from_secs(2), "{:?}", l.events_a);
}

#[test]
fn bfd_slow_start_then_poll_sequence_to_the_configured_interval() {
    // RFC 5880 §6.8.3: at least 1 s while not Up; the faster rate once Up
    // follows a Poll Sequence, which the Final ends.
    let mut l = Link::up_pair(10, 3);
    let sa = l.a.get(&key_of("192.0.2.2")).unwrap();
    assert!(!sa.polling(), "the Poll Sequence never ended");
    assert_eq!(sa.tx_interval(), ms(10));
    assert_eq!(sa.detection_time(), ms(30));
    // Steady state: about 100 packets a second from A.
    let from = l.tx_times_a.len();
    let t0 = l.now;
    l.run_until(t0 + Duration::from_secs(1));
    let n = l.tx_times_a.len() - from;
    assert!((100..=134).contains(&n), "{n} packets in 1 s at 10 ms");
}

#[test]
fn bfd_transmit_jitter_stays_within_75_to_100_percent() {
    // RFC 5880 §6.8.7.
    let mut l = Link::up_pair(10, 3);
    let from = l.tx_times_a.len();
    let t0 = l.now;
    l.run_until(t0 + Duration::from_secs(2));
    let gaps: Vec<_> = l.tx_times_a[from..]
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    assert!(gaps.len() > 150);
    for g in &gaps {
        assert!(
            *g >= Duration::from_micros(7500) && *g <= ms(10),
            "gap {g:?} outside 75-100 % of 10 ms"
        );
    }
    // It is jitter, not a constant.
    assert!(gaps.iter().min() != gaps.iter().max());
}

#[test]
fn bfd_peer_death_is_detected_within_the_detection_time() {
    // RFC 5880 §6.8.4: Down with diag 1 once Detection Time passes without
    // a packet.
    let mut l = Link::up_pair(10, 3);
    l.run_until(l.now + ms(500));
    let cut = l.now;
    l.cut_ba = true;
    l.run_until(cut + ms(200));
    assert_eq!(l.state_a(), SessionState::Down);
    let (t, e) = *l.events_a.last().unwrap();
    assert_eq!(
        e,
        SessionEvent::Down {
            diag: Diag::ControlDetectionTimeExpired
        }
    );
    assert!(e.is_peer_failure());
    // At most 3 x 10 ms after the last packet that got through (sent at
    // most 10 ms before the cut).
    assert!(t - cut <= ms(31), "detected {:?} after the cut", t - cut);
    assert!(
        t - cut >= ms(20),
        "detected {:?} after the cut: too early",
        t - cut
    );
}

#[test]
fn bfd_loss_below_the_multiplier_never_flaps() {
    // Losing any 2 packets in a row out of 3 is tolerated at multiplier 3.
    let mut l = Link::up_pair(10, 3);
    l.lose = Box::new(|n| n % 3 != 0);
    let t0 = l.now;
    l.run_until(t0 + Duration::from_secs(60));
    assert_eq!(
        (l.state_a(), l.state_b()),
        (SessionState::Up, SessionState::Up)
    );
    assert!(
        !l.events_a.iter().chain(&l.events_b).any(|e| e.0 > t0),
        "a flap: {:?} {:?}",
        l.events_a,
        l.events_b
    );
}

#[test]
fn bfd_parameter_change_while_up_does_not_flap() {
    // RFC 5880 §6.8.3: a Poll Sequence carries the change; no Down event.
    let mut l = Link::up_pair(10, 3);
    let t0 = l.now;
    l.a.sync(t0, &BTreeMap::from([(key_of("192.0.2.2"), cfg(50, 50, 5))]));
    l.run_until(t0 + Duration::from_secs(3));
    assert_eq!(
        (l.state_a(), l.state_b()),
        (SessionState::Up, SessionState::Up)
    );
    assert!(!l.events_a.iter().chain(&l.events_b).any(|e| e.0 > t0));
    let sa = l.a.get(&key_of("192.0.2.2")).unwrap();
    let sb = l.b.get(&key_of("192.0.2.1")).unwrap();
    assert!(!sa.polling());
    assert_eq!(sa.tx_interval(), ms(50));
    // B now sends at A's required 50 ms and detects with A's multiplier.
    assert_eq!(sb.tx_interval(), ms(50));
    assert_eq!(sb.detection_time(), ms(250));
}

#[test]
fn bfd_admin_down_from_the_peer_is_not_a_peer_failure() {
    // RFC 5880 §6.8.6 / §6.8.16: AdminDown -> Down, diag 3, no failure.
    let mut l = Link::up_pair(10, 3);
    let t0 = l.now;
    l.b.admin_down_all(t0);
    l.run_until(t0 + ms(100));
    assert_eq!(l.state_a(), SessionState::Down);
    let (_, e) = *l.events_a.last().unwrap();
    assert_eq!(
        e,
        SessionEvent::Down {
            diag: Diag::NeighborSignaledSessionDown
        }
    );
    assert!(!e.is_peer_failure());
}

#[test]
fn bfd_restarted_peer_brings_the_session_back_up() {
    // The peer comes back with a new discriminator: Down -> Init -> Up.
    let mut l = Link::up_pair(10, 3);
    l.cut_ba = true;
    l.run_until(l.now + ms(100));
    assert_eq!(l.state_a(), SessionState::Down);
    let mut b = Sessions::new(99);
    b.sync(
        l.now,
        &BTreeMap::from([(key_of("192.0.2.1"), cfg(10, 10, 3))]),
    );
    l.b = b;
    l.cut_ba = false;
    l.run_until(l.now + Duration::from_secs(4));
    assert_eq!(
        (l.state_a(), l.state_b()),
        (SessionState::Up, SessionState::Up)
    );
}

fn good_packet(l: &Link) -> ControlPacket {
    let sa = l.a.get(&key_of("192.0.2.2")).unwrap();
    ControlPacket {
        diag: Diag::None,
        state: SessionState::Up,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discr: sa.remote_discr(),
        your_discr: sa.local_discr(),
        desired_min_tx: ms(10),
        required_min_rx: ms(10),
        required_min_echo_rx: Duration::ZERO,
    }
}

#[test]
fn bfd_receive_validation_drops_hostile_packets_without_moving_a_timer() {
    // RFC 5880 §6.8.6, RFC 5881 §5: each bad packet is dropped, counted
    // per reason, and neither the state nor any timer moves.
    let mut l = Link::up_pair(10, 3);
    l.cut_ba = true; // only our forged packets reach A from now on
    let now = l.now;
    let before = l.a.poll_timeout();
    let good = good_packet(&l);
    let src = ip("192.0.2.2");
    let mut cases: Vec<(&str, u8, IpAddr, Vec<u8>, &str)> = Vec::new();
    cases.push(("ttl 254", 254, src, good.emit().to_vec(), "ttl"));
    let mut v = good.emit();
    v[0] = (2 << 5) | (v[0] & 0x1f);
    cases.push(("version 2", 255, src, v.to_vec(), "version"));
    let mut v = good.emit();
    v[3] = 20;
    cases.push(("length 20", 255, src, v.to_vec(), "length"));
    let mut v = good.emit();
    v[3] = 40;
    cases.push(("length past the end", 255, src, v.to_vec(), "length"));
    cases.push((
        "truncated",
        255,
        src,
        good.emit()[..23].to_vec(),
        "truncated",
    ));
    let mut p = good;
    p.detect_mult = 0;
    cases.push((
        "multiplier 0",
        255,
        src,
        p.emit().to_vec(),
        "detect_mult_zero",
    ));
    let mut p = good;
    p.your_discr = 0;
    cases.push((
        "your discr 0 in Up",
        255,
        src,
        p.emit().to_vec(),
        "zero_discriminator",
    ));
    let mut p = good;
    p.my_discr = 0;
    cases.push((
        "my discr 0",
        255,
        src,
        p.emit().to_vec(),
        "my_discriminator_zero",
    ));
    let mut v = good.emit();
    v[1] |= 0x01;
    cases.push(("multipoint", 255, src, v.to_vec(), "multipoint"));
    let mut v = good.emit();
    v[1] |= 0x04;
    cases.push(("auth bit", 255, src, v.to_vec(), "auth_present"));
    // The right discriminator from the wrong source.
    cases.push((
        "forged source",
        255,
        ip("192.0.2.66"),
        good.emit().to_vec(),
        "unknown_discriminator",
    ));
    for (what, ttl, from, bytes, label) in cases {
        let r = l.a.handle_datagram(now, IF, from, ttl, &bytes);
        assert!(r.is_err(), "{what}: accepted");
        assert_eq!(r.unwrap_err().label(), label, "{what}");
        assert_eq!(l.a.poll_timeout(), before, "{what}: a timer moved");
        assert_eq!(l.state_a(), SessionState::Up, "{what}: state moved");
    }
    // 2000 forged discriminators: every one dropped and counted.
    for d in 1..=2000u32 {
        let mut p = good;
        p.your_discr = d.wrapping_mul(2_654_435_761) | 1;
        if p.your_discr == good.your_discr {
            continue;
        }
        assert!(matches!(
            l.a.handle_datagram(now, IF, src, 255, &p.emit()),
            Err(BfdDrop::UnknownDiscriminator(_))
        ));
    }
    assert!(l.a.drops()["unknown_discriminator"] >= 1999);
    assert_eq!(l.a.poll_timeout(), before);
    // And with the peer silent, the detection time still expires on time.
    l.run_until(now + ms(40));
    assert_eq!(l.state_a(), SessionState::Down);
}

#[test]
fn bfd_control_packet_round_trips_through_its_bytes() {
    let p = ControlPacket {
        diag: Diag::ControlDetectionTimeExpired,
        state: SessionState::Init,
        poll: true,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 5,
        my_discr: 0x0102_0304,
        your_discr: 0x0a0b_0c0d,
        desired_min_tx: ms(10),
        required_min_rx: ms(20),
        required_min_echo_rx: Duration::ZERO,
    };
    let b = p.emit();
    assert_eq!(
        b,
        [
            0x21, 0xa0, 5, 24, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0x27, 0x10, 0, 0, 0x4e,
            0x20, 0, 0, 0, 0
        ]
    );
    assert_eq!(ControlPacket::parse(&b), Ok(p));
}

// ---- the VRRP side --------------------------------------------------------

fn backup_listening_to(master: &str) -> Instance {
    let mut i = Instance::new(sim::v3(100, "192.0.2.2")).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(
        ms(100),
        Input::Advert(RxAdvert {
            src: ip(master),
            priority: 150,
            interval_cs: 100,
        }),
    );
    while i.poll_action().is_some() {}
    i
}

#[test]
fn bfd_peer_down_makes_a_backup_of_that_master_take_over_at_once() {
    // SPEC §1: as if the Master_Down_Timer had expired.
    let mut i = backup_listening_to("192.0.2.1");
    i.handle(
        ms(200),
        Input::PeerDown {
            peer: ip("192.0.2.1"),
        },
    );
    assert_eq!(i.state(), State::Master);
    let acts: Vec<_> = std::iter::from_fn(|| i.poll_action()).collect();
    assert!(acts.contains(&Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: Reason::BfdPeerDown,
        priority: 100
    }));
    assert!(acts.contains(&Action::AddVips));
}

#[test]
fn bfd_peer_down_of_another_peer_changes_nothing() {
    let mut i = backup_listening_to("192.0.2.1");
    let before = i.poll_timeout();
    i.handle(
        ms(200),
        Input::PeerDown {
            peer: ip("192.0.2.3"),
        },
    );
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.poll_timeout(), before);
    assert!(i.poll_action().is_none());
}
