//! Golden bytes for the gratuitous ARP and unsolicited NA frames, written out
//! by hand from RFC 826 and RFC 4861 §4.4 / §4.6.1. The NA checksum below was
//! computed outside this code (a short Python one-off over the RFC 8200 §8.1
//! pseudo-header) and is re-verified here by an independent one's-complement
//! sum over the finished frame.

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrpd::proto::frames::{
    GARP_LEN, UNSOLICITED_NA_LEN, gratuitous_arp, icmpv6_checksum, unsolicited_na,
};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x01, 0x33];

#[test]
fn gratuitous_arp_is_a_broadcast_request_with_sender_and_target_the_vip() {
    let f = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 100));
    #[rustfmt::skip]
    let expected: [u8; 42] = [
        // Ethernet: dst broadcast, src = interface MAC, type ARP
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x02, 0x00, 0x5e, 0x00, 0x01, 0x33,
        0x08, 0x06,
        // ARP: htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request)
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        // sender hardware, sender protocol = VIP
        0x02, 0x00, 0x5e, 0x00, 0x01, 0x33, 192, 0, 2, 100,
        // target hardware zero, target protocol = VIP
        0, 0, 0, 0, 0, 0, 192, 0, 2, 100,
    ];
    assert_eq!(GARP_LEN, 42);
    assert_eq!(f, expected);
}

#[rustfmt::skip]
fn expected_na(vip: [u8; 16], checksum: [u8; 2]) -> Vec<u8> {
    let mut v = vec![
        // Ethernet: dst 33:33:00:00:00:01 (ff02::1), src MAC, type IPv6
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01,
        0x02, 0x00, 0x5e, 0x00, 0x01, 0x33,
        0x86, 0xdd,
        // IPv6: version 6, TC 0, flow 0; payload 32; next header 58; hop limit 255
        0x60, 0x00, 0x00, 0x00, 0x00, 32, 58, 255,
    ];
    v.extend_from_slice(&vip); // source = VIP
    v.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // ICMPv6: type 136, code 0, checksum
    v.extend_from_slice(&[136, 0, checksum[0], checksum[1]]);
    // flags: R=0 S=0 O=1, reserved
    v.extend_from_slice(&[0x20, 0, 0, 0]);
    v.extend_from_slice(&vip); // target
    // option 2 (target link-layer address), length 1 (8 bytes), MAC
    v.extend_from_slice(&[2, 1, 0x02, 0x00, 0x5e, 0x00, 0x01, 0x33]);
    v
}

/// Independent check: the one's-complement sum over pseudo-header and the
/// whole ICMPv6 message, checksum included, must be 0xffff.
fn checksum_verifies(frame: &[u8]) -> bool {
    let ip = &frame[14..54];
    let icmp = &frame[54..];
    let mut words: Vec<u16> = Vec::new();
    let mut push = |b: &[u8]| {
        for c in b.chunks(2) {
            words.push(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    push(&ip[8..40]); // src + dst
    push(&(icmp.len() as u32).to_be_bytes());
    push(&[0, 0, 0, ip[6]]);
    push(icmp);
    let mut sum: u64 = words.iter().map(|&w| u64::from(w)).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

#[test]
fn unsolicited_na_global_vip_matches_rfc4861_layout() {
    let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let f = unsolicited_na(MAC, vip);
    assert_eq!(UNSOLICITED_NA_LEN, 86);
    assert_eq!(f.to_vec(), expected_na(vip.octets(), [0x99, 0xda]));
    assert!(checksum_verifies(&f));
}

#[test]
fn unsolicited_na_link_local_vip_matches_rfc4861_layout() {
    let vip: Ipv6Addr = "fe80::1".parse().unwrap();
    let f = unsolicited_na(MAC, vip);
    assert_eq!(f.to_vec(), expected_na(vip.octets(), [0xf8, 0x68]));
    assert!(checksum_verifies(&f));
}

#[test]
fn unsolicited_na_flags_are_override_only() {
    let f = unsolicited_na(MAC, "2001:db8::1".parse().unwrap());
    let flags = f[14 + 40 + 4];
    assert_eq!(flags & 0x80, 0, "Router flag must be off");
    assert_eq!(flags & 0x40, 0, "Solicited flag must be off");
    assert_eq!(flags & 0x20, 0x20, "Override flag must be on");
}

#[test]
fn icmpv6_checksum_detects_a_flipped_bit() {
    let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let mut f = unsolicited_na(MAC, vip);
    f[54 + 30] ^= 0x01;
    assert!(!checksum_verifies(&f));
    // Recomputing over the zeroed field gives a different value now.
    let mut icmp = f[54..].to_vec();
    icmp[2] = 0;
    icmp[3] = 0;
    assert_ne!(
        icmpv6_checksum(vip, "ff02::1".parse().unwrap(), &icmp),
        0x99da
    );
}

#[test]
fn unsolicited_na_router_flag_follows_ndisc_router() {
    // SPEC §1 ndisc_router, RFC 4861 §4.4: R set on request, Override always,
    // and the checksum still verifies.
    use vrrpd::proto::frames::unsolicited_na_flags;
    let vip: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let with = unsolicited_na_flags(MAC, vip, true);
    let without = unsolicited_na_flags(MAC, vip, false);
    assert_eq!(with[14 + 40 + 4], 0x80 | 0x20);
    assert_eq!(without[14 + 40 + 4], 0x20);
    assert_eq!(without, unsolicited_na(MAC, vip));
    let icmp = &with[14 + 40..];
    let mut zeroed = icmp.to_vec();
    zeroed[2..4].fill(0);
    let sum = icmpv6_checksum(vip, "ff02::1".parse().unwrap(), &zeroed);
    assert_eq!(&icmp[2..4], &sum.to_be_bytes());
}
