//! AF_PACKET `SOCK_RAW` sender for gratuitous ARP and unsolicited NA frames
//! ([`crate::proto::frames`]). Needs `CAP_NET_RAW`.
//!
//! The socket is opened with protocol 0, so the kernel delivers it nothing:
//! no ETH_P_ALL tap, no promiscuous mode, no receive queue to drain. It is
//! bound to one interface; frames go out unchanged (the caller builds the
//! Ethernet header).

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A send-only packet socket bound to one interface.
pub struct PacketSender {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
}

impl PacketSender {
    /// Open and bind to `ifindex` in the calling thread's network namespace.
    /// Needs a tokio runtime with IO enabled.
    pub fn new(ifindex: u32) -> io::Result<PacketSender> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("AF_PACKET socket: {e}")));
        }
        // SAFETY: `raw` is a fresh, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: zeroed sockaddr_ll is valid; bind with protocol 0 keeps
        // the socket out of every receive path.
        let rc = unsafe {
            let mut sll: libc::sockaddr_ll = zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = 0;
            sll.sll_ifindex = ifindex as i32;
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("bind AF_PACKET to ifindex {ifindex}: {e}"),
            ));
        }
        Ok(PacketSender {
            fd: super::vrrp_socket::register(fd, Interest::WRITABLE)?,
            ifindex,
        })
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Send one complete Ethernet frame out of the bound interface.
    pub async fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            // SAFETY: sending from a live slice on a bound packet socket.
            let n = unsafe {
                libc::send(
                    self.fd.get_ref().as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                return if n as usize == frame.len() {
                    Ok(())
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "short frame write",
                    ))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
            } else {
                return Err(e);
            }
        }
    }
}
