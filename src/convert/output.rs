//! The files `vrrpd convert` writes, as values: the vrrpd file schema of
//! SPEC §2.1 / §2.2 (the on-disk form, not the resolved
//! [`crate::config::GroupConfig`]), serialized with `toml` so the output is
//! valid TOML by construction (ARCHITECTURE §1: no hand-written TOML).
//!
//! Every string is already made safe for vrrpd's seeding by the mapper
//! (`$${` for a literal `${`), so these types only carry and order the keys.
//! Field order is the order in the file; tables come last.

use std::collections::BTreeMap;

use serde::Serialize;

/// `vrrpd.toml`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DaemonFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_group: Vec<SyncGroupFile>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncGroupFile {
    pub name: String,
    pub members: Vec<String>,
}

/// `groups.d/NAME.toml`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupFile {
    pub vrid: u8,
    pub interface: String,
    pub priority: u8,
    pub version: u8,
    pub advert_interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_source: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_repeat: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_refresh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_delay: Option<String>,
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouteFile {
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `[[virtual_rule]]` (SPEC §2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// A VIP: `"ADDR/LEN"` on the group's interface, or a table naming another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum VipEntry {
    Plain(String),
    On { address: String, interface: String },
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AuthFile {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Key id (as a string: TOML keys are strings) -> key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_key: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_replay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrackInterfaceFile {
    pub name: String,
    pub weight: i32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrackScriptFile {
    pub name: String,
    pub command: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub rise: u8,
    pub fall: u8,
    pub weight: i32,
}

#[derive(Clone, Debug, Default, Serialize)]
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

/// Serialize one file's value as TOML after a comment header.
pub fn to_toml<T: Serialize>(header: &str, value: &T) -> String {
    match toml::to_string(value) {
        Ok(body) => format!("{header}\n{body}"),
        // The types hold only strings, integers, booleans, arrays and
        // tables, so this cannot fail; still, never panic on output.
        Err(e) => format!("{header}\n# vrrpd convert: cannot serialize: {e}\n"),
    }
}
