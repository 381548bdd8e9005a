//! Virtual MAC mode in the shell (SPEC §1 `use_vmac`): the group's macvlan
//! is created when the group starts, is administratively up only while the
//! group holds its VIPs (so a backup never sends a frame with the shared
//! VRRP MAC: a switch would learn it on the wrong port; FRR's protodown does
//! the same), and is deleted on every exit path. The base interface's ARP
//! sysctls are changed while any macvlan sits on it and restored after.

use tracing::{error, info, warn};

use super::{Daemon, GroupSlot};
use crate::config::VirtualIp;
use crate::net::sysctl;
use crate::net::vmac::{BASE_SYSCTLS, VmacError};
use crate::proto::Family;

/// The interface adverts leave from: the macvlan in virtual MAC mode
/// (RFC 5798 §7.3: the source MAC is the virtual one) while it is up
/// (the group holds its VIPs), for IPv4 multicast, unless
/// `vmac_xmit_base`. The base interface otherwise:
/// - IPv6: the advert source is the base's link-local address (the
///   macvlan has none: every router would derive the same one from the
///   shared MAC);
/// - unicast: resolving the peer from the macvlan would name the VIP as
///   the ARP sender, which a peer that holds the VIP too (a split, two
///   masters) drops, so neither would ever hear the other again.
pub fn advert_ifindex(g: &GroupSlot) -> Option<u32> {
    match (&g.cfg.vmac, g.vmac_ifindex) {
        (Some(v), Some(i))
            if !v.xmit_base && g.vips_held && g.cfg.family == Family::V4 && !g.cfg.is_unicast() =>
        {
            Some(i)
        }
        _ => g.ifindex,
    }
}

impl Daemon {
    /// Where a VIP lives: on the macvlan when it names the group's own
    /// interface in virtual MAC mode (None while the macvlan is missing:
    /// the VIP must never sit on the base, where ARP would answer with the
    /// base's MAC).
    pub(super) fn vip_ifindex(&self, gi: usize, vip: &VirtualIp) -> Option<u32> {
        let g = &self.groups[gi];
        if g.cfg.vmac.is_some() && vip.interface == g.cfg.interface {
            return g.vmac_ifindex;
        }
        self.ifindex_of(&vip.interface)
    }

    /// The base interface of `ifindex` when it is one of our macvlans.
    /// Adverts are heard on the base interface (as keepalived does).
    pub(super) fn vmac_base(&self, ifindex: u32) -> Option<u32> {
        self.groups
            .iter()
            .find(|g| g.vmac_ifindex == Some(ifindex))
            .and_then(|g| g.ifindex)
    }

    /// Start-up after a crash: delete the macvlans an earlier run left
    /// (only those carrying vrrpd's alias, the VRRP MAC and kind macvlan)
    /// and put their base's sysctls back from what the alias recorded.
    pub(super) async fn remove_stale_vmacs(&mut self) {
        let stale = match self.io.nl.own_vmacs().await {
            Ok(v) => v,
            Err(e) => {
                warn!("cannot list interfaces for stale macvlans: {e}");
                return;
            }
        };
        let mut restored = Vec::new();
        for v in stale {
            match self.io.nl.delete_link(v.index).await {
                Ok(()) => {
                    warn!(interface = %v.name, base = %v.base, "removed stale virtual MAC interface left by an earlier run")
                }
                Err(e) => error!(interface = %v.name, "cannot remove stale macvlan: {e}"),
            }
            if !restored.contains(&v.base) {
                restore_base(&v.base, &v.saved);
                restored.push(v.base);
            }
        }
    }

    /// Create the group's macvlan on `base_index` (idempotent) and set the
    /// base's sysctls. False (logged, naming the interface) when it cannot
    /// be: the group then waits in FAULT.
    pub(super) async fn vmac_setup(&mut self, gi: usize, base_index: u32) -> bool {
        let g = &self.groups[gi];
        let Some(vm) = g.cfg.vmac.clone() else {
            return true;
        };
        let (base, family, vrid, name) = (
            g.cfg.interface.clone(),
            g.cfg.family,
            g.cfg.vrid,
            g.name().to_string(),
        );
        let result = async {
            let saved = match self.vmac_saved.get(&base) {
                Some(s) => s.clone(),
                None => save_base(&base)?,
            };
            let index = self
                .io
                .nl
                .ensure_vmac(&vm.interface, base_index, &base, family, vrid, &saved)
                .await?;
            if !self.vmac_saved.contains_key(&base) {
                for (k, v) in BASE_SYSCTLS {
                    sysctl::write_if("ipv4", &base, k, v).map_err(|source| VmacError::Sysctl {
                        name: base.clone(),
                        key: format!("ipv4.{k}"),
                        source,
                    })?;
                }
                self.vmac_saved.insert(base.clone(), saved);
                // The kernel applies max(all, interface): strict mode on
                // `all` can drop traffic to a VIP that arrives on the
                // macvlan while the subnet's route points at the base.
                if sysctl::read_if("ipv4", "all", "rp_filter").is_ok_and(|v| v == "1") {
                    warn!(interface = %vm.interface, "net.ipv4.conf.all.rp_filter = 1 (strict) may drop traffic to the VIPs on the virtual MAC interface; set it to 2 (loose) or 0");
                }
            }
            Ok::<u32, VmacError>(index)
        }
        .await;
        match result {
            Ok(index) => {
                if self.groups[gi].vmac_ifindex != Some(index) {
                    info!(group = %name, interface = %vm.interface, base = %base, "virtual MAC interface ready");
                }
                self.groups[gi].vmac_ifindex = Some(index);
                true
            }
            Err(e) => {
                error!(group = %name, interface = %base, vmac_interface = %vm.interface, "use_vmac: {e}; group waits in fault");
                false
            }
        }
    }

    /// The macvlan is up exactly while the group holds its VIPs.
    pub(super) async fn vmac_link(&mut self, gi: usize, up: bool) {
        let Some(index) = self.groups[gi].vmac_ifindex else {
            return;
        };
        if let Err(e) = self.io.nl.set_link_up(index, up).await {
            error!(group = %self.groups[gi].name(), up, "cannot set the virtual MAC interface's state: {e}");
            return;
        }
        if !up {
            return;
        }
        // The gratuitous ARPs that follow are what teach the switches where
        // the shared MAC now lives (in unicast mode nothing else leaves from
        // it): wait, bounded, until the kernel reports the link running so
        // the first burst is not dropped by a device still coming up.
        const LIMIT: std::time::Duration = std::time::Duration::from_millis(200);
        let start = tokio::time::Instant::now();
        while start.elapsed() < LIMIT {
            match self.io.nl.link_by_index(index).await {
                Ok(l) if l.up => return,
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
                Err(_) => return,
            }
        }
        warn!(group = %self.groups[gi].name(), "virtual MAC interface not running after {LIMIT:?}; announcing anyway");
    }

    /// Delete the group's macvlan; the base's sysctls go back once no
    /// macvlan is left on it.
    pub(super) async fn vmac_teardown(&mut self, gi: usize) {
        let Some(index) = self.groups[gi].vmac_ifindex.take() else {
            return;
        };
        if let Err(e) = self.io.nl.delete_link(index).await {
            error!(group = %self.groups[gi].name(), "cannot delete the virtual MAC interface: {e}");
        }
        let base = self.groups[gi].cfg.interface.clone();
        let in_use = self
            .groups
            .iter()
            .any(|g| g.vmac_ifindex.is_some() && g.cfg.interface == base);
        if !in_use && let Some(saved) = self.vmac_saved.remove(&base) {
            restore_base(&base, &saved);
        }
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

fn save_base(base: &str) -> Result<Vec<(String, String)>, VmacError> {
    BASE_SYSCTLS
        .iter()
        .map(|(k, _)| {
            sysctl::read_if("ipv4", base, k)
                .map(|v| (k.to_string(), v))
                .map_err(|source| VmacError::Sysctl {
                    name: base.to_string(),
                    key: format!("ipv4.{k}"),
                    source,
                })
        })
        .collect()
}

fn restore_base(base: &str, saved: &[(String, String)]) {
    for (k, v) in saved {
        if let Err(e) = sysctl::write_if("ipv4", base, k, v) {
            warn!(interface = %base, "cannot restore {k}={v}: {e}");
        }
    }
}
