//! The sync group inputs (SPEC §2.1, §4) on one `Instance` driven by hand,
//! and the `SyncGroup` coordinator reaching a fixed point. Each test is named
//! after the rule it checks.

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{Prng, secs_f, v3};
use vrrpd::proto::instance::{Action, Input, Instance, Reason, ReleaseReason, RxAdvert, State};
use vrrpd::proto::sync_group::SyncGroup;
use vrrpd::proto::timers::RELEASE_GRACE;

const ME: &str = "192.0.2.2";
/// Before any start-up timer runs out (Advertisement_Interval 1 s).
const T: Duration = Duration::from_millis(500);

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

fn changes(actions: &[Action]) -> Vec<(State, State, Reason)> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::StateChanged {
                from, to, reason, ..
            } => Some((from, to, reason)),
            _ => None,
        })
        .collect()
}

fn backup(priority: u8) -> Instance {
    let mut i = Instance::new(v3(priority, ME)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    drain(&mut i);
    assert_eq!(i.state(), State::Backup);
    i
}

/// A master since t = 0: a non-owner is never master at start-up, so a
/// fellow member's take-over makes it one.
fn master(priority: u8) -> Instance {
    let mut i = Instance::new(v3(priority, ME)).unwrap();
    i.handle(Duration::ZERO, Input::Startup);
    i.handle(Duration::ZERO, Input::SyncTakeOver);
    drain(&mut i);
    assert_eq!(i.state(), State::Master);
    i
}

#[test]
fn sync_fault_makes_a_master_send_priority_zero_and_drop_its_vips() {
    let mut i = master(150);
    i.handle(T, Input::SyncFault(true));
    assert_eq!(
        drain(&mut i),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::SyncGroupFault,
                priority: 150,
            },
        ]
    );
    assert!(!i.own_fault());
    assert!(i.sync_fault());
    assert_eq!(i.poll_timeout(), None);
    // Adverts are ignored in Fault: nobody can elect us.
    i.handle(T + secs_f(1.0), adv("192.0.2.1", 0));
    assert!(drain(&mut i).is_empty());
    // Cleared: a fresh Backup with a full Master_Down_Timer.
    i.handle(T + secs_f(2.0), Input::SyncFault(false));
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Fault, State::Backup, Reason::SyncGroupRecovered)]
    );
    assert_eq!(
        i.poll_timeout(),
        Some(T + secs_f(2.0) + i.master_down_interval())
    );
}

#[test]
fn sync_fault_and_own_fault_both_must_clear_before_leaving_fault() {
    let mut i = backup(100);
    i.handle(T, Input::SyncFault(true));
    i.handle(T, Input::LinkDown);
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Backup, State::Fault, Reason::SyncGroupFault)]
    );
    assert!(i.own_fault());
    i.handle(T + secs_f(1.0), Input::SyncFault(false));
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.state(), State::Fault);
    i.handle(T + secs_f(2.0), Input::LinkUp);
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Fault, State::Backup, Reason::LinkUp)]
    );
}

#[test]
fn sync_fault_before_startup_starts_in_fault() {
    let mut i = Instance::new(v3(100, ME)).unwrap();
    i.handle(Duration::ZERO, Input::SyncFault(true));
    assert!(drain(&mut i).is_empty());
    i.handle(Duration::ZERO, Input::Startup);
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Init, State::Fault, Reason::SyncGroupFault)]
    );
}

#[test]
fn sync_step_down_sends_priority_zero_and_holds_preemption() {
    let mut i = master(150);
    i.handle(T, Input::SyncStepDown);
    assert_eq!(
        drain(&mut i),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: Reason::SyncGroupBackup,
                priority: 150,
            },
        ]
    );
    let mdi = i.master_down_interval();
    assert_eq!(i.poll_timeout(), Some(T + mdi));
    assert!(i.sync_hold());
    // A lower-priority master is accepted (like preempt off): its adverts
    // restart the timer instead of being discarded.
    let t1 = T + secs_f(1.0);
    i.handle(t1, adv("192.0.2.1", 100));
    assert_eq!(i.poll_timeout(), Some(t1 + mdi));
    assert_eq!(i.master_address(), Some(ip("192.0.2.1")));
    // A silent master is still taken over.
    i.handle_timeout(t1 + mdi);
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Backup, State::Master, Reason::MasterDown)]
    );
    assert!(!i.sync_hold());
}

#[test]
fn sync_step_down_hold_is_lifted_by_resume_preempt() {
    let mut i = master(150);
    i.handle(T, Input::SyncStepDown);
    i.handle(T, Input::ResumePreempt);
    drain(&mut i);
    assert!(!i.sync_hold());
    let t1 = T + secs_f(1.0);
    i.handle(t1, adv("192.0.2.1", 100));
    // Discarded again (preemption): the timer armed at T keeps running.
    assert_eq!(i.poll_timeout(), Some(T + i.master_down_interval()));
}

#[test]
fn sync_step_down_is_ignored_by_a_backup_and_by_a_releasing_master() {
    let mut b = backup(100);
    let before = b.poll_timeout();
    b.handle(T, Input::SyncStepDown);
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.poll_timeout(), before);
    assert!(!b.sync_hold());

    let mut m = master(150);
    m.handle(T, Input::Release(ReleaseReason::Handover));
    drain(&mut m);
    m.handle(T, Input::SyncStepDown);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.releasing(), Some(ReleaseReason::Handover));
}

#[test]
fn sync_take_over_makes_a_backup_master_at_once() {
    let mut i = backup(100);
    i.handle(T, adv("192.0.2.1", 50));
    i.handle(T, Input::SyncTakeOver);
    let a = drain(&mut i);
    assert_eq!(
        changes(&a),
        vec![(State::Backup, State::Master, Reason::SyncGroupMaster)]
    );
    assert!(a.contains(&Action::SendAdvert { priority: 100 }));
    assert!(a.contains(&Action::AddVips));
    assert!(a.contains(&Action::Announce));
    assert_eq!(i.poll_timeout(), Some(T + i.advert_interval()));
}

#[test]
fn sync_take_over_is_refused_while_a_better_master_is_heard() {
    // Higher priority.
    let mut i = backup(100);
    i.handle(T, adv("192.0.2.1", 101));
    i.handle(T, Input::SyncTakeOver);
    assert!(changes(&drain(&mut i)).is_empty());
    // Equal priority from a higher address (RFC 5798 §6.4.3 tie-break).
    let mut i = backup(100);
    i.handle(T, adv("192.0.2.3", 100));
    i.handle(T, Input::SyncTakeOver);
    assert!(changes(&drain(&mut i)).is_empty());
    // ... but not once that master said priority 0.
    i.handle(T, adv("192.0.2.3", 0));
    i.handle(T, Input::SyncTakeOver);
    assert_eq!(
        changes(&drain(&mut i)),
        vec![(State::Backup, State::Master, Reason::SyncGroupMaster)]
    );
}

#[test]
fn sync_take_over_respects_a_handover_hold() {
    let mut i = master(150);
    i.handle(T, Input::Release(ReleaseReason::Handover));
    i.handle(T + secs_f(0.5), adv("192.0.2.1", 100));
    i.handle_timeout(T + secs_f(0.5) + RELEASE_GRACE);
    assert!(drain(&mut i).contains(&Action::HandoverComplete));
    assert!(i.preempt_held());
    i.handle(T + secs_f(1.0), adv("192.0.2.1", 0));
    i.handle(T + secs_f(1.0), Input::SyncTakeOver);
    assert!(changes(&drain(&mut i)).is_empty());
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn sync_inputs_are_ignored_in_init_and_fault() {
    let mut i = Instance::new(v3(100, ME)).unwrap();
    i.handle(T, Input::SyncTakeOver);
    i.handle(T, Input::SyncStepDown);
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.state(), State::Init);
    let mut f = backup(100);
    f.handle(T, Input::LinkDown);
    drain(&mut f);
    f.handle(T, Input::SyncTakeOver);
    f.handle(T, Input::SyncStepDown);
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.state(), State::Fault);
}

/// Random inputs to the members of one group, delivered the way the
/// daemon must: every burst of sync inputs ends (fixed point), and once
/// every member has settled, no member is faulty unless one is on its own
/// account, and then all are.
#[test]
fn sync_group_delivery_always_reaches_a_fixed_point() {
    let mut rng = Prng::new(42);
    for _ in 0..200 {
        let n = 2 + (rng.next_u64() % 3) as usize;
        let mut members: Vec<Instance> = (0..n)
            .map(|k| {
                let mut c = v3(50 + 40 * k as u8, ME);
                c.vrid = 51 + k as u8;
                Instance::new(c).unwrap()
            })
            .collect();
        let mut group = SyncGroup::new(n);
        let mut now = Duration::ZERO;
        for m in 0..n {
            deliver(&mut members, &mut group, now, m, Input::Startup);
        }
        for _ in 0..300 {
            now += Duration::from_millis(rng.next_u64() % 700);
            for m in 0..n {
                if members[m].poll_timeout().is_some_and(|t| t <= now) {
                    members[m].handle_timeout(now);
                    settle(&mut members, &mut group, now, m);
                }
            }
            let m = (rng.next_u64() % n as u64) as usize;
            let input = match rng.next_u64() % 9 {
                0 => Input::LinkDown,
                1 => Input::LinkUp,
                2 => Input::Trackers {
                    fault: rng.chance(300),
                    priority_delta: 0,
                },
                3 => adv("192.0.2.1", 255),
                4 => adv("192.0.2.1", 0),
                5 => adv("192.0.2.1", 1),
                6 => Input::Release(ReleaseReason::Handover),
                7 => Input::ResumePreempt,
                _ => adv("192.0.2.3", 100),
            };
            deliver(&mut members, &mut group, now, m, input);
            let own = members.iter().any(|i| i.own_fault());
            for i in &members {
                assert_eq!(i.state() == State::Fault, own, "fault is all or none");
            }
        }
    }
}

fn deliver(members: &mut [Instance], group: &mut SyncGroup, now: Duration, m: usize, input: Input) {
    members[m].handle(now, input);
    settle(members, group, now, m);
}

fn settle(members: &mut [Instance], group: &mut SyncGroup, now: Duration, first: usize) {
    let mut queue = std::collections::VecDeque::from([first]);
    let mut budget = 100;
    while let Some(m) = queue.pop_front() {
        budget -= 1;
        assert!(budget > 0, "no fixed point");
        let mut inputs = Vec::new();
        for a in drain(&mut members[m]) {
            inputs.extend(group.on_action(m, &a));
        }
        inputs.extend(group.on_own_fault(m, members[m].own_fault()));
        for s in inputs {
            members[s.member].handle(now, s.input);
            queue.push_back(s.member);
        }
    }
}
