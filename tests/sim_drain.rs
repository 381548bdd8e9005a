//! SPEC §4 drain on virtual time: a drained group moves like a handover and
//! then never takes mastership (not on the peer's death, not as the
//! address owner, not by preemption) until resumed.

mod sim;

use std::time::Duration;

use sim::{Lan, secs_f, v3};
use vrrpd::proto::instance::{Action, Input, State};

const D: Duration = Duration::from_millis(1);

fn pair() -> (Lan, usize, usize) {
    let mut lan = Lan::new(D);
    let a = lan.add("a", v3(150, "192.0.2.1"));
    let b = lan.add("b", v3(100, "192.0.2.2"));
    lan.start_all();
    lan.run_until(secs_f(20.5));
    assert_eq!(lan.masters(), vec![a]);
    (lan, a, b)
}

#[test]
fn drain_moves_mastership_without_a_gap_and_resume_preempts_back() {
    let (mut lan, a, b) = pair();
    let t0 = lan.now;
    lan.input(a, Input::Drain(true));
    lan.run_for(Duration::from_secs(5));
    assert!(lan.has_action(a, Action::HandoverComplete).is_some());
    assert_eq!(lan.masters(), vec![b]);
    assert!(lan.vip_gaps().is_empty());
    assert!(lan.inst(a).drained());
    // Held for good, although a has the higher priority.
    lan.run_for(Duration::from_secs(500));
    assert_eq!(lan.entered(a, State::Master, t0), None);
    let resume = lan.now;
    lan.input(a, Input::Drain(false));
    lan.run_for(Duration::from_secs(10));
    assert!(lan.entered(a, State::Master, resume).is_some());
    assert_eq!(lan.masters(), vec![a]);
}

#[test]
fn drained_backup_stays_backup_when_the_master_dies() {
    let (mut lan, a, b) = pair();
    lan.input(b, Input::Drain(true));
    let t0 = lan.now;
    lan.kill(a);
    lan.run_for(Duration::from_secs(60));
    assert_eq!(lan.entered(b, State::Master, t0), None);
    assert_eq!(lan.state(b), State::Backup);
    lan.input(b, Input::Drain(false));
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![b]);
}

#[test]
fn drained_before_startup_never_becomes_master_even_as_owner() {
    let mut lan = Lan::new(D);
    let a = lan.add("a", v3(255, "192.0.2.1"));
    let b = lan.add("b", v3(100, "192.0.2.2"));
    lan.input(a, Input::Drain(true));
    lan.start_all();
    lan.run_for(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![b]);
    assert_eq!(lan.state(a), State::Backup);
}
