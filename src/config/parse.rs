//! Reading the TOML files into typed config: a hand-written walk over toml's
//! spanned document tree, so every error carries the exact position of the
//! offending key or value, unknown keys are caught with their position, and
//! string values are seeded before they are typed.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::duration::parse_duration;
use super::seed::{self, SeededEnv};
use super::*;

mod routes;
mod vmac;

type Val<'i> = Spanned<DeValue<'i>>;

mod trackers;

const DAEMON_KEYS: &[&str] = &[
    "router_id",
    "control_socket",
    "metrics_listen",
    "log_format",
    "log_level",
    "environment_init",
    "state_dir",
    "sync_group",
];
const SYNC_KEYS: &[&str] = &["name", "members"];
const GROUP_KEYS: &[&str] = &[
    "vrid",
    "interface",
    "priority",
    "version",
    "advert_interval",
    "preempt",
    "preempt_delay",
    "start_state",
    "checksum",
    "unicast_source",
    "unicast_peers",
    "min_ttl",
    "garp_repeat",
    "garp_interval",
    "garp_master_delay",
    "garp_refresh",
    "ndisc_router",
    "use_vmac",
    "vmac_interface",
    "vmac_xmit_base",
    "virtual_ips",
    "excluded_ips",
    "auth",
    "track_interface",
    "notify",
    "bfd",
    "virtual_route",
    "virtual_rule",
];
const BFD_KEYS: &[&str] = &["min_tx", "min_rx", "multiplier"];
const VIP_KEYS: &[&str] = &["address", "interface"];
const AUTH_KEYS: &[&str] = &[
    "type",
    "secret",
    "keys",
    "active_key",
    "anti_replay",
    "time_window",
    "mode",
];
const TRACK_IF_KEYS: &[&str] = &["name", "weight"];
const NOTIFY_KEYS: &[&str] = &["master", "backup", "fault", "stop", "any", "user", "group"];

/// A position in a file, 1-based (0/0 = the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    file: PathBuf,
    line: usize,
    column: usize,
}

impl Pos {
    fn whole(file: &Path) -> Pos {
        Pos {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
        }
    }
    fn diag(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Per-file state: source text for positions, the seeded environment, and the
/// diagnostics found so far.
struct FileCtx<'a> {
    file: &'a Path,
    text: &'a str,
    env: &'a SeededEnv<'a>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl<'a> FileCtx<'a> {
    fn new(file: &'a Path, text: &'a str, env: &'a SeededEnv<'a>) -> Self {
        FileCtx {
            file,
            text,
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Pos {
            file: self.file.to_path_buf(),
            line,
            column,
        }
    }

    fn err(&mut self, span: &Range<usize>, msg: impl Into<String>) {
        let d = self.pos(span.start).diag(msg);
        self.errors.push(d);
    }

    fn warn(&mut self, span: &Range<usize>, msg: impl Into<String>) {
        let d = self.pos(span.start).diag(msg);
        self.warnings.push(d);
    }

    /// Position of byte `offset` inside the decoded contents of a string
    /// value: exact when the source spelling equals the contents (no escapes),
    /// otherwise the start of the value.
    fn string_inner_offset(&self, span: &Range<usize>, decoded: &str, offset: usize) -> usize {
        let raw = &self.text[span.clone()];
        let quote_len = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            1
        } else {
            return span.start;
        };
        if raw.len() >= 2 * quote_len && &raw[quote_len..raw.len() - quote_len] == decoded {
            span.start + quote_len + offset
        } else {
            span.start
        }
    }

    // --- tables ------------------------------------------------------------

    /// View a value as a table, reporting every key not in `allowed`.
    fn table<'t, 'i>(
        &mut self,
        v: &'t Val<'i>,
        what: &str,
        allowed: &[&str],
    ) -> Option<Table<'t, 'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(self.table_of(t, v.span(), what, allowed)),
            other => {
                self.err(
                    &v.span(),
                    format!("{what}: expected a table, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn table_of<'t, 'i>(
        &mut self,
        t: &'t DeTable<'i>,
        span: Range<usize>,
        what: &str,
        allowed: &[&str],
    ) -> Table<'t, 'i> {
        let mut entries = Vec::new();
        for (k, v) in t.iter() {
            if allowed.contains(&k.get_ref().as_ref()) {
                entries.push((k.get_ref().as_ref(), v));
            } else {
                let hint = suggest(k.get_ref(), allowed)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    &k.span(),
                    format!(
                        "unknown key `{}` in {what}{hint}; valid keys: {}",
                        k.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
        Table { entries, span }
    }

    // --- scalars -----------------------------------------------------------

    /// A string value, seeded.
    fn string(&mut self, key: &str, v: &Val<'_>) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => self.seed(v, s),
            other => {
                self.err(
                    &v.span(),
                    format!("`{key}`: expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn seed(&mut self, v: &Val<'_>, s: &DeString<'_>) -> Option<String> {
        match seed::substitute(s, self.env) {
            Ok(out) => Some(out),
            Err(e) => {
                let at = self.string_inner_offset(&v.span(), s, e.offset);
                self.err(&(at..at), e.message);
                None
            }
        }
    }

    /// A non-empty string.
    fn nonempty_string(&mut self, key: &str, v: &Val<'_>) -> Option<String> {
        let s = self.string(key, v)?;
        if s.trim().is_empty() {
            self.err(&v.span(), format!("`{key}` must not be empty"));
            return None;
        }
        Some(s)
    }

    /// An integer in `min..=max`; a string is seeded then parsed.
    fn integer(&mut self, key: &str, v: &Val<'_>, min: i64, max: i64) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => n,
                Err(_) => {
                    self.err(
                        &v.span(),
                        format!("`{key}` = {i} is out of range {min}..={max}"),
                    );
                    return None;
                }
            },
            DeValue::String(s) => {
                let seeded = self.seed(v, s)?;
                match seeded.trim().parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => {
                        self.err(
                            &v.span(),
                            format!("`{key}`: expected an integer, got {seeded:?}"),
                        );
                        return None;
                    }
                }
            }
            other => {
                self.err(
                    &v.span(),
                    format!("`{key}`: expected an integer, found {}", type_name(other)),
                );
                return None;
            }
        };
        if n < min || n > max {
            self.err(
                &v.span(),
                format!("`{key}` = {n} is out of range {min}..={max}"),
            );
            return None;
        }
        Some(n)
    }

    fn boolean(&mut self, key: &str, v: &Val<'_>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            DeValue::String(s) => {
                let seeded = self.seed(v, s)?;
                match seeded.trim() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => {
                        self.err(
                            &v.span(),
                            format!("`{key}`: expected true or false, got {seeded:?}"),
                        );
                        None
                    }
                }
            }
            other => {
                self.err(
                    &v.span(),
                    format!("`{key}`: expected a boolean, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn duration(&mut self, key: &str, v: &Val<'_>) -> Option<Duration> {
        match v.get_ref() {
            DeValue::String(s) => {
                let seeded = self.seed(v, s)?;
                match parse_duration(&seeded) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        self.err(&v.span(), format!("`{key}`: {e}"));
                        None
                    }
                }
            }
            other => {
                self.err(
                    &v.span(),
                    format!(
                        "`{key}`: expected a duration string like \"1s\" or \"100ms\", found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn duration_in(
        &mut self,
        key: &str,
        v: &Val<'_>,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        let d = self.duration(key, v)?;
        if d < min || d > max {
            self.err(
                &v.span(),
                format!(
                    "`{key}` = {} is out of range {}..={}",
                    format_duration(d),
                    format_duration(min),
                    format_duration(max)
                ),
            );
            return None;
        }
        Some(d)
    }

    /// One of `choices` (string), returned as its index.
    fn choice(&mut self, key: &str, v: &Val<'_>, choices: &[&str]) -> Option<usize> {
        let s = self.string(key, v)?;
        match choices.iter().position(|c| *c == s) {
            Some(i) => Some(i),
            None => {
                let list: Vec<String> = choices.iter().map(|c| format!("{c:?}")).collect();
                self.err(
                    &v.span(),
                    format!("`{key}` = {s:?}: expected one of {}", list.join(", ")),
                );
                None
            }
        }
    }

    fn ip(&mut self, key: &str, v: &Val<'_>) -> Option<IpAddr> {
        let s = self.string(key, v)?;
        match s.trim().parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(&v.span(), format!("`{key}`: bad IP address {s:?}"));
                None
            }
        }
    }

    fn array<'t, 'i>(&mut self, key: &str, v: &'t Val<'i>) -> Option<&'t [Val<'i>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a.as_ref()),
            other => {
                self.err(
                    &v.span(),
                    format!("`{key}`: expected an array, found {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A non-empty argv array of strings.
    fn argv(&mut self, key: &str, v: &Val<'_>) -> Option<Vec<String>> {
        let items = self.array(key, v)?;
        if items.is_empty() {
            self.err(&v.span(), format!("`{key}`: the command must not be empty"));
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match self.string(key, item) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        if ok && out[0].is_empty() {
            self.err(
                &items[0].span(),
                format!("`{key}`: the program name must not be empty"),
            );
            return None;
        }
        ok.then_some(out)
    }

    /// `true` if the file holds TOML; on a syntax error report it.
    fn syntax_error(&mut self, e: &toml::de::Error) {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        self.err(&span, format!("TOML syntax error: {msg}"));
    }
}

struct Table<'t, 'i> {
    entries: Vec<(&'t str, &'t Val<'i>)>,
    span: Range<usize>,
}

impl<'t, 'i> Table<'t, 'i> {
    fn get(&self, key: &str) -> Option<&'t Val<'i>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
    fn required(&self, ctx: &mut FileCtx<'_>, key: &str, what: &str) -> Option<&'t Val<'i>> {
        let v = self.get(key);
        if v.is_none() {
            ctx.err(&self.span, format!("{what}: missing required key `{key}`"));
        }
        v
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The closest valid key, if any is close (edit distance <= 2).
fn suggest<'k>(key: &str, allowed: &[&'k str]) -> Option<&'k str> {
    fn dist(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    allowed
        .iter()
        .map(|a| (dist(key, a), *a))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, a)| a)
}

// ---------------------------------------------------------------------------
// Daemon config
// ---------------------------------------------------------------------------

struct SyncDraft {
    name: String,
    name_pos: Pos,
    members: Vec<(String, Pos)>,
}

fn default_router_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vrrpd".to_string())
}

fn daemon_defaults(environment_init: Option<PathBuf>) -> DaemonConfig {
    DaemonConfig {
        router_id: default_router_id(),
        control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
        metrics_listen: None,
        log_format: LogFormat::Text,
        log_level: "info".to_string(),
        environment_init,
        sync_groups: Vec::new(),
        state_dir: PathBuf::from(DEFAULT_STATE_DIR),
    }
}

fn parse_daemon(
    ctx: &mut FileCtx<'_>,
    root: &DeTable<'_>,
    span: Range<usize>,
    environment_init: Option<PathBuf>,
) -> (DaemonConfig, Vec<SyncDraft>) {
    let mut d = daemon_defaults(environment_init);
    let mut syncs = Vec::new();
    let t = ctx.table_of(root, span, "vrrpd.toml", DAEMON_KEYS);
    if let Some(v) = t.get("router_id")
        && let Some(s) = ctx.nonempty_string("router_id", v)
    {
        d.router_id = s;
    }
    if let Some(v) = t.get("control_socket")
        && let Some(s) = ctx.nonempty_string("control_socket", v)
    {
        d.control_socket = PathBuf::from(s);
    }
    if let Some(v) = t.get("metrics_listen")
        && let Some(s) = ctx.string("metrics_listen", v)
        && !s.trim().is_empty()
    {
        match s.trim().parse::<SocketAddr>() {
            Ok(a) => d.metrics_listen = Some(a),
            Err(_) => ctx.err(
                &v.span(),
                format!(
                    "`metrics_listen`: expected ADDRESS:PORT like \"127.0.0.1:9650\", got {s:?}"
                ),
            ),
        }
    }
    if let Some(v) = t.get("log_format")
        && let Some(i) = ctx.choice("log_format", v, &["text", "json"])
    {
        d.log_format = [LogFormat::Text, LogFormat::Json][i];
    }
    if let Some(v) = t.get("log_level")
        && let Some(s) = ctx.nonempty_string("log_level", v)
    {
        match tracing_subscriber::EnvFilter::builder().parse(&s) {
            Ok(_) => d.log_level = s,
            Err(e) => ctx.err(&v.span(), format!("`log_level` = {s:?}: {e}")),
        }
    }
    if let Some(v) = t.get("state_dir")
        && let Some(s) = ctx.nonempty_string("state_dir", v)
    {
        d.state_dir = PathBuf::from(s);
    }
    // environment_init was read (and run) before; only its type is checked here.
    if let Some(v) = t.get("environment_init") {
        ctx.string("environment_init", v);
    }
    if let Some(v) = t.get("sync_group")
        && let Some(items) = ctx.array("sync_group", v)
    {
        for item in items {
            let Some(st) = ctx.table(item, "[[sync_group]]", SYNC_KEYS) else {
                continue;
            };
            let name = st.required(ctx, "name", "[[sync_group]]").and_then(|nv| {
                ctx.nonempty_string("name", nv)
                    .map(|n| (n, ctx.pos(nv.span().start)))
            });
            let mut members = Vec::new();
            if let Some(mv) = st.required(ctx, "members", "[[sync_group]]")
                && let Some(ms) = ctx.array("members", mv)
            {
                if ms.is_empty() {
                    ctx.err(&mv.span(), "`members` must name at least one group");
                }
                for m in ms {
                    if let Some(s) = ctx.nonempty_string("members", m) {
                        members.push((s, ctx.pos(m.span().start)));
                    }
                }
            }
            if let Some((name, name_pos)) = name {
                syncs.push(SyncDraft {
                    name,
                    name_pos,
                    members,
                });
            }
        }
    }
    (d, syncs)
}

// ---------------------------------------------------------------------------
// Group config
// ---------------------------------------------------------------------------

/// Positions of a group's values, for the checks across files.
pub(crate) struct GroupMeta {
    vrid_pos: Pos,
    interface_pos: Pos,
    /// Aligned with `virtual_ips` then `excluded_ips`.
    vip_pos: Vec<Pos>,
    track_if_pos: Vec<Pos>,
}

fn valid_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.len() <= 64
}

/// Parse `addr[/len]` (no prefix = host route).
fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
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

fn parse_vip(
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

/// Warn when `path`, which holds the secret of `key`, can be read by users
/// other than its owner and group (mode o+r, e.g. 0644).
fn warn_if_readable_by_others(ctx: &mut FileCtx<'_>, span: &Range<usize>, path: &Path, key: &str) {
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
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Read a `file:` secret: a regular file (never a FIFO, device or directory,
/// which could block or never end: `file:/dev/zero`) of at most
/// [`MAX_KEY_FILE`] bytes.
fn read_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
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

fn parse_secret(ctx: &mut FileCtx<'_>, key: &str, v: &Val<'_>) -> Option<Secret> {
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

fn parse_auth(
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

/// Parse one group file's document. Returns `None` if it had errors (which
/// are in `ctx`).
fn parse_group(
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
fn priority_table(ctx: &mut FileCtx<'_>, v: &Val<'_>, host: &dyn HostView) -> Option<u8> {
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
fn own_unicast_entry(
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
fn parse_bfd(ctx: &mut FileCtx<'_>, v: &Val<'_>, unicast: bool) -> Option<BfdConfig> {
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

/// `path` as is if absolute, else relative to the directory holding `file`.
fn resolve_relative(file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

struct Inputs {
    daemon_file: Option<PathBuf>,
    group_files: Vec<PathBuf>,
}

fn collect_inputs(
    paths: &[PathBuf],
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Inputs {
    let mut inputs = Inputs {
        daemon_file: None,
        group_files: Vec::new(),
    };
    for path in paths {
        let dir = if path.is_dir() {
            Some(path.clone())
        } else if path.is_file() && path.file_name().is_some_and(|n| n == "vrrpd.toml") {
            Some(path.parent().map(Path::to_path_buf).unwrap_or_default())
        } else if path.is_file() {
            inputs.group_files.push(path.clone());
            None
        } else {
            errors.push(Pos::whole(path).diag("no such file or directory"));
            None
        };
        let Some(dir) = dir else { continue };
        let daemon = dir.join("vrrpd.toml");
        if daemon.is_file() {
            if let Some(first) = &inputs.daemon_file {
                errors.push(Pos::whole(&daemon).diag(format!(
                    "daemon settings given twice (also {})",
                    first.display()
                )));
            } else {
                inputs.daemon_file = Some(daemon);
            }
        }
        let groups_dir = dir.join("groups.d");
        match std::fs::read_dir(&groups_dir) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension().is_some_and(|e| e == "toml")
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| !n.starts_with('.'))
                            && p.is_file()
                    })
                    .collect();
                files.sort();
                inputs.group_files.extend(files);
            }
            Err(e) => warnings
                .push(Pos::whole(&groups_dir).diag(format!("cannot read group directory: {e}"))),
        }
    }
    inputs
}

fn parse_env_timeout(env: &dyn EnvSource) -> Result<Duration, String> {
    match env.var(seed::ENVIRONMENT_INIT_TIMEOUT) {
        None => Ok(seed::DEFAULT_SEED_TIMEOUT),
        Some(s) => {
            parse_duration(&s).map_err(|e| format!("${}: {e}", seed::ENVIRONMENT_INIT_TIMEOUT))
        }
    }
}

pub(crate) fn load_paths(
    paths: &[PathBuf],
    env: &dyn EnvSource,
    host: &dyn HostView,
) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let inputs = collect_inputs(paths, &mut errors, &mut warnings);

    // vrrpd.toml: read and parse first, it may name the seed executable.
    let daemon_text = match &inputs.daemon_file {
        Some(f) => match std::fs::read_to_string(f) {
            Ok(t) => Some((f.clone(), t)),
            Err(e) => {
                errors.push(Pos::whole(f).diag(format!("cannot read: {e}")));
                None
            }
        },
        None => None,
    };
    let daemon_doc = daemon_text.as_ref().map(|(f, t)| (f, t, DeTable::parse(t)));

    // Seed executable: $ENVIRONMENT_INIT wins over environment_init.
    let base_only = SeededEnv {
        base: env,
        overlay: HashMap::new(),
    };
    let mut seed_program: Option<(PathBuf, Option<Pos>)> = None;
    if let Some(p) = env.var(seed::ENVIRONMENT_INIT).filter(|p| !p.is_empty()) {
        seed_program = Some((PathBuf::from(p), None));
    } else if let Some((f, t, Ok(doc))) = &daemon_doc
        && let Some((_, v)) = doc
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "environment_init")
    {
        let mut ctx = FileCtx::new(f, t, &base_only);
        if let Some(s) = ctx.string("environment_init", v)
            && !s.trim().is_empty()
        {
            let program = resolve_relative(f, Path::new(s.trim()));
            seed_program = Some((program, Some(ctx.pos(v.span().start))));
        }
        // Errors are reported again by the full parse below.
    }
    let mut overlay = HashMap::new();
    if let Some((program, pos)) = &seed_program {
        let pos = pos
            .clone()
            .unwrap_or_else(|| Pos::whole(Path::new("$ENVIRONMENT_INIT")));
        match parse_env_timeout(env).and_then(|timeout| seed::run_seed(program, timeout)) {
            Ok(vars) => overlay = vars,
            Err(e) => {
                // Nothing can be seeded: stop here with this one clear error.
                errors.push(pos.diag(e));
                return Err(finish_errors(errors));
            }
        }
    }
    let seeded = SeededEnv { base: env, overlay };
    let environment_init = seed_program.map(|(p, _)| p);

    // Daemon settings.
    let (mut daemon, syncs) = match &daemon_doc {
        Some((f, t, Ok(doc))) => {
            let mut ctx = FileCtx::new(f, t, &seeded);
            let (d, s) = parse_daemon(
                &mut ctx,
                doc.get_ref(),
                doc.span(),
                environment_init.clone(),
            );
            errors.append(&mut ctx.errors);
            warnings.append(&mut ctx.warnings);
            (d, s)
        }
        Some((f, t, Err(e))) => {
            let mut ctx = FileCtx::new(f, t, &seeded);
            ctx.syntax_error(e);
            errors.append(&mut ctx.errors);
            (daemon_defaults(environment_init.clone()), Vec::new())
        }
        None => (daemon_defaults(environment_init.clone()), Vec::new()),
    };

    // Groups.
    let mut groups: Vec<(GroupConfig, GroupMeta)> = Vec::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    for file in &inputs.group_files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if !valid_group_name(&stem) {
            errors.push(Pos { file: file.clone(), line: 1, column: 1 }.diag(format!(
                "group name {stem:?} (the file name) must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )));
            continue;
        }
        if let Some(other) = names.get(&stem.to_ascii_lowercase()) {
            errors.push(Pos { file: file.clone(), line: 1, column: 1 }.diag(format!(
                "duplicate group name {stem:?}: already defined by {} (group names are compared ignoring case)",
                other.display()
            )));
            continue;
        }
        names.insert(stem.to_ascii_lowercase(), file.clone());
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Pos::whole(file).diag(format!("cannot read: {e}")));
                continue;
            }
        };
        let mut ctx = FileCtx::new(file, &text, &seeded);
        match DeTable::parse(&text) {
            Ok(doc) => {
                if let Some(g) = parse_group(&mut ctx, &stem, doc.get_ref(), doc.span(), host) {
                    groups.push(g);
                }
            }
            Err(e) => ctx.syntax_error(&e),
        }
        errors.append(&mut ctx.errors);
        warnings.append(&mut ctx.warnings);
    }
    // SPEC §2.3: a config with no group at all is an error (a daemon that
    // would run nothing is a broken deployment, not a quiet success).
    if inputs.group_files.is_empty() && errors.is_empty() {
        let p = paths.first().cloned().unwrap_or_default();
        errors
            .push(Pos::whole(&p).diag("no groups configured: add at least one groups.d/NAME.toml"));
    }

    // Duplicate VRID on one interface in multicast mode, same family.
    let mut seen: HashMap<(String, u8, Family), usize> = HashMap::new();
    for (i, (g, meta)) in groups.iter().enumerate() {
        if g.is_unicast() {
            continue;
        }
        let key = (g.interface.clone(), g.vrid, g.family);
        if let Some(&j) = seen.get(&key) {
            let (other, other_meta) = &groups[j];
            errors.push(meta.vrid_pos.diag(format!(
                "VRID {} on {} ({}, multicast) is already used by group {:?} at {}",
                g.vrid,
                g.interface,
                family_name(g.family),
                other.name,
                other_meta.vrid_pos
            )));
        } else {
            seen.insert(key, i);
        }
    }

    // Sync groups: known members, each group in at most one sync group.
    {
        let mut member_of: HashMap<String, String> = HashMap::new();
        let mut sync_names: Vec<String> = Vec::new();
        for s in &syncs {
            if sync_names.contains(&s.name) {
                errors.push(
                    s.name_pos
                        .diag(format!("duplicate sync group name {:?}", s.name)),
                );
                continue;
            }
            sync_names.push(s.name.clone());
            let mut members = Vec::new();
            for (m, pos) in &s.members {
                if !inputs
                    .group_files
                    .iter()
                    .any(|f| f.file_stem().and_then(|x| x.to_str()) == Some(m.as_str()))
                {
                    let known: Vec<&str> = groups.iter().map(|(g, _)| g.name.as_str()).collect();
                    errors.push(pos.diag(format!(
                        "sync group {:?}: unknown member {m:?} (groups: {})",
                        s.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                    continue;
                }
                if let Some(prev) = member_of.get(m) {
                    errors.push(pos.diag(format!(
                        "group {m:?} is already a member of sync group {prev:?}"
                    )));
                    continue;
                }
                member_of.insert(m.clone(), s.name.clone());
                members.push(m.clone());
            }
            daemon.sync_groups.push(SyncGroupConfig {
                name: s.name.clone(),
                members,
            });
        }
        for (g, _) in groups.iter_mut() {
            g.sync_group = member_of.get(&g.name).cloned();
        }
    }

    // Host checks: missing interfaces warn; a VIP that is the interface's own
    // address needs priority 255 (address owner).
    for (g, meta) in &groups {
        let check_if = |name: &str, pos: &Pos, warnings: &mut Vec<Diagnostic>| {
            let addrs = host.interface_addresses(name);
            if addrs.is_none() && host.knows_interfaces() {
                warnings.push(pos.diag(format!(
                    "interface {name:?} does not exist (yet); group {:?} waits in FAULT until it appears",
                    g.name
                )));
            }
            addrs
        };
        check_if(&g.interface, &meta.interface_pos, &mut warnings);
        // RFC 5798 §5.2.9: in IPv6 the first address is the link-local VIP;
        // keepalived warns when it is not (peers still interoperate).
        if let (Some(first), Some(pos)) = (g.virtual_ips.first(), meta.vip_pos.first())
            && let IpAddr::V6(v6) = first.address
            && (v6.segments()[0] & 0xffc0) != 0xfe80
        {
            warnings.push(pos.diag(format!(
                "the first IPv6 VIP {} is not link-local: RFC 5798 §5.2.9 puts the link-local VIP first (keepalived warns too)",
                first.address
            )));
        }
        for (ti, pos) in g.track_interfaces.iter().zip(&meta.track_if_pos) {
            check_if(&ti.name, pos, &mut warnings);
        }
        let mut warned: Vec<&str> = vec![g.interface.as_str()];
        for (vip, pos) in g
            .virtual_ips
            .iter()
            .chain(&g.excluded_ips)
            .zip(&meta.vip_pos)
        {
            let addrs = if warned.contains(&vip.interface.as_str()) {
                host.interface_addresses(&vip.interface)
            } else {
                warned.push(&vip.interface);
                check_if(&vip.interface, pos, &mut warnings)
            };
            if g.priority < 255 && addrs.is_some_and(|a| a.contains(&vip.address)) {
                errors.push(pos.diag(format!(
                    "{} is {}'s own address: that needs priority = 255 (address owner), priority is {}",
                    vip.address, vip.interface, g.priority
                )));
            } else if g.priority < 255
                && let Some(other) = host.address_interface(vip.address)
            {
                // SPEC §2.3: a backup would delete it; vrrpd never does, so
                // the group could never work as configured either.
                errors.push(pos.diag(format!(
                    "{} is an address of this host (on {other}): only the address owner (priority = 255) may name it, priority is {}",
                    vip.address, g.priority
                )));
            }
        }
    }

    if !errors.is_empty() {
        return Err(finish_errors(errors));
    }
    let mut groups: Vec<GroupConfig> = groups.into_iter().map(|(g, _)| g).collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    warnings.sort();
    warnings.dedup();
    Ok(Loaded {
        config: Config { daemon, groups },
        warnings,
    })
}

fn finish_errors(mut errors: Vec<Diagnostic>) -> ConfigErrors {
    errors.sort();
    errors.dedup();
    ConfigErrors { errors }
}
