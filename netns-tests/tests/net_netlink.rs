//! Netlink: interface resolution, address add/remove, and the event stream,
//! each inside its own namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use netns_tests::{Netns, require_netns};
use vrrpd::net::{NetError, NetEvent, NetEvents, Netlink};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A namespace with a veth pair `v0`/`v1` (both ends inside it, both up, so
/// v0 has carrier) and DAD left on (the namespace default).
fn veth_ns() -> Netns {
    let ns = Netns::new("vnl");
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns.ip(&["link", "set", "v0", "address", "02:00:00:00:01:00"]);
    ns.ip(&["link", "set", "v0", "up"]);
    ns.ip(&["link", "set", "v1", "up"]);
    ns
}

fn addr_line(ns: &Netns, dev: &str, addr: &str) -> Option<String> {
    let mut c = ns.cmd("ip");
    c.args(["-o", "addr", "show", "dev", dev]);
    let out = netns_tests::must(&mut c);
    out.lines()
        .find(|l| l.contains(&format!(" {addr}/")))
        .map(str::to_string)
}

#[test]
fn net_netlink_resolves_interface_and_adds_and_removes_addresses() {
    require_netns!();
    let ns = veth_ns();
    let ifindex: u32 = {
        let out = ns.ip(&["-o", "link", "show", "dev", "v0"]);
        out.split(':').next().unwrap().trim().parse().unwrap()
    };
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "v0"]);
    ns.ip(&["addr", "add", "192.0.2.2/24", "dev", "v0"]); // secondary
    ns.ip(&["addr", "add", "fe80::1/64", "dev", "v0", "nodad"]);

    let (tx, rx) = mpsc::channel::<&'static str>();
    let (back_tx, back_rx) = mpsc::channel::<()>();
    let h = ns.spawn_in(move || {
        rt().block_on(async move {
            let nl = Netlink::new().expect("netlink");
            let i = nl.interface("v0").await.expect("interface");
            assert_eq!(i.link.index, ifindex);
            assert_eq!(i.link.name, "v0");
            assert_eq!(i.link.mac, Some([2, 0, 0, 0, 1, 0]));
            assert!(i.link.up, "v0 is up with carrier: {:?}", i.link);
            assert_eq!(i.ipv4_primary, Some(Ipv4Addr::new(192, 0, 2, 1)));
            assert!(i.ipv6_link_local.is_some());
            let by_index = nl.link_by_index(ifindex).await.expect("by index");
            assert_eq!(by_index.name, "v0");
            assert!(matches!(
                nl.link_by_name("nosuch0").await,
                Err(NetError::NoSuchInterface(_))
            ));
            let links = nl.dump_links().await.expect("dump");
            assert!(links.iter().any(|l| l.name == "v1"));
            assert!(links.iter().any(|l| l.name == "lo"));

            let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
            let v6 = IpAddr::V6("2001:db8::10".parse::<Ipv6Addr>().unwrap());
            nl.add_address(ifindex, v4, 24).await.expect("add v4");
            nl.add_address(ifindex, v6, 64).await.expect("add v6");
            // Adding again replaces: still Ok.
            nl.add_address(ifindex, v4, 24).await.expect("re-add v4");
            nl.add_address(ifindex, v6, 64).await.expect("re-add v6");
            let addrs = nl.addresses(ifindex).await.expect("list");
            assert!(addrs.iter().any(|a| a.addr == v4 && a.prefix_len == 24));
            let a6 = addrs.iter().find(|a| a.addr == v6).expect("v6 listed");
            assert!(!a6.tentative, "NODAD address must not be tentative");
            tx.send("added").unwrap();
            back_rx.recv().unwrap();

            nl.del_address(ifindex, v4).await.expect("del v4");
            nl.del_address(ifindex, v6).await.expect("del v6");
            // Absent: still Ok.
            nl.del_address(ifindex, v4).await.expect("del absent v4");
            nl.del_address(ifindex, v6).await.expect("del absent v6");
            tx.send("removed").unwrap();
        })
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("added"));
    let l4 = addr_line(&ns, "v0", "203.0.113.10").expect("ip addr shows the IPv4 VIP");
    assert!(l4.contains("/24"), "{l4}");
    let l6 = addr_line(&ns, "v0", "2001:db8::10").expect("ip addr shows the IPv6 VIP");
    assert!(!l6.contains("tentative"), "{l6}");
    // The control: without NODAD the same kernel does hold it tentative, so
    // the check above means something.
    ns.ip(&["addr", "add", "2001:db8::99/64", "dev", "v0"]);
    let ctl = addr_line(&ns, "v0", "2001:db8::99").unwrap();
    assert!(ctl.contains("tentative"), "control address: {ctl}");
    back_tx.send(()).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("removed"));
    h.join().expect("netlink thread");
    assert!(!ns.has_address("v0", "203.0.113.10"));
    assert!(!ns.has_address("v0", "2001:db8::10"));
    assert!(
        ns.has_address("v0", "192.0.2.1"),
        "other addresses untouched"
    );
}

/// Wait (bounded) for an event matching `pred`; the events seen meanwhile.
async fn wait_event(
    ev: &mut NetEvents,
    limit: Duration,
    mut pred: impl FnMut(&NetEvent) -> bool,
) -> Result<NetEvent, Vec<NetEvent>> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, ev.next()).await {
            Ok(Some(e)) if pred(&e) => return Ok(e),
            Ok(Some(e)) => seen.push(e),
            Ok(None) | Err(_) => return Err(seen),
        }
    }
}

#[test]
fn net_events_report_link_down_up_and_address_changes() {
    require_netns!();
    let ns = veth_ns();
    ns.ip(&["addr", "add", "192.0.2.20/24", "dev", "v0"]);
    let (tx, rx) = mpsc::channel::<()>();
    let (step_tx, step_rx) = mpsc::channel::<&'static str>();
    let h = ns.spawn_in(move || {
        rt().block_on(async move {
            let mut ev = NetEvents::new().expect("events");
            let limit = Duration::from_secs(5);
            tx.send(()).unwrap();

            assert_eq!(step_rx.recv().unwrap(), "down");
            let e = wait_event(
                &mut ev,
                limit,
                |e| matches!(e, NetEvent::LinkChanged { name, up: false, .. } if name == "v0"),
            )
            .await;
            assert!(e.is_ok(), "no LinkChanged{{v0, up: false}}: saw {e:?}");
            tx.send(()).unwrap();

            assert_eq!(step_rx.recv().unwrap(), "up");
            let e = wait_event(
                &mut ev,
                limit,
                |e| matches!(e, NetEvent::LinkChanged { name, up: true, .. } if name == "v0"),
            )
            .await;
            assert!(e.is_ok(), "no LinkChanged{{v0, up: true}}: saw {e:?}");
            tx.send(()).unwrap();

            assert_eq!(step_rx.recv().unwrap(), "del");
            let want: IpAddr = "192.0.2.20".parse().unwrap();
            let e = wait_event(
                &mut ev,
                limit,
                |e| matches!(e, NetEvent::AddressRemoved { addr, .. } if *addr == want),
            )
            .await;
            assert!(e.is_ok(), "no AddressRemoved: saw {e:?}");
            tx.send(()).unwrap();

            assert_eq!(step_rx.recv().unwrap(), "add");
            let want: IpAddr = "2001:db8::20".parse().unwrap();
            let e = wait_event(&mut ev, limit, |e| {
                matches!(e, NetEvent::AddressAdded { addr, prefix_len: 64, .. } if *addr == want)
            })
            .await;
            assert!(e.is_ok(), "no AddressAdded: saw {e:?}");
        })
    });
    let step = |name: &'static str, args: &[&str]| {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("event thread stalled");
        ns.ip(args);
        step_tx.send(name).unwrap();
    };
    step("down", &["link", "set", "dev", "v0", "down"]);
    step("up", &["link", "set", "dev", "v0", "up"]);
    step("del", &["addr", "del", "192.0.2.20/24", "dev", "v0"]);
    step(
        "add",
        &["addr", "add", "2001:db8::20/64", "dev", "v0", "nodad"],
    );
    h.join().expect("event thread");
}

#[test]
fn net_events_report_overrun_when_notifications_are_lost() {
    require_netns!();
    let ns = veth_ns();
    let (tx, rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let h = ns.spawn_in(move || {
        rt().block_on(async move {
            // The smallest receive buffer the kernel allows; nothing reads
            // it while the burst below happens (this thread is blocked).
            let mut ev = NetEvents::with_rcvbuf(0).expect("events");
            tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let e = wait_event(&mut ev, Duration::from_secs(5), |e| {
                matches!(e, NetEvent::Overrun)
            })
            .await;
            assert!(e.is_ok(), "no Overrun after a burst: saw {e:?}");
        })
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let batch: String = (1..=200)
        .map(|i| format!("addr add 198.51.100.{i}/32 dev v0\n"))
        .collect();
    let path = std::env::temp_dir().join(format!("vrrpd-overrun-{}.batch", ns.name));
    std::fs::write(&path, batch).unwrap();
    ns.ip(&["-batch", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    go_tx.send(()).unwrap();
    h.join().expect("event thread");
}
