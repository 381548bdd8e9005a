//! The draft-cassen-vrrp-auth-hmac trailer after the VRRP message
//! (keepalived >= 2.4 `auth_hmac`, `vrrp_auth_hmac.c`):
//!
//! ```text
//! | ext_type = 1 | key_id | reserved (16)                 |
//! | sec (UTC, 32)                                         |
//! | subsec (1/65536 s, 16)       | ctr (16)               |
//! | hmac: HMAC-SHA256 truncated to 128 bits (16 bytes)    |
//! ```
//!
//! Only the bytes; what the fields mean (keys, anti-replay) is `auth.rs`.

use super::{Field, be16, be32};

/// Byte offsets of the trailer fields.
pub mod field {
    use super::Field;
    pub const EXT_TYPE: usize = 0;
    pub const KEY_ID: usize = 1;
    pub const RESERVED: Field = 2..4;
    pub const SEC: Field = 4..8;
    pub const SUBSEC: Field = 8..10;
    pub const CTR: Field = 10..12;
    pub const HMAC: Field = 12..28;
}

/// Length of the trailer.
pub const HMAC_TRAILER_LEN: usize = field::HMAC.end;
/// Offset of the 16-byte HMAC inside the trailer.
pub const HMAC_OFFSET: usize = field::HMAC.start;
/// Length of the truncated HMAC-SHA256.
pub const HMAC_LEN: usize = field::HMAC.end - field::HMAC.start;
/// The only extension type defined.
pub const HMAC_EXT_TYPE: u8 = 1;

/// A view of an hmac trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HmacTrailerPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HmacTrailerPacket<T> {
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        HmacTrailerPacket { buffer }
    }

    /// Wrap bytes from the network: exactly [`HMAC_TRAILER_LEN`] bytes (a
    /// trailer is the last thing in the packet). The field values are the
    /// caller's to judge. `Err` carries the length.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, usize> {
        let len = buffer.as_ref().len();
        if len != HMAC_TRAILER_LEN {
            return Err(len);
        }
        Ok(Self::new_unchecked(buffer))
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn ext_type(&self) -> u8 {
        self.buffer.as_ref()[field::EXT_TYPE]
    }

    #[inline]
    pub fn key_id(&self) -> u8 {
        self.buffer.as_ref()[field::KEY_ID]
    }

    #[inline]
    pub fn reserved(&self) -> u16 {
        be16(self.buffer.as_ref(), field::RESERVED)
    }

    #[inline]
    pub fn sec(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEC)
    }

    #[inline]
    pub fn subsec(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SUBSEC)
    }

    #[inline]
    pub fn ctr(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CTR)
    }

    #[inline]
    pub fn hmac(&self) -> [u8; HMAC_LEN] {
        let mut h = [0; HMAC_LEN];
        h.copy_from_slice(&self.buffer.as_ref()[field::HMAC]);
        h
    }

    /// The first [`HMAC_OFFSET`] bytes (signed as they are, the hmac as
    /// zeros after them).
    #[inline]
    pub fn head(&self) -> [u8; HMAC_OFFSET] {
        let mut h = [0; HMAC_OFFSET];
        h.copy_from_slice(&self.buffer.as_ref()[..HMAC_OFFSET]);
        h
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HmacTrailerPacket<T> {
    #[inline]
    pub fn set_ext_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::EXT_TYPE] = v;
    }

    #[inline]
    pub fn set_key_id(&mut self, v: u8) {
        self.buffer.as_mut()[field::KEY_ID] = v;
    }

    #[inline]
    pub fn set_reserved(&mut self, v: u16) {
        self.buffer.as_mut()[field::RESERVED].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_sec(&mut self, v: u32) {
        self.buffer.as_mut()[field::SEC].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_subsec(&mut self, v: u16) {
        self.buffer.as_mut()[field::SUBSEC].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_ctr(&mut self, v: u16) {
        self.buffer.as_mut()[field::CTR].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn set_hmac(&mut self, v: &[u8; HMAC_LEN]) {
        self.buffer.as_mut()[field::HMAC].copy_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAILER: [u8; 28] = [
        1, 7, 0, 0, 0x6b, 0x49, 0xd2, 0x00, 0x80, 0x00, 0x00, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        11, 12, 13, 14, 15, 16,
    ];

    #[test]
    fn view_reads_every_field() {
        let t = HmacTrailerPacket::new_checked(&TRAILER[..]).unwrap();
        assert_eq!(t.ext_type(), 1);
        assert_eq!(t.key_id(), 7);
        assert_eq!(t.reserved(), 0);
        assert_eq!(t.sec(), 0x6b49_d200);
        assert_eq!(t.subsec(), 0x8000);
        assert_eq!(t.ctr(), 3);
        assert_eq!(
            t.hmac(),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!(t.head(), TRAILER[..12]);
    }

    #[test]
    fn new_checked_rejects_every_truncation_and_extension() {
        for n in 0..TRAILER.len() {
            assert_eq!(HmacTrailerPacket::new_checked(&TRAILER[..n]), Err(n));
        }
        let long = [&TRAILER[..], &[0]].concat();
        assert_eq!(HmacTrailerPacket::new_checked(&long[..]), Err(29));
    }

    #[test]
    fn setters_write_what_the_view_reads() {
        let mut b = [0u8; HMAC_TRAILER_LEN];
        let mut t = HmacTrailerPacket::new_unchecked(&mut b[..]);
        t.set_ext_type(1);
        t.set_key_id(7);
        t.set_reserved(0);
        t.set_sec(0x6b49_d200);
        t.set_subsec(0x8000);
        t.set_ctr(3);
        t.set_hmac(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(b, TRAILER);
    }
}
