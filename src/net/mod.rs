//! Network I/O for the daemon shell: everything that touches the kernel.
//!
//! | module | what it does | needs |
//! |---|---|---|
//! | [`ifaces`] | [`Netlink`]: one long-lived rtnetlink connection. Resolves an interface name to index, MAC, oper/carrier state, IPv4 primary (first non-secondary) and IPv6 link-local; lists addresses; adds (`NLM_F_REPLACE`, IPv6 with `IFA_F_NODAD` so it is never "tentative") and removes addresses ("not there" is success); dumps links to re-sync. | reads: nothing; address changes: `CAP_NET_ADMIN` |
//! | [`events`] | [`NetEvents`]: a separate multicast rtnetlink connection (link, IPv4 and IPv6 address groups) yielding [`NetEvent`]s; ENOBUFS becomes [`NetEvent::Overrun`], after which the daemon re-dumps. | nothing |
//! | [`vrrp_socket`] | [`VrrpSocketV4`] (raw 112 or 51, IP_HDRINCL send with per-datagram IP_PKTINFO interface choice, IP_PKTINFO receive, whole datagram returned) and [`VrrpSocketV6`] (receive without kernel checksum checks, hop limit/pktinfo/tclass control data; separate send socket with kernel checksum at offset 6, hop limit 255, tclass 0xc0, per-send source and interface). Per-interface joins of 224.0.0.18 / ff02::12. | `CAP_NET_RAW` |
//! | [`routes`] | virtual routes and rules (`[[virtual_route]]`, `[[virtual_rule]]`): add with NLM_F_EXCL, delete, start-up cleanup, all marked with route protocol 112. | `CAP_NET_ADMIN` |
//! | [`packet_socket`] | [`PacketSender`]: AF_PACKET `SOCK_RAW` bound to one interface with protocol 0 (receives nothing) to send the gratuitous ARP / unsolicited NA frames of [`crate::proto::frames`]. | `CAP_NET_RAW` |
//!
//! Every socket and netlink connection belongs to the network namespace of
//! the thread that opens it, and everything here is async on tokio: the raw
//! and packet sockets are non-blocking behind [`tokio::io::unix::AsyncFd`],
//! and the netlink connections spawn their driver task on the current
//! runtime, so constructors must run inside one.

pub mod bfd_socket;
pub mod events;
pub mod ifaces;
pub mod packet_socket;
pub mod routes;
pub mod sysctl;
pub mod vmac;
pub mod vrrp_socket;

pub use events::{NetEvent, NetEvents};
pub use ifaces::{IfAddr, Interface, LinkInfo, Netlink, OperState, VRRPD_ADDR_PROTO, VipAdd};
pub use packet_socket::PacketSender;
pub use vrrp_socket::{Received, VrrpSocketV4, VrrpSocketV6};

/// Errors of the netlink side (socket errors are plain `io::Error`).
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("netlink request failed: {0}")]
    Netlink(#[from] rtnetlink::Error),
    #[error("no interface named {0:?}")]
    NoSuchInterface(String),
    #[error("no interface with index {0}")]
    NoSuchIndex(u32),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl NetError {
    pub(crate) fn io(context: &'static str, source: std::io::Error) -> NetError {
        NetError::Io { context, source }
    }
}
