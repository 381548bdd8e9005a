//! `[[virtual_route]]` and `[[virtual_rule]]` of a group file (SPEC §2.2):
//! keepalived's `virtual_routes` / `virtual_rules`, present only while
//! master. Every error names the offending value's position.

use std::net::IpAddr;

use crate::proto::Family;
use crate::proto::routes::{Prefix, RouteKind, RuleAction, VirtualRoute, VirtualRule};

use super::{FileCtx, Table, Val, family_name};

const ROUTE_KEYS: &[&str] = &["to", "via", "dev", "src", "table", "metric", "type"];
const RULE_KEYS: &[&str] = &[
    "from",
    "to",
    "iif",
    "oif",
    "fwmark",
    "table",
    "type",
    "preference",
    "family",
];
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;
const U32_MAX: i64 = u32::MAX as i64;

fn prefix(ctx: &mut FileCtx<'_>, key: &str, v: &Val<'_>) -> Option<Prefix> {
    let s = ctx.string(key, v)?;
    match Prefix::parse(&s) {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.err(&v.span(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn ifname(ctx: &mut FileCtx<'_>, key: &str, v: &Val<'_>) -> Option<String> {
    let s = ctx.nonempty_string(key, v)?;
    if s.len() > IFNAME_MAX || s.contains('/') || s.contains(char::is_whitespace) {
        ctx.err(
            &v.span(),
            format!("`{key}`: {s:?} is not an interface name"),
        );
        return None;
    }
    Some(s)
}

/// An optional address of `family` (the family of the route's `to`).
fn same_family_ip(
    ctx: &mut FileCtx<'_>,
    key: &str,
    v: Option<&Val<'_>>,
    family: Option<Family>,
    ok: &mut bool,
) -> Option<IpAddr> {
    let v = v?;
    let Some(a) = ctx.ip(key, v) else {
        *ok = false;
        return None;
    };
    if let Some(f) = family
        && Family::of(&a) != f
    {
        ctx.err(
            &v.span(),
            format!(
                "mixed address families in a route: `{key}` {a} is {}, `to` is {}",
                family_name(Family::of(&a)),
                family_name(f)
            ),
        );
        *ok = false;
    }
    Some(a)
}

fn opt_u32(
    ctx: &mut FileCtx<'_>,
    t: &Table<'_, '_>,
    key: &str,
    min: i64,
    ok: &mut bool,
) -> Option<u32> {
    let v = t.get(key)?;
    match ctx.integer(key, v, min, U32_MAX) {
        Some(n) => Some(n as u32),
        None => {
            *ok = false;
            None
        }
    }
}

fn parse_route(ctx: &mut FileCtx<'_>, item: &Val<'_>) -> Option<VirtualRoute> {
    let w = "[[virtual_route]]";
    let t = ctx.table(item, w, ROUTE_KEYS)?;
    let mut ok = true;
    let to = t.required(ctx, "to", w).and_then(|v| prefix(ctx, "to", v));
    ok &= to.is_some();
    let family = to.map(|p| p.family());
    let via = same_family_ip(ctx, "via", t.get("via"), family, &mut ok);
    let src = same_family_ip(ctx, "src", t.get("src"), family, &mut ok);
    let dev = t.get("dev").and_then(|v| {
        let d = ifname(ctx, "dev", v);
        ok &= d.is_some();
        d
    });
    let table = opt_u32(ctx, &t, "table", 1, &mut ok);
    let metric = opt_u32(ctx, &t, "metric", 0, &mut ok);
    let kind = match t.get("type") {
        Some(v) => match ctx.choice("type", v, RouteKind::NAMES) {
            Some(i) => RouteKind::ALL[i],
            None => return None,
        },
        None => RouteKind::Unicast,
    };
    if kind == RouteKind::Unicast && via.is_none() && dev.is_none() && ok {
        ctx.err(
            &t.span,
            "[[virtual_route]]: a unicast route needs `via` or `dev` (or a `type` such as \"blackhole\")",
        );
        return None;
    }
    if kind != RouteKind::Unicast
        && let Some(v) = t.get("via").or(t.get("dev"))
    {
        ctx.err(
            &v.span(),
            format!(
                "[[virtual_route]]: a {} route takes no `via` or `dev`",
                kind.name()
            ),
        );
        return None;
    }
    if !ok {
        return None;
    }
    Some(VirtualRoute {
        to: to?,
        via,
        dev,
        src,
        table,
        metric,
        kind,
    })
}

fn parse_rule(ctx: &mut FileCtx<'_>, item: &Val<'_>, group_family: Family) -> Option<VirtualRule> {
    let w = "[[virtual_rule]]";
    let t = ctx.table(item, w, RULE_KEYS)?;
    let mut ok = true;
    let mut pick = |ctx: &mut FileCtx<'_>, key: &str| {
        let p = t.get(key).map(|v| (prefix(ctx, key, v), v));
        if let Some((None, _)) = p {
            ok = false;
        }
        p.and_then(|(p, v)| p.map(|p| (p, v.span())))
    };
    let from = pick(ctx, "from");
    let to = pick(ctx, "to");
    let explicit = match t.get("family") {
        Some(v) => match ctx.choice("family", v, &["ipv4", "ipv6"]) {
            Some(0) => Some((Family::V4, v.span())),
            Some(_) => Some((Family::V6, v.span())),
            None => return None,
        },
        None => None,
    };
    // The family: from the addresses, which must agree with each other and
    // with an explicit `family`; without any, the group's.
    let mut family = None;
    for (f, span, what) in [
        explicit.clone().map(|(f, s)| (f, s, "family")),
        from.clone().map(|(p, s)| (p.family(), s, "from")),
        to.clone().map(|(p, s)| (p.family(), s, "to")),
    ]
    .into_iter()
    .flatten()
    {
        match family {
            None => family = Some(f),
            Some(first) if first != f => {
                ctx.err(
                    &span,
                    format!(
                        "mixed address families in a rule: `{what}` is {}, the rule's other values are {}",
                        family_name(f),
                        family_name(first)
                    ),
                );
                return None;
            }
            Some(_) => {}
        }
    }
    let iif = t.get("iif").and_then(|v| {
        let d = ifname(ctx, "iif", v);
        ok &= d.is_some();
        d
    });
    let oif = t.get("oif").and_then(|v| {
        let d = ifname(ctx, "oif", v);
        ok &= d.is_some();
        d
    });
    let fwmark = opt_u32(ctx, &t, "fwmark", 0, &mut ok);
    let preference = opt_u32(ctx, &t, "preference", 1, &mut ok);
    let table = opt_u32(ctx, &t, "table", 1, &mut ok);
    let action = match (table, t.get("type")) {
        (Some(_), Some(v)) => {
            ctx.err(
                &v.span(),
                "[[virtual_rule]]: `type` and `table` exclude each other",
            );
            return None;
        }
        (Some(n), None) => RuleAction::Table(n),
        (None, Some(v)) => {
            match ctx.choice("type", v, &["blackhole", "unreachable", "prohibit"])? {
                0 => RuleAction::Blackhole,
                1 => RuleAction::Unreachable,
                _ => RuleAction::Prohibit,
            }
        }
        (None, None) => {
            if ok {
                ctx.err(
                    &t.span,
                    "[[virtual_rule]]: missing required key `table` (or a `type` such as \"blackhole\")",
                );
            }
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some(VirtualRule {
        family: family.unwrap_or(group_family),
        from: from.map(|(p, _)| p),
        to: to.map(|(p, _)| p),
        iif,
        oif,
        fwmark,
        action,
        preference,
    })
}

/// Both arrays of a group; a repeated entry is an error (it would be
/// installed once and removed twice).
pub(super) fn parse(
    ctx: &mut FileCtx<'_>,
    t: &Table<'_, '_>,
    group_family: Family,
) -> (Vec<VirtualRoute>, Vec<VirtualRule>) {
    let mut routes: Vec<VirtualRoute> = Vec::new();
    if let Some(v) = t.get("virtual_route") {
        for item in ctx.array("virtual_route", v).unwrap_or(&[]) {
            if let Some(r) = parse_route(ctx, item) {
                if routes.contains(&r) {
                    ctx.err(&item.span(), format!("virtual route {r} is listed twice"));
                    continue;
                }
                routes.push(r);
            }
        }
    }
    let mut rules: Vec<VirtualRule> = Vec::new();
    if let Some(v) = t.get("virtual_rule") {
        for item in ctx.array("virtual_rule", v).unwrap_or(&[]) {
            if let Some(r) = parse_rule(ctx, item, group_family) {
                if rules.contains(&r) {
                    ctx.err(&item.span(), format!("virtual rule {r} is listed twice"));
                    continue;
                }
                rules.push(r);
            }
        }
    }
    (routes, rules)
}
