//! SPEC §1 virtual MAC mode (`use_vmac`): the VIPs live on a macvlan with
//! the VRRP MAC, so a client's neighbour entry for a VIP is that MAC before
//! and after a failover (IPv4 and IPv6, multicast and unicast); ARP for the
//! VIP is answered with the virtual MAC only; the macvlan is removed on
//! SIGTERM and, after a SIGKILL, by the next start, which never touches a
//! macvlan vrrpd did not create; a base that cannot carry a macvlan is a
//! clear error and the group waits in FAULT.

#[path = "ops_common.rs"]
mod common;

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use common::{group_status, lock, logs, state_of};
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const VMAC4: &str = "00:00:5e:00:01:33";
const VMAC6: &str = "00:00:5e:00:02:33";

#[derive(Clone, Copy, Debug)]
enum Family {
    V4,
    V6,
}

struct Case {
    family: Family,
    unicast: bool,
}

impl Case {
    fn vip(&self) -> &'static str {
        match self.family {
            Family::V4 => "192.0.2.100",
            Family::V6 => "2001:db8::100",
        }
    }
    fn vmac_if(&self) -> &'static str {
        match self.family {
            Family::V4 => "vrrp.51",
            Family::V6 => "vrrp6.51",
        }
    }
    fn mac(&self) -> &'static str {
        match self.family {
            Family::V4 => VMAC4,
            Family::V6 => VMAC6,
        }
    }
    fn group(&self, prio: u8, me: &str, peer: &str) -> String {
        let (vips, me, peer) = match self.family {
            Family::V4 => (
                "\"192.0.2.100/24\"".to_string(),
                me.to_string(),
                peer.to_string(),
            ),
            Family::V6 => (
                "\"fe80::100/64\", \"2001:db8::100/64\"".to_string(),
                format!("fe80::{me}"),
                format!("fe80::{peer}"),
            ),
        };
        let (me, peer) = match self.family {
            Family::V4 => (format!("192.0.2.{me}"), format!("192.0.2.{peer}")),
            Family::V6 => (me, peer),
        };
        let uni = if self.unicast {
            format!("unicast_source = \"{me}\"\nunicast_peers = [\"{peer}\"]\n")
        } else {
            String::new()
        };
        format!(
            "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
             advert_interval = \"100ms\"\nuse_vmac = true\n{uni}virtual_ips = [{vips}]\n"
        )
    }
}

fn holds_on_vmac(n: &Node, case: &Case) -> bool {
    n.ns.has_address(case.vmac_if(), case.vip())
}

/// The client's neighbour entry's MAC for `vip` ("" when none).
fn neighbour_mac(client: &Netns, vip: &str) -> String {
    let fam = if vip.contains(':') { "-6" } else { "-4" };
    let out = client.ip(&[fam, "neigh", "show", vip, "dev", "eth0"]);
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or("")
        .to_string()
}

/// Ping `vip` from the client until one answer (bounded).
fn reachable(client: &Netns, vip: &str) -> bool {
    wait_until(Duration::from_secs(5), || {
        let mut c = client.cmd("ping");
        c.args(["-c", "1", "-W", "1", vip]);
        run(&mut c).map(|o| o.status.success()).unwrap_or(false)
    })
}

struct Bed {
    a: Node,
    b: Node,
    client: Netns,
    _lan: Lan,
}

fn bed() -> Bed {
    let mut lan = Lan::new();
    let a = Node::new(
        &mut lan,
        "a",
        &["192.0.2.1/24", "fe80::1/64", "2001:db8::1/64"],
        "02:00:00:00:00:01",
    );
    let b = Node::new(
        &mut lan,
        "b",
        &["192.0.2.2/24", "fe80::2/64", "2001:db8::2/64"],
        "02:00:00:00:00:02",
    );
    let client = Netns::new("vtc");
    lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
    client.ip(&["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    client.ip(&["addr", "add", "2001:db8::a/64", "dev", "eth0", "nodad"]);
    Bed {
        a,
        b,
        client,
        _lan: lan,
    }
}

/// Every "is-at" / neighbour advertisement MAC for `vip` the client saw.
fn answers_seen(text: &str, vip: &str) -> Vec<String> {
    let mut macs = Vec::new();
    for l in text.lines() {
        // tcpdump -e: "MAC1 > MAC2, ethertype ..., ... VIP is-at MAC" (ARP)
        // or "... neighbor advertisement, tgt is VIP, ..." (NA, src MAC first).
        let arp = l.contains(&format!("{vip} is-at "));
        let na = l.contains("neighbor advertisement") && l.contains(&format!("tgt is {vip},"));
        if (arp || na)
            && let Some(src) = l.split_whitespace().nth(1)
        {
            macs.push(src.to_string());
        }
    }
    macs
}

fn failover_keeps_the_client_neighbour_entry(case: Case) {
    let _g = lock(&SERIAL);
    let bed = bed();
    let (mut a, mut b) = (bed.a, bed.b);
    let fail = |what: &str, a: &Node, b: &Node| -> ! {
        panic!(
            "{:?} unicast={}: {what}{}",
            case.family,
            case.unicast,
            logs(&[a, b])
        )
    };
    a.write_group("web", &case.group(150, "1", "2"));
    b.write_group("web", &case.group(100, "2", "1"));
    a.start();
    b.start();
    let ok = wait_until(Duration::from_secs(6), || {
        holds_on_vmac(&a, &case) && state_of(&b, "web") == "backup"
    });
    if !ok {
        fail("a never became master on its vmac", &a, &b);
    }
    // The VIP is on the macvlan, never on the base interface.
    if a.holds(case.vip()) {
        fail("the VIP is on a's base interface", &a, &b);
    }
    let link = a.ns.ip(&["-o", "link", "show", case.vmac_if()]);
    if !link.contains(case.mac()) || !link.contains("macvlan") && !link.contains("@eth0") {
        fail(
            &format!("a's vmac link is not the VRRP MAC on eth0: {link}"),
            &a,
            &b,
        );
    }
    let st = group_status(&a, "web").unwrap_or_default();
    if st["vmac_interface"] != case.vmac_if() {
        fail(&format!("status has no vmac_interface: {st}"), &a, &b);
    }
    // Resolve the VIP afresh while watching every answer on the wire.
    let dump_path = std::env::temp_dir().join(unique_name("vmac-dump-"));
    let file = std::fs::File::create(&dump_path).expect("dump file");
    let mut c = bed.client.cmd("tcpdump");
    c.args(["-i", "eth0", "-e", "-nn", "-l", "arp or icmp6"])
        .stdout(file)
        .stderr(Stdio::null());
    let mut dump = Proc::spawn(c);
    std::thread::sleep(Duration::from_millis(500));
    let fam = if case.vip().contains(':') { "-6" } else { "-4" };
    bed.client.ip_try(&[fam, "neigh", "flush", "dev", "eth0"]);
    if !reachable(&bed.client, case.vip()) {
        fail("client cannot reach the VIP on a", &a, &b);
    }
    std::thread::sleep(Duration::from_millis(300));
    dump.signal(libc::SIGINT);
    let _ = dump.wait_timeout(Duration::from_secs(3));
    let text = std::fs::read_to_string(&dump_path).unwrap_or_default();
    let _ = std::fs::remove_file(&dump_path);
    let seen = answers_seen(&text, case.vip());
    if seen.is_empty() || seen.iter().any(|m| m != case.mac()) {
        fail(
            &format!(
                "answers for the VIP not only from {}: {seen:?}\n{text}",
                case.mac()
            ),
            &a,
            &b,
        );
    }
    let before = neighbour_mac(&bed.client, case.vip());
    if before != case.mac() {
        fail(
            &format!("client's neighbour entry before failover: {before:?}"),
            &a,
            &b,
        );
    }
    // Link cut on the master.
    a.ns.ip(&["link", "set", "eth0", "down"]);
    let ok = wait_until(Duration::from_secs(6), || holds_on_vmac(&b, &case));
    if !ok {
        fail("b never took the VIP after the link cut", &a, &b);
    }
    if !reachable(&bed.client, case.vip()) {
        fail("client cannot reach the VIP on b", &a, &b);
    }
    let after = neighbour_mac(&bed.client, case.vip());
    if after != case.mac() {
        fail(
            &format!("client's neighbour entry after failover: {after:?}"),
            &a,
            &b,
        );
    }
    // a in fault holds nothing, and its macvlan is down.
    if holds_on_vmac(&a, &case) || state_of(&a, "web") != "fault" {
        fail("a still holds the VIP or is not in fault", &a, &b);
    }
    // Back: a preempts, the entry is still the VRRP MAC.
    a.ns.ip(&["link", "set", "eth0", "up"]);
    // Admin down flushed a's IPv6 addresses; its network config puts them
    // back on link up (as ifupdown would).
    for c in ["fe80::1/64", "2001:db8::1/64"] {
        a.ns.ip_try(&["addr", "add", c, "dev", "eth0", "nodad"]);
    }
    let ok = wait_until(Duration::from_secs(8), || {
        holds_on_vmac(&a, &case) && !holds_on_vmac(&b, &case)
    });
    if !ok {
        fail("a did not take the VIP back", &a, &b);
    }
    if !reachable(&bed.client, case.vip()) || neighbour_mac(&bed.client, case.vip()) != case.mac() {
        fail(
            "client lost the VIP or its VRRP MAC after a came back",
            &a,
            &b,
        );
    }
    // SIGTERM: the macvlan goes, the base's ARP sysctls come back.
    a.stop(libc::SIGTERM, Duration::from_secs(5));
    b.stop(libc::SIGTERM, Duration::from_secs(5));
    for n in [&a, &b] {
        if n.ns.ip_try(&["link", "show", case.vmac_if()]) {
            fail(&format!("{}: macvlan left after SIGTERM", n.name), &a, &b);
        }
        let v = sysctl_of(&n.ns, "arp_ignore");
        if v != "0" {
            fail(&format!("{}: arp_ignore not restored: {v}", n.name), &a, &b);
        }
    }
}

fn sysctl_of(ns: &Netns, key: &str) -> String {
    let mut c = ns.cmd("cat");
    c.arg(format!("/proc/sys/net/ipv4/conf/eth0/{key}"));
    run(&mut c)
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[test]
fn vmac_neighbour_entry_survives_failover_ipv4_multicast() {
    require_netns!();
    failover_keeps_the_client_neighbour_entry(Case {
        family: Family::V4,
        unicast: false,
    });
}

#[test]
fn vmac_neighbour_entry_survives_failover_ipv4_unicast() {
    require_netns!();
    failover_keeps_the_client_neighbour_entry(Case {
        family: Family::V4,
        unicast: true,
    });
}

#[test]
fn vmac_neighbour_entry_survives_failover_ipv6_multicast() {
    require_netns!();
    failover_keeps_the_client_neighbour_entry(Case {
        family: Family::V6,
        unicast: false,
    });
}

#[test]
fn vmac_neighbour_entry_survives_failover_ipv6_unicast() {
    require_netns!();
    failover_keeps_the_client_neighbour_entry(Case {
        family: Family::V6,
        unicast: true,
    });
}

#[test]
fn sigkill_then_restart_leaves_no_stale_macvlan_and_spares_foreign_ones() {
    require_netns!();
    let _g = lock(&SERIAL);
    let bed = bed();
    let mut a = bed.a;
    // Not ours: the VRRP MAC and a vrrpd-like name but no vrrpd mark.
    a.ns.ip(&[
        "link",
        "add",
        "link",
        "eth0",
        "name",
        "vrrp.77",
        "address",
        "00:00:5e:00:01:4d",
        "type",
        "macvlan",
        "mode",
        "bridge",
    ]);
    let case = Case {
        family: Family::V4,
        unicast: false,
    };
    a.write_group("web", &case.group(150, "1", "2"));
    a.start();
    let ok = wait_until(Duration::from_secs(6), || holds_on_vmac(&a, &case));
    assert!(ok, "a never became master{}", a.log_text());
    assert_eq!(
        sysctl_of(&a.ns, "arp_ignore"),
        "1",
        "base arp_ignore while running"
    );
    a.stop(libc::SIGKILL, Duration::from_secs(5));
    assert!(
        a.ns.ip_try(&["link", "show", "vrrp.51"]),
        "the test needs a stale macvlan after SIGKILL"
    );
    // The next run removes it (and restores the base from its record)...
    a.write_group(
        "web",
        &case.group(150, "1", "2").replace("vrid = 51", "vrid = 52"),
    );
    a.start();
    let ok = wait_until(Duration::from_secs(6), || {
        a.ns.has_address("vrrp.52", "192.0.2.100")
    });
    assert!(ok, "restarted a never became master{}", a.log_text());
    assert!(
        !a.ns.ip_try(&["link", "show", "vrrp.51"]),
        "stale macvlan vrrp.51 survived the restart{}",
        a.log_text()
    );
    assert!(a.log_text().contains("removed stale virtual MAC interface"));
    a.stop(libc::SIGTERM, Duration::from_secs(5));
    assert!(
        !a.ns.ip_try(&["link", "show", "vrrp.52"]),
        "vrrp.52 left after SIGTERM"
    );
    // ...but never one it did not create.
    assert!(
        a.ns.ip_try(&["link", "show", "vrrp.77"]),
        "a foreign macvlan was deleted{}",
        a.log_text()
    );
    // The sysctls recorded before the SIGKILL are back, not the run's own.
    assert_eq!(sysctl_of(&a.ns, "arp_ignore"), "0", "{}", a.log_text());
    assert_eq!(sysctl_of(&a.ns, "arp_announce"), "0", "{}", a.log_text());
}

#[test]
fn use_vmac_on_an_interface_without_macvlan_support_faults_with_a_clear_error() {
    require_netns!();
    let _g = lock(&SERIAL);
    let bed = bed();
    let mut a = bed.a;
    a.write_group(
        "web",
        "vrid = 51\ninterface = \"lo\"\nuse_vmac = true\nvirtual_ips = [\"192.0.2.100/24\"]\n",
    );
    a.start();
    let ok = wait_until(Duration::from_secs(5), || {
        a.log_text().contains("use_vmac: cannot create macvlan")
    });
    assert!(ok, "no clear error{}", a.log_text());
    let log = a.log_text();
    assert!(
        log.contains("\"lo\""),
        "the error names the interface: {log}"
    );
    assert_eq!(state_of(&a, "web"), "fault", "{log}");
    assert!(!a.ns.ip_try(&["link", "show", "vrrp.51"]));
}

#[test]
fn vmac_deleted_behind_our_back_is_recreated_and_a_reload_removing_the_group_deletes_it() {
    require_netns!();
    let _g = lock(&SERIAL);
    let bed = bed();
    let mut a = bed.a;
    let case = Case {
        family: Family::V4,
        unicast: false,
    };
    a.write_group("web", &case.group(150, "1", "2"));
    a.start();
    let ok = wait_until(Duration::from_secs(6), || holds_on_vmac(&a, &case));
    assert!(ok, "a never became master{}", a.log_text());
    // An operator deletes the macvlan: the group starts afresh on a new one.
    a.ns.ip(&["link", "del", "vrrp.51"]);
    let ok = wait_until(Duration::from_secs(6), || holds_on_vmac(&a, &case));
    assert!(
        ok,
        "the VIP did not come back on a new macvlan{}",
        a.log_text()
    );
    assert!(reachable(&bed.client, case.vip()), "{}", a.log_text());
    assert_eq!(neighbour_mac(&bed.client, case.vip()), VMAC4);
    // A reload without the group: its macvlan goes, the base's sysctls too.
    a.remove_group("web");
    a.write_group(
        "other",
        "vrid = 60\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.160/24\"]\n",
    );
    let (code, out, err) = a.cli(&["reload"]);
    assert_eq!(code, 0, "reload: {out}{err}{}", a.log_text());
    let ok = wait_until(Duration::from_secs(3), || {
        !a.ns.ip_try(&["link", "show", "vrrp.51"])
    });
    assert!(
        ok,
        "macvlan left after the reload removed its group{}",
        a.log_text()
    );
    assert_eq!(sysctl_of(&a.ns, "arp_ignore"), "0", "{}", a.log_text());
    a.stop(libc::SIGTERM, Duration::from_secs(5));
}
