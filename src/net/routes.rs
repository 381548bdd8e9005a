//! Virtual routes and policy rules through rtnetlink (`ip route` / `ip rule`
//! without the `ip` command).
//!
//! Everything vrrpd adds carries the route protocol [`VRRPD_ROUTE_PROTO`]
//! (RTM_NEWROUTE's rtm_protocol; FRA_PROTOCOL for rules, Linux >= 4.17):
//! `ip route show table all proto 112`, `ip rule show protocol 112`. Every
//! delete names that protocol, and the kernel matches it (fib_table_delete,
//! ip6_route_del, rule_find), so no path removes an operator's route or rule
//! that happens to look the same. Adds use NLM_F_EXCL: an identical route
//! already there is left alone ([`Installed::Exists`]), never taken over.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{self, RuleAttribute, RuleMessage};
use rtnetlink::{IpVersion, RouteMessageBuilder};

use super::ifaces::netlink_errno;
use super::{NetError, Netlink};
use crate::proto::Family;
use crate::proto::routes::{RouteKind, RuleAction, VirtualRoute, VirtualRule};

/// The route / rule protocol vrrpd marks its entries with: 112, the VRRP IP
/// protocol number, as on its addresses (IFA_PROTO). keepalived uses 18
/// (RTPROT_KEEPALIVED), so the two never remove each other's routes.
pub const VRRPD_ROUTE_PROTO: u8 = 112;

/// What an add did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// Added, with our mark.
    Added,
    /// An identical route or rule that is not ours is there (EEXIST): left
    /// alone, and never to be removed.
    Exists,
}

fn invalid(e: impl std::fmt::Display) -> NetError {
    NetError::io(
        "route",
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    )
}

/// The RTM_NEWROUTE / RTM_DELROUTE message for `r`; `oif`: the index of
/// `r.dev`.
pub fn route_message(r: &VirtualRoute, oif: Option<u32>) -> Result<RouteMessage, NetError> {
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(r.to.addr, r.to.len)
        .map_err(invalid)?;
    if let Some(v) = r.via {
        b = b.gateway(v).map_err(invalid)?;
    }
    if let Some(s) = r.src {
        b = b.pref_source(s).map_err(invalid)?;
    }
    if let Some(i) = oif {
        b = b.output_interface(i);
    }
    if let Some(t) = r.table {
        b = b.table_id(t);
    }
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    let kind = match r.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
    };
    // A directly connected route (dev, no via) has link scope, as `ip
    // route` gives it; IPv6 ignores the scope.
    let scope = if r.kind == RouteKind::Unicast && r.via.is_none() {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    Ok(b.protocol(RouteProtocol::Other(VRRPD_ROUTE_PROTO))
        .kind(kind)
        .scope(scope)
        .build())
}

/// The RTM_NEWRULE / RTM_DELRULE message for `r`.
pub fn rule_message(r: &VirtualRule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = match r.family {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    };
    let a = &mut m.attributes;
    if let Some(p) = r.from {
        m.header.src_len = p.len;
        a.push(RuleAttribute::Source(p.addr));
    }
    if let Some(p) = r.to {
        m.header.dst_len = p.len;
        a.push(RuleAttribute::Destination(p.addr));
    }
    if let Some(i) = &r.iif {
        a.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        a.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(f) = r.fwmark {
        a.push(RuleAttribute::FwMark(f));
    }
    if let Some(p) = r.preference {
        a.push(RuleAttribute::Priority(p));
    }
    m.header.action = match r.action {
        RuleAction::Table(t) => {
            // The header's byte for small ids, FRA_TABLE always (as `ip rule`).
            m.header.table = u8::try_from(t).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
            a.push(RuleAttribute::Table(t));
            rule::RuleAction::ToTable
        }
        RuleAction::Blackhole => rule::RuleAction::Blackhole,
        RuleAction::Unreachable => rule::RuleAction::Unreachable,
        RuleAction::Prohibit => rule::RuleAction::Prohibit,
    };
    a.push(RuleAttribute::Protocol(RouteProtocol::Other(
        VRRPD_ROUTE_PROTO,
    )));
    m
}

fn is_ours_route(m: &RouteMessage) -> bool {
    u8::from(m.header.protocol) == VRRPD_ROUTE_PROTO
}

fn is_ours_rule(m: &RuleMessage) -> bool {
    m.attributes
        .iter()
        .any(|a| matches!(a, RuleAttribute::Protocol(p) if u8::from(*p) == VRRPD_ROUTE_PROTO))
}

/// "Not there" answers of a delete.
fn gone(e: &rtnetlink::Error) -> bool {
    matches!(
        netlink_errno(e),
        Some(libc::ESRCH) | Some(libc::ENOENT) | Some(libc::ENODEV)
    )
}

impl Netlink {
    /// Add `r` (NLM_F_EXCL) with our mark. Errors carry the kernel's answer
    /// (e.g. "Network is unreachable" for a `via` no route reaches).
    pub async fn add_route(
        &self,
        r: &VirtualRoute,
        oif: Option<u32>,
    ) -> Result<Installed, NetError> {
        let msg = route_message(r, oif)?;
        match self.handle().route().add(msg).execute().await {
            Ok(()) => Ok(Installed::Added),
            Err(e) if netlink_errno(&e) == Some(libc::EEXIST) => Ok(Installed::Exists),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Remove `r` if it carries our mark; whether one was removed.
    pub async fn del_route(&self, r: &VirtualRoute, oif: Option<u32>) -> Result<bool, NetError> {
        let mut msg = route_message(r, oif)?;
        // Any scope: the kernel matches the rest (and our protocol).
        msg.header.scope = RouteScope::NoWhere;
        match self.handle().route().del(msg).execute().await {
            Ok(()) => Ok(true),
            Err(e) if gone(&e) => Ok(false),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Add `r` (NLM_F_EXCL) with our mark.
    pub async fn add_rule(&self, r: &VirtualRule) -> Result<Installed, NetError> {
        let mut req = self.handle().rule().add();
        *req.message_mut() = rule_message(r);
        match req.execute().await {
            Ok(()) => Ok(Installed::Added),
            Err(e) if netlink_errno(&e) == Some(libc::EEXIST) => Ok(Installed::Exists),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Remove `r` if it carries our mark; whether one was removed.
    pub async fn del_rule(&self, r: &VirtualRule) -> Result<bool, NetError> {
        match self.handle().rule().del(rule_message(r)).execute().await {
            Ok(()) => Ok(true),
            Err(e) if gone(&e) => Ok(false),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }

    /// Start-up cleanup (SPEC §4): remove every route (any table) and rule
    /// of both families that carries our mark, left by a run that could not
    /// clean up (SIGKILL, a crash). Returns how many routes and rules went.
    pub async fn remove_marked_routes_and_rules(&self) -> Result<(usize, usize), NetError> {
        let mut routes = Vec::new();
        let v4 = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let v6 = RouteMessageBuilder::<Ipv6Addr>::new().build();
        for dump in [v4, v6] {
            let msgs: Vec<RouteMessage> = self
                .handle()
                .route()
                .get(dump)
                .execute()
                .try_collect()
                .await?;
            routes.extend(msgs.into_iter().filter(is_ours_route));
        }
        let mut n_routes = 0;
        for mut m in routes {
            // Keep what identifies the route; drop what the kernel reports
            // but does not take back (cache info, ...).
            m.attributes.retain(|a| {
                matches!(
                    a,
                    RouteAttribute::Destination(_)
                        | RouteAttribute::Gateway(_)
                        | RouteAttribute::Oif(_)
                        | RouteAttribute::Table(_)
                        | RouteAttribute::Priority(_)
                        | RouteAttribute::PrefSource(_)
                        | RouteAttribute::Via(_)
                )
            });
            match self.handle().route().del(m).execute().await {
                Ok(()) => n_routes += 1,
                Err(e) if gone(&e) => {}
                Err(e) => return Err(NetError::Netlink(e)),
            }
        }
        let mut n_rules = 0;
        for v in [IpVersion::V4, IpVersion::V6] {
            let msgs: Vec<RuleMessage> =
                self.handle().rule().get(v).execute().try_collect().await?;
            for m in msgs.into_iter().filter(is_ours_rule) {
                match self.handle().rule().del(m).execute().await {
                    Ok(()) => n_rules += 1,
                    Err(e) if gone(&e) => {}
                    Err(e) => return Err(NetError::Netlink(e)),
                }
            }
        }
        Ok((n_routes, n_rules))
    }
}
