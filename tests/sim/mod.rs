//! A simulated LAN of VRRP routers on virtual time, in the spirit of
//! quinn-proto's test `Pair` (quinn-proto/src/tests/util.rs).
//!
//! Every node is the daemon's own protocol core, a
//! [`vrrpd::proto::endpoint::Endpoint`] over [`vrrpd::proto::router::Router`]s:
//! demultiplexing, state machine, receive validation, advert encoding and
//! authentication, announce schedule, sync groups. The LAN owns the clock and
//! the wire, and the wire carries BYTES: [`Lan::step`] jumps to the earliest
//! wake-up (a node's `poll_timeout` or a packet's arrival), delivers due
//! datagrams through the endpoint's `handle_datagram` (so demux, checksums,
//! AH and hmac run with the state machine), fires due timers, and carries out
//! the events the way the daemon does: `Transmit` encodes the advert and puts a copy per
//! other router on the wire (arriving after `delay`, unless lost or
//! partitioned), `AddVips` / `RemoveVips` move the VIPs. Every event is
//! recorded with its virtual timestamp in [`Lan::log`] (as the instance's
//! [`Action`]: an advert as `SendAdvert` with the priority decoded from the
//! bytes sent, a gratuitous-ARP round as `Announce`), and every drop in
//! [`Lan::drops`].
//!
//! Packets reach only routers of the same VRID, so one `Router` is really
//! one virtual-router instance, each on a node of its own; several instances
//! of one box are put on one node by [`Lan::sync_group`] (SPEC §2.1), whose
//! endpoint keeps them moving together exactly as it does in the daemon.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use vrrpd::proto::announce::AnnounceConfig;
use vrrpd::proto::auth::AuthConfig;
use vrrpd::proto::endpoint::{Endpoint, Received};
use vrrpd::proto::instance::{
    Action, Input, Instance, InstanceConfig, Reason, ReleaseReason, State,
};
use vrrpd::proto::receive::{DropReason, RxPacket, RxPolicy};
use vrrpd::proto::router::{Event as RouterEvent, Router as Core, RouterConfig};
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

/// The interface index every simulated node sees the LAN on.
const LAN_IFINDEX: u32 = 1;

pub struct Router {
    pub name: String,
    /// The node (endpoint) this instance runs on.
    pub node: usize,
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
    /// One endpoint per box; a slot's value is its router's index here.
    nodes: Vec<Endpoint<usize>>,
    /// Each router's configuration (to move it onto a sync group's node).
    cfgs: Vec<RouterConfig>,
    /// Sync groups, by router index, per node.
    syncs: Vec<Vec<Vec<usize>>>,
    /// Killed routers' cores, kept for inspection.
    dead: HashMap<usize, Core>,
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
            nodes: Vec::new(),
            cfgs: Vec::new(),
            syncs: Vec::new(),
            dead: HashMap::new(),
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
    /// They move onto the first member's node.
    pub fn sync_group(&mut self, members: &[usize]) -> usize {
        let node = self.routers[members[0]].node;
        for &r in members {
            assert!(
                self.syncs.iter().flatten().all(|g| !g.contains(&r)),
                "one sync group per instance"
            );
            let old = self.routers[r].node;
            if old != node {
                let slot = self.slot(r);
                self.nodes[old].remove(slot);
                self.place(node, r);
            }
        }
        self.syncs[node].push(members.to_vec());
        let names: Vec<Vec<String>> = self.syncs[node]
            .iter()
            .map(|g| g.iter().map(|&r| slot_name(r)).collect())
            .collect();
        self.nodes[node].set_sync_groups(names);
        self.syncs.iter().flatten().count() - 1
    }

    pub fn add(&mut self, name: &str, cfg: InstanceConfig) -> usize {
        self.add_with(name, router_config(cfg, AuthConfig::None))
    }

    /// A router with a full protocol configuration (authentication ...),
    /// on a node of its own.
    pub fn add_with(&mut self, name: &str, cfg: RouterConfig) -> usize {
        let i = self.routers.len();
        self.cfgs.push(cfg);
        self.nodes.push(Endpoint::new());
        self.syncs.push(Vec::new());
        self.routers.push(Router {
            name: name.to_string(),
            node: i,
            alive: true,
            holds_vips: false,
        });
        self.place(i, i);
        self.group.push(0);
        i
    }

    /// Start router `r`'s protocol on `node`.
    fn place(&mut self, node: usize, r: usize) {
        let cfg = self.cfgs[r].clone();
        let family = Family::of(&cfg.instance.primary_address);
        let ep = &mut self.nodes[node];
        let slot = ep.insert(&slot_name(r), family, cfg.instance.vrid, r);
        ep.start(slot, LAN_IFINDEX, cfg).expect("valid test config");
        self.routers[r].node = node;
    }

    /// Router `r`'s slot on its node.
    fn slot(&self, r: usize) -> usize {
        self.nodes[self.routers[r].node]
            .find(&slot_name(r))
            .expect("every router has a slot")
    }

    /// Router `i`'s protocol core (alive or killed).
    pub fn core(&self, i: usize) -> &Core {
        match self.nodes[self.routers[i].node][self.slot(i)]
            .router
            .as_ref()
        {
            Some(c) => c,
            None => &self.dead[&i],
        }
    }

    pub fn inst(&self, i: usize) -> &Instance {
        self.core(i).instance()
    }

    pub fn state(&self, i: usize) -> State {
        self.core(i).state()
    }

    pub fn addr(&self, i: usize) -> IpAddr {
        self.core(i).source()
    }

    fn vrid(&self, i: usize) -> u8 {
        self.cfgs[i].instance.vrid
    }

    /// Feed an input to router `i` now and carry out its actions.
    pub fn input(&mut self, i: usize, input: Input) {
        let now = self.now;
        let (node, slot) = (self.routers[i].node, self.slot(i));
        self.nodes[node].handle(now, slot, input);
        self.drain(node);
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
        let (node, slot) = (self.routers[i].node, self.slot(i));
        if let Some(core) = self.nodes[node][slot].router.take() {
            self.dead.insert(i, core);
        }
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
        let node = self.routers[p.to].node;
        match self.nodes[node].handle_datagram(now, WALL_EPOCH + now, LAN_IFINDEX, &pkt) {
            Received::Accepted { .. } => {
                self.delivered += 1;
                self.drain(node);
            }
            Received::Dropped { reason, .. } | Received::Unmatched { reason } => {
                self.drops.push((now, p.to, reason))
            }
        }
    }

    /// Carry out every event of node `n`, in order, as the daemon does
    /// (the endpoint delivers sync group inputs to a fixed point itself).
    fn drain(&mut self, n: usize) {
        let now = self.now;
        while let Some((slot, event)) = self.nodes[n].poll_event(now) {
            let i = self.nodes[n][slot].shell;
            let action = match event {
                RouterEvent::Transmit => {
                    let Some(priority) = self.send(n, slot) else {
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
                at: now,
                router: i,
                action,
            });
        }
        assert_eq!(
            self.nodes[n].sync_unsettled, 0,
            "sync inputs do not reach a fixed point"
        );
    }

    /// Encode and send router `i`'s advert; its priority, read back from the
    /// bytes on the wire.
    fn send(&mut self, n: usize, slot: usize) -> Option<u8> {
        let i = self.nodes[n][slot].shell;
        let mut buf = std::mem::take(&mut self.txbuf);
        let mut priority = None;
        while let Some(t) = self.nodes[n].poll_transmit(slot, WALL_EPOCH + self.now, &mut buf) {
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
        let timers = self.nodes.iter().filter_map(Endpoint::poll_timeout);
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
        for n in 0..self.nodes.len() {
            if self.nodes[n].poll_timeout().is_some_and(|w| w <= t) {
                self.nodes[n].handle_timeout(t);
                self.drain(n);
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

/// A router's slot name on its node.
fn slot_name(r: usize) -> String {
    format!("r{r}")
}
