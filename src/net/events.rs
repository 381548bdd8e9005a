//! Link and address change notifications from a dedicated rtnetlink
//! multicast connection (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR). Needs no privilege.
//!
//! Netlink multicast is lossy: when the socket's receive buffer fills, the
//! kernel drops notifications and the next read fails with ENOBUFS. That
//! surfaces here as [`NetEvent::Overrun`]; the daemon must then re-read the
//! state it cares about ([`super::Netlink::dump_links`],
//! [`super::Netlink::addresses`]).

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::channel::mpsc::UnboundedReceiver;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{AsyncSocket, SocketAddr};

use super::NetError;
use super::ifaces::{if_addr, link_info};

/// One change in the kernel's view of links and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// RTM_NEWLINK: a link appeared or changed (state, name, MAC, ...). The
    /// kernel sends these for changes VRRP does not care about too, so the
    /// same `up` may repeat: compare with what you knew.
    LinkChanged {
        ifindex: u32,
        name: String,
        /// Admin up, carrier, operationally up (see [`super::LinkInfo::up`]).
        up: bool,
    },
    /// RTM_DELLINK: the interface is gone.
    LinkRemoved { ifindex: u32, name: String },
    /// RTM_NEWADDR: an address was added (or its flags changed, e.g. DAD
    /// finished).
    AddressAdded {
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    },
    /// RTM_DELADDR: an address was removed.
    AddressRemoved { ifindex: u32, addr: IpAddr },
    /// Notifications were lost (ENOBUFS): re-dump links and addresses.
    Overrun,
}

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// The event stream. Dropping it closes the multicast connection.
pub struct NetEvents {
    messages: Messages,
    task: tokio::task::JoinHandle<()>,
}

/// Receive buffer asked for by [`NetEvents::new`]: room for a burst of a few
/// thousand notifications (capped by net.core.rmem_max).
pub const DEFAULT_RCVBUF: usize = 1 << 20;

impl NetEvents {
    /// Subscribe in the calling thread's network namespace; spawns the
    /// connection driver on the current tokio runtime.
    pub fn new() -> Result<NetEvents, NetError> {
        NetEvents::with_rcvbuf(DEFAULT_RCVBUF)
    }

    /// Like [`NetEvents::new`] with an explicit SO_RCVBUF size (tests use a
    /// tiny one to provoke an overrun).
    pub fn with_rcvbuf(bytes: usize) -> Result<NetEvents, NetError> {
        let (mut conn, _handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(|e| NetError::io("netlink multicast socket", e))?;
        conn.socket_mut()
            .socket_mut()
            .set_rx_buf_sz(bytes)
            .map_err(|e| NetError::io("netlink SO_RCVBUF", e))?;
        let task = tokio::spawn(conn);
        Ok(NetEvents { messages, task })
    }

    /// The next event; `None` only if the connection died.
    pub async fn next(&mut self) -> Option<NetEvent> {
        futures::StreamExt::next(self).await
    }
}

impl Drop for NetEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Translate one netlink message; `None` for messages that are no event.
pub fn translate(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    match &msg.payload {
        NetlinkPayload::Overrun(_) => Some(NetEvent::Overrun),
        NetlinkPayload::InnerMessage(inner) => match inner {
            RouteNetlinkMessage::NewLink(m) => {
                let l = link_info(m);
                Some(NetEvent::LinkChanged {
                    ifindex: l.index,
                    name: l.name,
                    up: l.up,
                })
            }
            RouteNetlinkMessage::DelLink(m) => {
                let l = link_info(m);
                Some(NetEvent::LinkRemoved {
                    ifindex: l.index,
                    name: l.name,
                })
            }
            RouteNetlinkMessage::NewAddress(m) => if_addr(m).map(|a| NetEvent::AddressAdded {
                ifindex: a.ifindex,
                addr: a.addr,
                prefix_len: a.prefix_len,
            }),
            RouteNetlinkMessage::DelAddress(m) => if_addr(m).map(|a| NetEvent::AddressRemoved {
                ifindex: a.ifindex,
                addr: a.addr,
            }),
            _ => None,
        },
        _ => None,
    }
}

impl Stream for NetEvents {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            match Pin::new(&mut self.messages).poll_next(cx) {
                Poll::Ready(Some((msg, _))) => {
                    if let Some(ev) = translate(&msg) {
                        return Poll::Ready(Some(ev));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
