//! The simulated LAN with what only bytes on the wire can show: encoding,
//! checksums, AH sequencing and hmac running together with the state machine
//! (proto::router), and junk on the wire that must change nothing. Virtual
//! time; no privileges.

mod sim;

use std::time::Duration;

use sim::{Lan, cfg, router_config, v3};
use vrrpd::proto::Version;
use vrrpd::proto::auth::{AntiReplay, AuthConfig, HmacConfig, HmacMode};
use vrrpd::proto::instance::{ReleaseReason, State};
use vrrpd::proto::receive::DropReason;
use vrrpd::proto::timers::master_down_interval_cs;

const D: Duration = Duration::from_millis(1);
const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn ah() -> AuthConfig {
    AuthConfig::Ah { key: *b"secret12" }
}

fn hmac() -> AuthConfig {
    AuthConfig::Hmac(HmacConfig {
        keys: vec![(1, (0u8..32).collect())],
        active_key: 1,
        anti_replay: AntiReplay::Time,
        time_window: Duration::from_secs(5),
        mode: HmacMode::Enforce,
    })
}

/// v2 (1 s), A 150 and B 100, with `auth`.
fn v2_pair(auth: AuthConfig) -> (Lan, usize, usize) {
    let mut lan = Lan::new(D);
    let a = lan.add_with(
        "a",
        router_config(cfg(Version::V2, 150, 100, A), auth.clone()),
    );
    let b = lan.add_with("b", router_config(cfg(Version::V2, 100, 100, B), auth));
    lan.start_all();
    (lan, a, b)
}

#[test]
fn ah_pair_elects_fails_over_and_preempts_back_with_no_adverts_dropped_as_replays() {
    let (mut lan, a, b) = v2_pair(ah());
    lan.run_for(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![a]);
    // The owner of the sequence changes hands on every move: each new
    // master continues past what it received, so nothing is a replay.
    lan.release(a, ReleaseReason::Handover);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![b]);
    lan.input(a, vrrpd::proto::instance::Input::ResumePreempt);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![a], "A preempts back");
    assert!(lan.drops.is_empty(), "drops: {:?}", lan.drops);
    assert!(lan.adverts(a).len() > 20 && lan.adverts(b).len() > 5);
}

#[test]
fn ah_takeover_after_a_silent_master_is_accepted_by_the_old_master_when_it_returns() {
    // A goes silent without a release (its link is cut: both directions
    // blocked), B takes over and continues the sequence with a skip; when the
    // link heals A must accept B's adverts (and B A's preempting ones).
    let (mut lan, a, b) = v2_pair(ah());
    lan.run_for(Duration::from_secs(10));
    lan.set_blocked(a, b, true);
    lan.set_blocked(b, a, true);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.state(b), State::Master);
    lan.set_blocked(a, b, false);
    lan.set_blocked(b, a, false);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![a]);
    let replays: Vec<_> = lan
        .drops
        .iter()
        .filter(|d| d.2 == DropReason::AhReplay)
        .collect();
    assert!(
        replays.len() <= 1,
        "at most the one advert in flight at the heal may be stale: {replays:?}"
    );
}

#[test]
fn hmac_pair_over_ipv6_elects_and_fails_over_with_every_advert_verified() {
    let mut lan = Lan::new(D);
    let a = lan.add_with("a", router_config(v3(150, "fe80::1"), hmac()));
    let b = lan.add_with("b", router_config(v3(100, "fe80::2"), hmac()));
    lan.start_all();
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![a]);
    lan.kill(a);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![b]);
    assert!(lan.drops.is_empty(), "drops: {:?}", lan.drops);
    assert!(lan.delivered > 5);
}

#[test]
fn mismatched_keys_drop_every_advert_and_each_side_becomes_master() {
    let mut lan = Lan::new(D);
    let a = lan.add_with("a", router_config(cfg(Version::V2, 150, 100, A), ah()));
    let b = lan.add_with(
        "b",
        router_config(
            cfg(Version::V2, 100, 100, B),
            AuthConfig::Ah { key: *b"other123" },
        ),
    );
    lan.start_all();
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![a, b]);
    assert!(lan.drops.iter().all(|d| d.2 == DropReason::AhIcv));
    assert!(lan.drops.len() > 10);
}

#[test]
fn corrupted_adverts_are_dropped_counted_and_do_not_hold_the_backup_down() {
    // Every advert A sends reaches B with one bit flipped in its VRRP
    // checksum. keepalived resets its timer on any packet for the VRID;
    // SPEC §1: a dropped packet changes no timer, so B takes over after
    // exactly its Master_Down_Interval.
    let mut lan = Lan::new(D);
    let a = lan.add("a", v3(150, A));
    let b = lan.add("b", v3(100, B));
    lan.start(a);
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![a]);
    lan.set_mangle(move |from, _to, bytes| {
        if from == a {
            // IPv4 header (20 bytes), then the VRRP checksum at 6..8.
            bytes[20 + 7] ^= 0x01;
        }
    });
    let t0 = lan.now;
    lan.start(b);
    lan.run_for(Duration::from_secs(5));
    let became = lan.entered(b, State::Master, t0).expect("B takes over");
    let mdi = master_down_interval_cs(Version::V3, 100, 100);
    assert!(
        became <= t0 + mdi + D,
        "B master at {became:?}, MDI {mdi:?} after {t0:?}"
    );
    assert!(!lan.drops.is_empty());
    assert!(
        lan.drops
            .iter()
            .all(|d| d.1 == b && d.2 == DropReason::Checksum)
    );
}

#[test]
fn a_datagram_cut_short_on_the_wire_is_dropped_not_parsed() {
    let mut lan = Lan::new(D);
    let a = lan.add("a", v3(150, A));
    let b = lan.add("b", v3(100, B));
    lan.set_mangle(|_, _, bytes| bytes.truncate(bytes.len() - 3));
    lan.start_all();
    lan.run_for(Duration::from_secs(5));
    assert_eq!(lan.masters(), vec![a, b], "nobody hears anybody");
    assert!(!lan.drops.is_empty());
    assert!(
        lan.drops.iter().all(|d| d.2 == DropReason::IpHeader),
        "{:?}",
        lan.drops
    );
}
