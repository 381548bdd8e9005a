//! Control API (SPEC §3) and Prometheus endpoint (SPEC §5).
//!
//! - [`protocol`]: the JSON-lines messages and the status report.
//! - [`server`]: the Unix control socket; the daemon's loop awaits
//!   [`ControlServer::next`] and answers each request on its one-shot.
//! - [`metrics`]: Prometheus text rendering (pure); [`metrics_http`]: the `/metrics` HTTP server,
//!   which asks the daemon for `Request::Status` through the same queue.
//! - [`handover`]: bookkeeping for a handover request whose answer waits on
//!   the protocol.
//! - [`client`]: the blocking client the CLI uses.

pub mod cli;
pub mod client;
pub mod handover;
pub mod metrics;
pub mod metrics_http;
pub mod protocol;
pub mod server;

pub use client::{ClientError, request};
pub use handover::PendingHandover;
pub use metrics::render;
pub use metrics_http::MetricsServer;
pub use protocol::{
    GroupCounters, GroupStatus, HandoverResult, Request, Response, State, StatusReport,
    TrackerKind, TrackerStatus, rfc3339,
};
pub use server::{ControlServer, Incoming, RequestSender};

/// Default control socket path (SPEC §2.1).
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/vrrpd.sock";
