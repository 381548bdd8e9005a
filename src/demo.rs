//! `vrrpd demo`: a master/backup pair and a client in network namespaces
//! made for the occasion, showing election, a link-cut failover with the
//! outage a client sees, preemption back, and a lossless release on SIGTERM.
//! Everything it creates is removed when it ends, however it ends.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::lab::{Lan, Netns, PingStats, Pinger, Proc, netns_available, wait_until};

const VIP: &str = "192.0.2.100";
const INTERVAL: &str = "100ms";

/// The embedded default pair: one group file per node.
fn group_file(priority: u8, me: &str, peer: &str) -> String {
    format!(
        r#"# vrrpd demo: unicast VRRPv3, {INTERVAL} adverts
vrid = 51
interface = "eth0"
priority = {priority}
advert_interval = "{INTERVAL}"
unicast_source = "{me}"
unicast_peers = ["{peer}"]
virtual_ips = ["{VIP}/24"]
"#
    )
}

struct Node {
    name: &'static str,
    ns: Netns,
    dir: PathBuf,
    daemon: Option<Proc>,
}

impl Node {
    fn start(&mut self, exe: &Path) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("vrrpd.log"))
            .map_err(|e| format!("log file: {e}"))?;
        let mut c = self.ns.cmd(&exe.to_string_lossy());
        c.args(["run", "--config"])
            .arg(&self.dir)
            .env("VRRPD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        self.daemon = Some(Proc::spawn(c));
        Ok(())
    }

    fn holds_vip(&self) -> bool {
        self.ns.has_address("eth0", VIP)
    }

    /// The state-change lines this node's daemon logged since `from` bytes.
    fn transitions(&self, from: usize) -> (Vec<String>, usize) {
        let text = std::fs::read_to_string(self.dir.join("vrrpd.log")).unwrap_or_default();
        let lines = text
            .get(from..)
            .unwrap_or("")
            .lines()
            .filter(|l| l.contains("state change ") && l.contains(" -> "))
            .map(|l| {
                let tail = l.split("state change").nth(1).unwrap_or(l);
                format!("  {:>6}: state change{tail}", self.name)
            })
            .collect();
        (lines, text.len())
    }
}

/// Run `vrrpd ARGS --socket <node's socket>`: (exit code, stdout, stderr).
fn cli(exe: &Path, node: &Node, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(exe)
        .args(args)
        .arg("--socket")
        .arg(node.dir.join("vrrpd.sock"))
        .output();
    match out {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (-1, String::new(), e.to_string()),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("     {l}\n")).collect()
}

fn say(s: &str) {
    println!("{s}");
}

fn report(label: &str, s: &PingStats) {
    println!(
        "  client: {} probes sent, {} lost, longest gap between replies {:.1} ms  [{label}]",
        s.sent,
        s.lost(),
        s.max_gap.as_secs_f64() * 1000.0
    );
}

pub fn run() -> Result<(), String> {
    if !netns_available("vrrpd demo") {
        return Err("the demo creates network namespaces: run it as root".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let work = std::env::temp_dir().join(format!("vrrpd-demo-{}", std::process::id()));
    let result = demo(&exe, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn demo(exe: &Path, work: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut lan = Lan::new();
    let client = Netns::new("vdc");
    lan.attach(&client, "eth0", None);
    client.ip(&["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    let mut nodes = Vec::new();
    for (name, addr, peer, prio, mac) in [
        ("lb-a", "192.0.2.1", "192.0.2.2", 150, "02:00:00:00:00:01"),
        ("lb-b", "192.0.2.2", "192.0.2.1", 100, "02:00:00:00:00:02"),
    ] {
        let ns = Netns::new("vdn");
        lan.attach(&ns, "eth0", Some(mac));
        ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        let dir = work.join(name);
        std::fs::create_dir_all(dir.join("groups.d")).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("groups.d/web.toml"), group_file(prio, addr, peer))
            .map_err(|e| e.to_string())?;
        // Both daemons share this host's filesystem: one control socket each.
        let sock = dir.join("vrrpd.sock");
        std::fs::write(
            dir.join("vrrpd.toml"),
            format!(
                "router_id = {name:?}\ncontrol_socket = {:?}\n",
                sock.display().to_string()
            ),
        )
        .map_err(|e| e.to_string())?;
        nodes.push(Node {
            name,
            ns,
            dir,
            daemon: None,
        });
    }
    say("vrrpd demo: two proxies lb-a (priority 150) and lb-b (priority 100), one client,");
    say(&format!(
        "            VRRPv3 unicast, adverts every {INTERVAL}, VIP {VIP}, in private network namespaces.\n"
    ));
    let mut offsets = [0usize; 2];
    let mut show = |nodes: &[Node]| {
        for (i, n) in nodes.iter().enumerate() {
            let (lines, off) = n.transitions(offsets[i]);
            offsets[i] = off;
            for l in lines {
                println!("{l}");
            }
        }
    };

    say("1. Election: both daemons start as backup; the higher priority wins.");
    for n in nodes.iter_mut() {
        n.start(exe)?;
    }
    if !wait_until(Duration::from_secs(5), || {
        nodes[0].holds_vip() && !nodes[1].holds_vip()
    }) {
        show(&nodes);
        return Err("lb-a did not become the only VIP holder within 5 s".into());
    }
    std::thread::sleep(Duration::from_millis(300));
    show(&nodes);
    say("   -> lb-a holds the VIP. `vrrpd status` on lb-a:");
    print!("{}", indent(&cli(exe, &nodes[0], &["status"]).1));
    say("");

    say("2. Failover: cut lb-a's link while the client pings the VIP every millisecond.");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(500));
    nodes[0].ns.ip(&["link", "set", "eth0", "down"]);
    let cut = Instant::now();
    let moved = wait_until(Duration::from_secs(5), || nodes[1].holds_vip());
    let took = cut.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let stats = ping.stop();
    show(&nodes);
    if !moved {
        return Err("lb-b did not take the VIP within 5 s".into());
    }
    say(&format!(
        "   -> lb-b holds the VIP {:.0} ms after the cut (Master_Down_Interval at 100 ms adverts, priority 100: 360.9 ms).",
        took.as_secs_f64() * 1000.0
    ));
    report("link cut", &stats);
    say("");

    say("3. Recovery: lb-a's link comes back; it preempts (higher priority).");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    nodes[0].ns.ip(&["link", "set", "eth0", "up"]);
    let back = wait_until(Duration::from_secs(5), || {
        nodes[0].holds_vip() && !nodes[1].holds_vip()
    });
    std::thread::sleep(Duration::from_millis(300));
    let stats = ping.stop();
    show(&nodes);
    if !back {
        return Err("lb-a did not take the VIP back within 5 s".into());
    }
    report("preemption back", &stats);
    say("");

    say("4. Planned move: `vrrpd handover` on lb-a (step 2 of a rolling upgrade).");
    say("   lb-a advertises priority 0 but serves the VIP until it sees lb-b as master.");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    let (code, out, err) = cli(exe, &nodes[0], &["handover", "--timeout", "5s"]);
    std::thread::sleep(Duration::from_millis(300));
    let stats = ping.stop();
    show(&nodes);
    print!("{}", indent(&out));
    if code != 0 || !nodes[1].holds_vip() || nodes[0].holds_vip() {
        return Err(format!("handover failed (exit {code}): {err}"));
    }
    report("handover", &stats);
    say("   `vrrpd status` on lb-a (it stays backup: no preemption back after a handover):");
    print!("{}", indent(&cli(exe, &nodes[0], &["status"]).1));
    say("");

    say("5. Stop: SIGTERM to lb-b (a container stop); lb-a takes over the same way.");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    if let Some(d) = nodes[1].daemon.as_ref() {
        d.signal(libc::SIGTERM);
    }
    let status = nodes[1]
        .daemon
        .as_mut()
        .and_then(|d| d.wait_timeout(Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(300));
    let stats = ping.stop();
    show(&nodes);
    match status {
        Some(st) => say(&format!(
            "   -> lb-b exited ({st}), its VIP removed; lb-a is master."
        )),
        None => return Err("lb-b did not exit within 5 s of SIGTERM".into()),
    }
    if !nodes[0].holds_vip() || nodes[1].holds_vip() {
        return Err("after the release lb-a should hold the VIP alone".into());
    }
    report("SIGTERM release", &stats);
    say("");

    if let Some(d) = nodes[0].daemon.as_mut() {
        d.signal(libc::SIGTERM);
        let _ = d.wait_timeout(Duration::from_secs(5));
    }
    say(&format!(
        "Done in {:.1} s. Namespaces, links and addresses are removed now.",
        started.elapsed().as_secs_f64()
    ));
    // Namespaces and processes go with their guards.
    drop(nodes);
    drop(client);
    drop(lan);
    Ok(())
}
