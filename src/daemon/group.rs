//! One configured VRRP group at run time: its protocol core (a
//! [`Router`]: state machine, receive validation, advert encoding, announce
//! schedule) and what the shell knows about its interface.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::config::{self, GroupConfig, StartState};
use crate::proto::announce::AnnounceConfig;
use crate::proto::auth;
use crate::proto::instance::{Instance, InstanceConfig, State};
use crate::proto::receive::RxPolicy;
use crate::proto::router::{Router, RouterConfig, RouterConfigError};
use crate::proto::transmit::TxConfig;
use crate::proto::{Family, Time};

/// Per-group counters (status and metrics read these).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub transitions: BTreeMap<String, u64>,
    pub master_changes: u64,
    /// Adverts with priority 0 (release) sent and received.
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Gratuitous ARPs / unsolicited NAs sent (one per VIP per round).
    pub garp_sent: u64,
    /// Which v3/IPv4 checksum form peers used: "message" / "pseudo_header".
    pub checksum_forms: BTreeMap<&'static str, u64>,
    /// v2 adverts accepted whose address list differs from ours.
    pub address_list_mismatch: u64,
}

/// Rate limit for "dropped advert" log lines: at most one line per reason
/// per group per window, with the number suppressed.
#[derive(Clone, Debug, Default)]
pub struct DropLogLimiter {
    window_start: BTreeMap<&'static str, (Time, u64)>,
}

impl DropLogLimiter {
    pub const WINDOW: Duration = Duration::from_secs(10);

    /// Whether to log this drop now; if so, how many were suppressed since
    /// the last line.
    pub fn admit(&mut self, now: Time, reason: &'static str) -> Option<u64> {
        match self.window_start.get_mut(reason) {
            Some((start, suppressed)) if now < *start + Self::WINDOW => {
                *suppressed += 1;
                None
            }
            Some((start, suppressed)) => {
                let n = *suppressed;
                *start = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                self.window_start.insert(reason, (now, 0));
                Some(0)
            }
        }
    }
}

/// The group's announcement settings for the core's schedule.
pub fn announce_config(cfg: &GroupConfig) -> AnnounceConfig {
    AnnounceConfig {
        repeat: cfg.garp_repeat,
        interval: cfg.garp_interval,
        master_delay: cfg.garp_master_delay,
        refresh: cfg.garp_refresh,
    }
}

/// One group as the daemon runs it.
pub struct Group {
    pub cfg: GroupConfig,
    /// `None` until the interface exists and has a usable source address.
    pub router: Option<Router>,
    pub ifindex: Option<u32>,
    pub source: Option<IpAddr>,
    pub link_up: bool,
    /// Whether the VIPs are on the host by our doing.
    pub vips_held: bool,
    pub counters: Counters,
    pub drop_log: DropLogLimiter,
    pub since: SystemTime,
    /// Last trackers verdict fed to the instance.
    pub trackers: (bool, i32),
    /// Track scripts and notify hooks (started by the daemon).
    pub hooks: Option<super::hooks::GroupHooks>,
    /// Virtual routes and rules on the host by our doing (SPEC §2.2).
    pub installed: super::routes::InstalledRoutes,
    /// The virtual MAC interface's index while it exists (`use_vmac`).
    pub vmac_ifindex: Option<u32>,
    /// Adverts that cannot be sent, gratuitous ARP / NA that cannot be.
    pub advert_failures: FailureLatch,
    pub announce_failures: FailureLatch,
}

/// Turns a run of failures of one operation into one warning and one
/// recovery line: a send the kernel refuses every time (a seccomp profile
/// without the syscall: EPERM; a dead link) must be visible at the default
/// log level without a line per advert.
#[derive(Debug, Default)]
pub struct FailureLatch {
    failing: bool,
}

impl FailureLatch {
    /// Record a failure; true when it starts a run (log it loudly).
    pub fn fail(&mut self) -> bool {
        !std::mem::replace(&mut self.failing, true)
    }

    /// Record a success; true when it ends a run of failures.
    pub fn succeed(&mut self) -> bool {
        std::mem::replace(&mut self.failing, false)
    }
}

impl Group {
    pub fn new(cfg: GroupConfig) -> Group {
        Group {
            cfg,
            router: None,
            ifindex: None,
            source: None,
            link_up: false,
            vips_held: false,
            counters: Counters::default(),
            drop_log: DropLogLimiter::default(),
            since: SystemTime::now(),
            trackers: (false, 0),
            hooks: None,
            installed: Default::default(),
            vmac_ifindex: None,
            advert_failures: FailureLatch::default(),
            announce_failures: FailureLatch::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn state(&self) -> State {
        match &self.router {
            Some(r) => r.state(),
            None => State::Fault,
        }
    }

    /// The state machine, once the protocol runs.
    pub fn inst(&self) -> Option<&Instance> {
        self.router.as_ref().map(Router::instance)
    }

    /// Build the protocol pieces once the interface's source address is
    /// known. Errors name what could not be built.
    pub fn start_protocol(
        &mut self,
        ifindex: u32,
        source: IpAddr,
    ) -> Result<(), RouterConfigError> {
        let cfg = &self.cfg;
        let auth = proto_auth(cfg.auth.as_ref());
        let tracked: Vec<IpAddr> = cfg.virtual_ips.iter().map(|v| v.address).collect();
        let checksum = cfg.checksum;
        let instance = InstanceConfig {
            version: cfg.version,
            vrid: cfg.vrid,
            priority: cfg.priority,
            advert_interval_cs: cfg.advert_interval_cs,
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            start_as_master: cfg.start_state == StartState::Master,
            primary_address: source,
            routes: cfg.has_routes(),
        };
        let tx = TxConfig {
            version: cfg.version,
            family: cfg.family,
            vrid: cfg.vrid,
            interval_cs: cfg.advert_interval_cs,
            addresses: tracked,
            auth: auth.clone(),
            checksum,
            source,
            unicast_peers: cfg.unicast_peers.clone(),
        };
        let rx = RxPolicy {
            version: cfg.version,
            family: cfg.family,
            vrid: cfg.vrid,
            min_ttl: cfg.min_ttl,
            unicast_peers: cfg.unicast_peers.clone(),
            auth,
            // v2: compare the address list (a mismatch is counted and logged).
            expected_addresses: (cfg.version == crate::proto::Version::V2)
                .then(|| cfg.virtual_ips.iter().map(|v| v.address).collect()),
            v2_interval_cs: cfg.advert_interval_cs,
        };
        self.router = Some(Router::new(RouterConfig {
            instance,
            rx,
            tx,
            announce: announce_config(cfg),
        })?);
        self.ifindex = Some(ifindex);
        self.source = Some(source);
        Ok(())
    }

    /// Follow a new primary address of the interface (no `unicast_source`
    /// configured): adverts go out from it and the tie-break uses it.
    /// Whether anything changed.
    pub fn change_source(&mut self, source: IpAddr) -> bool {
        if self.source == Some(source) || self.cfg.unicast_source.is_some() {
            return false;
        }
        let Some(router) = self.router.as_mut() else {
            return false;
        };
        if router.set_source(source).is_err() {
            return false;
        }
        self.source = Some(source);
        true
    }

    /// Every VIP of the group, tracked then excluded.
    /// Is `src` (an advert source or unicast peer) one of our IPv4 VIPs on
    /// the group's interface, i.e. that peer is the address owner?
    pub fn names_vip_of_peer(&self, src: IpAddr) -> bool {
        src.is_ipv4()
            && self
                .all_vips()
                .any(|v| v.address == src && v.interface == self.cfg.interface)
    }

    pub fn all_vips(&self) -> impl Iterator<Item = &config::VirtualIp> {
        self.cfg
            .virtual_ips
            .iter()
            .chain(self.cfg.excluded_ips.iter())
    }

    /// Whether the receive path should look at packets of this family on
    /// this interface.
    pub fn listens(&self, ifindex: u32, family: Family, vrid: u8) -> bool {
        self.ifindex == Some(ifindex) && self.cfg.family == family && self.cfg.vrid == vrid
    }

    /// The earliest instant this group needs the loop's attention.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.router.as_ref().and_then(Router::poll_timeout)
    }
}

/// The protocol's view of the configured authentication.
pub fn proto_auth(cfg: Option<&config::AuthConfig>) -> auth::AuthConfig {
    match cfg {
        None => auth::AuthConfig::None,
        Some(config::AuthConfig::Pass { secret }) => auth::AuthConfig::Pass {
            password: auth::password_bytes(secret.expose()),
        },
        Some(config::AuthConfig::Ah { secret }) => auth::AuthConfig::Ah {
            key: auth::password_bytes(secret.expose()),
        },
        Some(config::AuthConfig::Hmac(h)) => auth::AuthConfig::Hmac(auth::HmacConfig {
            keys: h
                .keys
                .iter()
                .map(|(id, k)| (*id, k.expose().to_vec()))
                .collect(),
            active_key: h.active_key,
            anti_replay: h.anti_replay,
            time_window: h.time_window,
            mode: h.mode,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_log_limiter_admits_one_line_per_window_and_counts_the_rest() {
        let mut l = DropLogLimiter::default();
        let t0 = Duration::from_secs(100);
        assert_eq!(l.admit(t0, "checksum"), Some(0));
        for i in 1..=50 {
            assert_eq!(
                l.admit(t0 + Duration::from_millis(i * 10), "checksum"),
                None
            );
        }
        // Another reason has its own window.
        assert_eq!(l.admit(t0, "ttl"), Some(0));
        assert_eq!(
            l.admit(t0 + DropLogLimiter::WINDOW, "checksum"),
            Some(50),
            "the next line reports what was suppressed"
        );
    }
}
