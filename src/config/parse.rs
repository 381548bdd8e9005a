//! Reading the TOML files into typed config: a hand-written walk over toml's
//! spanned document tree, so every error carries the exact position of the
//! offending key or value, unknown keys are caught with their position, and
//! string values are seeded before they are typed.
//!
//! This file holds the spanned-value layer (positions, per-file context,
//! typed accessors) and the loading across files; each concern's keys are
//! read in a child module: `daemon` (vrrpd.toml, sync groups), `group` (one
//! group file), `auth`, `trackers`, `routes`, `vmac`.

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

mod auth;
mod daemon;
mod group;
mod routes;
mod vmac;

use auth::*;
use daemon::*;
use group::*;

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
