//! The `endpoint` fuzz target's harness, shared with `cargo test`
//! (`tests/fuzz_seeds.rs`, `tests/regress_fuzz.rs`) through `#[path]`, so a
//! seed or a flagged input runs through exactly the code the fuzzer ran.
//!
//! It drives the core the way the daemon does (`src/daemon/inputs.rs`
//! `on_received`, `on_timers`, `drain`): the daemon's own `Endpoint` over a
//! fixed set of groups demultiplexes by (ifindex, family, VRID) and hands
//! the datagram to that group's `Router` (validation with PASS, AH or hmac in the mode the
//! input picks, then the state machine), drain its events and encode every
//! advert it asks for (`poll_transmit`), and move virtual time so every
//! timer (adverts, master down, release, announcements) fires.
//!
//! Input: one config byte, then records until the input ends. Every record
//! starts `[op, ifindex, delta_ms u16 LE]`: time advances by `delta_ms`
//! (modulo 5001) first, then the groups on `ifindex` start if this is the
//! first record naming it; `op & 7` is the kind:
//!
//! * 0..=3 a datagram. IPv4 (`op & OP_V6` clear): `len u16 LE`, then a whole
//!   IPv4 datagram as a raw socket delivers it (metadata comes from its
//!   header). IPv6: `hop_limit, src[16], dst[16], len u16 LE`, then the VRRP
//!   payload (what an IPv6 raw socket delivers, metadata from cmsgs).
//!   `OP_FIX_IP`: make total length and header checksum what the kernel
//!   guarantees; `OP_FIX_CSUM`: recompute the VRRP checksum; `OP_RESIGN`:
//!   recompute the AH ICV and the hmac with the keys below, so mutated
//!   adverts still pass authentication and reach the state machine.
//! * 4 time only; 5 link down (`op & 8`) / up; 6 trackers (fault `op & 8`,
//!   one more byte: the priority delta as i8); 7 release (shutdown `op & 8`,
//!   handover otherwise, `op & 0x10`: resume preemption instead).
//!
//! Invariants checked (a panic is a finding): every advert we encode is
//! accepted by a peer configured like us; after a timeout is handled the
//! instance's next deadline lies in the future (the daemon's timer loop
//! would spin otherwise).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrpd::proto::announce::AnnounceConfig;
use vrrpd::proto::auth::{
    AntiReplay, AuthConfig, HmacConfig, HmacMode, ah_icv, hmac_compute, password_bytes,
};
use vrrpd::proto::endpoint::Received;
use vrrpd::proto::instance::{Input, InstanceConfig, ReleaseReason, State};
use vrrpd::proto::receive::{DropReason, RxPacket, RxPolicy, RxValidator, demux_vrid};
use vrrpd::proto::router::{Event, RouterConfig};
use vrrpd::proto::transmit::TxConfig;
use vrrpd::proto::wire::ah::{AH_LEN, AhHeader};
use vrrpd::proto::wire::hmac_trailer::{HMAC_OFFSET, HMAC_TRAILER_LEN};
use vrrpd::proto::wire::ipv4::{self, Ipv4Packet};
use vrrpd::proto::wire::vrrp::{ChecksumForm, compute_checksum, fill_checksum, message_len};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};
use vrrpd::proto::{Family, Time, Version};

pub const OP_V6: u8 = 0x08;
pub const OP_FIX_IP: u8 = 0x10;
pub const OP_FIX_CSUM: u8 = 0x20;
pub const OP_RESIGN: u8 = 0x40;
pub const KIND_TICK: u8 = 4;
pub const KIND_LINK: u8 = 5;
pub const KIND_TRACKERS: u8 = 6;
pub const KIND_RELEASE: u8 = 7;

/// The keepalived fixtures' secret (PASS and AH).
pub const SECRET: &[u8] = b"secret12";
/// The draft-cassen-vrrp-auth-hmac appendix key (id 1).
pub const HMAC_KEY_1: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
/// A second key in the ring, so "known id, wrong key" and "unknown id" differ.
pub const HMAC_KEY_2: &[u8] = b"another-key";
/// The wall clock at virtual time zero: the draft vectors' timestamp
/// (sequence 0x68000000_80000000 = sec 0x68000000 + 0.5 s), so `time`
/// anti-replay accepts them early in a run.
pub const WALL_BASE: Duration = Duration::from_secs(0x6800_0000);
/// Virtual time of start-up.
pub const T0: Duration = Duration::from_secs(1);
/// How many adverts after start-up and after each transition a peer checks
/// (each check costs an HMAC; the sequences only jump at transitions).
pub const CHECKED_ADVERTS: u8 = 3;
/// Longest time step of one record: a little more than the longest
/// Master_Down_Interval of the groups (v2, 1 s, priority 100: 3.6 s).
pub const MAX_DELTA_MS: u16 = 5000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    None,
    Pass,
    Ah,
    Hmac,
}

/// One configured group of the target.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// The fixture it mirrors (seed names start with it).
    pub name: &'static str,
    pub ifindex: u32,
    pub family: Family,
    pub version: Version,
    pub vrid: u8,
    pub auth: AuthKind,
    pub interval_cs: u16,
    /// Our own address (a third node beside the fixtures' a and b).
    pub source: IpAddr,
    pub unicast_peers: Vec<IpAddr>,
    pub addresses: Vec<IpAddr>,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(segs: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(segs))
}

/// The groups: one per keepalived capture (node a 192.0.2.1 / fe80::1, b .2
/// / fe80::2, VRID 51, secret12), one per draft hmac vector, and two
/// neighbours on interface 4 that only demultiplexing tells apart (another
/// VRID, the other family).
pub fn groups() -> Vec<GroupSpec> {
    let vips4 = vec![v4(192, 0, 2, 100), v4(192, 0, 2, 101)];
    let vips6 = vec![
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0x100]),
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100]),
    ];
    let me4 = v4(192, 0, 2, 3);
    let me6 = v6([0xfe80, 0, 0, 0, 0, 0, 0, 3]);
    let peers4 = vec![v4(192, 0, 2, 1), v4(192, 0, 2, 2)];
    let peers6 = vec![
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 2]),
    ];
    let g = |name, ifindex, family, version, vrid, auth, interval_cs, uni: bool| {
        let (source, peers, addresses) = match family {
            Family::V4 => (me4, peers4.clone(), vips4.clone()),
            Family::V6 => (me6, peers6.clone(), vips6.clone()),
        };
        GroupSpec {
            name,
            ifindex,
            family,
            version,
            vrid,
            auth,
            interval_cs,
            source,
            unicast_peers: if uni { peers } else { vec![] },
            addresses,
        }
    };
    use AuthKind::*;
    use Family::{V4, V6};
    use Version::{V2, V3};
    let mut v = vec![
        g("v2-pass-mc", 1, V4, V2, 51, Pass, 100, false),
        g("v2-ah-mc", 2, V4, V2, 51, Ah, 100, false),
        g("v2-ah-uni", 3, V4, V2, 51, Ah, 100, true),
        g("v3-mc-4", 4, V4, V3, 51, None, 50, false),
        g("v3-mc-4-vrid52", 4, V4, V3, 52, None, 50, false),
        g("v3-mc-6-if4", 4, V6, V3, 51, None, 50, false),
        g("v3-uni-4", 5, V4, V3, 51, None, 50, true),
        g("v3-mc-6", 6, V6, V3, 51, None, 50, false),
        g("v3-uni-6", 7, V6, V3, 51, None, 50, true),
    ];
    v.push(GroupSpec {
        name: "hmac-v4",
        ifindex: 8,
        family: V4,
        version: V3,
        vrid: 51,
        auth: Hmac,
        interval_cs: 100,
        source: v4(198, 51, 100, 11),
        unicast_peers: vec![],
        addresses: vec![v4(192, 0, 2, 100)],
    });
    v.push(GroupSpec {
        name: "hmac-v6",
        ifindex: 9,
        family: V6,
        version: V3,
        vrid: 51,
        auth: Hmac,
        interval_cs: 100,
        source: v6([0xfe80, 0, 0, 0, 0, 0, 0, 0x20]),
        unicast_peers: vec![v6([0xfe80, 0, 0, 0, 0, 0, 0, 0x10])],
        addresses: vec![v6([0xfe80, 0, 0, 0, 0, 0, 0, 0x100])],
    });
    v
}

/// What the config byte selects for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunConfig {
    pub hmac_mode: HmacMode,
    pub anti_replay: AntiReplay,
    pub preempt: bool,
    pub priority: u8,
    pub start_as_master: bool,
    pub min_ttl: u8,
}

impl RunConfig {
    pub fn from_byte(b: u8) -> RunConfig {
        RunConfig {
            hmac_mode: match b % 3 {
                0 => HmacMode::Enforce,
                1 => HmacMode::Permissive,
                _ => HmacMode::ReceiveOnly,
            },
            anti_replay: if b & 0x04 == 0 {
                AntiReplay::Monotonic
            } else {
                AntiReplay::Time
            },
            preempt: b & 0x08 == 0,
            priority: [100, 150, 200, 255][usize::from((b >> 4) & 3)],
            start_as_master: b & 0x40 != 0,
            min_ttl: if b & 0x80 == 0 { 1 } else { 255 },
        }
    }
}

pub fn auth_config(kind: AuthKind, rc: &RunConfig) -> AuthConfig {
    match kind {
        AuthKind::None => AuthConfig::None,
        AuthKind::Pass => AuthConfig::Pass {
            password: password_bytes(SECRET),
        },
        AuthKind::Ah => AuthConfig::Ah {
            key: password_bytes(SECRET),
        },
        AuthKind::Hmac => AuthConfig::Hmac(HmacConfig {
            keys: vec![(1, HMAC_KEY_1.to_vec()), (2, HMAC_KEY_2.to_vec())],
            active_key: 1,
            anti_replay: rc.anti_replay,
            time_window: Duration::from_secs(5),
            mode: rc.hmac_mode,
        }),
    }
}

pub fn rx_policy(spec: &GroupSpec, rc: &RunConfig) -> RxPolicy {
    RxPolicy {
        version: spec.version,
        family: spec.family,
        vrid: spec.vrid,
        min_ttl: rc.min_ttl,
        unicast_peers: spec.unicast_peers.clone(),
        v2_interval_cs: spec.interval_cs,
        auth: auth_config(spec.auth, rc),
        expected_addresses: (spec.version == Version::V2).then(|| spec.addresses.clone()),
    }
}

/// Counts over one run (the corpus report sums them).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub drops: BTreeMap<&'static str, u64>,
    pub accepted: BTreeMap<&'static str, u64>,
    pub transitions: BTreeMap<String, u64>,
    pub sent: u64,
    pub announcements: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        for (k, v) in &o.drops {
            *self.drops.entry(k).or_default() += v;
        }
        for (k, v) in &o.accepted {
            *self.accepted.entry(k).or_default() += v;
        }
        for (k, v) in &o.transitions {
            *self.transitions.entry(k.clone()).or_default() += v;
        }
        self.sent += o.sent;
        self.announcements += o.announcements;
    }
}

/// What the harness keeps per group beside its router (the daemon's
/// `Group`).
pub struct Group {
    spec: GroupSpec,
    /// A peer configured like us that must accept what we send.
    peer: RxValidator,
    /// Adverts left to check against the peer (reset on every transition:
    /// the AH / hmac sequence moves then).
    to_check: u8,
}

/// The daemon's endpoint over the fixed set of groups. Groups start when a
/// record first names their interface (the daemon starts a group once its
/// interface exists); untouched groups cost nothing.
pub struct Endpoint {
    ep: vrrpd::proto::endpoint::Endpoint<Group>,
    rc: RunConfig,
    now: Time,
    buf: Vec<u8>,
    pub stats: Stats,
}

/// Wall clock (UTC) at virtual time `now`.
pub fn wall(now: Time) -> Duration {
    WALL_BASE + now
}

fn router_config(spec: &GroupSpec, rc: &RunConfig) -> RouterConfig {
    RouterConfig {
        instance: InstanceConfig {
            version: spec.version,
            vrid: spec.vrid,
            priority: rc.priority,
            advert_interval_cs: spec.interval_cs,
            preempt: rc.preempt,
            preempt_delay: Duration::ZERO,
            start_as_master: rc.start_as_master,
            primary_address: spec.source,
            // Virtual routes on half the groups: they follow the VIPs
            // (SPEC §2.2).
            routes: spec.ifindex.is_multiple_of(2),
        },
        rx: rx_policy(spec, rc),
        tx: TxConfig {
            version: spec.version,
            family: spec.family,
            vrid: spec.vrid,
            interval_cs: spec.interval_cs,
            addresses: spec.addresses.clone(),
            auth: auth_config(spec.auth, rc),
            checksum: ChecksumForm::PseudoHeader,
            source: spec.source,
            unicast_peers: spec.unicast_peers.clone(),
        },
        announce: AnnounceConfig::default(),
    }
}

impl Endpoint {
    pub fn new(rc: &RunConfig) -> Endpoint {
        let mut ep = vrrpd::proto::endpoint::Endpoint::new();
        for spec in groups() {
            let mut peer_policy = rx_policy(&spec, rc);
            if !spec.unicast_peers.is_empty() {
                peer_policy.unicast_peers = vec![spec.source];
            }
            let (name, family, vrid) = (spec.name, spec.family, spec.vrid);
            let g = Group {
                peer: RxValidator::new(peer_policy),
                to_check: CHECKED_ADVERTS,
                spec,
            };
            ep.insert(name, family, vrid, g);
        }
        Endpoint {
            ep,
            rc: *rc,
            now: T0,
            buf: Vec::with_capacity(1500),
            stats: Stats::default(),
        }
    }

    /// Start the groups on `ifindex` that are not running yet.
    pub fn touch(&mut self, ifindex: u32) {
        for gi in 0..self.ep.len() {
            let s = &self.ep[gi];
            if s.spec.ifindex == ifindex && s.router.is_none() {
                let cfg = router_config(&s.spec, &self.rc);
                self.ep.start(gi, ifindex, cfg).expect("valid group config");
                self.ep.handle(self.now, gi, Input::Startup);
            }
        }
        self.drain();
    }

    pub fn state(&self, name: &str) -> Option<State> {
        self.ep
            .find(name)
            .and_then(|i| self.ep[i].inst().map(|x| x.state()))
    }

    /// Move virtual time to `target`, firing every deadline on the way in
    /// order (late by at most one step when a run of deadlines is long).
    pub fn advance(&mut self, target: Time) {
        let mut steps = 0;
        while let Some(t) = self.ep.poll_timeout() {
            if t > target {
                break;
            }
            steps += 1;
            // Skip ahead after many deadlines (a long delta with 10 ms
            // intervals): late timers are what a busy host produces too.
            self.now = if steps > 256 { target } else { self.now.max(t) };
            let now = self.now;
            self.ep.handle_timeout(now);
            self.drain();
            for s in self.ep.iter() {
                if let Some(t) = s.poll_timeout() {
                    assert!(
                        t > now,
                        "{}: deadline {t:?} not after {now:?} once handle_timeout ran \
                         (the daemon's timer loop would spin)",
                        s.spec.name
                    );
                }
            }
            assert!(steps < 1000, "timers did not settle");
        }
        self.now = self.now.max(target);
    }

    /// Carry out the endpoint's events (the daemon's `drain`).
    fn drain(&mut self) {
        let wall = wall(self.now);
        while let Some((gi, event)) = self.ep.poll_event(self.now) {
            match event {
                Event::Transmit => {
                    while let Some(t) = self.ep.poll_transmit(gi, wall, &mut self.buf) {
                        let t = t.expect("encode an advert");
                        let g = &mut self.ep[gi].shell;
                        assert_eq!(t.len, self.buf.len(), "{}: length", g.spec.name);
                        self.stats.sent += 1;
                        if g.to_check > 0 {
                            g.to_check -= 1;
                            check_peer_accepts(g, t.dst, &self.buf, wall);
                        }
                    }
                }
                Event::StateChanged { to, .. } => {
                    *self.stats.transitions.entry(format!("{to}")).or_default() += 1;
                    self.ep[gi].to_check = CHECKED_ADVERTS;
                }
                Event::Announce => self.stats.announcements += 1,
                _ => {}
            }
        }
        assert_eq!(self.ep.sync_unsettled, 0, "sync inputs did not settle");
        while self.ep.poll_log().is_some() {}
    }

    /// One received datagram, as the daemon's `on_received`.
    pub fn receive(&mut self, ifindex: u32, pkt: &RxPacket<'_>) -> Result<(), DropReason> {
        let wall = wall(self.now);
        let r = match self.ep.handle_datagram(self.now, wall, ifindex, pkt) {
            Received::Accepted { group, .. } => {
                *self
                    .stats
                    .accepted
                    .entry(self.ep[group].spec.name)
                    .or_default() += 1;
                self.drain();
                Ok(())
            }
            Received::Dropped { reason, .. } | Received::Unmatched { reason } => Err(reason),
        };
        if let Err(reason) = r {
            *self.stats.drops.entry(reason.label()).or_default() += 1;
        }
        r
    }

    fn input(&mut self, ifindex: u32, input: Input) {
        let now = self.now;
        for gi in 0..self.ep.len() {
            if self.ep[gi].spec.ifindex == ifindex {
                self.ep.handle(now, gi, input);
            }
        }
        self.drain();
    }

    fn group_on(&self, ifindex: u32) -> Option<&GroupSpec> {
        self.ep
            .iter()
            .map(|g| &g.spec)
            .find(|s| s.ifindex == ifindex)
    }
}

/// What we send, a peer configured like us accepts.
fn check_peer_accepts(g: &mut Group, dst: IpAddr, buf: &[u8], wall: Duration) {
    let pkt = match g.spec.family {
        Family::V4 => RxPacket::from_ipv4_datagram(buf).expect("our IPv4 datagram parses"),
        Family::V6 => RxPacket {
            src: g.spec.source,
            dst,
            ttl: 255,
            protocol: IPPROTO_VRRP,
            ipv4_header: None,
            payload: buf,
        },
    };
    match g.peer.validate(&pkt, wall) {
        Ok(v) => assert_eq!(v.src, g.spec.source),
        // AH sequence numbers stop at u32::MAX (keepalived's too): after a
        // peer sent that, no further advert is fresh.
        Err(DropReason::AhReplay) if pkt.payload.get(8..12) == Some(&[0xff; 4]) => {}
        Err(e) => panic!("{}: a peer drops our advert: {e:?}", g.spec.name),
    }
}

/// A byte reader that yields zeros past the end (libFuzzer inputs end
/// anywhere).
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8().unwrap_or(0)]))
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
    fn addr16(&mut self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        let b = self.bytes(16);
        o[..b.len()].copy_from_slice(b);
        Ipv6Addr::from(o)
    }
}

/// Run one fuzz input; returns the counts.
pub fn run(data: &[u8]) -> Stats {
    let mut r = Reader { data };
    let Some(cfg) = r.u8() else {
        return Stats::default();
    };
    let rc = RunConfig::from_byte(cfg);
    let mut e = Endpoint::new(&rc);
    let mut records = 0;
    while let Some(op) = r.u8() {
        records += 1;
        if records > 512 {
            break;
        }
        let ifindex = u32::from(r.u8().unwrap_or(0));
        let delta = r.u16().unwrap_or(0) % (MAX_DELTA_MS + 1);
        let target = e.now + Duration::from_millis(u64::from(delta));
        e.advance(target);
        e.touch(ifindex);
        match op & 7 {
            0..=3 => {
                if op & OP_V6 == 0 {
                    let len = usize::from(r.u16().unwrap_or(0));
                    let mut d = r.bytes(len).to_vec();
                    let unicast = e
                        .group_on(ifindex)
                        .is_some_and(|g| !g.unicast_peers.is_empty());
                    fixup_v4(&mut d, op, unicast);
                    // The raw socket drops what does not parse as IPv4
                    // (src/net/vrrp_socket.rs v4_received); count it here.
                    match RxPacket::from_ipv4_datagram(&d) {
                        Ok(pkt) => {
                            let _ = e.receive(ifindex, &pkt);
                        }
                        Err(err) => {
                            *e.stats
                                .drops
                                .entry(DropReason::from(&err).label())
                                .or_default() += 1;
                        }
                    }
                } else {
                    let hop = r.u8().unwrap_or(0);
                    let src = IpAddr::V6(r.addr16());
                    let dst = IpAddr::V6(r.addr16());
                    let len = usize::from(r.u16().unwrap_or(0));
                    let mut d = r.bytes(len).to_vec();
                    fixup_payload(&mut d, op, src, dst);
                    let pkt = RxPacket {
                        src,
                        dst,
                        ttl: hop,
                        protocol: IPPROTO_VRRP,
                        ipv4_header: None,
                        payload: &d,
                    };
                    let _ = e.receive(ifindex, &pkt);
                }
            }
            KIND_TICK => {}
            KIND_LINK => e.input(
                ifindex,
                if op & 8 != 0 {
                    Input::LinkDown
                } else {
                    Input::LinkUp
                },
            ),
            KIND_TRACKERS => {
                let delta = i32::from(r.u8().unwrap_or(0) as i8);
                e.input(
                    ifindex,
                    Input::Trackers {
                        fault: op & 8 != 0,
                        priority_delta: delta,
                    },
                );
            }
            _ => e.input(
                ifindex,
                if op & 0x10 != 0 {
                    Input::ResumePreempt
                } else if op & 8 != 0 {
                    Input::Release(ReleaseReason::Shutdown)
                } else {
                    Input::Release(ReleaseReason::Handover)
                },
            ),
        }
    }
    // Let every timer run once more: a last master-down, a release.
    let end = e.now + Duration::from_millis(u64::from(MAX_DELTA_MS));
    e.advance(end);
    e.stats
}

/// The VRRP message length the header announces (what the checksum and the
/// hmac cover), at most the payload.
fn pdu_len(payload: &[u8], family: Family) -> usize {
    let version = match payload.first().map(|b| b >> 4) {
        Some(2) => Version::V2,
        _ => Version::V3,
    };
    let count = usize::from(payload.get(3).copied().unwrap_or(0));
    message_len(version, family, count).min(payload.len())
}

/// `OP_RESIGN` / `OP_FIX_CSUM` on a VRRP payload (+ trailer): hmac first
/// (it reads the checksum as zero), then the checksum (IPv6's covers the
/// trailer).
pub fn fixup_payload(vrrp: &mut [u8], op: u8, src: IpAddr, dst: IpAddr) {
    let family = Family::of(&src);
    let pdu = pdu_len(vrrp, family);
    if op & OP_RESIGN != 0 && vrrp.len() == pdu + HMAC_TRAILER_LEN && pdu >= 8 {
        let version = if vrrp[0] >> 4 == 2 {
            Version::V2
        } else {
            Version::V3
        };
        let (body, trailer) = vrrp.split_at_mut(pdu);
        let key: &[u8] = if trailer[1] == 2 {
            HMAC_KEY_2
        } else {
            &HMAC_KEY_1
        };
        let mut head = [0u8; HMAC_OFFSET];
        head.copy_from_slice(&trailer[..HMAC_OFFSET]);
        let mac = hmac_compute(key, version, body[1], src, body, &head);
        trailer[HMAC_OFFSET..].copy_from_slice(&mac);
    }
    if op & OP_FIX_CSUM != 0 && pdu >= 8 {
        // v2 covers the message only; v3 the pseudo-header too, except a
        // v3/IPv4 advert already in the message form (RFC 9568) stays so.
        let got = u16::from_be_bytes([vrrp[6], vrrp[7]]);
        let form = if vrrp[0] >> 4 == 2
            || (family == Family::V4
                && compute_checksum(vrrp, pdu, src, dst, ChecksumForm::Message) == got)
        {
            ChecksumForm::Message
        } else {
            ChecksumForm::PseudoHeader
        };
        fill_checksum(vrrp, pdu, src, dst, form);
    }
}

/// The kernel / peer side of an IPv4 datagram: VRRP checksum, AH ICV, then
/// total length and header checksum.
pub fn fixup_v4(d: &mut [u8], op: u8, unicast: bool) {
    let len = d.len();
    // The view's accessors need the fixed header; the rest is checked here
    // (not `new_checked`: the point is to repair what it would refuse).
    if len < ipv4::HEADER_LEN {
        return;
    }
    let mut ip = Ipv4Packet::new_unchecked(&mut *d);
    let hl = ip.header_len();
    if ip.version() != 4 || hl < ipv4::HEADER_LEN || hl > len {
        return;
    }
    if op & OP_FIX_IP != 0 {
        ip.set_total_len(u16::try_from(len).unwrap_or(u16::MAX));
    }
    let total = usize::from(ip.total_len()).clamp(hl, len);
    let src = IpAddr::V4(ip.src_addr());
    let dst = IpAddr::V4(ip.dst_addr());
    let protocol = ip.protocol();
    let (header, rest) = d.split_at_mut(hl);
    let payload = &mut rest[..total - hl];
    if protocol == IPPROTO_AH && payload.len() >= AH_LEN {
        let (ah_bytes, vrrp) = payload.split_at_mut(AH_LEN);
        fixup_payload(vrrp, op, src, dst);
        if op & OP_RESIGN != 0
            && let Ok(mut ah) = AhHeader::parse(ah_bytes)
        {
            ah.icv = ah_icv(&password_bytes(SECRET), header, &ah, vrrp, unicast);
            ah_bytes.copy_from_slice(&ah.to_bytes());
        }
    } else {
        fixup_payload(payload, op, src, dst);
    }
    if op & OP_FIX_IP != 0 {
        Ipv4Packet::new_unchecked(header).fill_checksum();
    }
}

// ---------------------------------------------------------------------------
// Seed encoding (tests/fuzz_seeds.rs builds and checks the seeds with these)
// ---------------------------------------------------------------------------

/// A record carrying a whole IPv4 datagram.
pub fn record_v4(op_flags: u8, ifindex: u8, delta_ms: u16, datagram: &[u8]) -> Vec<u8> {
    let mut v = vec![op_flags & !OP_V6 & !7, ifindex];
    v.extend_from_slice(&delta_ms.to_le_bytes());
    v.extend_from_slice(&(datagram.len() as u16).to_le_bytes());
    v.extend_from_slice(datagram);
    v
}

/// A record carrying an IPv6 VRRP payload with its metadata.
pub fn record_v6(
    op_flags: u8,
    ifindex: u8,
    delta_ms: u16,
    hop_limit: u8,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = vec![(op_flags & !7) | OP_V6, ifindex];
    v.extend_from_slice(&delta_ms.to_le_bytes());
    v.push(hop_limit);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// Time passing with no packet.
pub fn record_tick(delta_ms: u16) -> Vec<u8> {
    let mut v = vec![KIND_TICK, 0];
    v.extend_from_slice(&delta_ms.to_le_bytes());
    v
}

/// The default multicast destination of a family.
pub fn mcast(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(VRRP_MCAST_V4),
        Family::V6 => IpAddr::V6(VRRP_MCAST_V6),
    }
}

/// The datagram records of an input, as `run` would read them: (op,
/// ifindex, packet). For the seed checks.
pub fn datagrams(data: &[u8]) -> Vec<(u8, u32, SeedPacket)> {
    let mut out = Vec::new();
    let mut r = Reader { data };
    if r.u8().is_none() {
        return out;
    }
    while let Some(op) = r.u8() {
        let ifindex = u32::from(r.u8().unwrap_or(0));
        r.u16();
        match op & 7 {
            0..=3 if op & OP_V6 == 0 => {
                let len = usize::from(r.u16().unwrap_or(0));
                out.push((op, ifindex, SeedPacket::V4(r.bytes(len).to_vec())));
            }
            0..=3 => {
                let hop = r.u8().unwrap_or(0);
                let src = r.addr16();
                let dst = r.addr16();
                let len = usize::from(r.u16().unwrap_or(0));
                let payload = r.bytes(len).to_vec();
                out.push((
                    op,
                    ifindex,
                    SeedPacket::V6 {
                        hop,
                        src,
                        dst,
                        payload,
                    },
                ));
            }
            KIND_TRACKERS => {
                r.u8();
            }
            _ => {}
        }
    }
    out
}

pub enum SeedPacket {
    V4(Vec<u8>),
    V6 {
        hop: u8,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        payload: Vec<u8>,
    },
}

impl SeedPacket {
    /// As the endpoint receives it.
    pub fn rx(&self) -> Option<RxPacket<'_>> {
        match self {
            SeedPacket::V4(d) => RxPacket::from_ipv4_datagram(d).ok(),
            SeedPacket::V6 {
                hop,
                src,
                dst,
                payload,
            } => Some(RxPacket {
                src: IpAddr::V6(*src),
                dst: IpAddr::V6(*dst),
                ttl: *hop,
                protocol: IPPROTO_VRRP,
                ipv4_header: None,
                payload,
            }),
        }
    }
}

/// The group a packet on `ifindex` is demultiplexed to.
pub fn group_for(ifindex: u32, pkt: &RxPacket<'_>) -> Option<GroupSpec> {
    let vrid = demux_vrid(pkt.protocol, pkt.payload).ok()?;
    groups()
        .into_iter()
        .find(|g| g.ifindex == ifindex && g.family == Family::of(&pkt.src) && g.vrid == vrid)
}
