//! The built-in trackers (SPEC §2.2): no external program, so they work in
//! the FROM-scratch image. Parsed by `parse/trackers.rs`, run by
//! `crate::track`.
//!
//! Choices where SPEC §2.2 is silent (keep the README in step):
//! - `track_http` / `track_tcp`: interval 1s, timeout = interval (at most the
//!   interval), rise/fall 1, weight 0, as track_script. The URL host is an IP
//!   address (IPv6 in brackets) or `localhost`: no resolver is needed in the
//!   image. The port defaults to 80, the path to `/`.
//! - `track_process`: min 1, delay 0s, weight 0. Process counts change on
//!   events, so there is no rise/fall: `delay` is how long the count must
//!   stay below `min` before the tracker fails; it recovers at once.
//! - `track_file`: weight 1 (keepalived's default); the file's first
//!   whitespace-separated word is the integer, anything unparsable counts
//!   as 0 and is logged. The directory must exist when the config is read.
//! - `user` / `group`: a name (looked up in /etc/passwd, /etc/group) or a
//!   number; `user` alone takes that user's primary group.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::ser_duration;

/// The built-in trackers of one group, in config order per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BuiltinTrackers {
    #[serde(rename = "track_http", skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<TrackHttp>,
    #[serde(rename = "track_tcp", skip_serializing_if = "Vec::is_empty")]
    pub tcp: Vec<TrackTcp>,
    #[serde(rename = "track_process", skip_serializing_if = "Vec::is_empty")]
    pub process: Vec<TrackProcess>,
    #[serde(rename = "track_file", skip_serializing_if = "Vec::is_empty")]
    pub file: Vec<TrackFile>,
}

/// Timing and weight shared by the polled trackers (as `[[track_script]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    #[serde(serialize_with = "ser_duration")]
    pub interval: Duration,
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    pub rise: u8,
    pub fall: u8,
    /// 0: FAULT while failing; else added to the priority while failing.
    pub weight: i16,
}

/// `[[track_http]]`: a plain HTTP/1.1 GET.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackHttp {
    pub name: String,
    pub url: String,
    /// Where to connect (from the URL).
    #[serde(skip)]
    pub connect: SocketAddr,
    /// The `Host` header (the URL's authority).
    #[serde(skip)]
    pub host: String,
    /// The request target (path and query), starting with `/`.
    #[serde(skip)]
    pub path: String,
    /// Empty: any 2xx.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expect_status: Vec<u16>,
    #[serde(flatten)]
    pub probe: Probe,
}

/// `[[track_tcp]]`: a TCP connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackTcp {
    pub name: String,
    pub address: SocketAddr,
    #[serde(flatten)]
    pub probe: Probe,
}

/// `[[track_process]]` (keepalived `track_process`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackProcess {
    pub name: String,
    /// `/proc/PID/comm`, or the basename of argv[0].
    pub process: String,
    /// Must appear, in this order, as consecutive arguments after argv[0].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    pub min: u32,
    #[serde(serialize_with = "ser_duration")]
    pub delay: Duration,
    pub weight: i16,
}

/// `[[track_file]]` (keepalived `track_file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub path: PathBuf,
    /// priority += N * weight; 0: FAULT while N != 0.
    pub weight: i16,
}

/// `user` / `group` of `[[track_script]]` and `[notify]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunAs {
    /// As written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip)]
    pub uid: Option<u32>,
    #[serde(skip)]
    pub gid: Option<u32>,
}
