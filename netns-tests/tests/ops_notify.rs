//! Notify hooks (SPEC §2.2): a hook program, executed directly (no shell in
//! between), writes each call's arguments and `VRRPD_*` environment to a
//! file; the exact sequence of calls is asserted on each node for start,
//! failover (link cut), recovery, handover and stop.

#[path = "ops_common.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Write the hook program into the node's directory; returns (hook, record).
fn install_hook(n: &Node) -> (PathBuf, PathBuf) {
    let hook = n.dir.join("hook.sh");
    let record = n.dir.join("calls.txt");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$* | $VRRPD_GROUP $VRRPD_STATE $VRRPD_PRIORITY $VRRPD_VRID\" >> {}\n",
            record.display()
        ),
    )
    .expect("write hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod hook");
    (hook, record)
}

fn notify_toml(hook: &Path) -> String {
    let h = hook.display();
    format!(
        "\n[notify]\nmaster = [\"{h}\", \"master\"]\nbackup = [\"{h}\", \"backup\"]\n\
         fault = [\"{h}\", \"fault\"]\nstop = [\"{h}\", \"stop\"]\nany = [\"{h}\", \"any\"]\n"
    )
}

/// The two lines one transition writes: the state's own hook, then `any`
/// with `INSTANCE group STATE priority` appended.
fn call(state: &str, prio: u8) -> [String; 2] {
    let up = state.to_uppercase();
    [
        format!("{state} | web {up} {prio} 51"),
        format!("any INSTANCE web {up} {prio} | web {up} {prio} 51"),
    ]
}

fn calls(seq: &[(&str, u8)]) -> Vec<String> {
    seq.iter().flat_map(|(s, p)| call(s, *p)).collect()
}

fn recorded(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Wait (bounded) until `path` has `want`'s length, give late extra calls a
/// moment, then compare exactly.
fn expect_calls(p: &Pair, who: &str, path: &Path, want: &[String], phase: &str) {
    wait_until(Duration::from_secs(5), || {
        recorded(path).len() >= want.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = recorded(path);
    if got != want {
        p.fail(&format!(
            "{phase}: node {who}'s hook calls differ\n--- expected ---\n{}\n--- got ---\n{}",
            want.join("\n"),
            got.join("\n")
        ));
    }
}

#[test]
fn notify_hooks_see_start_failover_recovery_handover_and_stop() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut rec = (PathBuf::new(), PathBuf::new());
    let mut p = Pair::start(|a, b| {
        let (ha, ra) = install_hook(a);
        let (hb, rb) = install_hook(b);
        a.write_group("web", &group(51, 150, A, B, VIP, &notify_toml(&ha)));
        b.write_group("web", &group(51, 100, B, A, VIP, &notify_toml(&hb)));
        rec = (ra, rb);
    });
    let (ra, rb) = rec;
    let mut want_a = calls(&[("backup", 150), ("master", 150)]);
    let mut want_b = calls(&[("backup", 100)]);
    expect_calls(&p, "a", &ra, &want_a, "start");
    expect_calls(&p, "b", &rb, &want_b, "start");

    // Failover: a's link cut.
    p.a.ns.ip(&["link", "set", "eth0", "down"]);
    let moved = wait_until(Duration::from_secs(3), || p.b.holds(VIP) && !p.a.holds(VIP));
    p.check(moved, "b did not take over after a's link cut");
    want_a.extend(calls(&[("fault", 150)]));
    want_b.extend(calls(&[("master", 100)]));
    expect_calls(&p, "a", &ra, &want_a, "failover");
    expect_calls(&p, "b", &rb, &want_b, "failover");

    // Recovery: link up, a preempts back.
    p.a.ns.ip(&["link", "set", "eth0", "up"]);
    p.settle("recovery");
    want_a.extend(calls(&[("backup", 150), ("master", 150)]));
    want_b.extend(calls(&[("backup", 100)]));
    expect_calls(&p, "a", &ra, &want_a, "recovery");
    expect_calls(&p, "b", &rb, &want_b, "recovery");

    // Handover: a gives mastership to b and stays backup.
    let (code, out, err) = p.a.cli(&["handover", "--timeout", "5s"]);
    p.check(code == 0, &format!("handover exit {code}: {out}{err}"));
    p.assert_holder(&p.b, &p.a, Duration::from_millis(500), "after handover");
    want_a.extend(calls(&[("backup", 150)]));
    want_b.extend(calls(&[("master", 100)]));
    expect_calls(&p, "a", &ra, &want_a, "handover");
    expect_calls(&p, "b", &rb, &want_b, "handover");

    // Stop: SIGTERM on the master b (a takes over), then on a.
    let st = p.b.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(
        st.is_some_and(|s| s.success()),
        &format!("b did not exit 0 on SIGTERM: {st:?}"),
    );
    p.check(p.a.holds(VIP), "a does not hold the VIP after b stopped");
    want_b.extend(calls(&[("stop", 100)]));
    want_a.extend(calls(&[("master", 150)]));
    expect_calls(&p, "b", &rb, &want_b, "stop of b");
    expect_calls(&p, "a", &ra, &want_a, "stop of b");
    let st = p.a.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(
        st.is_some_and(|s| s.success()),
        &format!("a did not exit 0 on SIGTERM: {st:?}"),
    );
    want_a.extend(calls(&[("stop", 150)]));
    expect_calls(&p, "a", &ra, &want_a, "stop of a");
}

/// SPEC §2.2: a group without VIPs (`virtual_ips = []` with `[notify]`, the
/// cloud-failover pattern `vrrpd convert` carries over from keepalived) runs:
/// it elects, calls its hooks on every transition, and fails over.
#[test]
fn hook_only_group_without_vips_elects_runs_hooks_and_fails_over() {
    require_netns!();
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    let hook_only = |prio: u8, me: &str, peer: &str, hook: &Path| {
        format!(
            "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
             advert_interval = \"100ms\"\nunicast_source = \"{me}\"\nunicast_peers = [\"{peer}\"]\n\
             virtual_ips = []\n{}",
            notify_toml(hook)
        )
    };
    let (ha, ra) = install_hook(&p.a);
    let (hb, rb) = install_hook(&p.b);
    p.a.write_group("web", &hook_only(150, A, B, &ha));
    p.b.write_group("web", &hook_only(100, B, A, &hb));
    for n in [&p.a, &p.b] {
        let out =
            n.ns.cmd(&vrrpd_binary().to_string_lossy())
                .args(["check", "--config"])
                .arg(&n.dir)
                .output()
                .expect("run vrrpd check");
        p.check(
            out.status.success(),
            &format!("check: {}", String::from_utf8_lossy(&out.stderr)),
        );
    }
    p.a.start();
    p.b.start();
    let ok = wait_until(Duration::from_secs(5), || {
        state_of(&p.a, "web") == "master" && state_of(&p.b, "web") == "backup"
    });
    p.check(ok, "hook-only group: a never became master with b backup");
    let mut want_a = calls(&[("backup", 150), ("master", 150)]);
    let mut want_b = calls(&[("backup", 100)]);
    expect_calls(&p, "a", &ra, &want_a, "start");
    expect_calls(&p, "b", &rb, &want_b, "start");
    // Nothing was added to either interface.
    p.check(
        p.a.ns.addresses("eth0").len() == p.b.ns.addresses("eth0").len(),
        "a hook-only group changed the interface's addresses",
    );

    // Failover: a stops, b takes over and runs its master hook.
    let st = p.a.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(
        st.is_some_and(|s| s.success()),
        &format!("a did not exit 0 on SIGTERM: {st:?}"),
    );
    let ok = wait_until(Duration::from_secs(3), || state_of(&p.b, "web") == "master");
    p.check(ok, "b did not become master after a stopped");
    want_a.extend(calls(&[("stop", 150)]));
    want_b.extend(calls(&[("master", 100)]));
    expect_calls(&p, "a", &ra, &want_a, "stop of a");
    expect_calls(&p, "b", &rb, &want_b, "stop of a");
    let st = p.b.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(st.is_some_and(|s| s.success()), "b did not exit 0");
}
