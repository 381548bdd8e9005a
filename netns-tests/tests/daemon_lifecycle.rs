//! The daemon's life cycle with real processes in namespaces (SPEC §2.3, §4):
//! crash and restart, excluded VIPs, operator interference, reloads and an
//! interface that appears late. VRRPv3 unicast, 100 ms adverts, priorities
//! 150 (a) and 100 (b) unless a test says otherwise.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const VIP: &str = "192.0.2.100";
const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn group(vrid: u8, prio: u8, me: &str, peer: &str, vip: &str, extra: &str) -> String {
    format!(
        r#"vrid = {vrid}
interface = "eth0"
priority = {prio}
advert_interval = "100ms"
unicast_source = "{me}"
unicast_peers = ["{peer}"]
virtual_ips = ["{vip}/24"]
{extra}"#
    )
}

fn web(prio: u8, me: &str, peer: &str) -> String {
    group(51, prio, me, peer, VIP, "")
}

/// Every node's log, for a failing assertion's message.
fn logs(nodes: &[&Node]) -> String {
    let mut s = String::new();
    for n in nodes {
        s.push_str(&format!(
            "\n----- log of {} -----\n{}",
            n.name,
            n.log_text()
        ));
    }
    s
}

/// State-change lines of one group.
fn changes(n: &Node, group: &str) -> Vec<String> {
    let tag = format!("group={group} ");
    n.state_changes()
        .into_iter()
        .filter(|l| l.contains(&tag))
        .collect()
}

/// Lines of a node's log containing `what`.
fn count(n: &Node, what: &str) -> usize {
    n.log_text().lines().filter(|l| l.contains(what)).count()
}

/// a (150) and b (100) on one LAN with group "web" (VRID 51), both running,
/// a the only VIP holder. Fields drop in order: the nodes, then the LAN.
struct Pair {
    a: Node,
    b: Node,
    _lan: Lan,
}

impl Pair {
    fn new() -> Pair {
        Pair::with(|_, _| {})
    }

    /// Like `new`, with a hook to add to the nodes before the daemons start.
    fn with(prepare: impl FnOnce(&mut Node, &mut Node)) -> Pair {
        let mut lan = Lan::new();
        let mut a = Node::new(&mut lan, "a", &[&format!("{A}/24")], "02:00:00:00:00:01");
        let mut b = Node::new(&mut lan, "b", &[&format!("{B}/24")], "02:00:00:00:00:02");
        a.write_group("web", &web(150, A, B));
        b.write_group("web", &web(100, B, A));
        prepare(&mut a, &mut b);
        a.start();
        b.start();
        let p = Pair { a, b, _lan: lan };
        let ok = wait_until(Duration::from_secs(5), || p.a.holds(VIP) && !p.b.holds(VIP));
        assert!(ok, "a never became the only VIP holder{}", p.logs());
        // Let b settle as backup.
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            p.a.holds(VIP) && !p.b.holds(VIP),
            "no stable pair{}",
            p.logs()
        );
        p
    }

    fn logs(&self) -> String {
        logs(&[&self.a, &self.b])
    }
}

/// Watch for `limit`: the VIP never held by both, and by exactly one of the
/// two at the end. Returns a description of the first violation.
fn never_both(p: &Pair, vip: &str, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    let mut polls = 0u32;
    while start.elapsed() < limit {
        polls += 1;
        let (a, b) = (p.a.holds(vip), p.b.holds(vip));
        if a && b {
            return Err(format!(
                "both hold {vip} {:?} after convergence",
                start.elapsed()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (a, b) = (p.a.holds(vip), p.b.holds(vip));
    if a == b {
        return Err(format!("after {polls} polls: a holds {a}, b holds {b}"));
    }
    Ok(())
}

#[test]
fn kill_9_then_restart_removes_stale_vips_and_converges() {
    require_netns!();
    let _g = serial();
    let mut p = Pair::new();
    p.a.signal(libc::SIGKILL);
    let st =
        p.a.daemon
            .as_mut()
            .and_then(|d| d.wait_timeout(Duration::from_secs(5)));
    assert!(st.is_some(), "SIGKILL did not end a{}", p.logs());
    p.a.daemon = None;
    assert!(
        p.a.holds(VIP),
        "a SIGKILLed daemon cannot clean up: its VIP should still be on eth0{}",
        p.logs()
    );
    let t0 = Instant::now();
    let took_over = wait_until(Duration::from_secs(3), || p.b.holds(VIP));
    let takeover = t0.elapsed();
    assert!(
        took_over,
        "b did not take over from the killed a{}",
        p.logs()
    );
    assert!(
        p.a.holds(VIP),
        "the stale VIP vanished from a with no daemon there{}",
        p.logs()
    );
    let mark = p.a.log_text().len();
    p.a.start();
    let t1 = Instant::now();
    let converged = wait_until(Duration::from_secs(5), || {
        p.a.holds(VIP) && !p.b.holds(VIP) && p.a.log_text().len() > mark
    });
    let convergence = t1.elapsed();
    let after = p.a.log_text().get(mark..).unwrap_or("").to_string();
    assert!(
        converged,
        "after the restart a did not preempt back alone{}",
        p.logs()
    );
    assert!(
        after
            .lines()
            .any(|l| l.contains("removed stale VIP") && l.contains(VIP)),
        "the restarted a did not log removing the stale VIP{}",
        p.logs()
    );
    let stale_removed_before_start = after.find("removed stale VIP") < after.find("group started");
    assert!(
        stale_removed_before_start,
        "stale VIP must be removed before the group starts{}",
        p.logs()
    );
    if let Err(e) = never_both(&p, VIP, Duration::from_millis(1000)) {
        panic!("{e}{}", p.logs());
    }
    eprintln!(
        "kill -9: b took over in {:.0} ms; restarted a converged in {:.0} ms",
        takeover.as_secs_f64() * 1e3,
        convergence.as_secs_f64() * 1e3
    );
}

/// `tcpdump -v -n -l vrrp` inside a namespace, written to a file.
struct Capture {
    proc: Proc,
    out: PathBuf,
    err: PathBuf,
}

impl Capture {
    fn start(ns: &Netns, dev: &str) -> Capture {
        let out = std::env::temp_dir().join(unique_name("vrrpd-cap-"));
        let err = out.with_extension("err");
        let mut c = ns.cmd("tcpdump");
        c.args(["-i", dev, "-v", "-n", "-l", "vrrp"])
            .stdout(std::fs::File::create(&out).expect("capture file"))
            .stderr(std::fs::File::create(&err).expect("capture err file"));
        let cap = Capture {
            proc: Proc::spawn(c),
            out,
            err,
        };
        let ready = wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&cap.err)
                .unwrap_or_default()
                .contains("listening on")
        });
        assert!(ready, "tcpdump did not start");
        cap
    }

    fn stop(mut self) -> String {
        self.proc.signal(libc::SIGINT);
        let _ = self.proc.wait_timeout(Duration::from_secs(5));
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
    }
}

#[test]
fn excluded_vips_move_with_the_group_and_are_never_advertised() {
    require_netns!();
    let _g = serial();
    const PUBLIC: &str = "203.0.113.10";
    let excluded =
        format!("excluded_ips = [{{ address = \"{PUBLIC}/24\", interface = \"eth1\" }}]\n");
    let mut public = Lan::new();
    let p = Pair::with(|a, b| {
        for (n, mac, own) in [
            (&*a, "02:00:00:00:01:01", "203.0.113.1/24"),
            (&*b, "02:00:00:00:01:02", "203.0.113.2/24"),
        ] {
            public.attach(&n.ns, "eth1", Some(mac));
            n.ns.ip(&["addr", "add", own, "dev", "eth1"]);
        }
        a.write_group("web", &group(51, 150, A, B, VIP, &excluded));
        b.write_group("web", &group(51, 100, B, A, VIP, &excluded));
    });
    let held = |n: &Node| (n.holds(VIP), n.ns.has_address("eth1", PUBLIC));
    let ok = wait_until(Duration::from_secs(2), || {
        held(&p.a) == (true, true) && held(&p.b) == (false, false)
    });
    assert!(
        ok,
        "master a should hold both VIPs, b none: a {:?}, b {:?}{}",
        held(&p.a),
        held(&p.b),
        p.logs()
    );
    // b sees a's adverts to it and its own to a.
    let cap = Capture::start(&p.b.ns, "eth0");
    std::thread::sleep(Duration::from_millis(400));
    p.a.ns.ip(&["link", "set", "eth0", "down"]);
    let moved = wait_until(Duration::from_secs(3), || {
        held(&p.b) == (true, true) && held(&p.a) == (false, false)
    });
    std::thread::sleep(Duration::from_millis(400));
    let text = cap.stop();
    assert!(
        moved,
        "after the link cut b should hold both VIPs and a none: a {:?}, b {:?}{}",
        held(&p.a),
        held(&p.b),
        p.logs()
    );
    let adverts: Vec<&str> = text.lines().filter(|l| l.contains("vrid 51")).collect();
    let from = |src: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("{src} > ")))
            .count()
    };
    assert!(
        from(A) >= 2 && from(B) >= 2,
        "expected adverts from a then b in the capture ({} from a, {} from b):\n{text}{}",
        from(A),
        from(B),
        p.logs()
    );
    let listing: Vec<&str> = text.lines().filter(|l| l.contains("addrs")).collect();
    assert!(
        listing.len() >= adverts.len()
            && listing
                .iter()
                .all(|l| l.trim_end().ends_with(&format!("addrs: {VIP}"))),
        "every advert must list exactly {VIP}:\n{text}"
    );
    assert!(
        !text.contains(PUBLIC),
        "the excluded {PUBLIC} was advertised:\n{text}"
    );
    eprintln!(
        "excluded: {} adverts captured ({} from a, {} from b), none listing {PUBLIC}",
        adverts.len(),
        from(A),
        from(B)
    );
}

#[test]
fn vip_deleted_by_operator_is_readded() {
    require_netns!();
    let _g = serial();
    let p = Pair::new();
    let (ca, cb) = (changes(&p.a, "web"), changes(&p.b, "web"));
    p.a.ns
        .ip(&["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
    let t0 = Instant::now();
    let back = wait_until(Duration::from_millis(1500), || p.a.holds(VIP));
    let took = t0.elapsed();
    assert!(
        back,
        "the deleted VIP was not re-added within 1.5 s{}",
        p.logs()
    );
    assert!(
        took < Duration::from_millis(1000),
        "re-adding took {took:?}{}",
        p.logs()
    );
    let logged = wait_until(Duration::from_secs(1), || {
        count(&p.a, "re-adding") > 0 && count(&p.a, VIP) > 0
    });
    assert!(logged, "a did not log re-adding the VIP{}", p.logs());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!p.b.holds(VIP), "b took the VIP{}", p.logs());
    assert_eq!(
        (changes(&p.a, "web"), changes(&p.b, "web")),
        (ca, cb),
        "re-adding a VIP must not change state{}",
        p.logs()
    );
    eprintln!(
        "operator delete: VIP back after {:.1} ms",
        took.as_secs_f64() * 1e3
    );
}

/// Poll every 5 ms for `limit` that `n` holds `vip`; the first miss.
fn held_throughout(n: &Node, vip: &str, limit: Duration) -> Result<u32, Duration> {
    let start = Instant::now();
    let mut polls = 0;
    while start.elapsed() < limit {
        if !n.holds(vip) {
            return Err(start.elapsed());
        }
        polls += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(polls)
}

#[test]
fn sighup_with_unchanged_config_keeps_mastership() {
    require_netns!();
    let _g = serial();
    let p = Pair::new();
    let (ca, cb) = (changes(&p.a, "web"), changes(&p.b, "web"));
    p.a.signal(libc::SIGHUP);
    let held = held_throughout(&p.a, VIP, Duration::from_millis(1000));
    assert!(
        held.is_ok(),
        "a lost the VIP {:?} after SIGHUP{}",
        held,
        p.logs()
    );
    assert_eq!(
        count(&p.a, "reloading configuration"),
        1,
        "no reload in the log{}",
        p.logs()
    );
    assert!(p.a.holds(VIP) && !p.b.holds(VIP), "{}", p.logs());
    assert_eq!(
        (changes(&p.a, "web"), changes(&p.b, "web")),
        (ca, cb),
        "an unchanged reload changed state{}",
        p.logs()
    );
    assert_eq!(
        count(&p.a, "stopping it"),
        0,
        "an unchanged group was restarted{}",
        p.logs()
    );
}

#[test]
fn sighup_with_broken_config_keeps_running_on_old_config() {
    require_netns!();
    let _g = serial();
    let mut p = Pair::new();
    let (ca, cb) = (changes(&p.a, "web"), changes(&p.b, "web"));
    let good = web(150, A, B);
    let broken = good.replace("priority = 150", "priority = 300");
    assert_ne!(good, broken);
    p.a.write_group("web", &broken);
    p.a.signal(libc::SIGHUP);
    let file = p.a.dir.join("groups.d").join("web.toml");
    let pos = format!("{}:3:12:", file.display());
    let logged = wait_until(Duration::from_secs(2), || {
        p.a.log_text()
            .lines()
            .any(|l| l.contains("rejected") && l.contains(&pos) && l.contains("priority"))
    });
    assert!(logged, "no rejection naming {pos} in the log{}", p.logs());
    let held = held_throughout(&p.a, VIP, Duration::from_millis(500));
    assert!(
        held.is_ok() && p.a.running(),
        "a after a rejected reload: VIP {held:?}, running {}{}",
        p.a.running(),
        p.logs()
    );
    p.a.write_group("web", &good);
    p.a.signal(libc::SIGHUP);
    let reloaded = wait_until(Duration::from_secs(2), || {
        count(&p.a, "reloading configuration") == 2
    });
    assert!(reloaded, "second reload not logged{}", p.logs());
    let held = held_throughout(&p.a, VIP, Duration::from_millis(500));
    assert!(
        held.is_ok() && p.a.running() && !p.b.holds(VIP),
        "a after the fixed reload: VIP {held:?}{}",
        p.logs()
    );
    assert_eq!(count(&p.a, "rejected"), 1, "{}", p.logs());
    assert_eq!(
        (changes(&p.a, "web"), changes(&p.b, "web")),
        (ca, cb),
        "reloads changed state{}",
        p.logs()
    );
}

#[test]
fn sighup_adding_and_removing_groups() {
    require_netns!();
    let _g = serial();
    const VIP2: &str = "192.0.2.200";
    let p = Pair::new();
    let (ca, cb) = (changes(&p.a, "web"), changes(&p.b, "web"));
    p.a.write_group("api", &group(52, 150, A, B, VIP2, ""));
    p.b.write_group("api", &group(52, 100, B, A, VIP2, ""));
    p.b.signal(libc::SIGHUP);
    p.a.signal(libc::SIGHUP);
    let up = wait_until(Duration::from_secs(3), || {
        p.a.holds(VIP2) && !p.b.holds(VIP2) && !changes(&p.b, "api").is_empty()
    });
    assert!(up, "the added group did not elect a{}", p.logs());
    assert!(
        count(&p.a, "group started") >= 2,
        "no start of the new group logged{}",
        p.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(p.a.holds(VIP2) && !p.b.holds(VIP2), "{}", p.logs());
    // Remove it from the backup first: a master leaving sends priority 0,
    // which a backup still running the group would answer by taking over.
    p.b.remove_group("api");
    p.b.signal(libc::SIGHUP);
    let b_done = wait_until(Duration::from_secs(2), || count(&p.b, "stopping it") >= 1);
    assert!(b_done, "b did not stop the removed group{}", p.logs());
    p.a.remove_group("api");
    p.a.signal(libc::SIGHUP);
    let gone = wait_until(Duration::from_secs(2), || !p.a.holds(VIP2));
    assert!(gone, "the removed group's VIP stayed on a{}", p.logs());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !p.a.holds(VIP2) && !p.b.holds(VIP2),
        "a removed group's VIP came back{}",
        p.logs()
    );
    assert!(p.a.holds(VIP) && !p.b.holds(VIP), "{}", p.logs());
    assert_eq!(
        (changes(&p.a, "web"), changes(&p.b, "web")),
        (ca, cb),
        "adding/removing another group changed group web{}",
        p.logs()
    );
}

#[test]
fn start_with_missing_interface_waits_in_fault_then_starts() {
    require_netns!();
    let _g = serial();
    const NET: &str = "198.51.100";
    let vip = format!("{NET}.100");
    let mut lan = Lan::new();
    // b runs the group alone on the LAN a's eth9 will join.
    let mut b = Node::new(
        &mut lan,
        "b",
        &[&format!("{NET}.2/24")],
        "02:00:00:00:00:02",
    );
    let mut other = Lan::new();
    let mut a = Node::new(&mut other, "a", &[&format!("{A}/24")], "02:00:00:00:00:01");
    let cfg = |iface: &str, prio: u8, peer: &str| {
        format!(
            "vrid = 51\ninterface = \"{iface}\"\npriority = {prio}\nadvert_interval = \"100ms\"\n\
             unicast_peers = [\"{peer}\"]\nvirtual_ips = [\"{vip}/24\"]\n"
        )
    };
    b.write_group("web", &cfg("eth0", 100, &format!("{NET}.1")));
    a.write_group("web", &cfg("eth9", 150, &format!("{NET}.2")));
    b.start();
    let b_master = wait_until(Duration::from_secs(3), || b.holds(&vip));
    assert!(b_master, "b alone did not become master{}", logs(&[&a, &b]));
    a.start();
    let warned = wait_until(Duration::from_secs(3), || count(&a, "eth9") > 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        warned && a.running(),
        "a should run and warn about eth9 (running {}){}",
        a.running(),
        logs(&[&a, &b])
    );
    assert!(
        count(&a, "waits in fault") > 0 || count(&a, "waits in FAULT") > 0,
        "no FAULT wait logged{}",
        logs(&[&a, &b])
    );
    assert_eq!(
        count(&a, "group started"),
        0,
        "a started a group without its interface{}",
        logs(&[&a, &b])
    );
    assert!(b.holds(&vip), "{}", logs(&[&a, &b]));
    lan.attach(&a.ns, "eth9", Some("02:00:00:00:09:01"));
    a.ns.ip(&["addr", "add", &format!("{NET}.1/24"), "dev", "eth9"]);
    let t0 = Instant::now();
    let elected = wait_until(Duration::from_secs(5), || {
        a.ns.has_address("eth9", &vip) && !b.holds(&vip)
    });
    let took = t0.elapsed();
    assert!(
        elected,
        "a did not start on the new eth9 and preempt b{}",
        logs(&[&a, &b])
    );
    assert!(count(&a, "group started") == 1, "{}", logs(&[&a, &b]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        a.ns.has_address("eth9", &vip) && !b.holds(&vip),
        "not stable after the election{}",
        logs(&[&a, &b])
    );
    eprintln!(
        "late interface: a master {:.0} ms after eth9 got its address",
        took.as_secs_f64() * 1e3
    );
}
