//! track_script runner with real processes (no privileges needed).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use vrrpd::config::TrackScript;
use vrrpd::proto::instance::State;
use vrrpd::track::{GroupEnv, ScriptTracker, TrackEvent};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("vrrpd-track-{}-{tag}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn script(&self, name: &str, body: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cfg(command: Vec<String>, interval_ms: u64, timeout_ms: u64, rise: u8, fall: u8) -> TrackScript {
    TrackScript {
        name: "check".into(),
        command,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise,
        fall,
        weight: -60,
        run_as: None,
    }
}

fn env() -> (watch::Sender<GroupEnv>, watch::Receiver<GroupEnv>) {
    watch::channel(GroupEnv {
        group: "web".into(),
        vrid: 51,
        state: State::Backup,
        priority: 150,
    })
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<TrackEvent>,
    within: Duration,
) -> Option<bool> {
    match tokio::time::timeout(within, rx.recv()).await {
        Ok(Some(TrackEvent::Script { group, script, up })) => {
            assert_eq!(group, "web");
            assert_eq!(script, "check");
            Some(up)
        }
        _ => None,
    }
}

/// Results the script logged so far ('1' success, '0' failure).
fn runs(dir: &TempDir) -> String {
    std::fs::read_to_string(dir.path("runs"))
        .unwrap_or_default()
        .replace('\n', "")
}

/// Trailing run of `c` in `s`.
fn tail_len(s: &str, c: char) -> usize {
    s.chars().rev().take_while(|&x| x == c).count()
}

fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.chars().next()
}

fn read_pid(p: &Path) -> Option<i32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

async fn wait_pid(p: &Path) -> i32 {
    for _ in 0..300 {
        if let Some(pid) = read_pid(p) {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("script never wrote {}", p.display());
}

/// No child of this process in state Z with this pid, and it no longer runs.
fn assert_gone(pid: i32) {
    assert_eq!(
        proc_state(pid),
        None,
        "pid {pid} still exists (zombie or running)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn toggled_script_rise2_fall2_gives_exact_transitions() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let dir = TempDir::new("toggle");
            let state = dir.path("state");
            let runs_file = dir.path("runs");
            std::fs::write(&state, "ok\n").unwrap();
            let script = dir.script(
                "check.sh",
                &format!(
                    "read s < '{}'\nif [ \"$s\" = ok ]; then echo 1 >> '{r}'; exit 0; fi\necho 0 >> '{r}'\nexit 1",
                    state.display(),
                    r = runs_file.display()
                ),
            );
            let (_tx, env_rx) = env();
            let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
            let h = ScriptTracker::spawn("web", &cfg(vec![script], 50, 1000, 2, 2), env_rx, ev_tx);
            let wait = Duration::from_secs(5);

            // First result decides: one success is enough.
            assert_eq!(next_event(&mut ev_rx, wait).await, Some(true));
            assert!(runs(&dir).starts_with('1'));
            // Stay up for a while: no events.
            assert_eq!(next_event(&mut ev_rx, Duration::from_millis(300)).await, None);

            std::fs::write(&state, "fail\n").unwrap();
            assert_eq!(next_event(&mut ev_rx, wait).await, Some(false));
            assert!(tail_len(&runs(&dir), '0') >= 2, "down after fewer than 2 failures: {}", runs(&dir));
            assert_eq!(next_event(&mut ev_rx, Duration::from_millis(300)).await, None);

            std::fs::write(&state, "ok\n").unwrap();
            assert_eq!(next_event(&mut ev_rx, wait).await, Some(true));
            assert!(tail_len(&runs(&dir), '1') >= 2, "up after fewer than 2 successes: {}", runs(&dir));
            assert_eq!(next_event(&mut ev_rx, Duration::from_millis(300)).await, None);

            // A single failure between successes changes nothing (fall = 2).
            std::fs::write(&state, "fail\n").unwrap();
            let before = runs(&dir).len();
            for _ in 0..500 {
                if runs(&dir).len() > before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            std::fs::write(&state, "ok\n").unwrap();
            let r = runs(&dir);
            if tail_len(&r, '0') == 1 {
                assert_eq!(next_event(&mut ev_rx, Duration::from_millis(300)).await, None);
            }
            drop(h);
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn script_sees_group_env_at_spawn_time() {
    let dir = TempDir::new("env");
    let out = dir.path("env");
    let script = dir.script(
        "env.sh",
        &format!(
            "echo \"$VRRPD_GROUP $VRRPD_STATE $VRRPD_PRIORITY $VRRPD_VRID\" > '{}.tmp' && mv '{o}.tmp' '{o}'",
            out.display(),
            o = out.display()
        ),
    );
    let (tx, env_rx) = env();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let _h = ScriptTracker::spawn("web", &cfg(vec![script], 50, 1000, 1, 1), env_rx, ev_tx);
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_secs(5)).await,
        Some(true)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "web BACKUP 150 51"
    );
    tx.send_modify(|e| {
        e.state = State::Master;
        e.priority = 90;
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = std::fs::read_to_string(&out).unwrap_or_default();
        if s.trim() == "web MASTER 90 51" {
            break;
        }
        assert!(Instant::now() < deadline, "env never updated: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn hung_script_is_killed_at_timeout_counts_as_failure_and_is_reaped() {
    let dir = TempDir::new("hung");
    let pidf = dir.path("pid");
    let gpidf = dir.path("gpid");
    // The script itself (pid) and a grandchild in its process group (gpid).
    let script = dir.script(
        "hung.sh",
        &format!(
            "sleep 10 &\necho $! > '{}'\necho $$ > '{}'\nwait",
            gpidf.display(),
            pidf.display()
        ),
    );
    let (_tx, env_rx) = env();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let _h = ScriptTracker::spawn("web", &cfg(vec![script], 5000, 300, 1, 1), env_rx, ev_tx);
    let pid = wait_pid(&pidf).await;
    let gpid = wait_pid(&gpidf).await;
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_secs(5)).await,
        Some(false)
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "failed before the timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "not killed at the timeout: {took:?}"
    );
    // The script was reaped before its failure was reported.
    assert_gone(pid);
    // The grandchild was killed with the process group (it is not our child;
    // whoever inherited it reaps it, so allow a moment and accept a zombie).
    let deadline = Instant::now() + Duration::from_secs(3);
    while matches!(proc_state(gpid), Some(s) if s != 'Z') {
        assert!(Instant::now() < deadline, "grandchild {gpid} still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_handle_kills_and_reaps_a_running_script() {
    let dir = TempDir::new("drop");
    let pidf = dir.path("pid");
    let script = dir.script(
        "slow.sh",
        &format!("echo $$ > '{}'\nexec sleep 10", pidf.display()),
    );
    let (_tx, env_rx) = env();
    let (ev_tx, _ev_rx) = mpsc::unbounded_channel();
    let h = ScriptTracker::spawn("web", &cfg(vec![script], 5000, 30_000, 1, 1), env_rx, ev_tx);
    let pid = wait_pid(&pidf).await;
    assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));
    drop(h);
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_state(pid).is_some() {
        assert!(
            Instant::now() < deadline,
            "pid {pid} not killed and reaped: state {:?}",
            proc_state(pid)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn script_printing_50_mb_costs_no_memory() {
    let dir = TempDir::new("chatty");
    let script = dir.script(
        "chatty.sh",
        "head -c 52428800 /dev/zero\nhead -c 52428800 /dev/zero >&2\nexit 0",
    );
    let before = rss_kib();
    let (_tx, env_rx) = env();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let _h = ScriptTracker::spawn("web", &cfg(vec![script], 5000, 20_000, 1, 1), env_rx, ev_tx);
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_secs(20)).await,
        Some(true)
    );
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 10 * 1024, "RSS grew by {grown} KiB");
}

#[tokio::test(flavor = "current_thread")]
async fn arguments_with_shell_metacharacters_are_passed_literally() {
    let dir = TempDir::new("meta");
    let keep = dir.path("keep");
    std::fs::write(&keep, "x").unwrap();
    let out = dir.path("args");
    let script = dir.script(
        "args.sh",
        &format!(
            "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'",
            out.display()
        ),
    );
    let args = [
        format!(
            "$(touch {}); rm -rf {}",
            dir.path("pwned").display(),
            keep.display()
        ),
        format!("`touch {}`", dir.path("pwned2").display()),
        "a b;c|d&&e>f".to_string(),
        "*".to_string(),
        "${HOME}".to_string(),
    ];
    let mut command = vec![script];
    command.extend(args.iter().cloned());
    let (_tx, env_rx) = env();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let _h = ScriptTracker::spawn("web", &cfg(command, 5000, 5000, 1, 1), env_rx, ev_tx);
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_secs(5)).await,
        Some(true)
    );
    let got = std::fs::read_to_string(&out).unwrap();
    let want: String = args.iter().map(|a| format!("{a}\n")).collect();
    assert_eq!(got, want);
    assert!(!dir.path("pwned").exists());
    assert!(!dir.path("pwned2").exists());
    assert!(keep.exists());
}

#[tokio::test(flavor = "current_thread")]
async fn missing_program_is_a_failure() {
    let (_tx, env_rx) = env();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let _h = ScriptTracker::spawn(
        "web",
        &cfg(vec!["/nonexistent/vrrpd-check".into()], 50, 500, 1, 1),
        env_rx,
        ev_tx,
    );
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_secs(5)).await,
        Some(false)
    );
    assert_eq!(
        next_event(&mut ev_rx, Duration::from_millis(300)).await,
        None
    );
}
