//! `[auth]` of a group: pass, ah and hmac keys, secrets from files (SPEC §2.2).

use super::*;

/// Warn when `path`, which holds the secret of `key`, can be read by users
/// other than its owner and group (mode o+r, e.g. 0644).
pub(super) fn warn_if_readable_by_others(
    ctx: &mut FileCtx<'_>,
    span: &Range<usize>,
    path: &Path,
    key: &str,
) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        ctx.warn(
            span,
            format!(
                "`{key}`: {} holds a secret and is readable by every user (mode {:04o}); \
                 chmod o-r it (0600 or 0640)",
                path.display(),
                meta.permissions().mode() & 0o7777
            ),
        );
    }
}

/// Longest key file read for a `file:` secret.
pub(super) const MAX_KEY_FILE: u64 = 64 * 1024;

/// Read a `file:` secret: a regular file (never a FIFO, device or directory,
/// which could block or never end: `file:/dev/zero`) of at most
/// [`MAX_KEY_FILE`] bytes.
pub(super) fn read_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(std::io::Error::other(format!(
            "longer than {MAX_KEY_FILE} bytes"
        )));
    }
    Ok(buf)
}

pub(super) fn parse_secret(ctx: &mut FileCtx<'_>, key: &str, v: &Val<'_>) -> Option<Secret> {
    let s = ctx.string(key, v)?;
    let bytes = if let Some(hex) = s.strip_prefix("hex:") {
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        if !hex.len().is_multiple_of(2) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            ctx.err(
                &v.span(),
                format!("`{key}`: \"hex:\" must be followed by an even number of hex digits"),
            );
            return None;
        }
        (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect()
    } else if let Some(path) = s.strip_prefix("file:") {
        // A relative path is relative to the config file's directory.
        let path = resolve_relative(ctx.file, Path::new(path));
        warn_if_readable_by_others(ctx, &v.span(), &path, key);
        match read_key_file(&path) {
            Ok(mut b) => {
                if b.ends_with(b"\n") {
                    b.pop();
                    if b.ends_with(b"\r") {
                        b.pop();
                    }
                }
                b
            }
            Err(e) => {
                ctx.err(
                    &v.span(),
                    format!("`{key}`: cannot read key file {}: {e}", path.display()),
                );
                return None;
            }
        }
    } else {
        // The secret is written in this file unless it all came from the
        // environment (`${NAME}`).
        let raw = ctx.text.get(v.span()).unwrap_or_default();
        if !raw.contains("${") {
            let file = ctx.file.to_path_buf();
            warn_if_readable_by_others(ctx, &v.span(), &file, key);
        }
        s.into_bytes()
    };
    if bytes.is_empty() {
        ctx.err(&v.span(), format!("`{key}` must not be empty"));
        return None;
    }
    Some(Secret::new(bytes))
}

pub(super) fn parse_auth(
    ctx: &mut FileCtx<'_>,
    v: &Val<'_>,
    version: Version,
    family: Option<Family>,
) -> Option<AuthConfig> {
    let t = ctx.table(v, "[auth]", AUTH_KEYS)?;
    let tv = t.required(ctx, "type", "[auth]")?;
    let kind = ctx.choice("type", tv, &["pass", "ah", "hmac"])?;
    let hmac_only = ["keys", "active_key", "anti_replay", "time_window", "mode"];
    match kind {
        0 | 1 => {
            let name = ["pass", "ah"][kind];
            let mut ok = true;
            if version != Version::V2 {
                ctx.err(
                    &tv.span(),
                    format!("auth type {name:?} needs version = 2 (VRRPv3 has no {name} authentication; use \"hmac\")"),
                );
                ok = false;
            }
            if kind == 1 && family == Some(Family::V6) {
                ctx.err(&tv.span(), "auth type \"ah\" is IPv4 only");
                ok = false;
            }
            for k in hmac_only {
                if let Some(x) = t.get(k) {
                    ctx.err(
                        &x.span(),
                        format!("`{k}` applies to auth type \"hmac\" only"),
                    );
                    ok = false;
                }
            }
            let sv = t.required(ctx, "secret", "[auth]")?;
            let secret = parse_secret(ctx, "secret", sv)?;
            if secret.expose().len() > 8 {
                ctx.warn(
                    &sv.span(),
                    format!("auth {name} secret is longer than 8 bytes; only the first 8 are used, as keepalived does"),
                );
            }
            if !ok {
                return None;
            }
            Some(if kind == 0 {
                AuthConfig::Pass { secret }
            } else {
                AuthConfig::Ah { secret }
            })
        }
        _ => {
            if let Some(x) = t.get("secret") {
                ctx.err(
                    &x.span(),
                    "auth type \"hmac\" takes `keys` (a table of key id = key), not `secret`",
                );
            }
            let kv = t.required(ctx, "keys", "[auth]")?;
            let kt = match kv.get_ref() {
                DeValue::Table(kt) => kt,
                other => {
                    ctx.err(
                        &kv.span(),
                        format!(
                            "`keys`: expected a table like {{ 1 = \"hex:..\" }}, found {}",
                            type_name(other)
                        ),
                    );
                    return None;
                }
            };
            let mut keys = BTreeMap::new();
            for (k, val) in kt.iter() {
                let id = match k.get_ref().parse::<u8>() {
                    Ok(id) => id,
                    Err(_) => {
                        ctx.err(
                            &k.span(),
                            format!(
                                "`keys`: key id {:?} must be an integer 0..=255",
                                k.get_ref()
                            ),
                        );
                        continue;
                    }
                };
                if let Some(s) = parse_secret(ctx, "keys", val) {
                    keys.insert(id, s);
                }
            }
            if kt.is_empty() {
                ctx.err(&kv.span(), "`keys` must hold at least one key");
                return None;
            }
            let active_key = match t.get("active_key") {
                Some(av) => {
                    let id = ctx.integer("active_key", av, 0, 255)? as u8;
                    if !kt.iter().any(|(k, _)| k.get_ref().parse::<u8>() == Ok(id)) {
                        ctx.err(
                            &av.span(),
                            format!("`active_key` = {id} is not one of `keys`"),
                        );
                        return None;
                    }
                    id
                }
                None => *keys.keys().next()?,
            };
            let anti_replay = match t.get("anti_replay") {
                Some(x) => [AntiReplay::Time, AntiReplay::Monotonic]
                    [ctx.choice("anti_replay", x, &["time", "monotonic"])?],
                None => AntiReplay::Time,
            };
            let time_window = match t.get("time_window") {
                Some(x) => ctx.duration_in(
                    "time_window",
                    x,
                    Duration::from_millis(1),
                    Duration::from_secs(3600),
                )?,
                None => Duration::from_secs(5),
            };
            let mode = match t.get("mode") {
                Some(x) => [
                    HmacMode::Enforce,
                    HmacMode::Permissive,
                    HmacMode::ReceiveOnly,
                ][ctx.choice("mode", x, &["enforce", "permissive", "receive-only"])?],
                None => HmacMode::Enforce,
            };
            if keys.len() != kt.len() {
                return None;
            }
            Some(AuthConfig::Hmac(HmacConfig {
                keys,
                active_key,
                anti_replay,
                time_window,
                mode,
            }))
        }
    }
}
