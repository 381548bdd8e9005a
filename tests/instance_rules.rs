//! RFC 5798 §6 / RFC 3768 §6 rules checked on one `Instance` driven by hand
//! on virtual time. Each test is named after the rule it checks.

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{Prng, cfg, ms, secs_f, v3};
use vrrpd::proto::Version;
use vrrpd::proto::instance::{
    Action, Input, Instance, InstanceConfig, InstanceConfigError, Reason, ReleaseReason, RxAdvert,
    State,
};
use vrrpd::proto::timers::{RELEASE_GRACE, master_down_interval_cs, skew_time_cs};

const ME: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn adv(src: &str, priority: u8) -> Input {
    Input::Advert(RxAdvert {
        src: ip(src),
        priority,
        interval_cs: 100,
    })
}

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

fn started(priority: u8) -> Instance {
    let mut i = Instance::new(v3(priority, ME)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    drain(&mut i);
    i
}

/// A master since t = 0, actions drained.
fn master(priority: u8) -> Instance {
    master_with(v3(priority, ME))
}

/// A master since t = 0 with this configuration. A non-owner is never
/// master at start-up (not even with `start_as_master`, keepalived
/// `vrrp_init_state`), so it starts as backup and a fellow sync group
/// member's take-over makes it master at once.
fn master_with(c: InstanceConfig) -> Instance {
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(Duration::ZERO, Input::SyncTakeOver);
    assert_eq!(i.state(), State::Master);
    drain(&mut i);
    i
}

#[test]
fn junk_never_delays_a_masters_adverts() {
    // SPEC §1: inputs that match no rule move no timer. The master's
    // regular adverts come at exactly k × Advertisement_Interval whatever
    // arrives; lower-priority adverts add answers (RFC 9568 §6.4.3) at most
    // one per interval, each with one re-announcement.
    let mut rng = Prng::new(7);
    let mut i = master(150);
    let mut now = Duration::ZERO;
    let mut regular = Vec::new();
    let mut answers = Vec::new();
    let mut reannounced = Vec::new();
    let end = Duration::from_secs(2000);
    while now < end {
        now += Duration::from_micros(1 + rng.next_u64() % 50_000);
        while let Some(t) = i.poll_timeout().filter(|&t| t <= now) {
            i.handle_timeout(t);
            for a in drain(&mut i) {
                if let Action::SendAdvert { priority } = a {
                    regular.push((t, priority));
                }
            }
        }
        let lower = rng.next_u64() % 7;
        let junk = match lower {
            0 => adv("192.0.2.9", 149), // lower priority
            1 => adv("192.0.2.1", 150), // equal, lower address
            2 => adv("192.0.2.3", 1),   // lowest
            3 => Input::Startup,        // repeated start-up
            4 => Input::LinkUp,         // link already up
            5 => Input::ResumePreempt,  // nothing held
            _ => Input::Trackers {
                fault: false,
                priority_delta: 0,
            },
        };
        let due = i.poll_timeout();
        i.handle(now, junk);
        assert_eq!(i.poll_timeout(), due, "junk moved a timer");
        for a in drain(&mut i) {
            match a {
                Action::SendAdvert { priority } if lower <= 2 => answers.push((now, priority)),
                Action::Reannounce if lower <= 2 => reannounced.push(now),
                other => panic!("junk caused {other:?}"),
            }
        }
        assert_eq!(i.state(), State::Master);
    }
    assert_eq!(regular.len(), 2000);
    for (k, &(t, p)) in regular.iter().enumerate() {
        assert_eq!(t, Duration::from_secs(k as u64 + 1));
        assert_eq!(p, 150);
    }
    assert!(
        answers.len() > 1000,
        "lower-priority masters were not answered"
    );
    assert_eq!(answers.iter().map(|a| a.0).collect::<Vec<_>>(), reannounced);
    for w in answers.windows(2) {
        assert!(
            w[1].0 - w[0].0 >= Duration::from_secs(1),
            "answers closer than an interval"
        );
    }
}

#[test]
fn backup_lower_priority_adverts_never_reset_master_down_timer_when_preempting() {
    // RFC 5798 §6.4.2: with Preempt_Mode on, lower-priority adverts are
    // discarded.
    let mut i = started(150);
    let due = i.poll_timeout().unwrap();
    assert_eq!(due, master_down_interval_cs(Version::V3, 150, 100));
    for k in 1..300 {
        i.handle(ms(10 * k), adv("192.0.2.1", 100));
        assert_eq!(i.poll_timeout(), Some(due));
    }
    i.handle_timeout(due);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn backup_higher_or_equal_priority_advert_resets_master_down_timer() {
    // RFC 5798 §6.4.2.
    let mut i = started(100);
    i.handle(secs_f(2.0), adv("192.0.2.1", 100));
    assert_eq!(i.poll_timeout(), Some(secs_f(2.0 + 3.609375)));
    i.handle(secs_f(3.0), adv("192.0.2.1", 200));
    assert_eq!(i.poll_timeout(), Some(secs_f(3.0 + 3.609375)));
    assert_eq!(i.master_address(), Some(ip("192.0.2.1")));
}

#[test]
fn backup_priority_zero_sets_master_down_timer_to_skew_time() {
    // RFC 5798 §6.4.2.
    let mut i = started(100);
    i.handle(secs_f(1.0), adv("192.0.2.1", 200));
    i.handle(secs_f(2.0), adv("192.0.2.1", 0));
    assert_eq!(i.poll_timeout(), Some(secs_f(2.0 + 0.609375)));
    assert_eq!(i.master_address(), None);
    i.handle_timeout(secs_f(2.609375));
    assert_eq!(i.state(), State::Master);
    let acts = drain(&mut i);
    assert_eq!(
        acts,
        vec![
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::PriorityZeroReceived,
                priority: 100
            },
            Action::AddVips,
            Action::Announce,
            Action::SendAdvert { priority: 100 },
        ]
    );
}

#[test]
fn taking_over_from_a_released_master_announces_before_its_first_advert() {
    // SPEC §4: the advert is what makes a releasing old master let go, so
    // the VIPs must answer here and clients must have been told first.
    let mut i = started(100);
    i.handle(secs_f(1.0), adv("192.0.2.1", 200));
    i.handle(secs_f(1.5), adv("192.0.2.1", 0));
    i.handle_timeout(secs_f(1.5 + 0.609375));
    let acts: Vec<_> = drain(&mut i)
        .into_iter()
        .filter(|a| !matches!(a, Action::StateChanged { .. }))
        .collect();
    assert_eq!(
        acts,
        vec![
            Action::AddVips,
            Action::Announce,
            Action::SendAdvert { priority: 100 }
        ]
    );
}

#[test]
fn taking_over_from_a_silent_master_advertises_first() {
    // RFC 5798 §6.4.2 order: at a simultaneous start the better router
    // must hear our advert before its own Master_Down_Timer fires.
    let mut i = started(100);
    i.handle_timeout(secs_f(3.609375));
    let acts: Vec<_> = drain(&mut i)
        .into_iter()
        .filter(|a| !matches!(a, Action::StateChanged { .. }))
        .collect();
    assert_eq!(
        acts,
        vec![
            Action::SendAdvert { priority: 100 },
            Action::AddVips,
            Action::Announce
        ]
    );
}

#[test]
fn master_priority_zero_advert_sends_advert_at_once_and_resets_adver_timer() {
    // RFC 5798 §6.4.3.
    let mut i = master(150);
    i.handle(secs_f(0.25), adv("192.0.2.1", 0));
    assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 150 }]);
    assert_eq!(i.poll_timeout(), Some(secs_f(1.25)));
    assert_eq!(i.state(), State::Master);
}

#[test]
fn master_higher_priority_advert_demotes_even_without_preempt() {
    // RFC 5798 §6.4.3 does not depend on Preempt_Mode.
    let mut c = v3(150, ME);
    c.preempt = false;
    let mut i = master_with(c);
    i.handle(
        secs_f(0.5),
        Input::Advert(RxAdvert {
            src: ip("192.0.2.1"),
            priority: 151,
            interval_cs: 50,
        }),
    );
    assert_eq!(i.state(), State::Backup);
    let acts = drain(&mut i);
    // keepalived higher_prio_send_advert: one advert of ours first.
    assert_eq!(acts[0], Action::SendAdvert { priority: 150 });
    // The VIPs go RELEASE_GRACE later (SPEC §4).
    assert!(!acts.contains(&Action::RemoveVips));
    assert_eq!(i.poll_timeout(), Some(secs_f(0.5) + RELEASE_GRACE));
    i.handle_timeout(secs_f(0.5) + RELEASE_GRACE);
    assert_eq!(drain(&mut i), vec![Action::RemoveVips]);
    // Master_Adver_Interval learned, Master_Down_Timer = MDI.
    assert_eq!(i.master_adver_interval(), ms(500));
    assert_eq!(
        i.poll_timeout(),
        Some(secs_f(0.5) + master_down_interval_cs(Version::V3, 150, 50))
    );
}

#[test]
fn master_equal_priority_lower_address_is_discarded() {
    let mut i = master(150);
    i.handle(secs_f(0.5), adv("192.0.2.1", 150));
    assert_eq!(i.state(), State::Master);
    i.handle(secs_f(0.6), adv("192.0.2.3", 150));
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn v2_backup_does_not_learn_the_advert_interval() {
    // RFC 3768 has no Master_Adver_Interval: the own interval is used.
    let mut i = Instance::new(cfg(Version::V2, 100, 100, ME)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(
        secs_f(1.0),
        Input::Advert(RxAdvert {
            src: ip("192.0.2.1"),
            priority: 200,
            interval_cs: 300,
        }),
    );
    assert_eq!(i.master_adver_interval(), Duration::from_secs(1));
    assert_eq!(i.poll_timeout(), Some(secs_f(1.0 + 3.609375)));
}

#[test]
fn skew_and_master_down_interval_follow_effective_priority() {
    let mut i = started(100);
    assert_eq!(i.skew_time(), skew_time_cs(Version::V3, 100, 100));
    i.handle(
        secs_f(1.0),
        Input::Trackers {
            fault: false,
            priority_delta: 50,
        },
    );
    assert_eq!(i.master_down_interval(), secs_f(3.0 + 106.0 / 256.0));
}

#[test]
fn effective_priority_is_clamped_like_keepalived() {
    let mut i = started(200);
    let set = |i: &mut Instance, d: i32| {
        i.handle(
            Duration::ZERO,
            Input::Trackers {
                fault: false,
                priority_delta: d,
            },
        );
        i.effective_priority()
    };
    assert_eq!(set(&mut i, 100), 254);
    assert_eq!(set(&mut i, -250), 1);
    assert_eq!(set(&mut i, -50), 150);
    let mut o = started(255);
    assert_eq!(o.effective_priority(), 255);
    assert_eq!(set(&mut o, 10), 254);
    assert_eq!(set(&mut o, -10), 245);
    assert_eq!(set(&mut o, 0), 255);
}

#[test]
fn priority_change_is_advertised_at_once_by_a_master() {
    let mut i = master(150);
    i.handle(
        secs_f(0.3),
        Input::Trackers {
            fault: false,
            priority_delta: -60,
        },
    );
    assert_eq!(
        drain(&mut i),
        vec![
            Action::PriorityChanged { from: 150, to: 90 },
            Action::SendAdvert { priority: 90 }
        ]
    );
    assert_eq!(i.poll_timeout(), Some(secs_f(1.3)));
}

#[test]
fn init_waits_for_startup() {
    // RFC 5798 §6.4.1: nothing before Startup.
    let mut i = Instance::new(v3(100, ME)).unwrap();
    assert_eq!(i.poll_timeout(), None);
    i.handle(secs_f(1.0), adv("192.0.2.1", 0));
    i.handle_timeout(secs_f(100.0));
    assert_eq!(i.state(), State::Init);
    assert!(drain(&mut i).is_empty());
}

#[test]
fn link_down_before_startup_starts_in_fault() {
    let mut i = Instance::new(v3(255, ME)).unwrap();
    i.handle(Duration::ZERO, Input::LinkDown);
    i.handle(Duration::ZERO, Input::Startup);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.poll_timeout(), None);
    // The owner goes straight to master on link up.
    i.handle(secs_f(1.0), Input::LinkUp);
    assert_eq!(i.state(), State::Master);
    let acts = drain(&mut i);
    assert!(acts.contains(&Action::AddVips));
}

#[test]
fn fault_ignores_adverts_and_has_no_timers() {
    let mut i = started(100);
    i.handle(secs_f(1.0), Input::LinkDown);
    drain(&mut i);
    i.handle(secs_f(2.0), adv("192.0.2.1", 0));
    assert_eq!(i.poll_timeout(), None);
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.master_address(), None);
}

#[test]
fn release_while_backup_is_immediate() {
    let mut i = started(100);
    i.handle(secs_f(1.0), Input::Release(ReleaseReason::Handover));
    assert_eq!(drain(&mut i), vec![Action::HandoverComplete]);
    assert_eq!(i.state(), State::Backup);
    i.handle(secs_f(1.0), Input::Release(ReleaseReason::Shutdown));
    let acts = drain(&mut i);
    assert!(!acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
    assert_eq!(acts.last(), Some(&Action::Released));
    assert_eq!(i.state(), State::Init);
    assert!(i.finished());
    assert_eq!(i.poll_timeout(), None);
    // Inert afterwards.
    i.handle(secs_f(2.0), Input::Startup);
    assert_eq!(i.state(), State::Init);
}

#[test]
fn release_while_fault_is_immediate() {
    let mut i = started(100);
    i.handle(secs_f(1.0), Input::LinkDown);
    drain(&mut i);
    i.handle(secs_f(1.0), Input::Release(ReleaseReason::Shutdown));
    assert_eq!(drain(&mut i).last(), Some(&Action::Released));
}

#[test]
fn shutdown_during_handover_turns_it_into_a_shutdown() {
    let mut i = master(150);
    i.handle(secs_f(0.5), Input::Release(ReleaseReason::Handover));
    i.handle(secs_f(0.6), Input::Release(ReleaseReason::Shutdown));
    assert_eq!(i.releasing(), Some(ReleaseReason::Shutdown));
    drain(&mut i);
    i.handle(secs_f(0.7), adv("192.0.2.1", 100));
    assert!(drain(&mut i).is_empty(), "the VIPs stay for the grace");
    i.handle_timeout(secs_f(0.7) + RELEASE_GRACE);
    let acts = drain(&mut i);
    assert_eq!(acts.last(), Some(&Action::Released));
    assert!(acts.contains(&Action::RemoveVips));
}

#[test]
fn releasing_master_keeps_its_vips_for_the_grace_after_the_takers_advert() {
    // SPEC §4: make-before-break, with a bounded overlap so that packets
    // clients sent before they heard the taker's announcement are answered.
    for reason in [ReleaseReason::Shutdown, ReleaseReason::Handover] {
        let mut i = master(150);
        i.handle(secs_f(0.5), Input::Release(reason));
        assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 0 }]);
        let heard = secs_f(0.5) + Duration::from_millis(620);
        i.handle(heard, adv("192.0.2.1", 100));
        assert!(drain(&mut i).is_empty(), "{reason:?}: let go at once");
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.poll_timeout(), Some(heard + RELEASE_GRACE));
        // More adverts from the taker change nothing, and no priority-0
        // advert goes out in the grace.
        i.handle(heard + Duration::from_millis(10), adv("192.0.2.1", 100));
        i.handle_timeout(heard + RELEASE_GRACE - Duration::from_millis(1));
        assert!(
            drain(&mut i).is_empty(),
            "{reason:?}: acted inside the grace"
        );
        i.handle_timeout(heard + RELEASE_GRACE);
        let acts = drain(&mut i);
        assert!(acts.contains(&Action::RemoveVips), "{reason:?}: {acts:?}");
        let end = match reason {
            ReleaseReason::Shutdown => Action::Released,
            ReleaseReason::Handover => Action::HandoverComplete,
        };
        assert_eq!(acts.last(), Some(&end));
    }
}

#[test]
fn releasing_master_ignores_priority_zero_and_keeps_sending_zero() {
    let mut i = master(150);
    i.handle(secs_f(0.5), Input::Release(ReleaseReason::Handover));
    assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 0 }]);
    i.handle(secs_f(0.6), adv("192.0.2.1", 0));
    assert!(drain(&mut i).is_empty());
    i.handle_timeout(secs_f(1.5));
    assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 0 }]);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn fault_during_handover_reports_failure() {
    let mut i = master(150);
    i.handle(secs_f(0.5), Input::Release(ReleaseReason::Handover));
    drain(&mut i);
    i.handle(secs_f(0.6), Input::LinkDown);
    let acts = drain(&mut i);
    assert_eq!(acts.last(), Some(&Action::HandoverFailed));
    assert!(acts.contains(&Action::RemoveVips));
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn new_rejects_invalid_configuration() {
    let mut c = v3(100, ME);
    c.advert_interval_cs = 0;
    assert!(matches!(
        Instance::new(c.clone()),
        Err(InstanceConfigError::Interval { .. })
    ));
    c.advert_interval_cs = 4096;
    assert!(Instance::new(c.clone()).is_err());
    let mut c2 = cfg(Version::V2, 100, 150, ME);
    assert!(Instance::new(c2.clone()).is_err());
    c2.advert_interval_cs = 200;
    assert!(Instance::new(c2.clone()).is_ok());
    c2.priority = 0;
    assert_eq!(
        Instance::new(c2.clone()).err(),
        Some(InstanceConfigError::Priority(0))
    );
    c2.priority = 1;
    c2.vrid = 0;
    assert_eq!(Instance::new(c2).err(), Some(InstanceConfigError::Vrid(0)));
}

#[test]
fn state_and_reason_names() {
    assert_eq!(serde_json::to_string(&State::Master).unwrap(), "\"master\"");
    assert_eq!(serde_json::to_string(&State::Fault).unwrap(), "\"fault\"");
    assert_eq!(State::Backup.to_string(), "backup");
    assert_eq!(
        Reason::Released(ReleaseReason::Handover).to_string(),
        "released(handover)"
    );
    assert_eq!(Reason::MasterDown.to_string(), "master_down");
}

#[test]
fn late_input_cannot_undo_an_expired_master_down_timer() {
    // A shell that sees a packet before an overdue Master_Down_Timer: the
    // timer expired first (RFC 5798 §6.4.2), so we became master, and only
    // then does the higher-priority advert demote us (§6.4.3).
    let mut i = started(100);
    let mdi = master_down_interval_cs(Version::V3, 100, 100);
    i.handle(mdi + ms(5), adv("192.0.2.1", 200));
    let acts = drain(&mut i);
    assert!(acts.contains(&Action::SendAdvert { priority: 100 }));
    assert_eq!(i.state(), State::Backup);
    // Due exactly now: the input is seen first and resets the timer.
    let mut j = started(100);
    j.handle(mdi, adv("192.0.2.1", 200));
    assert_eq!(j.state(), State::Backup);
    assert!(drain(&mut j).is_empty());
    assert_eq!(j.poll_timeout(), Some(mdi + mdi));
}
