//! Interfaces and addresses through rtnetlink: one long-lived request
//! connection owned by a [`Netlink`] handle.
//!
//! Reading needs no privilege; adding and removing addresses needs
//! `CAP_NET_ADMIN`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::packet_route::route::RouteType;

use super::NetError;

/// The kernel address protocol (IFA_PROTO, Linux >= 5.18) vrrpd puts on every
/// address it adds: 112, the VRRP IP protocol number (`ip addr show proto
/// 112` lists them). SPEC §1: an address without it was not added by vrrpd
/// and belongs to the host, so no path ever removes it, and start-up cleanup
/// of an earlier run's stale VIPs removes only addresses carrying it.
pub const VRRPD_ADDR_PROTO: u8 = 112;

/// What the daemon needs to know about one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// Hardware address, when the link has a 6-byte one (Ethernet, veth, ...).
    pub mac: Option<[u8; 6]>,
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Operational state as reported by IFLA_OPERSTATE.
    pub oper_state: OperState,
    /// Carrier present (IFF_LOWER_UP / IFLA_CARRIER).
    pub carrier: bool,
    /// Usable for VRRP: admin up, carrier, and operationally up (or
    /// "unknown", which drivers without operstate support report; the kernel
    /// counts that as running too).
    pub up: bool,
}

/// RFC 2863 operational state of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    Other(u8),
}

impl From<&State> for OperState {
    fn from(s: &State) -> Self {
        match s {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            State::Other(v) => OperState::Other(*v),
            _ => OperState::Other(255),
        }
    }
}

/// One address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IFA_F_SECONDARY (IPv4 only: not the primary of its subnet).
    pub secondary: bool,
    /// IFA_F_TENTATIVE (IPv6: DAD not finished; the address cannot be a
    /// source yet).
    pub tentative: bool,
    /// IFA_F_DADFAILED (IPv6).
    pub dad_failed: bool,
    /// IFA_PROTO: who added the address (`None` when the kernel does not
    /// report it: none set, or a kernel older than 5.18).
    pub protocol: Option<u8>,
}

impl IfAddr {
    /// Added by vrrpd (this run or an earlier one): it carries our mark.
    pub fn added_by_vrrpd(&self) -> bool {
        self.protocol == Some(VRRPD_ADDR_PROTO)
    }
}

/// Everything about an interface a VRRP group needs, resolved in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkInfo,
    /// The first non-secondary IPv4 address (keepalived's choice of source).
    pub ipv4_primary: Option<Ipv4Addr>,
    /// The first usable (not tentative, not DAD-failed) fe80::/10 address.
    pub ipv6_link_local: Option<Ipv6Addr>,
}

/// Parse a link message into a [`LinkInfo`].
pub fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mut name = String::new();
    let mut mac = None;
    let mut oper_state = OperState::Unknown;
    let mut carrier_attr = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(a);
                mac = Some(m);
            }
            LinkAttribute::OperState(s) => oper_state = OperState::from(s),
            LinkAttribute::Carrier(c) => carrier_attr = Some(*c != 0),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    let admin_up = flags.contains(LinkFlags::Up);
    let carrier = carrier_attr.unwrap_or(false) || flags.contains(LinkFlags::LowerUp);
    let oper_ok = matches!(oper_state, OperState::Up | OperState::Unknown);
    LinkInfo {
        index: msg.header.index,
        name,
        mac,
        admin_up,
        oper_state,
        carrier,
        up: admin_up && carrier && oper_ok && flags.contains(LinkFlags::Running),
    }
}

/// Parse an address message; `None` for families other than IPv4/IPv6 or a
/// message without an address.
pub fn if_addr(msg: &AddressMessage) -> Option<IfAddr> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    let mut protocol = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            // IFA_FLAGS, when present, supersedes the 8-bit header field.
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS is the
    // peer on point-to-point links). IPv6 normally sends only IFA_ADDRESS.
    let addr = match msg.header.family {
        AddressFamily::Inet | AddressFamily::Inet6 => local.or(address)?,
        _ => return None,
    };
    Some(IfAddr {
        ifindex: msg.header.index,
        addr,
        prefix_len: msg.header.prefix_len,
        secondary: flags.contains(AddressFlags::Secondary),
        tentative: flags.contains(AddressFlags::Tentative),
        dad_failed: flags.contains(AddressFlags::Dadfailed),
        protocol,
    })
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// The negative errno of a netlink NACK, if that is what `e` is.
pub fn netlink_errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// A handle on one long-lived rtnetlink request connection. Cheap to clone;
/// the connection task lives as long as any clone.
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

impl Netlink {
    /// Open the connection in the calling thread's network namespace and
    /// spawn its driver on the current tokio runtime (must be called inside
    /// one).
    pub fn new() -> Result<Netlink, NetError> {
        let (conn, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|e| NetError::io("netlink socket", e))?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    /// The underlying rtnetlink handle, for requests this module lacks.
    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Look an interface up by name.
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetError> {
        let mut s = self.handle.link().get().match_name(name).execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(link_info(&m)),
            Ok(None) => Err(NetError::NoSuchInterface(name.to_string())),
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => {
                Err(NetError::NoSuchInterface(name.to_string()))
            }
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Look an interface up by index.
    pub async fn link_by_index(&self, index: u32) -> Result<LinkInfo, NetError> {
        let mut s = self.handle.link().get().match_index(index).execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(link_info(&m)),
            Ok(None) => Err(NetError::NoSuchIndex(index)),
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => Err(NetError::NoSuchIndex(index)),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Every link, to (re-)synchronise after an event overrun.
    pub async fn dump_links(&self) -> Result<Vec<LinkInfo>, NetError> {
        let msgs: Vec<LinkMessage> = self.handle.link().get().execute().try_collect().await?;
        Ok(msgs.iter().map(link_info).collect())
    }

    /// Addresses (both families) on interface `ifindex`, in kernel order.
    pub async fn addresses(&self, ifindex: u32) -> Result<Vec<IfAddr>, NetError> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute()
            .try_collect()
            .await?;
        Ok(msgs.iter().filter_map(if_addr).collect())
    }

    /// Every address in the namespace (all interfaces).
    pub async fn dump_addresses(&self) -> Result<Vec<IfAddr>, NetError> {
        let msgs: Vec<AddressMessage> = self.handle.address().get().execute().try_collect().await?;
        Ok(msgs.iter().filter_map(if_addr).collect())
    }

    /// The first non-secondary IPv4 address of `ifindex`.
    pub async fn ipv4_primary(&self, ifindex: u32) -> Result<Option<Ipv4Addr>, NetError> {
        Ok(primary_v4(&self.addresses(ifindex).await?))
    }

    /// The first usable IPv6 link-local address of `ifindex`.
    pub async fn ipv6_link_local(&self, ifindex: u32) -> Result<Option<Ipv6Addr>, NetError> {
        Ok(link_local_v6(&self.addresses(ifindex).await?))
    }

    /// Resolve a name to index, MAC, state, IPv4 primary and IPv6 link-local.
    pub async fn interface(&self, name: &str) -> Result<Interface, NetError> {
        let link = self.link_by_name(name).await?;
        let addrs = self.addresses(link.index).await?;
        Ok(Interface {
            ipv4_primary: primary_v4(&addrs),
            ipv6_link_local: link_local_v6(&addrs),
            link,
        })
    }

    /// Add `addr/prefix_len` to `ifindex`, replacing an existing identical
    /// address (NLM_F_REPLACE: adding a VIP that is already there is Ok),
    /// marked IFA_PROTO [`VRRPD_ADDR_PROTO`]. Callers must not call this for
    /// an address the host already has ([`Netlink::add_vip`] checks): the
    /// replace would mark the host's address as ours.
    /// IPv6 addresses get IFA_F_NODAD so they are usable at once instead of
    /// sitting "tentative" while DAD runs (the VIP moves between nodes; DAD
    /// would also fail against a peer still holding it during a handover).
    pub async fn add_address(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetError> {
        let mut req = self
            .handle
            .address()
            .add(ifindex, addr, prefix_len)
            .replace();
        req.message_mut()
            .attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                VRRPD_ADDR_PROTO,
            )));
        if addr.is_ipv6() {
            let m = req.message_mut();
            m.header.flags |= AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        req.execute().await?;
        Ok(())
    }

    /// Add a VIP unless the host already has that address on `ifindex`
    /// without our mark (SPEC §1: the host's own address, e.g. the address
    /// owner's): then nothing is touched and `Ok(VipAdd::HostOwned)` says so.
    pub async fn add_vip(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<VipAdd, NetError> {
        let present = self.addresses(ifindex).await?;
        if present
            .iter()
            .any(|a| a.addr == addr && !a.added_by_vrrpd())
        {
            return Ok(VipAdd::HostOwned);
        }
        self.add_address(ifindex, addr, prefix_len).await?;
        Ok(VipAdd::Added)
    }

    /// Remove a VIP vrrpd added: only an address carrying our IFA_PROTO mark
    /// is deleted, or, on a kernel that reports no IFA_PROTO at all, one the
    /// caller knows it added in this run (`added_this_run`). The host's own
    /// addresses are never removed (SPEC §1). Returns whether an address
    /// was deleted; "not there" is success.
    pub async fn del_vip(
        &self,
        ifindex: u32,
        addr: IpAddr,
        added_this_run: bool,
    ) -> Result<bool, NetError> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .set_address_filter(addr)
            .execute()
            .try_collect()
            .await?;
        let mut deleted = false;
        for m in msgs {
            let Some(a) = if_addr(&m) else { continue };
            let ours = a.added_by_vrrpd() || (a.protocol.is_none() && added_this_run);
            if !ours {
                continue;
            }
            match self.handle.address().del(m).execute().await {
                Ok(()) => deleted = true,
                Err(e)
                    if matches!(
                        netlink_errno(&e),
                        Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV) | Some(libc::ENOENT)
                    ) => {}
                Err(e) => return Err(NetError::Netlink(e)),
            }
        }
        Ok(deleted)
    }

    /// Whether the kernel already delivers packets for `addr` locally (a
    /// route lookup answers with a `local` route). An IPv6 address is in
    /// the address list as soon as the add is acknowledged, but its local
    /// route is installed a moment later by the kernel's DAD work, even with
    /// IFA_F_NODAD: a packet for it arriving in between is dropped by a host
    /// that does not forward. A VIP is announced only once this holds.
    pub async fn delivers_locally(&self, addr: Ipv6Addr) -> Result<bool, NetError> {
        let msg = RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(addr, 128)
            .build();
        let mut routes = self.handle.route().get(msg).execute();
        match routes.try_next().await {
            Ok(Some(r)) => Ok(r.header.kind == RouteType::Local),
            Ok(None) => Ok(false),
            // No route at all yet (ENETUNREACH and the like).
            Err(e) if netlink_errno(&e).is_some() => Ok(false),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Remove `addr` from `ifindex` whatever its prefix length and whoever
    /// added it (tests and tools; the daemon uses [`Netlink::del_vip`]). An
    /// address that is not there (or vanishes meanwhile) is success.
    pub async fn del_address(&self, ifindex: u32, addr: IpAddr) -> Result<(), NetError> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .set_address_filter(addr)
            .execute()
            .try_collect()
            .await?;
        for m in msgs {
            match self.handle.address().del(m).execute().await {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        netlink_errno(&e),
                        Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV) | Some(libc::ENOENT)
                    ) => {}
                Err(e) => return Err(NetError::Netlink(e)),
            }
        }
        Ok(())
    }
}

/// What [`Netlink::add_vip`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipAdd {
    /// Added (or refreshed) with our mark.
    Added,
    /// The host already has it: left alone, and never to be removed.
    HostOwned,
}

/// The first non-secondary IPv4 address in `addrs`.
pub fn primary_v4(addrs: &[IfAddr]) -> Option<Ipv4Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if !a.secondary => Some(v4),
        _ => None,
    })
}

/// The first usable fe80::/10 address in `addrs`.
pub fn link_local_v6(addrs: &[IfAddr]) -> Option<Ipv6Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V6(v6) if is_link_local(&v6) && !a.tentative && !a.dad_failed => Some(v6),
        _ => None,
    })
}
