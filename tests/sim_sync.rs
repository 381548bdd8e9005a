//! Sync groups (SPEC §2.1, §4: "if any member leaves master, all members do;
//! all go master together") on the simulated LAN: two boxes X and Y, each
//! running VRID 51 ("public") and VRID 52 ("private") tied by a sync group.

mod sim;

use std::time::Duration;

use sim::{Lan, Prng, Snapshot, ms, secs_f, v3_vrid};
use vrrpd::proto::Version;
use vrrpd::proto::instance::{Action, Input, Reason, ReleaseReason, State};
use vrrpd::proto::timers::{master_down_interval_cs, skew_time_cs};

const D: Duration = Duration::from_millis(1);

fn mdi(priority: u8) -> Duration {
    master_down_interval_cs(Version::V3, priority, 100)
}

fn skew(priority: u8) -> Duration {
    skew_time_cs(Version::V3, priority, 100)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Router indices: X's and Y's instance of each VRID.
#[derive(Clone, Copy, Debug)]
struct Net {
    x51: usize,
    x52: usize,
    y51: usize,
    y52: usize,
}

impl Net {
    fn x(&self) -> [usize; 2] {
        [self.x51, self.x52]
    }
    fn y(&self) -> [usize; 2] {
        [self.y51, self.y52]
    }
    fn public(&self) -> [usize; 2] {
        [self.x51, self.y51]
    }
    fn private(&self) -> [usize; 2] {
        [self.x52, self.y52]
    }
    fn all(&self) -> [usize; 4] {
        [self.x51, self.x52, self.y51, self.y52]
    }

    /// The VIPs of the two VRIDs are not both on one box (one box holds
    /// one, the other box holds the other and not the first).
    fn split(&self, snap: &Snapshot) -> bool {
        let h = |i: usize| snap.holders.contains(&i);
        (h(self.x51) && h(self.y52) && !h(self.y51) && !h(self.x52))
            || (h(self.y51) && h(self.x52) && !h(self.x51) && !h(self.y52))
    }

    fn dual(&self, snap: &Snapshot) -> bool {
        let m = |i: usize| snap.masters.contains(&i);
        (m(self.x51) && m(self.y51)) || (m(self.x52) && m(self.y52))
    }
}

/// X (150 on both VRIDs) and Y (`y51`, `y52`), each box with a sync group
/// over its two instances. Not started.
fn boxes(y51: u8, y52: u8) -> (Lan, Net) {
    let mut lan = Lan::new(D);
    let x51 = lan.add("x51", v3_vrid(51, 150, "192.0.2.1"));
    let x52 = lan.add("x52", v3_vrid(52, 150, "198.51.100.1"));
    let y51 = lan.add("y51", v3_vrid(51, y51, "192.0.2.2"));
    let y52 = lan.add("y52", v3_vrid(52, y52, "198.51.100.2"));
    lan.sync_group(&[x51, x52]);
    lan.sync_group(&[y51, y52]);
    (lan, Net { x51, x52, y51, y52 })
}

/// Both boxes started at 0; X is master of both from MDI(150) on.
fn started() -> (Lan, Net) {
    let (mut lan, n) = boxes(100, 100);
    lan.start_all();
    lan.run_until(s(20));
    assert_eq!(lan.masters(), n.x().to_vec());
    (lan, n)
}

fn transitions_since(lan: &Lan, i: usize, since: Duration) -> Vec<(Duration, State, Reason)> {
    lan.transitions(i)
        .into_iter()
        .filter(|t| t.0 >= since)
        .map(|(at, _, to, reason)| (at, to, reason))
        .collect()
}

#[test]
fn sync_group_startup_both_groups_master_on_the_higher_priority_box() {
    let (lan, n) = started();
    assert_eq!(lan.holders(), n.x().to_vec());
    // RFC 5798 §6.4.1: X's two instances run out their Master_Down_Timers
    // at the same instant; the second follows the first (sync take-over).
    assert_eq!(lan.entered(n.x51, State::Master, s(0)), Some(mdi(150)));
    assert_eq!(lan.entered(n.x52, State::Master, s(0)), Some(mdi(150)));
    assert_eq!(lan.transitions(n.x51)[1].3, Reason::MasterDown);
    for y in n.y() {
        assert_eq!(lan.entered(y, State::Master, s(0)), None);
    }
    assert_eq!(lan.longest(|snap| n.split(snap)), Duration::ZERO);
}

#[test]
fn sync_group_link_down_on_one_member_moves_both_groups_and_they_stay() {
    let (mut lan, n) = started();
    let t = secs_f(20.5);
    lan.run_until(t);
    lan.input(n.x51, Input::LinkDown);
    // X: the faulty member and, through the group, its fellow go Fault at
    // once, both sending priority 0 and dropping their VIPs.
    assert_eq!(
        transitions_since(&lan, n.x51, t),
        vec![(t, State::Fault, Reason::LinkDown)]
    );
    assert_eq!(
        transitions_since(&lan, n.x52, t),
        vec![(t, State::Fault, Reason::SyncGroupFault)]
    );
    for x in n.x() {
        assert_eq!(lan.adverts(x).last(), Some(&(t, 0)));
    }
    assert!(lan.holders().is_empty());
    lan.run_until(t + s(100));
    // Y: both priority-0 adverts arrive at t + D; Skew_Time later, both go
    // master (RFC 5798 §6.4.2), at the same instant.
    let up = t + D + skew(100);
    assert_eq!(lan.entered(n.y51, State::Master, t), Some(up));
    assert_eq!(lan.entered(n.y52, State::Master, t), Some(up));
    assert_eq!(lan.holders(), n.y().to_vec());
    // No flapping while the fault lasts: no transition anywhere after `up`.
    for i in n.all() {
        assert!(
            transitions_since(&lan, i, up + D).is_empty(),
            "{i} moved: {:?}",
            transitions_since(&lan, i, up + D)
        );
    }
    assert_eq!(lan.state(n.x51), State::Fault);
    assert_eq!(lan.state(n.x52), State::Fault);
    // The VIPs of each VRID were missing only for Skew_Time + D.
    assert_eq!(lan.vip_gaps_among(&n.public()), vec![t]);
    assert_eq!(lan.vip_gaps_among(&n.private()), vec![t]);
    assert_eq!(lan.longest(|snap| n.split(snap)), Duration::ZERO);
}

#[test]
fn sync_group_link_up_brings_both_groups_back_together() {
    let (mut lan, n) = started();
    lan.run_until(secs_f(20.5));
    lan.input(n.x51, Input::LinkDown);
    lan.run_until(secs_f(120.25));
    assert_eq!(lan.masters(), n.y().to_vec());
    let t = lan.now;
    lan.input(n.x51, Input::LinkUp);
    // Both leave Fault together (RFC 5798 §6.4.1 as at start-up).
    assert_eq!(
        transitions_since(&lan, n.x51, t),
        vec![(t, State::Backup, Reason::LinkUp)]
    );
    assert_eq!(
        transitions_since(&lan, n.x52, t),
        vec![(t, State::Backup, Reason::SyncGroupRecovered)]
    );
    lan.run_until(t + s(100));
    // Y's lower-priority adverts are discarded (preempt), so X's timers run
    // out MDI(150) later; Y hears X's first adverts D after that.
    let back = t + mdi(150);
    for x in n.x() {
        assert_eq!(lan.entered(x, State::Master, t), Some(back));
    }
    for y in n.y() {
        assert_eq!(lan.entered(y, State::Backup, t), Some(back + D));
    }
    assert_eq!(lan.holders(), n.x().to_vec());
    assert_eq!(lan.masters(), n.x().to_vec());
    for i in n.all() {
        assert!(transitions_since(&lan, i, back + s(1)).is_empty());
    }
    // Never split across boxes; dual masters only for the propagation delay.
    assert_eq!(lan.longest(|snap| n.split(snap)), Duration::ZERO);
    assert!(lan.longest(|snap| n.dual(snap)) <= D);
}

#[test]
fn sync_group_tracker_fault_on_the_backup_box_keeps_the_master_box() {
    let (mut lan, n) = started();
    lan.run_until(secs_f(20.5));
    // The backup box faults: it tells nobody anything new (it was silent)
    // and the master box must not move.
    lan.input(
        n.y52,
        Input::Trackers {
            fault: true,
            priority_delta: 0,
        },
    );
    assert_eq!(lan.state(n.y51), State::Fault);
    assert_eq!(lan.state(n.y52), State::Fault);
    lan.run_until(s(80));
    lan.input(
        n.y52,
        Input::Trackers {
            fault: false,
            priority_delta: 0,
        },
    );
    lan.run_until(s(200));
    assert_eq!(lan.masters(), n.x().to_vec());
    for x in n.x() {
        assert_eq!(lan.transitions(x).len(), 2, "{:?}", lan.transitions(x));
    }
    assert_eq!(lan.state(n.y51), State::Backup);
    assert_eq!(lan.state(n.y52), State::Backup);
}

#[test]
fn sync_group_higher_priority_peer_for_one_group_moves_both_groups() {
    let (mut lan, n) = started();
    let t = secs_f(20.5);
    lan.run_until(t);
    // Y's public instance becomes the better router (a tracker adds 100).
    lan.input(
        n.y51,
        Input::Trackers {
            fault: false,
            priority_delta: 100,
        },
    );
    lan.run_until(t + s(200));
    // Y51 discards X51's adverts from now on; its Master_Down_Timer, armed
    // by X51's last accepted advert (at 20 + MDI(150) fraction) with the
    // old priority, runs out and it preempts.
    let last_x51 = lan
        .adverts(n.x51)
        .into_iter()
        .map(|(at, _)| at)
        .rfind(|&at| at < t)
        .expect("x51 adverts");
    let pre = last_x51 + D + mdi(100);
    let y51 = transitions_since(&lan, n.y51, t);
    assert_eq!(
        y51,
        vec![(pre, State::Master, Reason::PreemptLowerPriority)]
    );
    // X: both step down together when X51 hears Y51's advert, X52 sending
    // priority 0 so that Y52 takes over after Skew_Time.
    assert_eq!(
        transitions_since(&lan, n.x51, t),
        vec![(pre + D, State::Backup, Reason::HigherPriorityAdvert)]
    );
    assert_eq!(
        transitions_since(&lan, n.x52, t),
        vec![(pre + D, State::Backup, Reason::SyncGroupBackup)]
    );
    assert!(lan.adverts(n.x52).contains(&(pre + D, 0)));
    // Y52's take-over at `pre` is refused (X52 at 150 beats it); X52's
    // priority 0 makes it master after Skew_Time.
    assert_eq!(
        transitions_since(&lan, n.y52, t),
        vec![(
            pre + D + D + skew(100),
            State::Master,
            Reason::PriorityZeroReceived
        )]
    );
    // ... and it stays so: X52 (150) holds its preemption after the sync
    // step-down, so the boxes do not swap the group back and forth.
    assert_eq!(lan.masters(), n.y().to_vec());
    assert_eq!(lan.holders(), n.y().to_vec());
    assert!(lan.inst(n.x52).sync_hold());
    // The private VIP was missing for Skew_Time + D at most, never split
    // for longer than that either.
    assert!(lan.longest(|snap| n.split(snap)) <= D + skew(100));

    // The better router goes away again: X preempts back, as one.
    let t2 = t + s(200);
    lan.input(
        n.y51,
        Input::Trackers {
            fault: false,
            priority_delta: 0,
        },
    );
    lan.run_until(t2 + s(100));
    assert_eq!(lan.masters(), n.x().to_vec());
    assert_eq!(lan.holders(), n.x().to_vec());
    let x51_up = lan.entered(n.x51, State::Master, t2).expect("x51 back");
    assert_eq!(lan.entered(n.x52, State::Master, t2), Some(x51_up));
    assert_eq!(lan.entered(n.y52, State::Backup, t2), Some(x51_up + D));
    assert!(x51_up < t2 + s(5));
    for i in n.all() {
        assert!(transitions_since(&lan, i, x51_up + s(1)).is_empty());
    }
}

#[test]
fn sync_group_third_router_better_on_one_vrid_steps_the_master_box_down_at_once() {
    let (mut lan, n) = started();
    let t = secs_f(20.5);
    lan.run_until(t);
    // Z only runs VRID 51, with priority 200, no sync group.
    let z = lan.add("z51", v3_vrid(51, 200, "192.0.2.3"));
    lan.start(z);
    lan.run_until(t + s(200));
    let z_up = lan.entered(z, State::Master, t).expect("z preempts");
    assert_eq!(z_up, t + mdi(200));
    // Both of X's members leave Master at the same instant.
    assert_eq!(lan.entered(n.x51, State::Backup, t), Some(z_up + D));
    assert_eq!(lan.entered(n.x52, State::Backup, t), Some(z_up + D));
    // VRID 52 moves to Y (the only other box running it), Skew_Time after
    // X52's priority 0; Y51 cannot follow (Z beats it) and is not forced.
    assert_eq!(
        lan.entered(n.y52, State::Master, t),
        Some(z_up + D + D + skew(100))
    );
    assert_eq!(lan.entered(n.y51, State::Master, t), None);
    assert_eq!(lan.masters(), vec![n.y52, z]);
    // Stable afterwards (no ricochet between the groups).
    for i in n.all().into_iter().chain([z]) {
        assert!(transitions_since(&lan, i, z_up + s(5)).is_empty());
    }
}

#[test]
fn sync_group_handover_of_one_member_moves_the_whole_group_make_before_break() {
    let (mut lan, n) = started();
    lan.run_until(secs_f(20.5));
    lan.release(n.x51, ReleaseReason::Handover);
    lan.run_until(s(60));
    // X51 sent priority 0 and kept its VIPs until Y51 took over; then the
    // group released X52 the same way.
    assert_eq!(lan.masters(), n.y().to_vec());
    assert_eq!(lan.holders(), n.y().to_vec());
    assert!(lan.vip_gaps_among(&n.public()).is_empty());
    assert!(lan.vip_gaps_among(&n.private()).is_empty());
    for x in n.x() {
        assert!(lan.has_action(x, Action::HandoverComplete).is_some());
        assert!(lan.inst(x).preempt_held());
    }
    // The handover holds: X does not preempt back.
    lan.run_until(s(200));
    assert_eq!(lan.masters(), n.y().to_vec());
}

#[test]
fn sync_group_converges_on_one_box_after_random_loss() {
    for seed in 1..=20u64 {
        let (mut lan, n) = boxes(100, 100);
        lan.set_loss(seed, 250);
        lan.start_all();
        // Some link trouble on the way, too.
        lan.run_until(s(300));
        lan.input(n.x52, Input::LinkDown);
        lan.run_until(s(400));
        lan.input(n.x52, Input::LinkUp);
        lan.run_until(s(1500));
        lan.clear_loss();
        lan.run_until(s(1530));
        assert_eq!(lan.masters(), n.x().to_vec(), "seed {seed}");
        assert_eq!(lan.holders(), n.x().to_vec(), "seed {seed}");
        for i in n.all() {
            assert!(
                transitions_since(&lan, i, s(1510)).is_empty(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn sync_group_converges_on_one_box_after_random_loss_with_crossed_priorities() {
    // Each box is the better one for one VRID: whoever ends up with the
    // group keeps it, but it is always one box.
    for seed in 1..=20u64 {
        let (mut lan, n) = boxes(200, 100);
        lan.set_loss(seed, 250);
        lan.start_all();
        lan.run_until(s(1500));
        lan.clear_loss();
        lan.run_until(s(1530));
        let m = lan.masters();
        assert!(
            m == n.x().to_vec() || m == n.y().to_vec(),
            "seed {seed}: {m:?}"
        );
        assert_eq!(lan.holders(), m, "seed {seed}");
        for i in n.all() {
            assert!(
                transitions_since(&lan, i, s(1510)).is_empty(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn sync_group_converges_on_one_box_after_random_trouble() {
    // Random priorities, loss, link flaps and tracker changes on random
    // members; once the trouble stops, both VRIDs end up on one box.
    let mut one_box = 0;
    for seed in 1..=200u64 {
        let mut rng = Prng::new(seed);
        let mut p = || 1 + (rng.next_u64() % 254) as u8;
        let (a, b, c, d) = (p(), p(), p(), p());
        let mut lan = Lan::new(D);
        let x51 = lan.add("x51", v3_vrid(51, a, "192.0.2.1"));
        let x52 = lan.add("x52", v3_vrid(52, b, "198.51.100.1"));
        let y51 = lan.add("y51", v3_vrid(51, c, "192.0.2.2"));
        let y52 = lan.add("y52", v3_vrid(52, d, "198.51.100.2"));
        lan.sync_group(&[x51, x52]);
        lan.sync_group(&[y51, y52]);
        let n = Net { x51, x52, y51, y52 };
        lan.set_loss(seed, 200);
        lan.start_all();
        let mut link_down = [false; 4];
        for step in 0..60u64 {
            lan.run_until(s(10 * step) + ms(rng.next_u64() % 10_000));
            let i = (rng.next_u64() % 4) as usize;
            match rng.next_u64() % 3 {
                0 => {
                    link_down[i] = !link_down[i];
                    let input = if link_down[i] {
                        Input::LinkDown
                    } else {
                        Input::LinkUp
                    };
                    lan.input(i, input);
                }
                1 => lan.input(
                    i,
                    Input::Trackers {
                        fault: false,
                        priority_delta: (rng.next_u64() % 101) as i32 - 50,
                    },
                ),
                _ => {}
            }
        }
        for (i, down) in link_down.into_iter().enumerate() {
            if down {
                lan.input(i, Input::LinkUp);
            }
        }
        lan.clear_loss();
        lan.run_until(s(700));
        let m = lan.masters();
        let ep = |i: usize| lan.inst(i).effective_priority();
        // RFC 5798 §6.4.3 order: priority, then the higher primary address
        // (equal random priorities happen).
        let beats = |i: usize, j: usize| {
            (ep(i), lan.addr(i).to_string()) > (ep(j), lan.addr(j).to_string())
        };
        let crossed = beats(x51, y51) != beats(x52, y52);
        if m == n.x().to_vec() || m == n.y().to_vec() {
            one_box += 1;
        } else {
            // Documented limitation (src/proto/sync_group.rs): when each box
            // is strictly better for a different VRID, a cascade broken by
            // loss can leave the group split, each VRID on its better
            // router, stable. Never otherwise.
            assert!(crossed, "seed {seed} ({a} {b} {c} {d}): {m:?}");
            assert_eq!(m.len(), 2, "seed {seed}: {m:?}");
            for &i in &m {
                let peer = match i {
                    _ if i == x51 => y51,
                    _ if i == y51 => x51,
                    _ if i == x52 => y52,
                    _ => x52,
                };
                assert!(beats(i, peer), "seed {seed}: {m:?}");
            }
        }
        assert_eq!(lan.holders(), m, "seed {seed}");
        for i in n.all() {
            assert!(transitions_since(&lan, i, s(680)).is_empty(), "seed {seed}");
        }
    }
    // The split is rare (about 1 in 1000 seeds; which seeds hit it depends
    // on every advert sent, e.g. RFC 9568 §6.4.3's answers to a
    // lower-priority master): allow one in 200.
    assert!(one_box >= 199, "{} of 200 seeds split", 200 - one_box);
}
