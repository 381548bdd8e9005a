//! The RFC 5798 §6 / RFC 3768 §6 state machine of ONE virtual router, in the
//! "sans-IO" shape of quinn-proto and smoltcp.
//!
//! The instance never reads a clock and never does I/O. The shell drives it:
//!
//! * [`Instance::handle`]`(now, input)` feeds one event (start-up, a received
//!   advert that already passed the receive pipeline's validation, link and
//!   tracker changes, a release request);
//! * [`Instance::poll_timeout`] says when the instance next needs
//!   [`Instance::handle_timeout`]`(now)` to be called (the earliest of the
//!   Adver_Timer, the Master_Down_Timer and a release deadline);
//! * after every call, [`Instance::poll_action`] is drained until `None`; the
//!   shell carries out each [`Action`] in order (send an advert, add or
//!   remove the VIPs, announce them, log a state change, ...).
//!
//! `now` is virtual time ([`Time`]) and must never go backwards. Calling
//! `handle_timeout` before the deadline is harmless (nothing happens); only
//! the rules cited in each handler ever move a timer, so inputs that match no
//! rule (a repeated start-up, an unchanged tracker report) cannot delay
//! anything; a lower-priority advert to a master adds at most one advert per
//! interval (RFC 9568 §6.4.3) and moves no timer either.
//!
//! Beyond the RFC, the instance implements the make-before-break release of
//! SPEC §4 ([`Input::Release`]) and keepalived's `preempt_delay`.
//!
//! Choices where the RFCs are silent or ambiguous:
//!
//! * Skew_Time and Master_Down_Interval use the *effective* priority (base
//!   plus tracker delta), like keepalived; they are recomputed whenever a
//!   timer is armed, never retroactively.
//! * Only VRRPv3 learns Master_Adver_Interval (RFC 5798 §6.4.2/§6.4.3);
//!   VRRPv2 always uses its own interval (RFC 3768 drops mismatches).
//!   Entering Backup from Init or Fault resets it to our own interval
//!   (RFC 5798 §6.4.1); becoming master does too.
//! * Tie-break (RFC 5798 §6.4.3): the sender's primary address is compared
//!   with ours as an unsigned integer in network byte order.
//! * Preempt_Mode affects only Backup; a master yields to any higher
//!   priority advert whatever its own `preempt` (RFC 5798 §6.4.3).
//! * `preempt_delay` (keepalived): a lower-priority advert is treated as if it
//!   were higher until the delay has run out. The delay starts on entering
//!   Backup (start-up, leaving Master or Fault) and, after an advert of at
//!   least our priority stopped it, on the next lower-priority advert.
//! * Fault is keepalived's state, not the RFC's: a master entering it sends
//!   priority 0 (SPEC §4) and removes the VIPs; no timer runs in Fault and
//!   adverts are ignored; leaving it is a Startup (owner → Master, else
//!   Backup with a fresh Master_Down_Timer).
//! * A tracker change of a master's effective priority is advertised at once
//!   and restarts the Adver_Timer.
//! * Release (RFC 5798 §6.4.3 "Shutdown", made make-before-break by SPEC §4):
//!   the master keeps its VIPs and sends priority 0 at once and every
//!   interval; the first advert with a non-zero priority names the taker,
//!   and [`super::timers::RELEASE_GRACE`] later the VIPs go (packets sent
//!   before clients heard the taker's announcement still reach us).
//!   With no taker within our own Master_Down_Interval, a shutdown releases
//!   anyway and a handover is abandoned ([`Action::HandoverFailed`], still
//!   master). A finished shutdown goes to Init (RFC: Shutdown → Initialize)
//!   and the instance is inert; a finished handover goes to Backup and holds
//!   preemption until [`Input::ResumePreempt`] or the next time it becomes
//!   master (e.g. after the peer's own handover).
//! * A priority-0 advert received by a releasing master is ignored.
//! * Dual masters heal (RFC 9568 §6.4.3, SPEC §1): a master hearing a lower
//!   priority (or an equal one from a lower address) sends an advert at once
//!   and re-announces its VIPs ([`Action::Reannounce`]): clients may have
//!   followed the other master. A master stepping down for a better advert
//!   first sends one advert of its own (keepalived
//!   `higher_prio_send_advert`), so the winner hears of it and re-announces
//!   whichever side heard the other first. Each of the two is sent at most
//!   once per Advertisement_Interval: a flood of valid lower-priority
//!   adverts is never amplified.
//! * `start_state = "master"` on a non-owner (keepalived `vrrp_init_state`)
//!   does not take the VIPs at once: it starts as Backup with a
//!   Master_Down_Timer of one Advertisement_Interval plus the owner's
//!   Skew_Time, so a live master is heard first and clients never follow a
//!   router about to back off. Only the owner is master at start-up.
//!
//! Sync groups (SPEC §2.1, §4; keepalived `vrrp_sync.c`) are coordinated by
//! [`super::sync_group::SyncGroup`], which turns one member's transitions
//! into the `Sync*` inputs of the others. The instance side:
//!
//! * [`Input::SyncFault`]: a fellow member is faulty. One more fault source
//!   next to the link and the weight-0 trackers (reason
//!   [`Reason::SyncGroupFault`]); a master sends priority 0 and drops its
//!   VIPs, and nobody leaves Fault until every source is clear (then
//!   [`Reason::SyncGroupRecovered`] if the sync fault was the last one).
//!   [`Instance::own_fault`] excludes it, so faults never ricochet.
//! * [`Input::SyncStepDown`]: a fellow member left Master for Backup. A
//!   master (not releasing) sends priority 0, drops its VIPs and goes Backup
//!   ([`Reason::SyncGroupBackup`]) with a fresh Master_Down_Timer, like
//!   keepalived's `vrrp_sync_backup`. Deviation: it then holds preemption
//!   (it accepts a lower-priority master's adverts) until it next becomes
//!   master, enters Fault, or gets [`Input::ResumePreempt`]. Without that
//!   hold, two routers that each win one member would swap the group back
//!   and forth forever; keepalived avoids that by never going master unless
//!   every member wants to, which would leave a group without any master
//!   when one member's peer is missing. A master that goes silent is still
//!   taken over (Master_Down_Timer), so the hold never costs availability.
//! * [`Input::SyncTakeOver`]: a fellow member became master. A backup
//!   becomes master at once ([`Reason::SyncGroupMaster`]), like keepalived's
//!   `vrrp_sync_master`, unless a completed handover holds it or it is
//!   listening to a master that beats it (a higher priority, or an equal one
//!   from a higher address): going master would only be undone by that
//!   master's next advert, with a dual master in between.

use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::timers::{self, centiseconds};
use super::{Time, Version};

/// The priority of the address owner (RFC 5798 §5.2.4).
pub const OWNER_PRIORITY: u8 = 255;

/// Configuration of one virtual router, as far as the state machine cares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    pub version: Version,
    pub vrid: u8,
    /// Base priority, 1..=255 (255 = address owner).
    pub priority: u8,
    /// Our Advertisement_Interval in centiseconds (VRRPv2: a multiple of 100).
    pub advert_interval_cs: u16,
    pub preempt: bool,
    /// keepalived `preempt_delay`: no preemption of a lower-priority master
    /// until this long after start-up, the last state change, or the first
    /// sighting of a lower-priority master since a higher one was seen.
    pub preempt_delay: Duration,
    /// Go master at start-up without waiting (keepalived `state MASTER`).
    pub start_as_master: bool,
    /// Our primary address (IPv4 primary, or IPv6 link-local): the source of
    /// our adverts and the tie-break on equal priority.
    pub primary_address: IpAddr,
    /// The group has virtual routes or rules (SPEC §2.2): they follow the
    /// VIPs ([`Action::AddRoutes`] after [`Action::AddVips`],
    /// [`Action::RemoveRoutes`] before [`Action::RemoveVips`]).
    #[serde(default)]
    pub routes: bool,
}

/// Why [`Instance::new`] refused a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstanceConfigError {
    #[error("VRID {0} is out of range 1..=255")]
    Vrid(u8),
    #[error("priority {0} is out of range 1..=255")]
    Priority(u8),
    #[error("advertisement interval {cs} cs is invalid for VRRP{version:?}")]
    Interval { version: Version, cs: u16 },
}

/// A received advertisement that the receive pipeline already validated
/// (TTL, version, checksum, VRID, auth, ...). Invalid packets never get here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxAdvert {
    /// The sender's primary address (IP source address of the advert).
    pub src: IpAddr,
    pub priority: u8,
    /// The advert's interval in centiseconds (VRRPv2: seconds × 100).
    pub interval_cs: u16,
}

/// Why this node gives up mastership on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// SIGTERM / SIGINT: release, then the daemon exits.
    Shutdown,
    /// `vrrpd handover`: release and stay backup without preempting back.
    Handover,
}

impl fmt::Display for ReleaseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseReason::Shutdown => "shutdown",
            ReleaseReason::Handover => "handover",
        })
    }
}

/// Everything that can happen to an instance, except the passing of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// RFC 5798 §6.4.1 Startup event.
    Startup,
    /// A valid advertisement for our VRID from another router.
    Advert(RxAdvert),
    /// The group's interface (or a weight-0 tracked interface) went down.
    LinkDown,
    /// ... and came back.
    LinkUp,
    /// The trackers' combined verdict: any weight-0 tracker failing
    /// (`fault`), and the sum of the weights of the failing weighted ones.
    Trackers { fault: bool, priority_delta: i32 },
    /// Make-before-break release (SPEC §4).
    Release(ReleaseReason),
    /// Lift the "do not preempt back" hold left by a completed handover
    /// (and the one left by [`Input::SyncStepDown`]).
    ResumePreempt,
    /// `vrrpd drain` (true) / `vrrpd resume` (false), SPEC §4: a drained
    /// group never takes mastership; a drained master releases like a
    /// handover. Resume lifts the drain and the preemption holds.
    Drain(bool),
    /// Sync group: whether any fellow member is faulty on its own account
    /// (level, not edge; see [`super::sync_group::SyncGroup`]).
    SyncFault(bool),
    /// Sync group: a fellow member left Master for Backup.
    SyncStepDown,
    /// Sync group: a fellow member became Master.
    SyncTakeOver,
    /// BFD (SPEC §1): the session to `peer` failed its detection time after
    /// having been Up. A backup whose current master is `peer` acts as if
    /// its Master_Down_Timer had expired.
    PeerDown { peer: IpAddr },
    /// A reload changed only the group's virtual routes or rules; `present`:
    /// whether it has any now. Mastership is untouched; while the VIPs are
    /// held the shell gets [`Action::UpdateRoutes`].
    RoutesChanged { present: bool },
}

/// RFC 5798 §6.4 states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "init",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
        })
    }
}

/// Why a state changed (logged with every transition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Start-up as a backup.
    Startup,
    /// Start-up as the address owner (priority 255).
    OwnerStartup,
    /// Start-up with `start_state = "master"`.
    StartAsMaster,
    /// Master_Down_Timer expired: the master went silent.
    MasterDown,
    /// Master_Down_Timer (set to Skew_Time) expired after a priority-0 advert.
    PriorityZeroReceived,
    /// Master_Down_Timer expired while we were discarding a lower-priority
    /// master's adverts (preemption).
    PreemptLowerPriority,
    /// A master saw an advert with a higher priority.
    HigherPriorityAdvert,
    /// A master saw an advert with its own priority from a higher address.
    EqualPriorityHigherAddress,
    /// A make-before-break release finished.
    Released(ReleaseReason),
    LinkDown,
    LinkUp,
    TrackerFault,
    TrackerRecovered,
    /// A fellow sync group member is faulty ([`Input::SyncFault`]).
    SyncGroupFault,
    /// The last fellow sync group member left Fault.
    SyncGroupRecovered,
    /// A fellow sync group member left Master ([`Input::SyncStepDown`]).
    SyncGroupBackup,
    /// A fellow sync group member became Master ([`Input::SyncTakeOver`]).
    SyncGroupMaster,
    /// BFD detected the master's death before the Master_Down_Timer did
    /// ([`Input::PeerDown`]).
    BfdPeerDown,
}

impl Reason {
    /// True for the reasons of transitions a sync group caused (which a
    /// [`super::sync_group::SyncGroup`] never propagates).
    pub fn is_sync(self) -> bool {
        matches!(
            self,
            Reason::SyncGroupFault
                | Reason::SyncGroupRecovered
                | Reason::SyncGroupBackup
                | Reason::SyncGroupMaster
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::OwnerStartup => f.write_str("owner_startup"),
            Reason::StartAsMaster => f.write_str("start_as_master"),
            Reason::MasterDown => f.write_str("master_down"),
            Reason::PriorityZeroReceived => f.write_str("priority_zero_received"),
            Reason::PreemptLowerPriority => f.write_str("preempt_lower_priority"),
            Reason::HigherPriorityAdvert => f.write_str("higher_priority_advert"),
            Reason::EqualPriorityHigherAddress => f.write_str("equal_priority_higher_address"),
            Reason::Released(r) => write!(f, "released({r})"),
            Reason::LinkDown => f.write_str("link_down"),
            Reason::LinkUp => f.write_str("link_up"),
            Reason::TrackerFault => f.write_str("tracker_fault"),
            Reason::TrackerRecovered => f.write_str("tracker_recovered"),
            Reason::SyncGroupFault => f.write_str("sync_group_fault"),
            Reason::SyncGroupRecovered => f.write_str("sync_group_recovered"),
            Reason::SyncGroupBackup => f.write_str("sync_group_backup"),
            Reason::SyncGroupMaster => f.write_str("sync_group_master"),
            Reason::BfdPeerDown => f.write_str("bfd_peer_down"),
        }
    }
}

/// What the shell must do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send one advertisement (to the multicast group, or one copy per
    /// unicast peer) with this priority and our configured interval.
    SendAdvert { priority: u8 },
    /// Add every VIP (tracked and excluded) of the group.
    AddVips,
    /// Remove every VIP of the group.
    RemoveVips,
    /// Install the group's virtual routes and rules (right after
    /// [`Action::AddVips`]: a route's `src` may be a VIP).
    AddRoutes,
    /// Remove the virtual routes and rules vrrpd installed (right before
    /// [`Action::RemoveVips`]).
    RemoveRoutes,
    /// Still holding the VIPs, and the configured routes or rules changed:
    /// make the installed ones equal to the configured ones
    /// ([`crate::routes::diff`]).
    UpdateRoutes,
    /// Start a gratuitous ARP / unsolicited NA burst for every VIP (the shell
    /// repeats it `garp_repeat` times, `garp_interval` apart).
    Announce,
    /// Still master, and a lower-priority master was heard (RFC 9568
    /// §6.4.3): one more gratuitous ARP / NA burst for every VIP, because
    /// clients may have followed it. No second delayed burst.
    Reannounce,
    /// One structured log line, notify scripts, metrics.
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
        priority: u8,
    },
    /// The effective priority changed without a state change.
    PriorityChanged { from: u8, to: u8 },
    /// A shutdown release finished: the VIPs are gone (or were never held);
    /// the shell may clean up and exit. The instance is inert afterwards.
    Released,
    /// A handover finished: another router is master, we are backup and will
    /// not preempt back until [`Input::ResumePreempt`].
    HandoverComplete,
    /// A handover found no taker within Master_Down_Interval: we are still
    /// master, advertising our real priority again.
    HandoverFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Release {
    reason: ReleaseReason,
    /// No taker by then: give up (shutdown) or stay master (handover).
    /// Once a taker is heard: the end of the grace.
    deadline: Time,
    /// The new master's first advert, heard while releasing.
    taker: Option<RxAdvert>,
}

/// What armed the Master_Down_Timer, to name the reason when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    Silence,
    PriorityZero,
    Preempt,
    /// A non-owner's `start_state = "master"` (one interval to hear a master).
    StartAsMaster,
}

/// One virtual router. See the module documentation for how to drive it.
#[derive(Clone, Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Set once a shutdown release finished: every input is ignored.
    finished: bool,
    link_down: bool,
    tracker_fault: bool,
    /// A fellow sync group member is faulty ([`Input::SyncFault`]).
    sync_fault: bool,
    /// Stepped down by the sync group: no preemption until next master.
    sync_hold: bool,
    priority_delta: i32,
    master_adver_interval: Duration,
    master_address: Option<IpAddr>,
    /// Priority of the last accepted advert (Backup), with `master_address`.
    master_priority: Option<u8>,
    adver_timer: Option<Time>,
    master_down_timer: Option<Time>,
    down_cause: DownCause,
    release: Option<Release>,
    /// After a completed handover: do not preempt until ResumePreempt.
    preempt_held: bool,
    /// `vrrpd drain`: never become master until `Drain(false)`.
    drained: bool,
    /// preempt_delay: lower-priority adverts are accepted until this time.
    /// `None` = the delay has not started (see [`InstanceConfig::preempt_delay`]).
    preempt_after: Option<Time>,
    vips_held: bool,
    /// RFC 9568 §6.4.3 rate limit: when the last advert sent in answer to
    /// another master (lower-priority re-assertion, or the step-down
    /// advert) went out. At most one such advert per Advertisement_Interval.
    last_answer: Option<Time>,
    /// Stepped down for a better master: the VIPs go at this time
    /// ([`timers::RELEASE_GRACE`] after its advert), not at once.
    vips_release_at: Option<Time>,
    actions: VecDeque<Action>,
}

impl Instance {
    /// A new instance in the Init state. Nothing happens until
    /// [`Input::Startup`].
    pub fn new(cfg: InstanceConfig) -> Result<Instance, InstanceConfigError> {
        if cfg.vrid == 0 {
            return Err(InstanceConfigError::Vrid(cfg.vrid));
        }
        if cfg.priority == 0 {
            return Err(InstanceConfigError::Priority(cfg.priority));
        }
        if !timers::valid_interval_cs(cfg.version, cfg.advert_interval_cs) {
            return Err(InstanceConfigError::Interval {
                version: cfg.version,
                cs: cfg.advert_interval_cs,
            });
        }
        let interval = centiseconds(cfg.advert_interval_cs);
        Ok(Instance {
            cfg,
            state: State::Init,
            finished: false,
            link_down: false,
            tracker_fault: false,
            sync_fault: false,
            sync_hold: false,
            priority_delta: 0,
            master_adver_interval: interval,
            master_address: None,
            master_priority: None,
            adver_timer: None,
            master_down_timer: None,
            down_cause: DownCause::Silence,
            release: None,
            preempt_held: false,
            drained: false,
            preempt_after: None,
            vips_held: false,
            last_answer: None,
            vips_release_at: None,
            actions: VecDeque::new(),
        })
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The interface's primary address changed (the source of our adverts
    /// and our side of the equal-priority tie-break, RFC 5798 §6.4.3).
    pub fn set_primary_address(&mut self, addr: IpAddr) {
        self.cfg.primary_address = addr;
    }

    /// Base priority plus the trackers' delta. The owner (255) keeps 255
    /// while the delta is 0; otherwise the result is clamped to 1..=254, like
    /// keepalived.
    pub fn effective_priority(&self) -> u8 {
        if self.cfg.priority == OWNER_PRIORITY && self.priority_delta == 0 {
            return OWNER_PRIORITY;
        }
        let p = i64::from(self.cfg.priority) + i64::from(self.priority_delta);
        p.clamp(1, 254) as u8
    }

    /// The current master's primary address: ours while master, the last
    /// accepted advert's source while backup (cleared by a priority-0
    /// advert), `None` in Init and Fault.
    pub fn master_address(&self) -> Option<IpAddr> {
        match self.state {
            State::Master => Some(self.cfg.primary_address),
            State::Backup => self.master_address,
            State::Init | State::Fault => None,
        }
    }

    /// Our configured Advertisement_Interval.
    pub fn advert_interval(&self) -> Duration {
        centiseconds(self.cfg.advert_interval_cs)
    }

    /// Master_Adver_Interval: learned from the master's adverts in VRRPv3
    /// backup state, else our own interval.
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// Skew_Time for our effective priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        timers::skew_time(
            self.cfg.version,
            self.effective_priority(),
            self.master_adver_interval,
        )
    }

    /// Master_Down_Interval for our effective priority and
    /// Master_Adver_Interval.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.cfg.version,
            self.effective_priority(),
            self.master_adver_interval,
        )
    }

    /// The release in progress, if any (we are master sending priority 0).
    pub fn releasing(&self) -> Option<ReleaseReason> {
        self.release.map(|r| r.reason)
    }

    /// True between [`Input::Drain`] `(true)` and `(false)`.
    pub fn drained(&self) -> bool {
        self.drained
    }

    /// True after a completed handover until [`Input::ResumePreempt`].
    pub fn preempt_held(&self) -> bool {
        self.preempt_held
    }

    /// Faulty on our own account (link down or a weight-0 tracker), i.e.
    /// leaving out [`Input::SyncFault`]. What a sync group forwards.
    pub fn own_fault(&self) -> bool {
        self.link_down || self.tracker_fault
    }

    /// True while [`Input::SyncFault`] says a fellow member is faulty.
    pub fn sync_fault(&self) -> bool {
        self.sync_fault
    }

    /// True after [`Input::SyncStepDown`] until we next become master, enter
    /// Fault, or get [`Input::ResumePreempt`]: no preemption meanwhile.
    pub fn sync_hold(&self) -> bool {
        self.sync_hold
    }

    /// True once a shutdown release finished; the instance ignores inputs.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// When [`Instance::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.release.map(|r| r.deadline),
            self.vips_release_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next thing the shell must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Feed one input at virtual time `now`.
    ///
    /// Timers that expired strictly before `now` are processed first (as
    /// [`Instance::handle_timeout`] would have), so a shell that notices a
    /// packet before an overdue timer cannot let the packet undo the expiry.
    /// A timer due exactly at `now` is left for `handle_timeout`: at the same
    /// instant, the input is seen first.
    pub fn handle(&mut self, now: Time, input: Input) {
        if self.finished {
            return;
        }
        self.fire_timers(now, |t| t < now);
        match input {
            Input::Startup => self.on_startup(now),
            Input::Advert(adv) => match self.state {
                State::Backup => self.backup_rx(now, adv),
                State::Master => self.master_rx(now, adv),
                // RFC 5798 §6.4.1: Init only waits for Startup; Fault
                // (keepalived) ignores adverts.
                State::Init | State::Fault => {}
            },
            Input::LinkDown => {
                self.link_down = true;
                self.fault_changed(now, Reason::LinkDown);
            }
            Input::LinkUp => {
                self.link_down = false;
                self.fault_changed(now, Reason::LinkUp);
            }
            Input::Trackers {
                fault,
                priority_delta,
            } => self.on_trackers(now, fault, priority_delta),
            Input::Release(reason) => self.on_release(now, reason),
            Input::ResumePreempt => {
                self.preempt_held = false;
                self.sync_hold = false;
            }
            Input::Drain(true) => {
                self.drained = true;
                if self.state == State::Master {
                    self.on_release(now, ReleaseReason::Handover);
                }
            }
            Input::Drain(false) => {
                self.drained = false;
                self.preempt_held = false;
                self.sync_hold = false;
            }
            Input::SyncFault(fault) => {
                let was_faulty = self.faulty();
                self.sync_fault = fault;
                if was_faulty != self.faulty() {
                    let reason = if fault {
                        Reason::SyncGroupFault
                    } else {
                        Reason::SyncGroupRecovered
                    };
                    self.fault_changed(now, reason);
                }
            }
            Input::SyncStepDown => self.on_sync_step_down(now),
            Input::SyncTakeOver => self.on_sync_take_over(now),
            Input::PeerDown { peer } => {
                // SPEC §1: as if the Master_Down_Timer had expired, but only
                // for the master we are listening to; BFD to any other peer
                // says nothing about this group's master.
                if self.state == State::Backup
                    && self.master_down_timer.is_some()
                    && self.master_address == Some(peer)
                {
                    self.become_master(now, Reason::BfdPeerDown);
                }
            }
            Input::RoutesChanged { present } => {
                let had = self.cfg.routes;
                self.cfg.routes = present;
                if self.vips_held && (had || present) {
                    self.actions.push_back(Action::UpdateRoutes);
                }
            }
        }
    }

    /// Process every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.finished {
            return;
        }
        self.fire_timers(now, |t| t <= now);
    }

    /// Fire every timer whose deadline satisfies `due`, at time `now`.
    fn fire_timers(&mut self, now: Time, due: impl Fn(Time) -> bool) {
        // SPEC §4: the release deadline (no peer took over).
        if let Some(rel) = self.release
            && due(rel.deadline)
        {
            self.release_timed_out(now, rel);
        }
        // The grace after stepping down for a better master is over.
        if let Some(t) = self.vips_release_at
            && due(t)
        {
            self.remove_vips();
        }
        // RFC 5798 §6.4.2 / RFC 3768 §6.4.2: Master_Down_Timer fires.
        if self.state == State::Backup
            && let Some(t) = self.master_down_timer
            && due(t)
        {
            let reason = match self.down_cause {
                DownCause::Silence => Reason::MasterDown,
                DownCause::PriorityZero => Reason::PriorityZeroReceived,
                DownCause::Preempt => Reason::PreemptLowerPriority,
                DownCause::StartAsMaster => Reason::StartAsMaster,
            };
            self.become_master(now, reason);
        }
        // RFC 5798 §6.4.3 / RFC 3768 §6.4.3: Adver_Timer fires.
        if self.state == State::Master
            && let Some(t) = self.adver_timer
            && due(t)
        {
            self.send_advert();
            self.adver_timer = Some(now + self.advert_interval());
        }
    }

    // ---- handlers -------------------------------------------------------

    fn faulty(&self) -> bool {
        self.own_fault() || self.sync_fault
    }

    fn fault_reason(&self) -> Reason {
        if self.link_down {
            Reason::LinkDown
        } else if self.tracker_fault {
            Reason::TrackerFault
        } else {
            Reason::SyncGroupFault
        }
    }

    /// keepalived `vrrp_sync_backup`: a fellow member left Master, so do we.
    fn on_sync_step_down(&mut self, now: Time) {
        if self.state != State::Master || self.release.is_some() {
            // Not master: nothing to leave. Releasing: the release already
            // advertises priority 0 and ends in Backup (or Init) by itself.
            return;
        }
        // Like leaving for Fault: tell the backups at once (priority 0) so
        // that one takes over after Skew_Time, not Master_Down_Interval.
        self.actions.push_back(Action::SendAdvert { priority: 0 });
        self.become_backup_fresh(now, Reason::SyncGroupBackup);
        self.sync_hold = true;
    }

    /// keepalived `vrrp_sync_master`: a fellow member became master.
    fn on_sync_take_over(&mut self, now: Time) {
        if self.state != State::Backup || self.preempt_held || self.master_beats_us() {
            return;
        }
        self.become_master(now, Reason::SyncGroupMaster);
    }

    /// Is the master whose adverts we last accepted better than us (RFC
    /// 5798 §6.4.3 order: priority, then primary address)?
    fn master_beats_us(&self) -> bool {
        match (self.master_priority, self.master_address) {
            (Some(p), Some(src)) => {
                let local = self.effective_priority();
                p > local || (p == local && ip_gt(src, self.cfg.primary_address))
            }
            _ => false,
        }
    }

    /// RFC 5798 §6.4.1 / RFC 3768 §6.4.1: Startup event in Initialize.
    fn on_startup(&mut self, now: Time) {
        if self.state != State::Init {
            return;
        }
        if self.faulty() {
            let reason = self.fault_reason();
            self.enter_fault(reason);
        } else if self.effective_priority() == OWNER_PRIORITY {
            self.become_master(now, Reason::OwnerStartup);
        } else if self.cfg.start_as_master {
            // keepalived `vrrp_init_state`: a non-owner wanting MASTER starts
            // as Backup with a Master_Down_Timer of Master_Adver_Interval +
            // the minimal skew, so a live master is heard before any VIP is
            // taken or announced.
            self.become_backup_fresh(now, Reason::Startup);
            self.master_down_timer = Some(
                now + self.advert_interval()
                    + timers::skew_time(
                        self.cfg.version,
                        OWNER_PRIORITY,
                        self.master_adver_interval,
                    ),
            );
            self.down_cause = DownCause::StartAsMaster;
        } else {
            self.become_backup_fresh(now, Reason::Startup);
        }
    }

    /// RFC 5798 §6.4.2 / RFC 3768 §6.4.2: an ADVERTISEMENT in Backup.
    fn backup_rx(&mut self, now: Time, adv: RxAdvert) {
        if adv.priority == 0 {
            // "Set the Master_Down_Timer to Skew_Time."
            self.master_down_timer = Some(now + self.skew_time());
            self.down_cause = DownCause::PriorityZero;
            self.master_address = None;
            self.master_priority = None;
            return;
        }
        let local = self.effective_priority();
        let preempting = self.cfg.preempt && !self.preempt_held && !self.sync_hold && !self.drained;
        let accept = if !preempting || adv.priority >= local {
            true
        } else {
            // Lower priority with preemption on: keepalived's preempt_delay
            // accepts it anyway until the delay has run out.
            self.preempt_delay_running(now)
        };
        if adv.priority >= local {
            // keepalived (vrrp.c, backup advert handling): a master at least
            // as good as us stops preempt_delay; it restarts from the next
            // sighting of a lower-priority master.
            self.preempt_after = None;
        }
        if accept {
            if self.cfg.version == Version::V3 {
                // RFC 5798 §6.4.2: learn Master_Adver_Interval (Skew_Time
                // and Master_Down_Interval follow from it).
                self.master_adver_interval = centiseconds(adv.interval_cs);
            }
            self.master_down_timer = Some(now + self.master_down_interval());
            self.down_cause = DownCause::Silence;
            self.master_address = Some(adv.src);
            self.master_priority = Some(adv.priority);
        } else {
            // "Discard the ADVERTISEMENT": the timer keeps running and we
            // take over when it fires.
            self.down_cause = DownCause::Preempt;
        }
    }

    /// Is preempt_delay still holding preemption back? Starts the delay on
    /// the first lower-priority sighting if it is not running.
    fn preempt_delay_running(&mut self, now: Time) -> bool {
        if self.cfg.preempt_delay.is_zero() {
            return false;
        }
        let until = *self
            .preempt_after
            .get_or_insert(now + self.cfg.preempt_delay);
        now < until
    }

    /// RFC 5798 §6.4.3 / RFC 3768 §6.4.3: an ADVERTISEMENT in Master.
    fn master_rx(&mut self, now: Time, adv: RxAdvert) {
        if let Some(rel) = &mut self.release {
            // SPEC §4: while releasing, any other router advertising a
            // non-zero priority is the new master. Break only after
            // RELEASE_GRACE: the new master announced its VIPs just before
            // that advert, and packets clients sent to us before they heard
            // the announcement are still arriving. A proxy host does not
            // forward them, so without the grace each one is lost.
            if adv.priority > 0 && rel.taker.is_none() {
                rel.taker = Some(adv);
                rel.deadline = now + timers::RELEASE_GRACE;
                // Nothing more to say: the taker knows.
                self.adver_timer = None;
            }
            return;
        }
        if adv.priority == 0 {
            // "Send an ADVERTISEMENT; Reset the Adver_Timer."
            self.send_advert();
            self.adver_timer = Some(now + self.advert_interval());
            return;
        }
        let local = self.effective_priority();
        let reason = if adv.priority > local {
            Reason::HigherPriorityAdvert
        } else if adv.priority == local && ip_gt(adv.src, self.cfg.primary_address) {
            Reason::EqualPriorityHigherAddress
        } else {
            // RFC 9568 §6.4.3: a lower-priority router acts as master too
            // (a healed partition): assert at once, and re-announce the
            // VIPs clients may have moved to it. Rate-limited, and the
            // Adver_Timer is left alone: the regular adverts keep their
            // schedule whatever arrives.
            if self.may_answer(now) {
                self.send_advert();
                self.actions.push_back(Action::Reannounce);
            }
            return;
        };
        // keepalived `higher_prio_send_advert`: tell the winner we were
        // master too before stepping down, so it re-announces (above) even
        // if it has not heard us yet.
        if self.may_answer(now) {
            self.send_advert();
        }
        self.learn_and_backup(now, adv, reason);
    }

    /// SPEC §1 rate limit of the adverts sent in answer to another master:
    /// at most one per Advertisement_Interval. Records `now` when allowed.
    fn may_answer(&mut self, now: Time) -> bool {
        if self
            .last_answer
            .is_some_and(|t| now < t + self.advert_interval())
        {
            return false;
        }
        self.last_answer = Some(now);
        true
    }

    /// RFC 5798 §6.4.3: cancel Adver_Timer, learn Master_Adver_Interval,
    /// Master_Down_Timer = Master_Down_Interval, go Backup.
    fn learn_and_backup(&mut self, now: Time, adv: RxAdvert, reason: Reason) {
        if self.cfg.version == Version::V3 {
            self.master_adver_interval = centiseconds(adv.interval_cs);
        } else {
            self.master_adver_interval = self.advert_interval();
        }
        if matches!(
            reason,
            Reason::HigherPriorityAdvert | Reason::EqualPriorityHigherAddress
        ) && self.vips_held
        {
            // Preempted (a restarted better node taking its VIPs back, a
            // healed partition): the winner announces the VIPs around this
            // advert, and clients' packets already on their way to us must
            // still be answered (SPEC §4, hosts that do not forward).
            self.vips_release_at = Some(now + timers::RELEASE_GRACE);
        } else {
            self.remove_vips();
        }
        self.transition(State::Backup, reason);
        self.adver_timer = None;
        self.master_down_timer = Some(now + self.master_down_interval());
        self.down_cause = DownCause::Silence;
        self.master_address = Some(adv.src);
        self.master_priority = Some(adv.priority);
        self.preempt_after = self.delay_from(now);
    }

    fn on_trackers(&mut self, now: Time, fault: bool, priority_delta: i32) {
        let before = self.effective_priority();
        self.priority_delta = priority_delta;
        let after = self.effective_priority();
        let was_faulty = self.faulty();
        self.tracker_fault = fault;
        if after != before {
            self.actions.push_back(Action::PriorityChanged {
                from: before,
                to: after,
            });
        }
        if was_faulty != self.faulty() {
            let reason = if fault {
                Reason::TrackerFault
            } else {
                Reason::TrackerRecovered
            };
            self.fault_changed(now, reason);
        } else if after != before && self.state == State::Master && self.release.is_none() {
            // Announce the new priority at once so that a preempting peer
            // overtakes a weakened master without waiting an interval; this
            // is a fresh advert, so the Adver_Timer restarts (RFC 5798 §6.4.3
            // sends every Advertisement_Interval after the last advert).
            self.send_advert();
            self.adver_timer = Some(now + self.advert_interval());
        }
    }

    /// Enter or leave Fault after link or tracker changes (keepalived
    /// semantics; the RFCs have no Fault state).
    fn fault_changed(&mut self, now: Time, reason: Reason) {
        if self.state == State::Init {
            // Recorded; Startup decides.
            return;
        }
        if self.faulty() {
            if self.state != State::Fault {
                self.enter_fault(reason);
            }
        } else if self.state == State::Fault {
            // Like RFC 5798 §6.4.1 Startup: owner → Master, else Backup.
            if self.effective_priority() == OWNER_PRIORITY {
                self.become_master(now, reason);
            } else {
                self.become_backup_fresh(now, reason);
            }
        }
    }

    fn enter_fault(&mut self, reason: Reason) {
        if self.state == State::Master {
            // SPEC §4: send priority 0 if possible, release the VIPs.
            self.actions.push_back(Action::SendAdvert { priority: 0 });
        }
        self.remove_vips();
        let release = self.release.take();
        self.transition(State::Fault, reason);
        self.adver_timer = None;
        self.master_down_timer = None;
        self.master_address = None;
        self.master_priority = None;
        // Leaving Fault is a fresh start: preemption as configured.
        self.sync_hold = false;
        if let Some(rel) = release {
            self.actions.push_back(match rel.reason {
                ReleaseReason::Shutdown => Action::Released,
                // Nobody was seen taking over.
                ReleaseReason::Handover => Action::HandoverFailed,
            });
            if rel.reason == ReleaseReason::Shutdown {
                self.finished = true;
            }
        }
    }

    /// SPEC §4 make-before-break release.
    fn on_release(&mut self, now: Time, reason: ReleaseReason) {
        match self.state {
            State::Master => {
                if let Some(rel) = &mut self.release {
                    // Already releasing: a shutdown overrides a handover.
                    if reason == ReleaseReason::Shutdown {
                        rel.reason = ReleaseReason::Shutdown;
                    }
                    return;
                }
                // RFC 5798 §6.4.3 Shutdown: send priority 0, but keep the
                // VIPs until a new master is heard (or nobody comes).
                let deadline = now
                    + timers::master_down_interval(
                        self.cfg.version,
                        self.effective_priority(),
                        self.advert_interval(),
                    );
                self.release = Some(Release {
                    reason,
                    deadline,
                    taker: None,
                });
                self.send_advert();
                self.adver_timer = Some(now + self.advert_interval());
            }
            State::Backup | State::Init | State::Fault => match reason {
                // RFC 5798 §6.4.2 Shutdown: cancel the timer, Initialize.
                ReleaseReason::Shutdown => self.finish_shutdown(),
                ReleaseReason::Handover => self.actions.push_back(Action::HandoverComplete),
            },
        }
    }

    /// Shutdown release finished (new master heard, or the deadline passed).
    fn finish_shutdown(&mut self) {
        // RFC 5798 §6.4.3 Shutdown → Initialize; the shell exits.
        self.remove_vips();
        self.transition(State::Init, Reason::Released(ReleaseReason::Shutdown));
        self.cancel_timers();
        self.finished = true;
        self.actions.push_back(Action::Released);
    }

    fn release_timed_out(&mut self, now: Time, rel: Release) {
        self.release = None;
        if let Some(adv) = rel.taker {
            // The grace after the new master's advert is over: now break.
            match rel.reason {
                ReleaseReason::Shutdown => self.finish_shutdown(),
                ReleaseReason::Handover => {
                    self.learn_and_backup(now, adv, Reason::Released(rel.reason));
                    self.preempt_held = true;
                    self.actions.push_back(Action::HandoverComplete);
                }
            }
            return;
        }
        match rel.reason {
            ReleaseReason::Shutdown => self.finish_shutdown(),
            ReleaseReason::Handover => {
                // SPEC §3/§4: no peer took over; stay master and say so.
                self.send_advert();
                self.adver_timer = Some(now + self.advert_interval());
                self.actions.push_back(Action::HandoverFailed);
            }
        }
    }

    // ---- transitions ----------------------------------------------------

    /// RFC 5798 §6.4.1 / §6.4.2 "transition to Master": send an
    /// ADVERTISEMENT, announce the VIPs, set the Adver_Timer.
    ///
    /// Taking over from a master that is still there (it released with
    /// priority 0, a planned move of SPEC §4, or we preempt it), the VIPs
    /// are added and announced *before* the advert: that
    /// advert is what makes the old master let go, so by then we answer for
    /// the VIPs and clients have been pointed here; the old master's
    /// [`timers::RELEASE_GRACE`] covers packets still in flight to it.
    /// Otherwise the advert goes first, as the RFC orders it: at a
    /// simultaneous start a better router must hear it before its own
    /// Master_Down_Timer fires, and adding VIPs takes a netlink round trip.
    fn become_master(&mut self, now: Time, reason: Reason) {
        if self.drained {
            // SPEC §4 drain: stay backup, whatever the peer does (it may be
            // gone: the node is out for maintenance). Listen on.
            if self.state != State::Backup {
                self.become_backup_fresh(now, reason);
            } else {
                self.master_down_timer = Some(now + self.master_down_interval());
                self.down_cause = DownCause::Silence;
            }
            return;
        }
        self.transition(State::Master, reason);
        self.master_down_timer = None;
        self.master_address = None;
        self.master_priority = None;
        self.preempt_held = false;
        self.sync_hold = false;
        self.master_adver_interval = self.advert_interval();
        // Still holding the VIPs from a step-down moments ago: keep them.
        self.vips_release_at = None;
        // Taking over from a live master (it released, or we preempt it):
        // it lets go when it hears our advert, so announce first.
        let planned = matches!(
            reason,
            Reason::PriorityZeroReceived | Reason::PreemptLowerPriority
        );
        if !planned {
            self.send_advert();
        }
        if !self.vips_held {
            self.vips_held = true;
            self.actions.push_back(Action::AddVips);
            if self.cfg.routes {
                self.actions.push_back(Action::AddRoutes);
            }
        }
        self.actions.push_back(Action::Announce);
        if planned {
            self.send_advert();
        }
        self.adver_timer = Some(now + self.advert_interval());
    }

    /// RFC 5798 §6.4.1 "transition to Backup": Master_Adver_Interval =
    /// Advertisement_Interval, Master_Down_Timer = Master_Down_Interval.
    fn become_backup_fresh(&mut self, now: Time, reason: Reason) {
        self.remove_vips();
        self.transition(State::Backup, reason);
        self.master_adver_interval = self.advert_interval();
        self.adver_timer = None;
        self.master_down_timer = Some(now + self.master_down_interval());
        self.down_cause = DownCause::Silence;
        self.master_address = None;
        self.master_priority = None;
        self.preempt_after = self.delay_from(now);
    }

    fn delay_from(&self, now: Time) -> Option<Time> {
        (!self.cfg.preempt_delay.is_zero()).then(|| now + self.cfg.preempt_delay)
    }

    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.actions.push_back(Action::StateChanged {
            from,
            to,
            reason,
            priority: self.effective_priority(),
        });
    }

    fn send_advert(&mut self) {
        let priority = if self.release.is_some() {
            0
        } else {
            self.effective_priority()
        };
        self.actions.push_back(Action::SendAdvert { priority });
    }

    fn remove_vips(&mut self) {
        self.vips_release_at = None;
        if self.vips_held {
            self.vips_held = false;
            if self.cfg.routes {
                self.actions.push_back(Action::RemoveRoutes);
            }
            self.actions.push_back(Action::RemoveVips);
        }
    }

    fn cancel_timers(&mut self) {
        self.adver_timer = None;
        self.master_down_timer = None;
        self.release = None;
    }
}

/// RFC 5798 §6.4.3 tie-break: compare primary addresses as unsigned
/// integers in network byte order; the greater wins. Mixed families never
/// meet in one virtual router; IPv6 sorts above IPv4 for totality.
fn ip_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) > u32::from(b),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) > u128::from(b),
        (IpAddr::V6(_), IpAddr::V4(_)) => true,
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}
