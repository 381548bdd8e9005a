//! keepalived's `virtual_routes { ... }` and `virtual_rules { ... }` blocks
//! (one `ip route` / `ip rule`-like line each, keepalived's
//! `vrrp_iproute.c` / `vrrp_iprule.c` parsers) to `[[virtual_route]]` /
//! `[[virtual_rule]]`.
//!
//! Mapped: route `[TYPE] [to] PREFIX|default [via|gw ADDR] [src ADDR]
//! [dev|oif IF] [table T] [metric|priority|preference N]` with TYPE one of
//! unicast, blackhole, unreachable, prohibit; rule `[from P|all] [to P|all]
//! [iif IF] [oif IF] [fwmark N] [table|lookup T] [pref|priority|preference
//! N] [blackhole|unreachable|prohibit] [inet|inet6]`. Tables by number or
//! `main` / `default` / `local`. An entry with anything else (multipath `or`,
//! `onlink`, `mtu`, `goto`, a table name from rt_tables, ...) is reported as
//! not mapped as a whole: a route without its `onlink` is another route.
//! `scope` is left to vrrpd (link for a route without `via`), and `no_track`
//! is what vrrpd always does (it does not watch its routes): notes.

use std::net::IpAddr;

use crate::proto::routes::{Prefix, RouteKind};

use super::output::{FamilyName, RouteFile, RuleFile, RuleType};
use super::{Mapper, ReportKind, Stmt, Word, seedable};

/// A route whose destination is `default`: its family is the instance's
/// unless a `via` or `src` says otherwise (resolved when the file is built).
#[derive(Clone, Debug)]
pub(super) struct RouteDraft {
    pub file: RouteFile,
    pub default_dst: bool,
}

/// `default` / `all` as a prefix of the family.
pub(super) fn default_prefix(v6: bool) -> Prefix {
    let addr = if v6 {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    };
    Prefix { addr, len: 0 }
}

fn table_number(w: &str) -> Option<u32> {
    match w {
        "main" => Some(254),
        "default" => Some(253),
        "local" => Some(255),
        n => n.parse::<u32>().ok().filter(|&n| n > 0),
    }
}

fn number(w: &str) -> Option<u32> {
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => w.parse().ok(),
    }
}

/// The words of one line: the statement's keyword, then its arguments.
fn words(s: &Stmt) -> Vec<&Word> {
    std::iter::once(&s.key).chain(s.args.iter()).collect()
}

impl Mapper {
    fn entry_not_mapped(&mut self, block: &Stmt, line: &Stmt, why: String) {
        let text: Vec<&str> = words(line).iter().map(|w| w.text.as_str()).collect();
        let loc = line.loc().clone();
        self.report(
            &loc,
            &block.key.text,
            ReportKind::NotMapped,
            format!("`{}`: {why}", text.join(" ")),
        );
    }

    fn note_options(&mut self, block: &Stmt, w: &Word, what: &str) {
        let loc = w.loc.clone();
        self.report(&loc, &block.key.text, ReportKind::Note, what.to_string());
    }

    pub(super) fn route_block(&mut self, b: &Stmt, out: &mut Vec<RouteDraft>) {
        for line in b.children() {
            match self.route_line(b, line) {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {}
                Err(why) => self.entry_not_mapped(b, line, why),
            }
        }
    }

    fn route_line(&mut self, b: &Stmt, line: &Stmt) -> Result<Option<RouteDraft>, String> {
        let w = words(line);
        let mut f = RouteFile {
            // Set below, once the family is known.
            to: default_prefix(false),
            via: None,
            dev: None,
            src: None,
            table: None,
            metric: None,
            kind: None,
        };
        let mut dst: Option<(String, bool)> = None;
        let mut fams: Vec<IpAddr> = Vec::new();
        let mut i = 0;
        let arg = |i: usize| {
            w.get(i + 1)
                .map(|x| x.text.clone())
                .ok_or_else(|| format!("`{}` needs a value", w[i].text))
        };
        let addr = |s: &str| {
            s.parse::<IpAddr>()
                .map_err(|_| format!("cannot read the address {s:?}"))
        };
        while i < w.len() {
            let t = w[i].text.as_str();
            match t {
                "unicast" => {}
                "blackhole" => f.kind = Some(RouteKind::Blackhole),
                "unreachable" => f.kind = Some(RouteKind::Unreachable),
                "prohibit" => f.kind = Some(RouteKind::Prohibit),
                "throw" | "local" | "broadcast" | "anycast" | "multicast" | "nat" => {
                    return Err(format!("route type {t} is not supported by vrrpd"));
                }
                "to" => {
                    dst = Some((arg(i)?, false));
                    i += 1;
                }
                "via" | "gw" => {
                    let a = addr(&arg(i)?)?;
                    fams.push(a);
                    f.via = Some(a);
                    i += 1;
                }
                "src" => {
                    let a = addr(&arg(i)?)?;
                    fams.push(a);
                    f.src = Some(a);
                    i += 1;
                }
                "dev" | "oif" => {
                    f.dev = Some(seedable(&arg(i)?));
                    i += 1;
                }
                "table" => {
                    let v = arg(i)?;
                    f.table = Some(table_number(&v).ok_or_else(|| {
                        format!("table {v:?}: only numbers and main/default/local are mapped (vrrpd does not read rt_tables)")
                    })?);
                    i += 1;
                }
                "metric" | "priority" | "preference" => {
                    let v = arg(i)?;
                    f.metric = Some(number(&v).ok_or_else(|| format!("cannot read {t} {v:?}"))?);
                    i += 1;
                }
                "scope" => {
                    self.note_options(b, w[i], "scope: vrrpd gives a route without `via` link scope and any other universe scope, as `ip route` does");
                    i += 1;
                }
                "no_track" => self.note_options(
                    b,
                    w[i],
                    "no_track: vrrpd never watches its routes (a route deleted behind its back comes back with the next mastership)",
                ),
                "or" | "nexthop" | "onlink" | "pervasive" | "proto" | "protocol" | "mtu"
                | "advmss" | "realms" | "expires" | "rtt" | "rttvar" | "reordering" | "window"
                | "cwnd" | "ssthresh" | "initcwnd" | "initrwnd" | "features" | "quickack"
                | "congctl" | "pref" | "fastopen_no_cookie" | "encap" | "tos" | "dsfield"
                | "track_group" | "hoplimit" | "rto_min" | "ttl-propagate" => {
                    return Err(format!("option `{t}` is not supported by vrrpd"));
                }
                other => {
                    if dst.is_some() {
                        return Err(format!("unknown word {other:?}"));
                    }
                    dst = Some((other.to_string(), false));
                }
            }
            i += 1;
        }
        let Some((d, _)) = dst else {
            return Err("no destination".into());
        };
        let default_dst = d == "default" || d == "all";
        if default_dst {
            f.to = default_prefix(fams.first().is_some_and(IpAddr::is_ipv6));
        } else {
            let p = Prefix::parse(&d)?;
            fams.insert(0, p.addr);
            f.to = p;
        }
        let v6 = |a: &IpAddr| a.is_ipv6();
        if fams.iter().any(v6) && !fams.iter().all(v6) {
            return Err("mixed address families".into());
        }
        if f.kind.is_none() && f.via.is_none() && f.dev.is_none() {
            return Err("a unicast route needs `via` or `dev`".into());
        }
        if f.kind.is_some() && (f.via.is_some() || f.dev.is_some()) {
            return Err("a blackhole/unreachable/prohibit route takes no `via` or `dev`".into());
        }
        Ok(Some(RouteDraft {
            file: f,
            default_dst: default_dst && fams.is_empty(),
        }))
    }

    pub(super) fn rule_block(&mut self, b: &Stmt, out: &mut Vec<RuleFile>) {
        for line in b.children() {
            match self.rule_line(b, line) {
                Ok(r) => out.push(r),
                Err(why) => self.entry_not_mapped(b, line, why),
            }
        }
    }

    fn rule_line(&mut self, b: &Stmt, line: &Stmt) -> Result<RuleFile, String> {
        let w = words(line);
        let mut f = RuleFile::default();
        let mut fams: Vec<bool> = Vec::new();
        let mut i = 0;
        let arg = |i: usize| {
            w.get(i + 1)
                .map(|x| x.text.clone())
                .ok_or_else(|| format!("`{}` needs a value", w[i].text))
        };
        while i < w.len() {
            let t = w[i].text.as_str();
            match t {
                "from" | "to" => {
                    let v = arg(i)?;
                    if v != "all" {
                        let p = Prefix::parse(&v)?;
                        fams.push(p.addr.is_ipv6());
                        if t == "from" {
                            f.from = Some(p);
                        } else {
                            f.to = Some(p);
                        }
                    }
                    i += 1;
                }
                "table" | "lookup" => {
                    let v = arg(i)?;
                    f.table = Some(table_number(&v).ok_or_else(|| {
                        format!("table {v:?}: only numbers and main/default/local are mapped (vrrpd does not read rt_tables)")
                    })?);
                    i += 1;
                }
                "preference" | "priority" | "pref" | "order" => {
                    let v = arg(i)?;
                    f.preference = Some(number(&v).ok_or_else(|| format!("cannot read {t} {v:?}"))?);
                    i += 1;
                }
                "fwmark" => {
                    let v = arg(i)?;
                    let (mark, mask) = match v.split_once('/') {
                        Some((m, k)) => (m, Some(k)),
                        None => (v.as_str(), None),
                    };
                    if mask.is_some_and(|k| number(k) != Some(u32::MAX)) {
                        return Err("a fwmark mask is not supported by vrrpd".into());
                    }
                    f.fwmark = Some(number(mark).ok_or_else(|| format!("cannot read fwmark {v:?}"))?);
                    i += 1;
                }
                "iif" | "oif" => {
                    let v = seedable(&arg(i)?);
                    if t == "iif" {
                        f.iif = Some(v);
                    } else {
                        f.oif = Some(v);
                    }
                    i += 1;
                }
                "blackhole" => f.kind = Some(RuleType::Blackhole),
                "unreachable" => f.kind = Some(RuleType::Unreachable),
                "prohibit" => f.kind = Some(RuleType::Prohibit),
                "inet" => fams.push(false),
                "inet6" => fams.push(true),
                "no_track" => self.note_options(
                    b,
                    w[i],
                    "no_track: vrrpd never watches its rules (a rule deleted behind its back comes back with the next mastership)",
                ),
                other => return Err(format!("`{other}` is not supported by vrrpd")),
            }
            i += 1;
        }
        if fams.iter().any(|&v| v) && !fams.iter().all(|&v| v) {
            return Err("mixed address families".into());
        }
        // Without addresses keepalived's rule is IPv4 unless `inet6`: say so,
        // since vrrpd's default would be the group's family.
        if f.from.is_none() && f.to.is_none() {
            let v6 = fams.first().copied().unwrap_or(false);
            f.family = Some(if v6 {
                FamilyName::Ipv6
            } else {
                FamilyName::Ipv4
            });
        }
        match (f.table.is_some(), f.kind.is_some()) {
            (true, true) => Err("both a table and a rule type".into()),
            (false, false) => Err("no table (vrrpd's rules either look up a table or are blackhole/unreachable/prohibit)".into()),
            _ => Ok(f),
        }
    }
}
