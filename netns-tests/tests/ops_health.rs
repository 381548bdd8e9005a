//! Health tracking with a real proxy stand-in (SPEC §4 Health): an HTTP
//! server in each node's namespace, checked by a `track_script` running
//! curl. Stopping the master's server moves the VIP (weight -60) or FAULTs
//! the master (weight 0); starting it again moves the VIP back (preempt).

#[path = "ops_common.rs"]
mod common;

use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const INTERVAL_MS: u64 = 200;
const FALL: u64 = 2;

/// `python3 -m http.server` bound to `addr`:8404 inside the node's
/// namespace, serving an empty directory.
fn http_server(n: &Node, addr: &str) -> Proc {
    let dir = n.dir.join("www");
    std::fs::create_dir_all(&dir).expect("create www dir");
    let mut c = n.ns.cmd("/usr/bin/python3");
    c.args(["-m", "http.server", "--bind", addr, "8404", "--directory"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let p = Proc::spawn(c);
    let url = format!("http://{addr}:8404/");
    let up = wait_until(Duration::from_secs(10), || {
        let mut c = n.ns.cmd("/usr/bin/curl");
        c.args(["-fsS", "--max-time", "0.5", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        run(&mut c).map(|o| o.status.success()).unwrap_or(false)
    });
    assert!(up, "the HTTP server in {} never answered on {url}", n.name);
    p
}

fn track(addr: &str, weight: i16) -> String {
    format!(
        r#"
[[track_script]]
name = "proxy"
command = ["/usr/bin/curl", "-fsS", "--max-time", "0.5", "http://{addr}:8404/"]
interval = "{INTERVAL_MS}ms"
timeout = "500ms"
rise = 2
fall = {FALL}
weight = {weight}
"#
    )
}

/// RFC 5798 Master_Down_Interval at 100 ms adverts for `prio`.
fn mdi(prio: u32) -> Duration {
    Duration::from_secs_f64((300.0 + 100.0 * (256 - prio) as f64 / 256.0) / 1000.0)
}

/// Start both servers, then the pair with `weight` on both nodes' trackers.
fn pair_with_health(weight: i16) -> (Pair, Proc, Proc) {
    let mut p = Pair::build();
    let srv_a = http_server(&p.a, A);
    let srv_b = http_server(&p.b, B);
    p.a.write_group("web", &group(51, 150, A, B, VIP, &track(A, weight)));
    p.b.write_group("web", &group(51, 100, B, A, VIP, &track(B, weight)));
    p.a.start();
    p.b.start();
    p.settle("health pair start");
    (p, srv_a, srv_b)
}

fn script_up(n: &Node) -> Option<bool> {
    group_status(n, "web")?["trackers"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == "proxy")?["up"]
        .as_bool()
}

#[test]
fn proxy_down_on_master_moves_the_vip_and_back() {
    require_netns!();
    let _g = lock(&SERIAL);
    let (p, srv_a, _srv_b) = pair_with_health(-60);
    p.check(
        script_up(&p.a) == Some(true),
        "a's track script is not up in status",
    );

    // Stop the master's proxy.
    drop(srv_a);
    let t0 = Instant::now();
    let bound = Duration::from_millis(INTERVAL_MS * FALL) + mdi(100) + Duration::from_millis(1000);
    let moved = wait_until(Duration::from_secs(6), || p.b.holds(VIP) && !p.a.holds(VIP));
    let took = t0.elapsed();
    p.check(moved, "the VIP did not move to b after a's proxy stopped");
    eprintln!(
        "health failover: b sole holder {:.0} ms after a's proxy stopped (bound {:.0} ms = fall x interval {} ms + MDI {:.0} ms + 1000 ms)",
        ms(took),
        ms(bound),
        INTERVAL_MS * FALL,
        ms(mdi(100))
    );
    p.check(
        took <= bound,
        &format!("the VIP moved after {took:?}, bound {bound:?}"),
    );
    let st = group_status(&p.a, "web").unwrap_or_default();
    p.check(
        st["state"] == "backup" && st["priority"] == 90 && st["base_priority"] == 150,
        &format!("a's status while its proxy is down: {st}"),
    );
    p.check(
        script_up(&p.a) == Some(false),
        "a's script not down in status",
    );
    p.assert_holder(&p.b, &p.a, Duration::from_millis(600), "proxy down");

    // Start it again: a preempts back.
    let _srv_a = http_server(&p.a, A);
    let t1 = Instant::now();
    let back = wait_until(Duration::from_secs(5), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(
        back,
        "a did not take the VIP back after its proxy came back",
    );
    eprintln!(
        "health recovery: a sole holder again {:.0} ms after its proxy restarted",
        ms(t1.elapsed())
    );
    let ok = wait_until(Duration::from_secs(2), || {
        group_status(&p.a, "web").is_some_and(|s| s["state"] == "master" && s["priority"] == 150)
    });
    p.check(ok, "a is not master at priority 150 after recovery");
    p.assert_holder(&p.a, &p.b, Duration::from_millis(500), "after recovery");
    p.check(
        changes(&p.a, "web").iter().all(|l| !l.contains("-> fault")),
        "a went to fault with a non-zero weight",
    );
}

#[test]
fn proxy_down_with_weight_zero_faults_the_master() {
    require_netns!();
    let _g = lock(&SERIAL);
    let (p, srv_a, _srv_b) = pair_with_health(0);
    let (code, _, _) = p.a.cli(&["status"]);
    p.check(
        code == 0,
        &format!("status exit {code} on a healthy master"),
    );

    drop(srv_a);
    let t0 = Instant::now();
    let moved = wait_until(Duration::from_secs(6), || p.b.holds(VIP) && !p.a.holds(VIP));
    p.check(
        moved,
        "the VIP did not move to b after a's proxy stopped (weight 0)",
    );
    eprintln!(
        "health fault: b sole holder {:.0} ms after a's proxy stopped",
        ms(t0.elapsed())
    );
    let fault = wait_until(Duration::from_secs(2), || state_of(&p.a, "web") == "fault");
    p.check(fault, "a's status does not show fault");
    let (code, out, err) = p.a.cli(&["status"]);
    p.check(
        code == 1 && out.contains("web") && out.contains("FAULT"),
        &format!("`vrrpd status` on a faulted node: exit {code}\n{out}{err}"),
    );
    p.check(
        changes(&p.a, "web").iter().any(|l| l.contains("-> fault")),
        "a logged no -> fault",
    );
    p.assert_holder(&p.b, &p.a, Duration::from_millis(500), "a in fault");

    let _srv_a = http_server(&p.a, A);
    let back = wait_until(Duration::from_secs(5), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(back, "a did not take the VIP back after leaving fault");
    let ok = wait_until(Duration::from_secs(2), || state_of(&p.a, "web") == "master");
    p.check(ok, "a not master after its proxy came back");
    let (code, out, err) = p.a.cli(&["status"]);
    p.check(
        code == 0,
        &format!("status exit {code} after recovery\n{out}{err}"),
    );
}
