//! Putting the groups' VIPs on the host and taking them back (SPEC §1:
//! never an address the host owns), announcing them, choosing the advert
//! source, and the host's addresses as the configuration check sees them.

use std::net::IpAddr;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::Host;
use super::view::added_by_us;
use crate::config::{self, Config};
use crate::group::{Group, GroupSlot};
use crate::proto::Family;

impl Host {
    /// `peer` is the address owner of a VIP we may hold (its adverts come
    /// from that VIP): with `accept_local=1` on the group's interface its
    /// adverts are still heard while we hold the VIP, so we yield to it.
    pub fn hear_owner(&mut self, g: &Group, peer: IpAddr) {
        if g.cfg.priority == 255 || !g.names_vip_of_peer(peer) {
            return;
        }
        let ifname = &g.cfg.interface;
        match self.io.ensure_accept_local(ifname) {
            Ok(true) => {
                info!(group = %g.name(), %peer, interface = %ifname, "a VIP is the advert source of its owner: accept_local=1 so its adverts are heard while we hold it")
            }
            Ok(false) => {}
            Err(e) => {
                warn!(group = %g.name(), %peer, interface = %ifname, "cannot set accept_local: {e}")
            }
        }
    }

    /// SPEC §4: VIPs a crashed run left behind are removed before any group
    /// starts. Only addresses carrying vrrpd's IFA_PROTO mark go: an
    /// unmarked one was on the interface before vrrpd added anything and
    /// belongs to the host (SPEC §1).
    pub async fn remove_stale_vips(&mut self, cfg: &Config) {
        for g in &cfg.groups {
            if g.priority == 255 {
                // The owner goes master at once and re-adds them: removing
                // first would only make clients miss a beat.
                continue;
            }
            for vip in g.virtual_ips.iter().chain(g.excluded_ips.iter()) {
                let Some(ifindex) = self.ifindex_of(&vip.interface) else {
                    continue;
                };
                match self.io.nl.del_vip(ifindex, vip.address, false).await {
                    Ok(true) => {
                        warn!(group = %g.name, vip = %vip, "removed stale VIP left by an earlier run")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        error!(group = %g.name, vip = %vip, "cannot remove stale VIP: {e}")
                    }
                }
            }
        }
    }

    /// The group's advert source: `unicast_source`, else the interface's
    /// IPv4 primary / IPv6 link-local address, never an address vrrpd added
    /// (a VIP becomes the subnet's primary when the real primary is deleted;
    /// a secondary real address is then the better source). The host's own
    /// addresses stay candidates even when a group names them as VIPs: the
    /// address owner's VIP is its primary address (RFC 5798 §1).
    pub async fn source_address(&self, g: &Group, ifindex: u32) -> Option<IpAddr> {
        match g.cfg.unicast_source {
            Some(s) => Some(s),
            None => self.interface_source(ifindex, g.cfg.family).await,
        }
    }

    /// The interface's own advert source for `family` (see
    /// [`Host::source_address`]): one address dump.
    pub async fn interface_source(&self, ifindex: u32, family: Family) -> Option<IpAddr> {
        let addrs: Vec<_> = self
            .io
            .nl
            .addresses(ifindex)
            .await
            .ok()?
            .into_iter()
            .filter(|a| !added_by_us(a, &self.io.added))
            .collect();
        match family {
            Family::V4 => crate::net::ifaces::primary_v4(&addrs)
                .or_else(|| {
                    addrs.iter().find_map(|a| match a.addr {
                        IpAddr::V4(v4) => Some(v4),
                        IpAddr::V6(_) => None,
                    })
                })
                .map(IpAddr::V4),
            Family::V6 => crate::net::ifaces::link_local_v6(&addrs).map(IpAddr::V6),
        }
    }

    /// Put every VIP of the group on the host (SPEC §1: an address the host
    /// already has stays the host's).
    pub async fn add_vips(&mut self, g: &mut GroupSlot) {
        self.vmac_link(g, true).await;
        let vips: Vec<_> = g.all_vips().cloned().collect();
        for vip in vips {
            let Some(ifindex) = self.vip_ifindex(g, &vip) else {
                error!(group = %g.name(), vip = %vip, "cannot add VIP: no such interface");
                continue;
            };
            match self
                .io
                .nl
                .add_vip(ifindex, vip.address, vip.prefix_len)
                .await
            {
                Ok(crate::net::VipAdd::Added) => {
                    self.io.added.insert((ifindex, vip.address));
                }
                Ok(crate::net::VipAdd::HostOwned) => {
                    // SPEC §1: the address owner's VIP is its own address.
                    debug!(group = %g.name(), vip = %vip, "VIP is the host's own address; left as it is");
                }
                Err(e) => {
                    error!(group = %g.name(), vip = %vip, "cannot add VIP: {e}");
                }
            }
        }
        g.vips_held = true;
        self.await_ipv6_vips_local(g).await;
    }

    /// Wait (bounded) until the kernel delivers every IPv6 VIP of the group
    /// locally, so that the announcement that follows never points clients
    /// at an address whose packets would still be dropped (SPEC §4:
    /// lossless planned moves on hosts that do not forward).
    async fn await_ipv6_vips_local(&mut self, g: &GroupSlot) {
        const LIMIT: Duration = Duration::from_millis(100);
        let v6: Vec<_> = g
            .all_vips()
            .filter_map(|v| match v.address {
                IpAddr::V6(a) => Some(a),
                IpAddr::V4(_) => None,
            })
            .collect();
        let start = tokio::time::Instant::now();
        for addr in v6 {
            loop {
                match self.io.nl.delivers_locally(addr).await {
                    Ok(true) => break,
                    Ok(false) if start.elapsed() < LIMIT => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Ok(false) => {
                        warn!(group = %g.name(), vip = %addr, "IPv6 VIP not yet delivered locally after {LIMIT:?}; announcing anyway");
                        return;
                    }
                    Err(e) => {
                        debug!(group = %g.name(), vip = %addr, "route lookup failed: {e}");
                        return;
                    }
                }
            }
        }
    }

    /// Remove the group's VIPs: only what vrrpd added (SPEC §1), so the
    /// address owner keeps its own address on backup, fault, reload and stop.
    pub async fn remove_vips(&mut self, g: &mut GroupSlot) {
        g.vips_held = false;
        let vips: Vec<_> = g.all_vips().cloned().collect();
        for vip in vips {
            let Some(ifindex) = self.vip_ifindex(g, &vip) else {
                continue;
            };
            let key = (ifindex, vip.address);
            let this_run = self.io.added.contains(&key);
            match self.io.nl.del_vip(ifindex, vip.address, this_run).await {
                Ok(_) => {
                    self.io.added.remove(&key);
                }
                Err(e) => {
                    error!(group = %g.name(), vip = %vip, "cannot remove VIP: {e}");
                }
            }
        }
        self.vmac_link(g, false).await;
    }

    /// One gratuitous ARP / unsolicited NA per VIP of the group, now.
    pub async fn announce_once(&mut self, g: &mut GroupSlot) {
        let vips: Vec<_> = g.all_vips().cloned().collect();
        for vip in vips {
            let Some(ifindex) = self.vip_ifindex(g, &vip) else {
                continue;
            };
            // SPEC §1 ndisc_router: "auto" follows the interface's IPv6
            // forwarding, read at each announce (it may change at run time).
            let router = vip.address.is_ipv6()
                && match g.cfg.ndisc_router {
                    config::NdiscRouter::Auto => {
                        crate::net::sysctl::ipv6_forwarding(&vip.interface)
                    }
                    config::NdiscRouter::On => true,
                    config::NdiscRouter::Off => false,
                };
            let res = self.io.announce(ifindex, vip.address, router).await;
            match res {
                Ok(()) => {
                    g.counters.garp_sent += 1;
                    if g.announce_failures.succeed() {
                        info!(group = %g.name(), vip = %vip, "gratuitous ARP / NA sent again");
                    }
                }
                Err(e) if g.announce_failures.fail() => warn!(
                    group = %g.name(), vip = %vip,
                    "cannot send gratuitous ARP / unsolicited NA (AF_PACKET socket): {e}; \
                     logged once until a send succeeds"
                ),
                Err(e) => debug!(group = %g.name(), vip = %vip, "announce failed: {e}"),
            }
        }
    }
}
