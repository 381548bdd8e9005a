//! The sockets the daemon owns, opened on demand as groups need them.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::rc::Rc;

use crate::config::GroupConfig;
use crate::net::{Netlink, PacketSender, Received, VrrpSocketV4, VrrpSocketV6};
use crate::proto::Family;
use crate::proto::frames;
use crate::proto::wire::{IPPROTO_AH, IPPROTO_VRRP};

use crate::group::GroupSlot;

pub struct Io {
    pub nl: Netlink,
    pub v4: Option<Rc<VrrpSocketV4>>,
    pub v4ah: Option<Rc<VrrpSocketV4>>,
    pub v6: Option<Rc<VrrpSocketV6>>,
    /// Reused for every advert.
    pub txbuf: Vec<u8>,
    packet: HashMap<u32, PacketSender>,
    macs: HashMap<u32, [u8; 6]>,
    /// (family, ifindex, protocol) memberships already joined.
    joined: HashSet<(Family, u32, u8)>,
    /// (ifindex, address) of every VIP this run added. The kernel's IFA_PROTO
    /// mark is what removal trusts; this set only stands in for it on a
    /// kernel that reports no IFA_PROTO (older than 5.18).
    pub added: HashSet<(u32, IpAddr)>,
    /// Interfaces whose `accept_local` we set, with the value to restore.
    accept_local: HashMap<String, String>,
}

fn uses_ah(cfg: &GroupConfig) -> bool {
    matches!(cfg.auth, Some(crate::config::AuthConfig::Ah { .. }))
}

impl Io {
    pub fn new(nl: Netlink) -> Io {
        Io {
            nl,
            v4: None,
            v4ah: None,
            v6: None,
            txbuf: Vec::with_capacity(1500),
            packet: HashMap::new(),
            macs: HashMap::new(),
            joined: HashSet::new(),
            added: HashSet::new(),
            accept_local: HashMap::new(),
        }
    }

    /// Open the socket this group sends and receives on, and join the VRRP
    /// multicast group on its interface unless it is unicast.
    pub fn ensure_sockets(&mut self, g: &GroupSlot) -> io::Result<()> {
        let ifindex = g.ifindex.ok_or_else(|| io::Error::other("no interface"))?;
        let unicast = g.cfg.is_unicast();
        match g.cfg.family {
            Family::V4 => {
                let proto = if uses_ah(&g.cfg) {
                    IPPROTO_AH
                } else {
                    IPPROTO_VRRP
                };
                let slot = if proto == IPPROTO_AH {
                    &mut self.v4ah
                } else {
                    &mut self.v4
                };
                if slot.is_none() {
                    *slot = Some(Rc::new(VrrpSocketV4::new(proto)?));
                }
                let sock = slot.as_ref().expect("just opened");
                if !unicast && self.joined.insert((Family::V4, ifindex, proto)) {
                    rejoin(|| sock.join(ifindex), || sock.leave(ifindex))?;
                }
            }
            Family::V6 => {
                if self.v6.is_none() {
                    self.v6 = Some(Rc::new(VrrpSocketV6::new()?));
                }
                let sock = self.v6.as_ref().expect("just opened");
                if !unicast && self.joined.insert((Family::V6, ifindex, IPPROTO_VRRP)) {
                    rejoin(|| sock.join(ifindex), || sock.leave(ifindex))?;
                }
            }
        }
        Ok(())
    }

    /// Send what is in `txbuf` (an IPv4 datagram or an IPv6 VRRP payload).
    pub async fn send(
        &self,
        ifindex: u32,
        source: IpAddr,
        dst: IpAddr,
        cfg: &GroupConfig,
    ) -> io::Result<()> {
        match (source, dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => {
                let sock = if uses_ah(cfg) { &self.v4ah } else { &self.v4 };
                let sock = sock.as_ref().ok_or_else(|| io::Error::other("no socket"))?;
                sock.send(ifindex, &self.txbuf).await
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let sock = self
                    .v6
                    .as_ref()
                    .ok_or_else(|| io::Error::other("no socket"))?;
                sock.send(ifindex, s, d, &self.txbuf).await
            }
            _ => Err(io::Error::other("address family mismatch")),
        }
    }

    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6, Router flag when
    /// `router`) for `vip`.
    pub async fn announce(&mut self, ifindex: u32, vip: IpAddr, router: bool) -> io::Result<()> {
        let mac = match self.macs.get(&ifindex) {
            Some(m) => *m,
            None => {
                let link = self
                    .nl
                    .link_by_index(ifindex)
                    .await
                    .map_err(|e| io::Error::other(e.to_string()))?;
                let mac = link
                    .mac
                    .ok_or_else(|| io::Error::other("interface has no MAC"))?;
                self.macs.insert(ifindex, mac);
                mac
            }
        };
        let sender = match self.packet.entry(ifindex) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(PacketSender::new(ifindex)?),
        };
        match vip {
            IpAddr::V4(v4) => sender.send(&frames::gratuitous_arp(mac, v4)).await,
            IpAddr::V6(v6) => {
                sender
                    .send(&frames::unsolicited_na_flags(mac, v6, router))
                    .await
            }
        }
    }

    /// Let the kernel deliver IPv4 packets whose source is one of this
    /// host's addresses on `ifname` (`accept_local = 1`; restored on exit by
    /// [`Io::restore_sysctls`]). Needed once a peer's own address is one of
    /// our VIPs (the address owner's, RFC 5798 §1): while we hold it, the
    /// kernel would drop the owner's adverts as martians (their source is
    /// then "local"), and a healed or restarted owner would never be heard.
    pub fn ensure_accept_local(&mut self, ifname: &str) -> io::Result<bool> {
        if self.accept_local.contains_key(ifname) {
            return Ok(false);
        }
        let old = crate::net::sysctl::read_if("ipv4", ifname, "accept_local")?;
        if old != "1" {
            crate::net::sysctl::write_if("ipv4", ifname, "accept_local", "1")?;
        }
        self.accept_local.insert(ifname.to_string(), old);
        Ok(true)
    }

    /// Put back every sysctl [`Io::ensure_accept_local`] changed.
    pub fn restore_sysctls(&mut self) {
        for (ifname, old) in self.accept_local.drain() {
            if old != "1" {
                let _ = crate::net::sysctl::write_if("ipv4", &ifname, "accept_local", &old);
            }
        }
    }

    /// The interface is gone: forget everything cached for its index (the
    /// kernel dropped its multicast memberships with it, and an interface
    /// created later may get the same index: it must be joined again).
    pub fn forget_interface(&mut self, ifindex: u32) {
        self.packet.remove(&ifindex);
        self.macs.remove(&ifindex);
        self.joined.retain(|(_, i, _)| *i != ifindex);
    }

    /// The link changed (maybe its MAC: `ip link set eth0 address ...`):
    /// re-read the MAC before the next announcement.
    pub fn forget_mac(&mut self, ifindex: u32) {
        self.macs.remove(&ifindex);
    }
}

/// Join, and if the socket still lists a membership for this index
/// (EADDRINUSE: the interface was deleted and a new one got its index; the
/// kernel keeps the socket's entry but the new device never joined), leave
/// it and join again.
fn rejoin(join: impl Fn() -> io::Result<()>, leave: impl Fn() -> io::Result<()>) -> io::Result<()> {
    match join() {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let _ = leave();
            join()
        }
        r => r,
    }
}

/// Receive on an optional socket; pends forever when there is none.
pub async fn recv_v4<'b>(
    sock: Option<&VrrpSocketV4>,
    buf: &'b mut [u8],
) -> io::Result<Received<'b>> {
    match sock {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

pub async fn recv_v6<'b>(
    sock: Option<&VrrpSocketV6>,
    buf: &'b mut [u8],
) -> io::Result<Received<'b>> {
    match sock {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}
