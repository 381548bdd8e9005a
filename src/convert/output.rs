//! The files `vrrpd convert` writes, as typed values: the vrrpd file schema
//! of SPEC §2.1 / §2.2, serialized with `toml`, so the output is valid TOML by
//! construction (ARCHITECTURE §1: no hand-written TOML).
//!
//! Why these types and not the loader's: the loader walks toml's spanned
//! tree by hand and yields the *resolved* [`crate::config::GroupConfig`],
//! whose `Serialize` is the `check --print` view (centiseconds, the derived
//! family, secrets masked as `"***"`, seeded strings, every default filled
//! in). A file needs the opposite: `${NAME}` references and `file:` secrets
//! kept as written and defaults left out. So the file form is mirrored here,
//! one field per key, `None` / empty meaning "key left out", and built from
//! the config's own value types (durations, addresses, prefixes, route
//! kinds, hmac modes). `tests/convert_roundtrip.rs` proves the mirror: every
//! converted file loads, and the loaded config turned back into these types
//! serializes to the same text.
//!
//! Every string is already made safe for vrrpd's seeding by the mapper
//! (`$${` for a literal `${`). Field order is the order in the file (toml
//! puts sub-tables after the plain keys); maps are ordered (`BTreeMap`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::config::{AntiReplay, HmacMode, StartState};
use crate::proto::routes::{Prefix, RouteKind};

/// `vrrpd.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DaemonFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_group: Vec<SyncGroupFile>,
}

/// `[[sync_group]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncGroupFile {
    pub name: String,
    pub members: Vec<String>,
}

/// `groups.d/NAME.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupFile {
    pub vrid: u8,
    pub interface: String,
    pub priority: u8,
    pub version: u8,
    #[serde(serialize_with = "duration")]
    pub advert_interval: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    #[serde(
        serialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub preempt_delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_state: Option<StartState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_source: Option<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_repeat: Option<u8>,
    #[serde(
        serialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub garp_interval: Option<Duration>,
    /// `0s` is "off".
    #[serde(
        serialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub garp_refresh: Option<Duration>,
    /// `0s` is "off".
    #[serde(
        serialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub garp_master_delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_vmac: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_xmit_base: Option<bool>,
    /// Empty only for a group that runs notify hooks alone (SPEC §2.2).
    pub virtual_ips: Vec<VipEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_ips: Vec<VipEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<TrackInterfaceFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<TrackScriptFile>,
    #[serde(skip_serializing_if = "NotifyFile::is_empty")]
    pub notify: NotifyFile,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_route: Vec<RouteFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_rule: Vec<RuleFile>,
}

/// `[[virtual_route]]` (SPEC §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteFile {
    pub to: Prefix,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Left out for the default, unicast.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RouteKind>,
}

/// `[[virtual_rule]]` (SPEC §2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleFile {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RuleType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyName>,
}

/// A rule's `type`: what it does instead of looking up a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A rule's `family`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyName {
    Ipv4,
    Ipv6,
}

/// A VIP's `"ADDR/LEN"`: unlike a route [`Prefix`], host bits are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipAddr {
    pub address: IpAddr,
    pub prefix_len: u8,
}

impl fmt::Display for VipAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl Serialize for VipAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A VIP: `"ADDR/LEN"` on the group's interface, or a table naming another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum VipEntry {
    Plain(VipAddr),
    On { address: VipAddr, interface: String },
}

/// `[auth]`, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AuthFile {
    Pass { secret: String },
    Ah { secret: String },
    Hmac(HmacFile),
}

/// `[auth]` of type `"hmac"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HmacFile {
    /// Key id -> key (a secret string: literal, `hex:` or `file:`).
    pub keys: BTreeMap<u8, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_key: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_replay: Option<AntiReplay>,
    #[serde(
        serialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_window: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<HmacMode>,
}

/// `[[track_interface]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackInterfaceFile {
    pub name: String,
    pub weight: i32,
}

/// `[[track_script]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackScriptFile {
    pub name: String,
    pub command: Vec<String>,
    #[serde(serialize_with = "duration")]
    pub interval: Duration,
    #[serde(serialize_with = "duration")]
    pub timeout: Duration,
    pub rise: u8,
    pub fall: u8,
    pub weight: i32,
}

/// `[notify]`: argv arrays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NotifyFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<String>>,
}

impl NotifyFile {
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
    }
}

/// A duration as convert spells it, in keepalived's units: whole seconds as
/// `"300s"`, anything else in milliseconds (`"1500ms"`). The loader reads
/// both (SPEC §2); the same spelling is used in the report lines.
pub fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration_text(*d))
}

fn opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration(d, s),
        // Never reached: every use skips `None`.
        None => s.serialize_none(),
    }
}

/// The file could not be serialized (cannot happen for these types: they
/// hold only strings, integers, booleans, arrays and tables; kept as an
/// error rather than a panic on output).
#[derive(Debug, thiserror::Error)]
#[error("cannot serialize {file}: {source}")]
pub struct OutputError {
    pub file: String,
    #[source]
    pub source: toml::ser::Error,
}

/// The comment block at the top of a file: where it came from and how to
/// check it. Lines are free text; [`render`] makes each a TOML comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comments(pub Vec<String>);

impl Comments {
    pub fn line(mut self, text: impl Into<String>) -> Self {
        self.0.push(text.into());
        self
    }
}

/// One file's text: the comment block, a blank line, then `value` as TOML.
/// A comment line cannot end the comment early: control characters (a
/// newline in a path or a keepalived instance name) are written escaped.
pub fn render<T: Serialize>(
    file: &str,
    comments: &Comments,
    value: &T,
) -> Result<String, OutputError> {
    let body = toml::to_string(value).map_err(|source| OutputError {
        file: file.to_string(),
        source,
    })?;
    let mut out = String::new();
    for line in &comments.0 {
        out.push_str("# ");
        for c in line.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_line_cannot_break_out_of_the_comment() {
        let c = Comments::default().line("from /tmp/a\nvrid = 9\r.conf");
        let text = render("x.toml", &c, &DaemonFile::default()).unwrap();
        assert_eq!(text, "# from /tmp/a\\nvrid = 9\\r.conf\n\n");
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert!(doc.is_empty());
    }

    #[test]
    fn hmac_key_ids_are_in_numeric_order() {
        let keys = BTreeMap::from([(10, "b".to_string()), (2, "a".to_string())]);
        let auth = AuthFile::Hmac(HmacFile {
            keys,
            ..HmacFile::default()
        });
        #[derive(Serialize)]
        struct W {
            auth: AuthFile,
        }
        let text = toml::to_string(&W { auth }).unwrap();
        assert_eq!(
            text,
            "[auth]\ntype = \"hmac\"\n\n[auth.keys]\n2 = \"a\"\n10 = \"b\"\n"
        );
    }
}
