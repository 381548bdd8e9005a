//! Planned moves lose nothing on proxy hosts (SPEC §4): a client pings the
//! VIP every millisecond while the master is stopped with SIGTERM or hands
//! over with `vrrpd handover`. Router namespaces do not forward (the lab
//! sets `ip_forward=0` and IPv6 forwarding off), so a packet that reaches the
//! old master after it let go is lost, never passed on.
//!
//! Matrix: IPv4 unicast, IPv4 multicast, IPv6 multicast × 20 ms, 100 ms and
//! 1 s adverts × SIGTERM and handover. Each case asserts zero probes lost
//! between the first and the last reply. The gap figures are printed; the
//! 2 ms goal lives in the bench (`bench --scenario outage`), not here.

use std::time::Duration;

use netns_tests::*;

#[derive(Clone, Copy, Debug)]
enum Mode {
    V4Unicast,
    V4Multicast,
    V6Multicast,
}

#[derive(Clone, Copy, Debug)]
enum Move {
    Sigterm,
    Handover,
}

const A4: &str = "192.0.2.1";
const B4: &str = "192.0.2.2";
const VIP4: &str = "192.0.2.100";
const VIP6: &str = "2001:db8::100";

fn group(mode: Mode, interval: &str, prio: u8, me: &str, peer: &str) -> String {
    let head = format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"{interval}\"\n"
    );
    let rest = match mode {
        Mode::V4Unicast => format!(
            "unicast_source = \"{me}\"\nunicast_peers = [\"{peer}\"]\n\
             virtual_ips = [\"{VIP4}/24\"]\n"
        ),
        Mode::V4Multicast => format!("virtual_ips = [\"{VIP4}/24\"]\n"),
        // RFC 5798 §5.2.9: the first IPv6 address is the link-local VIP.
        Mode::V6Multicast => format!("virtual_ips = [\"fe80::100/64\", \"{VIP6}/64\"]\n"),
    };
    head + &rest
}

fn planned_move_loses_nothing(mode: Mode, interval_ms: u64, how: Move) {
    let interval = format!("{interval_ms}ms");
    let mut lan = Lan::new();
    let a = Node::new(
        &mut lan,
        "a",
        &[&format!("{A4}/24"), "fe80::1/64"],
        "02:00:00:00:00:01",
    );
    let b = Node::new(
        &mut lan,
        "b",
        &[&format!("{B4}/24"), "fe80::2/64"],
        "02:00:00:00:00:02",
    );
    let (mut a, mut b) = (a, b);
    let client = Netns::new("vtc");
    lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
    client.ip(&["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    client.ip(&["addr", "add", "2001:db8::10/64", "dev", "eth0", "nodad"]);
    let vip = match mode {
        Mode::V6Multicast => VIP6,
        _ => VIP4,
    };
    a.write_group("web", &group(mode, &interval, 150, A4, B4));
    b.write_group("web", &group(mode, &interval, 100, B4, A4));
    let logs =
        |a: &Node, b: &Node| format!("\n--- a ---\n{}\n--- b ---\n{}", a.log_text(), b.log_text());
    a.start();
    b.start();
    let settled = wait_until(Duration::from_secs(10), || a.holds(vip) && !b.holds(vip));
    assert!(
        settled,
        "{mode:?}: a never became the only holder{}",
        logs(&a, &b)
    );
    // Let b hear a few adverts, then let the client's neighbour entry settle.
    std::thread::sleep(Duration::from_millis(3 * interval_ms).max(Duration::from_millis(300)));

    let ping = Pinger::start(&client, vip, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    match how {
        Move::Sigterm => {
            let st = a.stop(libc::SIGTERM, Duration::from_secs(15));
            assert!(
                st.is_some_and(|s| s.success()),
                "{mode:?} {interval}: a did not exit 0 on SIGTERM: {st:?}{}",
                logs(&a, &b)
            );
        }
        Move::Handover => {
            let (code, out, err) = a.cli(&["handover", "--timeout", "15s"]);
            assert_eq!(code, 0, "handover failed: {out}{err}{}", logs(&a, &b));
        }
    }
    let moved = wait_until(Duration::from_secs(5), || b.holds(vip) && !a.holds(vip));
    assert!(
        moved,
        "{mode:?} {interval}: the VIP did not move to b{}",
        logs(&a, &b)
    );
    std::thread::sleep(Duration::from_millis(300));
    let (stats, replies) = ping.stop_with_replies();
    let o = client_outage(&replies);
    eprintln!(
        "planned move {how:?} {mode:?} {interval}: sent {} received {} lost inside {}; \
         network gap {:.1} ms, longest silence {:.1} ms",
        stats.sent,
        stats.received,
        o.lost_inside,
        o.gap.as_secs_f64() * 1e3,
        o.raw_gap.as_secs_f64() * 1e3
    );
    assert!(
        stats.sent > 100 && stats.received > 100,
        "the client barely pinged: {stats:?}"
    );
    assert_eq!(
        o.lost_inside,
        0,
        "{how:?} {mode:?} {interval}: probes lost during a planned move:\n{}{}",
        o.around,
        logs(&a, &b)
    );
}

macro_rules! case {
    ($name:ident, $mode:expr, $ms:expr, $how:expr) => {
        #[test]
        fn $name() {
            require_netns!();
            planned_move_loses_nothing($mode, $ms, $how);
        }
    };
}

case!(
    sigterm_v4_unicast_20ms_loses_no_probe,
    Mode::V4Unicast,
    20,
    Move::Sigterm
);
case!(
    sigterm_v4_unicast_100ms_loses_no_probe,
    Mode::V4Unicast,
    100,
    Move::Sigterm
);
case!(
    sigterm_v4_unicast_1s_loses_no_probe,
    Mode::V4Unicast,
    1000,
    Move::Sigterm
);
case!(
    sigterm_v4_multicast_20ms_loses_no_probe,
    Mode::V4Multicast,
    20,
    Move::Sigterm
);
case!(
    sigterm_v4_multicast_100ms_loses_no_probe,
    Mode::V4Multicast,
    100,
    Move::Sigterm
);
case!(
    sigterm_v4_multicast_1s_loses_no_probe,
    Mode::V4Multicast,
    1000,
    Move::Sigterm
);
case!(
    sigterm_v6_multicast_20ms_loses_no_probe,
    Mode::V6Multicast,
    20,
    Move::Sigterm
);
case!(
    sigterm_v6_multicast_100ms_loses_no_probe,
    Mode::V6Multicast,
    100,
    Move::Sigterm
);
case!(
    sigterm_v6_multicast_1s_loses_no_probe,
    Mode::V6Multicast,
    1000,
    Move::Sigterm
);
case!(
    handover_v4_unicast_20ms_loses_no_probe,
    Mode::V4Unicast,
    20,
    Move::Handover
);
case!(
    handover_v4_unicast_100ms_loses_no_probe,
    Mode::V4Unicast,
    100,
    Move::Handover
);
case!(
    handover_v4_unicast_1s_loses_no_probe,
    Mode::V4Unicast,
    1000,
    Move::Handover
);
case!(
    handover_v4_multicast_20ms_loses_no_probe,
    Mode::V4Multicast,
    20,
    Move::Handover
);
case!(
    handover_v4_multicast_100ms_loses_no_probe,
    Mode::V4Multicast,
    100,
    Move::Handover
);
case!(
    handover_v4_multicast_1s_loses_no_probe,
    Mode::V4Multicast,
    1000,
    Move::Handover
);
case!(
    handover_v6_multicast_20ms_loses_no_probe,
    Mode::V6Multicast,
    20,
    Move::Handover
);
case!(
    handover_v6_multicast_100ms_loses_no_probe,
    Mode::V6Multicast,
    100,
    Move::Handover
);
case!(
    handover_v6_multicast_1s_loses_no_probe,
    Mode::V6Multicast,
    1000,
    Move::Handover
);
