//! One group file (SPEC §2.2): keys, VIPs, the priority table, BFD.

use super::*;

/// Positions of a group's values, for the checks across files.
pub(crate) struct GroupMeta {
    pub(super) vrid_pos: Pos,
    pub(super) interface_pos: Pos,
    /// Aligned with `virtual_ips` then `excluded_ips`.
    pub(super) vip_pos: Vec<Pos>,
    pub(super) track_if_pos: Vec<Pos>,
}

pub(super) fn valid_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.len() <= 64
}

/// Parse `addr[/len]` (no prefix = host route).
pub(super) fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let s = s.trim();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("bad IP address {addr:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("bad prefix length {l:?} for {addr} (0..={max})")),
        },
    };
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!("{addr} cannot be a virtual address"));
    }
    if let IpAddr::V4(v4) = addr
        && v4.is_broadcast()
    {
        return Err(format!("{addr} cannot be a virtual address"));
    }
    Ok((addr, len))
}

pub(super) fn parse_vip(
    ctx: &mut FileCtx<'_>,
    key: &str,
    v: &Val<'_>,
    default_if: &str,
) -> Option<(VirtualIp, Pos)> {
    let (addr_v, iface) = match v.get_ref() {
        DeValue::Table(_) => {
            let t = ctx.table(v, &format!("`{key}` entry"), VIP_KEYS)?;
            let a = t.required(ctx, "address", &format!("`{key}` entry"))?;
            let iface = match t.get("interface") {
                Some(iv) => ctx.nonempty_string("interface", iv)?,
                None => default_if.to_string(),
            };
            (a, iface)
        }
        DeValue::String(_) => (v, default_if.to_string()),
        other => {
            ctx.err(
                &v.span(),
                format!(
                    "`{key}`: expected \"ADDRESS/PREFIX\" or {{ address = .., interface = .. }}, found {}",
                    type_name(other)
                ),
            );
            return None;
        }
    };
    let s = ctx.string("address", addr_v)?;
    match parse_cidr(&s) {
        Ok((address, prefix_len)) => Some((
            VirtualIp {
                address,
                prefix_len,
                interface: iface,
            },
            ctx.pos(addr_v.span().start),
        )),
        Err(e) => {
            ctx.err(&addr_v.span(), format!("`{key}`: {e}"));
            None
        }
    }
}

/// Parse one group file's document. Returns `None` if it had errors (which
/// are in `ctx`).
pub(super) fn parse_group(
    ctx: &mut FileCtx<'_>,
    name: &str,
    root: &DeTable<'_>,
    span: Range<usize>,
    host: &dyn HostView,
) -> Option<(GroupConfig, GroupMeta)> {
    let errors_before = ctx.errors.len();
    let what = format!("group {name:?}");
    let keys: Vec<&str> = GROUP_KEYS.iter().chain(trackers::KEYS).copied().collect();
    let t = ctx.table_of(root, span, &what, &keys);

    let vrid_v = t.required(ctx, "vrid", &what);
    let vrid = vrid_v
        .and_then(|v| ctx.integer("vrid", v, 1, 255))
        .map(|n| n as u8);
    let iface_v = t.required(ctx, "interface", &what);
    let interface = iface_v.and_then(|v| ctx.nonempty_string("interface", v));
    let priority = match t.get("priority") {
        Some(v) if matches!(v.get_ref(), DeValue::Table(_)) => priority_table(ctx, v, host),
        Some(v) => ctx.integer("priority", v, 1, 255).map(|n| n as u8),
        None => Some(100),
    };
    let version_v = t.get("version");
    let version = match version_v {
        Some(v) => ctx
            .integer("version", v, 2, 3)
            .map(|n| if n == 2 { Version::V2 } else { Version::V3 }),
        None => Some(Version::V3),
    };
    let iface_name = interface.clone().unwrap_or_default();

    // virtual_ips: tracked, one family. Empty only in a group that runs
    // notify hooks (SPEC §2.2: cloud failover by API).
    let mut vips = Vec::new();
    let mut vip_pos = Vec::new();
    let mut family = None;
    let has_notify = t.get("notify").is_some_and(|n| match n.get_ref() {
        DeValue::Table(nt) => nt.iter().next().is_some(),
        _ => false,
    });
    let vips_v = if has_notify {
        t.get("virtual_ips")
    } else {
        t.required(ctx, "virtual_ips", &what)
    };
    if let Some(v) = vips_v
        && let Some(items) = ctx.array("virtual_ips", v)
    {
        if items.is_empty() && !has_notify {
            ctx.err(
                &v.span(),
                "`virtual_ips` must hold at least one address (or set [notify]: a group without VIPs only runs its hooks)",
            );
        }
        if items.len() > 255 {
            ctx.err(&v.span(), "`virtual_ips` holds more than 255 addresses (the advert's count field is one byte)");
        }
        for item in items {
            if let Some((vip, pos)) = parse_vip(ctx, "virtual_ips", item, &iface_name) {
                let f = Family::of(&vip.address);
                match family {
                    None => family = Some(f),
                    Some(first) if first != f => {
                        ctx.err(
                                &item.span(),
                                format!(
                                    "mixed address families in `virtual_ips`: {} is {}, the first address is {} (put the other family in its own group, or in `excluded_ips`)",
                                    vip.address,
                                    family_name(f),
                                    family_name(first)
                                ),
                            );
                        continue;
                    }
                    Some(_) => {}
                }
                if vips.iter().any(|x: &VirtualIp| x.address == vip.address) {
                    ctx.err(&item.span(), format!("{} is listed twice", vip.address));
                    continue;
                }
                vips.push(vip);
                vip_pos.push(pos);
            }
        }
    }
    if let (Some(Version::V2), Some(Family::V6)) = (version, family) {
        let sp = version_v.map(|v| v.span()).unwrap_or(0..0);
        ctx.err(
            &sp,
            "version 2 is IPv4 only; IPv6 virtual_ips need version = 3",
        );
    }

    let mut excluded = Vec::new();
    if let Some(v) = t.get("excluded_ips")
        && let Some(items) = ctx.array("excluded_ips", v)
    {
        for item in items {
            if let Some((vip, pos)) = parse_vip(ctx, "excluded_ips", item, &iface_name) {
                if vips
                    .iter()
                    .chain(excluded.iter())
                    .any(|x: &VirtualIp| x.address == vip.address)
                {
                    ctx.err(&item.span(), format!("{} is listed twice", vip.address));
                    continue;
                }
                excluded.push(vip);
                vip_pos.push(pos);
            }
        }
    }

    // Advert interval: v3 10ms..40.95s in 10 ms steps, v2 whole seconds 1..255.
    let advert_interval_cs = match t.get("advert_interval") {
        None => Some(100u16),
        Some(v) => ctx.duration("advert_interval", v).and_then(|d| {
            let ms = d.as_millis();
            match version? {
                Version::V3 => {
                    if !(10..=40_950).contains(&ms) || ms % 10 != 0 {
                        ctx.err(
                            &v.span(),
                            format!(
                                "`advert_interval` = {}: VRRPv3 needs 10ms..=40.95s in steps of 10ms",
                                format_duration(d)
                            ),
                        );
                        None
                    } else {
                        Some((ms / 10) as u16)
                    }
                }
                Version::V2 => {
                    if !(1_000..=255_000).contains(&ms) || ms % 1000 != 0 {
                        ctx.err(
                            &v.span(),
                            format!(
                                "`advert_interval` = {}: VRRPv2 needs whole seconds 1s..=255s",
                                format_duration(d)
                            ),
                        );
                        None
                    } else {
                        Some((ms / 10) as u16)
                    }
                }
            }
        }),
    };

    let preempt = match t.get("preempt") {
        Some(v) => ctx.boolean("preempt", v),
        None => Some(true),
    };
    let preempt_delay = match t.get("preempt_delay") {
        Some(v) => ctx.duration_in(
            "preempt_delay",
            v,
            Duration::ZERO,
            Duration::from_secs(1000),
        ),
        None => Some(Duration::ZERO),
    };
    let start_state = match t.get("start_state") {
        Some(v) => ctx.choice("start_state", v, &["backup", "master"]).map(|i| {
            if i == 1 {
                if priority.is_some_and(|p| p < 255) {
                    ctx.warn(&v.span(), "start_state = \"master\" with priority < 255: like keepalived, the group waits one advert interval for a master before taking over (only the owner, priority 255, is master at once)");
                }
                StartState::Master
            } else {
                StartState::Backup
            }
        }),
        None => Some(StartState::Backup),
    };
    let checksum = match t.get("checksum") {
        Some(v) => ctx.choice("checksum", v, &["pseudo-header", "message"]).and_then(|i| {
            if version == Some(Version::V2) || family == Some(Family::V6) {
                ctx.err(&v.span(), "`checksum` applies to VRRPv3 over IPv4 only (v2 and IPv6 have one checksum form)");
                None
            } else {
                Some([ChecksumMode::PseudoHeader, ChecksumMode::Message][i])
            }
        }),
        None => Some(ChecksumMode::PseudoHeader),
    };

    // Unicast.
    let mut peers = Vec::new();
    let mut own_peers: Vec<(IpAddr, Range<usize>)> = Vec::new();
    if let Some(v) = t.get("unicast_peers")
        && let Some(items) = ctx.array("unicast_peers", v)
    {
        for item in items {
            if let Some(a) = ctx.ip("unicast_peers", item) {
                if let Some(f) = family
                    && Family::of(&a) != f
                {
                    ctx.err(
                        &item.span(),
                        format!(
                            "unicast peer {a} is {}, but the virtual_ips are {}",
                            family_name(Family::of(&a)),
                            family_name(f)
                        ),
                    );
                    continue;
                }
                if a.is_multicast() || a.is_unspecified() {
                    ctx.err(
                        &item.span(),
                        format!("unicast peer {a} is not a unicast address"),
                    );
                    continue;
                }
                if peers.contains(&a) || own_peers.iter().any(|(o, _)| *o == a) {
                    ctx.err(&item.span(), format!("unicast peer {a} is listed twice"));
                    continue;
                }
                // SPEC §2.2: one file for both nodes lists both; this
                // node's own entry is skipped (and is its default source).
                if host.knows_addresses() && host.address_interface(a).is_some() {
                    own_peers.push((a, item.span()));
                } else {
                    peers.push(a);
                }
            }
        }
    }
    let mut unicast_source = None;
    if let Some(v) = t.get("unicast_source")
        && let Some(s) = ctx.string("unicast_source", v)
        && !s.trim().is_empty()
    {
        match s.trim().parse::<IpAddr>() {
            Err(_) => ctx.err(&v.span(), format!("`unicast_source`: bad IP address {s:?}")),
            Ok(a) => {
                if family.is_some_and(|f| f != Family::of(&a)) {
                    ctx.err(
                        &v.span(),
                        format!(
                            "unicast_source {a} is {}, but the virtual_ips are {}",
                            family_name(Family::of(&a)),
                            family_name(family.unwrap_or(Family::V4))
                        ),
                    );
                } else {
                    // Listed in unicast_peers too: that is this node's entry.
                    if let Some(i) = peers.iter().position(|p| *p == a) {
                        own_peers.push((peers.remove(i), v.span()));
                        own_peers.rotate_right(1);
                    }
                    if peers.is_empty() && own_peers.is_empty() {
                        ctx.warn(
                            &v.span(),
                            "`unicast_source` is ignored without `unicast_peers` (multicast mode)",
                        );
                    }
                    unicast_source = Some(a);
                }
            }
        }
    }
    if let Some(v) = t.get("unicast_peers") {
        own_unicast_entry(ctx, v, &mut unicast_source, &own_peers, peers.is_empty());
    }
    let min_ttl = match t.get("min_ttl") {
        Some(v) => ctx.integer("min_ttl", v, 1, 255).and_then(|n| {
            if peers.is_empty() && n != 255 {
                ctx.err(&v.span(), format!("`min_ttl` = {n}: multicast adverts always need TTL 255 (RFC 5798 §5.1.1.3); min_ttl applies to unicast only"));
                None
            } else {
                Some(n as u8)
            }
        }),
        None => Some(if peers.is_empty() { 255 } else { 1 }),
    };
    let garp_repeat = match t.get("garp_repeat") {
        Some(v) => ctx.integer("garp_repeat", v, 0, 255).map(|n| n as u8),
        // keepalived's default (garp_master_repeat 5).
        None => Some(5),
    };
    let ndisc_router = match t.get("ndisc_router") {
        Some(v) => match v.get_ref() {
            DeValue::Boolean(b) => Some(if *b {
                NdiscRouter::On
            } else {
                NdiscRouter::Off
            }),
            _ => ctx
                .choice("ndisc_router", v, &["auto", "true", "false"])
                .map(|i| [NdiscRouter::Auto, NdiscRouter::On, NdiscRouter::Off][i]),
        },
        None => Some(NdiscRouter::Auto),
    };
    let garp_master_delay = match t.get("garp_master_delay") {
        Some(v) => ctx
            .duration_in(
                "garp_master_delay",
                v,
                Duration::ZERO,
                Duration::from_secs(3600),
            )
            .map(|d| (!d.is_zero()).then_some(d)),
        // keepalived's default (garp_master_delay 5).
        None => Some(Some(Duration::from_secs(5))),
    };
    let garp_interval = match t.get("garp_interval") {
        Some(v) => ctx.duration_in("garp_interval", v, Duration::ZERO, Duration::from_secs(10)),
        None => Some(Duration::from_millis(10)),
    };
    let garp_refresh = match t.get("garp_refresh") {
        Some(v) => ctx.duration("garp_refresh", v).and_then(|d| {
            if d.is_zero() {
                Some(None)
            } else if d < Duration::from_millis(100) || d > Duration::from_secs(86_400) {
                ctx.err(
                    &v.span(),
                    format!(
                        "`garp_refresh` = {}: use \"0s\" (off) or 100ms..=24h",
                        format_duration(d)
                    ),
                );
                None
            } else {
                Some(Some(d))
            }
        }),
        None => Some(None),
    };

    let auth = match t.get("auth") {
        Some(v) => version
            .and_then(|ver| parse_auth(ctx, v, ver, family))
            .map(Some),
        None => Some(None),
    };

    let bfd = match t.get("bfd") {
        Some(v) => parse_bfd(ctx, v, !peers.is_empty()).map(Some),
        None => Some(None),
    };

    // Trackers.
    let mut track_interfaces = Vec::new();
    let mut track_if_pos = Vec::new();
    if let Some(v) = t.get("track_interface") {
        for item in ctx.array("track_interface", v).unwrap_or(&[]) {
            let Some(tt) = ctx.table(item, "[[track_interface]]", TRACK_IF_KEYS) else {
                continue;
            };
            let nv = tt.required(ctx, "name", "[[track_interface]]");
            let name = nv.and_then(|nv| ctx.nonempty_string("name", nv));
            let weight = match tt.get("weight") {
                Some(w) => ctx.integer("weight", w, -254, 254).map(|n| n as i16),
                None => Some(0),
            };
            if let (Some(name), Some(weight), Some(nv)) = (name, weight, nv) {
                if track_interfaces
                    .iter()
                    .any(|x: &TrackInterface| x.name == name)
                {
                    ctx.err(&nv.span(), format!("interface {name:?} is tracked twice"));
                    continue;
                }
                track_if_pos.push(ctx.pos(nv.span().start));
                track_interfaces.push(TrackInterface { name, weight });
            }
        }
    }
    let track_scripts = trackers::track_scripts(ctx, &t);
    let file = ctx.file;
    let builtin = trackers::builtin(ctx, &t, file);
    let mut notify = NotifyConfig::default();
    if let Some(v) = t.get("notify")
        && let Some(nt) = ctx.table(v, "[notify]", NOTIFY_KEYS)
    {
        notify.master = nt.get("master").and_then(|x| ctx.argv("master", x));
        notify.backup = nt.get("backup").and_then(|x| ctx.argv("backup", x));
        notify.fault = nt.get("fault").and_then(|x| ctx.argv("fault", x));
        notify.stop = nt.get("stop").and_then(|x| ctx.argv("stop", x));
        notify.any = nt.get("any").and_then(|x| ctx.argv("any", x));
        notify.run_as = trackers::run_as(ctx, &nt).flatten();
    }

    // A group without VIPs takes its family from its unicast addresses, else
    // IPv4 (keepalived's default for an instance without addresses).
    let family = match family {
        Some(f) => Some(f),
        None => {
            let addrs: Vec<IpAddr> = unicast_source.iter().chain(peers.iter()).copied().collect();
            let f = addrs.first().map(Family::of).unwrap_or(Family::V4);
            if let Some(odd) = addrs.iter().find(|a| Family::of(a) != f)
                && let Some(v) = t.get("unicast_peers")
            {
                ctx.err(
                    &v.span(),
                    format!(
                        "unicast address {odd} is {}, but the group's other unicast addresses are {} (a group without VIPs takes its family from them)",
                        family_name(Family::of(odd)),
                        family_name(f)
                    ),
                );
            }
            if f == Family::V6 && version == Some(Version::V2) {
                let sp = version_v.map(|v| v.span()).unwrap_or(0..0);
                ctx.err(
                    &sp,
                    "version 2 is IPv4 only; IPv6 unicast addresses need version = 3",
                );
            }
            Some(f)
        }
    };
    let (virtual_routes, virtual_rules) = routes::parse(ctx, &t, family.unwrap_or(Family::V4));
    let vmac = vmac::parse_vmac(ctx, &t, vrid, family, interface.as_deref());
    if ctx.errors.len() > errors_before {
        return None;
    }
    let group = GroupConfig {
        name: name.to_string(),
        vrid: vrid?,
        interface: interface?,
        priority: priority?,
        version: version?,
        family: family?,
        advert_interval_cs: advert_interval_cs?,
        preempt: preempt?,
        preempt_delay: preempt_delay?,
        start_state: start_state?,
        checksum: checksum?,
        unicast_source,
        unicast_peers: peers,
        min_ttl: min_ttl?,
        garp_repeat: garp_repeat?,
        garp_interval: garp_interval?,
        garp_master_delay: garp_master_delay?,
        ndisc_router: ndisc_router?,
        garp_refresh: garp_refresh?,
        virtual_ips: vips,
        excluded_ips: excluded,
        auth: auth?,
        track_interfaces,
        track_scripts,
        builtin,
        notify,
        sync_group: None,
        bfd: bfd?,
        virtual_routes,
        virtual_rules,
        vmac: vmac?,
    };
    let meta = GroupMeta {
        vrid_pos: ctx.pos(vrid_v?.span().start),
        interface_pos: ctx.pos(iface_v?.span().start),
        vip_pos,
        track_if_pos,
    };
    Some((group, meta))
}

/// SPEC §2.2 `priority = { "192.0.2.1" = 150, "192.0.2.2" = 100 }`: one
/// file for both nodes; this node takes the entry of an address it has (the
/// kernel's view). No entry or two is an error. A host view that knows no
/// addresses (the first, kernel-less read of `vrrpd run`, `convert`) takes
/// the lowest entry: the read with the kernel's view decides.
pub(super) fn priority_table(
    ctx: &mut FileCtx<'_>,
    v: &Val<'_>,
    host: &dyn HostView,
) -> Option<u8> {
    let DeValue::Table(t) = v.get_ref() else {
        return None;
    };
    let mut entries = Vec::new();
    let mut ok = true;
    for (k, val) in t.iter() {
        let Ok(addr) = k.get_ref().trim().parse::<IpAddr>() else {
            ctx.err(
                &k.span(),
                format!(
                    "`priority`: table key {:?} is not an IP address (the table maps each node's address to its priority)",
                    k.get_ref()
                ),
            );
            ok = false;
            continue;
        };
        match ctx.integer("priority", val, 1, 255) {
            Some(p) => entries.push((addr, p as u8, k.span())),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if !host.knows_addresses() || entries.is_empty() {
        if entries.is_empty() {
            ctx.err(&v.span(), "`priority`: the table names no address");
        }
        return entries.iter().map(|e| e.1).min();
    }
    let mine: Vec<_> = entries
        .iter()
        .filter(|e| host.address_interface(e.0).is_some())
        .collect();
    match mine.as_slice() {
        [one] => Some(one.1),
        [] => {
            let list: Vec<String> = entries.iter().map(|e| e.0.to_string()).collect();
            ctx.err(
                &v.span(),
                format!(
                    "`priority`: no entry for this node: none of {} is an address of this host",
                    list.join(", ")
                ),
            );
            None
        }
        [first, second, ..] => {
            ctx.err(
                &second.2,
                format!(
                    "`priority`: two entries for this node: {} and {} are both addresses of this host",
                    first.0, second.0
                ),
            );
            None
        }
    }
}

/// After `unicast_peers` skipped this node's own entries: without
/// `unicast_source` the own entry is the source; two own entries, or no
/// peer left, are errors.
pub(super) fn own_unicast_entry(
    ctx: &mut FileCtx<'_>,
    v: &Val<'_>,
    source: &mut Option<IpAddr>,
    own: &[(IpAddr, Range<usize>)],
    no_peer_left: bool,
) {
    if let [(first, _), (second, span), ..] = own {
        ctx.err(
            span,
            format!("`unicast_peers`: {first} and {second} are both addresses of this host; list one entry per node"),
        );
    } else if let [(me, _)] = own
        && source.is_none()
    {
        *source = Some(*me);
    }
    if no_peer_left && !own.is_empty() {
        ctx.err(
            &v.span(),
            "`unicast_peers` names only this node's own address: list the peer too",
        );
    }
}

/// `[bfd]`: intervals 1 ms..=60 s (RFC 5880 counts microseconds; below a
/// millisecond the daemon's timers cannot keep up), multiplier 1..=255.
pub(super) fn parse_bfd(ctx: &mut FileCtx<'_>, v: &Val<'_>, unicast: bool) -> Option<BfdConfig> {
    let t = ctx.table(v, "[bfd]", BFD_KEYS)?;
    if !unicast {
        ctx.err(
            &v.span(),
            "[bfd] needs `unicast_peers`: a session runs to each unicast peer (SPEC §1)",
        );
        return None;
    }
    let interval = |ctx: &mut FileCtx<'_>, key: &str| match t.get(key) {
        Some(x) => ctx.duration_in(key, x, Duration::from_millis(1), Duration::from_secs(60)),
        None => Some(Duration::from_millis(10)),
    };
    let min_tx = interval(ctx, "min_tx");
    let min_rx = interval(ctx, "min_rx");
    let multiplier = match t.get("multiplier") {
        Some(x) => ctx.integer("multiplier", x, 1, 255).map(|n| n as u8),
        None => Some(3),
    };
    Some(BfdConfig {
        min_tx: min_tx?,
        min_rx: min_rx?,
        multiplier: multiplier?,
    })
}
