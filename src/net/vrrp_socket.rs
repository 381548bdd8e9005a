//! Raw VRRP sockets (IP protocol 112, and 51 for AH) for tokio.
//!
//! Needs `CAP_NET_RAW`. Every socket is non-blocking and driven through
//! [`tokio::io::unix::AsyncFd`]; `recv` takes `&self` plus a caller-owned
//! buffer that is reused for every packet, and returns borrowed slices of it
//! (no allocation per packet).
//!
//! * [`VrrpSocketV4`]: one raw socket per protocol, used both ways. Sending
//!   uses IP_HDRINCL: the caller supplies the whole datagram, IPv4 header
//!   included (TOS 0xc0, TTL 255, protocol, source, destination), so AH can
//!   cover the header; the kernel fills in the header checksum, the total
//!   length and a zero ID. The outgoing interface is chosen per datagram with
//!   an IP_PKTINFO control message (ipi_ifindex), which also applies to
//!   multicast, so one socket serves any number of interfaces. Receiving
//!   uses IP_PKTINFO for the arrival interface; IPv4 raw sockets deliver the
//!   IP header, which gives source, destination, TTL, TOS and protocol.
//! * [`VrrpSocketV6`]: a receive socket *without* IPV6_CHECKSUM (the kernel
//!   would silently drop bad checksums; the daemon verifies and counts them)
//!   with IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT and IPV6_RECVTCLASS, plus a
//!   separate send socket with IPV6_CHECKSUM at offset 6 (the kernel computes
//!   the checksum over the pseudo-header), hop limits 255, traffic class
//!   0xc0, multicast loop off, and an IPV6_PKTINFO control message per send
//!   choosing interface and source (the link-local address). The send
//!   socket's receive path is closed with a drop-everything BPF filter.
//!
//! Multicast membership (224.0.0.18 / ff02::12) is per interface:
//! [`VrrpSocketV4::join`], [`VrrpSocketV6::join`]. Raw sockets see protocol
//! 112 from every interface regardless of membership (IP_MULTICAST_ALL), so
//! filter on [`Received::ifindex`].

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockFilter, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::proto::wire::ipv4::Ipv4Packet;
use crate::proto::wire::{IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6, VRRP_TOS};
/// A receive buffer large enough for any IP datagram.
pub const RECV_BUF_LEN: usize = 65_536;

/// One received VRRP (or AH) packet, borrowing the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// Interface the packet arrived on.
    pub ifindex: u32,
    pub src: IpAddr,
    /// Destination as sent: the group or our unicast address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl_or_hop_limit: u8,
    /// IPv4 TOS or IPv6 traffic class as received.
    pub tos_or_tclass: u8,
    /// IPv4: the header's protocol (112 or 51). IPv6: always 112.
    pub protocol: u8,
    /// IPv4 only: the IP header, options included (AH covers it).
    pub ipv4_header: Option<&'a [u8]>,
    /// What follows the IP header: the VRRP message, or AH + VRRP.
    pub payload: &'a [u8],
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a valid fd and a pointer to a live c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn with_context(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 256]);

/// What recvmsg reported besides the bytes.
struct RecvMeta {
    len: usize,
    ifindex: Option<u32>,
    v4_dst: Option<Ipv4Addr>,
    v6_dst: Option<Ipv6Addr>,
    hop_limit: Option<u8>,
    tclass: Option<u8>,
    v6_src: Option<Ipv6Addr>,
}

/// recvmsg(2) once, non-blocking, parsing the control messages we enable.
fn recvmsg_meta(fd: RawFd, buf: &mut [u8]) -> io::Result<RecvMeta> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = CmsgBuf([0; 256]);
    // SAFETY: zeroed sockaddr_storage/msghdr are valid initial values.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.0.len() as _;
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram truncated",
        ));
    }
    let mut meta = RecvMeta {
        len: n as usize,
        ifindex: None,
        v4_dst: None,
        v6_dst: None,
        hop_limit: None,
        tclass: None,
        v6_src: None,
    };
    if i32::from(name.ss_family) == libc::AF_INET6 {
        // SAFETY: the kernel wrote a sockaddr_in6 (family says so).
        let sin6: libc::sockaddr_in6 =
            unsafe { std::ptr::read((&name as *const libc::sockaddr_storage).cast()) };
        meta.v6_src = Some(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
    }
    // SAFETY: standard CMSG iteration over the buffer the kernel filled;
    // every read is bounded by cmsg_len and done unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let data_len = (*c).cmsg_len as usize - (data as usize - c as usize);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if data_len >= size_of::<libc::in_pktinfo>() =>
                {
                    let p: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    meta.ifindex = Some(p.ipi_ifindex as u32);
                    meta.v4_dst = Some(Ipv4Addr::from(u32::from_be(p.ipi_addr.s_addr)));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if data_len >= size_of::<libc::in6_pktinfo>() =>
                {
                    let p: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    meta.ifindex = Some(p.ipi6_ifindex);
                    meta.v6_dst = Some(Ipv6Addr::from(p.ipi6_addr.s6_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                    if data_len >= size_of::<libc::c_int>() =>
                {
                    let v: libc::c_int = std::ptr::read_unaligned(data.cast());
                    meta.hop_limit = Some(v as u8);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) if data_len >= size_of::<libc::c_int>() => {
                    let v: libc::c_int = std::ptr::read_unaligned(data.cast());
                    meta.tclass = Some(v as u8);
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(meta)
}

/// sendmsg(2) once, non-blocking, with one control message.
fn sendmsg_one(
    fd: RawFd,
    name: *const libc::sockaddr,
    namelen: libc::socklen_t,
    data: &[u8],
    level: libc::c_int,
    ty: libc::c_int,
    cdata: &[u8],
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cmsg = CmsgBuf([0; 256]);
    // SAFETY: building a msghdr over live buffers; CMSG_SPACE of a small
    // payload fits the 256-byte aligned buffer.
    unsafe {
        let space = libc::CMSG_SPACE(cdata.len() as u32) as usize;
        assert!(space <= cmsg.0.len());
        let mut msg: libc::msghdr = zeroed();
        msg.msg_name = name as *mut libc::c_void;
        msg.msg_namelen = namelen;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = level;
        (*c).cmsg_type = ty;
        (*c).cmsg_len = libc::CMSG_LEN(cdata.len() as u32) as _;
        std::ptr::copy_nonoverlapping(cdata.as_ptr(), libc::CMSG_DATA(c), cdata.len());
        let n = libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT);
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

/// Hand an owned socket to tokio's reactor.
pub(crate) fn register<T: AsRawFd>(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `inner` owns its descriptor (Socket / OwnedFd), which stays
    // open and unchanged until the AsyncFd, which now owns `inner`, drops.
    Ok(unsafe { AsyncFd::register_with_interest(inner, interest) }?)
}

fn as_bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: plain-old-data C structs (in_pktinfo, in6_pktinfo).
    unsafe { std::slice::from_raw_parts((v as *const T).cast(), size_of::<T>()) }
}

async fn recv_meta(fd: &AsyncFd<Socket>, buf: &mut [u8]) -> io::Result<RecvMeta> {
    loop {
        let mut guard = fd.readable().await?;
        match recvmsg_meta(fd.get_ref().as_raw_fd(), buf) {
            Ok(meta) => return Ok(meta),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(e) => return Err(e),
        }
    }
}

async fn send_with(
    fd: &AsyncFd<Socket>,
    mut f: impl FnMut(RawFd) -> io::Result<usize>,
) -> io::Result<usize> {
    loop {
        let mut guard = fd.writable().await?;
        match f(fd.get_ref().as_raw_fd()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            r => return r,
        }
    }
}

/// An IPv4 raw socket for one protocol (112 or 51), sending with
/// IP_HDRINCL and receiving with IP_PKTINFO.
pub struct VrrpSocketV4 {
    fd: AsyncFd<Socket>,
    protocol: u8,
}

impl VrrpSocketV4 {
    /// Open in the calling thread's network namespace. Needs CAP_NET_RAW and
    /// a tokio runtime with IO enabled.
    pub fn new(protocol: u8) -> io::Result<VrrpSocketV4> {
        let s = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(protocol))),
        )
        .map_err(with_context("IPv4 raw socket"))?;
        s.set_header_included_v4(true)
            .map_err(with_context("IP_HDRINCL"))?;
        s.set_multicast_loop_v4(false)
            .map_err(with_context("IP_MULTICAST_LOOP"))?;
        setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
            .map_err(with_context("IP_PKTINFO"))?;
        s.set_nonblocking(true)?;
        Ok(VrrpSocketV4 {
            fd: register(s, Interest::READABLE | Interest::WRITABLE)?,
            protocol,
        })
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// IP_ADD_MEMBERSHIP of 224.0.0.18 on `ifindex` (ip_mreqn by index).
    pub fn join(&self, ifindex: u32) -> io::Result<()> {
        self.fd
            .get_ref()
            .join_multicast_v4_n(&VRRP_MCAST_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(with_context("IP_ADD_MEMBERSHIP"))
    }

    /// IP_DROP_MEMBERSHIP of 224.0.0.18 on `ifindex`.
    pub fn leave(&self, ifindex: u32) -> io::Result<()> {
        self.fd
            .get_ref()
            .leave_multicast_v4_n(&VRRP_MCAST_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(with_context("IP_DROP_MEMBERSHIP"))
    }

    /// Send `datagram` (IPv4 header included; destination taken from it)
    /// out of interface `ifindex`, multicast or unicast.
    ///
    /// With IP_HDRINCL the kernel always rewrites the total length and the
    /// header checksum, fills a zero source with the route's source, and
    /// replaces a zero ID with one of its own. AH covers the ID and total
    /// length, so for AH give a non-zero ID and the correct total length.
    pub async fn send(&self, ifindex: u32, datagram: &[u8]) -> io::Result<()> {
        if datagram.len() < 20 || datagram[0] >> 4 != 4 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an IPv4 datagram",
            ));
        }
        let dst = Ipv4Addr::new(datagram[16], datagram[17], datagram[18], datagram[19]);
        // SAFETY: zeroed sockaddr_in is valid.
        let mut sin: libc::sockaddr_in = unsafe { zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from(dst).to_be();
        let pi = libc::in_pktinfo {
            ipi_ifindex: ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr { s_addr: 0 },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let n = send_with(&self.fd, |fd| {
            sendmsg_one(
                fd,
                (&sin as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
                datagram,
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                as_bytes(&pi),
            )
        })
        .await?;
        short_write(n, datagram.len())
    }

    /// Receive one datagram into `buf` (use [`RECV_BUF_LEN`] bytes, reused).
    /// Datagrams too short for their IPv4 header are skipped.
    pub async fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Received<'b>> {
        let meta = loop {
            let meta = recv_meta(&self.fd, buf).await?;
            if v4_received(buf, &meta).is_some() {
                break meta;
            }
        };
        Ok(v4_received(buf, &meta).expect("parsed just above"))
    }

    /// Like [`recv`](Self::recv) without waiting: `WouldBlock` when nothing
    /// is queued. The event loop drains a burst of adverts (many groups
    /// falling due together) in one wake-up with it.
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Received<'b>> {
        let meta = loop {
            let meta = recvmsg_meta(self.fd.get_ref().as_raw_fd(), buf)?;
            if v4_received(buf, &meta).is_some() {
                break meta;
            }
        };
        Ok(v4_received(buf, &meta).expect("parsed just above"))
    }
}

/// The received datagram, parsed by the core's IPv4 parser (the one the
/// golden and hostile-packet tests exercise), or `None` for one that is not a
/// well-formed IPv4 datagram (the kernel rarely hands such a thing to a raw
/// socket; it is skipped like any other non-VRRP bytes).
fn v4_received<'b>(buf: &'b [u8], meta: &RecvMeta) -> Option<Received<'b>> {
    let d = Ipv4Packet::new_checked(&buf[..meta.len]).ok()?;
    Some(Received {
        ifindex: meta.ifindex.unwrap_or(0),
        src: IpAddr::V4(d.src_addr()),
        dst: IpAddr::V4(meta.v4_dst.unwrap_or(d.dst_addr())),
        ttl_or_hop_limit: d.ttl(),
        tos_or_tclass: d.tos(),
        protocol: d.protocol(),
        ipv4_header: Some(d.header()),
        payload: d.payload(),
    })
}

fn short_write(n: usize, want: usize) -> io::Result<()> {
    if n == want {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {n} of {want} bytes"),
        ))
    }
}

/// IPv6 VRRP: a checksum-agnostic receive socket and a checksumming send
/// socket.
pub struct VrrpSocketV6 {
    rx: AsyncFd<Socket>,
    tx: AsyncFd<Socket>,
}

impl VrrpSocketV6 {
    /// Open both sockets in the calling thread's network namespace. Needs
    /// CAP_NET_RAW and a tokio runtime with IO enabled.
    pub fn new() -> io::Result<VrrpSocketV6> {
        let proto = Some(Protocol::from(i32::from(IPPROTO_VRRP)));
        let rx =
            Socket::new(Domain::IPV6, Type::RAW, proto).map_err(with_context("IPv6 raw socket"))?;
        let fd = rx.as_raw_fd();
        // No IPV6_CHECKSUM on rx: it is off by default for non-ICMPv6 raw
        // sockets; set -1 explicitly so it is unmistakably off.
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, -1)
            .map_err(with_context("IPV6_CHECKSUM off"))?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
            .map_err(with_context("IPV6_RECVPKTINFO"))?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)
            .map_err(with_context("IPV6_RECVHOPLIMIT"))?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 1)
            .map_err(with_context("IPV6_RECVTCLASS"))?;
        rx.set_multicast_loop_v6(false)?;
        rx.set_nonblocking(true)?;

        let tx =
            Socket::new(Domain::IPV6, Type::RAW, proto).map_err(with_context("IPv6 raw socket"))?;
        let fd = tx.as_raw_fd();
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6)
            .map_err(with_context("IPV6_CHECKSUM"))?;
        tx.set_multicast_hops_v6(255)
            .map_err(with_context("IPV6_MULTICAST_HOPS"))?;
        tx.set_unicast_hops_v6(255)
            .map_err(with_context("IPV6_UNICAST_HOPS"))?;
        tx.set_tclass_v6(u32::from(VRRP_TOS))
            .map_err(with_context("IPV6_TCLASS"))?;
        tx.set_multicast_loop_v6(false)
            .map_err(with_context("IPV6_MULTICAST_LOOP"))?;
        // The send socket would otherwise queue a copy of every advert on the
        // link: BPF "ret #0" drops everything on its receive path.
        tx.attach_filter(&[SockFilter::new(
            (libc::BPF_RET | libc::BPF_K) as u16,
            0,
            0,
            0,
        )])
        .map_err(with_context("SO_ATTACH_FILTER"))?;
        tx.set_nonblocking(true)?;
        Ok(VrrpSocketV6 {
            rx: register(rx, Interest::READABLE)?,
            tx: register(tx, Interest::WRITABLE)?,
        })
    }

    /// IPV6_JOIN_GROUP of ff02::12 on `ifindex`.
    pub fn join(&self, ifindex: u32) -> io::Result<()> {
        self.rx
            .get_ref()
            .join_multicast_v6(&VRRP_MCAST_V6, ifindex)
            .map_err(with_context("IPV6_JOIN_GROUP"))
    }

    /// IPV6_LEAVE_GROUP of ff02::12 on `ifindex`.
    pub fn leave(&self, ifindex: u32) -> io::Result<()> {
        self.rx
            .get_ref()
            .leave_multicast_v6(&VRRP_MCAST_V6, ifindex)
            .map_err(with_context("IPV6_LEAVE_GROUP"))
    }

    /// Send one VRRP message (checksum field: anything, the kernel fills it)
    /// from `src` (the interface link-local address, or a configured unicast
    /// source) to `dst` (ff02::12 or a unicast peer) out of `ifindex`, with
    /// hop limit 255 and traffic class 0xc0.
    pub async fn send(
        &self,
        ifindex: u32,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        vrrp: &[u8],
    ) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_in6 is valid.
        let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_addr.s6_addr = dst.octets();
        // The kernel uses the scope only for link-scoped destinations.
        sin6.sin6_scope_id = ifindex;
        let pi = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: ifindex,
        };
        let n = send_with(&self.tx, |fd| {
            sendmsg_one(
                fd,
                (&sin6 as *const libc::sockaddr_in6).cast(),
                size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                vrrp,
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                as_bytes(&pi),
            )
        })
        .await?;
        short_write(n, vrrp.len())
    }

    /// Receive one VRRP message into `buf` (reused). IPv6 raw sockets do not
    /// deliver the IPv6 header: source comes from the socket address,
    /// destination and interface from IPV6_PKTINFO, hop limit and traffic
    /// class from their control messages.
    pub async fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Received<'b>> {
        let meta = recv_meta(&self.rx, buf).await?;
        Ok(v6_received(buf, &meta))
    }

    /// Like [`recv`](Self::recv) without waiting (see
    /// [`VrrpSocketV4::try_recv`]).
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Received<'b>> {
        let meta = recvmsg_meta(self.rx.get_ref().as_raw_fd(), buf)?;
        Ok(v6_received(buf, &meta))
    }
}

fn v6_received<'b>(buf: &'b [u8], meta: &RecvMeta) -> Received<'b> {
    {
        let data: &'b [u8] = &buf[..meta.len];
        Received {
            ifindex: meta.ifindex.unwrap_or(0),
            src: IpAddr::V6(meta.v6_src.unwrap_or(Ipv6Addr::UNSPECIFIED)),
            dst: IpAddr::V6(meta.v6_dst.unwrap_or(Ipv6Addr::UNSPECIFIED)),
            ttl_or_hop_limit: meta.hop_limit.unwrap_or(0),
            tos_or_tclass: meta.tclass.unwrap_or(0),
            protocol: IPPROTO_VRRP,
            ipv4_header: None,
            payload: data,
        }
    }
}
