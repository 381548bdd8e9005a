//! One virtual router as the shell runs it, like quinn-proto's `Connection`:
//! the RFC 5798 state machine ([`Instance`]) together with its receive
//! validation ([`RxValidator`]), advert encoding ([`TxEncoder`]), the
//! gratuitous ARP / NA schedule ([`AnnounceSchedule`]), the IP id, and the AH
//! sequence policy between them. Bytes in, bytes out, time as an argument:
//!
//! - [`Router::handle_datagram`] for every received packet of this group;
//! - [`Router::handle`] for every other input (link, trackers, release ...);
//! - [`Router::handle_timeout`] when [`Router::poll_timeout`] comes;
//! - then [`Router::poll_event`] until `None`, in order; on
//!   [`Event::Transmit`], [`Router::poll_transmit`] until `None` and send
//!   each datagram.
//!
//! The order of events matters (a planned takeover adds and announces its
//! VIPs before its first advert), which is why adverts are an event in the
//! same queue and not a separate one.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use super::announce::{AnnounceConfig, AnnounceSchedule};
use super::instance::{
    Action, Input, Instance, InstanceConfig, InstanceConfigError, Reason, RxAdvert, State,
};
use super::receive::{DropReason, RxPacket, RxPolicy, RxValidator, ValidAdvert};
use super::transmit::{TxConfig, TxEncoder};
use super::wire::vrrp::VrrpEncodeError;
use super::{Family, Time};

/// Everything one group needs to run.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    pub instance: InstanceConfig,
    pub rx: RxPolicy,
    pub tx: TxConfig,
    pub announce: AnnounceConfig,
}

/// Why a [`Router`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RouterConfigError {
    #[error("state machine: {0}")]
    Instance(#[from] InstanceConfigError),
    #[error("advert encoder: {0}")]
    Encoder(#[from] VrrpEncodeError),
    #[error(
        "source address {source_addr} differs between the state machine and the encoder ({encoder})"
    )]
    SourceMismatch {
        source_addr: IpAddr,
        encoder: IpAddr,
    },
}

/// What the shell must do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Adverts are ready: call [`Router::poll_transmit`] until `None` now.
    Transmit,
    /// Add every VIP (tracked and excluded) of the group.
    AddVips,
    /// Remove every VIP of the group.
    RemoveVips,
    /// Install the group's virtual routes and rules (right after AddVips).
    AddRoutes,
    /// Remove the virtual routes and rules vrrpd installed (right before
    /// RemoveVips).
    RemoveRoutes,
    /// Make the installed routes and rules equal to the configured ones
    /// (a route-only reload while the VIPs are held).
    UpdateRoutes,
    /// Send one gratuitous ARP / unsolicited NA for every VIP now.
    Announce,
    /// RFC 9568 §6.4.3: still master and a lower-priority master was heard;
    /// an advert and an [`Event::Announce`] follow at once (for the log).
    LowerPriorityMasterHeard,
    /// One structured log line, notify scripts, metrics, sync groups.
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
        priority: u8,
    },
    /// The effective priority changed without a state change.
    PriorityChanged { from: u8, to: u8 },
    /// A shutdown release finished; the router is inert afterwards.
    Released,
    /// A handover finished: the peer is master.
    HandoverComplete,
    /// A handover found no taker: still master.
    HandoverFailed,
}

/// One advert ready to send: `buf[..len]` of the caller's buffer goes to
/// `dst`. IPv4: the whole datagram (IP_HDRINCL); IPv6: the VRRP payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub dst: IpAddr,
    pub source: IpAddr,
    pub len: usize,
    /// The advert's priority (0: a release, counted apart).
    pub priority: u8,
}

/// What a valid advert told the shell beyond the protocol (for counters and
/// log lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub src: IpAddr,
    pub priority: u8,
    /// v2: the advert's address list differs from ours (accepted, as
    /// keepalived does).
    pub address_list_mismatch: bool,
    pub checksum: super::wire::vrrp::ChecksumForm,
}

/// Copies still to encode of the advert of the [`Event::Transmit`] last
/// returned by [`Router::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingAdvert {
    priority: u8,
    next_destination: usize,
}

/// The output queue: an advert keeps its place among the other events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    Event(Event),
    Advert { priority: u8 },
}

/// One virtual router. See the module documentation for how to drive it.
#[derive(Clone, Debug)]
pub struct Router {
    inst: Instance,
    rx: RxValidator,
    tx: TxEncoder,
    announce: AnnounceSchedule,
    queue: VecDeque<Queued>,
    /// Only the advert of the event just polled can be sent: one the shell
    /// skipped is never sent late.
    current: Option<PendingAdvert>,
    ip_id: u16,
    /// Whether the protocol has told the shell to hold the VIPs.
    vips_held: bool,
}

impl Router {
    pub fn new(cfg: RouterConfig) -> Result<Router, RouterConfigError> {
        if cfg.instance.primary_address != cfg.tx.source {
            return Err(RouterConfigError::SourceMismatch {
                source_addr: cfg.instance.primary_address,
                encoder: cfg.tx.source,
            });
        }
        Ok(Router {
            inst: Instance::new(cfg.instance)?,
            rx: RxValidator::new(cfg.rx),
            tx: TxEncoder::new(cfg.tx)?,
            announce: AnnounceSchedule::new(cfg.announce),
            queue: VecDeque::new(),
            current: None,
            ip_id: 0,
            vips_held: false,
        })
    }

    /// The state machine, read-only (state, priority, master address ...).
    pub fn instance(&self) -> &Instance {
        &self.inst
    }

    pub fn state(&self) -> State {
        self.inst.state()
    }

    /// Whether the protocol holds the VIPs (between AddVips and RemoveVips).
    pub fn vips_held(&self) -> bool {
        self.vips_held
    }

    /// The source address adverts leave from (and the tie-break uses).
    pub fn source(&self) -> IpAddr {
        self.tx.config().source
    }

    /// Follow a new primary address of the interface: adverts go out from
    /// it and the tie-break (RFC 5798 §6.4.3) uses it. Sequence state is kept.
    pub fn set_source(&mut self, source: IpAddr) -> Result<(), VrrpEncodeError> {
        self.tx.set_source(source)?;
        self.inst.set_primary_address(source);
        Ok(())
    }

    /// The earliest instant [`Router::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        match (self.inst.poll_timeout(), self.announce.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Any input but a datagram or the passing of time.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.inst.handle(now, input);
        self.collect(now);
    }

    /// Advance to `now`: the instance's timers, then the announce schedule.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.inst.poll_timeout().is_some_and(|t| t <= now) {
            self.inst.handle_timeout(now);
            self.collect(now);
        }
        self.announce_if_due(now);
    }

    /// One received packet of this group (RFC 5798 §7.1 checks, then §6.4
    /// on the advert). A dropped packet changes no timer.
    /// `wall_clock_unix` is UTC (hmac `time` anti-replay).
    pub fn handle_datagram(
        &mut self,
        now: Time,
        wall_clock_unix: Duration,
        pkt: &RxPacket<'_>,
    ) -> Result<Accepted, DropReason> {
        let v: ValidAdvert = self.rx.validate(pkt, wall_clock_unix)?;
        self.inst.handle(
            now,
            Input::Advert(RxAdvert {
                src: v.src,
                priority: v.priority,
                interval_cs: v.interval_cs,
            }),
        );
        self.collect(now);
        Ok(Accepted {
            src: v.src,
            priority: v.priority,
            address_list_mismatch: v.address_list_mismatch,
            checksum: v.checksum,
        })
    }

    /// The next thing the shell must do.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.current = None;
        match self.queue.pop_front()? {
            Queued::Event(e) => Some(e),
            Queued::Advert { priority } => {
                self.current = Some(PendingAdvert {
                    priority,
                    next_destination: 0,
                });
                Some(Event::Transmit)
            }
        }
    }

    /// Encode the next copy of the advert of the [`Event::Transmit`] just
    /// polled into `buf`: one per destination (the multicast group, or each
    /// unicast peer), then `None`.
    pub fn poll_transmit(
        &mut self,
        wall_clock_unix: Duration,
        buf: &mut Vec<u8>,
    ) -> Option<Result<Transmit, VrrpEncodeError>> {
        let p = self.current.as_mut()?;
        let Some(dst) = self.tx.destination(p.next_destination) else {
            self.current = None;
            return None;
        };
        p.next_destination += 1;
        let priority = p.priority;
        if p.next_destination == 1 {
            // keepalived keeps one AH counter per instance: a master
            // continues from the last sequence number it received.
            self.tx.continue_ah_from(self.rx.ah_sequence());
        }
        self.ip_id = self.ip_id.wrapping_add(1);
        let encoded = self
            .tx
            .encode(priority, dst, self.ip_id, wall_clock_unix, buf);
        if encoded.is_err() {
            self.current = None;
        }
        Some(encoded.map(|()| Transmit {
            dst,
            source: self.tx.config().source,
            len: buf.len(),
            priority,
        }))
    }

    /// A master whose group is removed (by a reload) leaves at once: one
    /// priority-0 advert (RFC 5798 §6.4.3, Shutdown event) so the backup
    /// takes over after Skew_Time, outside the state machine, which is
    /// dropped with the group. Queues an [`Event::Transmit`].
    pub fn queue_priority_zero(&mut self) {
        self.queue.push_back(Queued::Advert { priority: 0 });
    }

    /// A VIP was re-added behind our back (or another reason to point
    /// clients here again): one more burst, starting now.
    pub fn reannounce(&mut self, now: Time) {
        self.announce.reannounce(now);
        self.announce_if_due(now);
    }

    /// This router's address family.
    /// The unicast peers adverts go to (empty: multicast).
    pub fn unicast_peers(&self) -> &[IpAddr] {
        &self.tx.config().unicast_peers
    }

    pub fn family(&self) -> Family {
        self.tx.config().family
    }

    /// Turn the instance's actions into events, carrying out what is the
    /// router's own business (adverts queued, announce schedule, AH policy).
    fn collect(&mut self, now: Time) {
        while let Some(action) = self.inst.poll_action() {
            match action {
                Action::SendAdvert { priority } => {
                    self.queue.push_back(Queued::Advert { priority });
                }
                Action::AddVips => {
                    self.vips_held = true;
                    self.push(Event::AddVips);
                }
                Action::RemoveVips => {
                    self.vips_held = false;
                    self.push(Event::RemoveVips);
                }
                Action::AddRoutes => self.push(Event::AddRoutes),
                Action::RemoveRoutes => self.push(Event::RemoveRoutes),
                Action::UpdateRoutes => self.push(Event::UpdateRoutes),
                Action::Announce => {
                    // The first round goes out now, right after the VIPs were
                    // added: a releasing old master lets go RELEASE_GRACE
                    // after our advert, and clients must be pointed here by
                    // then (SPEC §4). The rest follows the schedule.
                    self.announce.on_master(now);
                    self.announce_if_due(now);
                }
                Action::Reannounce => {
                    // RFC 9568 §6.4.3: clients may follow the lower master.
                    self.push(Event::LowerPriorityMasterHeard);
                    self.announce.reannounce(now);
                    self.announce_if_due(now);
                }
                Action::StateChanged {
                    from,
                    to,
                    reason,
                    priority,
                } => {
                    if to != State::Master {
                        self.announce.stop();
                    }
                    // Taking over without the old master's priority-0
                    // release: its AH counter may be ahead of the last seq we
                    // saw, and our first advert must not be a replay to
                    // keepalived. After a release, seq + 1 is exact.
                    if to == State::Master
                        && matches!(
                            reason,
                            Reason::MasterDown
                                | Reason::PreemptLowerPriority
                                | Reason::SyncGroupMaster
                                | Reason::BfdPeerDown
                        )
                    {
                        self.tx.continue_ah_after_takeover(self.rx.ah_sequence());
                    }
                    self.push(Event::StateChanged {
                        from,
                        to,
                        reason,
                        priority,
                    });
                }
                Action::PriorityChanged { from, to } => {
                    self.push(Event::PriorityChanged { from, to })
                }
                Action::Released => self.push(Event::Released),
                Action::HandoverComplete => self.push(Event::HandoverComplete),
                Action::HandoverFailed => self.push(Event::HandoverFailed),
            }
        }
    }

    fn push(&mut self, e: Event) {
        self.queue.push_back(Queued::Event(e));
    }

    fn announce_if_due(&mut self, now: Time) {
        let due = self.announce.poll_timeout().is_some_and(|t| t <= now)
            && self.announce.handle_timeout(now);
        if due && self.vips_held {
            self.push(Event::Announce);
        }
    }
}
