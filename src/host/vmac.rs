//! Virtual MAC mode in the shell (SPEC §1 `use_vmac`): the group's macvlan
//! is created when the group starts, is administratively up only while the
//! group holds its VIPs (so a backup never sends a frame with the shared
//! VRRP MAC: a switch would learn it on the wrong port; FRR's protodown does
//! the same), and is deleted on every exit path. The base interface's ARP
//! sysctls are changed while any macvlan sits on it and restored after.

use tracing::{error, info, warn};

use super::Host;
use crate::config::VirtualIp;
use crate::group::{Group, GroupSlot};
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

impl Host {
    /// Where a VIP lives: on the macvlan when it names the group's own
    /// interface in virtual MAC mode (None while the macvlan is missing:
    /// the VIP must never sit on the base, where ARP would answer with the
    /// base's MAC).
    pub fn vip_ifindex(&self, g: &Group, vip: &VirtualIp) -> Option<u32> {
        if g.cfg.vmac.is_some() && vip.interface == g.cfg.interface {
            return g.vmac_ifindex;
        }
        self.ifindex_of(&vip.interface)
    }

    /// Start-up after a crash: delete the macvlans an earlier run left
    /// (only those carrying vrrpd's alias, the VRRP MAC and kind macvlan)
    /// and put their base's sysctls back from what the alias recorded.
    pub async fn remove_stale_vmacs(&mut self) {
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
    pub async fn vmac_setup(&mut self, g: &mut Group, base_index: u32) -> bool {
        let Some(vm) = g.cfg.vmac.clone() else {
            return true;
        };
        let (base, family, vrid, name) = (
            g.cfg.interface.clone(),
            g.cfg.family,
            g.cfg.vrid,
            g.cfg.name.clone(),
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
                if g.vmac_ifindex != Some(index) {
                    info!(group = %name, interface = %vm.interface, base = %base, "virtual MAC interface ready");
                }
                g.vmac_ifindex = Some(index);
                true
            }
            Err(e) => {
                error!(group = %name, interface = %base, vmac_interface = %vm.interface, "use_vmac: {e}; group waits in fault");
                false
            }
        }
    }

    /// The macvlan is up exactly while the group holds its VIPs.
    pub async fn vmac_link(&mut self, g: &Group, up: bool) {
        let Some(index) = g.vmac_ifindex else {
            return;
        };
        if let Err(e) = self.io.nl.set_link_up(index, up).await {
            error!(group = %g.cfg.name, up, "cannot set the virtual MAC interface's state: {e}");
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
        warn!(group = %g.cfg.name, "virtual MAC interface not running after {LIMIT:?}; announcing anyway");
    }

    /// Delete the group's macvlan; the base's sysctls go back once no
    /// macvlan is left on it (`base_shared`: another group still has one).
    pub async fn vmac_teardown(&mut self, g: &mut Group, base_shared: bool) {
        let Some(index) = g.vmac_ifindex.take() else {
            return;
        };
        if let Err(e) = self.io.nl.delete_link(index).await {
            error!(group = %g.cfg.name, "cannot delete the virtual MAC interface: {e}");
        }
        let base = g.cfg.interface.clone();
        if !base_shared && let Some(saved) = self.vmac_saved.remove(&base) {
            restore_base(&base, &saved);
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
