//! The control protocol: one JSON line from the client, one JSON line back,
//! over a Unix stream socket (SPEC §3).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::proto::instance::State;

/// Largest request line the server reads (bytes, newline included).
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// What a client asks the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The state of every group.
    Status,
    /// Planned release of mastership to the peer (SPEC §4).
    Handover {
        /// Group names; empty means every group that is master now.
        groups: Vec<String>,
        /// How long the daemon waits for the peer to take over (on the
        /// wire: `timeout_ms`).
        #[serde(with = "duration_ms", rename = "timeout_ms")]
        timeout: Duration,
    },
    /// `vrrpd drain` (SPEC §4): a handover that holds, persisted. Answered
    /// with `Response::Handover` (moved = drained).
    Drain {
        /// Group names; empty means every group.
        groups: Vec<String>,
        #[serde(with = "duration_ms", rename = "timeout_ms")]
        timeout: Duration,
    },
    /// `vrrpd resume`: end a drain. Answered with `Response::Handover`.
    Resume { groups: Vec<String> },
    /// Re-read the configuration (same as SIGHUP).
    Reload,
    /// The Prometheus exposition. Answered by the control server itself from
    /// a `Status` report: the daemon never sees this request.
    Metrics,
}

/// The daemon's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Status(StatusReport),
    Handover(HandoverResult),
    /// `Err` carries the configuration errors, one per line.
    Reload(Result<(), String>),
    Metrics(String),
    Error(String),
}

/// Outcome of a handover, per group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverResult {
    /// Groups whose peer became master.
    pub moved: Vec<String>,
    /// Groups that did not move, with why (not master, unknown group, no
    /// peer took over in time ...).
    pub failed: Vec<(String, String)>,
}

/// `vrrpd status --json` prints exactly this (SPEC §3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub router_id: String,
    pub groups: Vec<GroupStatus>,
    /// BFD sessions (SPEC §1 `[bfd]`); absent when no group runs BFD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bfd: Vec<BfdSessionStatus>,
    /// The last configuration load (start-up or reload) and its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reload: Option<ReloadStatus>,
}

/// `vrrpd_config_last_reload_success` / `_timestamp_seconds` (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// Whether it was applied (false: rejected, the previous one runs).
    pub success: bool,
    /// When, RFC 3339 UTC.
    pub at: String,
}

/// One BFD session in the status report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdSessionStatus {
    pub peer: String,
    pub interface: String,
    /// "admin_down", "down", "init" or "up".
    pub state: String,
    /// The remote's view, from its last packet.
    pub remote_state: String,
    /// Why the session last left Up (RFC 5880 §4.1 diagnostic), snake_case.
    pub diag: String,
}

/// One group in the status report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub vrid: u8,
    pub interface: String,
    /// "init" | "backup" | "master" | "fault".
    pub state: State,
    /// Effective priority (base plus trackers' delta).
    pub priority: u8,
    /// Configured priority.
    pub base_priority: u8,
    /// The current master's primary address: ours while master.
    pub master_address: Option<IpAddr>,
    /// When the group entered its current state, RFC 3339 UTC (see
    /// [`rfc3339`]).
    pub since: String,
    /// Every VIP as "address/prefix", tracked then excluded.
    pub virtual_ips: Vec<String>,
    /// The macvlan the VIPs live on in virtual MAC mode (`use_vmac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_interface: Option<String>,
    /// `vrrpd drain` holds this group backup until `vrrpd resume`.
    #[serde(default)]
    pub drained: bool,
    pub counters: GroupCounters,
    pub trackers: Vec<TrackerStatus>,
    /// `[[virtual_route]]`s and whether each is on the host now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<RouteStatus>,
    /// `[[virtual_rule]]`s and whether each is on the host now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<RuleStatus>,
}

/// One virtual route in the status report: its settings, and `installed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatus {
    #[serde(flatten)]
    pub route: crate::proto::routes::VirtualRoute,
    pub installed: bool,
}

/// One virtual rule in the status report: its settings, and `installed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStatus {
    #[serde(flatten)]
    pub rule: crate::proto::routes::VirtualRule,
    pub installed: bool,
}

/// Per-group counters (also the source of the metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Dropped adverts by reason label.
    pub dropped: BTreeMap<String, u64>,
    /// Transitions by the state entered ("backup", "master", "fault", ...).
    pub transitions: BTreeMap<String, u64>,
    pub master_changes: u64,
    #[serde(default)]
    pub priority_zero_sent: u64,
    #[serde(default)]
    pub priority_zero_received: u64,
    #[serde(default)]
    pub garp_sent: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerKind {
    Interface,
    Script,
    Http,
    Tcp,
    Process,
    File,
}

impl TrackerKind {
    /// The `kind` label and status word.
    pub fn word(self) -> &'static str {
        match self {
            TrackerKind::Interface => "interface",
            TrackerKind::Script => "script",
            TrackerKind::Http => "http",
            TrackerKind::Tcp => "tcp",
            TrackerKind::Process => "process",
            TrackerKind::File => "file",
        }
    }
}

/// One `track_interface` or `track_script` and its current verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStatus {
    pub kind: TrackerKind,
    pub name: String,
    pub up: bool,
    /// 0: FAULT while down; else added to the priority while down.
    pub weight: i16,
    /// track_file: the file's integer (priority += value × weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}

impl GroupStatus {
    /// Whether this group counts as unhealthy for `vrrpd status`.
    pub fn is_fault(&self) -> bool {
        self.state == State::Fault
    }
}

/// `2024-05-01T12:34:56Z` (RFC 3339, UTC, whole seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parse what [`rfc3339`] writes (`YYYY-MM-DDTHH:MM:SSZ`, optional
/// fraction). `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_and_parses_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // leap day 2024
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56Z");
        assert_eq!(parse_rfc3339("2024-02-29T12:34:56Z"), Some(t));
        assert_eq!(parse_rfc3339("2024-02-29 12:34:56"), None);
    }
}
