//! Rolling upgrade of a pair as the users do it (SPEC §4), with a client
//! pinging the VIP every millisecond throughout: restart the backup,
//! `vrrpd handover` on the master, restart the old master (preempt on).
//! Zero lost probes end to end. The same with keepalived-style SIGTERM on
//! the master instead of handover: no network gap above 10 ms. At every
//! step `vrrpd status --json` must match what the namespaces show.

#[path = "ops_common.rs"]
mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// `status --json` of `n`'s group "web" says `state` with the expected
/// priorities, master address and VIPs; returns adverts_sent.
fn expect_status(p: &Pair, n: &Node, state: &str, prio: u8, master: &str, step: &str) -> u64 {
    // The status may lag a state change by a moment: poll (bounded).
    let mut last = serde_json::Value::Null;
    let ok = wait_until(Duration::from_secs(2), || {
        last = group_status(n, "web").unwrap_or_default();
        last["state"] == state
            && last["priority"] == prio
            && last["base_priority"] == prio
            && last["master_address"] == master
            && last["vrid"] == 51
            && last["interface"] == "eth0"
            && last["virtual_ips"] == serde_json::json!([format!("{VIP}/24")])
    });
    p.check(
        ok,
        &format!(
            "{step}: status of {} should be {state} prio {prio} master {master}; got {last}",
            n.name
        ),
    );
    last["counters"]["adverts_sent"].as_u64().unwrap_or(0)
}

/// adverts_sent of `n` grows over a few intervals (it is master).
fn expect_sending(p: &Pair, n: &Node, step: &str) {
    let before = group_status(n, "web").unwrap_or_default()["counters"]["adverts_sent"]
        .as_u64()
        .unwrap_or(0);
    let grew = wait_until(Duration::from_secs(2), || {
        group_status(n, "web").unwrap_or_default()["counters"]["adverts_sent"]
            .as_u64()
            .unwrap_or(0)
            >= before + 3
    });
    p.check(
        grew,
        &format!("{step}: {}'s adverts_sent stayed near {before}", n.name),
    );
}

/// Stop `n`'s daemon with SIGTERM (bounded), check the CLI says it is not
/// running, start it again.
fn restart(p: &mut Pair, which: char, step: &str) {
    let n = if which == 'a' { &mut p.a } else { &mut p.b };
    let st = n.stop(libc::SIGTERM, Duration::from_secs(5));
    let name = n.name.clone();
    let (code, out, err) = n.cli(&["status"]);
    let ok = st.is_some_and(|s| s.success());
    if !ok {
        p.fail(&format!("{step}: {name} did not exit 0 on SIGTERM: {st:?}"));
    }
    p.check(
        code == 3 && err.contains("not running"),
        &format!("{step}: `vrrpd status` on stopped {name}: exit {code}\n{out}{err}"),
    );
    let n = if which == 'a' { &mut p.a } else { &mut p.b };
    n.start();
}

fn report(label: &str, stats: &PingStats, o: &Outage) {
    eprintln!(
        "{label}: client sent {} received {} lost {} (between first and last reply: {}); \
         longest network gap {:.1} ms, longest silence of any kind {:.1} ms",
        stats.sent,
        stats.received,
        stats.lost(),
        o.lost_inside,
        ms(o.gap),
        ms(o.raw_gap)
    );
}

#[test]
fn rolling_upgrade_with_handover_loses_nothing_and_status_follows() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut p = Pair::start(|_, _| {});
    let (code, table, err) = p.a.cli(&["status"]);
    p.check(
        code == 0 && table.contains("web") && table.contains("MASTER"),
        &format!("plain status on a: exit {code}\n{table}{err}"),
    );
    let (code, table, err) = p.b.cli(&["status"]);
    p.check(
        code == 0 && table.contains("web") && table.contains("BACKUP"),
        &format!("plain status on b: exit {code}\n{table}{err}"),
    );
    expect_status(&p, &p.a, "master", 150, A, "start");
    expect_status(&p, &p.b, "backup", 100, A, "start");
    expect_sending(&p, &p.a, "start");

    let ping = Pinger::start(&p.client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));

    // 1. Restart the backup.
    restart(&mut p, 'b', "backup restart");
    let back = wait_until(Duration::from_secs(5), || state_of(&p.b, "web") == "backup");
    p.check(back, "restarted b never reported backup");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after b's restart");
    expect_status(&p, &p.b, "backup", 100, A, "after b's restart");
    expect_status(&p, &p.a, "master", 150, A, "after b's restart");
    expect_sending(&p, &p.a, "after b's restart");

    // 2. Hand over on the master.
    let (code, out, err) = p.a.cli(&["handover", "--timeout", "5s"]);
    p.check(
        code == 0 && out.contains("moved"),
        &format!("handover on a: exit {code}\n{out}{err}"),
    );
    p.check(
        p.b.holds(VIP),
        "handover returned but b does not hold the VIP",
    );
    // a stays backup and does not preempt back.
    p.assert_holder(&p.b, &p.a, Duration::from_millis(1000), "after handover");
    expect_status(&p, &p.b, "master", 100, B, "after handover");
    expect_status(&p, &p.a, "backup", 150, B, "after handover");
    expect_sending(&p, &p.b, "after handover");

    // 3. Restart the old master: it comes back and preempts.
    restart(&mut p, 'a', "old master restart");
    let pre = wait_until(Duration::from_secs(5), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(pre, "restarted a did not preempt back");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after a's restart");
    expect_status(&p, &p.a, "master", 150, A, "after a's restart");
    expect_status(&p, &p.b, "backup", 100, A, "after a's restart");
    expect_sending(&p, &p.a, "after a's restart");

    std::thread::sleep(Duration::from_millis(200));
    let (stats, replies) = ping.stop_with_replies();
    let o = client_outage(&replies);
    report("rolling upgrade (handover)", &stats, &o);
    p.check(
        stats.sent > 1000 && stats.received > 0,
        &format!("the client barely pinged: {stats:?}"),
    );
    p.check(
        o.lost_inside == 0 && stats.lost() <= 1,
        &format!(
            "rolling upgrade lost {} probes ({} between first and last reply), gap {:.1} ms:\n{}",
            stats.lost(),
            o.lost_inside,
            ms(o.gap),
            o.around
        ),
    );
}

#[test]
fn rolling_upgrade_with_sigterm_on_the_master_has_no_gap_over_10ms() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut p = Pair::start(|_, _| {});
    let ping = Pinger::start(&p.client, VIP, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));

    restart(&mut p, 'b', "backup restart");
    let back = wait_until(Duration::from_secs(5), || state_of(&p.b, "web") == "backup");
    p.check(back, "restarted b never reported backup");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after b's restart");

    // keepalived-style: stop the master (make-before-break release), start
    // it again (it preempts).
    restart(&mut p, 'a', "master SIGTERM");
    p.check(
        state_of(&p.b, "web") == "master" || p.b.holds(VIP),
        "b is not master after a's SIGTERM",
    );
    let pre = wait_until(Duration::from_secs(5), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(pre, "restarted a did not preempt back");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after a's restart");

    std::thread::sleep(Duration::from_millis(200));
    let (stats, replies) = ping.stop_with_replies();
    let o = client_outage(&replies);
    report("rolling upgrade (SIGTERM)", &stats, &o);
    p.check(
        stats.sent > 1000 && stats.received > 0,
        &format!("the client barely pinged: {stats:?}"),
    );
    p.check(
        o.gap <= Duration::from_millis(10) && o.lost_inside == 0,
        &format!(
            "SIGTERM rolling upgrade: network gap {:.1} ms, {} probes lost inside:\n{}",
            ms(o.gap),
            o.lost_inside,
            o.around
        ),
    );
}
