//! Gratuitous ARP and unsolicited Neighbor Advertisement frames, as complete
//! Ethernet frames ready for an AF_PACKET `SOCK_RAW` socket.
//!
//! Pure bytes: no sockets, no libc. The layouts follow what keepalived sends
//! (`vrrp_arp.c`, `vrrp_ndisc.c`):
//!
//! * gratuitous ARP — RFC 826 / RFC 5227 §3 "ARP Announcement" style
//!   *request*, broadcast, sender = target protocol address = the VIP,
//!   sender hardware address = the interface MAC, target hardware address
//!   zero;
//! * unsolicited NA — RFC 4861 §4.4 / §7.2.6: from the VIP to ff02::1 (all
//!   nodes), hop limit 255, Override flag (and Router per `ndisc_router`),
//!   target = the VIP, option 2
//!   (target link-layer address) = the interface MAC.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::wire::checksum::pseudo_header_v6;
use super::wire::ipv6::{self, Ipv6Packet, Ipv6Repr};
use super::wire::{ALL_NODES_V6, IPPROTO_ICMPV6};

/// An Ethernet (EUI-48) hardware address.
pub type Mac = [u8; 6];

/// Ethernet broadcast address.
pub const BROADCAST_MAC: Mac = [0xff; 6];
/// Ethernet multicast address of ff02::1 (RFC 2464 §7: 33:33 + low 32 bits).
pub const ALL_NODES_MAC: Mac = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];
/// IPv6 all-nodes link-local multicast address.
pub const ALL_NODES: Ipv6Addr = ALL_NODES_V6;

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Ethernet header length.
pub const ETH_HEADER_LEN: usize = 14;
/// Length of a gratuitous ARP frame: 14 Ethernet + 28 ARP (the driver pads
/// to the 60-byte minimum).
pub const GARP_LEN: usize = ETH_HEADER_LEN + 28;
/// Length of the ICMPv6 part of an unsolicited NA: 24 header + target and 8
/// bytes of target link-layer address option.
pub const NA_ICMPV6_LEN: usize = 32;
/// Length of an unsolicited NA frame: 14 Ethernet + 40 IPv6 + 32 ICMPv6.
pub const UNSOLICITED_NA_LEN: usize = ETH_HEADER_LEN + ipv6::HEADER_LEN + NA_ICMPV6_LEN;

/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// NA flag bits (first byte of the 32-bit flags word).
pub const NA_FLAG_ROUTER: u8 = 0x80;
pub const NA_FLAG_SOLICITED: u8 = 0x40;
pub const NA_FLAG_OVERRIDE: u8 = 0x20;
/// NDP option type: target link-layer address (RFC 4861 §4.6.1).
pub const ND_OPT_TARGET_LINKADDR: u8 = 2;

fn ethernet_header(out: &mut [u8], dst: Mac, src: Mac, ethertype: u16) {
    out[0..6].copy_from_slice(&dst);
    out[6..12].copy_from_slice(&src);
    out[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

/// A gratuitous ARP: broadcast ARP request announcing `vip` at `mac`.
pub fn gratuitous_arp(mac: Mac, vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    ethernet_header(&mut f, BROADCAST_MAC, mac, ETHERTYPE_ARP);
    let a = &mut f[ETH_HEADER_LEN..];
    a[0..2].copy_from_slice(&1u16.to_be_bytes()); // htype: Ethernet
    a[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype: IPv4
    a[4] = 6; // hlen
    a[5] = 4; // plen
    a[6..8].copy_from_slice(&1u16.to_be_bytes()); // op: request
    a[8..14].copy_from_slice(&mac); // sender hardware address
    a[14..18].copy_from_slice(&vip.octets()); // sender protocol address
    // a[18..24]: target hardware address stays zero
    a[24..28].copy_from_slice(&vip.octets()); // target protocol address
    f
}

/// An unsolicited Neighbor Advertisement for `vip` at `mac`, to ff02::1,
/// without the Router flag (a proxy host that does not forward IPv6).
pub fn unsolicited_na(mac: Mac, vip: Ipv6Addr) -> [u8; UNSOLICITED_NA_LEN] {
    unsolicited_na_flags(mac, vip, false)
}

/// An unsolicited Neighbor Advertisement, with the Router flag when `router`
/// (RFC 4861 §4.4: set by a router; RFC 9568 §6.4.2 asks a virtual router
/// to send it; keepalived sets it when the interface forwards IPv6). A
/// clear R flag makes hosts drop the sender from their default router list,
/// so a forwarding VRRP router must set it.
pub fn unsolicited_na_flags(mac: Mac, vip: Ipv6Addr, router: bool) -> [u8; UNSOLICITED_NA_LEN] {
    let mut f = [0u8; UNSOLICITED_NA_LEN];
    ethernet_header(&mut f, ALL_NODES_MAC, mac, ETHERTYPE_IPV6);
    let ip_at = ETH_HEADER_LEN;
    Ipv6Repr {
        src: vip,
        dst: ALL_NODES,
        next_header: IPPROTO_ICMPV6,
        payload_len: NA_ICMPV6_LEN,
        traffic_class: 0,
        // RFC 4861 §7.1.2 requires 255.
        hop_limit: 255,
    }
    .emit(&mut Ipv6Packet::new_unchecked(
        &mut f[ip_at..ip_at + ipv6::HEADER_LEN],
    ));
    let icmp = &mut f[ip_at + ipv6::HEADER_LEN..];
    icmp[0] = ICMPV6_NEIGHBOR_ADVERT;
    icmp[1] = 0; // code
    // icmp[2..4]: checksum, filled below
    icmp[4] = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    // icmp[5..8]: reserved
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = ND_OPT_TARGET_LINKADDR;
    icmp[25] = 1; // length in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    let sum = icmpv6_checksum(vip, ALL_NODES, icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The ICMPv6 checksum (RFC 4443 §2.3) of `message` (its checksum field read
/// as whatever it holds: pass it zeroed when computing) with the IPv6
/// pseudo-header of RFC 8200 §8.1.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    pseudo_header_v6(src, dst, IPPROTO_ICMPV6, message.len() as u32)
        .feed(message)
        .finish()
}
