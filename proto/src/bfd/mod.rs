//! BFD-assisted failure detection (SPEC §1; RFC 5880 asynchronous mode,
//! RFC 5881 single hop), pure like the rest of the core: [`Sessions`] holds
//! one [`Session`] per (interface, unicast peer), shared by every group that
//! names that peer, demultiplexes received datagrams (§6.8.6) and says when
//! a peer went away ([`SessionEvent`]).

pub mod packet;
pub mod session;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

pub use packet::{BfdDrop, ControlPacket, Diag, SessionState};
pub use session::{Session, SessionConfig, SessionEvent};

use crate::Time;

/// A session's identity: single-hop BFD demultiplexes by interface and
/// source address when Your Discriminator is zero (RFC 5881 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SessionKey {
    pub ifindex: u32,
    pub peer: IpAddr,
}

impl SessionEvent {
    /// Only a detection-time expiry of a session that was Up is evidence
    /// that the peer is gone; a peer that reports its own session down, or
    /// shuts BFD down on purpose, is still there (see [`session`]).
    pub fn is_peer_failure(&self) -> bool {
        matches!(
            self,
            SessionEvent::Down {
                diag: Diag::ControlDetectionTimeExpired
            }
        )
    }
}

/// Every BFD session of the daemon.
#[derive(Debug)]
pub struct Sessions {
    sessions: BTreeMap<SessionKey, Session>,
    by_discr: HashMap<u32, SessionKey>,
    rng: u64,
    drops: BTreeMap<&'static str, u64>,
    events: VecDeque<(SessionKey, SessionEvent)>,
}

impl Sessions {
    /// `seed` makes the discriminators and the jitter (the shell passes
    /// entropy, tests a constant).
    pub fn new(seed: u64) -> Sessions {
        Sessions {
            sessions: BTreeMap::new(),
            by_discr: HashMap::new(),
            rng: seed | 1,
            drops: BTreeMap::new(),
            events: VecDeque::new(),
        }
    }

    fn random(&mut self) -> u64 {
        // splitmix64: a fresh, well-mixed value per call.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Make the set of sessions exactly `wanted` (start-up and reload):
    /// new keys start Down at `now`, kept ones change parameters with a
    /// Poll Sequence, the rest are dropped.
    pub fn sync(&mut self, now: Time, wanted: &BTreeMap<SessionKey, SessionConfig>) {
        let gone: Vec<_> = self
            .sessions
            .keys()
            .filter(|k| !wanted.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            if let Some(s) = self.sessions.remove(&k) {
                self.by_discr.remove(&s.local_discr());
            }
        }
        for (k, cfg) in wanted {
            if let Some(s) = self.sessions.get_mut(k) {
                s.reconfigure(now, *cfg);
                continue;
            }
            let discr = loop {
                let d = self.random() as u32;
                if d != 0 && !self.by_discr.contains_key(&d) {
                    break d;
                }
            };
            let seed = self.random();
            self.by_discr.insert(discr, *k);
            self.sessions
                .insert(*k, Session::new(*cfg, discr, seed, now));
        }
    }

    /// One received UDP datagram to port 3784 (RFC 5880 §6.8.6, RFC 5881
    /// §5): GTSM, the packet checks, then demultiplexing. A drop is counted
    /// and changes no session and no timer.
    pub fn handle_datagram(
        &mut self,
        now: Time,
        ifindex: u32,
        src: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Result<SessionKey, BfdDrop> {
        let r = self.demux(ifindex, src, ttl, bytes);
        match r {
            Ok((key, pkt)) => {
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.handle_packet(now, &pkt);
                }
                self.collect(key);
                Ok(key)
            }
            Err(e) => {
                *self.drops.entry(e.label()).or_default() += 1;
                Err(e)
            }
        }
    }

    fn demux(
        &self,
        ifindex: u32,
        src: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Result<(SessionKey, ControlPacket), BfdDrop> {
        if ttl != 255 {
            return Err(BfdDrop::Ttl(ttl));
        }
        let pkt = ControlPacket::parse(bytes)?;
        let key = SessionKey { ifindex, peer: src };
        if pkt.your_discr != 0 {
            // The discriminator must name a session with this very source:
            // a forged discriminator from elsewhere moves nothing.
            match self.by_discr.get(&pkt.your_discr) {
                Some(k) if *k == key => Ok((key, pkt)),
                _ => Err(BfdDrop::UnknownDiscriminator(pkt.your_discr)),
            }
        } else if !matches!(pkt.state, SessionState::Down | SessionState::AdminDown) {
            Err(BfdDrop::ZeroDiscriminatorInState(pkt.state))
        } else if self.sessions.contains_key(&key) {
            Ok((key, pkt))
        } else {
            Err(BfdDrop::NoSession)
        }
    }

    fn collect(&mut self, key: SessionKey) {
        if let Some(s) = self.sessions.get_mut(&key) {
            while let Some(e) = s.poll_event() {
                self.events.push_back((key, e));
            }
        }
    }

    /// Process every detection timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        let keys: Vec<_> = self.sessions.keys().copied().collect();
        for k in keys {
            if let Some(s) = self.sessions.get_mut(&k) {
                s.handle_timeout(now);
            }
            self.collect(k);
        }
    }

    /// The earliest time any session needs [`Sessions::handle_timeout`] or
    /// [`Sessions::poll_transmit`].
    pub fn poll_timeout(&self) -> Option<Time> {
        self.sessions
            .values()
            .filter_map(Session::poll_timeout)
            .min()
    }

    /// The next packet to send: the session it belongs to and its bytes.
    pub fn poll_transmit(&mut self, now: Time) -> Option<(SessionKey, [u8; packet::LEN])> {
        self.sessions
            .iter_mut()
            .find_map(|(k, s)| s.poll_transmit(now).map(|p| (*k, p.emit())))
    }

    pub fn poll_event(&mut self) -> Option<(SessionKey, SessionEvent)> {
        self.events.pop_front()
    }

    /// Shut every session down on purpose (daemon stop): the next packets
    /// say AdminDown.
    pub fn admin_down_all(&mut self, now: Time) {
        let keys: Vec<_> = self.sessions.keys().copied().collect();
        for k in keys {
            if let Some(s) = self.sessions.get_mut(&k) {
                s.admin_down(now);
            }
            self.collect(k);
        }
    }

    pub fn get(&self, key: &SessionKey) -> Option<&Session> {
        self.sessions.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SessionKey, &Session)> {
        self.sessions.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Dropped datagrams per reason label.
    pub fn drops(&self) -> &BTreeMap<&'static str, u64> {
        &self.drops
    }
}
