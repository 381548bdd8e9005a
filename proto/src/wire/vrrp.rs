//! VRRP v2 (RFC 3768) and v3 (RFC 5798 / RFC 9568) advertisements.
//!
//! Wire layout (both versions share the first 4 bytes and the checksum
//! position):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |   Auth Type   |   Adver Int   |          Checksum         |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  IPvX Address(es) ...                         |
//! v2 only: 8 bytes of authentication data
//! ```
//!
//! The address width is not in the message (it is the IP family the
//! message arrived over), so a [`VrrpPacket`] carries its [`Family`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use thiserror::Error;

use super::checksum::{Checksum, pseudo_header_v4, pseudo_header_v6};
use super::{Field, IPPROTO_VRRP, VRRP_MCAST_V4, be16};
use crate::{Family, Version};

/// Byte offsets of the VRRP header fields.
pub mod field {
    use super::Field;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: auth type (v3: 4 reserved bits + the top of the interval).
    pub const AUTH_TYPE: usize = 4;
    /// v2: advert interval in seconds.
    pub const ADVER_INT: usize = 5;
    /// v3: 4 reserved bits then the 12-bit max advert interval (cs).
    pub const MAX_ADVER_INT: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    /// Start of the address list (then, v2 only, the auth data).
    pub const ADDRESSES: usize = 8;
}

/// VRRP packet type "ADVERTISEMENT", the only one defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = field::ADDRESSES;
/// Length of the VRRPv2 authentication data.
pub const V2_AUTH_LEN: usize = 8;
/// Largest v3 advert interval in centiseconds (12 bits).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;

/// Which bytes the VRRP checksum covers (config `checksum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumForm {
    /// The VRRP message only: always for v2; v3/IPv4 per RFC 9568 and Cisco.
    Message,
    /// An IP pseudo-header, then the message: v3/IPv4 as keepalived <= 2.2.7
    /// and FRR send it ({src, dst as sent, 0, 112, len}), and always v3/IPv6.
    PseudoHeader,
}

impl ChecksumForm {
    /// The form actually used on the wire for a version/family when
    /// `configured` is asked for: v2 is always message-only, v3/IPv6 always
    /// pseudo-header; only v3/IPv4 has a choice.
    #[inline]
    pub fn on_wire(version: Version, family: Family, configured: ChecksumForm) -> ChecksumForm {
        match (version, family) {
            (Version::V2, _) => ChecksumForm::Message,
            (Version::V3, Family::V6) => ChecksumForm::PseudoHeader,
            (Version::V3, Family::V4) => configured,
        }
    }
}

/// Why a VRRP message could not be decoded (RFC 5798 §7.1, RFC 3768 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VrrpDecodeError {
    #[error("truncated: {len} bytes, need at least {need}")]
    Truncated { len: usize, need: usize },
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    #[error("unknown VRRP packet type {0}")]
    Type(u8),
    #[error("CARP (ucarp) advertisement on protocol 112, not VRRP")]
    Carp,
    #[error("address count {count} needs {need} bytes, payload has {len}")]
    AddressCount { count: u8, need: usize, len: usize },
    #[error("bad checksum 0x{got:04x}")]
    Checksum { got: u16 },
    #[error("source {src} and destination {dst} are of different families")]
    FamilyMismatch { src: IpAddr, dst: IpAddr },
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    #[error("advert interval is zero")]
    IntervalZero,
}

/// Why an advert cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VrrpEncodeError {
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddresses(usize),
    #[error("address {addr} is not of the packet's family {family:?}")]
    AddressFamily { addr: IpAddr, family: Family },
    #[error("source {src} and destination {dst} are of different families")]
    FamilyMismatch { src: IpAddr, dst: IpAddr },
    #[error("VRRPv2 cannot be sent over IPv6")]
    V2OverIpv6,
    #[error("interval {0} cs not encodable for this version")]
    Interval(u16),
    #[error("buffer of {len} bytes, need {need}")]
    BufferTooShort { len: usize, need: usize },
}

/// Bytes per address of `family`.
#[inline]
pub const fn address_len(family: Family) -> usize {
    match family {
        Family::V4 => 4,
        Family::V6 => 16,
    }
}

/// Length of a VRRP message with `count` addresses.
#[inline]
pub const fn message_len(version: Version, family: Family, count: usize) -> usize {
    HEADER_LEN
        + count * address_len(family)
        + match version {
            Version::V2 => V2_AUTH_LEN,
            Version::V3 => 0,
        }
}

/// The VRID of a VRRP message, looked at without validating anything else
/// (to dispatch to a group before the full checks).
pub fn peek_vrid(message: &[u8]) -> Option<u8> {
    message.get(field::VRID).copied()
}

/// Pseudo-header sum for `form` ({src, dst, 0, 112, len} for IPv4, RFC 8200
/// §8.1 for IPv6); `Message` adds nothing, nor do mixed families (callers
/// reject those first).
fn pseudo_header(form: ChecksumForm, src: IpAddr, dst: IpAddr, len: usize) -> Checksum {
    match (form, src, dst) {
        (ChecksumForm::PseudoHeader, IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo_header_v4(s, d, IPPROTO_VRRP, len as u16)
        }
        (ChecksumForm::PseudoHeader, IpAddr::V6(s), IpAddr::V6(d)) => {
            pseudo_header_v6(s, d, IPPROTO_VRRP, len as u32)
        }
        _ => Checksum::new(),
    }
}

/// The VRRP checksum of `buf` (the message at the front, then any trailer)
/// with the checksum field read as zero. IPv6 covers the whole transport
/// payload (the kernel's IPV6_CHECKSUM does, so a hmac trailer is inside),
/// IPv4 only the `message_len` bytes of the message (verified against the
/// draft-cassen-vrrp-auth-hmac IPv4 vector).
#[inline]
pub fn compute_checksum(
    buf: &[u8],
    message_len: usize,
    src: IpAddr,
    dst: IpAddr,
    form: ChecksumForm,
) -> u16 {
    let span = match Family::of(&src) {
        Family::V4 => message_len.min(buf.len()),
        Family::V6 => buf.len(),
    };
    let covered = &buf[..span];
    let head = &covered[..field::CHECKSUM.start.min(covered.len())];
    let tail = covered.get(field::CHECKSUM.end..).unwrap_or(&[]);
    pseudo_header(form, src, dst, span)
        .feed(head)
        .feed(&[0, 0])
        .feed(tail)
        .finish()
}

/// Write the checksum of `buf` (see [`compute_checksum`]) into its field;
/// a buffer too short to hold the field is left alone.
pub fn fill_checksum(
    buf: &mut [u8],
    message_len: usize,
    src: IpAddr,
    dst: IpAddr,
    form: ChecksumForm,
) {
    let c = compute_checksum(buf, message_len, src, dst, form);
    if buf.len() >= field::CHECKSUM.end {
        buf[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

/// A view of a VRRP message (+ any trailer) in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Wrap without checking: accessors may panic on short buffers.
    #[inline]
    pub fn new_unchecked(buffer: T, family: Family) -> Self {
        VrrpPacket { buffer, family }
    }

    /// Wrap bytes from the network that arrived over `family`: the length,
    /// version, type and address count are checked (so no accessor can
    /// panic); the checksum is not (see [`verify_checksum`](Self::verify_checksum)).
    #[inline]
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, VrrpDecodeError> {
        let p = Self::new_unchecked(buffer, family);
        p.check_len()?;
        Ok(p)
    }

    /// Every check an advert from `src` to `dst` gets before its fields
    /// are used, in the receive path's order (RFC 5798 §7.1): families,
    /// [`new_checked`](Self::new_checked), the checksum in the forms the
    /// version/family allow, a non-zero interval. Returns the view and the
    /// checksum form that verified.
    #[inline]
    pub fn new_verified(
        buffer: T,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<(Self, ChecksumForm), VrrpDecodeError> {
        let family = Family::of(&src);
        if family != Family::of(&dst) {
            return Err(VrrpDecodeError::FamilyMismatch { src, dst });
        }
        let p = Self::new_checked(buffer, family)?;
        let form = p.verify_checksum(src, dst)?;
        if p.interval_cs() == 0 {
            return Err(VrrpDecodeError::IntervalZero);
        }
        Ok((p, form))
    }

    /// The structural checks of [`new_checked`](Self::new_checked).
    #[inline]
    pub fn check_len(&self) -> Result<(), VrrpDecodeError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(VrrpDecodeError::Truncated {
                len: b.len(),
                need: HEADER_LEN,
            });
        }
        let version = match self.version_number() {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(VrrpDecodeError::Version(v)),
        };
        if self.msg_type() != TYPE_ADVERTISEMENT {
            return Err(VrrpDecodeError::Type(self.msg_type()));
        }
        if version == Version::V2 && self.family == Family::V6 {
            return Err(VrrpDecodeError::V2OverIpv6);
        }
        let count = self.count();
        let need = message_len(version, self.family, usize::from(count));
        if b.len() < need {
            // CARP: version 2, type 1, "count" = authlen 7, 36 bytes total
            // (8 header + 8 counter + 20 SHA-1). A v2 advert with 7 addresses
            // would need 44 bytes, so this is never a valid VRRP packet.
            if version == Version::V2 && count == 7 && b.len() == 36 {
                return Err(VrrpDecodeError::Carp);
            }
            return Err(VrrpDecodeError::AddressCount {
                count,
                need,
                len: b.len(),
            });
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The family the message arrived over (the address width).
    #[inline]
    pub fn family(&self) -> Family {
        self.family
    }

    /// The raw version nibble.
    #[inline]
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The version (meaningful after [`new_checked`](Self::new_checked),
    /// which admits only 2 and 3).
    #[inline]
    pub fn version(&self) -> Version {
        if self.version_number() == 2 {
            Version::V2
        } else {
            Version::V3
        }
    }

    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count IP Addrs.
    #[inline]
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 auth type (0 none, 1 PASS, 2 AH); 0 for v3.
    #[inline]
    pub fn auth_type(&self) -> u8 {
        match self.version() {
            Version::V2 => self.buffer.as_ref()[field::AUTH_TYPE],
            Version::V3 => 0,
        }
    }

    /// The advert interval in centiseconds: v2 carries whole seconds,
    /// v3 12 bits of centiseconds (RFC 5798 §5.2.7: the 4 reserved bits are
    /// ignored on receive).
    #[inline]
    pub fn interval_cs(&self) -> u16 {
        let b = self.buffer.as_ref();
        match self.version() {
            Version::V2 => u16::from(b[field::ADVER_INT]) * 100,
            Version::V3 => be16(b, field::MAX_ADVER_INT) & V3_MAX_INTERVAL_CS,
        }
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Length of the message (the PDU) at the front of the buffer.
    #[inline]
    pub fn message_len(&self) -> usize {
        message_len(self.version(), self.family, usize::from(self.count()))
    }

    #[inline]
    fn addresses_end(&self) -> usize {
        field::ADDRESSES + usize::from(self.count()) * address_len(self.family)
    }

    /// v2 authentication data (the PASS password); zeros for v3.
    #[inline]
    pub fn auth_data(&self) -> [u8; V2_AUTH_LEN] {
        if self.version() != Version::V2 {
            return [0; V2_AUTH_LEN];
        }
        self.buffer
            .as_ref()
            .get(self.addresses_end()..)
            .and_then(|r| r.first_chunk::<V2_AUTH_LEN>())
            .copied()
            .unwrap_or([0; V2_AUTH_LEN])
    }

    /// Whether the checksum is right for `src` -> `dst` in `form`.
    #[inline]
    pub fn checksum_ok(&self, src: IpAddr, dst: IpAddr, form: ChecksumForm) -> bool {
        compute_checksum(self.buffer.as_ref(), self.message_len(), src, dst, form)
            == self.checksum()
    }

    /// Verify the checksum in the forms this version/family allows, and
    /// say which one the sender used: v2 message-only, v3/IPv6
    /// pseudo-header, v3/IPv4 either (SPEC §1), and keepalived's old
    /// unicast form (its `unicast_chksum_compat`, still accepted by
    /// keepalived: the pseudo-header names 224.0.0.18 even in unicast).
    #[inline]
    pub fn verify_checksum(
        &self,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<ChecksumForm, VrrpDecodeError> {
        use ChecksumForm::{Message, PseudoHeader};
        let ok = |form| self.checksum_ok(src, dst, form);
        let verified = match (self.version(), self.family) {
            (Version::V2, _) if ok(Message) => Message,
            (Version::V3, Family::V6) if ok(PseudoHeader) => PseudoHeader,
            (Version::V3, Family::V4) if ok(PseudoHeader) => PseudoHeader,
            (Version::V3, Family::V4) if ok(Message) => Message,
            (Version::V3, Family::V4)
                if dst != IpAddr::V4(VRRP_MCAST_V4)
                    && self.checksum_ok(src, IpAddr::V4(VRRP_MCAST_V4), PseudoHeader) =>
            {
                PseudoHeader
            }
            _ => {
                return Err(VrrpDecodeError::Checksum {
                    got: self.checksum(),
                });
            }
        };
        Ok(verified)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> VrrpPacket<&'a T> {
    /// The address list, read in place (nothing is allocated).
    #[inline]
    pub fn addresses(&self) -> AddressIter<'a> {
        AddressIter {
            family: self.family,
            bytes: &self.buffer.as_ref()[field::ADDRESSES..self.addresses_end()],
        }
    }

    /// The message (PDU) bytes.
    #[inline]
    pub fn message(&self) -> &'a [u8] {
        &self.buffer.as_ref()[..self.message_len()]
    }

    /// Bytes after the message (where the hmac trailer lives).
    #[inline]
    pub fn trailer(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.message_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    #[inline]
    pub fn set_version_and_type(&mut self, version: Version, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version.number() << 4) | (msg_type & 0x0f);
    }

    #[inline]
    pub fn set_vrid(&mut self, v: u8) {
        self.buffer.as_mut()[field::VRID] = v;
    }

    #[inline]
    pub fn set_priority(&mut self, v: u8) {
        self.buffer.as_mut()[field::PRIORITY] = v;
    }

    #[inline]
    pub fn set_count(&mut self, v: u8) {
        self.buffer.as_mut()[field::COUNT] = v;
    }

    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    /// Compute and write the checksum for `src` -> `dst` in `form`.
    #[inline]
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, form: ChecksumForm) {
        let len = self.message_len();
        fill_checksum(self.buffer.as_mut(), len, src, dst, form);
    }
}

/// The address list of a VRRP message, borrowed from the packet.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressIter<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl AddressIter<'_> {
    /// Same addresses, in any order (RFC 3768 §7.1 list check).
    #[inline]
    pub fn same_set(&self, expected: &[IpAddr]) -> bool {
        self.len() == expected.len() && expected.iter().all(|x| self.clone().any(|a| a == *x))
    }
}

impl Iterator for AddressIter<'_> {
    type Item = IpAddr;

    #[inline]
    fn next(&mut self) -> Option<IpAddr> {
        // One arm per width: fixed-size chunks, no division, no panic path.
        match self.family {
            Family::V4 => {
                let (a, rest) = self.bytes.split_first_chunk::<4>()?;
                self.bytes = rest;
                Some(IpAddr::V4(Ipv4Addr::from(*a)))
            }
            Family::V6 => {
                let (a, rest) = self.bytes.split_first_chunk::<16>()?;
                self.bytes = rest;
                Some(IpAddr::V6(Ipv6Addr::from(*a)))
            }
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self.family {
            Family::V4 => self.bytes.len() / 4,
            Family::V6 => self.bytes.len() / 16,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for AddressIter<'_> {}

impl std::fmt::Debug for AddressIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// A VRRP advertisement as values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VrrpRepr {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advert interval in centiseconds; v2 carries whole seconds (= secs * 100).
    pub interval_cs: u16,
    pub addresses: Vec<IpAddr>,
    /// v2 only (0 none, 1 PASS, 2 AH); 0 for v3.
    pub auth_type: u8,
    /// v2 only; zeros for v3.
    pub auth_data: [u8; V2_AUTH_LEN],
}

impl VrrpRepr {
    /// Read a checked packet (see [`VrrpPacket::new_checked`] /
    /// [`VrrpPacket::new_verified`]); a zero interval is refused.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(p: &VrrpPacket<&T>) -> Result<VrrpRepr, VrrpDecodeError> {
        if p.interval_cs() == 0 {
            return Err(VrrpDecodeError::IntervalZero);
        }
        Ok(VrrpRepr {
            version: p.version(),
            vrid: p.vrid(),
            priority: p.priority(),
            interval_cs: p.interval_cs(),
            addresses: p.addresses().collect(),
            auth_type: p.auth_type(),
            auth_data: p.auth_data(),
        })
    }

    /// The family of this advert's addresses (V4 when it has none).
    #[inline]
    pub fn family(&self) -> Family {
        self.addresses.first().map(Family::of).unwrap_or(Family::V4)
    }

    /// Length of the encoded message over `family`.
    #[inline]
    pub fn buffer_len(&self, family: Family) -> usize {
        message_len(self.version, family, self.addresses.len())
    }

    /// The two bytes after the count: v2 auth type and seconds, v3 the
    /// 12-bit interval (reserved bits zero).
    fn interval_field(&self) -> Result<[u8; 2], VrrpEncodeError> {
        let cs = self.interval_cs;
        match self.version {
            Version::V2 => {
                if cs == 0 || !cs.is_multiple_of(100) || cs > 25500 {
                    return Err(VrrpEncodeError::Interval(cs));
                }
                Ok([self.auth_type, (cs / 100) as u8])
            }
            Version::V3 => {
                if !crate::timers::valid_v3_interval_cs(cs) {
                    return Err(VrrpEncodeError::Interval(cs));
                }
                Ok(cs.to_be_bytes())
            }
        }
    }

    /// Write the message into `p` with the checksum field zero (the hmac
    /// trailer is computed over this form; then
    /// [`VrrpPacket::fill_checksum`]). The buffer needs
    /// [`buffer_len`](Self::buffer_len) bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut VrrpPacket<T>,
    ) -> Result<(), VrrpEncodeError> {
        let family = p.family();
        if self.addresses.len() > usize::from(u8::MAX) {
            return Err(VrrpEncodeError::TooManyAddresses(self.addresses.len()));
        }
        if let Some(a) = self.addresses.iter().find(|a| Family::of(a) != family) {
            return Err(VrrpEncodeError::AddressFamily { addr: *a, family });
        }
        if self.version == Version::V2 && family == Family::V6 {
            return Err(VrrpEncodeError::V2OverIpv6);
        }
        let need = self.buffer_len(family);
        let len = p.buffer.as_ref().len();
        if len < need {
            return Err(VrrpEncodeError::BufferTooShort { len, need });
        }
        let int = self.interval_field()?;
        p.set_version_and_type(self.version, TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        p.set_count(self.addresses.len() as u8);
        let b = p.buffer.as_mut();
        b[field::MAX_ADVER_INT].copy_from_slice(&int);
        b[field::CHECKSUM].fill(0);
        let mut at = field::ADDRESSES;
        for a in &self.addresses {
            let n = address_len(family);
            match a {
                IpAddr::V4(a) => b[at..at + n].copy_from_slice(&a.octets()),
                IpAddr::V6(a) => b[at..at + n].copy_from_slice(&a.octets()),
            }
            at += n;
        }
        if self.version == Version::V2 {
            b[at..at + V2_AUTH_LEN].copy_from_slice(&self.auth_data);
        }
        Ok(())
    }

    /// [`emit`](Self::emit) appended to `out` (checksum zero). Returns the
    /// message length.
    #[inline]
    pub fn append_to(&self, family: Family, out: &mut Vec<u8>) -> Result<usize, VrrpEncodeError> {
        let at = out.len();
        let n = self.buffer_len(family);
        out.resize(at + n, 0);
        let r = self.emit(&mut VrrpPacket::new_unchecked(&mut out[at..], family));
        if r.is_err() {
            out.truncate(at);
        }
        r.map(|()| n)
    }

    /// Append the message to `out` with its checksum computed for `src` ->
    /// `dst` in the form [`ChecksumForm::on_wire`] picks from `form`.
    /// Returns the message length.
    #[inline]
    pub fn append_checksummed(
        &self,
        src: IpAddr,
        dst: IpAddr,
        form: ChecksumForm,
        out: &mut Vec<u8>,
    ) -> Result<usize, VrrpEncodeError> {
        let family = Family::of(&src);
        if family != Family::of(&dst) {
            return Err(VrrpEncodeError::FamilyMismatch { src, dst });
        }
        let at = out.len();
        let len = self.append_to(family, out)?;
        let form = ChecksumForm::on_wire(self.version, family, form);
        fill_checksum(&mut out[at..], len, src, dst, form);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(a: [u16; 8]) -> Ipv6Addr {
        Ipv6Addr::new(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
    }

    const fn v4(a: [u8; 4]) -> Ipv4Addr {
        Ipv4Addr::new(a[0], a[1], a[2], a[3])
    }

    const A: IpAddr = IpAddr::V4(v4([192, 0, 2, 1]));
    const MC: IpAddr = IpAddr::V4(VRRP_MCAST_V4);

    /// keepalived 2.2.7, v3-mc-4 (node a): VRID 51, priority 150, 1 s,
    /// VIP 192.0.2.100, checksum over the pseudo-header.
    fn v3_v4_bytes() -> Vec<u8> {
        let mut m = vec![0x31, 51, 150, 1, 0x00, 0x64, 0, 0, 192, 0, 2, 100];
        fill_checksum(&mut m, 12, A, MC, ChecksumForm::PseudoHeader);
        m
    }

    /// v2 PASS "secret12", VRID 51, priority 100, 1 s, VIP 192.0.2.100.
    fn v2_pass_bytes() -> Vec<u8> {
        let mut m = vec![0x21, 51, 100, 1, 1, 1, 0, 0, 192, 0, 2, 100];
        m.extend_from_slice(b"secret12");
        fill_checksum(&mut m, 20, A, MC, ChecksumForm::Message);
        m
    }

    #[test]
    fn v3_view_reads_every_field() {
        let m = v3_v4_bytes();
        let (p, form) = VrrpPacket::new_verified(&m[..], A, MC).unwrap();
        assert_eq!(form, ChecksumForm::PseudoHeader);
        assert_eq!(p.version(), Version::V3);
        assert_eq!(p.msg_type(), TYPE_ADVERTISEMENT);
        assert_eq!(p.vrid(), 51);
        assert_eq!(p.priority(), 150);
        assert_eq!(p.count(), 1);
        assert_eq!(p.auth_type(), 0);
        assert_eq!(p.interval_cs(), 100);
        assert_eq!(p.message_len(), 12);
        assert_eq!(
            p.addresses().collect::<Vec<_>>(),
            vec![IpAddr::V4(v4([192, 0, 2, 100]))]
        );
        assert_eq!(p.auth_data(), [0; 8]);
        assert!(p.trailer().is_empty());
    }

    #[test]
    fn v2_view_reads_auth_type_interval_and_auth_data() {
        let m = v2_pass_bytes();
        let (p, form) = VrrpPacket::new_verified(&m[..], A, MC).unwrap();
        assert_eq!(form, ChecksumForm::Message);
        assert_eq!(p.version(), Version::V2);
        assert_eq!(p.auth_type(), 1);
        assert_eq!(p.interval_cs(), 100);
        assert_eq!(&p.auth_data(), b"secret12");
        assert_eq!(p.message_len(), 20);
    }

    #[test]
    fn v3_ignores_the_reserved_interval_bits() {
        let mut m = v3_v4_bytes();
        m[4] |= 0xf0;
        let p = VrrpPacket::new_checked(&m[..], Family::V4).unwrap();
        assert_eq!(p.interval_cs(), 100);
    }

    #[test]
    fn new_checked_rejects_every_truncation() {
        for m in [v3_v4_bytes(), v2_pass_bytes()] {
            for n in 0..m.len() {
                assert!(
                    VrrpPacket::new_checked(&m[..n], Family::V4).is_err(),
                    "{n} of {} bytes accepted",
                    m.len()
                );
            }
        }
    }

    #[test]
    fn new_checked_rejects_version_type_and_v2_over_ipv6() {
        let mut m = v3_v4_bytes();
        m[0] = 0x41;
        assert_eq!(
            VrrpPacket::new_checked(&m[..], Family::V4),
            Err(VrrpDecodeError::Version(4))
        );
        m[0] = 0x32;
        assert_eq!(
            VrrpPacket::new_checked(&m[..], Family::V4),
            Err(VrrpDecodeError::Type(2))
        );
        let mut v2 = v2_pass_bytes();
        v2.resize(40, 0);
        assert_eq!(
            VrrpPacket::new_checked(&v2[..], Family::V6),
            Err(VrrpDecodeError::V2OverIpv6)
        );
    }

    #[test]
    fn carp_is_named_not_miscounted() {
        let mut carp = vec![0x21, 1, 0, 7, 0, 1, 0, 0];
        carp.resize(36, 0);
        assert_eq!(
            VrrpPacket::new_checked(&carp[..], Family::V4),
            Err(VrrpDecodeError::Carp)
        );
    }

    #[test]
    fn checksum_forms_are_recognised() {
        let m = v3_v4_bytes();
        let p = VrrpPacket::new_checked(&m[..], Family::V4).unwrap();
        assert!(p.checksum_ok(A, MC, ChecksumForm::PseudoHeader));
        assert!(!p.checksum_ok(A, MC, ChecksumForm::Message));
        let mut bad = m.clone();
        bad[7] ^= 1;
        let p = VrrpPacket::new_checked(&bad[..], Family::V4).unwrap();
        assert!(matches!(
            p.verify_checksum(A, MC),
            Err(VrrpDecodeError::Checksum { .. })
        ));
        // keepalived's unicast compat form names the group in unicast.
        let peer = IpAddr::V4(v4([192, 0, 2, 2]));
        let p = VrrpPacket::new_checked(&m[..], Family::V4).unwrap();
        assert_eq!(p.verify_checksum(A, peer), Ok(ChecksumForm::PseudoHeader));
    }

    #[test]
    fn repr_round_trips_byte_for_byte() {
        for m in [v3_v4_bytes(), v2_pass_bytes()] {
            let (p, form) = VrrpPacket::new_verified(&m[..], A, MC).unwrap();
            let r = VrrpRepr::parse(&p).unwrap();
            let mut out = Vec::new();
            r.append_checksummed(A, MC, form, &mut out).unwrap();
            assert_eq!(out, m);
        }
    }

    #[test]
    fn ipv6_addresses_are_16_bytes() {
        let src = IpAddr::V6(v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]));
        let dst = IpAddr::V6(super::super::VRRP_MCAST_V6);
        let r = VrrpRepr {
            version: Version::V3,
            vrid: 51,
            priority: 150,
            interval_cs: 100,
            addresses: vec![
                IpAddr::V6(v6([0xfe80, 0, 0, 0, 0, 0, 0, 0x100])),
                IpAddr::V6(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100])),
            ],
            auth_type: 0,
            auth_data: [0; 8],
        };
        let mut out = Vec::new();
        assert_eq!(
            r.append_checksummed(src, dst, ChecksumForm::Message, &mut out),
            Ok(40)
        );
        let (p, form) = VrrpPacket::new_verified(&out[..], src, dst).unwrap();
        assert_eq!(form, ChecksumForm::PseudoHeader);
        assert_eq!(p.addresses().len(), 2);
        assert_eq!(VrrpRepr::parse(&p).unwrap(), r);
    }

    #[test]
    fn emit_refuses_what_the_wire_cannot_carry() {
        let mut r = VrrpRepr {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            interval_cs: 150,
            addresses: vec![],
            auth_type: 0,
            auth_data: [0; 8],
        };
        let mut out = Vec::new();
        assert_eq!(
            r.append_to(Family::V4, &mut out),
            Err(VrrpEncodeError::Interval(150))
        );
        assert!(out.is_empty());
        r.interval_cs = 100;
        assert_eq!(
            r.append_to(Family::V6, &mut out),
            Err(VrrpEncodeError::V2OverIpv6)
        );
        let mut short = [0u8; 10];
        assert!(matches!(
            r.emit(&mut VrrpPacket::new_unchecked(&mut short[..], Family::V4)),
            Err(VrrpEncodeError::BufferTooShort { need: 16, .. })
        ));
    }
}
