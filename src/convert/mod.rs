//! `vrrpd convert keepalived.conf --out DIR`: migrate keepalived's VRRP
//! configuration to `DIR/vrrpd.toml` + `DIR/groups.d/<instance>.toml`.
//!
//! [`syntax`] reads keepalived's language (blocks, comments, quotes,
//! includes) into statements that keep `file:line`; this module maps the
//! VRRP keywords onto the vrrpd schema (SPEC §2) and lists everything it could
//! not map as `file:line: keyword: not mapped (reason)`; nothing is dropped
//! silently. Values it cannot read (a priority of 300, an address that does
//! not parse) are errors, like unbalanced braces or an include cycle.
//!
//! Mapping choices (keep the README's "Migrating from keepalived" in step):
//! - `state MASTER` becomes `start_state = "master"` only at priority 255;
//!   below that vrrpd starts as backup and elects by priority (a note says so).
//!   Any other state word is BACKUP with a warning (keepalived compares
//!   case-sensitively).
//! - The VRRP version is written explicitly: the instance's `version`, else
//!   global_defs `vrrp_version`, else keepalived's default 2. An IPv6 instance
//!   is always version 3 (keepalived does the same).
//! - keepalived's positive tracker weights add to the priority while the
//!   check *succeeds*; vrrpd's weights apply while it *fails*. So a positive
//!   weight W becomes base priority + W and weight -W (the effective priority
//!   is the same in every state) while base + ΣW <= 254. Above that keepalived
//!   caps at 254: one positive weight is compensated (base 254, weight
//!   -(254 - base)); several are written as -W and the note gives the exact
//!   difference in the states that differ.
//! - An instance without VIPs but with a notify script is a hook-only group
//!   (`virtual_ips = []`); without `interface` it takes global_defs
//!   `default_interface`, else eth0, with a warning (keepalived 2.2.7 itself
//!   refuses such an instance: "Unknown interface!").
//! - What keepalived ignores with a warning is dropped with a warning: a
//!   repeated VIP, peer or tracker, a repeated `notify*` line (the first
//!   wins), a `/mask` on unicast addresses. A repeated `vrrp_instance` name is
//!   skipped as keepalived skips it.
//! - vrrp_script `interval`/`timeout` are whole seconds in keepalived (0.5 is
//!   1 s): that value is written, with a warning naming what vrrpd could do.
//! - `authentication` is ignored by keepalived with VRRPv3 and when
//!   `auth_hmac` is present; both are reported as not mapped then.
//! - `auth_hmac`'s default `time_window` is keepalived's max(3 × advert_int,
//!   5s), written explicitly (vrrpd's own default is 5s).
//! - Commands (`script`, `notify*`) are split into argv the way keepalived 2.x
//!   splits them (blanks, quotes, backslash escapes): the first word is the
//!   script; after a notify script come the user and group (not mapped: no
//!   per-hook user in the config schema yet). A command that uses shell
//!   syntax becomes `["/bin/sh", "-c", "..."]` with a warning.
//! - `${_ENV NAME}` becomes vrrpd's `${NAME}`; any other `${` is escaped as
//!   `$${` so vrrpd's seeding leaves it alone.
//! - `virtual_routes` / `virtual_rules` lines map one to one (see
//!   [`routes`]); a line with anything vrrpd lacks is not mapped as a whole.
//! - The files are [`output`] values serialized with `toml` (no hand-written
//!   TOML) after a comment block saying where they came from; the report
//!   lines go to the caller (stderr), not into the files.
//!   `tests/convert_roundtrip.rs` checks that the loaded files, turned back
//!   into [`output`] values, serialize to the same text.

pub mod output;
mod routes;
pub mod syntax;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{AntiReplay, HmacMode, StartState};

pub use syntax::{Loc, Stmt, SyntaxError, Word};

/// Exit code for a keepalived config that cannot be read.
pub const EXIT_PARSE_ERROR: i32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// Left out of the output.
    NotMapped,
    /// Mapped, but behaves differently or needs a look.
    Warning,
    /// Mapped with a change worth knowing (a renamed group, a computed value).
    Note,
}

/// One line of the conversion report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub loc: Loc,
    pub keyword: String,
    pub kind: ReportKind,
    pub message: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ReportKind::NotMapped => write!(
                f,
                "{}: {}: not mapped ({})",
                self.loc, self.keyword, self.message
            ),
            ReportKind::Warning => {
                write!(
                    f,
                    "{}: {}: warning: {}",
                    self.loc, self.keyword, self.message
                )
            }
            ReportKind::Note => write!(f, "{}: {}: note: {}", self.loc, self.keyword, self.message),
        }
    }
}

/// The converted configuration, not yet written.
#[derive(Clone, Debug)]
pub struct Conversion {
    pub source: PathBuf,
    /// Contents of `vrrpd.toml`.
    pub daemon_toml: String,
    /// `(group name, contents of groups.d/<name>.toml)`, in source order.
    pub groups: Vec<(String, String)>,
    /// The value `daemon_toml` was serialized from.
    pub daemon_file: output::DaemonFile,
    /// The values `groups` were serialized from, in the same order.
    pub group_files: Vec<(String, output::GroupFile)>,
    /// Everything not mapped, or mapped with a caveat, in source order.
    pub reports: Vec<Report>,
}

impl Conversion {
    pub fn not_mapped(&self) -> impl Iterator<Item = &Report> {
        self.reports
            .iter()
            .filter(|r| r.kind == ReportKind::NotMapped)
    }
}

/// Errors that stop the conversion (exit code 2), each `file:line: message`,
/// after the report lines found before them (what was not mapped explains
/// why no group was left).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertErrors(pub Vec<SyntaxError>, pub Vec<Report>);

impl fmt::Display for ConvertErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.1 {
            writeln!(f, "{r}")?;
        }
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConvertErrors {}

/// Read and convert a keepalived config (config id: this host's name).
pub fn convert_file(path: &Path) -> Result<Conversion, ConvertErrors> {
    convert_file_with(path, &syntax::ReadOptions::default())
}

/// Read and convert a keepalived config; `opts.config_id` selects keepalived's
/// `@ID` conditional lines (`vrrpd convert --config-id ID`).
pub fn convert_file_with(
    path: &Path,
    opts: &syntax::ReadOptions,
) -> Result<Conversion, ConvertErrors> {
    let parsed =
        syntax::parse_file_with(path, opts).map_err(|e| ConvertErrors(vec![e], Vec::new()))?;
    let mut m = Mapper {
        source: path.to_path_buf(),
        ..Mapper::default()
    };
    for (loc, w) in &parsed.warnings {
        m.report(loc, "include", ReportKind::Warning, w.clone());
    }
    if let Some((first, _)) = parsed.conditionals.first() {
        let read = parsed.conditionals.iter().filter(|c| c.1).count();
        let from = if opts.config_id.is_some() {
            "--config-id"
        } else {
            "this host's name, keepalived's default; set another with --config-id"
        };
        m.report(
            first,
            "@",
            ReportKind::Note,
            format!(
                "conditional lines read for config id {:?} ({from}): {read} of {} read",
                parsed.config_id,
                parsed.conditionals.len()
            ),
        );
    }
    m.top(&parsed.stmts);
    let conv = m.finish();
    if m.errors.is_empty() {
        Ok(conv)
    } else {
        Err(ConvertErrors(m.errors, conv.reports))
    }
}

/// Write a conversion into `out` (created if needed): `vrrpd.toml` and
/// `groups.d/<name>.toml`. Returns the files written and the paths of other
/// `.toml` files already in `groups.d` (vrrpd would load them too).
pub fn write(conv: &Conversion, out: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let groups_dir = out.join("groups.d");
    std::fs::create_dir_all(&groups_dir)?;
    let mut written = Vec::new();
    let daemon = out.join("vrrpd.toml");
    std::fs::write(&daemon, &conv.daemon_toml)?;
    written.push(daemon);
    for (name, text) in &conv.groups {
        let p = groups_dir.join(format!("{name}.toml"));
        std::fs::write(&p, text)?;
        written.push(p);
    }
    let mut stray = Vec::new();
    for e in std::fs::read_dir(&groups_dir)?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") && !written.contains(&p) {
            stray.push(p);
        }
    }
    stray.sort();
    Ok((written, stray))
}

// ---------------------------------------------------------------------------
// Intermediate model
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Vip {
    addr: IpAddr,
    prefix: u8,
    dev: Option<String>,
    loc: Loc,
}

#[derive(Clone, Debug)]
enum Auth {
    Pass(String),
    Ah(String),
    Hmac {
        keys: BTreeMap<u8, String>,
        active: Option<u8>,
        anti_replay: Option<AntiReplay>,
        time_window_ms: Option<u64>,
        mode: Option<HmacMode>,
    },
}

#[derive(Clone, Debug)]
struct Script {
    loc: Loc,
    command: Option<Vec<String>>,
    interval_ms: u64,
    timeout_ms: Option<u64>,
    rise: u8,
    fall: u8,
    weight: i32,
    reverse: bool,
}

/// A tracker reference from an instance: name, weight override, `reverse`.
#[derive(Clone, Debug)]
struct TrackRef {
    name: String,
    weight: Option<i32>,
    reverse: bool,
    loc: Loc,
}

#[derive(Clone, Debug, Default)]
struct Instance {
    src_name: String,
    name: String,
    loc: Option<Loc>,
    vrid: Option<u8>,
    interface: Option<String>,
    priority: Option<u8>,
    version: Option<(u8, Loc)>,
    master: Option<Loc>,
    advert_ms: Option<(u64, Loc)>,
    nopreempt: bool,
    preempt_delay_ms: Option<u64>,
    unicast_src: Option<IpAddr>,
    peers: Vec<IpAddr>,
    garp_repeat: Option<u8>,
    garp_refresh_ms: Option<u64>,
    garp_interval_ms: Option<u64>,
    garp_master_delay_ms: Option<u64>,
    /// keepalived `use_vmac [NAME]`: Some(name given, if any).
    vmac: Option<Option<String>>,
    vmac_xmit_base: Option<Loc>,
    vips: Vec<Vip>,
    excluded: Vec<Vip>,
    legacy_auth: Option<(Auth, Loc)>,
    hmac: Option<(Auth, Loc)>,
    track_if: Vec<TrackRef>,
    track_scripts: Vec<TrackRef>,
    /// master, backup, fault, stop, any; with the line that set it.
    notify: [Option<(Vec<String>, Loc)>; 5],
    routes: Vec<routes::RouteDraft>,
    rules: Vec<output::RuleFile>,
}

#[derive(Clone, Debug)]
struct SyncGroup {
    name: String,
    loc: Loc,
    members: Vec<Word>,
}

#[derive(Default)]
struct Globals {
    router_id: Option<String>,
    /// keepalived's `default_interface`: for instances without `interface`.
    default_interface: Option<String>,
    version: Option<u8>,
    garp_repeat: Option<u8>,
    garp_refresh_ms: Option<u64>,
    garp_interval_ms: Option<u64>,
    garp_master_delay_ms: Option<u64>,
}

#[derive(Default)]
struct Mapper {
    source: PathBuf,
    errors: Vec<SyntaxError>,
    reports: Vec<Report>,
    globals: Globals,
    scripts: HashMap<String, Script>,
    instances: Vec<Instance>,
    syncs: Vec<SyncGroup>,
}

fn num_err(w: &Word, what: &str) -> SyntaxError {
    SyntaxError {
        loc: Some(w.loc.clone()),
        message: format!("{what}: invalid value {:?}", w.text),
    }
}

/// Decimal seconds (`1`, `0.5`, `1.25`) to milliseconds, rounded.
fn secs_to_ms(s: &str) -> Option<u64> {
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    if i.is_empty() && f.is_empty() {
        return None;
    }
    if !i.chars().all(|c| c.is_ascii_digit()) || !f.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if i.is_empty() { 0 } else { i.parse().ok()? };
    let mut frac_ms = 0u64;
    for (k, c) in f.chars().take(4).enumerate() {
        let d = u64::from(c.to_digit(10)?);
        frac_ms += d * [1000, 100, 10, 1][k];
    }
    // frac_ms is in 1/10 ms; round to ms.
    whole.checked_mul(1000)?.checked_add((frac_ms + 5) / 10)
}

impl Mapper {
    fn report(&mut self, loc: &Loc, keyword: &str, kind: ReportKind, message: impl Into<String>) {
        self.reports.push(Report {
            loc: loc.clone(),
            keyword: keyword.to_string(),
            kind,
            message: message.into(),
        });
    }

    fn unmapped(&mut self, s: &Stmt, reason: impl Into<String>) {
        let loc = s.loc().clone();
        self.report(&loc, &s.key.text, ReportKind::NotMapped, reason);
    }

    fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.errors.push(SyntaxError {
            loc: Some(loc.clone()),
            message: message.into(),
        });
    }

    /// The single value of `key value`.
    fn value<'s>(&mut self, s: &'s Stmt) -> Option<&'s Word> {
        match s.args.as_slice() {
            [w] => Some(w),
            [] => {
                self.error(s.loc(), format!("{}: missing value", s.key.text));
                None
            }
            [w, extra @ ..] => {
                let loc = extra[0].loc.clone();
                let words: Vec<&str> = extra.iter().map(|w| w.text.as_str()).collect();
                self.report(
                    &loc,
                    &s.key.text,
                    ReportKind::NotMapped,
                    format!("extra words {:?} ignored", words.join(" ")),
                );
                Some(w)
            }
        }
    }

    fn int(&mut self, s: &Stmt, min: i64, max: i64) -> Option<i64> {
        let w = self.value(s)?;
        match w.text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let mut e = num_err(w, &s.key.text);
                e.message.push_str(&format!(" (expected {min}..={max})"));
                self.errors.push(e);
                None
            }
        }
    }

    fn secs(&mut self, s: &Stmt) -> Option<u64> {
        let w = self.value(s)?;
        match secs_to_ms(&w.text) {
            Some(ms) => Some(ms),
            None => {
                let mut e = num_err(w, &s.key.text);
                e.message.push_str(" (expected seconds, e.g. 1 or 0.5)");
                self.errors.push(e);
                None
            }
        }
    }

    /// A vrrp_script `interval` / `timeout`: keepalived reads whole seconds
    /// (`0.5` is 0, then raised to 1; `1.5` is 1), with a warning in its log.
    /// The converted value is what keepalived really used, said out loud.
    fn whole_secs(&mut self, s: &Stmt) -> Option<u64> {
        let ms = self.secs(s)?;
        let used = (ms / 1000).max(1) * 1000;
        if used != ms {
            let loc = s.loc().clone();
            self.report(
                &loc,
                &s.key.text,
                ReportKind::Warning,
                format!(
                    "keepalived reads whole seconds here: {} {} ran every {} in keepalived, so it is written as {} (vrrpd itself takes steps of 10ms: edit it to {} if that was meant)",
                    s.key.text,
                    s.args.first().map(|w| w.text.as_str()).unwrap_or(""),
                    fmt_ms(used),
                    fmt_ms(used),
                    fmt_ms(ms.max(10)),
                ),
            );
        }
        Some(used)
    }

    /// `unicast_src_ip` / a `unicast_peer` address: keepalived ignores a
    /// `/mask` on it, so it is dropped here too (with a note).
    fn unicast_ip(&mut self, w: &Word, what: &str) -> Option<IpAddr> {
        let Some((addr, mask)) = w.text.split_once('/') else {
            return self.ip(w, what);
        };
        let bare = Word {
            text: addr.to_string(),
            ..w.clone()
        };
        let a = self.ip(&bare, what)?;
        self.report(
            &w.loc,
            what,
            ReportKind::Note,
            format!(
                "{}: the /{mask} is dropped (keepalived ignores it: this is one address)",
                w.text
            ),
        );
        Some(a)
    }

    fn ip(&mut self, w: &Word, what: &str) -> Option<IpAddr> {
        match w.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.errors.push(num_err(w, what));
                None
            }
        }
    }

    /// A command from `keyword SCRIPT [WORDS...]`, split as keepalived 2.x
    /// does (`alloc_strvec_quoted_escaped`): the line's first word after the
    /// keyword is the script, itself split into argv (so `"prog arg"` is a
    /// program with an argument). For notify scripts (`notify: true`) the
    /// next words are the user and group to run it as; for a vrrp_script
    /// keepalived ignores them. A script that uses shell syntax becomes
    /// `["/bin/sh", "-c", SCRIPT]` with a warning.
    fn command(&mut self, s: &Stmt, notify: bool) -> Option<Vec<String>> {
        let (words, _) = syntax::split_command(&s.rest);
        let Some(script) = words.first().cloned() else {
            self.error(s.loc(), format!("{}: missing command", s.key.text));
            return None;
        };
        let (argv, shell) = syntax::split_command(&script);
        if argv.is_empty() {
            self.error(s.loc(), format!("{}: empty command", s.key.text));
            return None;
        }
        let loc = s.loc().clone();
        let extra = &words[1..];
        if !extra.is_empty() && notify {
            let group = extra
                .get(1)
                .map(|g| format!(" and group {g:?}"))
                .unwrap_or_default();
            // keepalived drops a notify script whose user or group does not
            // exist ("Invalid user/group for notify script ... ignoring").
            // On this host that is known; mapping the script anyway would
            // add a hook keepalived never ran (e.g. `proxy-ctl` without the
            // `fault` argument the author meant).
            let missing = match (
                account_exists("/etc/passwd", &extra[0]),
                extra.get(1).and_then(|g| account_exists("/etc/group", g)),
            ) {
                (Some(false), _) => Some(format!("user {:?}", extra[0])),
                (_, Some(false)) => Some(format!("group {:?}", extra[1])),
                _ => None,
            };
            if let Some(missing) = missing {
                self.report(
                    &loc,
                    &s.key.text,
                    ReportKind::NotMapped,
                    format!(
                        "keepalived 2.x reads {:?} after the script as the user{} to run {script:?} as, and this host has no {missing} (/etc/passwd, /etc/group): keepalived ignores the script then (\"Invalid user/group\"), and so does the conversion. If the words were meant as arguments, quote the whole command",
                        extra.join(" "),
                        if extra.len() > 1 { " and group" } else { "" },
                    ),
                );
                return None;
            }
            self.report(
                &loc,
                &s.key.text,
                ReportKind::NotMapped,
                format!(
                    "keepalived 2.x runs {script:?} as user {:?}{group}: vrrpd has no per-hook user in this version, the hook runs as vrrpd's own user. If {:?} were meant as arguments, keepalived never passed them (it drops the script when there is no such user): quote the whole command",
                    extra[0],
                    extra.join(" ")
                ),
            );
            if extra.len() > 2 {
                self.report(
                    &loc,
                    &s.key.text,
                    ReportKind::NotMapped,
                    format!(
                        "words {:?} after the user and group: keepalived ignores them",
                        extra[2..].join(" ")
                    ),
                );
            }
        } else if !extra.is_empty() {
            self.report(
                &loc,
                &s.key.text,
                ReportKind::NotMapped,
                format!(
                    "words {:?} after the script: keepalived 2.x runs only {script:?} and ignores them, and so does the converted check (quote the whole command to pass arguments)",
                    extra.join(" ")
                ),
            );
        }
        if shell {
            self.report(
                &loc,
                &s.key.text,
                ReportKind::Warning,
                format!(
                    "{script:?} uses shell syntax: mapped to [\"/bin/sh\", \"-c\", ...], so it now runs through a shell (keepalived did not)"
                ),
            );
            return Some(vec!["/bin/sh".into(), "-c".into(), script]);
        }
        Some(argv)
    }

    fn top(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            match s.key.text.as_str() {
                "global_defs" => self.global_defs(s),
                "vrrp_instance" => self.instance(s),
                "vrrp_script" => self.script(s),
                "vrrp_sync_group" => self.sync_group(s),
                "virtual_server" | "virtual_server_group" => {
                    self.unmapped(s, "LVS load balancing is not part of vrrpd")
                }
                "static_ipaddress" | "static_routes" | "static_rules" => self.unmapped(
                    s,
                    "vrrpd manages only VIPs; configure static addresses with the system",
                ),
                "vrrp_track_process" | "track_file" | "vrrp_track_file" | "bfd_instance" => self
                    .unmapped(
                        s,
                        "vrrpd tracks interfaces and scripts only; wrap this check in a vrrp_script",
                    ),
                _ => self.unmapped(s, "no vrrpd equivalent"),
            }
        }
    }

    fn global_defs(&mut self, b: &Stmt) {
        for s in b.children() {
            match s.key.text.as_str() {
                "router_id" => {
                    if let Some(w) = self.value(s) {
                        self.globals.router_id = Some(w.text.clone());
                    }
                }
                "vrrp_version" => {
                    if let Some(n) = self.int(s, 2, 3) {
                        self.globals.version = Some(n as u8);
                    }
                }
                "vrrp_garp_master_repeat" => {
                    if let Some(n) = self.int(s, 0, 255) {
                        self.globals.garp_repeat = Some(n as u8);
                    }
                }
                "vrrp_garp_master_refresh" => {
                    if let Some(ms) = self.secs(s) {
                        self.globals.garp_refresh_ms = Some(ms);
                    }
                }
                "vrrp_garp_interval" => {
                    if let Some(ms) = self.secs(s) {
                        self.globals.garp_interval_ms = Some(ms);
                    }
                }
                "vrrp_garp_master_delay" => {
                    if let Some(ms) = self.secs(s) {
                        self.globals.garp_master_delay_ms = Some(ms);
                    }
                }
                "default_interface" => {
                    if let Some(w) = self.value(s) {
                        self.globals.default_interface = Some(w.text.clone());
                    }
                }
                "vrrp_strict" => self.unmapped(
                    s,
                    "vrrpd always applies the RFC's receive checks; it installs no firewall rules",
                ),
                "script_user" => self.unmapped(
                    s,
                    "vrrpd has no per-hook user in this version (the [notify] user/group of SPEC §2.2 is not in the config schema yet): notify and track programs run as vrrpd's own user; run vrrpd as that user or wrap the programs (e.g. `runuser -u USER --`)",
                ),
                "enable_script_security" => self.unmapped(
                    s,
                    "vrrpd never runs programs through a shell and has no per-hook user, so there is nothing to switch on; check yourself that the programs are not writable by other users",
                ),
                "vrrp_garp_master_refresh_repeat"
                | "vrrp_garp_lower_prio_delay" | "vrrp_garp_lower_prio_repeat" => self.unmapped(
                    s,
                    "vrrpd re-announces with one garp_repeat burst, at most once per advert interval, when it hears a lower-priority master, and refreshes one round every garp_refresh",
                ),
                _ => self.unmapped(s, "no vrrpd equivalent in vrrpd.toml"),
            }
        }
    }

    fn script(&mut self, b: &Stmt) {
        let Some(name) = b.args.first().map(|w| w.text.clone()) else {
            self.error(b.loc(), "vrrp_script: missing name");
            return;
        };
        let mut sc = Script {
            loc: b.loc().clone(),
            command: None,
            interval_ms: 1000,
            timeout_ms: None,
            rise: 1,
            fall: 1,
            weight: 0,
            reverse: false,
        };
        for s in b.children() {
            match s.key.text.as_str() {
                "script" => sc.command = self.command(s, false),
                "interval" => {
                    if let Some(ms) = self.whole_secs(s) {
                        sc.interval_ms = ms;
                    }
                }
                "timeout" => {
                    if let Some(ms) = self.whole_secs(s) {
                        sc.timeout_ms = Some(ms);
                    }
                }
                "rise" => {
                    if let Some(n) = self.int(s, 1, 255) {
                        sc.rise = n as u8;
                    }
                }
                "fall" => {
                    if let Some(n) = self.int(s, 1, 255) {
                        sc.fall = n as u8;
                    }
                }
                "weight" => {
                    if let Some((w, rev)) = self.weight(s, 0) {
                        sc.weight = w;
                        sc.reverse = rev;
                    }
                }
                "user" => self.unmapped(
                    s,
                    "vrrpd has no per-hook user in this version: track programs run as vrrpd's own user",
                ),
                "init_fail" => self.unmapped(
                    s,
                    "vrrpd starts every script as passing until it has failed `fall` times (keepalived's init_fail starts it as failed, so the node comes up at the lower priority)",
                ),
                _ => self.unmapped(s, "unknown vrrp_script keyword"),
            }
        }
        if self.scripts.contains_key(&name) {
            self.error(b.loc(), format!("vrrp_script {name:?} defined twice"));
        }
        self.scripts.insert(name, sc);
    }

    /// `weight N [reverse]` starting at `s.args[at]`.
    fn weight(&mut self, s: &Stmt, at: usize) -> Option<(i32, bool)> {
        let Some(w) = s.args.get(at) else {
            self.error(s.loc(), format!("{}: weight without a value", s.key.text));
            return None;
        };
        let n = match w.text.parse::<i32>() {
            Ok(n) if (-254..=254).contains(&n) => n,
            _ => {
                self.errors.push(num_err(w, "weight"));
                return None;
            }
        };
        let mut reverse = false;
        for extra in &s.args[at + 1..] {
            if extra.text == "reverse" {
                reverse = true;
            } else {
                let loc = extra.loc.clone();
                self.report(
                    &loc,
                    &s.key.text,
                    ReportKind::NotMapped,
                    format!("unknown option {:?}", extra.text),
                );
            }
        }
        Some((n, reverse))
    }

    fn sync_group(&mut self, b: &Stmt) {
        let Some(name) = b.args.first().map(|w| w.text.clone()) else {
            self.error(b.loc(), "vrrp_sync_group: missing name");
            return;
        };
        let mut members = Vec::new();
        for s in b.children() {
            match s.key.text.as_str() {
                "group" => {
                    for m in s.children() {
                        members.push(m.key.clone());
                        members.extend(m.args.iter().cloned());
                    }
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    self.unmapped(
                        s,
                        "vrrpd has no sync-group notify; put it on the members' notify",
                    )
                }
                "track_interface" | "track_script" | "track_file" | "track_process"
                | "track_bfd" => self.unmapped(
                    s,
                    "vrrpd has no sync-group trackers; track in every member (a member failing moves the whole sync group)",
                ),
                _ => self.unmapped(s, "no vrrpd equivalent for sync groups"),
            }
        }
        self.syncs.push(SyncGroup {
            name,
            loc: b.loc().clone(),
            members,
        });
    }

    fn vip_block(&mut self, b: &Stmt, out: &mut Vec<Vip>) {
        for s in b.children() {
            let (addr_s, prefix_s) = match s.key.text.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (s.key.text.as_str(), None),
            };
            let Ok(addr) = addr_s.parse::<IpAddr>() else {
                self.unmapped(
                    s,
                    format!(
                        "{}: cannot read an address (ranges are not supported)",
                        b.key.text
                    ),
                );
                continue;
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix_s {
                None => max,
                Some(p) => match p.parse::<u8>() {
                    Ok(n) if n <= max => n,
                    _ => {
                        self.error(s.loc(), format!("{}: bad prefix length", s.key.text));
                        continue;
                    }
                },
            };
            let mut dev = None;
            let mut i = 0;
            while i < s.args.len() {
                let opt = &s.args[i];
                let takes_value = matches!(
                    opt.text.as_str(),
                    "dev"
                        | "brd"
                        | "broadcast"
                        | "scope"
                        | "label"
                        | "preferred_lft"
                        | "peer"
                        | "track_group"
                );
                let value = if takes_value { s.args.get(i + 1) } else { None };
                if opt.text == "dev" {
                    match value {
                        Some(v) => dev = Some(v.text.clone()),
                        None => self.error(&opt.loc, "dev: missing interface name"),
                    }
                } else {
                    let shown = match value {
                        Some(v) => format!("{} {}", opt.text, v.text),
                        None => opt.text.clone(),
                    };
                    let loc = opt.loc.clone();
                    self.report(
                        &loc,
                        &b.key.text,
                        ReportKind::NotMapped,
                        format!(
                            "option `{shown}` of {}: vrrpd adds VIPs with address, prefix and interface only",
                            s.key.text
                        ),
                    );
                }
                i += if takes_value { 2 } else { 1 };
            }
            out.push(Vip {
                addr,
                prefix,
                dev,
                loc: s.loc().clone(),
            });
        }
    }

    fn legacy_auth(&mut self, b: &Stmt) -> Option<Auth> {
        let mut ty: Option<(String, Loc)> = None;
        let mut pass = None;
        for s in b.children() {
            match s.key.text.as_str() {
                "auth_type" => {
                    if let Some(w) = self.value(s) {
                        ty = Some((w.text.to_ascii_uppercase(), w.loc.clone()));
                    }
                }
                "auth_pass" => pass = self.value(s).map(|w| w.text.clone()),
                _ => self.unmapped(s, "unknown authentication keyword"),
            }
        }
        let Some((ty, loc)) = ty else {
            self.unmapped(b, "no auth_type");
            return None;
        };
        let Some(pass) = pass else {
            self.unmapped(b, "no auth_pass");
            return None;
        };
        match ty.as_str() {
            "PASS" => Some(Auth::Pass(pass)),
            "AH" => Some(Auth::Ah(pass)),
            _ => {
                self.error(&loc, format!("auth_type: unknown type {ty:?} (PASS or AH)"));
                None
            }
        }
    }

    fn hmac(&mut self, b: &Stmt) -> Option<Auth> {
        let mut keys = BTreeMap::new();
        let mut active = None;
        let mut anti_replay = None;
        let mut time_window_ms = None;
        let mut mode = None;
        for s in b.children() {
            match s.key.text.as_str() {
                "key" => match s.args.as_slice() {
                    [id, value] => match id.text.parse::<u8>() {
                        Ok(n) if n >= 1 => {
                            if let Some(file) = value.text.strip_prefix("file:") {
                                let loc = value.loc.clone();
                                self.report(
                                    &loc,
                                    "key",
                                    ReportKind::Warning,
                                    format!(
                                        "key {n} read from {file}: vrrpd uses the file's bytes as the key (one trailing newline dropped); if the file holds a `hex:` line, decode it or inline it as hex:..."
                                    ),
                                );
                            }
                            if keys.insert(n, value.text.clone()).is_some() {
                                self.error(&id.loc, format!("key {n} defined twice"));
                            }
                        }
                        _ => self.errors.push(num_err(id, "key id (1..=255)")),
                    },
                    _ => self.error(s.loc(), "key: expected `key ID VALUE`"),
                },
                "active_key" => {
                    if let Some(n) = self.int(s, 1, 255) {
                        active = Some(n as u8);
                    }
                }
                "anti_replay" => {
                    if let Some(w) = self.value(s) {
                        match w.text.as_str() {
                            "time" => anti_replay = Some(AntiReplay::Time),
                            "monotonic" => anti_replay = Some(AntiReplay::Monotonic),
                            _ => self.errors.push(num_err(w, "anti_replay (time|monotonic)")),
                        }
                    }
                }
                "time_window" => {
                    if let Some(n) = self.int(s, 1, 300) {
                        time_window_ms = Some(n as u64 * 1000);
                    }
                }
                "mode" => {
                    if let Some(w) = self.value(s) {
                        match w.text.as_str() {
                            "enforce" => mode = Some(HmacMode::Enforce),
                            "permissive" => mode = Some(HmacMode::Permissive),
                            "receive-only" | "receive_only" => mode = Some(HmacMode::ReceiveOnly),
                            _ => self.errors.push(num_err(w, "mode (enforce|permissive)")),
                        }
                    }
                }
                _ => self.unmapped(s, "unknown auth_hmac keyword"),
            }
        }
        if keys.is_empty() {
            self.unmapped(b, "no key defined");
            return None;
        }
        Some(Auth::Hmac {
            keys,
            active,
            anti_replay,
            time_window_ms,
            mode,
        })
    }

    fn track_refs(&mut self, b: &Stmt, out: &mut Vec<TrackRef>) {
        for s in b.children() {
            let mut r = TrackRef {
                name: s.key.text.clone(),
                weight: None,
                reverse: false,
                loc: s.loc().clone(),
            };
            match s.args.first().map(|w| w.text.as_str()) {
                None => {}
                Some("weight") => match self.weight(s, 1) {
                    Some((w, rev)) => {
                        r.weight = Some(w);
                        r.reverse = rev;
                    }
                    None => continue,
                },
                Some(_) => {
                    self.unmapped(s, format!("{}: unknown options", b.key.text));
                    continue;
                }
            }
            if let Some(first) = out.iter().find(|t| t.name == r.name) {
                let first = first.loc.clone();
                self.report(
                    &r.loc,
                    &b.key.text,
                    ReportKind::Warning,
                    format!("{:?} is already tracked at {first}; keepalived ignores the repeat, so it is written once", r.name),
                );
                continue;
            }
            out.push(r);
        }
    }

    fn instance(&mut self, b: &Stmt) {
        let Some(name) = b.args.first().map(|w| w.text.clone()) else {
            self.error(b.loc(), "vrrp_instance: missing name");
            return;
        };
        if let Some(first) = self.instances.iter().find(|i| i.src_name == name) {
            let first = first.loc.clone();
            let at = first.map(|l| format!(" at {l}")).unwrap_or_default();
            self.unmapped(
                b,
                format!("vrrp_instance {name:?} is already defined{at}; keepalived skips this one"),
            );
            return;
        }
        let mut g = Instance {
            src_name: name,
            loc: Some(b.loc().clone()),
            ..Instance::default()
        };
        for s in b.children() {
            let key = s.key.text.as_str();
            match key {
                "state" => {
                    // keepalived compares case-sensitively; anything else
                    // is BACKUP with a warning, and BACKUP after MASTER is
                    // ignored.
                    if let Some(w) = self.value(s) {
                        let w = w.clone();
                        match w.text.as_str() {
                            "MASTER" => g.master = Some(w.loc.clone()),
                            "BACKUP" if g.master.is_some() => self.report(
                                &w.loc,
                                "state",
                                ReportKind::Warning,
                                "state was already MASTER; keepalived ignores this BACKUP, and so does the conversion",
                            ),
                            "BACKUP" => {}
                            other => self.report(
                                &w.loc,
                                "state",
                                ReportKind::Warning,
                                format!("unknown state {other:?} (keepalived reads MASTER or BACKUP, upper case): BACKUP, as keepalived does"),
                            ),
                        }
                    }
                }
                "interface" => g.interface = self.value(s).map(|w| w.text.clone()),
                "virtual_router_id" => g.vrid = self.int(s, 1, 255).map(|n| n as u8),
                "priority" => g.priority = self.int(s, 1, 255).map(|n| n as u8),
                "advert_int" => {
                    if let Some(ms) = self.secs(s) {
                        g.advert_ms = Some((ms, s.loc().clone()));
                    }
                }
                "version" => {
                    if let Some(n) = self.int(s, 2, 3) {
                        g.version = Some((n as u8, s.loc().clone()));
                    }
                }
                "nopreempt" => g.nopreempt = true,
                "preempt" => g.nopreempt = false,
                "preempt_delay" => {
                    if let Some(ms) = self.secs(s) {
                        if ms > 1_000_000 {
                            self.error(s.loc(), "preempt_delay: at most 1000 seconds");
                        } else {
                            g.preempt_delay_ms = Some(ms);
                        }
                    }
                }
                "unicast_src_ip" => {
                    if let Some(w) = self.value(s) {
                        g.unicast_src = self.unicast_ip(&w.clone(), "unicast_src_ip");
                    }
                }
                "unicast_peer" => {
                    for p in s.children() {
                        if let Some(a) = self.unicast_ip(&p.key.clone(), "unicast_peer") {
                            if g.peers.contains(&a) {
                                self.report(
                                    &p.key.loc,
                                    "unicast_peer",
                                    ReportKind::Warning,
                                    format!("{a} is listed twice; written once (keepalived 2.2.7 keeps the repeat and sends it every advert twice; vrrpd would reject it)"),
                                );
                            } else {
                                g.peers.push(a);
                            }
                        }
                        if !p.args.is_empty() {
                            let words: Vec<&str> = p.args.iter().map(|w| w.text.as_str()).collect();
                            self.unmapped(
                                p,
                                format!(
                                    "per-peer options {:?}: vrrpd has one min_ttl per group",
                                    words.join(" ")
                                ),
                            );
                        }
                    }
                }
                "authentication" => {
                    if let Some(a) = self.legacy_auth(s) {
                        g.legacy_auth = Some((a, s.loc().clone()));
                    }
                }
                "auth_hmac" => {
                    if let Some(a) = self.hmac(s) {
                        g.hmac = Some((a, s.loc().clone()));
                    }
                }
                "virtual_ipaddress" => {
                    let mut v = std::mem::take(&mut g.vips);
                    self.vip_block(s, &mut v);
                    g.vips = v;
                }
                "virtual_ipaddress_excluded" => {
                    let mut v = std::mem::take(&mut g.excluded);
                    self.vip_block(s, &mut v);
                    g.excluded = v;
                }
                "track_interface" => {
                    let mut v = std::mem::take(&mut g.track_if);
                    self.track_refs(s, &mut v);
                    g.track_if = v;
                }
                "track_script" => {
                    let mut v = std::mem::take(&mut g.track_scripts);
                    self.track_refs(s, &mut v);
                    g.track_scripts = v;
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    let i = ["notify_master", "notify_backup", "notify_fault", "notify_stop"]
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or(4);
                    if let Some((_, first)) = &g.notify[i] {
                        let first = first.clone();
                        self.report(
                            s.loc(),
                            key,
                            ReportKind::Warning,
                            format!("{key} is already set at {first}; keepalived keeps the first and ignores this one, and so does the conversion"),
                        );
                        continue;
                    }
                    g.notify[i] = self.command(s, true).map(|c| (c, s.loc().clone()));
                }
                "garp_master_repeat" => g.garp_repeat = self.int(s, 0, 255).map(|n| n as u8),
                "garp_master_refresh" => g.garp_refresh_ms = self.secs(s),
                "garp_interval" => g.garp_interval_ms = self.secs(s),
                "garp_master_delay" => g.garp_master_delay_ms = self.secs(s),
                "garp_lower_prio_repeat" | "garp_lower_prio_delay" | "garp_master_refresh_repeat" => self.unmapped(
                    s,
                    "vrrpd re-announces with one garp_repeat burst, at most once per advert interval, when it hears a lower-priority master",
                ),
                "dont_track_primary" => self.unmapped(
                    s,
                    "vrrpd always goes to FAULT while the group's interface is down (keepalived with dont_track_primary stays in its state)",
                ),
                // SPEC §1 virtual MAC mode; keepalived's default name
                // (vrrp.VRID) is vrrpd's too.
                "use_vmac" => g.vmac = Some(s.args.first().map(|w| w.text.clone())),
                "vmac_xmit_base" => g.vmac_xmit_base = Some(s.loc().clone()),
                "mcast_src_ip" => self.unmapped(
                    s,
                    "vrrpd sends multicast from the interface's primary address",
                ),
                "accept" | "no_accept" => self.unmapped(
                    s,
                    "vrrpd installs no firewall rules; traffic to the VIPs is always accepted",
                ),
                "smtp_alert" => self.unmapped(s, "vrrpd sends no mail; use a notify program"),
                "track_process" | "track_file" | "track_bfd" => self.unmapped(
                    s,
                    "vrrpd tracks interfaces and scripts only; wrap this check in a vrrp_script",
                ),
                "virtual_routes" => {
                    let mut v = std::mem::take(&mut g.routes);
                    self.route_block(s, &mut v);
                    g.routes = v;
                }
                "virtual_rules" => {
                    let mut v = std::mem::take(&mut g.rules);
                    self.rule_block(s, &mut v);
                    g.rules = v;
                }
                "unicast_ttl" => self.unmapped(s, "vrrpd always sends with TTL 255"),
                "check_unicast_src" => {
                    let loc = s.loc().clone();
                    self.report(
                        &loc,
                        key,
                        ReportKind::Note,
                        "vrrpd always drops unicast adverts from outside unicast_peers",
                    );
                }
                "strict_mode" => self.unmapped(
                    s,
                    "vrrpd always applies the RFC's receive checks; it installs no firewall rules",
                ),
                _ => self.unmapped(s, "unknown or unsupported vrrp_instance keyword"),
            }
        }
        self.instances.push(g);
    }

    /// Resolve names, trackers and defaults, and build the files.
    fn finish(&mut self) -> Conversion {
        let instances = std::mem::take(&mut self.instances);
        let mut taken: HashSet<String> = HashSet::new();
        let mut by_src: HashMap<String, String> = HashMap::new();
        let mut groups = Vec::new();
        let mut files = Vec::new();
        for mut g in instances {
            let Some(loc) = g.loc.clone() else { continue };
            if g.vrid.is_none() {
                self.report(
                    &loc,
                    "vrrp_instance",
                    ReportKind::NotMapped,
                    format!(
                        "{}: no virtual_router_id (keepalived does not start it either)",
                        g.src_name
                    ),
                );
                continue;
            }
            if g.vips.is_empty() && g.notify.iter().all(Option::is_none) {
                self.report(
                    &loc,
                    "vrrp_instance",
                    ReportKind::NotMapped,
                    format!(
                        "{}: no virtual_ipaddress and no notify script: the group would change nothing (vrrpd needs VIPs or a [notify] hook)",
                        g.src_name
                    ),
                );
                continue;
            }
            if g.interface.is_none() {
                // keepalived's default_interface (global_defs), default eth0.
                // keepalived 2.2.7 itself stops with "Unknown interface!" on
                // such an instance (checked against its binary), so this is
                // a choice, and said as loudly as one.
                let (name, from) = match &self.globals.default_interface {
                    Some(i) => (i.clone(), "global_defs default_interface"),
                    None => ("eth0".to_string(), "keepalived's default_interface default"),
                };
                self.report(
                    &loc,
                    "interface",
                    ReportKind::Warning,
                    format!(
                        "{}: no interface: written as interface = {name:?} ({from}). keepalived 2.2.7 refuses such an instance (\"Unknown interface!\", and stops), so check that this is the interface meant",
                        g.src_name
                    ),
                );
                g.interface = Some(name);
            }
            g.name = sanitize(&g.src_name, g.vrid.unwrap_or(0), &mut taken);
            if g.name != g.src_name {
                self.report(
                    &loc,
                    "vrrp_instance",
                    ReportKind::Note,
                    format!(
                        "{:?} is written as group {:?} (groups.d/{}.toml): group names are [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters, unique ignoring case",
                        g.src_name, g.name, g.name
                    ),
                );
            }
            by_src.insert(g.src_name.clone(), g.name.clone());
            let file = self.group_file(&g, &loc);
            let head = header(&self.source).line(format!("vrrp_instance {} ({loc})", g.src_name));
            match output::render(&format!("groups.d/{}.toml", g.name), &head, &file) {
                Ok(text) => groups.push((g.name.clone(), text)),
                Err(e) => self.errors.push(output_error(&e)),
            }
            files.push((g.name.clone(), file));
        }
        if groups.is_empty() {
            self.errors.push(SyntaxError {
                loc: None,
                message: format!(
                    "{}: no vrrp_instance could be converted, so vrrpd would have no group to run (see the items not mapped above)",
                    self.source.display()
                ),
            });
        }
        let daemon = self.daemon_file(&by_src);
        let head =
            header(&self.source).line("Daemon-wide settings (SPEC §2.1). Every key is optional.");
        let daemon_toml = output::render("vrrpd.toml", &head, &daemon).unwrap_or_else(|e| {
            self.errors.push(output_error(&e));
            String::new()
        });
        let mut reports = std::mem::take(&mut self.reports);
        // Source order: by file (in reading order), then line.
        let order: Vec<PathBuf> = {
            let mut v: Vec<PathBuf> = Vec::new();
            for r in &reports {
                if !v.contains(&r.loc.file) {
                    v.push((*r.loc.file).clone());
                }
            }
            v
        };
        reports.sort_by_key(|r| (order.iter().position(|p| *p == *r.loc.file), r.loc.line));
        Conversion {
            source: self.source.clone(),
            daemon_toml,
            groups,
            daemon_file: daemon,
            group_files: files,
            reports,
        }
    }

    fn daemon_file(&mut self, by_src: &HashMap<String, String>) -> output::DaemonFile {
        let mut d = output::DaemonFile {
            router_id: self.globals.router_id.as_deref().map(seedable),
            ..Default::default()
        };
        let mut used: HashMap<String, String> = HashMap::new();
        let syncs = std::mem::take(&mut self.syncs);
        for sg in syncs {
            let mut members = Vec::new();
            for m in &sg.members {
                let Some(name) = by_src.get(&m.text) else {
                    self.report(
                        &m.loc,
                        "group",
                        ReportKind::NotMapped,
                        format!(
                            "sync group {:?}: member {:?} is not a converted vrrp_instance",
                            sg.name, m.text
                        ),
                    );
                    continue;
                };
                if let Some(other) = used.get(name) {
                    self.report(
                        &m.loc,
                        "group",
                        ReportKind::NotMapped,
                        format!(
                            "sync group {:?}: {:?} is already in sync group {other:?} (a group belongs to one sync group)",
                            sg.name, m.text
                        ),
                    );
                    continue;
                }
                if members.contains(name) {
                    self.report(
                        &m.loc,
                        "group",
                        ReportKind::Warning,
                        format!(
                            "sync group {:?}: {:?} listed twice; written once",
                            sg.name, m.text
                        ),
                    );
                    continue;
                }
                used.insert(name.clone(), sg.name.clone());
                members.push(name.clone());
            }
            if members.is_empty() {
                self.report(
                    &sg.loc,
                    "vrrp_sync_group",
                    ReportKind::NotMapped,
                    format!("{}: no members left", sg.name),
                );
                continue;
            }
            d.sync_group.push(output::SyncGroupFile {
                name: seedable(&sg.name),
                members,
            });
        }
        d
    }

    /// The family of a group: its first VIP's, else its unicast addresses',
    /// else IPv4 (keepalived's default for an instance without addresses).
    fn family_v6(g: &Instance) -> bool {
        g.vips
            .first()
            .map(|v| v.addr)
            .or(g.unicast_src)
            .or(g.peers.first().copied())
            .is_some_and(|a| a.is_ipv6())
    }

    fn group_file(&mut self, g: &Instance, loc: &Loc) -> output::GroupFile {
        let interface = g.interface.clone().unwrap_or_default();
        let family_v6 = Self::family_v6(g);
        // Version: instance, global_defs, keepalived's default 2; IPv6 needs 3.
        let mut version = g
            .version
            .as_ref()
            .map(|v| v.0)
            .or(self.globals.version)
            .unwrap_or(2);
        if family_v6 && version == 2 {
            version = 3;
            let vloc = g
                .version
                .as_ref()
                .map(|v| v.1.clone())
                .unwrap_or(loc.clone());
            self.report(
                &vloc,
                "version",
                ReportKind::Note,
                format!(
                    "{}: IPv6 needs VRRPv3; written as version = 3 (keepalived does the same)",
                    g.src_name
                ),
            );
        }
        // Advert interval.
        let (mut adv_ms, adv_loc) = g.advert_ms.clone().unwrap_or((1000, loc.clone()));
        if version == 2 {
            if adv_ms % 1000 != 0 {
                let r = adv_ms.div_ceil(1000).max(1) * 1000;
                self.report(
                    &adv_loc,
                    "advert_int",
                    ReportKind::Warning,
                    format!(
                        "VRRPv2 adverts are in whole seconds: {} written as {}",
                        fmt_ms(adv_ms),
                        fmt_ms(r)
                    ),
                );
                adv_ms = r;
            }
            if !(1000..=255_000).contains(&adv_ms) {
                self.error(&adv_loc, "advert_int: VRRPv2 needs 1..=255 seconds");
            }
        } else {
            if adv_ms % 10 != 0 {
                let r = adv_ms.div_ceil(10) * 10;
                self.report(
                    &adv_loc,
                    "advert_int",
                    ReportKind::Warning,
                    format!(
                        "VRRPv3 adverts are in centiseconds: {} written as {}",
                        fmt_ms(adv_ms),
                        fmt_ms(r)
                    ),
                );
                adv_ms = r;
            }
            if !(10..=40_950).contains(&adv_ms) {
                self.error(&adv_loc, "advert_int: VRRPv3 needs 0.01..=40.95 seconds");
            }
        }

        let (base, track_if, track_sc) = self.trackers(g);

        let mut f = output::GroupFile {
            vrid: g.vrid.unwrap_or(0),
            interface: seedable(&interface),
            priority: base,
            version,
            advert_interval: Duration::from_millis(adv_ms),
            preempt: g.nopreempt.then_some(false),
            preempt_delay: g.preempt_delay_ms.map(Duration::from_millis),
            unicast_source: g.unicast_src,
            unicast_peers: g.peers.clone(),
            garp_repeat: g.garp_repeat.or(self.globals.garp_repeat),
            garp_interval: g
                .garp_interval_ms
                .or(self.globals.garp_interval_ms)
                .map(Duration::from_millis),
            garp_refresh: g
                .garp_refresh_ms
                .or(self.globals.garp_refresh_ms)
                .map(Duration::from_millis),
            garp_master_delay: g
                .garp_master_delay_ms
                .or(self.globals.garp_master_delay_ms)
                .map(Duration::from_millis),
            virtual_route: g
                .routes
                .iter()
                .map(|r| {
                    let mut f = r.file.clone();
                    if r.default_dst && family_v6 {
                        f.to = routes::default_prefix(true);
                    }
                    f
                })
                .collect(),
            virtual_rule: g.rules.clone(),
            use_vmac: g.vmac.is_some().then_some(true),
            vmac_interface: g.vmac.clone().flatten(),
            vmac_xmit_base: (g.vmac.is_some() && g.vmac_xmit_base.is_some()).then_some(true),
            ..Default::default()
        };
        if let (None, Some(l)) = (&g.vmac, &g.vmac_xmit_base) {
            self.report(
                l,
                "vmac_xmit_base",
                ReportKind::Note,
                "vmac_xmit_base without use_vmac has no effect in keepalived; not carried over",
            );
        }
        if let Some(ml) = &g.master {
            if base == 255 {
                f.start_state = Some(StartState::Master);
            } else {
                self.report(
                    ml,
                    "state",
                    ReportKind::Note,
                    format!("MASTER at priority {base}: vrrpd starts as backup and elects by priority (start_state = \"master\" is only for the address owner, priority 255)"),
                );
            }
        }

        // VIPs: one family in virtual_ips; an address once (keepalived
        // ignores a repeat with a warning, vrrpd rejects it).
        let mut seen: HashMap<IpAddr, Loc> = HashMap::new();
        for (excluded, list) in [(false, &g.vips), (true, &g.excluded)] {
            for v in list {
                if let Some(first) = seen.get(&v.addr) {
                    // keepalived 2.2.7 keeps a repeated VIP in its list (its
                    // adverts carry it twice and it expects as many back);
                    // vrrpd rejects the repeat, so it is written once.
                    let message = if excluded {
                        format!("{} is already listed at {first}; written once", v.addr)
                    } else {
                        format!(
                            "{} is already listed at {first}; written once. keepalived 2.2.7 keeps the repeat: its adverts carry the address twice and it discards adverts with a different count (\"expected N VIPs but received M\"), so remove the repeat from the keepalived nodes' file too before mixing them with vrrpd",
                            v.addr
                        )
                    };
                    self.report(
                        &v.loc,
                        if excluded {
                            "virtual_ipaddress_excluded"
                        } else {
                            "virtual_ipaddress"
                        },
                        ReportKind::Warning,
                        message,
                    );
                    continue;
                }
                seen.insert(v.addr, v.loc.clone());
                if !excluded && v.addr.is_ipv6() != family_v6 {
                    self.report(
                        &v.loc,
                        "virtual_ipaddress",
                        ReportKind::NotMapped,
                        format!("{}: not the family of the first address (keepalived ignores it too); move it to virtual_ipaddress_excluded", v.addr),
                    );
                    continue;
                }
                let address = output::VipAddr {
                    address: v.addr,
                    prefix_len: v.prefix,
                };
                let entry = match &v.dev {
                    Some(d) if excluded || *d != interface => output::VipEntry::On {
                        address,
                        interface: seedable(d),
                    },
                    None if excluded => output::VipEntry::On {
                        address,
                        interface: seedable(&interface),
                    },
                    _ => output::VipEntry::Plain(address),
                };
                if excluded {
                    f.excluded_ips.push(entry);
                } else {
                    f.virtual_ips.push(entry);
                }
            }
        }
        if f.virtual_ips.is_empty() {
            self.report(
                loc,
                "virtual_ipaddress",
                ReportKind::Note,
                format!(
                    "{}: no VIPs: written as virtual_ips = [], a group that only runs its notify hooks (cloud failover by API)",
                    g.src_name
                ),
            );
        }

        f.auth = self.auth_file(g, version, family_v6, adv_ms);

        f.track_interface = track_if
            .into_iter()
            .map(|(name, weight)| output::TrackInterfaceFile {
                name: seedable(&name),
                weight,
            })
            .collect();
        f.track_script = track_sc
            .into_iter()
            .map(|(name, sc, weight)| output::TrackScriptFile {
                name: seedable(&name),
                command: sc
                    .command
                    .unwrap_or_default()
                    .iter()
                    .map(|w| seedable(w))
                    .collect(),
                interval: Duration::from_millis(sc.interval_ms),
                timeout: Duration::from_millis(sc.timeout_ms.unwrap_or(sc.interval_ms)),
                rise: sc.rise,
                fall: sc.fall,
                weight,
            })
            .collect();
        let hook = |i: usize| {
            g.notify[i]
                .as_ref()
                .map(|(c, _)| c.iter().map(|w| seedable(w)).collect::<Vec<_>>())
        };
        f.notify = output::NotifyFile {
            master: hook(0),
            backup: hook(1),
            fault: hook(2),
            stop: hook(3),
            any: hook(4),
        };
        f
    }

    fn auth_file(
        &mut self,
        g: &Instance,
        version: u8,
        family_v6: bool,
        adv_ms: u64,
    ) -> Option<output::AuthFile> {
        let mut auth = g.hmac.clone();
        if let Some((legacy, lloc)) = &g.legacy_auth {
            if auth.is_some() {
                self.report(
                    lloc,
                    "authentication",
                    ReportKind::NotMapped,
                    "auth_hmac is set; keepalived drops the legacy authentication then",
                );
            } else if version == 3 {
                self.report(
                    lloc,
                    "authentication",
                    ReportKind::NotMapped,
                    "keepalived ignores authentication with VRRPv3; use auth_hmac",
                );
            } else if family_v6 {
                self.report(
                    lloc,
                    "authentication",
                    ReportKind::NotMapped,
                    "VRRPv2 authentication is IPv4 only",
                );
            } else {
                auth = Some((legacy.clone(), lloc.clone()));
            }
        }
        let (a, _) = auth?;
        Some(match a {
            Auth::Pass(s) => output::AuthFile::Pass {
                secret: password(&s),
            },
            Auth::Ah(s) => output::AuthFile::Ah {
                secret: password(&s),
            },
            Auth::Hmac {
                keys,
                active,
                anti_replay,
                time_window_ms,
                mode,
            } => output::AuthFile::Hmac(output::HmacFile {
                keys: keys.iter().map(|(id, v)| (*id, seedable(v))).collect(),
                active_key: active,
                anti_replay: Some(anti_replay.unwrap_or(AntiReplay::Time)),
                // keepalived's default window: max(3 x advert_int, 5s).
                time_window: Some(Duration::from_millis(
                    time_window_ms.unwrap_or((3 * adv_ms).max(5000)),
                )),
                mode: Some(mode.unwrap_or(HmacMode::Enforce)),
            }),
        })
    }

    /// The base priority and the trackers, with keepalived's positive
    /// weights turned around (vrrpd's weights apply while a check fails).
    #[allow(clippy::type_complexity)]
    fn trackers(&mut self, g: &Instance) -> (u8, Vec<(String, i32)>, Vec<(String, Script, i32)>) {
        let base = i32::from(g.priority.unwrap_or(100));
        let owner = base == 255;
        let mut track_if: Vec<(String, i32)> = Vec::new();
        let mut track_sc: Vec<(String, Script, i32)> = Vec::new();
        let mut positive_locs = Vec::new();
        for r in &g.track_if {
            if r.reverse {
                self.report(
                    &r.loc,
                    "track_interface",
                    ReportKind::NotMapped,
                    format!("{}: `reverse` weights are not supported", r.name),
                );
                continue;
            }
            let w = r.weight.unwrap_or(0);
            if w > 0 {
                positive_locs.push((r.loc.clone(), w));
            }
            track_if.push((r.name.clone(), w));
        }
        for r in &g.track_scripts {
            let Some(sc) = self.scripts.get(&r.name).cloned() else {
                self.report(
                    &r.loc,
                    "track_script",
                    ReportKind::NotMapped,
                    format!("no vrrp_script named {:?}", r.name),
                );
                continue;
            };
            if sc.command.is_none() {
                self.report(
                    &r.loc,
                    "track_script",
                    ReportKind::NotMapped,
                    format!("vrrp_script {:?} ({}) has no script", r.name, sc.loc),
                );
                continue;
            }
            if r.reverse || (r.weight.is_none() && sc.reverse) {
                self.report(
                    &r.loc,
                    "track_script",
                    ReportKind::NotMapped,
                    format!("{}: `reverse` weights are not supported", r.name),
                );
                continue;
            }
            let w = r.weight.unwrap_or(sc.weight);
            if w > 0 {
                positive_locs.push((r.loc.clone(), w));
            }
            track_sc.push((r.name.clone(), sc, w));
        }
        let positive: i32 = positive_locs.iter().map(|p| p.1).sum();
        if positive == 0 {
            return (base as u8, track_if, track_sc);
        }
        if owner {
            for (l, _) in &positive_locs {
                self.report(
                    l,
                    "weight",
                    ReportKind::NotMapped,
                    "a positive weight cannot raise an address owner (priority 255)",
                );
            }
            track_if.retain(|t| t.1 <= 0);
            track_sc.retain(|t| t.2 <= 0);
            return (base as u8, track_if, track_sc);
        }
        // keepalived: priority = clamp(base + passing positives + failing
        // negatives, 1, 254). vrrpd: clamp(base' + failing weights, 1, 254).
        let raised = (base + positive).min(254);
        let excess = base + positive - raised;
        let first = positive_locs[0].0.clone();
        // With one positive weight its whole effect can be kept exactly.
        let mut single_effect: Option<i32> = None;
        let message = if excess == 0 {
            format!(
                "keepalived adds positive weights while a check passes, vrrpd adds weights while it fails: base priority {base} + {positive} = {raised}, each positive weight W written as -W (the same priority in every state)"
            )
        } else if positive_locs.len() == 1 {
            // One positive weight: its effect is raised - base in keepalived
            // (the cap eats the rest), so that is the weight to subtract.
            let eff = raised - base;
            single_effect = Some(eff);
            format!(
                "keepalived adds positive weights while a check passes, vrrpd adds weights while it fails: base priority {base} + {positive} is capped at 254 by keepalived, so the base is written as 254 and the weight as -{eff} (254 - {base}): the same priority in every state, except while a negative-weight check also fails and keepalived's uncapped sum stays above 254 (keepalived then subtracts from {}, vrrpd from 254)",
                base + positive
            )
        } else {
            format!(
                "keepalived adds positive weights while a check passes, vrrpd adds weights while it fails: base priority {base} + {positive} = {} is capped at 254 by keepalived, so the base is written as 254 and each positive weight W as -W. Equivalent while every positive-weight check passes (both 254); in any other state vrrpd's priority is up to {excess} lower than keepalived's (exactly {excess} lower whenever keepalived's sum is at most 254). Lower the weights so that {base} + {positive} <= 254 for an exact mapping",
                base + positive
            )
        };
        self.report(&first, "weight", ReportKind::Note, message);
        let invert = |w: i32| -single_effect.unwrap_or(w);
        for t in &mut track_if {
            if t.1 > 0 {
                t.1 = invert(t.1);
            }
        }
        for t in &mut track_sc {
            if t.2 > 0 {
                t.2 = invert(t.2);
            }
        }
        (raised as u8, track_if, track_sc)
    }
}

/// Whether `name` is an account in `file` (`/etc/passwd`, `/etc/group`:
/// `name:...` lines); `None` when the file cannot be read. Accounts only known
/// to NSS (LDAP, ...) are not seen: the report says which files were read.
fn account_exists(file: &str, name: &str) -> Option<bool> {
    let text = std::fs::read_to_string(file).ok()?;
    Some(text.lines().any(|l| l.split(':').next() == Some(name)))
}

/// A valid, unique group name for a keepalived instance name.
fn sanitize(src: &str, vrid: u8, taken: &mut HashSet<String>) -> String {
    let mut s: String = src
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = s.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    s = trimmed.to_string();
    if s.is_empty() {
        s = format!("vrid-{vrid}");
    }
    s.truncate(64);
    let mut name = s.clone();
    let mut n = 2;
    while taken.contains(&name.to_ascii_lowercase()) {
        let suffix = format!("-{n}");
        let mut b = s.clone();
        b.truncate(64 - suffix.len());
        name = format!("{b}{suffix}");
        n += 1;
    }
    taken.insert(name.to_ascii_lowercase());
    name
}

/// The comment block every converted file starts with.
fn header(source: &Path) -> output::Comments {
    output::Comments::default()
        .line(format!(
            "Converted by `vrrpd convert` from keepalived config {}.",
            source.display()
        ))
        .line("Check it with `vrrpd check --config DIR` before use.")
}

fn output_error(e: &output::OutputError) -> SyntaxError {
    SyntaxError {
        loc: None,
        message: e.to_string(),
    }
}

fn fmt_ms(ms: u64) -> String {
    output::duration_text(Duration::from_millis(ms))
}

/// A keepalived `auth_pass` as a vrrpd secret. keepalived takes the
/// password literally, while vrrpd reads `hex:` and `file:` prefixes: such a
/// password is written as `hex:` of its bytes so it keeps its meaning.
fn password(s: &str) -> String {
    if s.starts_with("hex:") || s.starts_with("file:") {
        let mut hex = String::from("hex:");
        for b in s.as_bytes() {
            let _ = write!(hex, "{b:02x}");
        }
        hex
    } else {
        seedable(s)
    }
}

/// A string made safe for vrrpd's seeding: keepalived's `${_ENV NAME}`
/// becomes vrrpd's `${NAME}`; any other `${` becomes `$${` (literal).
fn seedable(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(body) = after.strip_prefix("_ENV ")
            && let Some(end) = body.find('}')
        {
            let name = body[..end].trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                let _ = write!(out, "${{{name}}}");
                rest = &body[end + 1..];
                continue;
            }
        }
        out.push_str("$${");
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(secs_to_ms("1"), Some(1000));
        assert_eq!(secs_to_ms("0.5"), Some(500));
        assert_eq!(secs_to_ms(".25"), Some(250));
        assert_eq!(secs_to_ms("1.0005"), Some(1001));
        assert_eq!(secs_to_ms("x"), None);
        assert_eq!(secs_to_ms("-1"), None);
    }

    #[test]
    fn names() {
        let mut t = HashSet::new();
        assert_eq!(sanitize("VI_1", 1, &mut t), "VI_1");
        assert_eq!(sanitize("vi_1", 1, &mut t), "vi_1-2");
        assert_eq!(sanitize("_web public", 2, &mut t), "web_public");
        assert_eq!(sanitize("***", 7, &mut t), "vrid-7");
        assert_eq!(sanitize(&"x".repeat(80), 7, &mut t).len(), 64);
    }

    #[test]
    fn seeding_escapes() {
        assert_eq!(seedable("a${_ENV CRED}/k"), "a${CRED}/k");
        assert_eq!(seedable("echo ${HOME}"), "echo $${HOME}");
    }
}
