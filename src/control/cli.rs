//! `vrrpd status | handover | reload`: talk to the running daemon and turn
//! the answer into output and an exit code.
//!
//! Exit codes: 0 success; 1 some group in fault (status) or some group not
//! moved (handover); 2 new configuration rejected (reload); 3 the daemon is
//! not running or did not answer; 4 the daemon refused the request or
//! answered something unexpected.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use super::DEFAULT_SOCKET;
use super::client::{ClientError, request};
use super::protocol::{Request, Response, State, StatusReport, parse_rfc3339};

pub const EXIT_FAULT: u8 = 1;
pub const EXIT_REJECTED: u8 = 2;
pub const EXIT_NOT_RUNNING: u8 = 3;
pub const EXIT_REFUSED: u8 = 4;

/// How long `status` and `reload` wait for the daemon.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Reload may run the seed executable: give it longer.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The control socket named by `<dir>/vrrpd.toml`, read without seeding
/// (a value using `${...}` is ignored), else the default.
pub fn socket_from_config(config: &Path) -> PathBuf {
    let from_file = std::fs::read_to_string(config.join("vrrpd.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| match t.get("control_socket") {
            Some(toml::Value::String(s)) if !s.is_empty() && !s.contains("${") => {
                Some(PathBuf::from(s))
            }
            _ => None,
        });
    from_file.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

fn ask(socket: &Path, req: &Request, timeout: Duration) -> Result<Response, ExitCode> {
    match request(socket, req, timeout) {
        Ok(Response::Error(e)) => {
            eprintln!("vrrpd: the daemon refused: {e}");
            Err(ExitCode::from(EXIT_REFUSED))
        }
        Ok(r) => Ok(r),
        Err(e @ ClientError::Protocol(_)) => {
            eprintln!("vrrpd: {e}");
            Err(ExitCode::from(EXIT_REFUSED))
        }
        Err(e) => {
            // NotRunning prints "vrrpd is not running (socket PATH: ...)".
            eprintln!("{e}");
            Err(ExitCode::from(EXIT_NOT_RUNNING))
        }
    }
}

fn unexpected(r: &Response) -> ExitCode {
    eprintln!("vrrpd: unexpected answer from the daemon: {r:?}");
    ExitCode::from(EXIT_REFUSED)
}

/// `alive`: exit 0 whenever the daemon answers, FAULT or not (SPEC §3: a
/// liveness probe; FAULT is the right state while the link or the proxy is
/// down, and a restart would only delay the node's return).
pub fn status(socket: &Path, json: bool, alive: bool) -> ExitCode {
    let report = match ask(socket, &Request::Status, ANSWER_TIMEOUT) {
        Ok(Response::Status(r)) => r,
        Ok(other) => return unexpected(&other),
        Err(code) => return code,
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("vrrpd: {e}");
                return ExitCode::from(EXIT_REFUSED);
            }
        }
    } else {
        print!("{}", status_table(&report, SystemTime::now()));
    }
    if !alive && report.groups.iter().any(|g| g.state == State::Fault) {
        ExitCode::from(EXIT_FAULT)
    } else {
        ExitCode::SUCCESS
    }
}

fn age(since: &str, now: SystemTime) -> Option<String> {
    let d = now.duration_since(parse_rfc3339(since)?).ok()?.as_secs();
    Some(match d {
        0..60 => format!("{d}s"),
        60..3600 => format!("{}m{:02}s", d / 60, d % 60),
        3600..86_400 => format!("{}h{:02}m", d / 3600, (d % 3600) / 60),
        _ => format!("{}d{:02}h", d / 86_400, (d % 86_400) / 3600),
    })
}

/// The plain `vrrpd status` output: one row per group, then the trackers
/// that are down.
pub fn status_table(report: &StatusReport, now: SystemTime) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "GROUP".into(),
        "VRID".into(),
        "IFACE".into(),
        "STATE".into(),
        "PRIO".into(),
        "MASTER".into(),
        "SINCE".into(),
        "VIPS".into(),
    ]];
    for g in &report.groups {
        let prio = if g.priority == g.base_priority {
            g.priority.to_string()
        } else {
            format!("{} ({})", g.priority, g.base_priority)
        };
        let master = match (g.state, g.master_address) {
            (State::Master, Some(a)) => format!("self ({a})"),
            (State::Master, None) => "self".into(),
            (_, Some(a)) => a.to_string(),
            (_, None) => "-".into(),
        };
        let since = match age(&g.since, now) {
            Some(a) => format!("{} ({a} ago)", g.since),
            None => g.since.clone(),
        };
        let vips = if g.virtual_ips.is_empty() {
            "-".into()
        } else {
            g.virtual_ips.join(",")
        };
        rows.push([
            g.name.clone(),
            g.vrid.to_string(),
            match &g.vmac_interface {
                Some(v) => format!("{} (vmac {v})", g.interface),
                None => g.interface.clone(),
            },
            if g.drained {
                format!("{} (DRAINED)", g.state.to_string().to_uppercase())
            } else {
                g.state.to_string().to_uppercase()
            },
            prio,
            master,
            since,
            vips,
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = format!("router {}\n", report.router_id);
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if report.groups.is_empty() {
        out.push_str("(no groups configured)\n");
    }
    for g in &report.groups {
        for t in g.trackers.iter().filter(|t| !t.up) {
            let kind = t.kind.word();
            let effect = if let Some(v) = t.value {
                if t.weight == 0 {
                    format!("value {v}: fault")
                } else {
                    format!("value {v} x weight {:+}", t.weight)
                }
            } else if t.weight == 0 {
                "fault".to_string()
            } else {
                format!("weight {:+}", t.weight)
            };
            out.push_str(&format!(
                "{}: track {kind} {} is DOWN ({effect})\n",
                g.name, t.name
            ));
        }
    }
    out
}

pub fn handover(socket: &Path, groups: Vec<String>, timeout: Duration) -> ExitCode {
    let req = Request::Handover { groups, timeout };
    // The daemon answers once the peers took over or the timeout passed.
    let result = match ask(socket, &req, timeout + ANSWER_TIMEOUT) {
        Ok(Response::Handover(r)) => r,
        Ok(other) => return unexpected(&other),
        Err(code) => return code,
    };
    for g in &result.moved {
        println!("{g}: moved to the peer");
    }
    for (g, why) in &result.failed {
        println!("{g}: NOT moved: {why}");
    }
    if result.moved.is_empty() && result.failed.is_empty() {
        println!("no group is master here: nothing to hand over");
    }
    if result.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAULT)
    }
}

/// `vrrpd drain` / `vrrpd resume`: exit 1 when some group was not done.
pub fn drain(socket: &Path, req: Request, timeout: Duration) -> ExitCode {
    let verb = if matches!(req, Request::Resume { .. }) {
        "resumed"
    } else {
        "drained"
    };
    let result = match ask(socket, &req, timeout + ANSWER_TIMEOUT) {
        Ok(Response::Handover(r)) => r,
        Ok(other) => return unexpected(&other),
        Err(code) => return code,
    };
    for g in &result.moved {
        println!("{g}: {verb}");
    }
    for (g, why) in &result.failed {
        println!("{g}: NOT {verb}: {why}");
    }
    if result.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAULT)
    }
}

pub fn reload(socket: &Path) -> ExitCode {
    match ask(socket, &Request::Reload, RELOAD_TIMEOUT) {
        Ok(Response::Reload(Ok(()))) => {
            println!("ok: configuration reloaded");
            ExitCode::SUCCESS
        }
        Ok(Response::Reload(Err(e))) => {
            eprintln!("reload rejected; the running configuration is kept:");
            eprintln!("{}", e.trim_end());
            ExitCode::from(EXIT_REJECTED)
        }
        Ok(other) => unexpected(&other),
        Err(code) => code,
    }
}
