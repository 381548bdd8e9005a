//! `vrrpd run`: the tokio shell around the pure protocol core.
//!
//! One task owns every group. It sleeps until the earliest deadline any group
//! asks for (`poll_timeout`), a packet, a netlink event or a signal, feeds that
//! to the state machines and carries out the actions they return. Nothing
//! polls.

mod control;
mod group;
mod hooks;
mod status;

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use tokio::sync::mpsc;

use crate::config::{self, Config, ConfigErrors};
use crate::control::{ControlServer, MetricsServer, PendingHandover};
use crate::net::{NetEvent, NetEvents, Netlink, Received};
use crate::privileges;
use crate::proto::endpoint::{
    LogWhat, Received as Fate,
    reload::{self, GroupChange},
};
use crate::proto::instance::{Input, ReleaseReason, State};
use crate::proto::receive::RxPacket;
use crate::proto::router::Event;
use crate::proto::{Family, Time};
use crate::track::TrackEvent;

pub use crate::host::view::load_config;
use crate::host::view::{load_config_with, recheck_with_kernel};
use crate::host::{Host, bfd, drained, vmac::advert_ifindex};
pub use crate::proto::endpoint::Counters;
pub use group::{Group, GroupSlot, Groups};

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(ConfigErrors),
    #[error("{0}")]
    MissingCapability(#[from] privileges::MissingCapability),
    #[error("cannot drop capabilities: {0}")]
    DropCapabilities(#[from] privileges::CapError),
    #[error("tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("netlink: {0}")]
    Netlink(crate::net::NetError),
    #[error("netlink event stream closed")]
    NetlinkClosed,
    #[error("control socket {}: {source}", path.display())]
    ControlSocket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metrics_listen {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("vrrpd is stopping")]
    Stopping,
    #[error("{0}")]
    Rejected(ConfigErrors),
}

impl DaemonError {
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::Config(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// Options of `vrrpd run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub config: PathBuf,
    /// The configuration as the caller already loaded it without a view of
    /// the kernel (saves running the seed program once more).
    pub preloaded: Option<config::Loaded>,
}

/// Run the daemon until SIGTERM/SIGINT has released every group.
pub fn run(opts: RunOptions) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(async move {
        let local = tokio::task::LocalSet::new();
        local.run_until(run_async(opts)).await
    })
}

async fn run_async(opts: RunOptions) -> Result<(), DaemonError> {
    privileges::require_capabilities(privileges::DAEMON_CAPS)?;
    let nl = Netlink::new().map_err(DaemonError::Netlink)?;
    let loaded = match opts.preloaded {
        Some(first) => recheck_with_kernel(&opts.config, first, Some(&nl), &HashSet::new()).await,
        None => load_config(&opts.config, Some(&nl)).await,
    }
    .map_err(DaemonError::Config)?;
    for w in &loaded.warnings {
        warn!("{w}");
    }
    let events = NetEvents::new().map_err(DaemonError::Netlink)?;
    let socket = loaded.config.daemon.control_socket.clone();
    let ctl = ControlServer::bind(&socket).map_err(|source| DaemonError::ControlSocket {
        path: socket.clone(),
        source,
    })?;
    let _metrics = match loaded.config.daemon.metrics_listen {
        Some(addr) => Some(
            MetricsServer::bind(addr, ctl.sender())
                .map_err(|source| DaemonError::Metrics { addr, source })?,
        ),
        None => None,
    };
    // Everything that needs more than NET_ADMIN + NET_RAW is open now;
    // sockets opened later (late interfaces, reloads) need only those two.
    // Hooks and scripts start after this, so they never see more.
    privileges::drop_capabilities(&privileges::daemon_caps(&loaded.config))?;
    let (track_tx, track_rx) = mpsc::unbounded_channel();
    let mut d = Daemon {
        host: Host::new(nl),
        groups: Groups::new(),
        epoch: Instant::now(),
        config_path: opts.config.clone(),
        config: loaded.config.clone(),
        shutdown_deadline: None,
        receive_failures: group::FailureLatch::default(),
        handovers: Vec::new(),
        track_tx,
        bfd: bfd::Bfd::new(wall_clock().as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)),
        drained: drained::DrainMarks::load(&loaded.config.daemon.state_dir),
        last_reload: (true, SystemTime::now()),
    };
    d.groups.set_sync_groups(
        loaded
            .config
            .daemon
            .sync_groups
            .iter()
            .map(|s| s.members.clone()),
    );
    d.host.remove_stale_vmacs().await;
    d.host.refresh_links().await;
    d.host.remove_stale_vips(&loaded.config).await;
    d.host.remove_stale_routes().await;
    for g in loaded.config.groups.iter().cloned() {
        d.add_group(g);
    }
    for gi in 0..d.groups.len() {
        d.bring_up(gi).await;
    }
    info!(
        router_id = %d.config.daemon.router_id,
        groups = d.groups.len(),
        "vrrpd started"
    );
    crate::systemd::ready("groups started");
    d.event_loop(events, ctl, track_rx).await
}

struct Daemon {
    host: Host,
    groups: Groups,
    epoch: Instant,
    config_path: PathBuf,
    config: Config,
    shutdown_deadline: Option<Time>,
    /// Receive errors on the VRRP sockets (logged once per run of them).
    receive_failures: group::FailureLatch,
    /// `vrrpd handover` requests still waiting for their groups.
    handovers: Vec<PendingHandover>,
    /// Where track_script runners report.
    track_tx: mpsc::UnboundedSender<TrackEvent>,
    /// BFD sessions to unicast peers (SPEC §1 `[bfd]`).
    bfd: bfd::Bfd,
    /// `vrrpd drain` marks, persisted in `state_dir`.
    drained: drained::DrainMarks,
    /// Outcome and time of the last configuration load (SPEC §5).
    last_reload: (bool, SystemTime),
}

/// The next tick of an optional interval; never, without one.
async fn tick(i: &mut Option<tokio::time::Interval>) {
    match i {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Daemon {
    fn now(&self) -> Time {
        self.epoch.elapsed()
    }

    fn add_group(&mut self, cfg: config::GroupConfig) -> usize {
        let (name, family, vrid) = (cfg.name.clone(), cfg.family, cfg.vrid);
        let mut g = Group::new(cfg);
        g.hooks = Some(crate::track::hooks::GroupHooks::start(
            &g.cfg,
            &self.track_tx,
        ));
        self.groups.insert(&name, family, vrid, g)
    }

    async fn event_loop(
        &mut self,
        mut events: NetEvents,
        mut ctl: ControlServer,
        mut track_rx: mpsc::UnboundedReceiver<TrackEvent>,
    ) -> Result<(), DaemonError> {
        let sig = |k| signal(k).map_err(DaemonError::Signal);
        let mut sigterm = sig(SignalKind::terminate())?;
        let mut sigint = sig(SignalKind::interrupt())?;
        let mut sighup = sig(SignalKind::hangup())?;
        let mut buf4 = vec![0u8; crate::net::vrrp_socket::RECV_BUF_LEN];
        let mut buf4ah = vec![0u8; crate::net::vrrp_socket::RECV_BUF_LEN];
        let mut buf6 = vec![0u8; crate::net::vrrp_socket::RECV_BUF_LEN];
        let (mut bfd4, mut bfd6) = ([0u8; 512], [0u8; 512]);
        // SPEC §6: WATCHDOG=1 comes from this loop, so a loop that hangs
        // stops the pings and systemd restarts the daemon.
        let mut watchdog = crate::systemd::watchdog_interval().map(|every| {
            let mut i = tokio::time::interval(every);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        loop {
            if self.shutdown_deadline.is_some() && self.all_released() {
                break;
            }
            let deadline = self.next_deadline();
            let sleep_to = deadline
                .map(|t| self.epoch + t)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let v4 = self.host.io.v4.clone();
            let v4ah = self.host.io.v4ah.clone();
            let v6 = self.host.io.v6.clone();
            let bfd_rx = self.bfd.rx_sockets();
            tokio::select! {
                _ = tokio::time::sleep_until(sleep_to) => self.on_timers().await,
                r = crate::host::io::recv_v4(v4.as_deref(), &mut buf4) => {
                    self.on_received(r).await;
                    self.drain_burst(|b| v4.as_deref().map(|s| s.try_recv(b)), &mut buf4).await;
                }
                r = crate::host::io::recv_v4(v4ah.as_deref(), &mut buf4ah) => {
                    self.on_received(r).await;
                    self.drain_burst(|b| v4ah.as_deref().map(|s| s.try_recv(b)), &mut buf4ah).await;
                }
                r = crate::host::io::recv_v6(v6.as_deref(), &mut buf6) => {
                    self.on_received(r).await;
                    self.drain_burst(|b| v6.as_deref().map(|s| s.try_recv(b)), &mut buf6).await;
                }
                (r, v6) = bfd::recv(bfd_rx.clone(), &mut bfd4, &mut bfd6) => {
                    let buf = if v6 { &mut bfd6[..] } else { &mut bfd4[..] };
                    self.on_bfd_datagram(r, buf).await;
                    // A flood of forged packets must not delay the real
                    // ones behind a wake-up each: take a bounded burst.
                    let sock = if v6 { &bfd_rx.1 } else { &bfd_rx.0 };
                    if let Some(sock) = sock {
                        for _ in 0..64 {
                            let Ok(r) = sock.try_recv(buf) else { break };
                            self.on_bfd_datagram(r, buf).await;
                        }
                    }
                }
                ev = events.next() => match ev {
                    Some(ev) => self.on_net_event(ev).await,
                    None => {
                        // Leave nothing behind on this exit path either.
                        self.final_cleanup().await;
                        self.host.io.restore_sysctls();
                        return Err(DaemonError::NetlinkClosed);
                    }
                },
                _ = sigterm.recv() => self.on_stop_signal("SIGTERM").await,
                _ = sigint.recv() => self.on_stop_signal("SIGINT").await,
                _ = sighup.recv() => {
                    let _ = self.reload().await;
                }
                Some((req, reply)) = ctl.next() => self.on_control(req, reply).await,
                Some(ev) = track_rx.recv() => self.on_track_event(ev).await,
                _ = tick(&mut watchdog) => crate::systemd::watchdog(),
            }
            self.poll_handovers();
        }
        self.final_cleanup().await;
        self.host.io.restore_sysctls();
        self.run_stop_hooks().await;
        info!("vrrpd stopped");
        Ok(())
    }

    /// After one packet woke the loop, take what else is already queued on
    /// that socket (many groups' adverts fall due together) before going
    /// back to `select!`: the per-wake-up work (deadline of every group,
    /// timer re-arm) is paid once per burst, not once per packet. Bounded so
    /// timers and signals are never starved.
    async fn drain_burst<F>(&mut self, mut try_recv: F, buf: &mut [u8])
    where
        F: FnMut(&mut [u8]) -> Option<std::io::Result<Received<'_>>>,
    {
        const BURST: usize = 64;
        for _ in 0..BURST {
            match try_recv(buf) {
                Some(Ok(r)) => self.on_received(Ok(r)).await,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Some(Err(e)) => {
                    self.on_received(Err(e)).await;
                    return;
                }
                None => return,
            }
        }
    }

    fn next_deadline(&self) -> Option<Time> {
        let mut t = self.groups.poll_timeout();
        if let Some(b) = self.bfd.sessions.poll_timeout() {
            t = Some(t.map_or(b, |t| t.min(b)));
        }
        if let Some(s) = self.shutdown_deadline {
            t = Some(t.map_or(s, |t| t.min(s)));
        }
        for h in &self.handovers {
            let d = h.deadline().saturating_duration_since(self.epoch);
            t = Some(t.map_or(d, |t| t.min(d)));
        }
        t
    }

    fn all_released(&self) -> bool {
        self.groups.all_finished()
    }

    // ---- start-up ---------------------------------------------------------

    /// Start the protocol for a group whose interface is (now) usable.
    async fn bring_up(&mut self, gi: usize) {
        if self.groups[gi].router.is_some() {
            return;
        }
        if self.scripts_pending(gi) {
            info!(group = %self.groups[gi].name(), "waiting for the first result of a weight-0 track_script");
            return;
        }
        let name = self.groups[gi].cfg.interface.clone();
        let Some(&(ifindex, up)) = self.host.links.get(&name) else {
            if self.groups[gi].ifindex.is_none() {
                warn!(group = %self.groups[gi].name(), interface = %name, "interface missing; group waits in fault");
            }
            return;
        };
        let source = match self.host.source_address(&self.groups[gi], ifindex).await {
            Some(s) => s,
            None => {
                warn!(group = %self.groups[gi].name(), interface = %name, "interface has no usable source address yet; group waits in fault");
                return;
            }
        };
        if !self.host.vmac_setup(&mut self.groups[gi], ifindex).await {
            return;
        }
        let rc = group::router_config(&self.groups[gi].cfg, source);
        if let Err(e) = self.groups.start(gi, ifindex, rc) {
            error!(group = %self.groups[gi].name(), "cannot start: {e}");
            return;
        }
        let g = &mut self.groups[gi];
        g.link_up = up;
        if g.cfg.priority < 255
            && let Some(peer) = g
                .cfg
                .unicast_peers
                .iter()
                .copied()
                .find(|p| g.names_vip_of_peer(*p))
        {
            // The owner's adverts come from our VIP: see ensure_accept_local.
            if let Err(e) = self.host.io.ensure_accept_local(&name) {
                warn!(group = %self.groups[gi].name(), %peer, interface = %name, "cannot set accept_local: {e}");
            }
        }
        if let Err(e) = self.host.io.ensure_sockets(&self.groups[gi]) {
            error!(group = %self.groups[gi].name(), "cannot open VRRP socket: {e}");
            self.groups.stop(gi);
            return;
        }
        let now = self.now();
        let trackers = self.tracker_verdict(gi);
        if !up {
            self.groups.handle(now, gi, Input::LinkDown);
        }
        if trackers != (false, 0) {
            let (fault, priority_delta) = trackers;
            let input = Input::Trackers {
                fault,
                priority_delta,
            };
            self.groups.handle(now, gi, input);
        }
        self.groups[gi].trackers = trackers;
        if self.drained.contains(self.groups[gi].name()) {
            info!(group = %self.groups[gi].name(), "drained (vrrpd resume ends it): staying backup");
            self.groups.handle(now, gi, Input::Drain(true));
        }
        self.groups.handle(now, gi, Input::Startup);
        let g = &self.groups[gi];
        info!(group = %g.name(), vrid = g.cfg.vrid, interface = %name, source = %source, "group started");
        self.drain().await;
        self.bfd_sync();
    }

    // ---- BFD ----------------------------------------------------------------

    fn bfd_sync(&mut self) {
        let now = self.now();
        self.bfd.sync(now, &self.groups);
        self.bfd.flush(now);
    }

    /// Carry out what the sessions decided: packets out, and a failed
    /// peer's groups told (the instance decides whether to take over).
    async fn bfd_settle(&mut self) {
        let now = self.now();
        self.bfd.flush(now);
        for (gi, input) in self.bfd.events(&self.groups) {
            self.groups.handle(now, gi, input);
        }
        self.drain().await;
    }

    async fn bfd_drain_queued(&mut self) {
        let (rx4, rx6) = self.bfd.rx_sockets();
        let mut buf = [0u8; 512];
        for sock in [rx4, rx6].into_iter().flatten() {
            for _ in 0..256 {
                let Ok(r) = sock.try_recv(&mut buf) else {
                    break;
                };
                self.on_bfd_datagram(r, &buf).await;
            }
        }
    }

    async fn on_bfd_datagram(&mut self, r: crate::net::bfd_socket::BfdReceived, buf: &[u8]) {
        let now = self.now();
        let bytes = &buf[..r.len.min(buf.len())];
        if let Err(e) = self
            .bfd
            .sessions
            .handle_datagram(now, r.ifindex, r.src, r.ttl, bytes)
        {
            self.bfd.log_drop(now, r.src, &e);
        }
        self.bfd_settle().await;
    }

    // ---- the state machines' actions ------------------------------------

    /// Carry out every pending event of every group, including those of
    /// the sync group members they move (SPEC §4: members go together).
    async fn drain(&mut self) {
        while let Some((gi, event)) = self.groups.poll_event(self.now()) {
            self.act(gi, event).await;
        }
        if std::mem::take(&mut self.groups.sync_unsettled) > 0 {
            error!("sync group inputs did not settle; gave up on that round");
        }
    }

    /// Carry out one event of the group's router (proto::router).
    async fn act(&mut self, gi: usize, event: Event) {
        match event {
            Event::Transmit => self.send_adverts(gi).await,
            Event::AddVips => self.host.add_vips(&mut self.groups[gi]).await,
            Event::RemoveVips => self.host.remove_vips(&mut self.groups[gi]).await,
            Event::AddRoutes | Event::UpdateRoutes => {
                self.host.sync_routes(&mut self.groups[gi]).await
            }
            Event::RemoveRoutes => self.host.remove_routes(&mut self.groups[gi]).await,
            Event::Announce => {
                if self.groups[gi].vips_held {
                    self.host.announce_once(&mut self.groups[gi]).await;
                }
            }
            Event::LowerPriorityMasterHeard => {
                info!(group = %self.groups[gi].name(), "another master with a lower priority was heard: advertising and re-announcing the VIPs");
            }
            Event::StateChanged {
                from,
                to,
                reason,
                priority,
            } => {
                let g = &mut self.groups[gi];
                info!(
                    group = %g.name(),
                    vrid = g.cfg.vrid,
                    from = %from,
                    to = %to,
                    reason = %reason,
                    priority,
                    "state change {from} -> {to}"
                );
                g.since = SystemTime::now();
                self.hooks_state_changed(gi, to, priority);
            }
            Event::PriorityChanged { from, to } => {
                info!(group = %self.groups[gi].name(), from, to, "effective priority changed");
                self.hooks_priority_changed(gi, to);
            }
            Event::Released => {
                info!(group = %self.groups[gi].name(), "released");
            }
            Event::HandoverComplete => {
                info!(group = %self.groups[gi].name(), "handover complete: peer is master");
                self.handover_outcome(gi, true);
            }
            Event::HandoverFailed => {
                warn!(group = %self.groups[gi].name(), "handover failed: no peer took over; still master");
                self.handover_outcome(gi, false);
            }
        }
    }

    /// Send every copy of the advert the router has ready.
    async fn send_adverts(&mut self, gi: usize) {
        let wall = wall_clock();
        let Some(ifindex) = advert_ifindex(&self.groups[gi]) else {
            return;
        };
        while let Some(t) = self.groups.poll_transmit(gi, wall, &mut self.host.io.txbuf) {
            let t = match t {
                Ok(t) => t,
                Err(e) => {
                    error!(group = %self.groups[gi].name(), "cannot encode advert: {e}");
                    return;
                }
            };
            let g = &mut self.groups[gi];
            match self
                .host
                .io
                .send(ifindex, t.source, t.dst, &g.shell.cfg)
                .await
            {
                Ok(()) => {
                    g.counters.adverts_sent += 1;
                    g.counters.priority_zero_sent += u64::from(t.priority == 0);
                    if g.advert_failures.succeed() {
                        info!(group = %g.cfg.name, dst = %t.dst, "adverts are sent again");
                    }
                }
                Err(e) if g.advert_failures.fail() => warn!(
                    group = %g.cfg.name, dst = %t.dst,
                    "cannot send advert (sendmsg on the raw VRRP socket): {e}; \
                     logged once until a send succeeds"
                ),
                Err(e) => debug!(group = %g.cfg.name, dst = %t.dst, "advert not sent: {e}"),
            }
        }
    }

    // ---- inputs -------------------------------------------------------------

    async fn on_timers(&mut self) {
        let now = self.now();
        if self.bfd.sessions.poll_timeout().is_some_and(|t| t <= now) {
            // Packets that arrived while this process was not scheduled are
            // evidence the peer lives: read them before any detection time
            // is judged, so a stall here is not taken for the peer's death.
            self.bfd_drain_queued().await;
            self.bfd.sessions.handle_timeout(now);
            self.bfd_settle().await;
        }
        if self.shutdown_deadline.is_some_and(|d| now >= d) {
            warn!("shutdown release timed out; removing VIPs now");
            for gi in 0..self.groups.len() {
                self.groups.stop(gi);
            }
            return;
        }
        self.groups.handle_timeout(now);
        self.drain().await;
    }

    async fn on_received(&mut self, r: std::io::Result<Received<'_>>) {
        let r = match r {
            Ok(r) => {
                if self.receive_failures.succeed() {
                    info!("adverts are received again");
                }
                r
            }
            Err(e) => {
                if self.receive_failures.fail() {
                    warn!(
                        "cannot receive adverts (recvmsg on a raw VRRP socket): {e}; \
                         logged once until a receive succeeds"
                    );
                } else {
                    debug!("receive error: {e}");
                }
                // A socket that stays readable but always fails (EPERM
                // from a seccomp profile) must not turn this loop into a
                // busy spin: timers, signals and the control socket still
                // get their turn.
                tokio::time::sleep(Duration::from_millis(10)).await;
                return;
            }
        };
        let mut r = r;
        match self.vmac_base(r.ifindex) {
            // The copy of a multicast advert a master's macvlan also gets.
            Some(_) if r.dst.is_multicast() => return,
            // A peer whose neighbour entry for us is the virtual MAC.
            Some(base) => r.ifindex = base,
            None => {}
        }
        let now = self.now();
        let pkt = RxPacket {
            src: r.src,
            dst: r.dst,
            ttl: r.ttl_or_hop_limit,
            protocol: r.protocol,
            ipv4_header: r.ipv4_header,
            payload: r.payload,
        };
        let fate = self
            .groups
            .handle_datagram(now, wall_clock(), r.ifindex, &pkt);
        self.log_received();
        if let Fate::Accepted { group: gi, advert } = fate {
            let g = &self.groups[gi];
            if g.cfg.priority < 255 && g.names_vip_of_peer(advert.src) {
                let ifname = g.cfg.interface.clone();
                match self.host.io.ensure_accept_local(&ifname) {
                    Ok(true) => {
                        info!(group = %self.groups[gi].name(), peer = %advert.src, interface = %ifname, "a VIP is the advert source of its owner: accept_local=1 so its adverts are heard while we hold it")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        warn!(group = %self.groups[gi].name(), interface = %ifname, "cannot set accept_local: {e}")
                    }
                }
            }
            self.drain().await;
        }
    }

    /// The log lines the endpoint asked for about received packets (SPEC
    /// §1: drops counted per reason, logged rate-limited).
    fn log_received(&mut self) {
        while let Some(l) = self.groups.poll_log() {
            let (group, src, suppressed) = (self.groups[l.group].name(), l.src, l.suppressed);
            match l.what {
                LogWhat::Dropped(reason) => {
                    warn!(group, %src, reason = reason.label(), suppressed, "dropped advert: {reason}")
                }
                // keepalived accepts these too; say so, rate-limited.
                LogWhat::AddressListMismatch => {
                    warn!(group, %src, suppressed, "accepted a VRRPv2 advert whose address list differs from ours (as keepalived does); check both nodes' virtual_ips")
                }
            }
        }
    }

    async fn on_net_event(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::LinkChanged { ifindex, name, up } => {
                // Any link change may be a new MAC: GARPs must carry it.
                self.host.io.forget_mac(ifindex);
                let before = self.host.links.insert(name.clone(), (ifindex, up));
                if before == Some((ifindex, up)) {
                    return;
                }
                self.link_changed(&name, ifindex, up).await;
            }
            NetEvent::LinkRemoved { ifindex, name } => {
                self.host.links.remove(&name);
                self.host.io.forget_interface(ifindex);
                self.vmac_removed(ifindex).await;
                self.link_changed(&name, ifindex, false).await;
                // The interface is gone: the group starts afresh when it
                // comes back (with a new index).
                for gi in 0..self.groups.len() {
                    if self.groups[gi].ifindex == Some(ifindex) {
                        // Rules outlive the interface: take ours back.
                        self.host.remove_routes(&mut self.groups[gi]).await;
                        self.groups[gi].vips_held = false;
                        self.groups.stop(gi);
                        self.groups[gi].ifindex = None;
                    }
                }
            }
            NetEvent::AddressAdded { ifindex, addr, .. } => {
                for gi in 0..self.groups.len() {
                    let g = &self.groups[gi];
                    if g.router.is_none()
                        && self.host.links.get(&g.cfg.interface).map(|l| l.0) == Some(ifindex)
                    {
                        self.bring_up(gi).await;
                    }
                }
                self.follow_primary(ifindex, Family::of(&addr)).await;
            }
            NetEvent::AddressRemoved { ifindex, addr } => {
                self.address_removed(ifindex, addr).await;
                self.follow_primary(ifindex, Family::of(&addr)).await;
            }
            NetEvent::Overrun => {
                warn!("netlink event overrun; re-reading interfaces");
                let before = self.host.links.clone();
                self.host.refresh_links().await;
                let now: Vec<(String, (u32, bool))> = self
                    .host
                    .links
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                for (name, (ifindex, up)) in now {
                    if before.get(&name) != Some(&(ifindex, up)) {
                        self.link_changed(&name, ifindex, up).await;
                    }
                }
                for gi in 0..self.groups.len() {
                    if self.groups[gi].vips_held {
                        self.readd_missing_vips(gi).await;
                    }
                }
            }
        }
    }

    async fn link_changed(&mut self, name: &str, ifindex: u32, up: bool) {
        let now = self.now();
        for gi in 0..self.groups.len() {
            let on_it = self.groups[gi].cfg.interface == name;
            if on_it {
                if self.groups[gi].router.is_none() {
                    if up {
                        self.bring_up(gi).await;
                    }
                } else if self.groups[gi].ifindex == Some(ifindex) && self.groups[gi].link_up != up
                {
                    let g = &mut self.groups[gi];
                    g.link_up = up;
                    info!(group = %g.name(), interface = %name, up, "link state changed");
                    let input = if up { Input::LinkUp } else { Input::LinkDown };
                    self.groups.handle(now, gi, input);
                    self.drain().await;
                }
            }
            if self.groups[gi]
                .cfg
                .track_interfaces
                .iter()
                .any(|t| t.name == name)
            {
                self.apply_trackers(gi).await;
            }
        }
    }

    /// SPEC §4: a VIP removed behind our back while master is put back.
    async fn address_removed(&mut self, ifindex: u32, addr: IpAddr) {
        for gi in 0..self.groups.len() {
            if !self.groups[gi].vips_held {
                continue;
            }
            let hit = self.groups[gi].all_vips().any(|v| {
                v.address == addr && self.host.vip_ifindex(&self.groups[gi], v) == Some(ifindex)
            });
            if hit {
                warn!(group = %self.groups[gi].name(), vip = %addr, "VIP removed behind our back while master; re-adding");
                self.readd_missing_vips(gi).await;
            }
        }
    }

    /// An address of `family` came or went on `ifindex`: running groups
    /// there without `unicast_source` follow the interface's (new) primary
    /// address. With no usable address left they keep the old one.
    async fn follow_primary(&mut self, ifindex: u32, family: Family) {
        for gi in 0..self.groups.len() {
            let g = &self.groups[gi];
            if g.router.is_none()
                || g.ifindex != Some(ifindex)
                || g.cfg.family != family
                || g.cfg.unicast_source.is_some()
            {
                continue;
            }
            let Some(source) = self.host.source_address(&self.groups[gi], ifindex).await else {
                continue;
            };
            let g = &mut self.groups[gi];
            let old = g.source();
            if old == Some(source) {
                continue;
            }
            if let Some(Ok(())) = g.router.as_mut().map(|r| r.set_source(source)) {
                info!(group = %g.name(), old = ?old, new = %source, "interface primary address changed; advertising from the new one");
            }
        }
    }

    async fn readd_missing_vips(&mut self, gi: usize) {
        self.host.add_vips(&mut self.groups[gi]).await;
        let now = self.now();
        self.groups.reannounce(now, gi);
        self.drain().await;
    }

    // ---- signals ------------------------------------------------------------

    async fn on_stop_signal(&mut self, which: &str) {
        let now = self.now();
        if self.shutdown_deadline.is_some() {
            warn!("{which} again: stopping at once");
            for gi in 0..self.groups.len() {
                self.groups.stop(gi);
            }
            return;
        }
        info!("{which}: releasing every group (make-before-break)");
        crate::systemd::stopping();
        let longest = self
            .groups
            .iter()
            .filter_map(|g| g.inst().map(|i| i.master_down_interval()))
            .max()
            .unwrap_or_default();
        self.shutdown_deadline = Some(now + longest + Duration::from_secs(1));
        for gi in 0..self.groups.len() {
            self.groups
                .handle(now, gi, Input::Release(ReleaseReason::Shutdown));
        }
        self.drain().await;
    }

    async fn final_cleanup(&mut self) {
        // Tell BFD peers this is on purpose (RFC 5880 §6.8.16), so none
        // takes our going for a failure.
        let now = self.now();
        self.bfd.sessions.admin_down_all(now);
        self.bfd.flush(now);
        for gi in 0..self.groups.len() {
            if !self.groups[gi].installed.is_empty() {
                self.host.remove_routes(&mut self.groups[gi]).await;
            }
            if self.groups[gi].vips_held {
                self.host.remove_vips(&mut self.groups[gi]).await;
            }
        }
        self.vmac_teardown_all().await;
    }

    /// SIGHUP / `vrrpd reload`: re-read the configuration. Unchanged groups
    /// keep running untouched (a handover's "do not preempt back" hold is
    /// lifted, SPEC §4); a bad configuration is logged and the old one kept.
    async fn reload(&mut self) -> Result<(), ReloadError> {
        if self.shutdown_deadline.is_some() {
            return Err(ReloadError::Stopping);
        }
        info!(config = %self.config_path.display(), "reloading configuration");
        crate::systemd::reloading();
        let result = self.reload_config().await;
        self.last_reload = (result.is_ok(), SystemTime::now());
        crate::systemd::ready(match result {
            Ok(()) => "configuration reloaded",
            Err(_) => "reload rejected; the previous configuration runs",
        });
        result
    }

    async fn reload_config(&mut self) -> Result<(), ReloadError> {
        let loaded = match load_config_with(
            &self.config_path,
            Some(&self.host.io.nl),
            &self.host.io.added,
        )
        .await
        {
            Ok(l) => l,
            Err(errs) => {
                for e in &errs.errors {
                    error!("reload rejected, keeping the running configuration: {e}");
                }
                return Err(ReloadError::Rejected(errs));
            }
        };
        for w in &loaded.warnings {
            warn!("{w}");
        }
        let new = loaded.config;
        let now = self.now();
        for (name, change) in reload::plan(&self.config.groups, &new.groups) {
            let found = self.groups.find(&name);
            match (change, found) {
                (GroupChange::Keep, Some(gi)) => {
                    self.groups.handle(now, gi, Input::ResumePreempt);
                }
                (GroupChange::RoutesOnly, Some(gi)) => {
                    // Only the routes or rules changed: mastership stays; the
                    // core says whether the new set goes on the host now.
                    info!(group = %name, "reload changed only virtual routes or rules; the group keeps its state");
                    let Some(n) = new.group(&name) else { continue };
                    self.groups[gi].cfg = n.clone();
                    let present = n.has_routes();
                    self.groups
                        .handle(now, gi, Input::RoutesChanged { present });
                    self.groups.handle(now, gi, Input::ResumePreempt);
                }
                (GroupChange::Stop, Some(gi)) => {
                    info!(group = %name, "group removed or changed by reload; stopping it");
                    self.stop_group(gi).await;
                }
                (GroupChange::Start, None) => {
                    let Some(n) = new.group(&name) else { continue };
                    let gi = self.add_group(n.clone());
                    self.bring_up(gi).await;
                }
                (change, found) => {
                    error!(group = %name, ?change, running = found.is_some(), "reload plan does not match the running groups; skipped");
                }
            }
            self.drain().await;
        }
        if new.daemon.sync_groups != self.config.daemon.sync_groups {
            self.groups
                .set_sync_groups(new.daemon.sync_groups.iter().map(|s| s.members.clone()));
        }
        self.config = new;
        self.bfd_sync();
        info!("configuration reloaded");
        Ok(())
    }

    /// A group a reload removed or changed leaves at once: one priority-0
    /// advert if master (RFC 5798 §6.4.3), then its VIPs, routes and virtual
    /// MAC go and its hooks are retired.
    async fn stop_group(&mut self, gi: usize) {
        if self.groups[gi].state() == State::Master
            && let Some(router) = self.groups[gi].router.as_mut()
        {
            router.queue_priority_zero();
            // Only the advert: the group and its state machine go.
            while let Some(ev) = self.groups[gi].router.as_mut().and_then(|r| r.poll_event()) {
                if ev == Event::Transmit {
                    self.send_adverts(gi).await;
                }
            }
        }
        if !self.groups[gi].installed.is_empty() {
            self.host.remove_routes(&mut self.groups[gi]).await;
        }
        if self.groups[gi].vips_held {
            self.host.remove_vips(&mut self.groups[gi]).await;
        }
        self.vmac_teardown(gi).await;
        let g = self.groups.remove(gi);
        let prio = g.inst().map_or(g.cfg.priority, |i| i.effective_priority());
        if let Some(h) = g.shell.hooks {
            crate::track::hooks::retire(h, prio, g.shell.cfg.vrid);
        }
    }

    // ---- virtual MAC interfaces (SPEC §2.4) ---------------------------------

    /// The base interface of `ifindex` when it is one of our macvlans.
    /// Adverts are heard on the base interface (as keepalived does).
    fn vmac_base(&self, ifindex: u32) -> Option<u32> {
        self.groups
            .iter()
            .find(|g| g.vmac_ifindex == Some(ifindex))
            .and_then(|g| g.ifindex)
    }

    async fn vmac_teardown(&mut self, gi: usize) {
        let base = &self.groups[gi].cfg.interface;
        let shared = self
            .groups
            .iter()
            .enumerate()
            .any(|(j, g)| j != gi && g.vmac_ifindex.is_some() && &g.cfg.interface == base);
        self.host.vmac_teardown(&mut self.groups[gi], shared).await;
    }

    async fn vmac_teardown_all(&mut self) {
        for gi in 0..self.groups.len() {
            self.vmac_teardown(gi).await;
        }
    }

    /// A macvlan of ours vanished (deleted by hand, or with its base): the
    /// group starts afresh, which creates it again if the base is there.
    async fn vmac_removed(&mut self, ifindex: u32) {
        for gi in 0..self.groups.len() {
            if self.groups[gi].vmac_ifindex != Some(ifindex) {
                continue;
            }
            warn!(group = %self.groups[gi].name(), "virtual MAC interface removed behind our back; restarting the group");
            let g = &mut self.groups[gi];
            g.vmac_ifindex = None;
            g.vips_held = false;
            g.router = None;
            g.ifindex = None;
            self.bring_up(gi).await;
        }
    }
}
