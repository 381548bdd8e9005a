//! Gratuitous ARP and unsolicited NA over the AF_PACKET sender: what the
//! neighbour on the LAN learns (`ip neigh`) and sees (tcpdump).

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use netns_tests::{Lan, Netns, Proc, require_netns, wait_until};
use vrrpd::net::PacketSender;
use vrrpd::proto::frames::{gratuitous_arp, unsolicited_na};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert_ne!(i, 0, "no interface {name}");
    i
}

#[test]
fn net_garp_and_unsolicited_na_reach_the_neighbour() {
    require_netns!();
    let mut lan = Lan::new();
    let a = Netns::new("vfa");
    let b = Netns::new("vfb");
    lan.attach(&a, "eth0", Some("02:00:00:00:00:0a"));
    lan.attach(&b, "eth0", Some("02:00:00:00:00:0b"));
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
    b.ip(&["addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"]);
    // Linux ignores unsolicited announcements for unknown neighbours by
    // default; let B learn from them so `ip neigh` shows the result. For
    // NAs the kernel (RFC 9131) only creates entries on a *forwarding*
    // interface with accept_untracked_na set.
    b.sysctl("net.ipv4.conf.eth0.arp_accept=1");
    b.sysctl("net.ipv6.conf.eth0.forwarding=1");
    b.sysctl("net.ipv6.conf.eth0.accept_untracked_na=1");

    let dir = std::env::temp_dir();
    let out_path = dir.join(format!("vrrpd-{}.tcpdump", b.name));
    let err_path = dir.join(format!("vrrpd-{}.tcpdump.err", b.name));
    let mut cmd = b.cmd("tcpdump");
    cmd.args([
        "-i",
        "eth0",
        "-l",
        "-nn",
        "-e",
        "-v",
        "-c",
        "2",
        "arp or (icmp6 and ip6[40] == 136)",
    ])
    .stdin(Stdio::null())
    .stdout(File::create(&out_path).unwrap())
    .stderr(File::create(&err_path).unwrap());
    let mut dump = Proc::spawn(cmd);
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(
            &err_path
        )
        .map(|s| s.contains("listening on"))
        .unwrap_or(false)),
        "tcpdump did not start"
    );

    let proto_zero = a.run_in(|| {
        let i = ifindex("eth0");
        rt().block_on(async move {
            let s = PacketSender::new(i).expect("packet socket");
            s.send(&gratuitous_arp(MAC_A, "192.0.2.100".parse().unwrap()))
                .await
                .expect("send GARP");
            s.send(&unsolicited_na(MAC_A, "2001:db8::100".parse().unwrap()))
                .await
                .expect("send NA");
            // The socket is bound with protocol 0: it taps no traffic.
            let table = std::fs::read_to_string("/proc/thread-self/net/packet").unwrap();
            table.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 4 && f[2] == "3" && f[3] == "0000" && f[4] == i.to_string()
            })
        })
    });
    assert!(
        proto_zero,
        "no SOCK_RAW protocol-0 packet socket bound to eth0"
    );

    let ok = wait_until(Duration::from_secs(5), || {
        let n4 = b.ip(&["neigh", "show", "dev", "eth0", "192.0.2.100"]);
        let n6 = b.ip(&["-6", "neigh", "show", "dev", "eth0", "2001:db8::100"]);
        n4.contains("lladdr 02:00:00:00:00:0a") && n6.contains("lladdr 02:00:00:00:00:0a")
    });
    let n4 = b.ip(&["neigh", "show", "dev", "eth0", "192.0.2.100"]);
    let n6 = b.ip(&["-6", "neigh", "show", "dev", "eth0", "2001:db8::100"]);
    assert!(ok, "B did not learn the VIPs: v4 {n4:?} v6 {n6:?}");
    assert!(!n6.contains("router"), "Router flag must be off: {n6}");
    // An unsolicited (S=0) NA may only create a STALE entry.
    assert!(n6.contains("STALE"), "{n6}");

    dump.wait_timeout(Duration::from_secs(5));
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let arp = text
        .lines()
        .find(|l| l.contains("ARP"))
        .unwrap_or_else(|| panic!("no ARP in capture:\n{text}"));
    assert!(
        arp.contains("02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff"),
        "{arp}"
    );
    assert!(
        arp.contains("Request who-has 192.0.2.100 tell 192.0.2.100"),
        "{arp}"
    );
    assert!(
        text.contains("02:00:00:00:00:0a > 33:33:00:00:00:01"),
        "{text}"
    );
    assert!(text.contains("hlim 255"), "{text}");
    assert!(text.contains("2001:db8::100 > ff02::1"), "{text}");
    assert!(
        text.contains("neighbor advertisement") && text.contains("tgt is 2001:db8::100"),
        "{text}"
    );
    assert!(text.contains("Flags [override]"), "{text}");
    assert!(
        text.contains("destination link-address option (2)") && text.contains("02:00:00:00:00:0a"),
        "{text}"
    );
}
