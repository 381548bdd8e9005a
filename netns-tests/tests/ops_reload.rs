//! `vrrpd reload` (SPEC §4): a reload that adds a group, removes a group and
//! changes a priority changes the state of those groups only; a broken
//! configuration is rejected with exit 2 and the daemon keeps running.

#[path = "ops_common.rs"]
mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const VIP_API: &str = "192.0.2.101";
const VIP_OLD: &str = "192.0.2.102";
const VIP_NEW: &str = "192.0.2.103";

fn names(n: &Node) -> Vec<String> {
    status(n)
        .and_then(|s| {
            s["groups"].as_array().map(|g| {
                g.iter()
                    .filter_map(|g| g["name"].as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn reload(p: &Pair, n: &Node, what: &str) {
    let (code, out, err) = n.cli(&["reload"]);
    p.check(
        code == 0,
        &format!(
            "{what}: `vrrpd reload` on {}: exit {code}\n{out}{err}",
            n.name
        ),
    );
}

#[test]
fn reload_touches_only_the_changed_groups() {
    require_netns!();
    let _g = lock(&SERIAL);
    let p = Pair::start(|a, b| {
        a.write_group("api", &group(52, 150, A, B, VIP_API, ""));
        b.write_group("api", &group(52, 100, B, A, VIP_API, ""));
        a.write_group("old", &group(53, 150, A, B, VIP_OLD, ""));
        b.write_group("old", &group(53, 100, B, A, VIP_OLD, ""));
    });
    let ok = wait_until(Duration::from_secs(3), || {
        ["web", "api", "old"]
            .iter()
            .all(|g| state_of(&p.a, g) == "master" && state_of(&p.b, g) == "backup")
    });
    p.check(ok, "the three groups did not settle a master / b backup");
    std::thread::sleep(Duration::from_millis(300));
    let web = (changes(&p.a, "web"), changes(&p.b, "web"));
    let api_a = changes(&p.a, "api").len();

    // Watch web's VIP on a for the whole reload.
    let done = std::sync::atomic::AtomicBool::new(false);
    let web_lost = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let start = Instant::now();
            let mut lost = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed)
                && start.elapsed() < Duration::from_secs(20)
            {
                if !p.a.holds(VIP) || p.b.holds(VIP) {
                    lost += 1;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            lost
        });
        // The backup first (a master leaving a group sends priority 0, which
        // a backup still running it would answer by taking over).
        p.b.remove_group("old");
        p.b.write_group("new", &group(54, 100, B, A, VIP_NEW, ""));
        reload(&p, &p.b, "b");
        p.a.remove_group("old");
        p.a.write_group("new", &group(54, 150, A, B, VIP_NEW, ""));
        p.a.write_group("api", &group(52, 140, A, B, VIP_API, ""));
        reload(&p, &p.a, "a");
        let ok = wait_until(Duration::from_secs(5), || {
            p.a.holds(VIP_NEW)
                && !p.b.holds(VIP_NEW)
                && p.a.holds(VIP_API)
                && !p.b.holds(VIP_API)
                && !p.a.holds(VIP_OLD)
                && !p.b.holds(VIP_OLD)
                && state_of(&p.a, "api") == "master"
                && state_of(&p.a, "new") == "master"
                && state_of(&p.b, "new") == "backup"
        });
        std::thread::sleep(Duration::from_millis(500));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (ok, watcher.join().expect("watcher"))
    });
    let (ok, lost) = web_lost;
    p.check(
        ok,
        "after the reloads the groups did not settle as expected",
    );
    p.check(
        lost == 0,
        &format!("web's VIP was not (only) on a in {lost} polls during the reloads"),
    );
    p.check(
        (changes(&p.a, "web"), changes(&p.b, "web")) == web,
        "the reloads changed the state of the untouched group web",
    );
    p.check(
        changes(&p.a, "api").len() > api_a,
        "a's api priority changed but the group did not restart",
    );
    p.check(
        !changes(&p.a, "new").is_empty() && !changes(&p.b, "new").is_empty(),
        "no state change logged for the added group",
    );
    let api = group_status(&p.a, "api").unwrap_or_default();
    p.check(
        api["priority"] == 140 && api["base_priority"] == 140 && api["state"] == "master",
        &format!("a's api status after the reload: {api}"),
    );
    for n in [&p.a, &p.b] {
        p.check(
            names(n) == ["api", "new", "web"],
            &format!("{}'s groups after the reload: {:?}", n.name, names(n)),
        );
    }
    p.check(
        state_of(&p.a, "web") == "master" && state_of(&p.b, "web") == "backup",
        "web's status changed",
    );

    // A broken file: rejected with exit 2, the daemon keeps running.
    let web = (changes(&p.a, "web"), changes(&p.b, "web"));
    p.a.write_group("bad", "vrid = 999\ninterface = \"eth0\"\n");
    let (code, out, err) = p.a.cli(&["reload"]);
    p.check(
        code == 2 && err.contains("bad.toml"),
        &format!("reload of a broken config: exit {code}\n{out}{err}"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut a = p;
    p_running(&mut a);
    a.check(
        names(&a.a) == ["api", "new", "web"],
        &format!("a's groups after the rejected reload: {:?}", names(&a.a)),
    );
    a.check(
        (changes(&a.a, "web"), changes(&a.b, "web")) == web,
        "the rejected reload changed web's state",
    );
    a.assert_holder(
        &a.a,
        &a.b,
        Duration::from_millis(300),
        "after the rejected reload",
    );
}

fn p_running(p: &mut Pair) {
    let running = p.a.running();
    p.check(running, "a's daemon exited after a rejected reload");
    let (code, out, err) = p.a.cli(&["status"]);
    p.check(
        code == 0,
        &format!("status after the rejected reload: exit {code}\n{out}{err}"),
    );
}
