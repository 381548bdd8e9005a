//! One configured VRRP group at run time: its state machine, its receive
//! validator and transmit encoder, and what the shell knows about its
//! interface.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::config::{self, ChecksumMode, GroupConfig, StartState};
use crate::proto::announce::{AnnounceConfig, AnnounceSchedule};
use crate::proto::auth::{self, AntiReplay, HmacMode};
use crate::proto::instance::{Instance, InstanceConfig, State};
use crate::proto::packet::ChecksumForm;
use crate::proto::receive::{RxPolicy, RxValidator};
use crate::proto::transmit::{TxConfig, TxEncoder};
use crate::proto::{Family, Time};

/// Per-group counters (status and metrics read these).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub transitions: BTreeMap<String, u64>,
    pub master_changes: u64,
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
    pub inst: Option<Instance>,
    pub rx: Option<RxValidator>,
    pub tx: Option<TxEncoder>,
    pub ifindex: Option<u32>,
    pub source: Option<IpAddr>,
    pub link_up: bool,
    /// Whether the VIPs are on the host by our doing.
    pub vips_held: bool,
    /// Gratuitous ARP / NA timers (garp_repeat, garp_master_delay, refresh).
    pub announce: AnnounceSchedule,
    pub counters: Counters,
    pub drop_log: DropLogLimiter,
    pub since: SystemTime,
    /// Last trackers verdict fed to the instance.
    pub trackers: (bool, i32),
    pub ip_id: u16,
    /// Track scripts and notify hooks (started by the daemon).
    pub hooks: Option<super::hooks::GroupHooks>,
    /// Virtual routes and rules on the host by our doing (SPEC §2.2).
    pub installed: super::routes::InstalledRoutes,
}

impl Group {
    pub fn new(cfg: GroupConfig) -> Group {
        let announce = AnnounceSchedule::new(announce_config(&cfg));
        Group {
            cfg,
            inst: None,
            rx: None,
            tx: None,
            ifindex: None,
            source: None,
            link_up: false,
            vips_held: false,
            announce,
            counters: Counters::default(),
            drop_log: DropLogLimiter::default(),
            since: SystemTime::now(),
            trackers: (false, 0),
            ip_id: 0,
            hooks: None,
            installed: Default::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn state(&self) -> State {
        match &self.inst {
            Some(i) => i.state(),
            None => State::Fault,
        }
    }

    /// Build the protocol pieces once the interface's source address is
    /// known. Errors name what could not be built.
    pub fn start_protocol(&mut self, ifindex: u32, source: IpAddr) -> Result<(), String> {
        let cfg = &self.cfg;
        let auth = proto_auth(cfg.auth.as_ref());
        let tracked: Vec<IpAddr> = cfg.virtual_ips.iter().map(|v| v.address).collect();
        let checksum = match cfg.checksum {
            ChecksumMode::PseudoHeader => ChecksumForm::PseudoHeader,
            ChecksumMode::Message => ChecksumForm::Message,
        };
        let inst = Instance::new(InstanceConfig {
            version: cfg.version,
            vrid: cfg.vrid,
            priority: cfg.priority,
            advert_interval_cs: cfg.advert_interval_cs,
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            start_as_master: cfg.start_state == StartState::Master,
            primary_address: source,
            routes: cfg.has_routes(),
        })
        .map_err(|e| format!("state machine: {e}"))?;
        let tx = TxEncoder::new(TxConfig {
            version: cfg.version,
            family: cfg.family,
            vrid: cfg.vrid,
            interval_cs: cfg.advert_interval_cs,
            addresses: tracked,
            auth: auth.clone(),
            checksum,
            source,
            unicast_peers: cfg.unicast_peers.clone(),
        })
        .map_err(|e| format!("advert encoder: {e}"))?;
        let rx = RxValidator::new(RxPolicy {
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
        });
        self.inst = Some(inst);
        self.tx = Some(tx);
        self.rx = Some(rx);
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
        let (Some(inst), Some(tx)) = (self.inst.as_mut(), self.tx.as_mut()) else {
            return false;
        };
        if tx.set_source(source).is_err() {
            return false;
        }
        inst.set_primary_address(source);
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

    pub fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// The earliest instant this group needs the loop's attention.
    pub fn poll_timeout(&self) -> Option<Time> {
        let t = self.inst.as_ref().and_then(|i| i.poll_timeout());
        match (t, self.announce.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
            anti_replay: match h.anti_replay {
                config::AntiReplay::Time => AntiReplay::Time,
                config::AntiReplay::Monotonic => AntiReplay::Monotonic,
            },
            time_window: h.time_window,
            mode: match h.mode {
                config::HmacMode::Enforce => HmacMode::Enforce,
                config::HmacMode::Permissive => HmacMode::Permissive,
                config::HmacMode::ReceiveOnly => HmacMode::ReceiveOnly,
            },
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
