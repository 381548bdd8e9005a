//! Every group of one node, like quinn-proto's `Endpoint` over its
//! connections: received datagrams are demultiplexed to their group by
//! (interface, family, VRID), packets no group takes are counted under the
//! groups of the link they came on, sync groups are kept moving together,
//! and the reload diff is a pure function ([`reload::plan`]). Bytes and
//! time in, events out; the shell carries them out.
//!
//! Driving it:
//! - [`Endpoint::handle_datagram`] for every received packet,
//!   [`Endpoint::handle`] for every other input of one group,
//!   [`Endpoint::handle_timeout`] when [`Endpoint::poll_timeout`] comes;
//! - then [`Endpoint::poll_event`] until `None`; on [`Event::Transmit`],
//!   [`Endpoint::poll_transmit`] for that group until `None`.
//!
//! Each group slot also carries the shell's own per-group value `S` (its
//! configuration, what it put on the host), reachable through `Deref`, so
//! the shell keeps one list of groups, not two kept in step.

pub mod counters;
pub mod reload;

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::ops::{Deref, DerefMut, Index, IndexMut};

use crate::bfd::{SessionConfig, SessionKey};
use crate::instance::{Input, Instance, State};
use crate::receive::{DropReason, RxPacket, demux_vrid};
use crate::router::{Accepted, Event, Router, RouterConfig, RouterConfigError, Transmit};
use crate::sync_group::SyncGroup;
use crate::wire::vrrp::ChecksumForm;
use crate::{Family, Time};

pub use counters::{Counters, LogLimiter};

/// One group: its identity, its router once it runs, and the shell's value.
#[derive(Debug)]
pub struct Slot<S> {
    name: String,
    family: Family,
    vrid: u8,
    /// `None` until the shell starts the protocol (interface present, a
    /// source address known), and again after it stops it.
    pub router: Option<Router>,
    /// The interface the group listens on while its router runs.
    pub ifindex: Option<u32>,
    pub counters: Counters,
    log_limit: LogLimiter,
    /// BFD to the group's unicast peers (SPEC §1 `[bfd]`), if configured.
    pub bfd: Option<SessionConfig>,
    pub shell: S,
}

impl<S> Slot<S> {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn vrid(&self) -> u8 {
        self.vrid
    }

    /// The group's state; Fault while its protocol does not run.
    pub fn state(&self) -> State {
        self.router.as_ref().map_or(State::Fault, Router::state)
    }

    /// The state machine, once the protocol runs.
    pub fn inst(&self) -> Option<&Instance> {
        self.router.as_ref().map(Router::instance)
    }

    /// The advert source, once the protocol runs.
    pub fn source(&self) -> Option<IpAddr> {
        self.router.as_ref().map(Router::source)
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.router.as_ref().and_then(Router::poll_timeout)
    }

    fn listens(&self, ifindex: u32, family: Family, vrid: u8) -> bool {
        self.router.is_some()
            && self.ifindex == Some(ifindex)
            && self.family == family
            && self.vrid == vrid
    }
}

impl<S> Deref for Slot<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.shell
    }
}

impl<S> DerefMut for Slot<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.shell
    }
}

/// A received packet's fate, for the shell's own follow-up (the endpoint
/// has already counted it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Group `group` accepted it.
    Accepted { group: usize, advert: Accepted },
    /// Group `group` dropped it (RFC 5798 §7.1).
    Dropped { group: usize, reason: DropReason },
    /// No group takes it: too short to carry a VRID, another protocol, or
    /// a VRID no running group on that link and family has. Counted under
    /// every group on the link and family it arrived on.
    Unmatched { reason: DropReason },
}

/// A log line the endpoint asks for, already rate-limited
/// ([`LogLimiter`]): `suppressed` lines of the same kind were not logged
/// since the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub group: usize,
    pub src: IpAddr,
    pub suppressed: u64,
    pub what: LogWhat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogWhat {
    Dropped(DropReason),
    /// RFC 3768: a v2 advert whose address list differs from ours,
    /// accepted as keepalived does.
    AddressListMismatch,
}

/// One `[[sync_group]]`: its coordinator and its members' names.
#[derive(Clone, Debug)]
struct SyncSet {
    coordinator: SyncGroup,
    members: Vec<String>,
}

/// Sync inputs delivered between two quiescent points before the endpoint
/// gives up on a round. Each report moves a member at most once, so this
/// only turns a bug into a counted error instead of a hang.
const SYNC_BUDGET_PER_GROUP: usize = 64;

/// All groups of a node. See the module documentation.
#[derive(Debug)]
pub struct Endpoint<S> {
    /// In name order (stable across reloads).
    slots: Vec<Slot<S>>,
    /// Receive routing cache: [family][vrid] -> slot index + 1 (0: none),
    /// checked on every use and cleared whenever slots move, so a lookup is
    /// O(1) instead of a scan of every group per packet.
    route: Box<[[u16; 256]; 2]>,
    sync: Vec<SyncSet>,
    /// Groups whose router may have events.
    pending: VecDeque<usize>,
    /// The group whose events are being polled.
    current: Option<usize>,
    sync_inputs: Vec<(usize, Input)>,
    sync_budget: usize,
    logs: VecDeque<LogLine>,
    /// Packets no group took.
    pub unmatched: u64,
    /// Rounds of sync inputs that did not settle (a bug if ever non-zero).
    pub sync_unsettled: u64,
}

impl<S> Default for Endpoint<S> {
    fn default() -> Self {
        Endpoint {
            slots: Vec::new(),
            route: Box::new([[0; 256]; 2]),
            sync: Vec::new(),
            pending: VecDeque::new(),
            current: None,
            sync_inputs: Vec::new(),
            sync_budget: 0,
            logs: VecDeque::new(),
            unmatched: 0,
            sync_unsettled: 0,
        }
    }
}

impl<S> Index<usize> for Endpoint<S> {
    type Output = Slot<S>;
    fn index(&self, i: usize) -> &Slot<S> {
        &self.slots[i]
    }
}

impl<S> IndexMut<usize> for Endpoint<S> {
    fn index_mut(&mut self, i: usize) -> &mut Slot<S> {
        &mut self.slots[i]
    }
}

impl<'a, S> IntoIterator for &'a Endpoint<S> {
    type Item = &'a Slot<S>;
    type IntoIter = std::slice::Iter<'a, Slot<S>>;
    fn into_iter(self) -> Self::IntoIter {
        self.slots.iter()
    }
}

impl<'a, S> IntoIterator for &'a mut Endpoint<S> {
    type Item = &'a mut Slot<S>;
    type IntoIter = std::slice::IterMut<'a, Slot<S>>;
    fn into_iter(self) -> Self::IntoIter {
        self.slots.iter_mut()
    }
}

impl<S> Endpoint<S> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Slot<S>> {
        self.slots.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Slot<S>> {
        self.slots.iter_mut()
    }

    /// The slot of the group called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.slots
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
    }

    /// Add a group (not running yet) in name order; its index. Indices of
    /// later groups move: call this only with no events pending.
    pub fn insert(&mut self, name: &str, family: Family, vrid: u8, shell: S) -> usize {
        let at = match self.slots.binary_search_by(|s| s.name.as_str().cmp(name)) {
            Ok(i) | Err(i) => i,
        };
        self.slots.insert(
            at,
            Slot {
                name: name.to_string(),
                family,
                vrid,
                router: None,
                ifindex: None,
                counters: Counters::default(),
                log_limit: LogLimiter::default(),
                bfd: None,
                shell,
            },
        );
        self.moved();
        at
    }

    /// Take a group out (its router, if any, goes with it).
    pub fn remove(&mut self, i: usize) -> Slot<S> {
        let s = self.slots.remove(i);
        self.moved();
        s
    }

    fn moved(&mut self) {
        self.route.iter_mut().for_each(|r| r.fill(0));
        self.pending.clear();
        self.current = None;
        self.sync_inputs.clear();
    }

    /// Start group `i`'s protocol on `ifindex`.
    pub fn start(
        &mut self,
        i: usize,
        ifindex: u32,
        cfg: RouterConfig,
    ) -> Result<(), RouterConfigError> {
        let router = Router::new(cfg)?;
        let s = &mut self.slots[i];
        s.router = Some(router);
        s.ifindex = Some(ifindex);
        // A group starting to listen may come before a cached one.
        self.route.iter_mut().for_each(|r| r.fill(0));
        Ok(())
    }

    /// Stop group `i`'s protocol at once (no release: the shell decided
    /// there is nothing left to tell the peers).
    pub fn stop(&mut self, i: usize) {
        self.slots[i].router = None;
    }

    /// Members of sync groups, by group name (SPEC §2.1). Replaces the
    /// coordinators (their memory of member states starts afresh).
    pub fn set_sync_groups(&mut self, groups: impl IntoIterator<Item = Vec<String>>) {
        self.sync = groups
            .into_iter()
            .map(|members| SyncSet {
                coordinator: SyncGroup::new(members.len()),
                members,
            })
            .collect();
    }

    /// The earliest instant any group needs attention.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.slots.iter().filter_map(Slot::poll_timeout).min()
    }

    /// Every running group has finished its shutdown release.
    pub fn all_finished(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.inst().is_none_or(Instance::finished))
    }

    /// One input for group `i` (ignored while its protocol does not run).
    pub fn handle(&mut self, now: Time, i: usize, input: Input) {
        if let Some(r) = self.slots[i].router.as_mut() {
            r.handle(now, input);
            self.mark(i);
        }
    }

    /// Every group whose timer is due.
    pub fn handle_timeout(&mut self, now: Time) {
        for i in 0..self.slots.len() {
            if self.slots[i].poll_timeout().is_some_and(|t| t <= now)
                && let Some(r) = self.slots[i].router.as_mut()
            {
                r.handle_timeout(now);
                self.mark(i);
            }
        }
    }

    /// Put the group's VIPs back on the announce schedule (they were found
    /// missing and re-added).
    pub fn reannounce(&mut self, now: Time, i: usize) {
        if let Some(r) = self.slots[i].router.as_mut() {
            r.reannounce(now);
            self.mark(i);
        }
    }

    fn mark(&mut self, i: usize) {
        if self.current != Some(i) && !self.pending.contains(&i) {
            self.pending.push_back(i);
        }
    }

    fn slot_for(&mut self, ifindex: u32, family: Family, vrid: u8) -> Option<usize> {
        let fi = match family {
            Family::V4 => 0,
            Family::V6 => 1,
        };
        let cached = usize::from(self.route[fi][usize::from(vrid)]).checked_sub(1);
        if let Some(i) = cached.filter(|&i| {
            self.slots
                .get(i)
                .is_some_and(|s| s.listens(ifindex, family, vrid))
        }) {
            return Some(i);
        }
        let i = self
            .slots
            .iter()
            .position(|s| s.listens(ifindex, family, vrid))?;
        self.route[fi][usize::from(vrid)] = u16::try_from(i + 1).unwrap_or(0);
        Some(i)
    }

    /// A packet received on `ifindex` (RFC 5798 §7.1 receive validation
    /// happens in the group's router). Counted and, where due, a log line
    /// queued ([`Endpoint::poll_log`]).
    pub fn handle_datagram(
        &mut self,
        now: Time,
        wall: std::time::Duration,
        ifindex: u32,
        pkt: &RxPacket<'_>,
    ) -> Received {
        let family = Family::of(&pkt.src);
        let vrid = match demux_vrid(pkt.protocol, pkt.payload) {
            Ok(v) => v,
            Err(reason) => return self.unmatched(now, ifindex, family, pkt.src, reason),
        };
        let Some(i) = self.slot_for(ifindex, family, vrid) else {
            return self.unmatched(now, ifindex, family, pkt.src, DropReason::VridUnknown);
        };
        let s = &mut self.slots[i];
        let Some(router) = s.router.as_mut() else {
            return self.unmatched(now, ifindex, family, pkt.src, DropReason::VridUnknown);
        };
        match router.handle_datagram(now, wall, pkt) {
            Ok(advert) => {
                let c = &mut s.counters;
                c.adverts_received += 1;
                c.priority_zero_received += u64::from(advert.priority == 0);
                if advert.address_list_mismatch {
                    c.address_list_mismatch += 1;
                    if let Some(suppressed) = s.log_limit.admit(now, "address_list_mismatch") {
                        self.logs.push_back(LogLine {
                            group: i,
                            src: pkt.src,
                            suppressed,
                            what: LogWhat::AddressListMismatch,
                        });
                    }
                }
                let form = match advert.checksum {
                    ChecksumForm::Message => "message",
                    ChecksumForm::PseudoHeader => "pseudo_header",
                };
                *s.counters.checksum_forms.entry(form).or_default() += 1;
                self.mark(i);
                Received::Accepted { group: i, advert }
            }
            Err(reason) => {
                self.count_drop(now, i, pkt.src, reason);
                Received::Dropped { group: i, reason }
            }
        }
    }

    fn count_drop(&mut self, now: Time, i: usize, src: IpAddr, reason: DropReason) {
        let s = &mut self.slots[i];
        let label = reason.label();
        *s.counters.dropped.entry(label).or_default() += 1;
        if let Some(suppressed) = s.log_limit.admit(now, label) {
            self.logs.push_back(LogLine {
                group: i,
                src,
                suppressed,
                what: LogWhat::Dropped(reason),
            });
        }
    }

    /// SPEC §1: a packet no group takes is still a drop, counted per reason
    /// under every group on the link and family it arrived on.
    fn unmatched(
        &mut self,
        now: Time,
        ifindex: u32,
        family: Family,
        src: IpAddr,
        reason: DropReason,
    ) -> Received {
        self.unmatched += 1;
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if s.router.is_some() && s.ifindex == Some(ifindex) && s.family == family {
                self.count_drop(now, i, src, reason);
            }
        }
        Received::Unmatched { reason }
    }

    /// The next log line asked for, oldest first.
    pub fn poll_log(&mut self) -> Option<LogLine> {
        self.logs.pop_front()
    }

    /// The next event of any group, in order. Sync group members' inputs
    /// (SPEC §4: members go together) are delivered once the reporting
    /// group has no event left, at `now`, and their events follow.
    pub fn poll_event(&mut self, now: Time) -> Option<(usize, Event)> {
        loop {
            let i = match self.current {
                Some(i) => i,
                None => {
                    let Some(i) = self.pending.pop_front() else {
                        self.sync_budget = 0;
                        return None;
                    };
                    self.current = Some(i);
                    i
                }
            };
            let event = self.slots[i].router.as_mut().and_then(Router::poll_event);
            if let Some(event) = event {
                self.on_event(i, &event);
                return Some((i, event));
            }
            self.current = None;
            self.on_settled(now, i);
        }
    }

    /// What the endpoint itself keeps of an event: counters, and what the
    /// sync group must hear.
    fn on_event(&mut self, i: usize, event: &Event) {
        let &Event::StateChanged {
            from, to, reason, ..
        } = event
        else {
            return;
        };
        let c = &mut self.slots[i].counters;
        *c.transitions.entry(to.to_string()).or_default() += 1;
        if from == State::Master || to == State::Master {
            c.master_changes += 1;
        }
        if let Some((si, mi)) = self.sync_member(i) {
            let inputs = self.sync[si]
                .coordinator
                .on_state_changed(mi, from, to, reason);
            self.queue_sync(si, inputs);
        }
    }

    /// Group `i` has no event left: the sync group hears its own fault
    /// level, and the members' inputs go out.
    fn on_settled(&mut self, now: Time, i: usize) {
        if let Some((si, mi)) = self.sync_member(i) {
            let own = self.slots[i].inst().is_some_and(Instance::own_fault);
            let inputs = self.sync[si].coordinator.on_own_fault(mi, own);
            self.queue_sync(si, inputs);
        }
        let limit = SYNC_BUDGET_PER_GROUP * (self.slots.len() + 1);
        for (m, input) in std::mem::take(&mut self.sync_inputs) {
            if self.sync_budget >= limit {
                self.sync_unsettled += 1;
                break;
            }
            self.sync_budget += 1;
            self.handle(now, m, input);
        }
    }

    fn sync_member(&self, i: usize) -> Option<(usize, usize)> {
        let name = &self.slots[i].name;
        self.sync
            .iter()
            .enumerate()
            .find_map(|(si, s)| s.members.iter().position(|m| m == name).map(|mi| (si, mi)))
    }

    fn queue_sync(&mut self, si: usize, inputs: Vec<crate::sync_group::SyncInput>) {
        for s in inputs {
            if let Some(i) = self.sync[si]
                .members
                .get(s.member)
                .and_then(|n| self.find(n))
            {
                self.sync_inputs.push((i, s.input));
            }
        }
    }

    /// The BFD sessions the running groups ask for: one per (interface,
    /// unicast peer), shared by every group naming that peer, with the
    /// fastest parameters any of them asks for (smallest intervals and
    /// multiplier); with the first such group, whose interface and advert
    /// source the session's packets use.
    pub fn bfd_wanted(&self) -> BTreeMap<SessionKey, (SessionConfig, usize)> {
        let mut out: BTreeMap<SessionKey, (SessionConfig, usize)> = BTreeMap::new();
        for (i, s) in self.slots.iter().enumerate() {
            let (Some(cfg), Some(ifindex), Some(router)) = (s.bfd, s.ifindex, s.router.as_ref())
            else {
                continue;
            };
            for &peer in router.unicast_peers() {
                out.entry(SessionKey { ifindex, peer })
                    .and_modify(|(c, _)| {
                        c.desired_min_tx = c.desired_min_tx.min(cfg.desired_min_tx);
                        c.required_min_rx = c.required_min_rx.min(cfg.required_min_rx);
                        c.detect_mult = c.detect_mult.min(cfg.detect_mult);
                    })
                    .or_insert((cfg, i));
            }
        }
        out
    }

    /// A BFD session detected its peer's failure (RFC 5880 §6.8.4): every
    /// running group with BFD on that link and peer hears
    /// [`Input::PeerDown`]; the instance decides whether to take over.
    pub fn handle_peer_down(&mut self, now: Time, key: SessionKey) {
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            let names_peer = s
                .router
                .as_ref()
                .is_some_and(|r| r.unicast_peers().contains(&key.peer));
            if s.bfd.is_some() && s.ifindex == Some(key.ifindex) && names_peer {
                self.handle(now, i, Input::PeerDown { peer: key.peer });
            }
        }
    }

    /// The next datagram of group `i`'s advert (after [`Event::Transmit`]).
    pub fn poll_transmit(
        &mut self,
        i: usize,
        wall: std::time::Duration,
        buf: &mut Vec<u8>,
    ) -> Option<Result<Transmit, crate::wire::vrrp::VrrpEncodeError>> {
        self.slots[i].router.as_mut()?.poll_transmit(wall, buf)
    }
}
