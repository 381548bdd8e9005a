//! A simulated LAN of VRRP routers on virtual time, in the spirit of
//! quinn-proto's test `Pair` (quinn-proto/src/tests/util.rs).
//!
//! Every router is the daemon's own protocol core, a
//! [`vrrpd::proto::router::Router`]: state machine, receive validation,
//! advert encoding and authentication, announce schedule. The LAN owns the
//! clock and the wire, and the wire carries BYTES: [`Lan::step`] jumps to the
//! earliest wake-up (a router's `poll_timeout` or a packet's arrival),
//! delivers due datagrams through `handle_datagram` (so checksums, AH and hmac
//! run with the state machine), fires due timers, and carries out the events
//! the way the daemon does: `Transmit` encodes the advert and puts a copy per
//! other router on the wire (arriving after `delay`, unless lost or
//! partitioned), `AddVips` / `RemoveVips` move the VIPs. Every event is
//! recorded with its virtual timestamp in [`Lan::log`] (as the instance's
//! [`Action`]: an advert as `SendAdvert` with the priority decoded from the
//! bytes sent, a gratuitous-ARP round as `Announce`), and every drop in
//! [`Lan::drops`].
//!
//! Packets reach only routers of the same VRID, so one `Router` is really
//! one virtual-router instance; several instances of one box are tied
//! together by [`Lan::sync_group`] (SPEC §2.1), which the LAN drives the way
//! the daemon must: every action of a member goes to its
//! [`SyncGroup`], then its own fault level, and the returned inputs are
//! delivered at the same instant until nothing is left.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use vrrpd::proto::announce::AnnounceConfig;
use vrrpd::proto::auth::AuthConfig;
use vrrpd::proto::instance::{
    Action, Input, Instance, InstanceConfig, Reason, ReleaseReason, State,
};
use vrrpd::proto::receive::{DropReason, RxPacket, RxPolicy};
use vrrpd::proto::router::{Event as RouterEvent, Router as Core, RouterConfig};
use vrrpd::proto::sync_group::SyncGroup;
use vrrpd::proto::transmit::TxConfig;
use vrrpd::proto::wire::ah::AH_LEN;
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket};
use vrrpd::proto::{Family, Time, Version};

/// Rewrites a datagram from router `from` to router `to` on the wire.
pub type Mangle = dyn FnMut(usize, usize, &mut Vec<u8>);

/// The VIP every simulated group carries in its adverts.
pub const VIP4: &str = "192.0.2.200";
pub const VIP6: &str = "fe80::200";

/// Wall clock (UTC) at virtual time zero, for hmac timestamps.
pub const WALL_EPOCH: Duration = Duration::from_secs(1_800_000_000);

/// The full protocol configuration of a simulated group: multicast, the
/// group's VIP, `auth`, keepalived's announce defaults.
pub fn router_config(cfg: InstanceConfig, auth: AuthConfig) -> RouterConfig {
    let family = Family::of(&cfg.primary_address);
    let vip: IpAddr = match family {
        Family::V4 => VIP4.parse().expect("vip"),
        Family::V6 => VIP6.parse().expect("vip"),
    };
    RouterConfig {
        rx: RxPolicy {
            version: cfg.version,
            family,
            vrid: cfg.vrid,
            min_ttl: 255,
            unicast_peers: Vec::new(),
            v2_interval_cs: cfg.advert_interval_cs,
            auth: auth.clone(),
            expected_addresses: (cfg.version == Version::V2).then(|| vec![vip]),
        },
        tx: TxConfig {
            version: cfg.version,
            family,
            vrid: cfg.vrid,
            interval_cs: cfg.advert_interval_cs,
            addresses: vec![vip],
            auth,
            checksum: ChecksumForm::PseudoHeader,
            source: cfg.primary_address,
            unicast_peers: Vec::new(),
        },
        announce: AnnounceConfig::default(),
        instance: cfg,
    }
}

/// A seeded xorshift64* generator: deterministic, no crate.
#[derive(Clone, Debug)]
pub struct Prng(u64);

impl Prng {
    pub fn new(seed: u64) -> Prng {
        Prng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        (self.next_u64() % 1000) < u64::from(per_mille)
    }
}

/// A configuration with the test defaults: VRID 51, preempt on, no delay.
pub fn cfg(version: Version, priority: u8, interval_cs: u16, addr: &str) -> InstanceConfig {
    InstanceConfig {
        version,
        vrid: 51,
        priority,
        advert_interval_cs: interval_cs,
        preempt: true,
        preempt_delay: Duration::ZERO,
        start_as_master: false,
        primary_address: addr.parse().expect("test address"),
        routes: false,
    }
}

pub fn v3(priority: u8, addr: &str) -> InstanceConfig {
    cfg(Version::V3, priority, 100, addr)
}

/// [`v3`] with another VRID.
pub fn v3_vrid(vrid: u8, priority: u8, addr: &str) -> InstanceConfig {
    InstanceConfig {
        vrid,
        ..v3(priority, addr)
    }
}

pub fn secs_f(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

pub struct Router {
    pub name: String,
    pub core: Core,
    /// A dead router neither receives nor wakes up (SIGKILL / power loss).
    pub alive: bool,
    pub holds_vips: bool,
}

/// One recorded action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Time,
    pub router: usize,
    pub action: Action,
}

/// Who was master / held the VIPs after each simulated instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub at: Time,
    pub masters: Vec<usize>,
    pub holders: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Packet {
    at: Time,
    seq: u64,
    from: usize,
    to: usize,
    /// IPv4: the whole datagram; IPv6: the VRRP payload (the source and
    /// destination travel beside it, as the kernel's cmsgs do).
    bytes: Vec<u8>,
    src: IpAddr,
    dst: IpAddr,
}

pub struct Lan {
    pub now: Time,
    pub routers: Vec<Router>,
    /// Propagation delay of every packet.
    pub delay: Duration,
    pub log: Vec<Event>,
    pub timeline: Vec<Snapshot>,
    in_flight: Vec<Packet>,
    seq: u64,
    drop_next: HashMap<(usize, usize), u32>,
    blocked: HashSet<(usize, usize)>,
    /// Partition group of each router: packets cross only within a group.
    group: Vec<usize>,
    loss: Option<(Prng, u32)>,
    pub delivered: u64,
    pub lost: u64,
    /// Sync groups: the coordinator and its members' router indices.
    syncs: Vec<(SyncGroup, Vec<usize>)>,
    /// For each router: (sync group, member index) if it is a member.
    member_of: Vec<Option<(usize, usize)>>,
    /// Every sync input delivered: (time, router, input).
    pub sync_log: Vec<(Time, usize, Input)>,
    /// Every datagram a router dropped: (time, router, reason).
    pub drops: Vec<(Time, usize, DropReason)>,
    /// Rewrites datagrams on the wire (corruption, forgery) before delivery.
    mangle: Option<Box<Mangle>>,
    txbuf: Vec<u8>,
}

impl Lan {
    pub fn new(delay: Duration) -> Lan {
        Lan {
            now: Duration::ZERO,
            routers: Vec::new(),
            delay,
            log: Vec::new(),
            timeline: Vec::new(),
            in_flight: Vec::new(),
            seq: 0,
            drop_next: HashMap::new(),
            blocked: HashSet::new(),
            group: Vec::new(),
            loss: None,
            delivered: 0,
            lost: 0,
            syncs: Vec::new(),
            member_of: Vec::new(),
            sync_log: Vec::new(),
            drops: Vec::new(),
            mangle: None,
            txbuf: Vec::new(),
        }
    }

    /// Every datagram from `from` to `to` passes through `f` on the wire.
    pub fn set_mangle(&mut self, f: impl FnMut(usize, usize, &mut Vec<u8>) + 'static) {
        self.mangle = Some(Box::new(f));
    }

    pub fn clear_mangle(&mut self) {
        self.mangle = None;
    }

    /// Tie routers (instances of one box) into a sync group; before start.
    pub fn sync_group(&mut self, members: &[usize]) -> usize {
        let g = self.syncs.len();
        for (m, &r) in members.iter().enumerate() {
            assert!(self.member_of[r].is_none(), "one sync group per instance");
            self.member_of[r] = Some((g, m));
        }
        self.syncs
            .push((SyncGroup::new(members.len()), members.to_vec()));
        g
    }

    pub fn add(&mut self, name: &str, cfg: InstanceConfig) -> usize {
        self.add_with(name, router_config(cfg, AuthConfig::None))
    }

    /// A router with a full protocol configuration (authentication ...).
    pub fn add_with(&mut self, name: &str, cfg: RouterConfig) -> usize {
        let core = Core::new(cfg).expect("valid test config");
        self.routers.push(Router {
            name: name.to_string(),
            core,
            alive: true,
            holds_vips: false,
        });
        self.group.push(0);
        self.member_of.push(None);
        self.routers.len() - 1
    }

    pub fn inst(&self, i: usize) -> &Instance {
        self.routers[i].core.instance()
    }

    pub fn state(&self, i: usize) -> State {
        self.routers[i].core.state()
    }

    pub fn addr(&self, i: usize) -> IpAddr {
        self.routers[i].core.source()
    }

    fn vrid(&self, i: usize) -> u8 {
        self.inst(i).config().vrid
    }

    /// Feed an input to router `i` now and carry out its actions.
    pub fn input(&mut self, i: usize, input: Input) {
        let now = self.now;
        self.routers[i].core.handle(now, input);
        self.drain(i);
        self.snapshot();
    }

    pub fn start(&mut self, i: usize) {
        self.input(i, Input::Startup);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.routers.len() {
            self.start(i);
        }
    }

    /// SIGKILL: the router stops; its VIPs vanish with it.
    pub fn kill(&mut self, i: usize) {
        self.routers[i].alive = false;
        self.routers[i].holds_vips = false;
        self.snapshot();
    }

    // ---- the wire -------------------------------------------------------

    /// Drop the next `k` packets from `from` to `to`.
    pub fn drop_next(&mut self, from: usize, to: usize, k: u32) {
        *self.drop_next.entry((from, to)).or_insert(0) += k;
    }

    /// Drop every packet from `from` to `to` (or stop doing so).
    pub fn set_blocked(&mut self, from: usize, to: usize, blocked: bool) {
        if blocked {
            self.blocked.insert((from, to));
        } else {
            self.blocked.remove(&(from, to));
        }
    }

    /// Split the LAN: packets cross only between routers of one set.
    /// Routers in no set form their own group.
    pub fn partition(&mut self, sets: &[&[usize]]) {
        for (i, g) in self.group.iter_mut().enumerate() {
            *g = sets
                .iter()
                .position(|s| s.contains(&i))
                .map_or(1000 + i, |p| p + 1);
        }
    }

    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Random independent loss of `per_mille`/1000 of all packets.
    pub fn set_loss(&mut self, seed: u64, per_mille: u32) {
        self.loss = Some((Prng::new(seed), per_mille));
    }

    pub fn clear_loss(&mut self) {
        self.loss = None;
    }

    /// Put one encoded advert of `from` on the wire to every other router
    /// of its VRID.
    fn transmit(&mut self, from: usize, bytes: &[u8], src: IpAddr, dst: IpAddr) {
        let vrid = self.vrid(from);
        for to in 0..self.routers.len() {
            if to == from || self.vrid(to) != vrid {
                continue;
            }
            if self.blocked.contains(&(from, to)) || self.group[from] != self.group[to] {
                self.lost += 1;
                continue;
            }
            if let Some(k) = self.drop_next.get_mut(&(from, to))
                && *k > 0
            {
                *k -= 1;
                self.lost += 1;
                continue;
            }
            if let Some((rng, p)) = &mut self.loss
                && rng.chance(*p)
            {
                self.lost += 1;
                continue;
            }
            let mut bytes = bytes.to_vec();
            if let Some(m) = self.mangle.as_mut() {
                m(from, to, &mut bytes);
            }
            self.seq += 1;
            self.in_flight.push(Packet {
                at: self.now + self.delay,
                seq: self.seq,
                from,
                to,
                bytes,
                src,
                dst,
            });
        }
    }

    /// Deliver one datagram as the daemon's socket path does.
    fn deliver(&mut self, p: &Packet) {
        let now = self.now;
        let pkt = if p.src.is_ipv4() {
            match RxPacket::from_ipv4_datagram(&p.bytes) {
                Ok(pkt) => pkt,
                Err(_) => {
                    self.drops.push((now, p.to, DropReason::IpHeader));
                    return;
                }
            }
        } else {
            RxPacket {
                src: p.src,
                dst: p.dst,
                ttl: 255,
                protocol: vrrpd::proto::wire::IPPROTO_VRRP,
                ipv4_header: None,
                payload: &p.bytes,
            }
        };
        match self.routers[p.to]
            .core
            .handle_datagram(now, WALL_EPOCH + now, &pkt)
        {
            Ok(_) => {
                self.delivered += 1;
                self.drain(p.to);
            }
            Err(reason) => self.drops.push((now, p.to, reason)),
        }
    }

    /// Carry out router `i`'s actions, then every sync input they cause
    /// (to a fixed point, which the guard checks).
    fn drain(&mut self, i: usize) {
        let mut pending = VecDeque::new();
        self.drain_one(i, &mut pending);
        let mut guard = 0;
        while let Some((r, input)) = pending.pop_front() {
            guard += 1;
            assert!(guard < 1000, "sync inputs do not reach a fixed point");
            let now = self.now;
            self.sync_log.push((now, r, input));
            self.routers[r].core.handle(now, input);
            self.drain_one(r, &mut pending);
        }
    }

    fn drain_one(&mut self, i: usize, pending: &mut VecDeque<(usize, Input)>) {
        let member = self.member_of[i];
        while let Some(event) = self.routers[i].core.poll_event() {
            if let (
                Some((g, m)),
                RouterEvent::StateChanged {
                    from, to, reason, ..
                },
            ) = (member, event)
            {
                let (sync, members) = &mut self.syncs[g];
                for s in sync.on_state_changed(m, from, to, reason) {
                    pending.push_back((members[s.member], s.input));
                }
            }
            let action = match event {
                RouterEvent::Transmit => {
                    let Some(priority) = self.send(i) else {
                        continue;
                    };
                    Action::SendAdvert { priority }
                }
                RouterEvent::AddVips => {
                    self.routers[i].holds_vips = true;
                    Action::AddVips
                }
                RouterEvent::RemoveVips => {
                    self.routers[i].holds_vips = false;
                    Action::RemoveVips
                }
                RouterEvent::AddRoutes => Action::AddRoutes,
                RouterEvent::RemoveRoutes => Action::RemoveRoutes,
                RouterEvent::UpdateRoutes => Action::UpdateRoutes,
                RouterEvent::Announce => Action::Announce,
                RouterEvent::LowerPriorityMasterHeard => Action::Reannounce,
                RouterEvent::StateChanged {
                    from,
                    to,
                    reason,
                    priority,
                } => Action::StateChanged {
                    from,
                    to,
                    reason,
                    priority,
                },
                RouterEvent::PriorityChanged { from, to } => Action::PriorityChanged { from, to },
                RouterEvent::Released => Action::Released,
                RouterEvent::HandoverComplete => Action::HandoverComplete,
                RouterEvent::HandoverFailed => Action::HandoverFailed,
            };
            self.log.push(Event {
                at: self.now,
                router: i,
                action,
            });
        }
        if let Some((g, m)) = member {
            let own = self.routers[i].core.instance().own_fault();
            let (sync, members) = &mut self.syncs[g];
            for s in sync.on_own_fault(m, own) {
                pending.push_back((members[s.member], s.input));
            }
        }
    }

    /// Encode and send router `i`'s advert; its priority, read back from the
    /// bytes on the wire.
    fn send(&mut self, i: usize) -> Option<u8> {
        let mut buf = std::mem::take(&mut self.txbuf);
        let mut priority = None;
        while let Some(t) = self.routers[i]
            .core
            .poll_transmit(WALL_EPOCH + self.now, &mut buf)
        {
            let t = t.expect("the router encodes its own adverts");
            let bytes = &buf[..t.len];
            let vrrp = if t.dst.is_ipv4() {
                let d = RxPacket::from_ipv4_datagram(bytes).expect("own datagram parses");
                let ah = usize::from(d.protocol == vrrpd::proto::wire::IPPROTO_AH) * AH_LEN;
                &d.payload[ah..]
            } else {
                bytes
            };
            let (advert, _) =
                VrrpPacket::new_verified(vrrp, t.source, t.dst).expect("own advert parses");
            priority = Some(advert.priority());
            self.transmit(i, &buf[..t.len], t.source, t.dst);
        }
        self.txbuf = buf;
        priority
    }

    fn snapshot(&mut self) {
        let masters = (0..self.routers.len())
            .filter(|&i| self.routers[i].alive && self.state(i) == State::Master)
            .collect();
        let holders = (0..self.routers.len())
            .filter(|&i| self.routers[i].holds_vips)
            .collect();
        let snap = Snapshot {
            at: self.now,
            masters,
            holders,
        };
        match self.timeline.last_mut() {
            Some(last) if last.at == self.now => *last = snap,
            _ => self.timeline.push(snap),
        }
    }

    // ---- the clock ------------------------------------------------------

    /// The earliest wake-up: a live router's timer or a packet arrival.
    pub fn next_event(&self) -> Option<Time> {
        let timers = self
            .routers
            .iter()
            .filter(|r| r.alive)
            .filter_map(|r| r.core.poll_timeout());
        let packets = self.in_flight.iter().map(|p| p.at);
        timers.chain(packets).min()
    }

    /// Advance to the next wake-up and process everything due then.
    /// Returns false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        assert!(t >= self.now, "time went backwards");
        self.now = t;
        // Packets first, in sending order.
        let mut due: Vec<Packet> = Vec::new();
        self.in_flight.retain(|p| {
            if p.at <= t {
                due.push(p.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|p| (p.at, p.seq));
        for p in due {
            if !self.routers[p.to].alive {
                continue;
            }
            self.deliver(&p);
        }
        for i in 0..self.routers.len() {
            if !self.routers[i].alive {
                continue;
            }
            if self.routers[i].core.poll_timeout().is_some_and(|w| w <= t) {
                self.routers[i].core.handle_timeout(t);
                self.drain(i);
            }
        }
        self.snapshot();
        true
    }

    /// Run every event up to and including `t`, then set the clock to `t`.
    pub fn run_until(&mut self, t: Time) {
        let mut guard = 0u64;
        while let Some(n) = self.next_event() {
            if n > t {
                break;
            }
            self.step();
            guard += 1;
            assert!(guard < 50_000_000, "simulation does not converge");
        }
        self.now = self.now.max(t);
        self.snapshot();
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    // ---- the record -----------------------------------------------------

    /// Live masters among `among` (e.g. the instances of one VRID).
    pub fn masters_among(&self, among: &[usize]) -> Vec<usize> {
        among
            .iter()
            .copied()
            .filter(|&i| self.routers[i].alive && self.state(i) == State::Master)
            .collect()
    }

    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].alive && self.state(i) == State::Master)
            .collect()
    }

    pub fn holders(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].holds_vips)
            .collect()
    }

    pub fn events(&self, i: usize) -> impl Iterator<Item = &Event> {
        self.log.iter().filter(move |e| e.router == i)
    }

    /// Adverts sent by router `i`: (time, priority).
    pub fn adverts(&self, i: usize) -> Vec<(Time, u8)> {
        self.events(i)
            .filter_map(|e| match e.action {
                Action::SendAdvert { priority } => Some((e.at, priority)),
                _ => None,
            })
            .collect()
    }

    /// State changes of router `i`: (time, from, to, reason).
    pub fn transitions(&self, i: usize) -> Vec<(Time, State, State, Reason)> {
        self.events(i)
            .filter_map(|e| match e.action {
                Action::StateChanged {
                    from, to, reason, ..
                } => Some((e.at, from, to, reason)),
                _ => None,
            })
            .collect()
    }

    /// When router `i` first entered `state` at or after `since`.
    pub fn entered(&self, i: usize, state: State, since: Time) -> Option<Time> {
        self.transitions(i)
            .into_iter()
            .find(|&(at, _, to, _)| to == state && at >= since)
            .map(|(at, ..)| at)
    }

    pub fn has_action(&self, i: usize, action: Action) -> Option<Time> {
        self.events(i).find(|e| e.action == action).map(|e| e.at)
    }

    /// Replay the action log one action at a time: every moment, after the
    /// VIPs were first added, at which nobody held them (kills count).
    pub fn vip_gaps(&self) -> Vec<Time> {
        let mut held = vec![false; self.routers.len()];
        let mut seen = false;
        let mut gaps = Vec::new();
        for e in &self.log {
            match e.action {
                Action::AddVips => {
                    held[e.router] = true;
                    seen = true;
                }
                Action::RemoveVips => {
                    held[e.router] = false;
                    if seen && !held.iter().any(|&h| h) {
                        gaps.push(e.at);
                    }
                }
                _ => {}
            }
        }
        gaps
    }

    /// [`Lan::vip_gaps`] restricted to the routers in `among` (one VRID).
    pub fn vip_gaps_among(&self, among: &[usize]) -> Vec<Time> {
        let mut held = vec![false; self.routers.len()];
        let mut seen = false;
        let mut gaps = Vec::new();
        for e in self.log.iter().filter(|e| among.contains(&e.router)) {
            match e.action {
                Action::AddVips => {
                    held[e.router] = true;
                    seen = true;
                }
                Action::RemoveVips => {
                    held[e.router] = false;
                    if seen && !held.iter().any(|&h| h) {
                        gaps.push(e.at);
                    }
                }
                _ => {}
            }
        }
        gaps
    }

    /// The longest stretch of virtual time during which `bad(snapshot)`.
    pub fn longest(&self, bad: impl Fn(&Snapshot) -> bool) -> Duration {
        let mut longest = Duration::ZERO;
        let mut since: Option<Time> = None;
        for s in &self.timeline {
            match (bad(s), since) {
                (true, None) => since = Some(s.at),
                (false, Some(t)) => {
                    longest = longest.max(s.at - t);
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(t) = since {
            longest = longest.max(self.now - t);
        }
        longest
    }

    /// The longest stretch of virtual time with more than one live master.
    pub fn longest_dual_master(&self) -> Duration {
        let mut longest = Duration::ZERO;
        let mut since: Option<Time> = None;
        for s in &self.timeline {
            match (s.masters.len() > 1, since) {
                (true, None) => since = Some(s.at),
                (false, Some(t)) => {
                    longest = longest.max(s.at - t);
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(t) = since {
            longest = longest.max(self.now - t);
        }
        longest
    }

    /// How many separate stretches had more than one live master.
    pub fn dual_master_episodes(&self) -> usize {
        let mut n = 0;
        let mut prev = false;
        for s in &self.timeline {
            let dual = s.masters.len() > 1;
            if dual && !prev {
                n += 1;
            }
            prev = dual;
        }
        n
    }

    pub fn release(&mut self, i: usize, reason: ReleaseReason) {
        self.input(i, Input::Release(reason));
    }
}
