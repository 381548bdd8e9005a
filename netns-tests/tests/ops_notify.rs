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
