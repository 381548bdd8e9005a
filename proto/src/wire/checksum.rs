//! The Internet checksum (RFC 1071), incremental, and the IPv4 / IPv6
//! pseudo-headers transport checksums start from (RFC 768 / RFC 8200 §8.1).
//! The only checksum code in the project: IPv4 headers, VRRP messages, the
//! NA's ICMPv6 and the tests all use it.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Internet checksum accumulator: `feed` byte runs, then `finish`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum(u32);

impl Checksum {
    pub fn new() -> Self {
        Checksum(0)
    }

    /// Add bytes; an odd trailing byte is padded with zero. Only the last
    /// call may have an odd length.
    #[inline]
    pub fn feed(mut self, data: &[u8]) -> Self {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            self.0 += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            self.0 += u32::from(*last) << 8;
        }
        // Fold early so the u32 never overflows on long inputs.
        self.0 = (self.0 & 0xffff) + (self.0 >> 16);
        self
    }

    /// The one's complement of the folded sum: the value for the checksum
    /// field, or 0 when the fed bytes include a correct checksum.
    #[inline]
    pub fn finish(self) -> u16 {
        let mut s = self.0;
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }
}

/// The checksum of `data` alone.
pub fn checksum(data: &[u8]) -> u16 {
    Checksum::new().feed(data).finish()
}

/// The IPv4 pseudo-header {src, dst, 0, protocol, length} (RFC 768).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> Checksum {
    Checksum::new()
        .feed(&src.octets())
        .feed(&dst.octets())
        .feed(&[0, protocol])
        .feed(&len.to_be_bytes())
}

/// The IPv6 pseudo-header {src, dst, upper-layer length (32 bits), 3 zero
/// bytes, next header} (RFC 8200 §8.1).
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: u32) -> Checksum {
    Checksum::new()
        .feed(&src.octets())
        .feed(&dst.octets())
        .feed(&len.to_be_bytes())
        .feed(&[0, 0, 0, next_header])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&b), !0xddf2);
    }

    #[test]
    fn incremental_feed_equals_one_shot() {
        let b: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let one = checksum(&b);
        let inc = Checksum::new().feed(&b[..500]).feed(&b[500..]).finish();
        assert_eq!(one, inc);
    }

    #[test]
    fn odd_trailing_byte_is_zero_padded() {
        assert_eq!(checksum(&[0x12]), checksum(&[0x12, 0x00]));
    }

    #[test]
    fn a_correct_checksum_sums_to_zero() {
        let mut b = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18,
        ];
        let c = checksum(&b);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&b), 0);
    }

    #[test]
    fn pseudo_headers_lay_out_as_rfc_768_and_8200() {
        let s4 = Ipv4Addr::new(192, 0, 2, 1);
        let d4 = Ipv4Addr::new(224, 0, 0, 18);
        let flat4 = [192, 0, 2, 1, 224, 0, 0, 18, 0, 112, 0, 12];
        assert_eq!(pseudo_header_v4(s4, d4, 112, 12).finish(), checksum(&flat4));
        let s6: Ipv6Addr = "fe80::1".parse().unwrap();
        let d6: Ipv6Addr = "ff02::12".parse().unwrap();
        let mut flat6 = Vec::new();
        flat6.extend_from_slice(&s6.octets());
        flat6.extend_from_slice(&d6.octets());
        flat6.extend_from_slice(&[0, 0, 0, 24, 0, 0, 0, 112]);
        assert_eq!(pseudo_header_v6(s6, d6, 112, 24).finish(), checksum(&flat6));
    }
}
