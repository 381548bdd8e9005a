//! The harness itself: namespaces, a bridged LAN, cleanup on drop.

use netns_tests::*;

#[test]
fn lan_connects_members_and_cleans_up_on_drop() {
    require_netns!();
    let names;
    {
        let mut lan = Lan::new();
        let a = Netns::new("vta");
        let b = Netns::new("vtb");
        lan.attach(&a, "eth0", Some("02:00:00:00:00:01"));
        lan.attach(&b, "eth0", Some("02:00:00:00:00:02"));
        a.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
        b.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
        assert!(a.has_address("eth0", "192.0.2.1"));
        let mut ping = a.cmd("ping");
        ping.args(["-c", "1", "-W", "2", "192.0.2.2"]);
        let ok = run(&mut ping).map(|o| o.status.success()).unwrap_or(false);
        assert!(ok, "a cannot ping b across the bridge");
        names = vec![lan.switch.name.clone(), a.name.clone(), b.name.clone()];
    }
    let list = must(std::process::Command::new("ip").args(["netns", "list"]));
    for n in names {
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(n.as_str())),
            "namespace {n} left behind"
        );
    }
}

/// Every namespace the lab makes mirrors a proxy host: no IPv4 or IPv6
/// forwarding, whatever the host's own setting (a forwarding old master hides
/// lost packets from the client).
#[test]
fn lab_namespaces_do_not_forward() {
    require_netns!();
    let mut lan = Lan::new();
    let a = Netns::new("vtf");
    lan.attach(&a, "eth0", None);
    for key in [
        "net.ipv4.ip_forward",
        "net.ipv6.conf.all.forwarding",
        "net.ipv6.conf.eth0.forwarding",
    ] {
        let mut c = a.cmd("sysctl");
        c.args(["-n", key]);
        let v = must(&mut c);
        assert_eq!(v.trim(), "0", "{key} is {} in a lab namespace", v.trim());
    }
}
