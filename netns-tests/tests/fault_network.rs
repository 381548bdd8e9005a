//! Network faults under a running pair (issue 8): a partition (nft dropping
//! protocol 112) and its healing, SIGSTOP of the master past
//! Master_Down_Interval, the interface deleted and re-created, the primary
//! address changed, and a netlink overrun under address churn. Each ends
//! with one master, the VIPs on it alone, no flapping, no panic.
//!
//! Pair: a (150) and b (100), VRRPv3 unicast at 100 ms (ops_common.rs), so
//! Master_Down_Interval is 300 ms + skew (≈ 361 ms for b, 341 ms for a).

#[path = "ops_common.rs"]
mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Master_Down_Interval of b (priority 100) at 100 ms adverts.
const MDI_B: Duration = Duration::from_millis(361);

fn nft(n: &Node, script: &str) {
    let mut c = n.ns.cmd("nft");
    c.args(["-f", "-"]);
    c.stdin(std::process::Stdio::piped());
    let mut child = c.spawn().expect("nft");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft {script}");
}

const PARTITION: &str = "add table inet vrrpd_fault\n\
    add chain inet vrrpd_fault in { type filter hook input priority 0; }\n\
    add rule inet vrrpd_fault in ip protocol 112 drop\n";

fn heal(n: &Node) {
    nft(n, "delete table inet vrrpd_fault\n");
}

/// Over `window`: a master with the VIP, b backup without it, and no state
/// change line on either node.
fn assert_stable(p: &Pair, window: Duration, what: &str) {
    let before = (p.a.state_changes().len(), p.b.state_changes().len());
    p.assert_holder(&p.a, &p.b, window, what);
    let after = (p.a.state_changes().len(), p.b.state_changes().len());
    p.check(
        before == after,
        &format!("{what}: flapping: state changes {before:?} -> {after:?}"),
    );
    p.check(
        state_of(&p.a, "web") == "master" && state_of(&p.b, "web") == "backup",
        &format!("{what}: not a master / b backup"),
    );
}

fn no_panic(p: &Pair) {
    p.check(
        !p.a.log_text().contains("panicked") && !p.b.log_text().contains("panicked"),
        "a daemon panicked",
    );
}

#[test]
fn fault_partition_both_ways_then_heal_converges_within_master_down() {
    if !netns_available("fault_partition_both_ways_then_heal_converges_within_master_down") {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::start(|_, _| {});
    // Partition: neither node hears the other; b takes over (split brain
    // is what a partition means).
    nft(&p.a, PARTITION);
    nft(&p.b, PARTITION);
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.b, "web") == "master" && p.b.holds(VIP)
    });
    p.check(ok, "b did not take over during the partition");
    p.check(
        state_of(&p.a, "web") == "master",
        "a left master during the partition",
    );
    std::thread::sleep(Duration::from_millis(500));
    let healed = Instant::now();
    heal(&p.a);
    heal(&p.b);
    let ok = wait_until(MDI_B + Duration::from_millis(300), || {
        state_of(&p.b, "web") == "backup" && !p.b.holds(VIP) && p.a.holds(VIP)
    });
    let took = healed.elapsed();
    eprintln!("one master again {took:?} after healing (Master_Down_Interval {MDI_B:?})");
    p.check(
        ok,
        "no single master within Master_Down_Interval of healing",
    );
    assert_stable(&p, Duration::from_secs(2), "after healing");
    no_panic(&p);
}

#[test]
fn fault_partition_one_way_then_heal() {
    if !netns_available("fault_partition_one_way_then_heal") {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::start(|_, _| {});
    // Only b is deaf: a keeps hearing b's (lower) adverts and stays master.
    nft(&p.b, PARTITION);
    let ok = wait_until(Duration::from_secs(3), || state_of(&p.b, "web") == "master");
    p.check(ok, "b did not take over when deaf");
    let healed = Instant::now();
    heal(&p.b);
    let ok = wait_until(MDI_B + Duration::from_millis(300), || {
        state_of(&p.b, "web") == "backup" && !p.b.holds(VIP) && p.a.holds(VIP)
    });
    eprintln!("one master again {:?} after healing", healed.elapsed());
    p.check(
        ok,
        "no single master within Master_Down_Interval of healing",
    );
    assert_stable(&p, Duration::from_secs(2), "after healing");
    no_panic(&p);
}

#[test]
fn fault_sigstop_master_past_master_down_then_sigcont() {
    if !netns_available("fault_sigstop_master_past_master_down_then_sigcont") {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::start(|_, _| {});
    let pinger = Pinger::start(&p.client, VIP, Duration::from_millis(10));
    std::thread::sleep(Duration::from_millis(300));
    p.a.signal(libc::SIGSTOP);
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.b, "web") == "master" && p.b.holds(VIP)
    });
    if !ok {
        p.a.signal(libc::SIGCONT);
    }
    p.check(ok, "b did not take over from the stopped master");
    std::thread::sleep(Duration::from_millis(700));
    let resumed = Instant::now();
    p.a.signal(libc::SIGCONT);
    // a (150) resumes as master: b sees the higher priority and steps down,
    // a keeps the VIP; one master well within a second.
    let ok = wait_until(Duration::from_secs(1), || {
        state_of(&p.b, "web") == "backup" && !p.b.holds(VIP) && p.a.holds(VIP)
    });
    eprintln!("single master {:?} after SIGCONT", resumed.elapsed());
    p.check(ok, "no single master within 1 s of SIGCONT");
    assert_stable(&p, Duration::from_millis(1500), "after SIGCONT");
    let (stats, replies) = pinger.stop_with_replies();
    let o = client_outage(&replies);
    eprintln!(
        "client: {} lost inside, longest network gap {:?}\n{}",
        o.lost_inside, o.gap, o.around
    );
    let _ = stats;
    // The stopped master's kernel keeps answering for the VIP until b's
    // GARP moves it, and back: no gap beyond one Master_Down_Interval and
    // some scheduling slack.
    p.check(
        o.gap < MDI_B + Duration::from_millis(400),
        &format!("client outage {:?} longer than needed", o.gap),
    );
    no_panic(&p);
}

#[test]
fn fault_interface_deleted_and_recreated() {
    if !netns_available("fault_interface_deleted_and_recreated") {
        return;
    }
    let _g = lock(&SERIAL);
    let mut p = Pair::start(|_, _| {});
    p.a.ns.ip(&["link", "del", "eth0"]);
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.b, "web") == "master" && p.b.holds(VIP)
    });
    p.check(ok, "b did not take over when a's interface vanished");
    let st = state_of(&p.a, "web");
    p.check(
        st == "fault" || st == "init",
        &format!("a is {st:?} without its interface"),
    );
    std::thread::sleep(Duration::from_millis(300));
    // Re-create it: same name, MAC and address, new ifindex.
    let ns = Netns {
        name: p.a.ns.name.clone(),
    };
    p.lan.attach(&ns, "eth0", Some("02:00:00:00:00:01"));
    std::mem::forget(ns); // the node owns the namespace
    p.a.ns
        .ip(&["addr", "add", &format!("{A}/24"), "dev", "eth0"]);
    let ok = wait_until(Duration::from_secs(5), || {
        state_of(&p.a, "web") == "master" && p.a.holds(VIP) && !p.b.holds(VIP)
    });
    p.check(ok, "the group did not recover on the re-created interface");
    let ok = wait_until(Duration::from_secs(2), || state_of(&p.b, "web") == "backup");
    p.check(ok, "b did not step down");
    assert_stable(&p, Duration::from_secs(1), "after re-creation");
    no_panic(&p);
}

#[test]
fn fault_primary_address_changed_under_a_multicast_master() {
    if !netns_available("fault_primary_address_changed_under_a_multicast_master") {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::start(|a, b| {
        for (n, prio) in [(a, 150), (b, 100)] {
            n.write_group(
                "web",
                &format!(
                    "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\n\
                     advert_interval = \"100ms\"\nvirtual_ips = [\"{VIP}/24\"]\n"
                ),
            );
        }
    });
    let master_addr = |n: &Node| {
        group_status(n, "web")
            .and_then(|g| g["master_address"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    p.check(master_addr(&p.b) == A, "b does not see a as master");
    // Replace the primary: deleting it also flushes the secondaries (the
    // VIP) — the daemon must put the VIP back and advertise from the new
    // primary.
    p.a.ns
        .ip(&["addr", "del", &format!("{A}/24"), "dev", "eth0"]);
    p.a.ns.ip(&["addr", "add", "192.0.2.3/24", "dev", "eth0"]);
    let ok = wait_until(Duration::from_secs(3), || {
        p.a.holds(VIP) && master_addr(&p.b) == "192.0.2.3"
    });
    p.check(
        ok,
        &format!(
            "after the address change: a holds VIP {}, b sees master {:?}",
            p.a.holds(VIP),
            master_addr(&p.b)
        ),
    );
    assert_stable(&p, Duration::from_secs(1), "after the address change");
    no_panic(&p);
}

#[test]
fn fault_netlink_overrun_under_address_churn_keeps_the_vip() {
    if !netns_available("fault_netlink_overrun_under_address_churn_keeps_the_vip") {
        return;
    }
    let _g = lock(&SERIAL);
    // 1 s adverts (Master_Down_Interval ≈ 3.6 s) so the master may be
    // frozen for a second without b taking over.
    let p = Pair::start(|a, b| {
        a.write_group("web", &group(51, 150, A, B, VIP, "").replace("100ms", "1s"));
        b.write_group("web", &group(51, 100, B, A, VIP, "").replace("100ms", "1s"));
    });
    let before = (p.a.state_changes().len(), p.b.state_changes().len());
    // Freeze the master so its netlink socket cannot keep up, churn
    // thousands of addresses (with the VIP deleted in the middle), thaw: the
    // kernel reports ENOBUFS and the daemon must re-sync.
    let mut batch = String::new();
    for round in 0..12u32 {
        for i in 1..=250u32 {
            batch.push_str(&format!("addr add 198.51.100.{i}/32 dev eth0\n"));
        }
        if round == 1 {
            batch.push_str(&format!("addr del {VIP}/24 dev eth0\n"));
        }
        for i in 1..=250u32 {
            batch.push_str(&format!("addr del 198.51.100.{i}/32 dev eth0\n"));
        }
    }
    let path = p.a.dir.join("churn.batch");
    std::fs::write(&path, batch).unwrap();
    p.a.signal(libc::SIGSTOP);
    let t = Instant::now();
    let mut c = p.a.ns.cmd("ip");
    c.args(["-force", "-batch"]).arg(&path);
    let _ = run(&mut c);
    let churn = t.elapsed();
    let deleted = !p.a.holds(VIP);
    std::thread::sleep(Duration::from_millis(1000).saturating_sub(churn));
    p.a.signal(libc::SIGCONT);
    eprintln!("6000 address changes in {churn:?} with the master frozen");
    p.check(deleted, "the churn did not delete the VIP");
    let ok = wait_until(Duration::from_secs(3), || p.a.holds(VIP));
    p.check(ok, "the VIP deleted during the churn was not put back");
    let ok = wait_until(Duration::from_secs(2), || {
        p.a.log_text().contains("netlink event overrun")
    });
    p.check(
        ok,
        "the daemon never saw (or never logged) the netlink overrun",
    );
    let left: Vec<String> =
        p.a.ns
            .addresses("eth0")
            .into_iter()
            .filter(|a| a.starts_with("198.51.100."))
            .collect();
    p.check(left.is_empty(), &format!("churn addresses left: {left:?}"));
    assert_stable(&p, Duration::from_secs(1), "after the churn");
    let after = (p.a.state_changes().len(), p.b.state_changes().len());
    p.check(before == after, "a state changed during the churn");
    no_panic(&p);
}
