//! `vrrpd run`: the tokio shell around the pure protocol core.
//!
//! One task owns every group. It sleeps until the earliest deadline any group
//! asks for (`poll_timeout`), a packet, a netlink event or a signal, feeds that
//! to the state machines and carries out the actions they return. Nothing
//! polls.

mod control;
mod hooks;
mod inputs;
mod lifecycle;
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

use crate::group;
pub use crate::group::{Group, GroupSlot, Groups};
pub use crate::host::view::load_config;
use crate::host::view::{load_config_with, recheck_with_kernel};
use crate::host::{Host, bfd, drained, vmac::advert_ifindex};
pub use crate::proto::endpoint::Counters;

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
    pub(super) fn now(&self) -> Time {
        self.epoch.elapsed()
    }

    pub(super) fn add_group(&mut self, cfg: config::GroupConfig) -> usize {
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

    // ---- the state machines' actions ------------------------------------

    /// Carry out every pending event of every group, including those of
    /// the sync group members they move (SPEC §4: members go together).
    pub(super) async fn drain(&mut self) {
        while let Some((gi, event)) = self.groups.poll_event(self.now()) {
            self.act(gi, event).await;
        }
        if std::mem::take(&mut self.groups.sync_unsettled) > 0 {
            error!("sync group inputs did not settle; gave up on that round");
        }
    }

    /// Carry out one event of the group's router (proto::router).
    pub(super) async fn act(&mut self, gi: usize, event: Event) {
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
    pub(super) async fn send_adverts(&mut self, gi: usize) {
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
}
