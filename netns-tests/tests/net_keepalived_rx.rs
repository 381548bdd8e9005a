//! Real keepalived 2.2.7 adverts (VRRPv3, IPv4 and IPv6 multicast) as the
//! raw sockets deliver them: what the daemon's receive path will see from
//! the interop target.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use netns_tests::{Lan, Netns, Proc, require_netns};
use vrrpd::net::vrrp_socket::{RECV_BUF_LEN, VrrpSocketV4, VrrpSocketV6};
use vrrpd::proto::wire::{IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn sum_words(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn keepalived(ns: &Netns, conf: &str) -> (Proc, Vec<std::path::PathBuf>) {
    let dir = std::env::temp_dir();
    let conf_path = dir.join(format!("vrrpd-{}.conf", ns.name));
    let pid = dir.join(format!("vrrpd-{}.pid", ns.name));
    let vpid = dir.join(format!("vrrpd-{}.vrrp.pid", ns.name));
    std::fs::write(&conf_path, conf).unwrap();
    let mut c = ns.cmd("keepalived");
    c.args(["-n", "-l", "-P", "-f"])
        .arg(&conf_path)
        .arg("-p")
        .arg(&pid)
        .arg("-r")
        .arg(&vpid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (Proc::spawn(c), vec![conf_path, pid, vpid])
}

#[test]
fn net_receives_keepalived_v3_adverts_ipv4_and_ipv6() {
    require_netns!();
    let mut lan = Lan::new();
    let a = Netns::new("vka");
    let b = Netns::new("vkb");
    lan.attach(&a, "eth0", None);
    lan.attach(&b, "eth0", None);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    a.ip(&["addr", "add", "fe80::1/64", "dev", "eth0", "nodad"]);
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);

    // Start B's receivers first; keepalived becomes master after ~3 s of
    // silence and then advertises every second.
    let (tx, rx) = mpsc::channel();
    let h = b.spawn_in(move || {
        let c = std::ffi::CString::new("eth0").unwrap();
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        rt().block_on(async move {
            let s4 = VrrpSocketV4::new(IPPROTO_VRRP).unwrap();
            let s6 = VrrpSocketV6::new().unwrap();
            s4.join(idx).unwrap();
            s6.join(idx).unwrap();
            tx.send(()).unwrap();
            let mut b4 = vec![0u8; RECV_BUF_LEN];
            let mut b6 = vec![0u8; RECV_BUF_LEN];
            let limit = Duration::from_secs(10);
            let r4 = tokio::time::timeout(limit, s4.recv(&mut b4))
                .await
                .expect("no IPv4 advert from keepalived")
                .unwrap();
            let r6 = tokio::time::timeout(limit, s6.recv(&mut b6))
                .await
                .expect("no IPv6 advert from keepalived")
                .unwrap();
            assert_eq!(r4.ifindex, idx);
            assert_eq!(r4.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
            assert_eq!(r4.dst, IpAddr::V4(VRRP_MCAST_V4));
            assert_eq!(r4.ttl_or_hop_limit, 255);
            assert_eq!(r4.tos_or_tclass, 0xc0);
            assert_eq!(r4.protocol, 112);
            assert_eq!(&r4.payload[..2], &[0x31, 51]);
            let src6: Ipv6Addr = "fe80::1".parse().unwrap();
            assert_eq!(r6.ifindex, idx);
            assert_eq!(r6.src, IpAddr::V6(src6));
            assert_eq!(r6.dst, IpAddr::V6(VRRP_MCAST_V6));
            assert_eq!(r6.ttl_or_hop_limit, 255);
            assert_eq!(r6.tos_or_tclass, 0xc0);
            assert_eq!(&r6.payload[..2], &[0x31, 52]);
            // IPv6 checksum over the pseudo-header, checked in user space.
            let mut ph = Vec::new();
            ph.extend_from_slice(&src6.octets());
            ph.extend_from_slice(&VRRP_MCAST_V6.octets());
            ph.extend_from_slice(&(r6.payload.len() as u32).to_be_bytes());
            ph.extend_from_slice(&[0, 0, 0, 112]);
            assert_eq!(fold(sum_words(&ph) + sum_words(r6.payload)), 0);
        })
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let conf = "\
global_defs {
    vrrp_version 3
}
vrrp_instance v4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance v6 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 150
    advert_int 1
    virtual_ipaddress {
        fe80::100/64
    }
}
";
    let (_ka, files) = keepalived(&a, conf);
    let res = h.join();
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    res.expect("receiver");
}
