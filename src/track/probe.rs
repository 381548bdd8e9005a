//! `[[track_http]]` and `[[track_tcp]]`: one task each, a check every
//! `interval` bounded by `timeout`, results through [`RiseFall`] as for
//! track_script. Each check runs in the tracker's own task with a deadline,
//! so a target that hangs costs that task time and nothing else.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use super::{RiseFall, TrackEvent};
use crate::config::trackers::Probe;
use crate::config::{TrackHttp, TrackTcp};
use crate::control::TrackerKind;

/// Bytes of the answer read to find the status line.
const STATUS_LINE_LIMIT: usize = 4096;

/// Start a `[[track_http]]` task.
pub fn spawn_http(
    group: &str,
    cfg: &TrackHttp,
    events: mpsc::UnboundedSender<TrackEvent>,
) -> JoinHandle<()> {
    let c = cfg.clone();
    tokio::spawn(poll_loop(
        group.to_string(),
        TrackerKind::Http,
        cfg.name.clone(),
        cfg.probe,
        events,
        move || http_check(c.clone()),
    ))
}

/// Start a `[[track_tcp]]` task.
pub fn spawn_tcp(
    group: &str,
    cfg: &TrackTcp,
    events: mpsc::UnboundedSender<TrackEvent>,
) -> JoinHandle<()> {
    let addr = cfg.address;
    tokio::spawn(poll_loop(
        group.to_string(),
        TrackerKind::Tcp,
        cfg.name.clone(),
        cfg.probe,
        events,
        move || async move {
            TcpStream::connect(addr)
                .await
                .map(drop)
                .map_err(|e| format!("connect {addr}: {e}"))
        },
    ))
}

async fn poll_loop<F, Fut>(
    group: String,
    kind: TrackerKind,
    name: String,
    probe: Probe,
    events: mpsc::UnboundedSender<TrackEvent>,
    check: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut rf = RiseFall::new(probe.rise, probe.fall);
    let mut ticker = tokio::time::interval(probe.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_failure: Option<String> = None;
    loop {
        ticker.tick().await;
        if events.is_closed() {
            return;
        }
        let result = match tokio::time::timeout(probe.timeout, check()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {}",
                crate::config::format_duration(probe.timeout)
            )),
        };
        match &result {
            Ok(()) => last_failure = None,
            Err(what) if last_failure.as_deref() != Some(what.as_str()) => {
                warn!(group = %group, tracker = %name, kind = kind.word(), "check failed: {what}");
                last_failure = Some(what.clone());
            }
            Err(_) => {}
        }
        if let Some(up) = rf.record(result.is_ok()) {
            info!(group = %group, tracker = %name, kind = kind.word(), up, "tracker is now {}", if up { "up" } else { "down" });
            let ev = TrackEvent::Builtin {
                group: group.clone(),
                kind,
                name: name.clone(),
                up,
            };
            if events.send(ev).is_err() {
                return;
            }
        }
    }
}

/// One plain HTTP/1.1 GET; success when the status is expected (any 2xx
/// when `expect_status` is empty).
async fn http_check(cfg: TrackHttp) -> Result<(), String> {
    let mut s = TcpStream::connect(cfg.connect)
        .await
        .map_err(|e| format!("connect {}: {e}", cfg.connect))?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vrrpd/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        cfg.path,
        cfg.host,
        env!("CARGO_PKG_VERSION")
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    let line = loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            break String::from_utf8_lossy(&buf[..i]).into_owned();
        }
        if buf.len() >= STATUS_LINE_LIMIT {
            return Err("no status line in the first 4 KiB".into());
        }
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        if n == 0 {
            return Err("connection closed before a status line".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let status = status_code(&line).ok_or_else(|| format!("bad status line {line:?}"))?;
    let ok = if cfg.expect_status.is_empty() {
        (200..300).contains(&status)
    } else {
        cfg.expect_status.contains(&status)
    };
    if ok {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

/// `HTTP/1.x NNN ...` -> NNN.
pub fn status_code(line: &str) -> Option<u16> {
    let mut it = line.split(' ');
    let version = it.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code = it.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::status_code;

    #[test]
    fn status_lines() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code("HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(status_code("HTTP/1.1 204"), Some(204));
        assert_eq!(status_code("SSH-2.0-OpenSSH"), None);
        assert_eq!(status_code("HTTP/1.1 2000 x"), None);
    }
}
