//! The IPsec AH header as keepalived sends it before a VRRPv2 message
//! (RFC 2402 with a 96-bit ICV; keepalived `vrrp_ipsecah.h`):
//!
//! ```text
//! | next header = 112 | payload len = 4 | reserved (16)          |
//! | SPI = the sender's IPv4 source address                       |
//! | sequence number                                              |
//! | ICV: first 96 bits of HMAC-MD5 (12 bytes)                    |
//! ```

use serde::Serialize;
use thiserror::Error;

use super::{Field, IPPROTO_VRRP, be16, be32};

/// Byte offsets of the AH header fields.
pub mod field {
    use super::Field;
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const RESERVED: Field = 2..4;
    pub const SPI: Field = 4..8;
    pub const SEQ: Field = 8..12;
    pub const ICV: Field = 12..24;
}

/// Length of keepalived's AH header.
pub const AH_LEN: usize = field::ICV.end;
/// Length of the truncated HMAC-MD5 ICV.
pub const AH_ICV_LEN: usize = field::ICV.end - field::ICV.start;
/// AH payload length field: (24 / 4) - 2.
pub const AH_PAYLOAD_LEN: u8 = 4;

/// Why an AH header is unusable.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AhError {
    #[error("AH header truncated: {0} bytes")]
    Truncated(usize),
    #[error("AH next header {0}, expected 112")]
    NextHeader(u8),
    #[error("AH payload length {0}, expected 4")]
    PayloadLen(u8),
}

/// A view of an AH header at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhPacket<T> {
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        AhPacket { buffer }
    }

    /// Wrap bytes from the network: length, next header (112) and payload
    /// length (4) checked.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, AhError> {
        let p = Self::new_unchecked(buffer);
        let len = p.buffer.as_ref().len();
        if len < AH_LEN {
            return Err(AhError::Truncated(len));
        }
        if p.next_header() != IPPROTO_VRRP {
            return Err(AhError::NextHeader(p.next_header()));
        }
        if p.payload_len() != AH_PAYLOAD_LEN {
            return Err(AhError::PayloadLen(p.payload_len()));
        }
        Ok(p)
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    #[inline]
    pub fn payload_len(&self) -> u8 {
        self.buffer.as_ref()[field::PAYLOAD_LEN]
    }

    #[inline]
    pub fn reserved(&self) -> u16 {
        be16(self.buffer.as_ref(), field::RESERVED)
    }

    #[inline]
    pub fn spi(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SPI)
    }

    #[inline]
    pub fn seq(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEQ)
    }

    #[inline]
    pub fn icv(&self) -> [u8; AH_ICV_LEN] {
        let mut icv = [0; AH_ICV_LEN];
        icv.copy_from_slice(&self.buffer.as_ref()[field::ICV]);
        icv
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> AhPacket<&'a T> {
    /// What follows the AH header (the VRRP message).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[AH_LEN..]
    }
}

/// An AH header as values (what keepalived sends and checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AhHeader {
    pub next_header: u8,
    pub payload_len: u8,
    pub reserved: u16,
    /// keepalived puts the sender's IPv4 source address here.
    pub spi: u32,
    pub seq: u32,
    pub icv: [u8; AH_ICV_LEN],
}

impl AhHeader {
    /// The header for a VRRP message from `src` with sequence `seq`, ICV
    /// zero (computed over this form, then filled in).
    #[inline]
    pub fn new(src: std::net::Ipv4Addr, seq: u32) -> Self {
        AhHeader {
            next_header: IPPROTO_VRRP,
            payload_len: AH_PAYLOAD_LEN,
            reserved: 0,
            spi: u32::from(src),
            seq,
            icv: [0; AH_ICV_LEN],
        }
    }

    /// Check (see [`AhPacket::new_checked`]) and read the header at the
    /// front of `data`.
    #[inline]
    pub fn parse(data: &[u8]) -> Result<Self, AhError> {
        let p = AhPacket::new_checked(data)?;
        Ok(AhHeader {
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            reserved: p.reserved(),
            spi: p.spi(),
            seq: p.seq(),
            icv: p.icv(),
        })
    }

    #[inline]
    pub fn to_bytes(&self) -> [u8; AH_LEN] {
        let mut b = [0u8; AH_LEN];
        b[field::NEXT_HEADER] = self.next_header;
        b[field::PAYLOAD_LEN] = self.payload_len;
        b[field::RESERVED].copy_from_slice(&self.reserved.to_be_bytes());
        b[field::SPI].copy_from_slice(&self.spi.to_be_bytes());
        b[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        b[field::ICV].copy_from_slice(&self.icv);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived 2.2.7 v2-ah-mc, first advert of node a: SPI 192.0.2.1,
    /// seq 1 (ICV bytes arbitrary here: the golden test verifies real ones).
    const HEADER: [u8; 24] = [
        112, 4, 0, 0, 192, 0, 2, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];

    #[test]
    fn view_reads_every_field() {
        let p = AhPacket::new_checked(&HEADER[..]).unwrap();
        assert_eq!(p.next_header(), 112);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.spi(), 0xc000_0201);
        assert_eq!(p.seq(), 1);
        assert_eq!(p.icv(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(p.payload().is_empty());
    }

    #[test]
    fn new_checked_rejects_every_truncation_and_wrong_fixed_fields() {
        for n in 0..AH_LEN {
            assert_eq!(
                AhPacket::new_checked(&HEADER[..n]),
                Err(AhError::Truncated(n))
            );
        }
        let mut nh = HEADER;
        nh[0] = 6;
        assert_eq!(AhPacket::new_checked(&nh[..]), Err(AhError::NextHeader(6)));
        let mut pl = HEADER;
        pl[1] = 5;
        assert_eq!(AhPacket::new_checked(&pl[..]), Err(AhError::PayloadLen(5)));
    }

    #[test]
    fn repr_round_trips() {
        let h = AhHeader::parse(&HEADER).unwrap();
        assert_eq!(h.to_bytes(), HEADER);
        let mut fresh = AhHeader::new(std::net::Ipv4Addr::new(192, 0, 2, 1), 1);
        fresh.icv = h.icv;
        assert_eq!(fresh, h);
    }
}
