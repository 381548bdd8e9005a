//! Turning what the kernel reports (received adverts, BFD packets, timers,
//! link and address changes) into the endpoint's inputs.

use super::*;

impl Daemon {
    // ---- BFD ----------------------------------------------------------------

    pub(super) fn bfd_sync(&mut self) {
        let now = self.now();
        self.bfd.sync(now, &self.groups);
        self.bfd.flush(now);
    }

    /// Carry out what the sessions decided: packets out, and a failed
    /// peer's groups told (the instance decides whether to take over).
    pub(super) async fn bfd_settle(&mut self) {
        let now = self.now();
        self.bfd.flush(now);
        self.bfd.events(now, &mut self.groups);
        self.drain().await;
    }

    pub(super) async fn bfd_drain_queued(&mut self) {
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

    pub(super) async fn on_bfd_datagram(
        &mut self,
        r: crate::net::bfd_socket::BfdReceived,
        buf: &[u8],
    ) {
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

    // ---- inputs -------------------------------------------------------------

    pub(super) async fn on_timers(&mut self) {
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

    pub(super) async fn on_received(&mut self, r: std::io::Result<Received<'_>>) {
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
            self.host.hear_owner(&self.groups[gi], advert.src);
            self.drain().await;
        }
    }

    /// The log lines the endpoint asked for about received packets (SPEC
    /// §1: drops counted per reason, logged rate-limited).
    pub(super) fn log_received(&mut self) {
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

    pub(super) async fn on_net_event(&mut self, ev: NetEvent) {
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

    pub(super) async fn link_changed(&mut self, name: &str, ifindex: u32, up: bool) {
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
    pub(super) async fn address_removed(&mut self, ifindex: u32, addr: IpAddr) {
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
    pub(super) async fn follow_primary(&mut self, ifindex: u32, family: Family) {
        // Every group that follows is on this interface and family: one
        // address dump serves them all.
        let mut source = None;
        for gi in 0..self.groups.len() {
            let g = &self.groups[gi];
            if g.router.is_none()
                || g.ifindex != Some(ifindex)
                || g.cfg.family != family
                || g.cfg.unicast_source.is_some()
            {
                continue;
            }
            if source.is_none() {
                source = Some(self.host.interface_source(ifindex, family).await);
            }
            let Some(Some(source)) = source else {
                // No usable address left: keep the old one.
                return;
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

    pub(super) async fn readd_missing_vips(&mut self, gi: usize) {
        self.host.add_vips(&mut self.groups[gi]).await;
        let now = self.now();
        self.groups.reannounce(now, gi);
        self.drain().await;
    }
}
