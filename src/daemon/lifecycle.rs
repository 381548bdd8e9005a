//! A group's life in the daemon: started once its interface can carry it,
//! stopped by a reload, released on SIGTERM (make-before-break), and what
//! is left on the host removed on the way out.

use super::*;

impl Daemon {
    // ---- start-up ---------------------------------------------------------

    /// Start the protocol for a group whose interface is (now) usable.
    pub(super) async fn bring_up(&mut self, gi: usize) {
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
        g.bfd = g.shell.cfg.bfd.map(|b| crate::proto::bfd::SessionConfig {
            desired_min_tx: b.min_tx,
            required_min_rx: b.min_rx,
            detect_mult: b.multiplier,
        });
        g.link_up = up;
        let owner = g
            .cfg
            .unicast_peers
            .iter()
            .copied()
            .find(|p| g.names_vip_of_peer(*p));
        if let Some(peer) = owner {
            self.host.hear_owner(&self.groups[gi], peer);
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

    // ---- signals ------------------------------------------------------------

    pub(super) async fn on_stop_signal(&mut self, which: &str) {
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

    pub(super) async fn final_cleanup(&mut self) {
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
    pub(super) async fn reload(&mut self) -> Result<(), ReloadError> {
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

    pub(super) async fn reload_config(&mut self) -> Result<(), ReloadError> {
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
    pub(super) async fn stop_group(&mut self, gi: usize) {
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
    pub(super) fn vmac_base(&self, ifindex: u32) -> Option<u32> {
        self.groups
            .iter()
            .find(|g| g.vmac_ifindex == Some(ifindex))
            .and_then(|g| g.ifindex)
    }

    pub(super) async fn vmac_teardown(&mut self, gi: usize) {
        let base = &self.groups[gi].cfg.interface;
        let shared = self
            .groups
            .iter()
            .enumerate()
            .any(|(j, g)| j != gi && g.vmac_ifindex.is_some() && &g.cfg.interface == base);
        self.host.vmac_teardown(&mut self.groups[gi], shared).await;
    }

    pub(super) async fn vmac_teardown_all(&mut self) {
        for gi in 0..self.groups.len() {
            self.vmac_teardown(gi).await;
        }
    }

    /// A macvlan of ours vanished (deleted by hand, or with its base): the
    /// group starts afresh, which creates it again if the base is there.
    pub(super) async fn vmac_removed(&mut self, ifindex: u32) {
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
