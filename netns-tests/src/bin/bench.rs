//! `cargo run --release -p netns-tests --bin bench -- [--quick] [...]`
//!
//! vrrpd and keepalived side by side in network namespaces (root only): a
//! master (priority 150) and a backup (100) with a client on one bridged LAN,
//! VRRPv3 unicast. Prints, for both implementations and their ratio:
//! - the outage a 1 ms ping client sees on a master link cut, a master
//!   SIGTERM, `vrrpd handover` and a full rolling upgrade, at 20 ms, 100 ms
//!   and 1 s adverts;
//! - CPU % and peak RSS of master and backup at 1, 50, 200 and 255 groups,
//!   at 100 ms and 20 ms adverts;
//! - the time from start to the first advert on the wire;
//!
//! with the targets of issue 7 beside the figures. Everything happens in
//! namespaces this process creates (removed on every exit path) on
//! documentation addresses only; every wait is bounded.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netns_tests::*;

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";
const CLIENT: &str = "192.0.2.10";
const PRIO_MASTER: u8 = 150;
const PRIO_BACKUP: u8 = 100;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The VIP of group `i` (1-based): one per group, documentation ranges only.
fn vip(i: u32) -> String {
    match i {
        1 => "192.0.2.100".into(),
        2..=254 => format!("198.51.100.{i}"),
        _ => format!("203.0.113.{}", i - 254),
    }
}

/// RFC 5798 §6.1 Master_Down_Interval for `prio` at `interval_ms`.
fn mdi_ms(interval_ms: u64, prio: u8) -> f64 {
    let i = interval_ms as f64;
    3.0 * i + (256.0 - prio as f64) * i / 256.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Vrrpd,
    Keepalived,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Vrrpd => "vrrpd",
            Impl::Keepalived => "keepalived",
        }
    }
}

// ---- one node: a namespace running vrrpd or keepalived ----------------------

/// What vrrpd's groups add to the plain v3 unicast group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Flavor {
    /// `[bfd]` 10 ms x 3 to the peer.
    bfd: bool,
    /// VRRPv2 with AH instead of v3.
    v2_ah: bool,
}

/// The daemon of one node, run by the lab's runner for it.
enum Daemon {
    Vrrpd(Node),
    Keepalived(Keepalived),
}

struct Host {
    flavor: Flavor,
    me: &'static str,
    peer: &'static str,
    prio: u8,
    daemon: Daemon,
    /// Length of the (appended) log when the daemon last started: what
    /// this run logged starts there.
    log_from: usize,
}

impl Host {
    fn new(lan: &mut Lan, imp: Impl, me: &'static str, peer: &'static str, prio: u8) -> Host {
        let mac = if me == A {
            "02:00:00:00:00:01"
        } else {
            "02:00:00:00:00:02"
        };
        let cidr = format!("{me}/24");
        let daemon = match imp {
            Impl::Vrrpd => Daemon::Vrrpd(Node::new(lan, me, &[&cidr], mac)),
            Impl::Keepalived => Daemon::Keepalived(Keepalived::new(lan, me, &[&cidr], mac)),
        };
        Host {
            flavor: Flavor::default(),
            me,
            peer,
            prio,
            daemon,
            log_from: 0,
        }
    }

    fn ns(&self) -> &Netns {
        match &self.daemon {
            Daemon::Vrrpd(n) => &n.ns,
            Daemon::Keepalived(k) => &k.ns,
        }
    }

    fn log_text(&self) -> String {
        match &self.daemon {
            Daemon::Vrrpd(n) => n.log_text(),
            Daemon::Keepalived(k) => k.log_text(),
        }
    }

    /// What the daemon logged since its last start.
    fn log(&self) -> String {
        let all = self.log_text();
        all.get(self.log_from..).unwrap_or_default().to_string()
    }

    /// Configure `groups` groups (VRIDs 1..=groups) at `interval_ms`.
    fn configure(&self, groups: u32, interval_ms: u64) {
        match &self.daemon {
            Daemon::Vrrpd(node) => {
                for g in 1..=groups {
                    let mut t = format!(
                        "vrid = {g}\ninterface = \"eth0\"\npriority = {}\nversion = {}\n\
                         advert_interval = \"{interval_ms}ms\"\nunicast_source = \"{}\"\n\
                         unicast_peers = [\"{}\"]\nvirtual_ips = [\"{}/24\"]\n",
                        self.prio,
                        if self.flavor.v2_ah { 2 } else { 3 },
                        self.me,
                        self.peer,
                        vip(g)
                    );
                    if self.flavor.v2_ah {
                        t.push_str("[auth]\ntype = \"ah\"\nsecret = \"secret12\"\n");
                    }
                    if self.flavor.bfd {
                        t.push_str("[bfd]\nmin_tx = \"10ms\"\nmin_rx = \"10ms\"\nmultiplier = 3\n");
                    }
                    node.write_group(&format!("g{g:03}"), &t);
                }
            }
            Daemon::Keepalived(ka) => {
                let mut t = format!(
                    "global_defs {{\n  router_id bench{}\n  vrrp_version 3\n}}\n",
                    self.prio
                );
                for g in 1..=groups {
                    let _ = write!(
                        t,
                        "vrrp_instance VI_{g} {{\n  state BACKUP\n  interface eth0\n  \
                         virtual_router_id {g}\n  priority {}\n  advert_int {}\n  \
                         unicast_src_ip {}\n  unicast_peer {{\n    {}\n  }}\n  \
                         virtual_ipaddress {{\n    {}/24\n  }}\n}}\n",
                        self.prio,
                        interval_ms as f64 / 1000.0,
                        self.me,
                        self.peer,
                        vip(g)
                    );
                }
                ka.write_config(&t);
            }
        }
    }

    fn start(&mut self) -> Instant {
        self.log_from = self.log_text().len();
        let t = Instant::now();
        match &mut self.daemon {
            Daemon::Vrrpd(n) => n.start(),
            Daemon::Keepalived(k) => k.start(),
        }
        t
    }

    /// SIGTERM and wait (bounded) for the exit.
    fn stop(&mut self, limit: Duration) -> bool {
        let st = match &mut self.daemon {
            Daemon::Vrrpd(n) if n.daemon.is_some() => n.stop(libc::SIGTERM, limit),
            Daemon::Keepalived(k) if k.daemon.is_some() => k.stop(libc::SIGTERM, limit),
            _ => return true,
        };
        // One that did not exit in time is killed: the next start must not
        // race it.
        match &mut self.daemon {
            Daemon::Vrrpd(n) => n.daemon = None,
            Daemon::Keepalived(k) => k.daemon = None,
        }
        st.is_some()
    }

    fn vip_count(&self) -> usize {
        self.ns()
            .addresses("eth0")
            .iter()
            .filter(|a| *a != self.me && !a.contains(':'))
            .count()
    }

    fn holds(&self, addr: &str) -> bool {
        self.ns().has_address("eth0", addr)
    }

    /// vrrpd's `status --json` without whitespace ("" when it does not
    /// answer, or for keepalived).
    fn status_compact(&self) -> String {
        let Daemon::Vrrpd(node) = &self.daemon else {
            return String::new();
        };
        let (code, out, _) = node.cli(&["status", "--json"]);
        if code < 0 {
            return String::new();
        }
        out.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Every group of this node reports backup.
    fn all_backup(&self, groups: u32) -> bool {
        match &self.daemon {
            Daemon::Vrrpd(_) => {
                self.status_compact()
                    .matches("\"state\":\"backup\"")
                    .count()
                    == groups as usize
            }
            Daemon::Keepalived(_) => {
                self.log().matches("Entering BACKUP STATE").count() >= groups as usize
            }
        }
    }

    /// vrrpd with `[bfd]`: whether its BFD session is Up.
    fn bfd_up(&self) -> bool {
        let s = self.status_compact();
        s.contains("\"bfd\":[{") && s.contains("\"state\":\"up\",\"remote_state\":\"up\"")
    }

    /// Processes of this node (vrrpd: one; keepalived: parent + children).
    fn pids(&self) -> Vec<i32> {
        let out = run(Command::new("ip").args(["netns", "pids", &self.ns().name]))
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// Master a, backup b, a client; drop order: daemons, client, switch.
struct Bed {
    a: Host,
    b: Host,
    client: Netns,
    _lan: Lan,
    interval_ms: u64,
    groups: u32,
}

impl Bed {
    fn new(imp: Impl, groups: u32, interval_ms: u64) -> Bed {
        Bed::with_flavor(imp, groups, interval_ms, Flavor::default())
    }

    fn with_flavor(imp: Impl, groups: u32, interval_ms: u64, flavor: Flavor) -> Bed {
        let mut lan = Lan::new();
        let mut a = Host::new(&mut lan, imp, A, B, PRIO_MASTER);
        let mut b = Host::new(&mut lan, imp, B, A, PRIO_BACKUP);
        a.flavor = flavor;
        b.flavor = flavor;
        let client = Netns::new("vbc");
        lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
        client.ip(&["addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"]);
        a.configure(groups, interval_ms);
        b.configure(groups, interval_ms);
        Bed {
            a,
            b,
            client,
            _lan: lan,
            interval_ms,
            groups,
        }
    }

    fn mdi(&self, prio: u8) -> Duration {
        Duration::from_secs_f64(mdi_ms(self.interval_ms, prio) / 1000.0)
    }

    /// Start both, wait until a holds every VIP, b none and b is backup.
    fn start_settled(&mut self) -> Result<(), String> {
        // a first, then b once a holds every VIP: no start-up election race
        // (both start as backup) on a loaded machine.
        self.a.start();
        let n = self.groups as usize;
        let limit = self.mdi(PRIO_MASTER) * 2 + Duration::from_secs(10);
        wait_until(limit, || interrupted() || self.a.vip_count() == n);
        self.b.start();
        self.settle()
    }

    fn settle(&self) -> Result<(), String> {
        let n = self.groups as usize;
        let limit = self.mdi(PRIO_BACKUP) * 2 + Duration::from_secs(10);
        let ok = wait_until(limit, || {
            interrupted() || (self.a.vip_count() == n && self.b.vip_count() == 0)
        });
        if !ok || interrupted() {
            return Err(format!(
                "no steady state: a holds {} VIPs, b {} (of {n})",
                self.a.vip_count(),
                self.b.vip_count()
            ));
        }
        let ok = wait_until(Duration::from_secs(5), || {
            interrupted() || self.b.all_backup(self.groups)
        });
        if !ok {
            return Err("b never reported backup".into());
        }
        // A few adverts in the steady state.
        std::thread::sleep(Duration::from_millis(200) + self.mdi(PRIO_MASTER) / 3);
        Ok(())
    }
}

// ---- the client's measure -------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct Outage {
    /// Longest silence the network caused (a probe lost or late around it).
    gap_ms: f64,
    /// Longest silence between any two replies.
    raw_ms: f64,
    /// Probes unanswered between the first and the last reply.
    lost: u64,
    /// Replies later than 10 ms (held in a queue while no one answered).
    late: u64,
}

fn outage_of(replies: &[PingReply]) -> Outage {
    let o = client_outage(replies);
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprint!("{}", o.around);
    }
    Outage {
        gap_ms: o.gap.as_secs_f64() * 1000.0,
        raw_ms: o.raw_gap.as_secs_f64() * 1000.0,
        lost: o.lost_inside,
        late: o.late,
    }
}

// ---- outage scenarios -------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    LinkCut,
    Sigterm,
    Handover,
    Rolling,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::LinkCut,
        Scenario::Sigterm,
        Scenario::Handover,
        Scenario::Rolling,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::LinkCut => "master link cut",
            Scenario::Sigterm => "master SIGTERM",
            Scenario::Handover => "vrrpd handover",
            Scenario::Rolling => "rolling upgrade",
        }
    }

    fn target(self, interval_ms: u64) -> String {
        match self {
            Scenario::LinkCut => format!("<= MDI+5 = {:.0} ms", mdi_ms(interval_ms, 100) + 5.0),
            Scenario::Sigterm | Scenario::Handover => "<= 2 ms".into(),
            Scenario::Rolling => "0 lost, 0 late".into(),
        }
    }

    fn met(self, interval_ms: u64, o: &Outage) -> bool {
        match self {
            Scenario::LinkCut => o.gap_ms <= mdi_ms(interval_ms, 100) + 5.0,
            Scenario::Sigterm | Scenario::Handover => o.gap_ms <= 2.0,
            Scenario::Rolling => o.lost == 0 && o.late == 0,
        }
    }
}

/// A vrrpd CLI command against a vrrpd node: (success, stdout + stderr).
fn vrrpd_cli(h: &Host, args: &[&str]) -> (bool, String) {
    match &h.daemon {
        Daemon::Vrrpd(node) => {
            let (code, out, err) = node.cli(args);
            (code == 0, format!("{out}{err}"))
        }
        Daemon::Keepalived(_) => (false, "keepalived has no vrrpd CLI".into()),
    }
}

/// Restart b (SIGTERM, start) and wait until it is backup again.
fn restart_backup(bed: &mut Bed) -> Result<(), String> {
    if !bed.b.stop(Duration::from_secs(10)) {
        return Err("backup did not exit on SIGTERM".into());
    }
    bed.b.start();
    let ok = wait_until(Duration::from_secs(10), || {
        interrupted() || bed.b.all_backup(bed.groups)
    });
    if !ok {
        return Err("restarted backup never reported backup".into());
    }
    // Let it hear a few adverts.
    std::thread::sleep(Duration::from_millis(100) + bed.mdi(PRIO_MASTER) / 3);
    if bed.b.vip_count() != 0 || bed.a.vip_count() != 1 {
        return Err("the VIP moved while the backup restarted".into());
    }
    Ok(())
}

/// Stop a's mastership (SIGTERM or handover) and wait until b holds the VIP.
fn move_to_b(bed: &mut Bed, handover: bool) -> Result<(), String> {
    let v = vip(1);
    if handover {
        let (ok, out) = vrrpd_cli(&bed.a, &["handover", "--timeout", "10s"]);
        if !ok {
            return Err(format!("handover failed: {out}"));
        }
    } else if !bed
        .a
        .stop(bed.mdi(PRIO_BACKUP) * 2 + Duration::from_secs(5))
    {
        return Err("master did not exit on SIGTERM".into());
    }
    let ok = wait_until(bed.mdi(PRIO_BACKUP) + Duration::from_secs(3), || {
        bed.b.holds(&v) && !bed.a.holds(&v)
    });
    if !ok {
        return Err("b never became the only holder".into());
    }
    Ok(())
}

fn run_outage(imp: Impl, sc: Scenario, interval_ms: u64) -> Result<Outage, String> {
    run_outage_with(imp, sc, interval_ms, Flavor::default())
}

fn run_outage_with(
    imp: Impl,
    sc: Scenario,
    interval_ms: u64,
    flavor: Flavor,
) -> Result<Outage, String> {
    let mut bed = Bed::with_flavor(imp, 1, interval_ms, flavor);
    bed.start_settled()?;
    // BFD starts slow (1 s, RFC 5880 §6.8.3): measure once it is Up, or a
    // cut before that is VRRP's alone.
    if flavor.bfd
        && !wait_until(Duration::from_secs(10), || {
            interrupted() || (bed.a.bfd_up() && bed.b.bfd_up())
        })
    {
        return Err("the BFD session never came up".into());
    }
    let v = vip(1);
    let ping = Pinger::start(&bed.client, &v, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    let res = (|| -> Result<(), String> {
        match sc {
            Scenario::LinkCut => {
                bed.a.ns().ip(&["link", "set", "eth0", "down"]);
                let ok = wait_until(bed.mdi(PRIO_BACKUP) + Duration::from_secs(3), || {
                    bed.b.holds(&v)
                });
                if !ok {
                    return Err("b never took the VIP".into());
                }
            }
            Scenario::Sigterm => move_to_b(&mut bed, false)?,
            Scenario::Handover => move_to_b(&mut bed, true)?,
            Scenario::Rolling => {
                restart_backup(&mut bed)?;
                move_to_b(&mut bed, imp == Impl::Vrrpd)?;
                // Restart the old master: it comes back and preempts.
                if imp == Impl::Vrrpd {
                    bed.a.stop(Duration::from_secs(10));
                }
                bed.a.start();
                let ok = wait_until(bed.mdi(PRIO_MASTER) * 2 + Duration::from_secs(5), || {
                    bed.a.holds(&v) && !bed.b.holds(&v)
                });
                if !ok {
                    return Err("the restarted old master did not take the VIP back".into());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    })();
    let (stats, replies) = ping.stop_with_replies();
    res?;
    if stats.received < 100 {
        return Err(format!("the client barely got replies: {stats:?}"));
    }
    Ok(outage_of(&replies))
}

// ---- BFD ----------------------------------------------------------------------

/// Max and median link-cut gap over `repeat` runs, or the error.
fn link_cut_gaps(imp: Impl, flavor: Flavor, repeat: usize) -> Result<(f64, f64), String> {
    let mut gaps = Vec::new();
    for r in 0..repeat {
        if interrupted() {
            break;
        }
        let o = run_outage_with(imp, Scenario::LinkCut, 1000, flavor)?;
        eprintln!(
            "  {} link cut 1 s {flavor:?} run {}: gap {:.1} ms lost {}",
            imp.name(),
            r + 1,
            o.gap_ms,
            o.lost
        );
        gaps.push(o.gap_ms);
    }
    Ok((max(&gaps), median(&mut gaps)))
}

/// Takeovers by BFD on an idle LAN over `secs`: each one is false.
fn bfd_soak(secs: u64) -> Result<usize, String> {
    let flavor = Flavor {
        bfd: true,
        v2_ah: false,
    };
    let mut bed = Bed::with_flavor(Impl::Vrrpd, 1, 1000, flavor);
    bed.start_settled()?;
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end && !interrupted() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = bed.b.log();
    Ok(log.matches("reason=bfd_peer_down").count())
}

fn bfd_section(opts: &Opts, impls: &[Impl]) -> String {
    let mut t = String::new();
    let bfd = Flavor {
        bfd: true,
        v2_ah: false,
    };
    let bfd_ah = Flavor {
        bfd: true,
        v2_ah: true,
    };
    let cell = |r: Result<(f64, f64), String>| match r {
        Ok((mx, md)) => format!("{} / {}", fmt_ms(mx), fmt_ms(md)),
        Err(e) => format!("error: {e}"),
    };
    let _ = writeln!(
        t,
        "\n## BFD-assisted detection (10 ms x 3), master link cut at 1 s adverts: client gap max / median (ms) over {} runs\n",
        opts.repeat
    );
    let _ = writeln!(t, "| measure | vrrpd | keepalived 2.2.7 | target |");
    let _ = writeln!(t, "|---|---|---|---|");
    let v3 = cell(link_cut_gaps(Impl::Vrrpd, bfd, opts.repeat));
    let _ = writeln!(t, "| link cut, v3 unicast + BFD | {v3} | n/a | <= 50 ms |");
    let ah = cell(link_cut_gaps(Impl::Vrrpd, bfd_ah, opts.repeat));
    let _ = writeln!(t, "| link cut, v2 AH + BFD | {ah} | n/a | <= 50 ms |");
    let plain = cell(link_cut_gaps(Impl::Vrrpd, Flavor::default(), opts.repeat));
    let ka = if impls.contains(&Impl::Keepalived) {
        cell(link_cut_gaps(
            Impl::Keepalived,
            Flavor::default(),
            opts.repeat,
        ))
    } else {
        "n/a".into()
    };
    let _ = writeln!(
        t,
        "| link cut, protocol alone (no BFD) | {plain} | {ka} | ~3.6 s |"
    );
    // CPU of 200 groups at 100 ms sharing one BFD session, against none.
    let fp = |f: Flavor| {
        run_footprint_with(Impl::Vrrpd, 200, 100, opts.window, opts.warmup, f)
            .map(|p| (p.cpu_master, p.cpu_backup))
    };
    match (fp(Flavor::default()), fp(bfd)) {
        (Ok(plain), Ok(with)) => {
            let _ = writeln!(
                t,
                "| CPU, 200 groups at 100 ms, master / backup | {:.2} % / {:.2} % with BFD, {:.2} % / {:.2} % without (+{:.2} / +{:.2} points) | | within +1 % |",
                with.0,
                with.1,
                plain.0,
                plain.1,
                with.0 - plain.0,
                with.1 - plain.1
            );
        }
        (a, b) => {
            let _ = writeln!(t, "| CPU, 200 groups | error: {a:?} {b:?} | | |");
        }
    }
    let soak = if opts.quick { 20 } else { 120 };
    match bfd_soak(soak) {
        Ok(n) => {
            let _ = writeln!(
                t,
                "| false takeovers, idle LAN, {soak} s at 10 ms x 3 | {n} | | 0 |"
            );
        }
        Err(e) => {
            let _ = writeln!(t, "| false takeovers | error: {e} | | |");
        }
    }
    t
}

// ---- footprint ----------------------------------------------------------------

fn clock_ticks() -> f64 {
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of a process, in ticks (all its threads).
fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of comm: state is field 3; utime 14, stime 15.
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// VmHWM of a process in KiB.
fn hwm_kib(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[derive(Clone, Copy, Debug, Default)]
struct Footprint {
    /// The VIPs stayed on the master throughout the window.
    stable: bool,
    cpu_master: f64,
    cpu_backup: f64,
    rss_master_kib: u64,
    rss_backup_kib: u64,
}

fn run_footprint(
    imp: Impl,
    groups: u32,
    interval_ms: u64,
    window: Duration,
    warmup: Duration,
) -> Result<Footprint, String> {
    run_footprint_with(imp, groups, interval_ms, window, warmup, Flavor::default())
}

fn run_footprint_with(
    imp: Impl,
    groups: u32,
    interval_ms: u64,
    window: Duration,
    warmup: Duration,
    flavor: Flavor,
) -> Result<Footprint, String> {
    let mut bed = Bed::with_flavor(imp, groups, interval_ms, flavor);
    bed.start_settled()?;
    std::thread::sleep(warmup);
    let (pa, pb) = (bed.a.pids(), bed.b.pids());
    if pa.is_empty() || pb.is_empty() {
        return Err("no daemon process".into());
    }
    let sum = |p: &[i32]| p.iter().map(|&p| cpu_ticks(p)).sum::<u64>();
    let (a0, b0) = (sum(&pa), sum(&pb));
    let t0 = Instant::now();
    let end = t0 + window;
    while Instant::now() < end && !interrupted() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (a1, b1) = (sum(&pa), sum(&pb));
    let secs = t0.elapsed().as_secs_f64();
    let stable = bed.a.vip_count() == groups as usize && bed.b.vip_count() == 0;
    let pct = |d: u64| d as f64 / clock_ticks() / secs * 100.0;
    Ok(Footprint {
        stable,
        cpu_master: pct(a1.saturating_sub(a0)),
        cpu_backup: pct(b1.saturating_sub(b0)),
        rss_master_kib: pa.iter().map(|&p| hwm_kib(p)).sum(),
        rss_backup_kib: pb.iter().map(|&p| hwm_kib(p)).sum(),
    })
}

// ---- time to first advert ------------------------------------------------------

/// Start a (priority 150) alone; time until b's namespace receives its first
/// VRRP packet from a (a raw protocol-112 socket in b's namespace).
fn run_first_advert(imp: Impl, interval_ms: u64) -> Result<f64, String> {
    let mut bed = Bed::new(imp, 1, interval_ms);
    let limit = Duration::from_secs_f64(mdi_ms(interval_ms, PRIO_MASTER) / 1000.0 + 5.0);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let listener = bed.b.ns().spawn_in(move || -> Result<Instant, String> {
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, 112) };
        if fd < 0 {
            return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
        }
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        let _ = tx.send(());
        let start = Instant::now();
        let mut buf = [0u8; 2048];
        let res = loop {
            if start.elapsed() > limit || interrupted() {
                break Err("no advert seen".to_string());
            }
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            // IPv4 header source is bytes 12..16.
            if n >= 20 && buf[12..16] == [192, 0, 2, 1] {
                break Ok(Instant::now());
            }
        };
        unsafe { libc::close(fd) };
        res
    });
    let _ = rx.recv_timeout(Duration::from_secs(5));
    let t0 = bed.a.start();
    let seen = listener
        .join()
        .map_err(|_| "listener panicked".to_string())??;
    Ok(seen.duration_since(t0).as_secs_f64() * 1000.0)
}

// ---- statistics and the table ----------------------------------------------------

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::NAN, f64::max)
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[derive(clap::Parser)]
#[command(
    name = "bench",
    about = "vrrpd and keepalived side by side in network namespaces (root only)"
)]
struct Args {
    /// One repeat, 3 s windows, short warm-up: a smoke run.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run.
    #[arg(long, value_delimiter = ',', default_value = "outage,bfd,footprint,first-advert",
          value_parser = ["outage", "bfd", "footprint", "first-advert"])]
    scenario: Vec<String>,
    /// Implementations to measure.
    #[arg(
        long = "impl",
        value_delimiter = ',',
        default_value = "vrrpd,keepalived"
    )]
    impls: Vec<ImplArg>,
    /// Runs of each outage case (default 3, 1 with --quick).
    #[arg(long)]
    repeat: Option<usize>,
    /// Seconds of each footprint window (default 10, 3 with --quick).
    #[arg(long)]
    window: Option<f64>,
    /// Advert intervals in ms (outage and footprint).
    #[arg(long, value_delimiter = ',')]
    intervals: Option<Vec<u64>>,
    /// Group counts for the footprint (1..=255).
    #[arg(long, value_delimiter = ',', default_value = "1,50,200,255",
          value_parser = clap::value_parser!(u32).range(1..=255))]
    groups: Vec<u32>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImplArg {
    Vrrpd,
    Keepalived,
}

struct Opts {
    quick: bool,
    repeat: usize,
    window: Duration,
    warmup: Duration,
    intervals: Vec<u64>,
    fp_intervals: Vec<u64>,
    groups: Vec<u32>,
    scenarios: Vec<String>,
    impls: Vec<Impl>,
}

fn parse_opts() -> Opts {
    let a = <Args as clap::Parser>::parse();
    let (repeat, window, warmup) = if a.quick {
        (1, Duration::from_secs(3), Duration::from_millis(500))
    } else {
        // Past keepalived's second gratuitous ARP burst (garp_master_delay
        // 5 s after becoming master): the steady state.
        (3, Duration::from_secs(10), Duration::from_secs(6))
    };
    Opts {
        quick: a.quick,
        repeat: a.repeat.unwrap_or(repeat),
        window: a.window.map(Duration::from_secs_f64).unwrap_or(window),
        warmup,
        intervals: a.intervals.clone().unwrap_or_else(|| vec![20, 100, 1000]),
        fp_intervals: a.intervals.unwrap_or_else(|| vec![100, 20]),
        groups: a.groups,
        scenarios: a.scenario,
        impls: a
            .impls
            .into_iter()
            .map(|i| match i {
                ImplArg::Vrrpd => Impl::Vrrpd,
                ImplArg::Keepalived => Impl::Keepalived,
            })
            .collect(),
    }
}

/// Build target/release/vrrpd unless VRRPD_BIN names one (under `cargo run`
/// the workspace is known).
fn ensure_vrrpd_built() {
    if std::env::var_os("VRRPD_BIN").is_some() {
        return;
    }
    let (Some(cargo), Some(dir)) = (std::env::var_os("CARGO"), option_env!("CARGO_MANIFEST_DIR"))
    else {
        return;
    };
    eprintln!("bench: cargo build --release --bin vrrpd");
    let st = Command::new(cargo)
        .args(["build", "--release", "-p", "vrrpd", "--bin", "vrrpd"])
        .current_dir(PathBuf::from(dir).join(".."))
        .status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!("bench: building vrrpd failed");
        std::process::exit(1);
    }
}

fn fmt_ms(v: f64) -> String {
    if !v.is_finite() {
        "fail".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn main() {
    let opts = parse_opts();
    if !netns_available("bench") {
        std::process::exit(1);
    }
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as usize);
        libc::signal(libc::SIGTERM, on_sigint as *const () as usize);
    }
    ensure_vrrpd_built();
    let has_ka = Command::new("keepalived")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    let impls: Vec<Impl> = opts
        .impls
        .iter()
        .copied()
        .filter(|&i| i == Impl::Vrrpd || has_ka)
        .collect();
    if impls.len() < opts.impls.len() {
        eprintln!("bench: keepalived not found; vrrpd only");
    }
    let started = Instant::now();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# vrrpd vs keepalived — VRRPv3 unicast, master prio 150, backup 100, 1 ms ping client\n\
         # vrrpd: {}   mode: {}   repeats: {}   load at start: {}",
        vrrpd_binary().display(),
        if opts.quick { "quick" } else { "full" },
        opts.repeat,
        uptime()
    );
    eprintln!("{out}");
    let want = |s: &str| opts.scenarios.iter().any(|x| x == s || x == "all");

    // -- outage
    if want("outage") {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\n## Outage seen by a 1 ms ping client (ms). gap = longest silence between replies with a probe lost or late \
             (> 10 ms) inside it, max / median over runs; raw = longest silence of any kind (includes the pinger not \
             being scheduled), max; lost / late = probes unanswered / answered after > 10 ms, max over runs\n"
        );
        let _ = writeln!(
            t,
            "| scenario | advert | vrrpd gap | raw | lost/late | keepalived gap | raw | lost/late | ratio (gap max) | target | vrrpd | keepalived |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|---|");
        for sc in Scenario::ALL {
            for &iv in &opts.intervals {
                // (gap max, gap median, raw max, lost, late, verdict)
                let mut cells: Vec<(f64, f64, f64, u64, u64, String)> = Vec::new();
                for &imp in &[Impl::Vrrpd, Impl::Keepalived] {
                    if !impls.contains(&imp) || (sc == Scenario::Handover && imp != Impl::Vrrpd) {
                        cells.push((f64::NAN, f64::NAN, f64::NAN, 0, 0, "n/a".into()));
                        continue;
                    }
                    let mut gaps = Vec::new();
                    let mut raws = Vec::new();
                    let (mut lost, mut late) = (0, 0);
                    let mut met = true;
                    let mut err = String::new();
                    for r in 0..opts.repeat {
                        if interrupted() {
                            break;
                        }
                        match run_outage(imp, sc, iv) {
                            Ok(o) => {
                                eprintln!(
                                    "  {} {} {iv} ms run {}: gap {:.1} ms (raw {:.1}) lost {} late {}",
                                    imp.name(),
                                    sc.name(),
                                    r + 1,
                                    o.gap_ms,
                                    o.raw_ms,
                                    o.lost,
                                    o.late
                                );
                                gaps.push(o.gap_ms);
                                raws.push(o.raw_ms);
                                lost = lost.max(o.lost);
                                late = late.max(o.late);
                                met &= sc.met(iv, &o);
                            }
                            Err(e) => {
                                eprintln!("  {} {} {iv} ms: FAILED: {e}", imp.name(), sc.name());
                                err = e;
                                met = false;
                            }
                        }
                    }
                    let complete = gaps.len() == opts.repeat;
                    let mx = if complete { max(&gaps) } else { f64::NAN };
                    let rmx = if complete { max(&raws) } else { f64::NAN };
                    let md = median(&mut gaps);
                    let verdict = if !err.is_empty() {
                        "error".to_string()
                    } else if met {
                        "met".into()
                    } else {
                        "missed".into()
                    };
                    cells.push((mx, md, rmx, lost, late, verdict));
                }
                let cell = |c: &(f64, f64, f64, u64, u64, String)| {
                    if c.5 == "n/a" {
                        ("n/a".to_string(), "".to_string(), "".to_string())
                    } else {
                        (
                            format!("{} / {}", fmt_ms(c.0), fmt_ms(c.1)),
                            fmt_ms(c.2),
                            format!("{}/{}", c.3, c.4),
                        )
                    }
                };
                let (v, k) = (&cells[0], &cells[1]);
                let (vg, vr, vl) = cell(v);
                let (kg, kr, kl) = cell(k);
                let _ = writeln!(
                    t,
                    "| {} | {} ms | {vg} | {vr} | {vl} | {kg} | {kr} | {kl} | {} | {} | {} | {} |",
                    sc.name(),
                    iv,
                    ratio(v.0, k.0),
                    sc.target(iv),
                    v.5,
                    k.5
                );
            }
        }
        eprintln!("{t}");
        out.push_str(&t);
    }

    // -- BFD-assisted detection
    if want("bfd") && !interrupted() {
        let t = bfd_section(&opts, &impls);
        eprintln!("{t}");
        out.push_str(&t);
    }

    // -- footprint
    eprintln!(
        "bench: outage done at {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if want("footprint") && !interrupted() {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\n## CPU (% of one core, utime+stime over {:.0} s) and peak RSS (VmHWM, MiB; keepalived: sum of its processes)\n",
            opts.window.as_secs_f64()
        );
        let _ = writeln!(
            t,
            "| groups | advert | vrrpd CPU m / b | keepalived CPU m / b | ratio m / b | vrrpd RSS m / b | keepalived RSS m / b | ratio m / b | note |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
        let mut target_rows = Vec::new();
        for &iv in &opts.fp_intervals {
            for &g in &opts.groups {
                let mut res: Vec<Option<Footprint>> = Vec::new();
                for &imp in &[Impl::Vrrpd, Impl::Keepalived] {
                    if !impls.contains(&imp) || interrupted() {
                        res.push(None);
                        continue;
                    }
                    match run_footprint(imp, g, iv, opts.window, opts.warmup) {
                        Ok(f) => {
                            eprintln!(
                                "  {} {g} groups {iv} ms: cpu {:.2} / {:.2} %, rss {} / {} KiB",
                                imp.name(),
                                f.cpu_master,
                                f.cpu_backup,
                                f.rss_master_kib,
                                f.rss_backup_kib
                            );
                            res.push(Some(f));
                        }
                        Err(e) => {
                            eprintln!("  {} {g} groups {iv} ms: FAILED: {e}", imp.name());
                            res.push(None);
                        }
                    }
                }
                let nan = Footprint {
                    stable: true,
                    cpu_master: f64::NAN,
                    cpu_backup: f64::NAN,
                    rss_master_kib: 0,
                    rss_backup_kib: 0,
                };
                let v = res[0].unwrap_or(nan);
                let k = res[1].unwrap_or(nan);
                let mark = |imp: Impl, f: &Option<Footprint>| match f {
                    Some(f) if !f.stable => " VIPs moved during the window",
                    Some(_) => "",
                    None if interrupted() || !impls.contains(&imp) => "",
                    None => " never settled (VIPs flapping)",
                };
                let marks = [
                    ("vrrpd", mark(Impl::Vrrpd, &res[0])),
                    ("keepalived", mark(Impl::Keepalived, &res[1])),
                ]
                .iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(n, m)| format!("{n}:{m}"))
                .collect::<Vec<_>>()
                .join("; ");
                let mib = |x: u64| {
                    if x == 0 { f64::NAN } else { x as f64 / 1024.0 }
                };
                let f2 = |x: f64| {
                    if x.is_finite() {
                        format!("{x:.2}")
                    } else {
                        "-".into()
                    }
                };
                let f1 = |x: f64| {
                    if x.is_finite() {
                        format!("{x:.1}")
                    } else {
                        "-".into()
                    }
                };
                let _ = writeln!(
                    t,
                    "| {g} | {iv} ms | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {marks} |",
                    f2(v.cpu_master),
                    f2(v.cpu_backup),
                    f2(k.cpu_master),
                    f2(k.cpu_backup),
                    ratio(v.cpu_master, k.cpu_master),
                    ratio(v.cpu_backup, k.cpu_backup),
                    f1(mib(v.rss_master_kib)),
                    f1(mib(v.rss_backup_kib)),
                    f1(mib(k.rss_master_kib)),
                    f1(mib(k.rss_backup_kib)),
                    ratio(mib(v.rss_master_kib), mib(k.rss_master_kib)),
                    ratio(mib(v.rss_backup_kib), mib(k.rss_backup_kib)),
                );
                if g == 200 && iv == 100 {
                    target_rows.push((v, k));
                }
            }
        }
        for (v, k) in target_rows {
            let ok = |a: f64, b: f64| {
                if a.is_finite() && b.is_finite() {
                    if a <= b / 2.0 { "met" } else { "missed" }
                } else {
                    "-"
                }
            };
            let _ = writeln!(
                t,
                "\nTarget, 200 groups at 100 ms: CPU <= half of keepalived's on master ({}) and backup ({}); \
                 RSS <= half of keepalived's: master {}, backup {}.",
                ok(v.cpu_master, k.cpu_master),
                ok(v.cpu_backup, k.cpu_backup),
                ok(v.rss_master_kib as f64, k.rss_master_kib as f64),
                ok(v.rss_backup_kib as f64, k.rss_backup_kib as f64),
            );
        }
        eprintln!("{t}");
        out.push_str(&t);
    }

    // -- first advert
    eprintln!(
        "bench: footprint done at {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if want("first-advert") && !interrupted() {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\n## Start to first advert on the wire (ms), master started alone in backup state (so it waits its Master_Down_Interval first; overhead = time - MDI)\n"
        );
        let _ = writeln!(
            t,
            "| advert | MDI (prio 150) | vrrpd | overhead | keepalived | overhead | ratio (overhead) |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|");
        for &iv in &opts.intervals {
            let mdi = mdi_ms(iv, PRIO_MASTER);
            let mut r = Vec::new();
            for &imp in &[Impl::Vrrpd, Impl::Keepalived] {
                if !impls.contains(&imp) || interrupted() {
                    r.push(f64::NAN);
                    continue;
                }
                let mut v = Vec::new();
                for _ in 0..opts.repeat {
                    match run_first_advert(imp, iv) {
                        Ok(ms) => v.push(ms),
                        Err(e) => eprintln!("  {} first advert {iv} ms: FAILED: {e}", imp.name()),
                    }
                }
                let m = median(&mut v);
                eprintln!("  {} first advert {iv} ms: {m:.1} ms", imp.name());
                r.push(m);
            }
            let _ = writeln!(
                t,
                "| {iv} ms | {:.1} | {} | {} | {} | {} | {} |",
                mdi,
                fmt_ms(r[0]),
                fmt_ms(r[0] - mdi),
                fmt_ms(r[1]),
                fmt_ms(r[1] - mdi),
                ratio(r[0] - mdi, r[1] - mdi)
            );
        }
        eprintln!("{t}");
        out.push_str(&t);
    }

    let _ = writeln!(
        out,
        "\n# finished in {:.0} s; load at end: {}{}",
        started.elapsed().as_secs_f64(),
        uptime(),
        if interrupted() { " (INTERRUPTED)" } else { "" }
    );
    println!("{out}");
}
