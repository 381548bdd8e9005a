//! `[[track_script]]`, the built-in trackers (`[[track_http]]`,
//! `[[track_tcp]]`, `[[track_process]]`, `[[track_file]]`) and `user` /
//! `group` (SPEC §2.2). Choices: `crate::config::trackers`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::{FileCtx, Table, Val, resolve_relative};
use crate::config::trackers::Probe;
use crate::config::{
    BuiltinTrackers, RunAs, TrackFile, TrackHttp, TrackProcess, TrackScript, TrackTcp,
};

const TRACK_SCRIPT_KEYS: &[&str] = &[
    "name", "command", "interval", "timeout", "rise", "fall", "weight", "user", "group",
];
const TRACK_HTTP_KEYS: &[&str] = &[
    "name",
    "url",
    "expect_status",
    "interval",
    "timeout",
    "rise",
    "fall",
    "weight",
];
const TRACK_TCP_KEYS: &[&str] = &[
    "name", "address", "interval", "timeout", "rise", "fall", "weight",
];
const TRACK_PROCESS_KEYS: &[&str] = &["name", "process", "args", "min", "delay", "weight"];
const TRACK_FILE_KEYS: &[&str] = &["name", "path", "weight"];

/// The group keys handled here.
pub(super) const KEYS: &[&str] = &[
    "track_script",
    "track_http",
    "track_tcp",
    "track_process",
    "track_file",
];

/// Every `[[KIND]]` table of the group file, with its `name` (unique per
/// kind) and span.
fn items<'t, 'i>(
    ctx: &mut FileCtx<'_>,
    group: &Table<'t, 'i>,
    kind: &str,
    keys: &[&str],
) -> Vec<(String, Table<'t, 'i>)> {
    let mut out: Vec<(String, Table<'t, 'i>)> = Vec::new();
    let Some(v) = group.get(kind) else {
        return out;
    };
    let what = format!("[[{kind}]]");
    for item in ctx.array(kind, v).unwrap_or(&[]) {
        let Some(tt) = ctx.table(item, &what, keys) else {
            continue;
        };
        let Some(nv) = tt.required(ctx, "name", &what) else {
            continue;
        };
        let Some(name) = ctx.nonempty_string("name", nv) else {
            continue;
        };
        if out.iter().any(|(n, _)| *n == name) {
            ctx.err(&nv.span(), format!("{kind} {name:?} is defined twice"));
            continue;
        }
        out.push((name, tt));
    }
    out
}

fn weight(ctx: &mut FileCtx<'_>, t: &Table<'_, '_>, default: i16) -> Option<i16> {
    match t.get("weight") {
        Some(x) => ctx.integer("weight", x, -254, 254).map(|n| n as i16),
        None => Some(default),
    }
}

/// interval/timeout/rise/fall/weight with track_script's defaults.
fn probe(ctx: &mut FileCtx<'_>, t: &Table<'_, '_>) -> Option<Probe> {
    let range = (Duration::from_millis(10), Duration::from_secs(3600));
    let interval = match t.get("interval") {
        Some(x) => ctx.duration_in("interval", x, range.0, range.1),
        None => Some(Duration::from_secs(1)),
    };
    let timeout = match t.get("timeout") {
        Some(x) => ctx.duration_in("timeout", x, range.0, range.1),
        None => interval,
    };
    let count = |ctx: &mut FileCtx<'_>, key: &str| match t.get(key) {
        Some(x) => ctx.integer(key, x, 1, 255).map(|n| n as u8),
        None => Some(1),
    };
    let rise = count(ctx, "rise");
    let fall = count(ctx, "fall");
    let weight = weight(ctx, t, 0);
    Some(Probe {
        interval: interval?,
        timeout: timeout?,
        rise: rise?,
        fall: fall?,
        weight: weight?,
    })
}

/// `[[track_script]]`.
pub(super) fn track_scripts(ctx: &mut FileCtx<'_>, group: &Table<'_, '_>) -> Vec<TrackScript> {
    let mut out = Vec::new();
    for (name, t) in items(ctx, group, "track_script", TRACK_SCRIPT_KEYS) {
        let command = t
            .required(ctx, "command", "[[track_script]]")
            .and_then(|c| ctx.argv("command", c));
        let p = probe(ctx, &t);
        let run_as = run_as(ctx, &t);
        if let (Some(command), Some(p), Some(run_as)) = (command, p, run_as) {
            out.push(TrackScript {
                name,
                command,
                interval: p.interval,
                timeout: p.timeout,
                rise: p.rise,
                fall: p.fall,
                weight: p.weight,
                run_as,
            });
        }
    }
    out
}

/// The built-in trackers.
pub(super) fn builtin(
    ctx: &mut FileCtx<'_>,
    group: &Table<'_, '_>,
    file: &std::path::Path,
) -> BuiltinTrackers {
    let mut b = BuiltinTrackers::default();
    for (name, t) in items(ctx, group, "track_http", TRACK_HTTP_KEYS) {
        let url = t
            .required(ctx, "url", "[[track_http]]")
            .and_then(|v| ctx.string("url", v).map(|s| (s, v)));
        let target = url.and_then(|(s, v)| match parse_url(&s) {
            Ok(t) => Some((s, t)),
            Err(e) => {
                ctx.err(&v.span(), format!("`url` = {s:?}: {e}"));
                None
            }
        });
        let expect = match t.get("expect_status") {
            None => Some(Vec::new()),
            Some(v) => ctx.array("expect_status", v).and_then(|xs| {
                let codes: Vec<Option<u16>> = xs
                    .iter()
                    .map(|x| ctx.integer("expect_status", x, 100, 599).map(|n| n as u16))
                    .collect();
                codes.into_iter().collect()
            }),
        };
        if let (Some((url, (connect, host, path))), Some(expect_status), Some(probe)) =
            (target, expect, probe(ctx, &t))
        {
            b.http.push(TrackHttp {
                name,
                url,
                connect,
                host,
                path,
                expect_status,
                probe,
            });
        }
    }
    for (name, t) in items(ctx, group, "track_tcp", TRACK_TCP_KEYS) {
        let address = t
            .required(ctx, "address", "[[track_tcp]]")
            .and_then(|v| socket_addr(ctx, "address", v));
        if let (Some(address), Some(probe)) = (address, probe(ctx, &t)) {
            b.tcp.push(TrackTcp {
                name,
                address,
                probe,
            });
        }
    }
    for (name, t) in items(ctx, group, "track_process", TRACK_PROCESS_KEYS) {
        let process = t
            .required(ctx, "process", "[[track_process]]")
            .and_then(|v| ctx.nonempty_string("process", v));
        let args = match t.get("args") {
            None => Some(Vec::new()),
            Some(v) => ctx.array("args", v).and_then(|xs| {
                let a: Vec<Option<String>> = xs.iter().map(|x| ctx.string("args", x)).collect();
                a.into_iter().collect()
            }),
        };
        let min = match t.get("min") {
            Some(v) => ctx.integer("min", v, 1, 65_535).map(|n| n as u32),
            None => Some(1),
        };
        let delay = match t.get("delay") {
            Some(v) => ctx.duration_in("delay", v, Duration::ZERO, Duration::from_secs(3600)),
            None => Some(Duration::ZERO),
        };
        if let (Some(process), Some(args), Some(min), Some(delay), Some(weight)) =
            (process, args, min, delay, weight(ctx, &t, 0))
        {
            b.process.push(TrackProcess {
                name,
                process,
                args,
                min,
                delay,
                weight,
            });
        }
    }
    for (name, t) in items(ctx, group, "track_file", TRACK_FILE_KEYS) {
        let path = t.required(ctx, "path", "[[track_file]]").and_then(|v| {
            let s = ctx.nonempty_string("path", v)?;
            let p = resolve_relative(file, &PathBuf::from(s.trim()));
            let dir = p.parent().map(std::path::Path::to_path_buf);
            match dir {
                Some(d) if d.is_dir() && p.file_name().is_some() => Some(p),
                _ => {
                    ctx.err(
                        &v.span(),
                        format!(
                            "`path` = {s:?}: the directory {} does not exist (the file may be missing, its directory may not)",
                            dir.unwrap_or_default().display()
                        ),
                    );
                    None
                }
            }
        });
        if let (Some(path), Some(weight)) = (path, weight(ctx, &t, 1)) {
            b.file.push(TrackFile { name, path, weight });
        }
    }
    b
}

fn socket_addr(ctx: &mut FileCtx<'_>, key: &str, v: &Val<'_>) -> Option<SocketAddr> {
    let s = ctx.string(key, v)?;
    match s.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.err(
                &v.span(),
                format!("`{key}`: expected ADDRESS:PORT like \"127.0.0.1:25\" or \"[::1]:25\", got {s:?}"),
            );
            None
        }
    }
}

/// `http://HOST[:PORT][/PATH]` with HOST an IP address (IPv6 in brackets)
/// or `localhost`. Returns (connect address, Host header, request target).
pub fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("expected http://HOST:PORT/PATH (plain HTTP only)")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    if path.chars().any(|c| c.is_ascii_control() || c == ' ') || authority.contains('@') {
        return Err("the path may not contain spaces or control characters".into());
    }
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, after) = h.split_once(']').ok_or("unclosed [ in the host")?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port: u16 = match port {
        None => 80,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("bad port {p:?}"))?,
    };
    let ip: IpAddr = if host == "localhost" {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse()
            .map_err(|_| format!("bad host {host:?}: expected an IP address or localhost"))?
    };
    Ok((SocketAddr::new(ip, port), authority.to_string(), path))
}

/// `user` / `group` (keepalived `script_user`): `None` on error, `Some(None)`
/// when neither is set.
pub(super) fn run_as(ctx: &mut FileCtx<'_>, t: &Table<'_, '_>) -> Option<Option<RunAs>> {
    let uv = t.get("user");
    let gv = t.get("group");
    if uv.is_none() && gv.is_none() {
        return Some(None);
    }
    let mut ok = true;
    let mut r = RunAs {
        user: None,
        group: None,
        uid: None,
        gid: None,
    };
    if let Some(v) = uv {
        if let Some(s) = ctx.nonempty_string("user", v) {
            let found = match s.parse::<u32>() {
                Ok(n) => Some((n, None)),
                Err(_) => nix::unistd::User::from_name(&s)
                    .ok()
                    .flatten()
                    .map(|u| (u.uid.as_raw(), Some(u.gid.as_raw()))),
            };
            match found {
                Some((uid, gid)) => {
                    r.uid = Some(uid);
                    r.gid = gid;
                }
                None => {
                    ctx.err(&v.span(), format!("`user` = {s:?}: no such user"));
                    ok = false;
                }
            }
            r.user = Some(s);
        } else {
            ok = false;
        }
    }
    if let Some(v) = gv {
        if let Some(s) = ctx.nonempty_string("group", v) {
            let found = match s.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => nix::unistd::Group::from_name(&s)
                    .ok()
                    .flatten()
                    .map(|g| g.gid.as_raw()),
            };
            match found {
                Some(gid) => r.gid = Some(gid),
                None => {
                    ctx.err(&v.span(), format!("`group` = {s:?}: no such group"));
                    ok = false;
                }
            }
            r.group = Some(s);
        } else {
            ok = false;
        }
    }
    ok.then_some(Some(r))
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        let (a, h, p) = parse_url("http://127.0.0.1:8404/health").unwrap();
        assert_eq!(
            (a.to_string(), h.as_str(), p.as_str()),
            ("127.0.0.1:8404".into(), "127.0.0.1:8404", "/health")
        );
        let (a, _, p) = parse_url("http://[::1]/").unwrap();
        assert_eq!((a.to_string(), p.as_str()), ("[::1]:80".into(), "/"));
        let (a, _, p) = parse_url("http://localhost:81").unwrap();
        assert_eq!((a.to_string(), p.as_str()), ("127.0.0.1:81".into(), "/"));
        for bad in [
            "https://127.0.0.1/",
            "http://proxy.example:80/",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:x/",
            "127.0.0.1:80",
            "http://127.0.0.1/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
