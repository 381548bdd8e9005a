//! Prometheus text exposition (format 0.0.4) of a [`StatusReport`], and a
//! minimal HTTP/1.1 server for it on `metrics_listen` (SPEC §5).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::protocol::{State, StatusReport, TrackerKind};
use super::server::RequestSender;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Largest HTTP request head read.
pub const MAX_HTTP_REQUEST: usize = 8 * 1024;
/// Time a scraper gets to send its request, and the daemon to answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HTTP_CONNECTIONS: usize = 16;

const STATES: [State; 4] = [State::Init, State::Backup, State::Master, State::Fault];

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Every SPEC §5 family, with HELP and TYPE, each family's series together.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let groups = &report.groups;

    header(
        &mut out,
        "vrrpd_group_state",
        "gauge",
        "VRRP state of the group: 1 for the current state, 0 for the others.",
    );
    for g in groups {
        let vrid = g.vrid.to_string();
        for s in STATES {
            let state = s.to_string();
            let labels = [
                ("group", g.name.as_str()),
                ("vrid", &vrid),
                ("state", &state),
            ];
            sample(
                &mut out,
                "vrrpd_group_state",
                &labels,
                u64::from(g.state == s),
            );
        }
    }

    header(
        &mut out,
        "vrrpd_group_priority",
        "gauge",
        "Effective priority of the group (base priority plus trackers).",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        sample(
            &mut out,
            "vrrpd_group_priority",
            &labels,
            u64::from(g.priority),
        );
    }

    header(
        &mut out,
        "vrrpd_adverts_sent_total",
        "counter",
        "VRRP adverts sent.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.adverts_sent;
        sample(&mut out, "vrrpd_adverts_sent_total", &labels, v);
    }

    header(
        &mut out,
        "vrrpd_adverts_received_total",
        "counter",
        "Valid VRRP adverts received.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.adverts_received;
        sample(&mut out, "vrrpd_adverts_received_total", &labels, v);
    }

    header(
        &mut out,
        "vrrpd_adverts_dropped_total",
        "counter",
        "VRRP adverts dropped by receive validation, by reason.",
    );
    for g in groups {
        for (reason, v) in &g.counters.dropped {
            let labels = [("group", g.name.as_str()), ("reason", reason.as_str())];
            sample(&mut out, "vrrpd_adverts_dropped_total", &labels, *v);
        }
    }

    header(
        &mut out,
        "vrrpd_transitions_total",
        "counter",
        "State transitions, by the state entered.",
    );
    for g in groups {
        let mut to: BTreeSet<String> = STATES[1..].iter().map(|s| s.to_string()).collect();
        to.extend(g.counters.transitions.keys().cloned());
        for state in &to {
            let v = g.counters.transitions.get(state).copied().unwrap_or(0);
            let labels = [("group", g.name.as_str()), ("to", state.as_str())];
            sample(&mut out, "vrrpd_transitions_total", &labels, v);
        }
    }

    header(
        &mut out,
        "vrrpd_track_script_up",
        "gauge",
        "Whether the track script currently passes (1) or fails (0).",
    );
    for g in groups {
        for t in g.trackers.iter().filter(|t| t.kind == TrackerKind::Script) {
            let labels = [("group", g.name.as_str()), ("script", t.name.as_str())];
            sample(&mut out, "vrrpd_track_script_up", &labels, u64::from(t.up));
        }
    }

    header(
        &mut out,
        "vrrpd_master_changes_total",
        "counter",
        "Times the group entered or left the master state.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.master_changes;
        sample(&mut out, "vrrpd_master_changes_total", &labels, v);
    }

    header(
        &mut out,
        "vrrpd_virtual_routes_installed",
        "gauge",
        "Virtual routes (kind=\"route\") and rules (kind=\"rule\") of the group on the host now.",
    );
    for g in groups
        .iter()
        .filter(|g| !g.virtual_routes.is_empty() || !g.virtual_rules.is_empty())
    {
        let routes = g.virtual_routes.iter().filter(|r| r.installed).count() as u64;
        let rules = g.virtual_rules.iter().filter(|r| r.installed).count() as u64;
        for (kind, v) in [("route", routes), ("rule", rules)] {
            let labels = [("group", g.name.as_str()), ("kind", kind)];
            sample(&mut out, "vrrpd_virtual_routes_installed", &labels, v);
        }
    }

    header(
        &mut out,
        "vrrpd_bfd_session_up",
        "gauge",
        "Whether the BFD session to the peer is Up (1) or not (0).",
    );
    for b in &report.bfd {
        let labels = [
            ("peer", b.peer.as_str()),
            ("interface", b.interface.as_str()),
        ];
        sample(
            &mut out,
            "vrrpd_bfd_session_up",
            &labels,
            u64::from(b.state == "up"),
        );
    }
    out
}

/// The `/metrics` endpoint. Dropping it stops the server.
pub struct MetricsServer {
    local_addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl MetricsServer {
    /// Listen on `addr`; each scrape asks the daemon for `Request::Status`
    /// through `tx` (from [`super::ControlServer::sender`]) and renders it.
    /// Must be called inside a tokio runtime.
    pub fn bind(addr: SocketAddr, tx: RequestSender) -> io::Result<MetricsServer> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let local_addr = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let accept = tokio::spawn(accept_loop(listener, tx));
        Ok(MetricsServer { local_addr, accept })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, tx: RequestSender) {
    let slots = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, tx).await {
                        debug!("metrics client: {e}");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                warn!("metrics accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Read the request head: up to the blank line, bounded in size.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(buf);
        }
        if buf.len() > MAX_HTTP_REQUEST {
            return Err(431);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(400),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn serve(mut stream: TcpStream, tx: RequestSender) -> io::Result<()> {
    let (status, body) = match tokio::time::timeout(HTTP_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => (408, "request timeout\n".to_string()),
        Ok(Err(code)) => (code, "bad request\n".to_string()),
        Ok(Ok(head)) => {
            let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default();
            let target = parts.next().unwrap_or_default();
            let path = target.split('?').next().unwrap_or_default();
            if method == "GET" && path == "/metrics" {
                match tokio::time::timeout(HTTP_TIMEOUT, tx.metrics()).await {
                    Ok(Ok(text)) => (200, text),
                    Ok(Err(e)) => (503, format!("{e}\n")),
                    Err(_) => (503, "the daemon did not answer in time\n".to_string()),
                }
            } else {
                (404, "not found; try GET /metrics\n".to_string())
            }
        }
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let content_type = if status == 200 {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(HTTP_TIMEOUT, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timeout"))?
}
