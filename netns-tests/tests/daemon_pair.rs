//! Two real `vrrpd` daemons on a bridged LAN with a client: election for
//! every version/family/transport/auth combination, link-cut failover,
//! lossless SIGTERM release and the priority-0 advert on the wire.
//!
//! Node `a` has priority 150, node `b` 100. The tests in this file run one at
//! a time (timing assertions on a small machine).

use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time; a panicking test must not poison the others.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug)]
enum Auth {
    None,
    Pass,
    Ah,
}

#[derive(Clone, Copy, Debug)]
struct Setup {
    version: u8,
    family: Family,
    unicast: bool,
    auth: Auth,
    /// Advert interval in milliseconds.
    interval_ms: u64,
}

impl Setup {
    fn v3(family: Family, unicast: bool) -> Setup {
        Setup {
            version: 3,
            family,
            unicast,
            auth: Auth::None,
            interval_ms: 100,
        }
    }

    fn v2(unicast: bool, auth: Auth) -> Setup {
        Setup {
            version: 2,
            family: Family::V4,
            unicast,
            auth,
            interval_ms: 1000,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// RFC 5798 §6.1 Master_Down_Interval for `priority` (no truncation).
    fn master_down(&self, priority: u32) -> Duration {
        let skew = self.interval_ms as f64 * (256 - priority) as f64 / 256.0;
        Duration::from_secs_f64((3.0 * self.interval_ms as f64 + skew) / 1000.0)
    }

    /// VIPs without prefix, the first one in the advert first.
    fn vips(&self) -> Vec<&'static str> {
        match self.family {
            Family::V4 => vec!["192.0.2.100"],
            Family::V6 => vec!["fe80::100", "2001:db8::100"],
        }
    }

    /// The address a client pings.
    fn client_target(&self) -> &'static str {
        match self.family {
            Family::V4 => "192.0.2.100",
            Family::V6 => "2001:db8::100",
        }
    }

    fn group_toml(&self, me: usize) -> String {
        let priority = if me == 0 { 150 } else { 100 };
        let peer = match self.family {
            Family::V4 => ["192.0.2.2", "192.0.2.1"][me],
            Family::V6 => ["fe80::2", "fe80::1"][me],
        };
        let vips = match self.family {
            Family::V4 => r#"["192.0.2.100/24"]"#,
            Family::V6 => r#"["fe80::100/64", "2001:db8::100/64"]"#,
        };
        let mut t = format!(
            "vrid = 51\ninterface = \"eth0\"\npriority = {priority}\nversion = {}\n\
             advert_interval = \"{}ms\"\nvirtual_ips = {vips}\n",
            self.version, self.interval_ms
        );
        if self.unicast {
            t.push_str(&format!("unicast_peers = [\"{peer}\"]\n"));
        }
        match self.auth {
            Auth::None => {}
            Auth::Pass => t.push_str("\n[auth]\ntype = \"pass\"\nsecret = \"secret12\"\n"),
            Auth::Ah => t.push_str("\n[auth]\ntype = \"ah\"\nsecret = \"secret12\"\n"),
        }
        t
    }
}

/// Two nodes and a client on one LAN. Field order is drop order: daemons
/// first, the switch last.
struct Pair {
    setup: Setup,
    a: Node,
    b: Node,
    client: Netns,
    _lan: Lan,
}

impl Pair {
    fn new(setup: Setup) -> Pair {
        let mut lan = Lan::new();
        let (a, b, client) = match setup.family {
            Family::V4 => {
                let a = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
                let b = Node::new(&mut lan, "b", &["192.0.2.2/24"], "02:00:00:00:00:02");
                let client = Netns::new("vtc");
                lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
                client.ip(&["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
                (a, b, client)
            }
            Family::V6 => {
                let a = Node::new(&mut lan, "a", &[], "02:00:00:00:00:01");
                let b = Node::new(&mut lan, "b", &[], "02:00:00:00:00:02");
                let client = Netns::new("vtc");
                lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
                // Replace the kernel's EUI-64 link-local with fixed ones so
                // each daemon's advert source is, deterministically, the
                // address its peer lists in `unicast_peers`.
                for (ns, ll, global) in [
                    (&a.ns, "fe80::1/64", "2001:db8::1/64"),
                    (&b.ns, "fe80::2/64", "2001:db8::2/64"),
                    (&client, "fe80::a/64", "2001:db8::10/64"),
                ] {
                    ns.ip(&["-6", "addr", "flush", "dev", "eth0", "scope", "link"]);
                    ns.ip(&["addr", "add", ll, "dev", "eth0", "nodad"]);
                    ns.ip(&["addr", "add", global, "dev", "eth0", "nodad"]);
                }
                (a, b, client)
            }
        };
        a.write_group("web", &setup.group_toml(0));
        b.write_group("web", &setup.group_toml(1));
        Pair {
            setup,
            a,
            b,
            client,
            _lan: lan,
        }
    }

    fn logs(&self) -> String {
        format!(
            "\n----- node a log -----\n{}\n----- node b log -----\n{}",
            self.a.log_text(),
            self.b.log_text()
        )
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}{}", self.logs())
    }

    fn check(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    fn holds_all(node: &Node, vips: &[&str]) -> bool {
        let have = node.ns.addresses("eth0");
        vips.iter().all(|v| have.iter().any(|h| h == v))
    }

    fn holds_none(node: &Node, vips: &[&str]) -> bool {
        let have = node.ns.addresses("eth0");
        !vips.iter().any(|v| have.iter().any(|h| h == v))
    }

    /// `a` holds every VIP and `b` none.
    fn a_is_sole_holder(&self) -> bool {
        let vips = self.setup.vips();
        Self::holds_all(&self.a, &vips) && Self::holds_none(&self.b, &vips)
    }

    fn b_is_sole_holder(&self) -> bool {
        let vips = self.setup.vips();
        Self::holds_all(&self.b, &vips) && Self::holds_none(&self.a, &vips)
    }

    /// Start both daemons and wait for `a` to be the only holder within
    /// Master_Down_Interval plus a margin. Returns the time it took.
    fn elect(&mut self) -> Duration {
        let t0 = Instant::now();
        self.a.start();
        // b starts once a's group runs: process start-up jitter on a loaded
        // machine can exceed the 20 ms by which a's shorter Skew_Time wins
        // a simultaneous start, and then RFC 5798 itself lets b be master
        // until a's first advert arrives.
        let a_running = wait_until(Duration::from_secs(5), || {
            self.a.log_text().contains("group started")
        });
        self.check(a_running, "a's group never started");
        self.b.start();
        let limit = self.setup.master_down(150) + Duration::from_millis(1500);
        if !wait_until(limit, || self.a_is_sole_holder()) {
            self.fail(&format!(
                "{:?}: node a (150) was not the sole VIP holder within {limit:?}",
                self.setup
            ));
        }
        t0.elapsed()
    }

    /// Over `window`, no new state change on either node and `a` stays
    /// the sole holder (checked every few ms).
    fn assert_stable(&self, window: Duration, what: &str) {
        let before = (self.a.state_changes().len(), self.b.state_changes().len());
        let start = Instant::now();
        while start.elapsed() < window {
            self.check(
                self.a_is_sole_holder(),
                &format!("{what}: a stopped being the sole holder"),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let after = (self.a.state_changes().len(), self.b.state_changes().len());
        self.check(
            before == after,
            &format!("{what}: flapping: state changes {before:?} -> {after:?} over {window:?}"),
        );
    }

    fn assert_no_drops(&self, what: &str) {
        for n in [&self.a, &self.b] {
            self.check(
                !n.log_text().contains("dropped advert"),
                &format!("{what}: node {} dropped an advert from its peer", n.name),
            );
        }
    }

    /// `ping -c 3` from the client to `target` succeeds.
    fn client_reaches(&self, target: &str) -> bool {
        let mut c = self.client.cmd("ping");
        c.args(["-n", "-c", "3", "-i", "0.2", "-W", "1", target]);
        run(&mut c).map(|o| o.status.success()).unwrap_or(false)
    }

    /// SIGTERM the daemon of `node`, returning its exit status.
    fn sigterm(node: &mut Node, limit: Duration) -> Option<ExitStatus> {
        node.stop(libc::SIGTERM, limit)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---- 1. election -----------------------------------------------------------

fn pair_elects_one_master(setup: Setup) {
    let _serial = serial();
    let mut p = Pair::new(setup);
    let took = p.elect();
    eprintln!(
        "{setup:?}: a became sole holder {:.0} ms after start",
        ms(took)
    );
    // Steady state: at least 3 adverts with no flapping, while the client
    // reaches the VIP.
    let before = (p.a.state_changes().len(), p.b.state_changes().len());
    let window = setup.interval() * 3 + Duration::from_millis(150);
    let start = Instant::now();
    let target = setup.client_target();
    p.check(
        p.client_reaches(target),
        &format!("{setup:?}: client cannot reach the VIP {target}"),
    );
    if let Some(rest) = window.checked_sub(start.elapsed()) {
        p.assert_stable(rest, &format!("{setup:?} steady state"));
    }
    p.check(
        p.a_is_sole_holder(),
        &format!("{setup:?}: a not sole holder after the steady window"),
    );
    let after = (p.a.state_changes().len(), p.b.state_changes().len());
    p.check(
        before == after,
        &format!("{setup:?}: flapping: state changes {before:?} -> {after:?}"),
    );
    p.check(
        p.a.state_changes().iter().any(|l| l.contains("-> master")),
        &format!("{setup:?}: a never logged -> master"),
    );
    p.check(
        !p.b.state_changes().iter().any(|l| l.contains("-> master")),
        &format!("{setup:?}: b went master at some point"),
    );
    p.assert_no_drops(&format!("{setup:?}"));
    // The daemons are killed on drop: a clean stop of the last master waits
    // a Master_Down_Interval for a peer that is not there.
}

#[test]
fn pair_elects_one_master_v3_ipv4_multicast() {
    require_netns!();
    pair_elects_one_master(Setup::v3(Family::V4, false));
}

#[test]
fn pair_elects_one_master_v3_ipv4_unicast() {
    require_netns!();
    pair_elects_one_master(Setup::v3(Family::V4, true));
}

#[test]
fn pair_elects_one_master_v3_ipv6_multicast() {
    require_netns!();
    pair_elects_one_master(Setup::v3(Family::V6, false));
}

#[test]
fn pair_elects_one_master_v3_ipv6_unicast() {
    require_netns!();
    pair_elects_one_master(Setup::v3(Family::V6, true));
}

#[test]
fn pair_elects_one_master_v2_ipv4_multicast_pass() {
    require_netns!();
    pair_elects_one_master(Setup::v2(false, Auth::Pass));
}

#[test]
fn pair_elects_one_master_v2_ipv4_multicast_ah() {
    require_netns!();
    pair_elects_one_master(Setup::v2(false, Auth::Ah));
}

#[test]
fn pair_elects_one_master_v2_ipv4_unicast_ah() {
    require_netns!();
    pair_elects_one_master(Setup::v2(true, Auth::Ah));
}

// ---- 2. link cut -----------------------------------------------------------

#[test]
fn master_link_cut_moves_vips_within_master_down_interval() {
    require_netns!();
    let _serial = serial();
    let setup = Setup::v3(Family::V4, true);
    let mut p = Pair::new(setup);
    p.elect();
    p.assert_stable(Duration::from_millis(300), "before the cut");
    let vip = "192.0.2.100";
    let ping = Pinger::start(&p.client, vip, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));

    p.a.ns.ip(&["link", "set", "eth0", "down"]);
    let cut = Instant::now();
    let mdi = setup.master_down(100);
    let bound = mdi + Duration::from_millis(250);
    let moved = wait_until(Duration::from_secs(3), || p.b.holds(vip));
    let took = cut.elapsed();
    p.check(moved, "b never took the VIP after a's link cut");
    p.check(
        took <= bound,
        &format!(
            "b took the VIP {:.1} ms after the cut; bound {:.1} ms (MDI {:.1} ms + 250 ms)",
            ms(took),
            ms(bound),
            ms(mdi)
        ),
    );
    // a, in FAULT, has released its VIP (IPv4 addresses survive link down:
    // only the daemon removes it).
    let released = wait_until(Duration::from_secs(2), || !p.a.holds(vip));
    p.check(released, "a kept the VIP on its downed link");
    p.check(
        p.a.state_changes().iter().any(|l| l.contains("-> fault")),
        "a did not log -> fault after its link went down",
    );
    std::thread::sleep(Duration::from_millis(300));
    let stats = ping.stop();
    eprintln!(
        "link cut: b holds VIP after {:.1} ms (MDI {:.1} ms); client: sent {} lost {} max_gap {:.1} ms",
        ms(took),
        ms(mdi),
        stats.sent,
        stats.lost(),
        ms(stats.max_gap)
    );
    p.check(
        stats.received > 0,
        &format!("client got no replies at all: {stats:?}"),
    );

    // Link back: a goes backup, sees b's lower priority and preempts.
    p.a.ns.ip(&["link", "set", "eth0", "up"]);
    let up = Instant::now();
    let back = wait_until(Duration::from_secs(3), || p.a_is_sole_holder());
    p.check(back, "a did not preempt back after its link came up");
    eprintln!(
        "link up: a sole holder again after {:.1} ms",
        ms(up.elapsed())
    );
    p.assert_stable(Duration::from_millis(500), "after preemption back");
    p.check(
        p.a.log_text().contains("-> backup") || p.a.log_text().contains("fault -> "),
        "a never left fault",
    );
    p.assert_no_drops("link cut");
}

// ---- 3. SIGTERM --------------------------------------------------------------

fn sigterm_lossless(interval_ms: u64) {
    let mut setup = Setup::v3(Family::V4, true);
    setup.interval_ms = interval_ms;
    let mut p = Pair::new(setup);
    p.elect();
    p.assert_stable(Duration::from_millis(300), "before SIGTERM");
    let vip = "192.0.2.100";
    let ping = Pinger::start(&p.client, vip, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));

    // Poll both nodes (a first, then b: b acquires before a releases, so a
    // "both absent" reading is real) until the move is over.
    let done = AtomicBool::new(false);
    let absent = AtomicU64::new(0);
    let polls = AtomicU64::new(0);
    let (a_ns, b_ns) = (&p.a.ns, &p.b.ns);
    let limit = Duration::from_secs(3) + setup.master_down(100) * 2;
    let (status, took) = std::thread::scope(|s| {
        s.spawn(|| {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) && start.elapsed() < limit * 2 {
                let a_has = a_ns.has_address("eth0", vip);
                let b_has = b_ns.has_address("eth0", vip);
                if !a_has && !b_has {
                    absent.fetch_add(1, Ordering::Relaxed);
                }
                polls.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let t = Instant::now();
        let st = p.a.daemon.as_mut().and_then(|d| {
            d.signal(libc::SIGTERM);
            d.wait_timeout(limit)
        });
        let took = t.elapsed();
        std::thread::sleep(Duration::from_millis(200));
        done.store(true, Ordering::Relaxed);
        (st, took)
    });
    let (stats, replies) = ping.stop_with_replies();
    let outage = client_outage(&replies);
    eprintln!(
        "SIGTERM at {interval_ms} ms adverts: a exited after {:.1} ms; client: sent {} lost {} \
         (inside the run: {}) max_gap {:.1} ms, network gap {:.1} ms; VIP polls {} (absent from both: {})",
        ms(took),
        stats.sent,
        stats.lost(),
        outage.lost_inside,
        ms(stats.max_gap),
        ms(outage.gap),
        polls.load(Ordering::Relaxed),
        absent.load(Ordering::Relaxed)
    );
    match status {
        Some(st) => p.check(st.success(), &format!("a exited with {st} after SIGTERM")),
        None => p.fail(&format!("a did not exit within {limit:?} of SIGTERM")),
    }
    p.a.daemon = None;
    p.check(
        p.b_is_sole_holder(),
        "after SIGTERM b should hold the VIP and a none",
    );
    p.check(
        absent.load(Ordering::Relaxed) == 0,
        &format!(
            "the VIP was absent from both nodes in {} of {} polls",
            absent.load(Ordering::Relaxed),
            polls.load(Ordering::Relaxed)
        ),
    );
    p.check(
        stats.sent > 100 && stats.received > 0,
        &format!("the client barely pinged: {stats:?}"),
    );
    p.check(
        outage.lost_inside == 0 && stats.lost() <= 1,
        &format!(
            "client lost {} probes ({} between its first and last reply) during the SIGTERM release: {stats:?}",
            stats.lost(),
            outage.lost_inside
        ),
    );
    p.check(
        outage.gap <= Duration::from_millis(10),
        &format!(
            "client saw a {:.1} ms outage (> 10 ms) during the SIGTERM release: {stats:?}\n{}",
            ms(outage.gap),
            outage.around
        ),
    );
    p.check(
        p.b.state_changes().iter().any(|l| l.contains("-> master")),
        "b never logged -> master",
    );
    p.assert_no_drops("SIGTERM release");
}

#[test]
fn sigterm_on_master_is_lossless() {
    require_netns!();
    let _serial = serial();
    sigterm_lossless(100);
    sigterm_lossless(1000);
}

// ---- 4. priority 0 on the wire -----------------------------------------------

/// `tcpdump` in a namespace, its text output read back after SIGINT.
struct Capture {
    proc: Proc,
    out: std::path::PathBuf,
}

impl Capture {
    fn start(ns: &Netns, dev: &str) -> Capture {
        let out = std::env::temp_dir().join(format!("{}-tcpdump.txt", unique_name("cap")));
        let file = std::fs::File::create(&out).expect("create capture file");
        let mut c = ns.cmd("tcpdump");
        c.args(["-i", dev, "-n", "-l", "-c", "2000", "vrrp"])
            .stdout(file)
            .stderr(std::process::Stdio::null());
        Capture {
            proc: Proc::spawn(c),
            out,
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        self.proc.signal(libc::SIGINT);
        let _ = self.proc.wait_timeout(Duration::from_secs(3));
        self.text()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.out);
    }
}

fn prio0_from(text: &str, src: &str) -> bool {
    text.lines()
        .any(|l| l.contains(&format!("{src} > ")) && l.contains("prio 0,"))
}

#[test]
fn fault_releases_vips_and_sends_priority_zero() {
    require_netns!();
    let _serial = serial();
    let setup = Setup::v3(Family::V4, true);
    let mut p = Pair::new(setup);
    // a also tracks an interface with weight 0: down means FAULT. (A veth
    // pair inside a's namespace: this kernel has no dummy module.)
    p.a.ns.ip(&[
        "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
    ]);
    p.a.ns.ip(&["link", "set", "trk1", "up"]);
    p.a.ns.ip(&["link", "set", "trk0", "up"]);
    let mut toml = setup.group_toml(0);
    toml.push_str("\n[[track_interface]]\nname = \"trk0\"\nweight = 0\n");
    p.a.write_group("web", &toml);
    p.elect();
    let vip = "192.0.2.100";

    // FAULT through the tracked interface: priority 0 on eth0, VIP released.
    let cap = Capture::start(&p.b.ns, "eth0");
    let seen = wait_until(Duration::from_secs(3), || {
        cap.text().contains("192.0.2.1 > 192.0.2.2") && cap.text().contains("prio 150")
    });
    p.check(seen, "tcpdump in b saw no advert from a");
    p.a.ns.ip(&["link", "set", "trk0", "down"]);
    let moved = wait_until(Duration::from_secs(3), || p.b_is_sole_holder());
    std::thread::sleep(Duration::from_millis(200));
    let text = cap.stop();
    p.check(
        moved,
        "a tracked interface down: b should hold the VIP and a none",
    );
    p.check(
        p.a.state_changes().iter().any(|l| l.contains("-> fault")),
        "a did not log -> fault for its tracked interface",
    );
    p.check(
        prio0_from(&text, "192.0.2.1"),
        &format!("no priority-0 advert from a on FAULT; capture:\n{text}"),
    );

    // Back up: a preempts.
    p.a.ns.ip(&["link", "set", "trk0", "up"]);
    let back = wait_until(Duration::from_secs(3), || p.a_is_sole_holder());
    p.check(
        back,
        "a did not preempt back after its tracked link came up",
    );
    std::thread::sleep(Duration::from_millis(300));

    // SIGTERM: priority 0 again, then b takes over.
    let cap = Capture::start(&p.b.ns, "eth0");
    let seen = wait_until(Duration::from_secs(3), || cap.text().contains("prio 150"));
    p.check(seen, "tcpdump in b saw no advert from a before SIGTERM");
    let st = Pair::sigterm(&mut p.a, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    let text = cap.stop();
    p.check(
        st.is_some_and(|s| s.success()),
        &format!("a did not exit 0 on SIGTERM: {st:?}"),
    );
    p.check(
        prio0_from(&text, "192.0.2.1"),
        &format!("no priority-0 advert from a on SIGTERM; capture:\n{text}"),
    );
    p.check(!p.a.holds(vip), "a kept the VIP after exiting");
    p.check(p.b.holds(vip), "b does not hold the VIP after a's SIGTERM");
    p.assert_no_drops("priority zero");
}

#[test]
fn client_outage_tells_lost_and_late_probes_from_pinger_stalls() {
    let r = |at: f64, seq: u64, rtt_ms: f64| PingReply {
        at,
        seq,
        rtt: Duration::from_secs_f64(rtt_ms / 1000.0),
    };
    // The pinger stalled 30 ms between two consecutive prompt replies.
    let stall = [r(0.000, 1, 0.1), r(0.030, 2, 0.1), r(0.031, 3, 0.1)];
    let o = client_outage(&stall);
    assert_eq!((o.lost_inside, o.gap), (0, Duration::ZERO));
    // 20 probes lost: a 21 ms outage.
    let lost = [r(0.000, 1, 0.1), r(0.021, 22, 0.1)];
    let o = client_outage(&lost);
    assert_eq!(o.lost_inside, 20);
    assert!(ms(o.gap) > 20.0, "{:?}", o.gap);
    // Probes queued 15 ms (e.g. behind neighbour resolution), none lost.
    let late = [r(0.000, 1, 0.1), r(0.016, 2, 15.0), r(0.0161, 3, 14.0)];
    let o = client_outage(&late);
    assert_eq!(o.lost_inside, 0);
    assert!(ms(o.gap) > 15.0, "{:?}", o.gap);
}
