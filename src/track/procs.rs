//! `[[track_process]]` (keepalived `track_process`): count the processes
//! named `process` (by `/proc/PID/comm` or the basename of argv[0]) whose
//! arguments contain `args`; fail while fewer than `min` run for longer than
//! `delay`.
//!
//! Driven by the kernel's process events (the netlink process connector,
//! `linux/cn_proc.h`, through netlink-sys): exec and comm events re-check
//! one pid, exit events drop it. /proc is rescanned at start and whenever
//! the socket overran (ENOBUFS: events were lost). No `pidof` race, and it
//! works under systemd's `ProtectProc=invisible` as long as the daemon
//! sees the processes (in a container: `pid: host` /
//! `shareProcessNamespace: true`).
//!
//! The kernel offers process events only in the initial network and PID
//! namespaces. Elsewhere (a daemon in its own network namespace, as in the
//! netns tests) the tracker logs a warning once and rescans /proc every
//! second instead.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_CONNECTOR};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

use super::TrackEvent;
use crate::config::TrackProcess;
use crate::control::TrackerKind;

/// `CN_IDX_PROC` / `CN_VAL_PROC` (linux/connector.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN` (linux/cn_proc.h).
const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `enum proc_cn_event` values used here.
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// nlmsghdr (16) + cn_msg (20): where `struct proc_event` starts.
const EVENT_OFFSET: usize = 36;
/// How long to wait for the kernel's answer to the subscription.
const ACK_WAIT: Duration = Duration::from_secs(1);
/// Rescan period without process events.
const FALLBACK_RESCAN: Duration = Duration::from_secs(1);

/// Start the tracker.
pub fn spawn(
    group: &str,
    cfg: &TrackProcess,
    events: mpsc::UnboundedSender<TrackEvent>,
) -> JoinHandle<()> {
    tokio::spawn(run(group.to_string(), cfg.clone(), events))
}

/// Whether a process with this comm and argv is the one tracked.
pub fn matches(cfg: &TrackProcess, comm: &str, argv: &[String]) -> bool {
    let base = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .unwrap_or("");
    if comm != cfg.process && base != cfg.process {
        return false;
    }
    if cfg.args.is_empty() {
        return true;
    }
    let rest = argv.get(1..).unwrap_or(&[]);
    rest.windows(cfg.args.len())
        .any(|w| w == cfg.args.as_slice())
}

fn check_pid(cfg: &TrackProcess, pid: u32) -> bool {
    let dir = Path::new("/proc").join(pid.to_string());
    let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
        return false;
    };
    let argv: Vec<String> = std::fs::read(dir.join("cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    // Kernel threads have an empty cmdline: never a match by argv.
    matches(cfg, comm.trim_end_matches('\n'), &argv)
}

fn rescan(cfg: &TrackProcess) -> HashSet<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return HashSet::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| check_pid(cfg, *pid))
        .collect()
}

/// Subscribe to process events. Err when the kernel offers none here.
fn connector() -> std::io::Result<AsyncFd<Socket>> {
    let mut s = Socket::new(NETLINK_CONNECTOR)?;
    s.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
    let _ = s.set_rx_buf_sz(1 << 20);
    let mut msg = Vec::with_capacity(40);
    msg.extend_from_slice(&40u32.to_ne_bytes()); // nlmsg_len
    msg.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&std::process::id().to_ne_bytes());
    msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
    msg.extend_from_slice(&4u16.to_ne_bytes()); // len
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    s.send(&msg, 0)?;
    s.set_non_blocking(true)?;
    crate::net::vrrp_socket::register(s, tokio::io::Interest::READABLE)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// (what, pid, tgid) of one process event datagram.
fn parse_event(b: &[u8]) -> Option<(u32, u32, u32)> {
    let what = u32_at(b, EVENT_OFFSET)?;
    let pid = u32_at(b, EVENT_OFFSET + 16)?;
    let tgid = u32_at(b, EVENT_OFFSET + 20)?;
    Some((what, pid, tgid))
}

/// The kernel acknowledges PROC_CN_MCAST_LISTEN with a PROC_EVENT_NONE
/// message only when it will send events (initial user and PID
/// namespaces); elsewhere it ignores the request silently. Wait for that.
async fn acknowledged(fd: &AsyncFd<Socket>) -> bool {
    let mut buf = vec![0u8; 4096];
    let wait = async {
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return false;
            };
            match guard.get_inner().recv(&mut &mut buf[..], 0) {
                Ok(n) => {
                    if parse_event(&buf[..n]).is_some_and(|(what, _, _)| what == 0) {
                        return true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(_) => return false,
            }
        }
    };
    tokio::time::timeout(ACK_WAIT, wait).await.unwrap_or(false)
}

async fn run(group: String, cfg: TrackProcess, events: mpsc::UnboundedSender<TrackEvent>) {
    let sock = match connector() {
        Ok(s) if acknowledged(&s).await => Some(s),
        Ok(_) => {
            warn!(group = %group, tracker = %cfg.name, "track_process: the kernel sends no process events to this PID namespace (a container needs `pid: host`); rescanning /proc every {}", crate::config::format_duration(FALLBACK_RESCAN));
            None
        }
        Err(e) => {
            warn!(group = %group, tracker = %cfg.name, "track_process: no process events here ({e}: the kernel offers them only in the initial network and PID namespaces); rescanning /proc every {}", crate::config::format_duration(FALLBACK_RESCAN));
            None
        }
    };
    let mut pids = rescan(&cfg);
    let mut up: Option<bool> = None;
    let mut failing_since: Option<Instant> = None;
    let mut buf = vec![0u8; 65536];
    let mut fallback = tokio::time::interval(FALLBACK_RESCAN);
    loop {
        if events.is_closed() {
            return;
        }
        // Verdict from the current count.
        let enough = pids.len() >= cfg.min as usize;
        let now = Instant::now();
        let want = if enough {
            failing_since = None;
            Some(true)
        } else {
            let since = *failing_since.get_or_insert(now);
            (now >= since + cfg.delay).then_some(false)
        };
        if let Some(w) = want
            && up != Some(w)
        {
            up = Some(w);
            info!(group = %group, tracker = %cfg.name, running = pids.len(), min = cfg.min, "track_process is now {}", if w { "up" } else { "down" });
            let ev = TrackEvent::Builtin {
                group: group.clone(),
                kind: TrackerKind::Process,
                name: cfg.name.clone(),
                up: w,
            };
            if events.send(ev).is_err() {
                return;
            }
        }
        let delay_end = failing_since
            .filter(|_| up != Some(false))
            .map(|s| s + cfg.delay);
        let sleep_delay = async {
            match delay_end {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        match &sock {
            None => {
                tokio::select! {
                    _ = fallback.tick() => pids = rescan(&cfg),
                    _ = sleep_delay => {}
                    _ = events.closed() => return,
                }
            }
            Some(fd) => {
                tokio::select! {
                    r = fd.readable() => {
                        let Ok(mut guard) = r else { return };
                        loop {
                            match guard.get_inner().recv(&mut &mut buf[..], 0) {
                                Ok(n) => {
                                    if let Some((what, pid, tgid)) = parse_event(&buf[..n]) {
                                        match what {
                                            PROC_EVENT_EXEC | PROC_EVENT_COMM => {
                                                if check_pid(&cfg, tgid) { pids.insert(tgid); } else { pids.remove(&tgid); }
                                            }
                                            PROC_EVENT_EXIT if pid == tgid => { pids.remove(&tgid); }
                                            _ => {}
                                        }
                                    }
                                }
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                    guard.clear_ready();
                                    break;
                                }
                                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                                    // Events were lost: count afresh.
                                    pids = rescan(&cfg);
                                }
                                Err(e) => {
                                    warn!(group = %group, tracker = %cfg.name, "track_process: receive failed: {e}; rescanning");
                                    pids = rescan(&cfg);
                                    guard.clear_ready();
                                    break;
                                }
                            }
                        }
                    }
                    _ = sleep_delay => {}
                    _ = events.closed() => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(process: &str, args: &[&str]) -> TrackProcess {
        TrackProcess {
            name: "p".into(),
            process: process.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            min: 1,
            delay: Duration::ZERO,
            weight: 0,
        }
    }

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn by_comm_or_argv0_basename_with_args() {
        let c = cfg("haproxy", &[]);
        assert!(matches(
            &c,
            "haproxy",
            &argv(&["/usr/sbin/haproxy", "-f", "x"])
        ));
        assert!(matches(&c, "haproxy-worker", &argv(&["/usr/sbin/haproxy"])));
        assert!(matches(&c, "haproxy", &[]));
        assert!(!matches(&c, "nginx", &argv(&["/usr/sbin/nginx"])));
        let c = cfg("haproxy", &["-f", "/etc/haproxy/haproxy.cfg"]);
        assert!(matches(
            &c,
            "haproxy",
            &argv(&["haproxy", "-W", "-f", "/etc/haproxy/haproxy.cfg"])
        ));
        assert!(!matches(
            &c,
            "haproxy",
            &argv(&["haproxy", "-f", "/tmp/other.cfg"])
        ));
    }

    /// The event path itself, where the kernel offers it (root in the
    /// initial network and PID namespaces, as CI runs): the subscription is
    /// acknowledged and a tracked process's exec and exit arrive as events.
    #[tokio::test]
    async fn process_events_follow_a_process_when_the_kernel_offers_them() {
        let sock = match connector() {
            Ok(s) if acknowledged(&s).await => s,
            other => {
                eprintln!(
                    "SKIPPED: no process events here ({:?})",
                    other.err().map(|e| e.to_string())
                );
                return;
            }
        };
        let tag = format!("{}{}", 9_100_000 + std::process::id(), 3);
        let c = cfg("sleep", &[&tag]);
        let mut child = std::process::Command::new("/bin/sleep")
            .arg(&tag)
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        let mut buf = vec![0u8; 65536];
        let (mut saw_exec, mut saw_exit) = (false, false);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut killed = false;
        while !(saw_exec && saw_exit) && Instant::now() < deadline {
            let Ok(Ok(mut g)) =
                tokio::time::timeout(Duration::from_millis(200), sock.readable()).await
            else {
                continue;
            };
            match g.get_inner().recv(&mut &mut buf[..], 0) {
                Ok(n) => match parse_event(&buf[..n]) {
                    Some((PROC_EVENT_EXEC, _, tgid)) if tgid == pid => {
                        saw_exec = check_pid(&c, tgid);
                        if saw_exec && !killed {
                            let _ = child.kill();
                            killed = true;
                        }
                    }
                    Some((PROC_EVENT_EXIT, p, tgid)) if tgid == pid && p == tgid => saw_exit = true,
                    _ => {}
                },
                Err(_) => g.clear_ready(),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(saw_exec, "no exec event for the tracked process");
        assert!(saw_exit, "no exit event for the tracked process");
    }

    #[test]
    fn event_layout() {
        let mut b = vec![0u8; 76];
        b[36..40].copy_from_slice(&PROC_EVENT_EXIT.to_ne_bytes());
        b[52..56].copy_from_slice(&42u32.to_ne_bytes());
        b[56..60].copy_from_slice(&42u32.to_ne_bytes());
        assert_eq!(parse_event(&b), Some((PROC_EVENT_EXIT, 42, 42)));
        assert_eq!(parse_event(&b[..50]), None);
    }
}
