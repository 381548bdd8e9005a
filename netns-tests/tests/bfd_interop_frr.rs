//! vrrpd's BFD against FRR 8.4's bfdd (Debian's `frr`): zebra and bfdd in
//! a namespace with their own `-N` pathspace, configured as a user would
//! (`bfd` / `peer A local-address B interface eth0` / 10 ms x 3). The
//! session comes Up in both daemons' views, and each detects the other's
//! death.

use std::time::Duration;

use netns_tests::*;

const V: &str = "192.0.2.1";
const F: &str = "192.0.2.2";

macro_rules! require_frr {
    () => {
        require_netns!();
        if !frr_available() {
            if std::env::var("VRRPD_REQUIRE_NETNS").as_deref() == Ok("1") {
                panic!("VRRPD_REQUIRE_NETNS=1 but FRR (Debian's frr) is not installed");
            }
            eprintln!("SKIPPED {}: FRR not installed", module_path!());
            return;
        }
    };
}

fn frr_conf() -> String {
    format!(
        "bfd\n peer {V} local-address {F} interface eth0\n  transmit-interval 10\n  \
         receive-interval 10\n  detect-multiplier 3\n !\n!\n"
    )
}

fn vrrpd_group() -> String {
    format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = 150\nadvert_interval = \"1s\"\n\
         unicast_source = \"{V}\"\nunicast_peers = [\"{F}\"]\nvirtual_ips = [\"192.0.2.100/24\"]\n\
         [bfd]\nmin_tx = \"10ms\"\nmin_rx = \"10ms\"\nmultiplier = 3\n"
    )
}

/// vrrpd's view: (state, diag) of its one session.
fn vrrpd_bfd(n: &Node) -> (String, String) {
    let (_, out, _) = n.cli(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let s = &v["bfd"][0];
    (
        s["state"].as_str().unwrap_or("").to_string(),
        s["diag"].as_str().unwrap_or("").to_string(),
    )
}

/// FRR's view: the `Status:` word of its peer.
fn frr_status(f: &Frr) -> String {
    f.vtysh("show bfd peers")
        .lines()
        .find_map(|l| l.trim().strip_prefix("Status: ").map(str::to_string))
        .unwrap_or_default()
}

struct Bed {
    v: Node,
    fns: Netns,
    frr: Frr,
    _lan: Lan,
}

fn bed() -> Bed {
    let mut lan = Lan::new();
    let v = Node::new(&mut lan, "v", &[&format!("{V}/24")], "02:00:00:00:00:01");
    let fns = Netns::new("vfr");
    lan.attach(&fns, "eth0", Some("02:00:00:00:00:02"));
    fns.ip(&["addr", "add", &format!("{F}/24"), "dev", "eth0"]);
    let frr = Frr::start(&fns, &["bfdd"], &frr_conf());
    let mut v = v;
    v.write_group("web", &vrrpd_group());
    v.start();
    Bed {
        v,
        fns,
        frr,
        _lan: lan,
    }
}

impl Bed {
    fn both_up(&self) -> bool {
        vrrpd_bfd(&self.v).0 == "up" && frr_status(&self.frr) == "up"
    }

    fn explain(&self) -> String {
        format!(
            "\n--- vrrpd ---\n{}\n--- frr ---\n{}",
            self.v.log_text(),
            self.frr.vtysh("show bfd peers")
        )
    }
}

#[test]
fn bfd_session_with_frr_bfdd_comes_up_in_both_views_at_10ms() {
    require_frr!();
    let b = bed();
    let up = wait_until(Duration::from_secs(10), || b.both_up());
    assert!(up, "session never Up on both sides{}", b.explain());
    let peers = b.frr.vtysh("show bfd peers");
    // FRR agreed to our 10 ms: its remote timers are ours.
    let remote = peers.split("Remote timers:").nth(1).unwrap_or("");
    assert!(
        remote.contains("Receive interval: 10ms") && remote.contains("Transmission interval: 10ms"),
        "FRR does not see our 10 ms timers:\n{peers}"
    );
    // Steady for a while: no flap on either side.
    std::thread::sleep(Duration::from_secs(2));
    assert!(b.both_up(), "a flap{}", b.explain());
    assert!(
        !b.v.log_text().contains("BFD session down"),
        "vrrpd saw the session go down{}",
        b.explain()
    );
}

#[test]
fn bfd_with_frr_each_side_detects_the_others_death() {
    require_frr!();
    let mut b = bed();
    assert!(
        wait_until(Duration::from_secs(10), || b.both_up()),
        "never Up{}",
        b.explain()
    );
    // FRR's bfdd dies: vrrpd's detection time expires.
    b.frr.signal("bfdd", libc::SIGKILL);
    let down = wait_until(Duration::from_secs(3), || {
        vrrpd_bfd(&b.v) == ("down".into(), "control_detection_time_expired".into())
    });
    assert!(down, "vrrpd did not detect bfdd's death{}", b.explain());
    // It comes back: Up again.
    b.frr.restart(&b.fns, "bfdd");
    assert!(
        wait_until(Duration::from_secs(10), || b.both_up()),
        "not Up again after bfdd restarted{}",
        b.explain()
    );
    // vrrpd dies (SIGKILL: no AdminDown): FRR detects it.
    b.v.stop(libc::SIGKILL, Duration::from_secs(5));
    let frr_down = wait_until(Duration::from_secs(3), || frr_status(&b.frr) == "down");
    assert!(frr_down, "FRR did not detect vrrpd's death{}", b.explain());
    let peers = b.frr.vtysh("show bfd peers");
    assert!(
        peers.contains("Diagnostics: control detection time expired"),
        "FRR's diagnostic:\n{peers}"
    );
}
