//! BFD in the shell (SPEC §1 `[bfd]`): which sessions the groups want, the
//! sockets they need, and carrying out what the core's
//! [`Sessions`](crate::proto::bfd::Sessions) decides. Which group acts on a
//! failure is the instance's rule ([`Input::PeerDown`]).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use tracing::{info, warn};

use crate::control::protocol::BfdSessionStatus;
use crate::group::Groups;
use crate::net::bfd_socket::{BfdReceived, BfdRx, BfdTx};
use crate::proto::Time;
use crate::proto::bfd::{SessionConfig, SessionEvent, SessionKey, Sessions};

/// Where a session sends from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    interface: String,
    source: IpAddr,
}

pub struct Bfd {
    pub sessions: Sessions,
    rx4: Option<Rc<BfdRx>>,
    rx6: Option<Rc<BfdRx>>,
    tx: HashMap<SessionKey, (Endpoint, BfdTx)>,
    seed: u64,
    /// Rate limit of drop log lines: the start of the current one-second
    /// window and how many were logged in it.
    drop_log: (Time, u32),
}

/// Both receiving sockets, cloned out so the event loop can wait on them
/// while the daemon is borrowed mutably elsewhere.
pub type RxSockets = (Option<Rc<BfdRx>>, Option<Rc<BfdRx>>);

/// Wait for a datagram on either socket (pending forever without one).
pub async fn recv(rx: RxSockets, buf4: &mut [u8], buf6: &mut [u8]) -> (BfdReceived, bool) {
    async fn one(s: Option<Rc<BfdRx>>, buf: &mut [u8]) -> BfdReceived {
        match s {
            Some(s) => loop {
                if let Ok(r) = s.recv(buf).await {
                    return r;
                }
            },
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        r = one(rx.0, buf4) => (r, false),
        r = one(rx.1, buf6) => (r, true),
    }
}

impl Bfd {
    pub fn new(seed: u64) -> Bfd {
        Bfd {
            sessions: Sessions::new(seed),
            rx4: None,
            rx6: None,
            tx: HashMap::new(),
            seed,
            drop_log: (Time::ZERO, 0),
        }
    }

    pub fn rx_sockets(&self) -> RxSockets {
        (self.rx4.clone(), self.rx6.clone())
    }

    /// A dropped datagram (already counted by the core), logged at most 10
    /// times a second so a flood cannot fill the log.
    pub fn log_drop(&mut self, now: Time, src: IpAddr, why: &crate::proto::bfd::BfdDrop) {
        if now.saturating_sub(self.drop_log.0) >= std::time::Duration::from_secs(1) {
            self.drop_log = (now, 0);
        }
        if self.drop_log.1 < 10 {
            self.drop_log.1 += 1;
            warn!(source = %src, reason = why.label(), "BFD packet dropped: {why}");
        }
    }

    /// Make sessions and sockets match the groups (start-up, a group
    /// starting, reload).
    pub fn sync(&mut self, now: Time, groups: &Groups) {
        let want: BTreeMap<SessionKey, (SessionConfig, Endpoint)> = groups
            .bfd_wanted()
            .into_iter()
            .filter_map(|(k, (c, gi))| {
                let g = &groups[gi];
                let ep = Endpoint {
                    interface: g.cfg.interface.clone(),
                    source: g.source()?,
                };
                Some((k, (c, ep)))
            })
            .collect();
        if want.keys().any(|k| k.peer.is_ipv4()) && self.rx4.is_none() {
            match BfdRx::bind(false) {
                Ok(s) => self.rx4 = Some(Rc::new(s)),
                Err(e) => warn!("BFD: cannot bind UDP 3784 (IPv4): {e}"),
            }
        }
        if want.keys().any(|k| k.peer.is_ipv6()) && self.rx6.is_none() {
            match BfdRx::bind(true) {
                Ok(s) => self.rx6 = Some(Rc::new(s)),
                Err(e) => warn!("BFD: cannot bind UDP 3784 (IPv6): {e}"),
            }
        }
        self.tx
            .retain(|k, (ep, _)| want.get(k).is_some_and(|(_, w)| w == ep));
        for (k, (_, ep)) in &want {
            if self.tx.contains_key(k) {
                continue;
            }
            self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            match BfdTx::open(&ep.interface, ep.source, k.peer, (self.seed >> 33) as u16) {
                Ok(s) => {
                    info!(peer = %k.peer, interface = %ep.interface, source = %ep.source, "BFD session to peer");
                    self.tx.insert(*k, (ep.clone(), s));
                }
                Err(e) => {
                    warn!(peer = %k.peer, interface = %ep.interface, "BFD: cannot open the session's socket: {e}")
                }
            }
        }
        let cfgs = want.into_iter().map(|(k, (c, _))| (k, c)).collect();
        self.sessions.sync(now, &cfgs);
    }

    /// Send every packet the sessions want out now.
    pub fn flush(&mut self, now: Time) {
        // Bounded: each session yields at most a Final and a periodic packet.
        for _ in 0..(2 * self.tx.len() + 2) {
            let Some((key, bytes)) = self.sessions.poll_transmit(now) else {
                return;
            };
            if let Some((_, s)) = self.tx.get(&key)
                && let Err(e) = s.send(&bytes)
            {
                tracing::debug!(peer = %key.peer, "BFD send failed: {e}");
            }
        }
    }

    /// Log state changes and tell the groups of every peer failure.
    pub fn events(&mut self, now: Time, groups: &mut Groups) {
        while let Some((key, ev)) = self.sessions.poll_event() {
            match ev {
                SessionEvent::Up => info!(peer = %key.peer, "BFD session up"),
                SessionEvent::Down { diag } => {
                    warn!(peer = %key.peer, diag = ?diag, "BFD session down")
                }
            }
            if ev.is_peer_failure() {
                groups.handle_peer_down(now, key);
            }
        }
    }

    /// Every session for `vrrpd status` and the metrics; `links` maps
    /// interface names to (index, up).
    pub fn status(&self, links: &HashMap<String, (u32, bool)>) -> Vec<BfdSessionStatus> {
        self.sessions
            .iter()
            .map(|(k, s)| BfdSessionStatus {
                peer: k.peer.to_string(),
                interface: links
                    .iter()
                    .find(|(_, (i, _))| *i == k.ifindex)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| format!("if{}", k.ifindex)),
                state: word(&s.state()),
                remote_state: word(&s.remote_state()),
                diag: word(&s.local_diag()),
            })
            .collect()
    }
}

/// The snake_case word serde gives a unit-like enum value.
fn word<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}
