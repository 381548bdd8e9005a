//! Wire formats, smoltcp-style: a `XxxPacket<T: AsRef<[u8]>>` view over a
//! buffer with named field ranges, `new_checked` before any field of
//! untrusted bytes is read, and a `XxxRepr` with `parse` / `emit` that
//! round-trips byte for byte.
//!
//! The daemon's socket path parses with these same views (one parser,
//! shipped and tested): IPv4 and IPv6 headers, VRRP v2/v3, the AH header and
//! the hmac trailer, all checksummed by the one [`checksum`] module.

pub mod ah;
pub mod checksum;
pub mod hmac_trailer;
pub mod ipv4;
pub mod ipv6;
pub mod vrrp;

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4).
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH (VRRPv2 `auth_type AH`, RFC 2402).
pub const IPPROTO_AH: u8 = 51;
/// IPv6 next-header number of ICMPv6 (RFC 4443).
pub const IPPROTO_ICMPV6: u8 = 58;
/// VRRP IPv4 multicast group (RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP IPv6 multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// IPv6 all-nodes link-local multicast group (RFC 4291 §2.7.1), where
/// unsolicited NAs go.
pub const ALL_NODES_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// IPv4 TOS / IPv6 traffic class adverts are sent with (DSCP CS6, what
/// keepalived sends).
pub const VRRP_TOS: u8 = 0xc0;
/// TTL / hop limit of every multicast advert (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;

/// A byte range of a header field.
pub(crate) type Field = std::ops::Range<usize>;

/// Read a big-endian u16 at `f` (the caller checked the length).
#[inline]
pub(crate) fn be16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}

/// Read a big-endian u32 at `f` (the caller checked the length).
#[inline]
pub(crate) fn be32(b: &[u8], f: Field) -> u32 {
    u32::from_be_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
}

/// Read an IPv4 address at `f` (the caller checked the length).
#[inline]
pub(crate) fn ipv4_at(b: &[u8], f: Field) -> Ipv4Addr {
    Ipv4Addr::new(b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3])
}

/// Read an IPv6 address at `f` (the caller checked the length).
#[inline]
pub(crate) fn ipv6_at(b: &[u8], f: Field) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[f]);
    Ipv6Addr::from(o)
}
