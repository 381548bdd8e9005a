//! `vrrpd demo`: a master/backup pair and a client in network namespaces
//! made for the occasion, showing election, a link-cut failover with the
//! outage a client sees, preemption back, and a lossless release on SIGTERM.
//! Everything it creates is removed when it ends, however it ends.

use std::time::{Duration, Instant};

use vrrpd_lab::{Lan, Netns, Node, PingStats, Pinger, netns_available, wait_until};

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

/// The state-change lines `node`'s daemon logged since `from` bytes of its
/// log, labelled with the node's name; and the log's length now.
fn transitions(node: &Node, from: usize) -> (Vec<String>, usize) {
    let text = node.log_text();
    let lines = text
        .get(from..)
        .unwrap_or("")
        .lines()
        .filter(|l| l.contains("state change ") && l.contains(" -> "))
        .map(|l| {
            let tail = l.split("state change").nth(1).unwrap_or(l);
            format!("  {:>6}: state change{tail}", node.name)
        })
        .collect();
    (lines, text.len())
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
        // Each node gets its own config directory and control socket (they
        // share this host's filesystem); both go when the node is dropped.
        let node = Node::new(&mut lan, name, &[&format!("{addr}/24")], mac);
        node.write_group("web", &group_file(prio, addr, peer));
        node.write_daemon_config(&format!("router_id = {name:?}\n"));
        nodes.push(node);
    }
    say("vrrpd demo: two proxies lb-a (priority 150) and lb-b (priority 100), one client,");
    say(&format!(
        "            VRRPv3 unicast, adverts every {INTERVAL}, VIP {VIP}, in private network namespaces.\n"
    ));
    let mut offsets = [0usize; 2];
    let mut show = |nodes: &[Node]| {
        for (i, n) in nodes.iter().enumerate() {
            let (lines, off) = transitions(n, offsets[i]);
            offsets[i] = off;
            for l in lines {
                println!("{l}");
            }
        }
    };

    say("1. Election: both daemons start as backup; the higher priority wins.");
    for n in nodes.iter_mut() {
        n.start();
    }
    if !wait_until(Duration::from_secs(5), || {
        nodes[0].holds(VIP) && !nodes[1].holds(VIP)
    }) {
        show(&nodes);
        return Err("lb-a did not become the only VIP holder within 5 s".into());
    }
    std::thread::sleep(Duration::from_millis(300));
    show(&nodes);
    say("   -> lb-a holds the VIP. `vrrpd status` on lb-a:");
    print!("{}", indent(&nodes[0].cli(&["status"]).1));
    say("");

    say("2. Failover: cut lb-a's link while the client pings the VIP every millisecond.");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(500));
    nodes[0].ns.ip(&["link", "set", "eth0", "down"]);
    let cut = Instant::now();
    let moved = wait_until(Duration::from_secs(5), || nodes[1].holds(VIP));
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
        nodes[0].holds(VIP) && !nodes[1].holds(VIP)
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
    let (code, out, err) = nodes[0].cli(&["handover", "--timeout", "5s"]);
    std::thread::sleep(Duration::from_millis(300));
    let stats = ping.stop();
    show(&nodes);
    print!("{}", indent(&out));
    let handed = nodes[1].holds(VIP) && !nodes[0].holds(VIP);
    if code != 0 || !handed {
        return Err(format!("handover failed (exit {code}): {err}"));
    }
    report("handover", &stats);
    say("   `vrrpd status` on lb-a (it stays backup: no preemption back after a handover):");
    print!("{}", indent(&nodes[0].cli(&["status"]).1));
    say("");

    say("5. Stop: SIGTERM to lb-b (a container stop); lb-a takes over the same way.");
    let ping = Pinger::start(&client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    nodes[1].signal(libc::SIGTERM);
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
    let back = nodes[0].holds(VIP) && !nodes[1].holds(VIP);
    if !back {
        return Err("after the release lb-a should hold the VIP alone".into());
    }
    report("SIGTERM release", &stats);
    say("");

    nodes[0].stop(libc::SIGTERM, Duration::from_secs(5));
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
