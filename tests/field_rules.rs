//! Issue 12 rules on virtual time (SPEC §1): dual masters heal (RFC 9568
//! §6.4.3 and keepalived `higher_prio_send_advert`, rate-limited), and
//! `start_state = "master"` on a non-owner (keepalived `vrrp_init_state`).
//! Each test is named after the rule it checks.

mod sim;

use std::time::Duration;

use sim::{Lan, cfg, ms, secs_f, v3};
use vrrpd::proto::Version;
use vrrpd::proto::instance::{Action, Input, Instance, Reason, RxAdvert, State};
use vrrpd::proto::timers::{RELEASE_GRACE, skew_time_cs};

const D: Duration = Duration::from_millis(1);
const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

fn adv(src: &str, priority: u8) -> Input {
    Input::Advert(RxAdvert {
        src: src.parse().unwrap(),
        priority,
        interval_cs: 100,
    })
}

/// A master since t = 0 (a fellow sync member's take-over: a non-owner is
/// never master at start-up).
fn master(priority: u8, me: &str) -> Instance {
    let mut i = Instance::new(v3(priority, me)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(Duration::ZERO, Input::SyncTakeOver);
    assert_eq!(i.state(), State::Master);
    drain(&mut i);
    i
}

/// Whom a client on the LAN sends to: the router whose gratuitous ARP / NA
/// it heard last (`Announce` on becoming master, `Reannounce`), replayed
/// from the action log; `None` before any.
fn client_target_at(lan: &Lan, t: Duration) -> Option<usize> {
    lan.log
        .iter()
        .rfind(|e| e.at <= t && matches!(e.action, Action::Announce | Action::Reannounce))
        .map(|e| e.router)
}

/// How long after `heal` the client first sends to `winner` (and keeps
/// doing so until the end of the log).
fn client_back_on(lan: &Lan, winner: usize, heal: Duration) -> Option<Duration> {
    let moves: Vec<_> = lan
        .log
        .iter()
        .filter(|e| matches!(e.action, Action::Announce | Action::Reannounce))
        .collect();
    if moves.last()?.router != winner {
        return None;
    }
    // The last move onto the winner after a move away from it.
    let mut at = None;
    for e in moves {
        if e.router == winner {
            at.get_or_insert(e.at);
        } else {
            at = None;
        }
    }
    at.map(|t| t.saturating_sub(heal))
}

/// A partition of a (150) and b (100), then a heal at every phase of the
/// advert schedule, so that sometimes a hears b first and sometimes b hears
/// a first. The client must be back on a within one advert interval of the
/// heal (plus the LAN's delays), and a alone holds the VIPs.
fn heal_at_every_phase(version: Version, interval_cs: u16) {
    let interval = Duration::from_millis(u64::from(interval_cs) * 10);
    let steps = 20u32;
    let mut a_heard_first = 0;
    let mut b_heard_first = 0;
    for k in 0..steps {
        let mut lan = Lan::new(D);
        let a = lan.add("a", cfg(version, 150, interval_cs, A));
        let b = lan.add("b", cfg(version, 100, interval_cs, B));
        lan.start_all();
        lan.run_for(interval * 20);
        assert_eq!(lan.masters(), vec![a]);
        lan.partition(&[&[a], &[b]]);
        lan.run_for(interval * 10);
        assert_eq!(lan.masters(), vec![a, b]);
        assert_eq!(
            client_target_at(&lan, lan.now),
            Some(b),
            "b took the clients"
        );
        lan.run_for(interval * k / steps);
        let heal = lan.now;
        lan.heal();
        lan.run_for(interval * 5);
        assert_eq!(lan.masters(), vec![a], "phase {k}");
        assert_eq!(lan.holders(), vec![a], "phase {k}");
        let back = client_back_on(&lan, a, heal)
            .unwrap_or_else(|| panic!("phase {k}: the client never came back to a"));
        assert!(
            back <= interval + 3 * D,
            "phase {k}: client back on a {back:?} after the heal (interval {interval:?})"
        );
        // Who heard whom first: the step-down advert of b comes before a's
        // re-announcement when b heard a first.
        let stepped = lan.entered(b, State::Backup, heal).unwrap();
        let reannounced = lan
            .events(a)
            .find(|e| e.at >= heal && e.action == Action::Reannounce)
            .map(|e| e.at)
            .unwrap();
        if reannounced < stepped {
            a_heard_first += 1;
        } else {
            b_heard_first += 1;
        }
    }
    assert!(
        a_heard_first > 0 && b_heard_first > 0,
        "phases did not cover both orders: {a_heard_first} / {b_heard_first}"
    );
}

#[test]
fn dual_masters_heal_client_back_on_the_winner_within_one_interval_v3_100ms() {
    heal_at_every_phase(Version::V3, 10);
}

#[test]
fn dual_masters_heal_client_back_on_the_winner_within_one_interval_v2_1s() {
    heal_at_every_phase(Version::V2, 100);
}

#[test]
fn master_hearing_lower_priority_sends_advert_and_reannounces_at_once() {
    // RFC 9568 §6.4.3; equal priority from a lower address counts as lower.
    for (src, prio) in [("192.0.2.9", 149), ("192.0.2.1", 150)] {
        let mut i = master(150, B);
        let due = i.poll_timeout();
        i.handle(ms(300), adv(src, prio));
        assert_eq!(
            drain(&mut i),
            vec![Action::SendAdvert { priority: 150 }, Action::Reannounce],
            "{src} {prio}"
        );
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.poll_timeout(), due, "the regular advert schedule moved");
    }
}

#[test]
fn master_answers_lower_priority_at_most_once_per_advert_interval() {
    // SPEC §1: a flood of valid lower-priority adverts is never amplified.
    let mut i = master(150, B);
    let mut answers = 0;
    let mut reannounces = 0;
    let mut now = Duration::ZERO;
    // 1000 adverts per second for 10 s, between the regular adverts.
    for _ in 0..10_000 {
        now += ms(1);
        while let Some(t) = i.poll_timeout().filter(|&t| t <= now) {
            i.handle_timeout(t);
            drain(&mut i);
        }
        i.handle(now, adv("192.0.2.9", 100));
        for a in drain(&mut i) {
            match a {
                Action::SendAdvert { .. } => answers += 1,
                Action::Reannounce => reannounces += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(answers, 10);
    assert_eq!(reannounces, 10);
}

#[test]
fn master_stepping_down_for_higher_priority_sends_one_advert_of_its_own_first() {
    // keepalived higher_prio_send_advert, before RFC 5798 §6.4.3's step-down.
    let mut i = master(150, B);
    i.handle(ms(300), adv(A, 200));
    let acts = drain(&mut i);
    assert_eq!(acts[0], Action::SendAdvert { priority: 150 });
    assert!(matches!(
        acts[1],
        Action::StateChanged {
            to: State::Backup,
            reason: Reason::HigherPriorityAdvert,
            ..
        }
    ));
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, Action::SendAdvert { .. }))
            .count(),
        1
    );
    // SPEC §4: the VIPs stay for RELEASE_GRACE, then go.
    assert!(!acts.contains(&Action::RemoveVips));
    assert_eq!(i.poll_timeout(), Some(ms(300) + RELEASE_GRACE));
    i.handle_timeout(ms(300) + RELEASE_GRACE);
    assert_eq!(drain(&mut i), vec![Action::RemoveVips]);
}

#[test]
fn preempting_backup_announces_before_its_first_advert() {
    // The preempted master lets go when it hears our advert, so clients
    // must have been pointed here first (SPEC §4: restart of the better
    // node in a rolling upgrade, on hosts that do not forward).
    let mut i = Instance::new(v3(200, A)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(ms(100), adv(B, 150));
    drain(&mut i);
    let fire = i.poll_timeout().expect("Master_Down_Timer");
    i.handle_timeout(fire);
    let acts: Vec<_> = drain(&mut i)
        .into_iter()
        .filter(|a| !matches!(a, Action::StateChanged { .. }))
        .collect();
    assert_eq!(
        acts,
        vec![
            Action::AddVips,
            Action::Announce,
            Action::SendAdvert { priority: 200 }
        ]
    );
}

#[test]
fn a_master_that_steps_down_and_wins_again_inside_the_grace_keeps_its_vips() {
    // Priority 250: Skew_Time is well inside the grace.
    let mut i = master(250, B);
    i.handle(ms(300), adv(A, 254));
    drain(&mut i);
    // The better master releases at once (priority 0): we take over after
    // Skew_Time, still holding the VIPs: no remove, no second add.
    i.handle(ms(310), adv(A, 0));
    let t = i.poll_timeout().unwrap();
    assert!(t < ms(300) + RELEASE_GRACE, "{t:?}");
    i.handle_timeout(t);
    let acts = drain(&mut i);
    assert_eq!(i.state(), State::Master);
    assert!(!acts.contains(&Action::RemoveVips), "{acts:?}");
    assert!(!acts.contains(&Action::AddVips), "{acts:?}");
    i.handle_timeout(ms(300) + RELEASE_GRACE);
    assert!(!drain(&mut i).contains(&Action::RemoveVips));
}

#[test]
fn step_down_advert_shares_the_rate_limit_with_the_lower_priority_answer() {
    // An answer to a lower-priority master at 300 ms, then a higher one at
    // 400 ms: the step-down sends no second extra advert within the interval.
    let mut i = master(150, B);
    i.handle(ms(300), adv("192.0.2.9", 100));
    drain(&mut i);
    i.handle(ms(400), adv(A, 200));
    let acts = drain(&mut i);
    assert_eq!(i.state(), State::Backup);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })),
        "{acts:?}"
    );
}

#[test]
fn start_as_master_non_owner_takes_no_vips_while_a_master_is_heard() {
    // keepalived vrrp_init_state: state MASTER on a non-owner waits one
    // interval (+ minimal skew) for a master before taking anything.
    let mut c = v3(200, B);
    c.start_as_master = true;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    assert_eq!(i.state(), State::Backup);
    let acts = drain(&mut i);
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, Action::AddVips | Action::Announce)),
        "{acts:?}"
    );
    // A higher-priority master heard within that first interval is
    // followed: no VIPs, ever.
    for k in 1..=50u64 {
        i.handle(ms(k * 99), adv(A, 250));
        assert!(drain(&mut i).iter().all(|a| !matches!(a, Action::AddVips)));
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn start_as_master_non_owner_with_no_master_is_master_after_one_interval_and_owner_skew() {
    let mut c = v3(100, B);
    c.start_as_master = true;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    drain(&mut i);
    let due = secs_f(1.0) + skew_time_cs(Version::V3, 255, 100);
    assert_eq!(i.poll_timeout(), Some(due));
    i.handle_timeout(due);
    assert_eq!(i.state(), State::Master);
    let acts = drain(&mut i);
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::StateChanged {
            reason: Reason::StartAsMaster,
            ..
        }
    )));
    assert!(acts.contains(&Action::AddVips));
}

#[test]
fn address_owner_is_master_at_startup_at_once() {
    // RFC 5798 §6.4.1.
    let mut i = Instance::new(v3(255, A)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    assert_eq!(i.state(), State::Master);
    let acts = drain(&mut i);
    assert!(acts.contains(&Action::AddVips));
    assert!(acts.contains(&Action::SendAdvert { priority: 255 }));
}
