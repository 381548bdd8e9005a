//! Configuration: schema, `${VAR}` seeding, validation with `file:line:column`
//! errors (SPEC §2).
//!
//! Layout: a directory holding an optional `vrrpd.toml` (daemon-wide settings)
//! and `groups.d/*.toml` (one VRRP group per file, the file stem is the group
//! name), or a single group file. [`load`] reads, seeds, types and validates
//! everything and returns either a [`Config`] (plus warnings) or every error it
//! could find, each as `file:line:column: message`.
//!
//! Seeding happens before typing: every string value (also inside arrays and
//! tables, including argv of commands) has `${NAME}` / `${NAME:-default}`
//! replaced first, and a key of a non-string type (integer, boolean) also
//! accepts a string, which is parsed as that type after substitution. So
//! `priority = "${PRIORITY:-100}"` works, and `priority = "high"` is a type error.
//!
//! Choices where SPEC §2 is silent (keep the README in step):
//! - `${NAME:-default}` uses the default when NAME is unset *or empty* (shell
//!   semantics); the default is literal text (no nesting); `$${` is a literal
//!   `${`, any other `$` is literal. Variables never split into arrays.
//! - `$ENVIRONMENT_INIT` (non-empty) wins over `environment_init`; a relative
//!   `environment_init` is relative to vrrpd.toml's directory. The program is
//!   run without a shell or arguments, stdin closed, 10 s timeout
//!   (`$VRRPD_ENVIRONMENT_INIT_TIMEOUT` overrides); blank lines and `#` lines of
//!   its output are ignored, its last stderr line is quoted on failure. It
//!   runs on every load (so also on reload).
//! - An empty string for an optional scalar (`unicast_source`,
//!   `metrics_listen`, `environment_init`) means "not set".
//! - Secrets: `hex:..` is decoded, `file:PATH` is read (relative to the config
//!   file's directory; one trailing newline dropped), anything else is the
//!   literal bytes. pass/ah secrets longer than 8 bytes warn (keepalived
//!   truncates to 8).
//! - Group names are the file stem, `[A-Za-z0-9][A-Za-z0-9._-]*` up to 64
//!   characters, and unique ignoring case. Hidden files and non-`.toml` files
//!   in groups.d are ignored. `--config .../vrrpd.toml` means its directory; a
//!   single group file gets default daemon settings (so no sync groups).
//! - `virtual_ips` may be empty (or left out) when `[notify]` sets a hook:
//!   such a group elects and runs hooks only; its family comes from
//!   `unicast_source` / `unicast_peers`, else IPv4. A config with no group
//!   file at all is an error.
//! - A VIP without `/len` is a host address (/32, /128). Loopback, multicast,
//!   unspecified and broadcast addresses are rejected; a VIP may appear once
//!   across `virtual_ips` and `excluded_ips`.
//! - `checksum` set explicitly on v2 or IPv6 is an error; `min_ttl` other than
//!   255 in multicast mode is an error; `unicast_source` without peers warns.
//! - One file for both nodes: a `priority` table keyed by address resolves
//!   to the entry of an address the host has ([`HostView::knows_addresses`];
//!   without that view, to the lowest entry); `unicast_peers` entries that
//!   are the host's (or equal `unicast_source`) are skipped, and without
//!   `unicast_source` the own entry is the source.
//! - The address-owner check covers excluded IPs too (a backup would otherwise
//!   delete the host's own address).
//! - Defaults not in the SPEC: track_script interval 1s, timeout = interval,
//!   rise/fall 1, weight 0; hmac active_key = the lowest key id, anti_replay
//!   "time", time_window 5s, mode "enforce". Ranges: weights -254..=254,
//!   preempt_delay <= 1000s, garp_repeat 0..=255, garp_interval <= 10s,
//!   garp_refresh 0 (off) or 100ms..=24h.

mod duration;
mod parse;
mod render;
mod seed;
pub mod trackers;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::proto::{Family, Version};

pub use duration::{format_duration, parse_duration};
pub use render::render_seeded;
pub use seed::{
    DEFAULT_SEED_TIMEOUT, ENVIRONMENT_INIT, ENVIRONMENT_INIT_TIMEOUT, EnvSource, ProcessEnv,
};
pub use trackers::{BuiltinTrackers, RunAs, TrackFile, TrackHttp, TrackProcess, TrackTcp};

/// Exit code of `vrrpd check` / `vrrpd run` for a rejected config.
pub const EXIT_CONFIG_ERROR: i32 = 2;
/// Default config directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/vrrpd";
/// Default `state_dir`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/vrrpd";
/// Default control socket path.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vrrpd/vrrpd.sock";

// ---------------------------------------------------------------------------
// Resolved configuration
// ---------------------------------------------------------------------------

/// The whole resolved configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    pub daemon: DaemonConfig,
    /// Sorted by name.
    pub groups: Vec<GroupConfig>,
}

impl Config {
    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// `vrrpd.toml`, resolved (SPEC §2.1).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DaemonConfig {
    /// Default: the host name.
    pub router_id: String,
    /// Default: `/run/vrrpd/vrrpd.sock`.
    pub control_socket: PathBuf,
    /// Prometheus endpoint; `None` = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// A tracing `EnvFilter` directive, default `"info"`.
    pub log_level: String,
    /// The seed executable that was run, if any (from `$ENVIRONMENT_INIT` or
    /// `environment_init`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_init: Option<PathBuf>,
    #[serde(rename = "sync_group", skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroupConfig>,
    /// What survives a restart (drain marks). Default `/var/lib/vrrpd`.
    pub state_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Members fail over together (SPEC §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncGroupConfig {
    pub name: String,
    /// Group names, all of them defined.
    pub members: Vec<String>,
}

/// One VRRP group (virtual router), resolved (SPEC §2.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupConfig {
    /// The file stem.
    pub name: String,
    pub vrid: u8,
    pub interface: String,
    /// 1..=255, 255 = address owner. Default 100.
    pub priority: u8,
    #[serde(serialize_with = "ser_version")]
    pub version: Version,
    /// The family of `virtual_ips` (all the same); without VIPs, of the
    /// unicast addresses, else IPv4.
    #[serde(serialize_with = "ser_family")]
    pub family: Family,
    /// Advert interval in centiseconds (v2: a multiple of 100). Default 100.
    pub advert_interval_cs: u16,
    pub preempt: bool,
    #[serde(serialize_with = "ser_duration")]
    pub preempt_delay: Duration,
    pub start_state: StartState,
    /// Meaningful for v3 over IPv4 only.
    pub checksum: ChecksumMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_source: Option<IpAddr>,
    /// Non-empty = unicast mode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<IpAddr>,
    /// Lowest accepted TTL / hop limit. 255 in multicast; unicast default 1.
    pub min_ttl: u8,
    pub garp_repeat: u8,
    #[serde(serialize_with = "ser_duration")]
    pub garp_interval: Duration,
    /// keepalived `garp_master_delay`: a second burst of `garp_repeat` this
    /// long after becoming master; `None` = off (`"0s"`). Default 5 s.
    #[serde(
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub garp_master_delay: Option<Duration>,
    /// The Router flag of unsolicited NAs (RFC 4861 §4.4, RFC 9568 §6.4.2).
    pub ndisc_router: NdiscRouter,
    /// Periodic re-announce while master; `None` = off (`"0s"`).
    #[serde(
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub garp_refresh: Option<Duration>,
    /// Tracked VIPs, carried in adverts, in config order. Empty only when
    /// `[notify]` is set (a group that only runs hooks, SPEC §2.2).
    pub virtual_ips: Vec<VirtualIp>,
    /// Moved with the group, never advertised; may mix families.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_ips: Vec<VirtualIp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    #[serde(rename = "track_interface", skip_serializing_if = "Vec::is_empty")]
    pub track_interfaces: Vec<TrackInterface>,
    #[serde(rename = "track_script", skip_serializing_if = "Vec::is_empty")]
    pub track_scripts: Vec<TrackScript>,
    /// `[[track_http]]`, `[[track_tcp]]`, `[[track_process]]`,
    /// `[[track_file]]` (see [`trackers`]).
    #[serde(flatten)]
    pub builtin: BuiltinTrackers,
    pub notify: NotifyConfig,
    /// The sync group this group belongs to (from vrrpd.toml), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_group: Option<String>,
    /// `[bfd]`: a BFD session to each unicast peer (SPEC §1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdConfig>,
    /// `[[virtual_route]]`: present only while master (SPEC §2.2).
    #[serde(rename = "virtual_route", skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<crate::proto::routes::VirtualRoute>,
    /// `[[virtual_rule]]`: present only while master (SPEC §2.2).
    #[serde(rename = "virtual_rule", skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<crate::proto::routes::VirtualRule>,
    /// `use_vmac` (SPEC §1): the VIPs live on a macvlan with the VRRP MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac: Option<VmacConfig>,
}

/// Virtual MAC mode (SPEC §1, keepalived `use_vmac`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VmacConfig {
    /// The macvlan's name (`vmac_interface`; default `vrrp.<vrid>`, or
    /// `vrrp6.<vrid>` for IPv6).
    pub interface: String,
    /// `vmac_xmit_base`: adverts leave from the base interface.
    pub xmit_base: bool,
}

/// `[bfd]` (SPEC §2.2): RFC 5880 asynchronous mode to every unicast peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BfdConfig {
    #[serde(serialize_with = "ser_duration")]
    pub min_tx: Duration,
    #[serde(serialize_with = "ser_duration")]
    pub min_rx: Duration,
    pub multiplier: u8,
}

impl GroupConfig {
    pub fn advert_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_interval_cs) * 10)
    }
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
    /// Whether the group has virtual routes or rules.
    pub fn has_routes(&self) -> bool {
        !self.virtual_routes.is_empty() || !self.virtual_rules.is_empty()
    }
    /// Equal but for the virtual routes and rules: a reload that changes
    /// only those keeps the group running (its mastership untouched).
    pub fn same_except_routes(&self, other: &GroupConfig) -> bool {
        let strip = |g: &GroupConfig| GroupConfig {
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            ..g.clone()
        };
        strip(self) == strip(other)
    }
}

impl crate::proto::endpoint::reload::GroupSpec for GroupConfig {
    fn name(&self) -> &str {
        &self.name
    }
    fn same_except_routes(&self, other: &GroupConfig) -> bool {
        GroupConfig::same_except_routes(self, other)
    }
}

/// An address with prefix length on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct VirtualIp {
    pub address: IpAddr,
    pub prefix_len: u8,
    /// The group's interface unless the table form named another.
    pub interface: String,
}

impl fmt::Display for VirtualIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} dev {}",
            self.address, self.prefix_len, self.interface
        )
    }
}

/// `ndisc_router`: whether unsolicited NAs carry the Router flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NdiscRouter {
    /// Set it when the VIP's interface forwards IPv6 (keepalived's rule).
    Auto,
    #[serde(rename = "true")]
    On,
    #[serde(rename = "false")]
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartState {
    Backup,
    Master,
}

/// `checksum`: the protocol's own type (no mirror to map).
pub use crate::proto::wire::vrrp::ChecksumForm as ChecksumMode;

/// `[auth]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AuthConfig {
    /// v2 cleartext password (keepalived `auth_type PASS`), at most 8 bytes used.
    Pass { secret: Secret },
    /// v2 IPsec AH HMAC-MD5-96 (keepalived `auth_type AH`), IPv4 only.
    Ah { secret: Secret },
    /// HMAC-SHA256-128 trailer (draft-cassen-vrrp-auth-hmac).
    Hmac(HmacConfig),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HmacConfig {
    /// Key id -> key bytes.
    pub keys: BTreeMap<u8, Secret>,
    /// Key used to send; default the lowest key id.
    pub active_key: u8,
    pub anti_replay: AntiReplay,
    /// Default 5s.
    #[serde(serialize_with = "ser_duration")]
    pub time_window: Duration,
    pub mode: HmacMode,
}

/// `anti_replay` and `mode` of `[auth]` hmac: the protocol's own types.
pub use crate::proto::auth::{AntiReplay, HmacMode};

/// Key material. Debug, Display and Serialize print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
    /// The key bytes. Keep them out of logs.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// `[[track_interface]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    pub name: String,
    /// 0: FAULT while down; else added to the priority while down. -254..=254.
    pub weight: i16,
}

/// `[[track_script]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackScript {
    pub name: String,
    /// argv, executed without a shell. Never empty.
    pub command: Vec<String>,
    /// Default 1s.
    #[serde(serialize_with = "ser_duration")]
    pub interval: Duration,
    /// Default: the interval.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Default 1.
    pub rise: u8,
    /// Default 1.
    pub fall: u8,
    /// 0: FAULT while failing; else added to the priority while failing.
    pub weight: i16,
    /// `user` / `group`: run as this uid/gid (keepalived `script_user`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<RunAs>,
}

/// `[notify]`: argv arrays, executed without a shell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NotifyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Gets `GROUP NAME STATE PRIORITY` appended, like keepalived's `notify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<String>>,
    /// `user` / `group`: run the hooks as this uid/gid.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<RunAs>,
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_str("0s"),
    }
}

fn ser_version<S: Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(v.number())
}

fn ser_family<S: Serializer>(f: &Family, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    })
}

// ---------------------------------------------------------------------------
// Host view
// ---------------------------------------------------------------------------

/// What the loader may know about the host's interfaces. The shell implements
/// this over netlink; [`UnknownHost`] knows nothing.
///
/// Implementations should leave out addresses vrrpd itself manages (VIPs left
/// by a crashed run), or such a run could not be restarted: a leftover VIP
/// would look like the interface's own address.
pub trait HostView {
    /// The interface's addresses, or `None` if there is no such interface.
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>>;
    /// The interface holding `addr` as a host address, on any interface
    /// (SPEC §2.3: a non-owner must not name any address of the host).
    /// Default: unknown.
    fn address_interface(&self, _addr: IpAddr) -> Option<String> {
        None
    }
    /// Whether [`HostView::address_interface`] knows every address of the
    /// host: a priority table and this node's own `unicast_peers` entry are
    /// found with it (SPEC §2.2). Default: no.
    fn knows_addresses(&self) -> bool {
        false
    }
    /// Whether `None` from [`HostView::interface_addresses`] means the interface
    /// is missing (and deserves a warning). Default: yes.
    fn knows_interfaces(&self) -> bool {
        true
    }
}

/// A host view that knows nothing: no missing-interface warnings and no
/// address-owner check.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnknownHost;

impl HostView for UnknownHost {
    fn interface_addresses(&self, _name: &str) -> Option<Vec<IpAddr>> {
        None
    }
    fn knows_interfaces(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------

/// One error or warning with its position: `file:line:column: message`.
/// `line`/`column` are 1-based; 0 means "the file as a whole" (unreadable,
/// missing) and is left out of the display. A diagnostic that belongs to no
/// file (e.g. `$ENVIRONMENT_INIT`) names that source in `file`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every error found; never empty. Display prints one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    pub errors: Vec<Diagnostic>,
}

impl ConfigErrors {
    pub fn exit_code(&self) -> i32 {
        EXIT_CONFIG_ERROR
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A successfully loaded config and the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Load, seed and validate the config at `path` (a directory, a single group
/// file, or a `vrrpd.toml` whose directory is then used).
pub fn load(path: &Path, env: &dyn EnvSource, host: &dyn HostView) -> Result<Loaded, ConfigErrors> {
    parse::load_paths(&[path.to_path_buf()], env, host)
}

/// Like [`load`] over several inputs (directories or group files), merged;
/// a group name defined twice across them is an error.
pub fn load_many(
    paths: &[PathBuf],
    env: &dyn EnvSource,
    host: &dyn HostView,
) -> Result<Loaded, ConfigErrors> {
    parse::load_paths(paths, env, host)
}
