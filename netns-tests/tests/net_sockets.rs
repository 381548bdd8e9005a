//! Raw VRRP sockets between namespaces on a bridged LAN: multicast and
//! unicast, IPv4 and IPv6, the right interface, source, destination, TTL /
//! hop limit 255, TOS / traffic class 0xc0 and payload bytes.
//!
//! Adverts are built by hand here (the codec lives elsewhere), with their
//! checksums computed by the helpers below.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use netns_tests::{Lan, Netns, require_netns};
use vrrpd::net::vrrp_socket::{RECV_BUF_LEN, VrrpSocketV4, VrrpSocketV6};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert_ne!(i, 0, "no interface {name} in this namespace");
    i
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// A VRRPv3 advert (RFC 5798 §5.1): version 3 type 1, VRID, priority, one
/// address, max advert interval 100 cs, checksum over `pseudo` + message.
fn advert_v3(vrid: u8, prio: u8, addr: &[u8], pseudo: Option<&[u8]>) -> Vec<u8> {
    let mut m = vec![0x31, vrid, prio, 1, 0x00, 100, 0, 0];
    m.extend_from_slice(addr);
    let mut sum = sum_words(&m);
    if let Some(p) = pseudo {
        sum += sum_words(p);
    }
    let c = fold(sum);
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[0, IPPROTO_VRRP]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, IPPROTO_VRRP]);
    p
}

/// IPv4 header + payload with TOS 0xc0, TTL 255 (checksum, length and ID
/// left for the kernel to fill, as IP_HDRINCL allows).
fn ipv4_datagram(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, proto, 0, 0];
    let total = (20 + payload.len()) as u16;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    d.extend_from_slice(payload);
    d
}

/// What a test saw, copied out of the receive buffer.
#[derive(Debug, Clone, PartialEq)]
struct Got {
    ifindex: u32,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    tos: u8,
    protocol: u8,
    header: Option<Vec<u8>>,
    payload: Vec<u8>,
}

enum Family {
    V4(u8),
    V6,
}

/// Start a receiver in `ns` joined on `devs`; it returns every packet seen
/// until `want` arrived or `limit` passed. Returns once it is listening.
fn receiver(
    ns: &Netns,
    devs: &[&str],
    family: Family,
    want: usize,
    limit: Duration,
) -> (std::thread::JoinHandle<Vec<Got>>, Vec<u32>) {
    let devs: Vec<String> = devs.iter().map(|d| d.to_string()).collect();
    let (tx, rx) = mpsc::channel();
    let h = ns.spawn_in(move || {
        let idx: Vec<u32> = devs.iter().map(|d| ifindex(d)).collect();
        rt().block_on(async move {
            let mut buf = vec![0u8; RECV_BUF_LEN];
            let mut got = Vec::new();
            let deadline = tokio::time::Instant::now() + limit;
            match family {
                Family::V4(proto) => {
                    let s = VrrpSocketV4::new(proto).expect("v4 socket");
                    for &i in &idx {
                        s.join(i).expect("join");
                    }
                    tx.send(idx.clone()).unwrap();
                    while got.len() < want {
                        let Ok(r) = tokio::time::timeout_at(deadline, s.recv(&mut buf)).await
                        else {
                            break;
                        };
                        let r = r.expect("recv");
                        got.push(Got {
                            ifindex: r.ifindex,
                            src: r.src,
                            dst: r.dst,
                            ttl: r.ttl_or_hop_limit,
                            tos: r.tos_or_tclass,
                            protocol: r.protocol,
                            header: r.ipv4_header.map(|h| h.to_vec()),
                            payload: r.payload.to_vec(),
                        });
                    }
                }
                Family::V6 => {
                    let s = VrrpSocketV6::new().expect("v6 socket");
                    for &i in &idx {
                        s.join(i).expect("join");
                    }
                    tx.send(idx.clone()).unwrap();
                    while got.len() < want {
                        let Ok(r) = tokio::time::timeout_at(deadline, s.recv(&mut buf)).await
                        else {
                            break;
                        };
                        let r = r.expect("recv");
                        got.push(Got {
                            ifindex: r.ifindex,
                            src: r.src,
                            dst: r.dst,
                            ttl: r.ttl_or_hop_limit,
                            tos: r.tos_or_tclass,
                            protocol: r.protocol,
                            header: None,
                            payload: r.payload.to_vec(),
                        });
                    }
                }
            }
            got
        })
    });
    let idx = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("receiver did not start");
    (h, idx)
}

/// Two nodes on one LAN: `a` (192.0.2.1, fe80::1) and `b` (192.0.2.2,
/// fe80::2), interface `eth0` in both.
fn two_nodes() -> (Lan, Netns, Netns) {
    let mut lan = Lan::new();
    let a = Netns::new("vna");
    let b = Netns::new("vnb");
    lan.attach(&a, "eth0", Some("02:00:00:00:00:0a"));
    lan.attach(&b, "eth0", Some("02:00:00:00:00:0b"));
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
    a.ip(&["addr", "add", "fe80::1/64", "dev", "eth0", "nodad"]);
    b.ip(&["addr", "add", "fe80::2/64", "dev", "eth0", "nodad"]);
    (lan, a, b)
}

fn check_v4(got: &Got, b_idx: u32, dst: Ipv4Addr, proto: u8, payload: &[u8]) {
    assert_eq!(got.ifindex, b_idx, "arrival interface");
    assert_eq!(got.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(got.dst, IpAddr::V4(dst));
    assert_eq!(got.ttl, 255, "TTL");
    assert_eq!(got.tos, 0xc0, "TOS");
    assert_eq!(got.protocol, proto);
    let h = got.header.as_ref().expect("IPv4 header");
    assert_eq!(h.len(), 20);
    assert_eq!(h[1], 0xc0, "TOS byte in the received header");
    assert_eq!(h[8], 255, "TTL byte in the received header");
    assert_eq!(
        fold(sum_words(h)),
        0,
        "kernel filled a valid header checksum"
    );
    assert_eq!(got.payload, payload, "payload bytes");
}

#[test]
fn net_ipv4_multicast_and_unicast_advert_arrive_intact() {
    require_netns!();
    let (_lan, a, b) = two_nodes();
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let peer = Ipv4Addr::new(192, 0, 2, 2);
    let vip = [192, 0, 2, 100];
    let mc = advert_v3(51, 150, &vip, Some(&pseudo_v4(src, VRRP_MCAST_V4, 12)));
    let uc = advert_v3(51, 150, &vip, Some(&pseudo_v4(src, peer, 12)));
    let (h, b_idx) = receiver(
        &b,
        &["eth0"],
        Family::V4(IPPROTO_VRRP),
        2,
        Duration::from_secs(5),
    );
    let (mc2, uc2) = (mc.clone(), uc.clone());
    a.run_in(move || {
        let i = ifindex("eth0");
        rt().block_on(async {
            let s = VrrpSocketV4::new(IPPROTO_VRRP).expect("socket");
            s.send(i, &ipv4_datagram(src, VRRP_MCAST_V4, IPPROTO_VRRP, &mc2))
                .await
                .expect("send multicast");
            s.send(i, &ipv4_datagram(src, peer, IPPROTO_VRRP, &uc2))
                .await
                .expect("send unicast");
        })
    });
    let got = h.join().expect("receiver");
    assert_eq!(got.len(), 2, "received {got:?}");
    check_v4(&got[0], b_idx[0], VRRP_MCAST_V4, IPPROTO_VRRP, &mc);
    check_v4(&got[1], b_idx[0], peer, IPPROTO_VRRP, &uc);
}

#[test]
fn net_ipv4_ah_socket_carries_protocol_51() {
    require_netns!();
    let (_lan, a, b) = two_nodes();
    let src = Ipv4Addr::new(192, 0, 2, 1);
    // 24 bytes of AH (next header 112, payload len 4, SPI = source) + a
    // VRRPv2 message; contents are opaque to the socket.
    let mut payload = vec![112, 4, 0, 0, 192, 0, 2, 1, 0, 0, 0, 1];
    payload.extend_from_slice(&[0xaa; 12]);
    payload.extend_from_slice(&[0x21, 51, 150, 1, 2, 1, 0, 0, 192, 0, 2, 100]);
    payload.extend_from_slice(&[0; 8]);
    let (h, b_idx) = receiver(
        &b,
        &["eth0"],
        Family::V4(IPPROTO_AH),
        1,
        Duration::from_secs(5),
    );
    let p2 = payload.clone();
    a.run_in(move || {
        let i = ifindex("eth0");
        rt().block_on(async {
            let s = VrrpSocketV4::new(IPPROTO_AH).expect("socket");
            // AH covers the ID: a non-zero one must survive IP_HDRINCL.
            let mut d = ipv4_datagram(src, VRRP_MCAST_V4, IPPROTO_AH, &p2);
            d[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
            s.send(i, &d).await.expect("send");
        })
    });
    let got = h.join().expect("receiver");
    assert_eq!(got.len(), 1, "received {got:?}");
    check_v4(&got[0], b_idx[0], VRRP_MCAST_V4, IPPROTO_AH, &payload);
    let h = got[0].header.as_ref().unwrap();
    assert_eq!(&h[4..6], &[0x12, 0x34], "IP ID kept as sent");
    assert_eq!(
        usize::from(u16::from_be_bytes([h[2], h[3]])),
        20 + payload.len()
    );
}

#[test]
fn net_ipv6_multicast_and_unicast_advert_arrive_with_kernel_checksum() {
    require_netns!();
    let (_lan, a, b) = two_nodes();
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let peer: Ipv6Addr = "fe80::2".parse().unwrap();
    let vip: Ipv6Addr = "fe80::100".parse().unwrap();
    // Checksum left zero: IPV6_CHECKSUM on the send socket fills it in.
    let msg = advert_v3(51, 150, &vip.octets(), None);
    let mut zeroed = msg.clone();
    zeroed[6] = 0;
    zeroed[7] = 0;
    let (h, b_idx) = receiver(&b, &["eth0"], Family::V6, 2, Duration::from_secs(5));
    let z2 = zeroed.clone();
    a.run_in(move || {
        let i = ifindex("eth0");
        rt().block_on(async {
            let s = VrrpSocketV6::new().expect("socket");
            s.send(i, src, VRRP_MCAST_V6, &z2).await.expect("send mc");
            s.send(i, src, peer, &z2).await.expect("send uc");
        })
    });
    let got = h.join().expect("receiver");
    assert_eq!(got.len(), 2, "received {got:?}");
    for (g, dst) in got.iter().zip([VRRP_MCAST_V6, peer]) {
        assert_eq!(g.ifindex, b_idx[0]);
        assert_eq!(g.src, IpAddr::V6(src));
        assert_eq!(g.dst, IpAddr::V6(dst));
        assert_eq!(g.ttl, 255, "hop limit");
        assert_eq!(g.tos, 0xc0, "traffic class");
        assert_eq!(g.protocol, IPPROTO_VRRP);
        assert!(g.header.is_none());
        // Everything but the checksum as sent; the checksum valid over the
        // RFC 8200 pseudo-header.
        let mut p = g.payload.clone();
        assert_eq!(
            fold(sum_words(&pseudo_v6(src, dst, p.len())) + sum_words(&p)),
            0,
            "kernel checksum verifies"
        );
        p[6] = 0;
        p[7] = 0;
        assert_eq!(p, zeroed);
    }
}

/// Send an IPv6 VRRP packet with a deliberately wrong checksum, without the
/// kernel's help (no IPV6_CHECKSUM), from the calling thread's namespace.
fn send_v6_bad_checksum(ifindex: u32, payload: &[u8]) {
    unsafe {
        let fd = libc::socket(libc::AF_INET6, libc::SOCK_RAW, i32::from(IPPROTO_VRRP));
        assert!(fd >= 0);
        let hops: libc::c_int = 255;
        let idx: libc::c_int = ifindex as libc::c_int;
        for (name, v) in [
            (libc::IPV6_MULTICAST_HOPS, hops),
            (libc::IPV6_MULTICAST_IF, idx),
        ] {
            let rc = libc::setsockopt(
                fd,
                libc::IPPROTO_IPV6,
                name,
                (&v as *const libc::c_int).cast(),
                4,
            );
            assert_eq!(rc, 0);
        }
        let mut sin6: libc::sockaddr_in6 = std::mem::zeroed();
        sin6.sin6_family = libc::AF_INET6 as u16;
        sin6.sin6_addr.s6_addr = VRRP_MCAST_V6.octets();
        sin6.sin6_scope_id = ifindex;
        let n = libc::sendto(
            fd,
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&sin6 as *const libc::sockaddr_in6).cast(),
            std::mem::size_of::<libc::sockaddr_in6>() as u32,
        );
        assert_eq!(n as usize, payload.len());
        libc::close(fd);
    }
}

#[test]
fn net_ipv6_receive_delivers_bad_checksums_for_the_daemon_to_count() {
    require_netns!();
    let (_lan, a, b) = two_nodes();
    let mut msg = advert_v3(
        51,
        150,
        &"fe80::100".parse::<Ipv6Addr>().unwrap().octets(),
        None,
    );
    msg[6] = 0xde;
    msg[7] = 0xad;
    let (h, _) = receiver(&b, &["eth0"], Family::V6, 1, Duration::from_secs(5));
    let m2 = msg.clone();
    a.run_in(move || send_v6_bad_checksum(ifindex("eth0"), &m2));
    let got = h.join().expect("receiver");
    assert_eq!(got.len(), 1, "a bad-checksum advert must reach the daemon");
    assert_eq!(got[0].payload, msg);
}

/// Node `a` on two LANs (eth0 on the first with `b`, eth1 on the second with
/// `c`): a multicast sent on eth1 must leave through eth1 only.
#[test]
fn net_multicast_leaves_through_the_chosen_interface() {
    require_netns!();
    let mut lan1 = Lan::new();
    let mut lan2 = Lan::new();
    let a = Netns::new("vna");
    let b = Netns::new("vnb");
    let c = Netns::new("vnc");
    lan1.attach(&a, "eth0", None);
    lan2.attach(&a, "eth1", None);
    lan1.attach(&b, "eth0", None);
    lan2.attach(&c, "eth0", None);
    a.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    a.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth1"]);
    a.ip(&["addr", "add", "fe80::a0/64", "dev", "eth0", "nodad"]);
    a.ip(&["addr", "add", "fe80::a1/64", "dev", "eth1", "nodad"]);

    for v6 in [false, true] {
        let fam = || {
            if v6 {
                Family::V6
            } else {
                Family::V4(IPPROTO_VRRP)
            }
        };
        let limit = Duration::from_millis(1500);
        let (hb, _) = receiver(&b, &["eth0"], fam(), 2, limit);
        let (hc, c_idx) = receiver(&c, &["eth0"], fam(), 2, limit);
        a.run_in(move || {
            let i1 = ifindex("eth1");
            rt().block_on(async {
                if v6 {
                    let s = VrrpSocketV6::new().unwrap();
                    let m = advert_v3(
                        7,
                        100,
                        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
                        None,
                    );
                    s.send(i1, "fe80::a1".parse().unwrap(), VRRP_MCAST_V6, &m)
                        .await
                        .unwrap();
                } else {
                    let src = Ipv4Addr::new(198, 51, 100, 1);
                    let m = advert_v3(
                        7,
                        100,
                        &[198, 51, 100, 7],
                        Some(&pseudo_v4(src, VRRP_MCAST_V4, 12)),
                    );
                    let s = VrrpSocketV4::new(IPPROTO_VRRP).unwrap();
                    s.send(i1, &ipv4_datagram(src, VRRP_MCAST_V4, IPPROTO_VRRP, &m))
                        .await
                        .unwrap();
                }
            })
        });
        let got_b = hb.join().unwrap();
        let got_c = hc.join().unwrap();
        assert_eq!(
            got_c.len(),
            1,
            "v6={v6}: C (behind eth1) must receive: {got_c:?}"
        );
        assert_eq!(got_c[0].ifindex, c_idx[0]);
        assert!(
            got_b.is_empty(),
            "v6={v6}: B (behind eth0) must not: {got_b:?}"
        );
    }
}
