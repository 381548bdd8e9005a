//! Virtual routes and policy rules (keepalived `virtual_routes` /
//! `virtual_rules`): present only while the group is master.
//!
//! The decision *when* they are present is the instance's
//! ([`super::instance::Action::AddRoutes`], `RemoveRoutes`, `UpdateRoutes`,
//! which follow the VIPs); this module holds the values and the pure diff a
//! reload applies while master. The shell turns them into netlink requests.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Family;

/// `address/len`, the address masked to its prefix. Serialized as the
/// string `"address/len"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Prefix::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Prefix {
    /// Parse `address[/len]` (no length: a host prefix). Host bits set
    /// under the mask are an error, as `ip route` makes them.
    pub fn parse(s: &str) -> Result<Prefix, String> {
        let s = s.trim();
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("bad IP address {a:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("bad prefix length {l:?} for {addr} (0..={max})")),
            },
        };
        let masked = mask(addr, len);
        if masked != addr {
            return Err(format!(
                "{s} has bits set beyond its prefix length (did you mean {masked}/{len}?)"
            ));
        }
        Ok(Prefix { addr, len })
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The kernel route type (`ip route add TYPE ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl RouteKind {
    pub const NAMES: &'static [&'static str] = &["unicast", "blackhole", "unreachable", "prohibit"];
    pub const ALL: [RouteKind; 4] = [
        RouteKind::Unicast,
        RouteKind::Blackhole,
        RouteKind::Unreachable,
        RouteKind::Prohibit,
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// One `[[virtual_route]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualRoute {
    pub to: Prefix,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// `None`: the main table (254).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(rename = "type")]
    pub kind: RouteKind,
}

impl VirtualRoute {
    pub fn family(&self) -> Family {
        self.to.family()
    }
}

impl fmt::Display for VirtualRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}", self.to)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}

/// What a matching rule does (`ip rule add ... lookup T | blackhole | ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Table(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `[[virtual_rule]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualRule {
    /// From the addresses; without any, the group's family.
    pub family: Family,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Prefix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Prefix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    pub action: RuleAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u32>,
}

impl fmt::Display for VirtualRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut part = |f: &mut fmt::Formatter<'_>, s: String| {
            let r = write!(f, "{sep}{s}");
            sep = " ";
            r
        };
        if let Some(p) = self.preference {
            part(f, format!("pref {p}"))?;
        }
        match self.from {
            Some(p) => part(f, format!("from {p}"))?,
            None => part(f, "from all".into())?,
        }
        if let Some(p) = self.to {
            part(f, format!("to {p}"))?;
        }
        if let Some(i) = &self.iif {
            part(f, format!("iif {i}"))?;
        }
        if let Some(o) = &self.oif {
            part(f, format!("oif {o}"))?;
        }
        if let Some(m) = self.fwmark {
            part(f, format!("fwmark {m:#x}"))?;
        }
        match self.action {
            RuleAction::Table(t) => part(f, format!("lookup {t}")),
            RuleAction::Blackhole => part(f, "blackhole".into()),
            RuleAction::Unreachable => part(f, "unreachable".into()),
            RuleAction::Prohibit => part(f, "prohibit".into()),
        }
    }
}

/// What a reload changes while master: the entries of `installed` no longer
/// wanted (to remove), then the entries of `wanted` not yet installed (to
/// add), each in its list's order. Entries equal in both stay untouched, so
/// a reload that keeps a route never blips it.
pub fn diff<T: PartialEq + Clone>(installed: &[T], wanted: &[T]) -> (Vec<T>, Vec<T>) {
    let remove = installed
        .iter()
        .filter(|x| !wanted.contains(x))
        .cloned()
        .collect();
    let add = wanted
        .iter()
        .filter(|x| !installed.contains(x))
        .cloned()
        .collect();
    (remove, add)
}

/// `addr` with every bit beyond `len` cleared.
fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}
