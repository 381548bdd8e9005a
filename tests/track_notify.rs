//! Ordered notify hooks with real processes (no privileges needed).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use vrrpd::config::NotifyConfig;
use vrrpd::proto::instance::State;
use vrrpd::track::{NOTIFY_QUEUE_LIMIT, Notifier};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("vrrpd-notify-{}-{tag}-{nanos}", std::process::id()));
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
    /// A hook appending `argv|GROUP|STATE|PRIORITY|VRID` to `log`.
    fn logger(&self) -> String {
        self.script(
            "hook.sh",
            &format!(
                "printf '%s|%s|%s|%s|%s\\n' \"$*\" \"$VRRPD_GROUP\" \"$VRRPD_STATE\" \"$VRRPD_PRIORITY\" \"$VRRPD_VRID\" >> '{}'",
                self.path("log").display()
            ),
        )
    }
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn argv(prog: &str, label: &str) -> Option<Vec<String>> {
    Some(vec![prog.to_string(), label.to_string()])
}

fn all_hooks(hook: &str) -> NotifyConfig {
    NotifyConfig {
        master: argv(hook, "master-hook"),
        backup: argv(hook, "backup-hook"),
        fault: argv(hook, "fault-hook"),
        stop: argv(hook, "stop-hook"),
        any: Some(vec![hook.to_string()]),
        run_as: None,
    }
}

/// Call `f` and assert it returned within 1 ms.
fn fast(f: impl FnOnce()) {
    let t = Instant::now();
    f();
    let took = t.elapsed();
    assert!(took < Duration::from_millis(1), "notify() took {took:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn hooks_run_in_order_with_keepalived_arguments_and_env() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let dir = TempDir::new("order");
            let hook = dir.logger();
            let n = Notifier::new("web", all_hooks(&hook), Duration::from_secs(5));
            fast(|| n.notify(State::Master, 150, 51));
            fast(|| n.notify(State::Backup, 100, 51));
            fast(|| n.notify(State::Fault, 0, 51));
            fast(|| n.notify(State::Init, 100, 51)); // no hook for INIT
            fast(|| n.notify_stop(100, 51));
            assert!(n.flush(Duration::from_secs(10)).await);
            assert_eq!(n.pending(), 0);
            assert_eq!(
                dir.log(),
                vec![
                    "master-hook|web|MASTER|150|51",
                    "INSTANCE web MASTER 150|web|MASTER|150|51",
                    "backup-hook|web|BACKUP|100|51",
                    "INSTANCE web BACKUP 100|web|BACKUP|100|51",
                    "fault-hook|web|FAULT|0|51",
                    "INSTANCE web FAULT 0|web|FAULT|0|51",
                    "stop-hook|web|STOP|100|51",
                    "INSTANCE web STOP 100|web|STOP|100|51",
                ]
            );
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn hung_hook_is_killed_at_timeout_and_the_order_is_kept() {
    let dir = TempDir::new("hung");
    let hook = dir.logger();
    let pidf = dir.path("pid");
    let slow = dir.script(
        "slow.sh",
        &format!(
            "echo \"slow-start|$VRRPD_STATE\" >> '{}'\necho $$ > '{}'\nexec sleep 10",
            dir.path("log").display(),
            pidf.display()
        ),
    );
    let cfg = NotifyConfig {
        master: Some(vec![slow]),
        backup: argv(&hook, "backup-hook"),
        any: Some(vec![hook.clone()]),
        ..NotifyConfig::default()
    };
    let n = Notifier::new("web", cfg, Duration::from_millis(300));
    let start = Instant::now();
    fast(|| n.notify(State::Master, 150, 51));
    // While the master hook hangs, the protocol side is still never delayed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    fast(|| n.notify(State::Backup, 100, 51));
    assert!(n.flush(Duration::from_secs(8)).await, "queue did not drain");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "hook not given its timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "hung hook delayed the queue: {took:?}"
    );
    assert_eq!(
        dir.log(),
        vec![
            "slow-start|MASTER",
            "INSTANCE web MASTER 150|web|MASTER|150|51",
            "backup-hook|web|BACKUP|100|51",
            "INSTANCE web BACKUP 100|web|BACKUP|100|51",
        ]
    );
    let pid: i32 = std::fs::read_to_string(&pidf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "killed hook {pid} not reaped"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_the_oldest_and_keeps_the_newest() {
    let dir = TempDir::new("full");
    let hook = dir.logger();
    let flag = dir.path("flag");
    // The first master hook hangs until killed; later ones return at once.
    let first_hangs = dir.script(
        "first.sh",
        &format!(
            "if [ ! -e '{f}' ]; then : > '{f}'; exec sleep 10; fi",
            f = flag.display()
        ),
    );
    let cfg = NotifyConfig {
        master: Some(vec![first_hangs]),
        any: Some(vec![hook]),
        ..NotifyConfig::default()
    };
    let n = Notifier::new("web", cfg, Duration::from_millis(500));
    n.notify(State::Master, 1, 51);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    for p in 2..=200u8 {
        n.notify(
            if p % 2 == 0 {
                State::Backup
            } else {
                State::Master
            },
            p,
            51,
        );
    }
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert!(
        n.pending() <= NOTIFY_QUEUE_LIMIT + 1,
        "pending {}",
        n.pending()
    );
    assert!(n.flush(Duration::from_secs(20)).await);
    let log = dir.log();
    assert_eq!(log.len(), NOTIFY_QUEUE_LIMIT + 1);
    assert_eq!(log[0], "INSTANCE web MASTER 1|web|MASTER|1|51");
    assert_eq!(
        log[log.len() - 1],
        "INSTANCE web BACKUP 200|web|BACKUP|200|51"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn without_hooks_nothing_is_queued() {
    let n = Notifier::new("web", NotifyConfig::default(), Duration::from_secs(1));
    fast(|| n.notify(State::Master, 150, 51));
    fast(|| n.notify_stop(150, 51));
    assert_eq!(n.pending(), 0);
    assert!(n.flush(Duration::from_millis(10)).await);
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_notifier_kills_a_running_hook() {
    let dir = TempDir::new("drop");
    let pidf = dir.path("pid");
    let slow = dir.script(
        "slow.sh",
        &format!("echo $$ > '{}'\nexec sleep 10", pidf.display()),
    );
    let cfg = NotifyConfig {
        master: Some(vec![slow]),
        ..NotifyConfig::default()
    };
    let n = Notifier::new("web", cfg, Duration::from_secs(30));
    n.notify(State::Master, 150, 51);
    let mut pid = None;
    for _ in 0..300 {
        if let Some(p) = std::fs::read_to_string(&pidf)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            pid = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = pid.expect("hook never started");
    assert!(!n.flush(Duration::from_millis(50)).await);
    drop(n);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "hook {pid} not killed and reaped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
