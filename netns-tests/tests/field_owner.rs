//! Issue 12, items 1 and 2 (SPEC §1 "addresses the host owns are never
//! removed", §2.3 own-address error): the address owner (priority 255 whose
//! VIP is its interface's own address) and a non-owner naming a host
//! address, with real daemons.
//!
//! a: eth0 192.0.2.1/24, b: eth0 192.0.2.2/24, VRRPv3 multicast at 100 ms
//! (no `unicast_source`: the owner's source is its own primary address, the
//! VIP itself).

#[path = "ops_common.rs"]
mod common;

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const OWNED: &str = "192.0.2.1";

fn mc_group(prio: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"100ms\"\nvirtual_ips = [\"{vip}/24\"]\n{extra}"
    )
}

fn vrrpd_in(n: &Node, args: &[&str]) -> (i32, String) {
    let mut c: Command = n.ns.cmd(&vrrpd_binary().to_string_lossy());
    c.args(args).arg("--config").arg(&n.dir);
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn vrrpd");
    // `run` must fail before doing anything; bound the wait anyway.
    let ok = wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !ok {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("vrrpd output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A veth pair inside `n` (both ends there), up, `a_dev` with `cidr`.
fn local_veth(n: &Node, a_dev: &str, b_dev: &str, cidr: Option<&str>) {
    n.ns.ip(&["link", "add", a_dev, "type", "veth", "peer", "name", b_dev]);
    if let Some(c) = cidr {
        n.ns.ip(&["addr", "add", c, "dev", a_dev]);
    }
    n.ns.ip(&["link", "set", a_dev, "up"]);
    n.ns.ip(&["link", "set", b_dev, "up"]);
}

#[test]
fn address_owner_is_master_at_once_keeps_its_address_on_fault_and_stop_and_takes_over_on_restart() {
    if !netns_available(
        "address_owner_is_master_at_once_keeps_its_address_on_fault_and_stop_and_takes_over_on_restart",
    ) {
        return;
    }
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    // A second address on the owner: removing the VIP must not take the
    // real prefix with it either.
    p.a.ns.ip(&["addr", "add", "192.0.2.51/24", "dev", "eth0"]);
    local_veth(&p.a, "trk0", "trk1", None);
    p.a.write_group(
        "web",
        &mc_group(
            255,
            OWNED,
            "[[track_interface]]\nname = \"trk0\"\nweight = 0\n",
        ),
    );
    p.b.write_group("web", &mc_group(100, OWNED, ""));

    // RFC 5798 §6.4.1: the owner is master at once (well before a backup's
    // Master_Down_Interval of 300 ms + skew could have run out).
    p.a.start();
    let ok = wait_until(Duration::from_secs(2), || state_of(&p.a, "web") == "master");
    p.check(ok, "owner did not become master");
    p.check(
        changes(&p.a, "web")
            .iter()
            .any(|l| l.contains("owner_startup")),
        "owner did not start as owner",
    );
    p.b.start();
    let ok = wait_until(Duration::from_secs(3), || state_of(&p.b, "web") == "backup");
    p.check(ok, "b is not backup under the owner");
    p.check(
        p.a.holds(OWNED) && !p.b.holds(OWNED),
        "owner start: holders",
    );

    // Fault (track_interface down): the owner steps aside, its own address
    // stays; b takes the VIP.
    p.a.ns.ip(&["link", "set", "trk1", "down"]);
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.a, "web") == "fault" && state_of(&p.b, "web") == "master"
    });
    p.check(ok, "owner did not go to fault / b master");
    p.check(p.a.holds(OWNED), "owner lost its own address in fault");
    p.check(
        p.a.holds("192.0.2.51"),
        "owner lost its second address in fault",
    );
    p.a.ns.ip(&["link", "set", "trk1", "up"]);
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.a, "web") == "master" && state_of(&p.b, "web") == "backup" && !p.b.holds(OWNED)
    });
    p.check(ok, "owner did not take over again after fault");

    // Stop: the owner keeps its address; b takes over.
    let st = p.a.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(st.is_some(), "owner did not exit on SIGTERM");
    p.check(p.a.holds(OWNED), "owner lost its own address on stop");
    p.check(
        p.a.holds("192.0.2.51"),
        "owner lost its second address on stop",
    );
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.b, "web") == "master" && p.b.holds(OWNED)
    });
    p.check(ok, "b did not take over from the stopped owner");

    // Restart: the owner takes over again and b gives the VIP up (no
    // duplicate address left on the LAN).
    p.a.start();
    let ok = wait_until(Duration::from_secs(3), || {
        state_of(&p.a, "web") == "master" && state_of(&p.b, "web") == "backup" && !p.b.holds(OWNED)
    });
    p.check(ok, "restarted owner did not take over again");
    p.check(p.a.holds(OWNED), "restarted owner lacks its address");
    let st = p.a.stop(libc::SIGTERM, Duration::from_secs(5));
    p.check(st.is_some(), "owner did not exit on the second SIGTERM");
    p.check(
        p.a.holds(OWNED),
        "owner lost its own address on the second stop",
    );
}

#[test]
fn non_owner_naming_a_host_address_exits_2_from_check_and_run_and_the_address_stays() {
    if !netns_available(
        "non_owner_naming_a_host_address_exits_2_from_check_and_run_and_the_address_stays",
    ) {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::build();
    // The group's own interface address, then an address on another
    // interface of the host.
    local_veth(&p.a, "x0", "x1", Some("198.51.100.1/24"));
    for (vip, iface) in [(OWNED, "eth0"), ("198.51.100.1", "x0")] {
        p.a.write_group("web", &mc_group(100, vip, ""));
        let (code, err) = vrrpd_in(&p.a, &["check"]);
        p.check(code == 2, &format!("check {vip}: exit {code}: {err}"));
        p.check(
            err.contains("web.toml:6:") && err.contains(vip),
            &format!("check {vip}: no file:line:column naming it: {err}"),
        );
        let (code, err) = vrrpd_in(&p.a, &["run"]);
        p.check(code == 2, &format!("run {vip}: exit {code}: {err}"));
        p.check(
            p.a.ns.has_address(iface, vip),
            &format!("run removed {vip}"),
        );
    }
}

#[test]
fn stale_vip_cleanup_removes_only_what_an_earlier_run_added() {
    if !netns_available("stale_vip_cleanup_removes_only_what_an_earlier_run_added") {
        return;
    }
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    p.a.write_group("web", &mc_group(150, VIP, ""));
    p.b.write_group("web", &mc_group(200, VIP, ""));
    // a alone: master after Master_Down_Interval, VIP added (marked).
    p.a.start();
    let ok = wait_until(Duration::from_secs(3), || p.a.holds(VIP));
    p.check(ok, "a never took the VIP");
    // Crash: the VIP stays behind, and is vrrpd's, not the host's: `check`
    // still passes.
    p.a.stop(libc::SIGKILL, Duration::from_secs(3));
    p.check(p.a.holds(VIP), "SIGKILL removed the VIP");
    let (code, err) = vrrpd_in(&p.a, &["check"]);
    p.check(
        code == 0,
        &format!("check after a crash: exit {code}: {err}"),
    );
    // b (higher) is master; a restarts as backup and removes its leftover.
    p.b.start();
    let ok = wait_until(Duration::from_secs(3), || p.b.holds(VIP));
    p.check(ok, "b never took the VIP");
    p.a.start();
    let ok = wait_until(Duration::from_secs(3), || {
        !p.a.holds(VIP) && state_of(&p.a, "web") == "backup"
    });
    p.check(ok, "the stale VIP was not removed at start-up");
    p.check(
        p.a.log_text().contains("removed stale VIP"),
        "no stale-VIP log line",
    );
    p.check(p.a.holds(A), "start-up cleanup removed the host's address");
}
