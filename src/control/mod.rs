//! Control API (SPEC §3) and Prometheus endpoint (SPEC §5).
//!
//! - [`protocol`]: the JSON-lines messages and the status report.
//! - [`server`]: the Unix control socket; the daemon's loop awaits
//!   [`ControlServer::next`] and answers each request on its one-shot.
//! - [`metrics`]: Prometheus text rendering and the `/metrics` HTTP server,
//!   which asks the daemon for `Request::Status` through the same queue.
//! - [`handover`]: bookkeeping for a handover request whose answer waits on
//!   the protocol.
//! - [`client`]: the blocking client the CLI uses.

pub mod cli;
pub mod client;
pub mod handover;
pub mod metrics;
pub mod protocol;
pub mod server;

pub use client::{ClientError, request};
pub use handover::PendingHandover;
pub use metrics::{MetricsServer, render};
pub use protocol::{
    GroupCounters, GroupStatus, HandoverResult, Request, Response, State, StatusReport,
    TrackerKind, TrackerStatus, rfc3339,
};
pub use server::{ControlServer, Incoming, RequestSender};

use crate::daemon::Group;

/// Default control socket path (SPEC §2.1).
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/vrrpd.sock";

impl GroupStatus {
    /// The status of one running group. `trackers` is the daemon's current
    /// verdict per tracker (it owns link state and script results).
    pub fn from_group(g: &Group, trackers: Vec<TrackerStatus>) -> GroupStatus {
        let inst = g.inst.as_ref();
        GroupStatus {
            name: g.cfg.name.clone(),
            vrid: g.cfg.vrid,
            interface: g.cfg.interface.clone(),
            state: g.state(),
            priority: inst.map_or(g.cfg.priority, |i| i.effective_priority()),
            base_priority: g.cfg.priority,
            master_address: inst.and_then(|i| i.master_address()),
            since: rfc3339(g.since),
            virtual_ips: g
                .all_vips()
                .map(|v| format!("{}/{}", v.address, v.prefix_len))
                .collect(),
            counters: GroupCounters::from(&g.counters),
            trackers,
            virtual_routes: g
                .cfg
                .virtual_routes
                .iter()
                .map(|r| protocol::RouteStatus {
                    route: r.clone(),
                    installed: g.installed.routes.contains(r),
                })
                .collect(),
            virtual_rules: g
                .cfg
                .virtual_rules
                .iter()
                .map(|r| protocol::RuleStatus {
                    rule: r.clone(),
                    installed: g.installed.rules.contains(r),
                })
                .collect(),
        }
    }
}
