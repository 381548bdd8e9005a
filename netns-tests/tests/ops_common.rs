//! Shared by the `ops_*` tests (each includes it with `#[path]`): a pair of
//! real daemons a (150) and b (100) with a client on one LAN, VRRPv3 unicast
//! at 100 ms, and helpers to read `vrrpd status --json`, the logs and a
//! client's outage. Compiled on its own it has no tests.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netns_tests::*;

pub const VIP: &str = "192.0.2.100";
pub const A: &str = "192.0.2.1";
pub const B: &str = "192.0.2.2";
pub const CLIENT: &str = "192.0.2.10";

/// One test of a file at a time; a panicking test must not poison the others.
pub fn lock(m: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A v3 unicast group file on `iface` (100 ms adverts).
pub fn group_on(
    vrid: u8,
    iface: &str,
    prio: u8,
    me: &str,
    peer: &str,
    vip: &str,
    extra: &str,
) -> String {
    format!(
        "vrid = {vrid}\ninterface = \"{iface}\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"100ms\"\nunicast_source = \"{me}\"\nunicast_peers = [\"{peer}\"]\n\
         virtual_ips = [\"{vip}/24\"]\n{extra}"
    )
}

pub fn group(vrid: u8, prio: u8, me: &str, peer: &str, vip: &str, extra: &str) -> String {
    group_on(vrid, "eth0", prio, me, peer, vip, extra)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every node's log, for a failing assertion's message.
pub fn logs(nodes: &[&Node]) -> String {
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
pub fn changes(n: &Node, group: &str) -> Vec<String> {
    let tag = format!("group={group} ");
    n.state_changes()
        .into_iter()
        .filter(|l| l.contains(&tag))
        .collect()
}

/// `vrrpd status --json` of a node, parsed; `None` if it did not answer
/// with JSON.
pub fn status(n: &Node) -> Option<serde_json::Value> {
    let (_, out, _) = n.cli(&["status", "--json"]);
    serde_json::from_str(&out).ok()
}

/// The status of one group of a node.
pub fn group_status(n: &Node, group: &str) -> Option<serde_json::Value> {
    let s = status(n)?;
    s["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == group)
        .cloned()
}

/// A group's state word from `status --json` ("" when unknown).
pub fn state_of(n: &Node, group: &str) -> String {
    group_status(n, group)
        .and_then(|g| g["state"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// a (150) and b (100) and a client on one LAN. Fields drop in order: the
/// daemons, the client, then the LAN.
pub struct Pair {
    pub a: Node,
    pub b: Node,
    pub client: Netns,
    pub lan: Lan,
}

impl Pair {
    /// Build the pair, write group "web" (VRID 51) on both, let `prepare`
    /// adjust the nodes, then start a and b and wait until a is the only
    /// holder and b is backup.
    pub fn start(prepare: impl FnOnce(&mut Node, &mut Node)) -> Pair {
        let mut p = Pair::build();
        p.a.write_group("web", &group(51, 150, A, B, VIP, ""));
        p.b.write_group("web", &group(51, 100, B, A, VIP, ""));
        prepare(&mut p.a, &mut p.b);
        p.a.start();
        p.b.start();
        p.settle("start");
        p
    }

    /// The namespaces and LAN only, nothing written or started.
    pub fn build() -> Pair {
        let mut lan = Lan::new();
        let a = Node::new(&mut lan, "a", &[&format!("{A}/24")], "02:00:00:00:00:01");
        let b = Node::new(&mut lan, "b", &[&format!("{B}/24")], "02:00:00:00:00:02");
        let client = Netns::new("vtc");
        lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
        client.ip(&["addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"]);
        Pair { a, b, client, lan }
    }

    /// Wait (bounded) for a to be the only VIP holder, master, and b backup.
    pub fn settle(&self, what: &str) {
        let ok = wait_until(Duration::from_secs(5), || {
            self.a.holds(VIP) && !self.b.holds(VIP)
        });
        self.check(ok, &format!("{what}: a never became the only VIP holder"));
        let ok = wait_until(Duration::from_secs(3), || {
            state_of(&self.a, "web") == "master" && state_of(&self.b, "web") == "backup"
        });
        self.check(ok, &format!("{what}: status is not a master / b backup"));
    }

    pub fn logs(&self) -> String {
        logs(&[&self.a, &self.b])
    }

    pub fn fail(&self, what: &str) -> ! {
        panic!("{what}{}", self.logs())
    }

    pub fn check(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    /// Over `window`, `holder` keeps the VIP and the other node never has it.
    pub fn assert_holder(&self, holder: &Node, other: &Node, window: Duration, what: &str) {
        let start = Instant::now();
        while start.elapsed() < window {
            self.check(
                holder.holds(VIP) && !other.holds(VIP),
                &format!(
                    "{what}: expected only {} to hold {VIP} (after {:?})",
                    holder.name,
                    start.elapsed()
                ),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
