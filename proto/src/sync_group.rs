//! Sync groups (SPEC §2.1, §4): "if any member leaves master, all members
//! do; all go master together". Pure, like the instance: the coordinator
//! sees what the members report and answers with the inputs to deliver to
//! the *other* members. It owns no instance and no clock.
//!
//! Semantics (keepalived `vrrp_sync.c`: `vrrp_sync_fault`,
//! `vrrp_sync_backup`, `vrrp_sync_master`), per report of member `m`:
//!
//! * Fault is a level. Every member `i` is told [`Input::SyncFault`]`(x)`
//!   where `x` = "some member other than `i` is faulty on its own account"
//!   ([`Instance::own_fault`](super::instance::Instance::own_fault): link or
//!   weight-0 tracker), and only when `x` changes. A member in Fault only
//!   because of the group is not faulty on its own account, so a fault
//!   never feeds itself back, and the group leaves Fault only when the last
//!   own fault clears (keepalived counts `num_member_fault` the same way).
//! * `m` went Backup → Master for a reason of its own: every other member
//!   gets [`Input::SyncTakeOver`] (backups go master at once).
//! * `m` went Master → Backup for a reason of its own (a better master
//!   appeared): every other member gets [`Input::SyncStepDown`].
//! * `m` went Master → Backup because its handover release finished: the
//!   other members still master get [`Input::Release`]`(Handover)`, so the
//!   whole group moves make-before-break, not just `m`.
//! * Transitions with a sync reason ([`Reason::is_sync`]) — the answers to
//!   these inputs — are never propagated, and a shutdown (Master → Init) is
//!   not either (the daemon releases every instance when it stops). So one
//!   report causes at most one input per other member, whose own
//!   transitions cause none: delivery always reaches a fixed point.
//!
//! Deviation from keepalived: keepalived lets a member go master only when
//! every member wants to (`vrrp_sync_can_goto_master`), so one member whose
//! peer is missing keeps the whole group backup. Here a member goes master
//! by its own RFC rules and pulls the others along; flapping between two
//! boxes that each win one member is prevented on the instance side instead
//! (a member stepped down by the group does not preempt, and a take-over is
//! refused while a better master is heard; see
//! [`Input::SyncTakeOver`], [`Input::SyncStepDown`]).
//!
//! Limitation: when each box is strictly better for a *different* member
//! (crossed priorities, e.g. through weighted trackers), the group settles
//! on one box only as long as the step-down cascade is not broken: if a
//! priority-0 advert of a stepping-down member is lost at the wrong moment,
//! the group may stay split, each VRID on its better router, stably (about
//! 1 run in 1000 in the lossy simulation, never with a box that is at least
//! as good on every member). By default keepalived does not let sync group
//! members have differing tracker weights (a failing tracker is a fault;
//! `sync_group_tracking_weight` overrides it, documented as "probably won't
//! work") for much the same reason; the daemon may want to do likewise.
//!
//! How the shell wires it: give every member instance an index `0..n`;
//! whenever it drains a member's actions, pass each
//! [`Action::StateChanged`] to [`SyncGroup::on_state_changed`] (or every
//! action to [`SyncGroup::on_action`]) and then the member's
//! [`own_fault`](super::instance::Instance::own_fault) to
//! [`SyncGroup::on_own_fault`]; deliver each returned [`SyncInput`] with
//! `handle(now, input)` to its member at the same `now`, and treat that
//! member's actions the same way, until nothing is left.

use serde::{Deserialize, Serialize};

use super::instance::{Action, Input, Reason, ReleaseReason, State};

/// One input the shell must deliver to one member (an index into the group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncInput {
    pub member: usize,
    pub input: Input,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Member {
    /// The state last reported by [`SyncGroup::on_state_changed`].
    state: State,
    /// Faulty on its own account, as last reported.
    own_fault: bool,
    /// The last [`Input::SyncFault`] value sent to this member.
    told_fault: bool,
}

/// The coordinator of one sync group. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    members: Vec<Member>,
}

impl SyncGroup {
    /// A group of `members` instances, all in Init and not faulty.
    pub fn new(members: usize) -> SyncGroup {
        SyncGroup {
            members: vec![
                Member {
                    state: State::Init,
                    own_fault: false,
                    told_fault: false,
                };
                members
            ],
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The state of `member` as last reported.
    pub fn member_state(&self, member: usize) -> State {
        self.members[member].state
    }

    /// Some member is faulty on its own account (the group is in Fault).
    pub fn faulty(&self) -> bool {
        self.members.iter().any(|m| m.own_fault)
    }

    /// The group's state when every member agrees (for group notify
    /// scripts), else `None` (a transition is still spreading, or a member
    /// cannot follow: e.g. its peer beats it).
    pub fn group_state(&self) -> Option<State> {
        let first = self.members.first()?.state;
        self.members
            .iter()
            .all(|m| m.state == first)
            .then_some(first)
    }

    /// Convenience: feed any action of `member`; only
    /// [`Action::StateChanged`] matters.
    pub fn on_action(&mut self, member: usize, action: &Action) -> Vec<SyncInput> {
        match *action {
            Action::StateChanged {
                from, to, reason, ..
            } => self.on_state_changed(member, from, to, reason),
            _ => Vec::new(),
        }
    }

    /// `member` reported `StateChanged { from, to, reason }`.
    pub fn on_state_changed(
        &mut self,
        member: usize,
        from: State,
        to: State,
        reason: Reason,
    ) -> Vec<SyncInput> {
        self.members[member].state = to;
        if reason.is_sync() {
            return Vec::new();
        }
        let input = match (from, to, reason) {
            (State::Master, State::Backup, Reason::Released(ReleaseReason::Handover)) => {
                return self.others(
                    member,
                    |m| m.state == State::Master,
                    |_| Input::Release(ReleaseReason::Handover),
                );
            }
            (State::Master, State::Backup, _) => Input::SyncStepDown,
            (_, State::Master, _) => Input::SyncTakeOver,
            _ => return Vec::new(),
        };
        let wanted = match input {
            Input::SyncStepDown => State::Master,
            _ => State::Backup,
        };
        self.others(member, |m| m.state == wanted, |_| input)
    }

    /// `member` is (or is not) faulty on its own account. Cheap and
    /// idempotent: call it after every input the member handled.
    pub fn on_own_fault(&mut self, member: usize, own_fault: bool) -> Vec<SyncInput> {
        if self.members[member].own_fault == own_fault {
            return Vec::new();
        }
        self.members[member].own_fault = own_fault;
        let mut out = Vec::new();
        for i in 0..self.members.len() {
            let others_faulty = self
                .members
                .iter()
                .enumerate()
                .any(|(j, m)| j != i && m.own_fault);
            if others_faulty != self.members[i].told_fault {
                self.members[i].told_fault = others_faulty;
                out.push(SyncInput {
                    member: i,
                    input: Input::SyncFault(others_faulty),
                });
            }
        }
        out
    }

    fn others(
        &self,
        member: usize,
        select: impl Fn(&Member) -> bool,
        input: impl Fn(usize) -> Input,
    ) -> Vec<SyncInput> {
        self.members
            .iter()
            .enumerate()
            .filter(|&(i, m)| i != member && select(m))
            .map(|(i, _)| SyncInput {
                member: i,
                input: input(i),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(v: &[SyncInput]) -> Vec<(usize, Input)> {
        v.iter().map(|s| (s.member, s.input)).collect()
    }

    #[test]
    fn fault_is_a_level_over_own_faults_only() {
        let mut g = SyncGroup::new(3);
        assert_eq!(
            inputs(&g.on_own_fault(0, true)),
            vec![(1, Input::SyncFault(true)), (2, Input::SyncFault(true))]
        );
        // A second own fault: member 0 now hears of it, the others knew.
        assert_eq!(
            inputs(&g.on_own_fault(2, true)),
            vec![(0, Input::SyncFault(true))]
        );
        assert!(g.on_own_fault(2, true).is_empty());
        assert_eq!(
            inputs(&g.on_own_fault(0, false)),
            vec![(2, Input::SyncFault(false))]
        );
        assert_eq!(
            inputs(&g.on_own_fault(2, false)),
            vec![(0, Input::SyncFault(false)), (1, Input::SyncFault(false))]
        );
        assert!(!g.faulty());
    }

    #[test]
    fn sync_caused_transitions_are_not_propagated() {
        let mut g = SyncGroup::new(2);
        g.on_state_changed(0, State::Init, State::Backup, Reason::Startup);
        g.on_state_changed(1, State::Init, State::Backup, Reason::Startup);
        assert_eq!(
            inputs(&g.on_state_changed(0, State::Backup, State::Master, Reason::MasterDown)),
            vec![(1, Input::SyncTakeOver)]
        );
        assert!(
            g.on_state_changed(1, State::Backup, State::Master, Reason::SyncGroupMaster)
                .is_empty()
        );
        assert_eq!(g.group_state(), Some(State::Master));
        assert_eq!(
            inputs(&g.on_state_changed(
                1,
                State::Master,
                State::Backup,
                Reason::HigherPriorityAdvert
            )),
            vec![(0, Input::SyncStepDown)]
        );
        assert!(
            g.on_state_changed(0, State::Master, State::Backup, Reason::SyncGroupBackup)
                .is_empty()
        );
    }

    #[test]
    fn completed_handover_releases_the_other_masters() {
        let mut g = SyncGroup::new(3);
        for m in 0..3 {
            g.on_state_changed(m, State::Init, State::Master, Reason::SyncGroupMaster);
        }
        g.on_state_changed(2, State::Master, State::Fault, Reason::SyncGroupFault);
        assert_eq!(
            inputs(&g.on_state_changed(
                0,
                State::Master,
                State::Backup,
                Reason::Released(ReleaseReason::Handover)
            )),
            vec![(1, Input::Release(ReleaseReason::Handover))]
        );
    }
}
