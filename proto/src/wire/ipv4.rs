//! The IPv4 header (RFC 791): the view the daemon's raw socket and the
//! receive path parse with, and the repr the IP_HDRINCL sender emits (AH
//! needs the exact header it signs).

use std::net::Ipv4Addr;

use thiserror::Error;

use super::checksum::checksum;
use super::{Field, VRRP_TOS, VRRP_TTL, be16, ipv4_at};

/// Byte offsets of the IPv4 header fields.
pub mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLAGS_FRAG: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Minimum IPv4 header length (IHL 5), and the length of what we send.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Largest IPv4 header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

/// Why bytes are not a usable IPv4 datagram.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Ipv4DecodeError {
    #[error("IPv4 datagram truncated: {len} bytes, need {need}")]
    Truncated { len: usize, need: usize },
    #[error("not IPv4: version {0}")]
    Version(u8),
    #[error("bad IPv4 header length {0} (32-bit words)")]
    HeaderLength(u8),
    #[error(
        "IPv4 total length {total} inconsistent with header length {ihl} / {len} bytes received"
    )]
    TotalLength { total: u16, ihl: usize, len: usize },
    #[error("bad IPv4 header checksum 0x{got:04x}")]
    Checksum { got: u16 },
}

/// A view of an IPv4 datagram in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap without checking: field accessors may panic on short buffers.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wrap bytes from the network: every length, the version, the IHL and
    /// the header checksum are checked, so no accessor can panic.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Ipv4DecodeError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        if !p.verify_checksum() {
            return Err(Ipv4DecodeError::Checksum { got: p.checksum() });
        }
        Ok(p)
    }

    /// The structural checks of [`new_checked`](Self::new_checked), without
    /// the header checksum.
    #[inline]
    pub fn check_len(&self) -> Result<(), Ipv4DecodeError> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Ipv4DecodeError::Truncated {
                len: data.len(),
                need: HEADER_LEN,
            });
        }
        if self.version() != 4 {
            return Err(Ipv4DecodeError::Version(self.version()));
        }
        let ihl = data[field::VER_IHL] & 0x0f;
        if ihl < 5 {
            return Err(Ipv4DecodeError::HeaderLength(ihl));
        }
        let header_len = self.header_len();
        if data.len() < header_len {
            return Err(Ipv4DecodeError::Truncated {
                len: data.len(),
                need: header_len,
            });
        }
        let total = usize::from(self.total_len());
        if total < header_len || total > data.len() {
            return Err(Ipv4DecodeError::TotalLength {
                total: self.total_len(),
                ihl: header_len,
                len: data.len(),
            });
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }

    /// Flags (3 bits) and fragment offset (13 bits), as one word.
    #[inline]
    pub fn flags_frag(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }

    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::SRC_ADDR)
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::DST_ADDR)
    }

    /// True when the header (options included) sums to zero.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum(&self.buffer.as_ref()[..self.header_len()]) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The header bytes, options included (AH signs them).
    #[inline]
    pub fn header(&self) -> &'a [u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }

    /// The payload, trimmed to the total length (a frame may carry
    /// Ethernet padding).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Version 4 with `header_len` bytes of header (a multiple of 4).
    #[inline]
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    #[inline]
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }

    #[inline]
    pub fn set_total_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::TOTAL_LEN].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_ident(&mut self, v: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_flags_frag(&mut self, v: u16) {
        self.buffer.as_mut()[field::FLAGS_FRAG].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    #[inline]
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v;
    }

    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Compute and write the header checksum.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(c);
    }
}

/// The fields of an IPv4 header without options: what is parsed from a
/// received datagram and what the daemon sends with IP_HDRINCL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    /// Bytes after the header.
    pub payload_len: usize,
    pub tos: u8,
    pub ident: u16,
    /// Flags and fragment offset word (0 on send: DF off, not a fragment).
    pub flags_frag: u16,
    pub ttl: u8,
}

impl Ipv4Repr {
    /// An advert's header as vrrpd and keepalived send it: TOS 0xc0, TTL
    /// 255 (multicast and unicast), DF off, no options.
    #[inline]
    pub fn advert(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ident: u16,
        protocol: u8,
        payload_len: usize,
    ) -> Self {
        Ipv4Repr {
            src,
            dst,
            protocol,
            payload_len,
            tos: VRRP_TOS,
            ident,
            flags_frag: 0,
            ttl: VRRP_TTL,
        }
    }

    /// Read the header of a checked packet (options are skipped: AH reads
    /// them from [`Ipv4Packet::header`]).
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Self {
        Ipv4Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: usize::from(p.total_len()) - p.header_len(),
            tos: p.tos(),
            ident: p.ident(),
            flags_frag: p.flags_frag(),
            ttl: p.ttl(),
        }
    }

    /// Length of the header [`emit`](Self::emit) writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write a 20-byte header with its checksum into `p` (at least
    /// [`HEADER_LEN`] bytes).
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv4Packet<T>) {
        p.set_version_and_header_len(HEADER_LEN);
        p.set_tos(self.tos);
        p.set_total_len((HEADER_LEN + self.payload_len) as u16);
        p.set_ident(self.ident);
        p.set_flags_frag(self.flags_frag);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
    }

    /// [`emit`](Self::emit) appended to `out`.
    #[inline]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.resize(at + HEADER_LEN, 0);
        self.emit(&mut Ipv4Packet::new_unchecked(&mut out[at..]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VRRPv3 advert datagram header as keepalived 2.2.7 sent it
    /// (v3-mc-4 capture): 192.0.2.1 -> 224.0.0.18, TOS 0xc0, TTL 255,
    /// id 0x0000, 12 payload bytes.
    const HEADER: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 0xc0, 0x00, 0x02,
        0x01, 0xe0, 0x00, 0x00, 0x12,
    ];

    fn datagram() -> Vec<u8> {
        let mut d = HEADER.to_vec();
        let c = checksum(&d);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        d.extend_from_slice(&[0x31, 0x33, 0x96, 0x01, 0x00, 0x64, 0, 0, 192, 0, 2, 100]);
        d
    }

    #[test]
    fn view_reads_every_field() {
        let d = datagram();
        let p = Ipv4Packet::new_checked(&d[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.tos(), 0xc0);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.ident(), 0x1234);
        assert_eq!(p.flags_frag(), 0);
        assert_eq!(p.ttl(), 255);
        assert_eq!(p.protocol(), 112);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(p.header(), &d[..20]);
        assert_eq!(p.payload(), &d[20..]);
    }

    #[test]
    fn new_checked_rejects_every_truncation() {
        let d = datagram();
        for n in 0..d.len() {
            assert!(
                Ipv4Packet::new_checked(&d[..n]).is_err(),
                "{n} bytes accepted"
            );
        }
    }

    // Version, IHL, a longer total length and the header checksum are
    // checked on a real advert in tests/packet_receive_checks.rs.
    #[test]
    fn new_checked_rejects_a_total_length_shorter_than_the_header() {
        let mut short = datagram();
        short[3] = 19;
        assert!(matches!(
            Ipv4Packet::new_checked(&short[..]),
            Err(Ipv4DecodeError::TotalLength { total: 19, .. })
        ));
    }

    #[test]
    fn payload_is_trimmed_to_total_length() {
        let mut d = datagram();
        d.extend_from_slice(&[0; 14]);
        let p = Ipv4Packet::new_checked(&d[..]).unwrap();
        assert_eq!(p.payload().len(), 12);
    }

    #[test]
    fn repr_round_trips_and_emits_the_advert_header() {
        let d = datagram();
        let p = Ipv4Packet::new_checked(&d[..]).unwrap();
        let r = Ipv4Repr::parse(&p);
        assert_eq!(
            r,
            Ipv4Repr::advert(
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(224, 0, 0, 18),
                0x1234,
                112,
                12
            )
        );
        let mut out = Vec::new();
        r.append_to(&mut out);
        assert_eq!(out, d[..20]);
    }
}
