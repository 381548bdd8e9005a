//! What the shell keeps of one configured VRRP group beside its protocol
//! core (the endpoint's slot holds the [`Router`]): its configuration, what
//! it put on the host, its hooks.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::config::{self, GroupConfig, StartState};
use crate::proto::announce::AnnounceConfig;
use crate::proto::auth;
use crate::proto::endpoint::{Endpoint, Slot};
use crate::proto::instance::InstanceConfig;
use crate::proto::receive::RxPolicy;
use crate::proto::router::RouterConfig;
use crate::proto::routes::{VirtualRoute, VirtualRule};
use crate::proto::transmit::TxConfig;

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
    pub link_up: bool,
    /// Whether the VIPs are on the host by our doing.
    pub vips_held: bool,
    pub since: SystemTime,
    /// Last trackers verdict fed to the instance.
    pub trackers: (bool, i32),
    /// Track scripts and notify hooks (started by the daemon).
    pub hooks: Option<crate::track::hooks::GroupHooks>,
    /// Virtual routes and rules on the host by our doing (SPEC §2.2).
    pub installed: InstalledRoutes,
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
            link_up: false,
            vips_held: false,
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

    /// Is `src` (an advert source or unicast peer) one of our IPv4 VIPs on
    /// the group's interface, i.e. that peer is the address owner?
    pub fn names_vip_of_peer(&self, src: IpAddr) -> bool {
        src.is_ipv4()
            && self
                .all_vips()
                .any(|v| v.address == src && v.interface == self.cfg.interface)
    }

    /// Every VIP of the group, tracked then excluded.
    pub fn all_vips(&self) -> impl Iterator<Item = &config::VirtualIp> {
        self.cfg
            .virtual_ips
            .iter()
            .chain(self.cfg.excluded_ips.iter())
    }
}

/// What vrrpd put on the host for one group.
#[derive(Clone, Debug, Default)]
pub struct InstalledRoutes {
    pub routes: Vec<VirtualRoute>,
    pub rules: Vec<VirtualRule>,
}

impl InstalledRoutes {
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }
}

/// Every group of the daemon: the endpoint's slots carry a [`Group`] each.
pub type Groups = Endpoint<Group>;
pub type GroupSlot = Slot<Group>;

/// The group's protocol configuration once its source address is known.
pub fn router_config(cfg: &GroupConfig, source: IpAddr) -> RouterConfig {
    let auth = proto_auth(cfg.auth.as_ref());
    let tracked: Vec<IpAddr> = cfg.virtual_ips.iter().map(|v| v.address).collect();
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
        checksum: cfg.checksum,
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
    RouterConfig {
        instance,
        rx,
        tx,
        announce: announce_config(cfg),
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
