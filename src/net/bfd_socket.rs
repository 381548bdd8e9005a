//! UDP sockets for single-hop BFD (RFC 5881): one receiving socket per
//! family on port 3784, and one sending socket per session, bound to the
//! group's interface and a fixed source port in 49152-65535, sending with
//! TTL / hop limit 255 (GTSM, RFC 5881 §5). Received datagrams come with
//! their TTL and interface from control messages (nix's recvmsg, not a
//! hand-parsed cmsg loop); the core checks the TTL.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::proto::bfd::packet::{CONTROL_PORT, SOURCE_PORTS};

/// One received BFD datagram's metadata; the bytes are in the caller's
/// buffer.
#[derive(Clone, Copy, Debug)]
pub struct BfdReceived {
    pub len: usize,
    pub src: IpAddr,
    pub ifindex: u32,
    pub ttl: u8,
}

fn nix_err(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The receiving socket of one family.
pub struct BfdRx {
    fd: AsyncFd<Socket>,
}

impl BfdRx {
    /// Bind port 3784 on every address of `family` in the calling thread's
    /// namespace.
    pub fn bind(v6: bool) -> io::Result<BfdRx> {
        let (domain, addr): (Domain, SocketAddr) = if v6 {
            (Domain::IPV6, (Ipv6Addr::UNSPECIFIED, CONTROL_PORT).into())
        } else {
            (Domain::IPV4, (Ipv4Addr::UNSPECIFIED, CONTROL_PORT).into())
        };
        let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        if v6 {
            s.set_only_v6(true)?;
            setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(nix_err)?;
            setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(nix_err)?;
        } else {
            setsockopt(&s, sockopt::Ipv4RecvTtl, &true).map_err(nix_err)?;
            setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(nix_err)?;
        }
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        Ok(BfdRx {
            fd: super::vrrp_socket::register(s, Interest::READABLE)?,
        })
    }

    /// Wait for one datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<BfdReceived> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_one(fd.get_ref().as_raw_fd(), buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Like [`BfdRx::recv`] without waiting: `WouldBlock` when nothing is
    /// queued (the event loop drains a burst per wake-up).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<BfdReceived> {
        recv_one(self.fd.get_ref().as_raw_fd(), buf)
    }
}

fn recv_one(fd: i32, buf: &mut [u8]) -> io::Result<BfdReceived> {
    let mut cmsg = nix::cmsg_space!(libc::c_int, libc::in6_pktinfo);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
        .map_err(nix_err)?;
    let src = msg
        .address
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|s| IpAddr::V4(s.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        })
        .ok_or_else(|| io::Error::other("BFD datagram without a source address"))?;
    // No TTL control message reads as 0: the core then drops it as not 255.
    let (mut ttl, mut ifindex) = (0u8, 0u32);
    for c in msg.cmsgs().map_err(nix_err)? {
        match c {
            ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).unwrap_or(0),
            ControlMessageOwned::Ipv6HopLimit(t) => ttl = u8::try_from(t).unwrap_or(0),
            ControlMessageOwned::Ipv4PacketInfo(pi) => ifindex = pi.ipi_ifindex as u32,
            ControlMessageOwned::Ipv6PacketInfo(pi) => ifindex = pi.ipi6_ifindex,
            _ => {}
        }
    }
    // An IPv4-mapped source never reaches a v6-only socket; no mapping here.
    Ok(BfdReceived {
        len: msg.bytes,
        src,
        ifindex,
        ttl,
    })
}

/// The sending socket of one session: connected to the peer's port 3784,
/// bound to the interface and to one source port for the session's life
/// (RFC 5881 §4).
pub struct BfdTx {
    sock: Socket,
}

impl BfdTx {
    /// `seed` picks the first source port tried.
    pub fn open(interface: &str, source: IpAddr, peer: IpAddr, seed: u16) -> io::Result<BfdTx> {
        let domain = if peer.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        sock.bind_device(Some(interface.as_bytes()))?;
        if peer.is_ipv6() {
            sock.set_unicast_hops_v6(255)?;
        } else {
            sock.set_ttl_v4(255)?;
        }
        let span = u32::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
        let mut bound = Err(io::Error::from(io::ErrorKind::AddrInUse));
        // Bounded: try a few ports from the seed on, then give up loudly.
        for i in 0..64u32 {
            let port = SOURCE_PORTS.start() + ((u32::from(seed) + i * 7919) % span) as u16;
            match sock.bind(&SocketAddr::new(source, port).into()) {
                Ok(()) => {
                    bound = Ok(());
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => bound = Err(e),
                Err(e) => return Err(e),
            }
        }
        bound?;
        sock.connect(&SocketAddr::new(peer, CONTROL_PORT).into())?;
        sock.set_nonblocking(true)?;
        Ok(BfdTx { sock })
    }

    /// Send one Control packet. Never waits: a full socket buffer drops the
    /// packet, which BFD tolerates up to the multiplier.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        match self.sock.send(bytes) {
            Ok(_) => Ok(()),
            // The peer's port is closed (no BFD there yet): ICMP errors come
            // back on a connected socket; they change nothing.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(e),
        }
    }
}
