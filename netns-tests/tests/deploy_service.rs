//! The deployment contract of SPEC §3 / §6 with a real daemon: this test
//! plays systemd (its own `NOTIFY_SOCKET` and `WATCHDOG_USEC`) and checks
//! every notify message and its timing; `vrrpd reload` exits 0 when applied
//! and 2 when rejected, and the reload metrics follow; `vrrpd status
//! --alive` is 0 while a group is in FAULT (where plain `status` is 1).

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netns_tests::*;

/// WATCHDOG_USEC: the daemon pings every third of it; the test demands a
/// ping at least every half (SPEC §6), leaving a sixth as slack for load.
const WATCHDOG: Duration = Duration::from_secs(2);

const WEB: &str = "vrid = 51\ninterface = \"eth0\"\npriority = 150\nadvert_interval = \"100ms\"\n\
    unicast_peers = [\"192.0.2.2\"]\nvirtual_ips = [\"192.0.2.100/24\"]\n";
/// A group whose interface does not exist: it waits in FAULT.
const SPARE: &str = "vrid = 52\ninterface = \"eth9\"\npriority = 150\n\
    unicast_peers = [\"198.51.100.2\"]\nvirtual_ips = [\"198.51.100.100/24\"]\n";

/// What the fake service manager received, with arrival times.
type Inbox = Arc<Mutex<Vec<(Instant, String)>>>;

struct Manager {
    inbox: Inbox,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    dir: std::path::PathBuf,
}

impl Manager {
    fn bind() -> Manager {
        let dir = std::env::temp_dir().join(unique_name("vrrpd-notify-"));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = UnixDatagram::bind(dir.join("notify.sock")).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let inbox: Inbox = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (i, s) = (inbox.clone(), stop.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let start = Instant::now();
            // Bounded: at most 2 minutes.
            while !s.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(120) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    i.lock().unwrap().push((Instant::now(), msg));
                }
            }
        });
        Manager {
            inbox,
            stop,
            reader: Some(reader),
            dir,
        }
    }
    fn path(&self) -> String {
        self.dir.join("notify.sock").display().to_string()
    }
    fn messages(&self) -> Vec<(Instant, String)> {
        self.inbox.lock().unwrap().clone()
    }
    /// The first message after `since` holding `field`.
    fn wait_for(&self, field: &str, since: Instant, limit: Duration) -> Option<(Instant, String)> {
        let mut found = None;
        wait_until(limit, || {
            found = self
                .messages()
                .into_iter()
                .find(|(t, m)| *t >= since && m.lines().any(|l| l == field));
            found.is_some()
        });
        found
    }
    fn pings_between(&self, from: Instant, to: Instant) -> Vec<Instant> {
        self.messages()
            .into_iter()
            .filter(|(t, m)| *t >= from && *t <= to && m.lines().any(|l| l == "WATCHDOG=1"))
            .map(|(t, _)| t)
            .collect()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn monotonic_usec() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000 + i128::from(ts.tv_nsec) / 1000
}

fn longest_gap(pings: &[Instant]) -> Duration {
    pings
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(Duration::MAX)
}

fn scrape(n: &Node) -> String {
    let mut c = n.ns.cmd("curl");
    c.args(["-fsS", "--max-time", "5", "http://127.0.0.1:9650/metrics"]);
    String::from_utf8_lossy(&run(&mut c).expect("curl").stdout).into_owned()
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A RELOADING=1 message carries MONOTONIC_USEC close to our clock (the
/// same CLOCK_MONOTONIC: one kernel), then READY=1 follows.
fn assert_reload_notified(m: &Manager, n: &Node, since: Instant, what: &str) {
    let (at, msg) = m
        .wait_for("RELOADING=1", since, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{what}: no RELOADING=1{}", n.log_text()));
    let usec: i128 = msg
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC=")?.parse().ok())
        .unwrap_or_else(|| panic!("{what}: RELOADING=1 without MONOTONIC_USEC: {msg:?}"));
    let skew = (monotonic_usec() - usec).abs();
    assert!(
        skew < 10_000_000,
        "{what}: MONOTONIC_USEC {usec} is {skew} us off"
    );
    assert!(
        m.wait_for("READY=1", at, Duration::from_secs(10)).is_some(),
        "{what}: no READY=1 after RELOADING=1"
    );
}

#[test]
fn notify_protocol_reload_outcome_and_liveness_as_systemd_and_kubernetes_see_them() {
    require_netns!();
    let mut lan = Lan::new();
    let mut a = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    a.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
    a.write_group("web", WEB);
    a.write_group("spare", SPARE);
    let m = Manager::bind();
    let usec = WATCHDOG.as_micros().to_string();
    let t0 = Instant::now();
    a.start_with_env(&[("NOTIFY_SOCKET", &m.path()), ("WATCHDOG_USEC", &usec)]);

    // READY=1 once the groups are started.
    let (ready_at, _) = m
        .wait_for("READY=1", t0, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no READY=1{}", a.log_text()));
    assert!(
        wait_until(Duration::from_secs(5), || a.holds("192.0.2.100")),
        "a alone did not become master{}",
        a.log_text()
    );

    // Watchdog: at least twice per WATCHDOG_USEC, from the start on.
    std::thread::sleep(Duration::from_secs(4));
    let pings = m.pings_between(ready_at, Instant::now());
    let gap = longest_gap(&pings);
    eprintln!(
        "watchdog: {} pings in {:.1} s, longest gap {} ms (WATCHDOG_USEC {usec})",
        pings.len(),
        ready_at.elapsed().as_secs_f64(),
        gap.as_millis()
    );
    assert!(pings.len() >= 4, "only {} watchdog pings", pings.len());
    assert!(
        gap <= WATCHDOG / 2,
        "watchdog gap {gap:?} > half the period"
    );

    // Liveness vs readiness with a group in FAULT (eth9 is missing).
    let (code, out, err) = a.cli(&["status"]);
    assert_eq!(code, 1, "status with a FAULT group:\n{out}{err}");
    let (code, out, err) = a.cli(&["status", "--alive"]);
    assert_eq!(code, 0, "status --alive with a FAULT group:\n{out}{err}");

    // Metrics of a fresh start.
    let text = scrape(&a);
    assert_eq!(
        metric(&text, "vrrpd_config_last_reload_success"),
        Some(1.0),
        "{text}"
    );
    let version = concat!(
        "vrrpd_build_info{version=\"",
        env!("CARGO_PKG_VERSION"),
        "\"}"
    );
    assert_eq!(metric(&text, version), Some(1.0), "{text}");
    assert!(
        metric(&text, "vrrpd_garp_sent_total{group=\"web\"}").is_some_and(|v| v >= 1.0),
        "no GARP counted for the master:\n{text}"
    );
    let since = metric(&text, "vrrpd_group_state_since_seconds{group=\"web\"}").unwrap_or(0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - since).abs() < 30.0, "state since {since}, now {now}");

    // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    let t = Instant::now();
    a.signal(libc::SIGHUP);
    assert_reload_notified(&m, &a, t, "SIGHUP");

    // `vrrpd reload`: 0 when applied ...
    let t = Instant::now();
    let (code, out, err) = a.cli(&["reload"]);
    assert_eq!(code, 0, "reload of a good config:\n{out}{err}");
    assert_reload_notified(&m, &a, t, "vrrpd reload");
    // ... 2 when rejected, and the metric says so; the daemon runs on.
    a.write_group("bad", "vrid = 300\ninterface = \"eth0\"\n");
    let t = Instant::now();
    let (code, out, err) = a.cli(&["reload"]);
    assert_eq!(code, 2, "reload of a bad config:\n{out}{err}");
    assert!(err.contains("bad.toml:1:8"), "{err}");
    assert_reload_notified(&m, &a, t, "rejected reload");
    let text = scrape(&a);
    assert_eq!(
        metric(&text, "vrrpd_config_last_reload_success"),
        Some(0.0),
        "{text}"
    );
    let at = metric(&text, "vrrpd_config_last_reload_timestamp_seconds").unwrap_or(0.0);
    assert!(
        at >= now - 1.0,
        "reload timestamp {at} before the reload ({now})"
    );
    assert!(a.holds("192.0.2.100") && a.running());
    a.remove_group("bad");

    // A stopped loop stops the pings (systemd would then restart it).
    let pid = a.daemon.as_ref().unwrap().pid();
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let stopped = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    let during = m.pings_between(stopped + Duration::from_millis(100), Instant::now());
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert!(during.is_empty(), "{} pings while SIGSTOPped", during.len());
    let resumed = Instant::now();
    assert!(
        m.wait_for("WATCHDOG=1", resumed, Duration::from_secs(3))
            .is_some(),
        "no ping after SIGCONT"
    );

    // SIGTERM: STOPPING=1, then the release and the exit.
    let t = Instant::now();
    let status = a.stop(libc::SIGTERM, Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    assert!(
        m.wait_for("STOPPING=1", t, Duration::from_secs(1))
            .is_some(),
        "no STOPPING=1{}",
        a.log_text()
    );
    // Liveness fails once nothing answers.
    let (code, _, _) = a.cli(&["status", "--alive"]);
    assert_eq!(code, 3);
}
