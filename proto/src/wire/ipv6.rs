//! The IPv6 fixed header (RFC 8200 §3): built for the unsolicited NA frame
//! and read by tests from captures. The daemon's raw IPv6 socket receives
//! the VRRP payload only (the kernel keeps the header); the VRRP checksum
//! over the IPv6 pseudo-header is [`super::checksum::pseudo_header_v6`].

use std::net::Ipv6Addr;

use thiserror::Error;

use super::{Field, be16, ipv6_at};

/// Byte offsets of the IPv6 header fields.
pub mod field {
    use super::Field;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// Why bytes are not a usable IPv6 packet.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Ipv6DecodeError {
    #[error("IPv6 packet truncated: {len} bytes, need {need}")]
    Truncated { len: usize, need: usize },
    #[error("not IPv6: version {0}")]
    Version(u8),
}

/// A view of an IPv6 packet in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wrap bytes from the network: length, version and payload length
    /// checked, so no accessor can panic.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Ipv6DecodeError> {
        let p = Self::new_unchecked(buffer);
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Ipv6DecodeError::Truncated {
                len,
                need: HEADER_LEN,
            });
        }
        if p.version() != 6 {
            return Err(Ipv6DecodeError::Version(p.version()));
        }
        let need = HEADER_LEN + usize::from(p.payload_len());
        if len < need {
            return Err(Ipv6DecodeError::Truncated { len, need });
        }
        Ok(p)
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    #[inline]
    pub fn traffic_class(&self) -> u8 {
        let b = self.buffer.as_ref();
        (b[0] << 4) | (b[1] >> 4)
    }

    #[inline]
    pub fn flow_label(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }

    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        ipv6_at(self.buffer.as_ref(), field::SRC_ADDR)
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        ipv6_at(self.buffer.as_ref(), field::DST_ADDR)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// The payload, trimmed to the payload length (Ethernet padding off).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Version 6, `traffic_class`, flow label 0.
    #[inline]
    pub fn set_version_and_traffic_class(&mut self, traffic_class: u8) {
        let b = self.buffer.as_mut();
        b[0] = 0x60 | (traffic_class >> 4);
        b[1] = traffic_class << 4;
        b[2] = 0;
        b[3] = 0;
    }

    #[inline]
    pub fn set_payload_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::PAYLOAD_LEN].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = v;
    }

    #[inline]
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }

    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
}

/// The fields of an IPv6 fixed header (flow label 0 on emit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: usize,
    pub traffic_class: u8,
    pub hop_limit: u8,
}

impl Ipv6Repr {
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Self {
        Ipv6Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: usize::from(p.payload_len()),
            traffic_class: p.traffic_class(),
            hop_limit: p.hop_limit(),
        }
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the 40-byte header into `p` (at least [`HEADER_LEN`] bytes).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv6Packet<T>) {
        p.set_version_and_traffic_class(self.traffic_class);
        p.set_payload_len(self.payload_len as u16);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VRRPv3/IPv6 advert header as keepalived 2.2.7 sent it (v3-mc-6):
    /// fe80::1 -> ff02::12, traffic class 0xc0, hop limit 255, 24 bytes.
    const PACKET: [u8; 44] = [
        0x6c, 0x00, 0x00, 0x00, 0x00, 0x04, 0x70, 0xff, // ver/tc/flow, len 4, 112, 255
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src fe80::1
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, // dst ff02::12
        0x31, 0x33, 0x96, 0x00, // payload
    ];

    #[test]
    fn view_reads_every_field() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xc0);
        assert_eq!(p.flow_label(), 0);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.next_header(), 112);
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.src_addr(), "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "ff02::12".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &PACKET[40..]);
    }

    #[test]
    fn new_checked_rejects_every_truncation_and_other_versions() {
        for n in 0..PACKET.len() {
            assert!(Ipv6Packet::new_checked(&PACKET[..n]).is_err(), "{n} bytes");
        }
        let mut v4 = PACKET;
        v4[0] = 0x4c;
        assert_eq!(
            Ipv6Packet::new_checked(&v4[..]),
            Err(Ipv6DecodeError::Version(4))
        );
    }

    #[test]
    fn repr_round_trips() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        let r = Ipv6Repr::parse(&p);
        let mut out = [0u8; HEADER_LEN];
        r.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, PACKET[..HEADER_LEN]);
    }
}
