//! Sync groups (SPEC §4): "public" (VRID 51, eth0) and "private" (VRID 52,
//! eth1, a second LAN) in one `[[sync_group]]`. Cutting only the master's
//! eth1 moves both groups; they stay moved while the link is down and come
//! back together when it is up.

#[path = "ops_common.rs"]
mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const VIP2: &str = "198.51.100.100";
const A2: &str = "198.51.100.1";
const B2: &str = "198.51.100.2";
const SYNC: &str = "[[sync_group]]\nname = \"edge\"\nmembers = [\"public\", \"private\"]\n";

fn holds2(n: &Node) -> (bool, bool) {
    (n.holds(VIP), n.ns.has_address("eth1", VIP2))
}

#[test]
fn cutting_one_members_link_moves_the_whole_sync_group() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    let mut lan2 = Lan::new();
    lan2.attach(&p.a.ns, "eth1", Some("02:00:00:00:01:01"));
    lan2.attach(&p.b.ns, "eth1", Some("02:00:00:00:01:02"));
    p.a.ns
        .ip(&["addr", "add", &format!("{A2}/24"), "dev", "eth1"]);
    p.b.ns
        .ip(&["addr", "add", &format!("{B2}/24"), "dev", "eth1"]);
    for (n, prio, me, peer, me2, peer2) in [(&p.a, 150, A, B, A2, B2), (&p.b, 100, B, A, B2, A2)] {
        n.write_daemon_config(SYNC);
        n.write_group("public", &group_on(51, "eth0", prio, me, peer, VIP, ""));
        n.write_group("private", &group_on(52, "eth1", prio, me2, peer2, VIP2, ""));
    }
    p.a.start();
    p.b.start();
    let up = wait_until(Duration::from_secs(5), || {
        holds2(&p.a) == (true, true) && holds2(&p.b) == (false, false)
    });
    p.check(up, "a never held both VIPs alone");
    std::thread::sleep(Duration::from_millis(300));
    p.check(
        holds2(&p.a) == (true, true) && holds2(&p.b) == (false, false),
        "no stable start",
    );

    // Cut only a's eth1: private faults, public follows it out.
    p.a.ns.ip(&["link", "set", "eth1", "down"]);
    let cut = Instant::now();
    let moved = wait_until(Duration::from_secs(3), || {
        holds2(&p.b) == (true, true) && holds2(&p.a) == (false, false)
    });
    p.check(
        moved,
        &format!(
            "after a's eth1 cut: a holds {:?}, b holds {:?} (public, private)",
            holds2(&p.a),
            holds2(&p.b)
        ),
    );
    eprintln!(
        "sync group: both groups on b {:.0} ms after a's eth1 went down",
        ms(cut.elapsed())
    );
    // They stay there while the link is down.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        p.check(
            holds2(&p.b) == (true, true) && holds2(&p.a) == (false, false),
            &format!(
                "while a's eth1 is down: a {:?}, b {:?} after {:?}",
                holds2(&p.a),
                holds2(&p.b),
                start.elapsed()
            ),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    p.check(
        state_of(&p.a, "private") == "fault" && state_of(&p.a, "public") != "master",
        &format!(
            "a's status: private {}, public {}",
            state_of(&p.a, "private"),
            state_of(&p.a, "public")
        ),
    );
    p.check(
        state_of(&p.b, "private") == "master" && state_of(&p.b, "public") == "master",
        "b's status does not show both groups master",
    );

    // Link up: both come back to a together.
    p.a.ns.ip(&["link", "set", "eth1", "up"]);
    let t = Instant::now();
    let mut split: Option<Instant> = None;
    let mut longest_split = Duration::ZERO;
    let back = wait_until(Duration::from_secs(5), || {
        let (pa, pv) = holds2(&p.a);
        if pa != pv {
            let s = *split.get_or_insert_with(Instant::now);
            longest_split = longest_split.max(s.elapsed());
        } else {
            split = None;
        }
        (pa, pv) == (true, true) && holds2(&p.b) == (false, false)
    });
    p.check(back, "a did not take both groups back after eth1 came up");
    eprintln!(
        "sync group: both back on a {:.0} ms after link up; longest time a held only one VIP: {:.1} ms",
        ms(t.elapsed()),
        ms(longest_split)
    );
    p.check(
        longest_split < Duration::from_millis(200),
        &format!("the groups came back apart: a held only one VIP for {longest_split:?}"),
    );
    std::thread::sleep(Duration::from_millis(500));
    p.check(
        holds2(&p.a) == (true, true) && holds2(&p.b) == (false, false),
        "not stable after the groups came back",
    );
    for g in ["public", "private"] {
        p.check(
            state_of(&p.a, g) == "master" && state_of(&p.b, g) == "backup",
            &format!("{g}: a {} b {}", state_of(&p.a, g), state_of(&p.b, g)),
        );
    }
    drop(p);
    drop(lan2);
}
