//! VRRP v2 (RFC 3768) and v3 (RFC 5798 / RFC 9568) advertisements, and the
//! IPv4 header view the raw-socket shell and the pcap goldens need.
//!
//! The shape follows smoltcp's `wire` module: named field ranges, a length
//! check before any field is read, a typed error carrying the offending
//! value, and a parse / emit pair that round-trips byte for byte.
//!
//! Wire layout of the VRRP message (both versions share the first 4 bytes and
//! the checksum position):
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use thiserror::Error;

use super::{Family, Version};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH (VRRPv2 `auth_type AH`).
pub const IPPROTO_AH: u8 = 51;
/// VRRP IPv4 multicast group (RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP IPv6 multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// VRRP packet type "ADVERTISEMENT", the only one defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data.
pub const V2_AUTH_LEN: usize = 8;
/// Largest v3 advert interval in centiseconds (12 bits).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;

/// Byte offsets of the VRRP header fields.
mod field {
    pub type Field = std::ops::Range<usize>;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: auth type; v3: high nibble reserved + top 4 bits of the interval.
    pub const V2_AUTH_TYPE: usize = 4;
    /// v2: advert interval in seconds.
    pub const V2_ADVER_INT: usize = 5;
    /// v3: 4 reserved bits then the 12-bit max advert interval (centiseconds).
    pub const V3_MAX_ADVER_INT: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Offset of the checksum inside a VRRP message (both versions).
pub const CHECKSUM_OFFSET: usize = field::CHECKSUM.start;

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

/// A decoded VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advert interval in centiseconds; v2 carries whole seconds (= secs * 100).
    pub interval_cs: u16,
    pub addresses: Vec<IpAddr>,
    /// v2 only (0 none, 1 PASS, 2 AH); 0 for v3.
    pub auth_type: u8,
    /// v2 only; zeros for v3.
    pub auth_data: [u8; 8],
}

/// The result of [`Advert::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub advert: Advert,
    /// The checksum form that verified.
    pub checksum: ChecksumForm,
    /// Length of the VRRP message (the PDU) at the start of the payload.
    pub pdu_len: usize,
    /// Bytes after the VRRP message (where the hmac trailer lives).
    pub trailer: &'a [u8],
}

/// The result of [`Advert::parse_view`]: an advert that passed every
/// decode check, its address list still in the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertView<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Centiseconds, as in [`Advert::interval_cs`].
    pub interval_cs: u16,
    pub addresses: AddressList<'a>,
    pub auth_type: u8,
    pub auth_data: [u8; 8],
    pub checksum: ChecksumForm,
    pub pdu_len: usize,
    pub trailer: &'a [u8],
}

/// The address list of a received advert, read in place (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddressList<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl<'a> AddressList<'a> {
    pub fn len(&self) -> usize {
        self.bytes.len() / addr_len(self.family)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let family = self.family;
        self.bytes
            .chunks_exact(addr_len(family))
            .map(move |c| match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::V6 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
            })
    }

    pub fn to_vec(&self) -> Vec<IpAddr> {
        self.iter().collect()
    }

    /// Same addresses, in any order (RFC 3768 §7.1 list check).
    pub fn same_set(&self, expected: &[IpAddr]) -> bool {
        self.len() == expected.len() && expected.iter().all(|x| self.iter().any(|a| a == *x))
    }
}

/// An owned address list that keeps up to two addresses inline (one VIP,
/// or IPv6's link-local + one global): receiving such an advert allocates
/// nothing; longer lists spill to the heap.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    len: usize,
    inline: [Option<IpAddr>; 2],
    spill: Vec<IpAddr>,
}

impl Addresses {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.inline
            .iter()
            .flatten()
            .copied()
            .chain(self.spill.iter().copied())
    }

    pub fn to_vec(&self) -> Vec<IpAddr> {
        self.iter().collect()
    }
}

impl From<AddressList<'_>> for Addresses {
    fn from(l: AddressList<'_>) -> Self {
        let len = l.len();
        let mut a = Addresses {
            len,
            ..Addresses::default()
        };
        if len <= a.inline.len() {
            for (slot, addr) in a.inline.iter_mut().zip(l.iter()) {
                *slot = Some(addr);
            }
        } else {
            a.spill = l.to_vec();
        }
        a
    }
}

impl std::fmt::Debug for Addresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Vec<IpAddr>> for Addresses {
    fn eq(&self, other: &Vec<IpAddr>) -> bool {
        self.len == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == *b)
    }
}

impl Serialize for Addresses {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl std::fmt::Debug for AddressList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Vec<IpAddr>> for AddressList<'_> {
    fn eq(&self, other: &Vec<IpAddr>) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == *b)
    }
}

impl Serialize for AddressList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Why a VRRP message could not be decoded (RFC 5798 §7.1, RFC 3768 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
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
    #[error("VRRPv2 over IPv6 from {src}")]
    V2OverIpv6 { src: IpAddr },
    #[error("advert interval is zero")]
    IntervalZero,
    // --- IPv4 header view ---
    #[error("IPv4 datagram truncated: {len} bytes, need {need}")]
    Ipv4Truncated { len: usize, need: usize },
    #[error("not IPv4: version {0}")]
    Ipv4Version(u8),
    #[error("bad IPv4 header length {0} (32-bit words)")]
    Ipv4HeaderLength(u8),
    #[error(
        "IPv4 total length {total} inconsistent with header length {ihl} / {len} bytes received"
    )]
    Ipv4TotalLength { total: u16, ihl: usize, len: usize },
    #[error("bad IPv4 header checksum 0x{got:04x}")]
    Ipv4Checksum { got: u16 },
}

/// Why an advert cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
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
}

/// Internet checksum accumulator (RFC 1071).
#[derive(Clone, Copy, Debug, Default)]
pub struct Checksum(u32);

impl Checksum {
    pub fn new() -> Self {
        Checksum(0)
    }
    /// Add bytes; an odd trailing byte is padded with zero. Only the last
    /// call may have an odd length.
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
    pub fn finish(self) -> u16 {
        let mut s = self.0;
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }
}

/// Pseudo-header sum for `form` ({src, dst, 0, 112, len} for IPv4, the RFC
/// 8200 §8.1 form for IPv6); `Message` adds nothing.
fn pseudo_header(form: ChecksumForm, src: IpAddr, dst: IpAddr, len: usize) -> Checksum {
    let c = Checksum::new();
    match (form, src, dst) {
        (ChecksumForm::Message, _, _) => c,
        (ChecksumForm::PseudoHeader, IpAddr::V4(s), IpAddr::V4(d)) => c
            .feed(&s.octets())
            .feed(&d.octets())
            .feed(&[0, IPPROTO_VRRP])
            .feed(&(len as u16).to_be_bytes()),
        (ChecksumForm::PseudoHeader, IpAddr::V6(s), IpAddr::V6(d)) => c
            .feed(&s.octets())
            .feed(&d.octets())
            .feed(&(len as u32).to_be_bytes())
            .feed(&[0, 0, 0, IPPROTO_VRRP]),
        // Mixed families never reach here (checked by callers); sum nothing.
        _ => c,
    }
}

/// The bytes a VRRP checksum covers for a given version/family: IPv6 covers
/// the whole transport payload (the kernel's IPV6_CHECKSUM does, so a hmac
/// trailer is inside), IPv4 only the VRRP message (verified against the
/// draft-cassen-vrrp-auth-hmac IPv4 vector).
fn checksum_span(family: Family, pdu_len: usize, total: usize) -> usize {
    match family {
        Family::V4 => pdu_len,
        Family::V6 => total,
    }
}

/// Compute the checksum of `buf[..]` (VRRP message at the front, then any
/// trailer) with the checksum field read as zero.
pub fn compute_checksum(
    buf: &[u8],
    pdu_len: usize,
    src: IpAddr,
    dst: IpAddr,
    form: ChecksumForm,
) -> u16 {
    let span = checksum_span(Family::of(&src), pdu_len, buf.len()).min(buf.len());
    let covered = &buf[..span];
    let head = &covered[..CHECKSUM_OFFSET.min(covered.len())];
    let tail = covered.get(field::CHECKSUM.end..).unwrap_or(&[]);
    pseudo_header(form, src, dst, span)
        .feed(head)
        .feed(&[0, 0])
        .feed(tail)
        .finish()
}

/// Write the checksum into a buffer produced by [`Advert::emit_zero_checksum`]
/// (+ optional trailer).
pub fn fill_checksum(buf: &mut [u8], pdu_len: usize, src: IpAddr, dst: IpAddr, form: ChecksumForm) {
    let c = compute_checksum(buf, pdu_len, src, dst, form);
    if buf.len() >= field::CHECKSUM.end {
        buf[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

fn addr_len(family: Family) -> usize {
    match family {
        Family::V4 => 4,
        Family::V6 => 16,
    }
}

/// Length of a VRRP message with `count` addresses.
pub fn message_len(version: Version, family: Family, count: usize) -> usize {
    HEADER_LEN
        + count * addr_len(family)
        + match version {
            Version::V2 => V2_AUTH_LEN,
            Version::V3 => 0,
        }
}

/// The VRID of a VRRP message, looked at without validating anything else
/// (used for dispatching to a group before full validation).
pub fn peek_vrid(pdu: &[u8]) -> Option<u8> {
    pdu.get(field::VRID).copied()
}

impl Advert {
    /// Parse a VRRP message at the start of `payload` (the bytes after the IP
    /// header, and after AH if present). `src` and `dst` are the IP addresses
    /// it arrived with (for the pseudo-header checksum). Bytes after the
    /// message are returned as `trailer`.
    pub fn parse(payload: &[u8], src: IpAddr, dst: IpAddr) -> Result<Parsed<'_>, DecodeError> {
        let v = Self::parse_view(payload, src, dst)?;
        Ok(Parsed {
            advert: Advert {
                version: v.version,
                vrid: v.vrid,
                priority: v.priority,
                interval_cs: v.interval_cs,
                addresses: v.addresses.to_vec(),
                auth_type: v.auth_type,
                auth_data: v.auth_data,
            },
            checksum: v.checksum,
            pdu_len: v.pdu_len,
            trailer: v.trailer,
        })
    }

    /// Like [`Advert::parse`] with every check, but the address list stays
    /// in the packet: nothing is allocated (the receive hot path).
    pub fn parse_view(
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<AdvertView<'_>, DecodeError> {
        let family = Family::of(&src);
        if family != Family::of(&dst) {
            return Err(DecodeError::FamilyMismatch { src, dst });
        }
        if payload.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                len: payload.len(),
                need: HEADER_LEN,
            });
        }
        let vt = payload[field::VER_TYPE];
        let (ver, typ) = (vt >> 4, vt & 0x0f);
        let version = match ver {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::Version(v)),
        };
        if typ != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(typ));
        }
        let count = payload[field::COUNT];
        if version == Version::V2 && family == Family::V6 {
            return Err(DecodeError::V2OverIpv6 { src });
        }
        let pdu_len = message_len(version, family, usize::from(count));
        if payload.len() < pdu_len {
            // CARP: version 2, type 1, "count" = authlen 7, 36 bytes total
            // (8 header + 8 counter + 20 SHA-1). A v2 advert with 7 addresses
            // would need 44 bytes, so this is never a valid VRRP packet.
            if version == Version::V2 && count == 7 && payload.len() == 36 {
                return Err(DecodeError::Carp);
            }
            return Err(DecodeError::AddressCount {
                count,
                need: pdu_len,
                len: payload.len(),
            });
        }
        let got = u16::from_be_bytes([payload[6], payload[7]]);
        let checksum = match (version, family) {
            (Version::V2, _) => verify(payload, pdu_len, src, dst, ChecksumForm::Message)?,
            (Version::V3, Family::V6) => {
                verify(payload, pdu_len, src, dst, ChecksumForm::PseudoHeader)?
            }
            (Version::V3, Family::V4) => {
                verify(payload, pdu_len, src, dst, ChecksumForm::PseudoHeader)
                    .or_else(|_| verify(payload, pdu_len, src, dst, ChecksumForm::Message))
                    // keepalived's old unicast checksum (its
                    // unicast_chksum_compat, still accepted by keepalived):
                    // the pseudo-header names 224.0.0.18 even in unicast.
                    .or_else(|e| match dst {
                        IpAddr::V4(d) if d != VRRP_MCAST_V4 => verify(
                            payload,
                            pdu_len,
                            src,
                            IpAddr::V4(VRRP_MCAST_V4),
                            ChecksumForm::PseudoHeader,
                        ),
                        _ => Err(e),
                    })
                    .map_err(|_| DecodeError::Checksum { got })?
            }
        };
        let (interval_cs, auth_type) = match version {
            Version::V2 => (
                u16::from(payload[field::V2_ADVER_INT]) * 100,
                payload[field::V2_AUTH_TYPE],
            ),
            Version::V3 => {
                let r = field::V3_MAX_ADVER_INT;
                let raw = u16::from_be_bytes([payload[r.start], payload[r.start + 1]]);
                // RFC 5798 §5.2.7: the 4 reserved bits are ignored on receive.
                (raw & V3_MAX_INTERVAL_CS, 0)
            }
        };
        if interval_cs == 0 {
            return Err(DecodeError::IntervalZero);
        }
        let alen = addr_len(family);
        let addrs_end = field::ADDRESSES + usize::from(count) * alen;
        let addresses = AddressList {
            family,
            bytes: &payload[field::ADDRESSES..addrs_end],
        };
        let mut auth_data = [0u8; 8];
        if version == Version::V2 {
            auth_data.copy_from_slice(&payload[addrs_end..addrs_end + V2_AUTH_LEN]);
        }
        Ok(AdvertView {
            version,
            vrid: payload[field::VRID],
            priority: payload[field::PRIORITY],
            interval_cs,
            addresses,
            auth_type,
            auth_data,
            checksum,
            pdu_len,
            trailer: &payload[pdu_len..],
        })
    }

    /// The family of this advert's addresses (V4 when it has none).
    pub fn family(&self) -> Family {
        self.addresses.first().map(Family::of).unwrap_or(Family::V4)
    }

    /// Length of the encoded VRRP message.
    pub fn wire_len(&self) -> usize {
        message_len(self.version, self.family(), self.addresses.len())
    }

    /// Append the VRRP message to `out` with the checksum field zero (the
    /// hmac trailer is computed over this form). Returns the message length.
    pub fn emit_zero_checksum(
        &self,
        family: Family,
        out: &mut Vec<u8>,
    ) -> Result<usize, EncodeError> {
        if self.addresses.len() > usize::from(u8::MAX) {
            return Err(EncodeError::TooManyAddresses(self.addresses.len()));
        }
        if let Some(a) = self.addresses.iter().find(|a| Family::of(a) != family) {
            return Err(EncodeError::AddressFamily { addr: *a, family });
        }
        if self.version == Version::V2 && family == Family::V6 {
            return Err(EncodeError::V2OverIpv6);
        }
        let (b4, b5) = match self.version {
            Version::V2 => {
                if self.interval_cs == 0
                    || !self.interval_cs.is_multiple_of(100)
                    || self.interval_cs > 25500
                {
                    return Err(EncodeError::Interval(self.interval_cs));
                }
                (self.auth_type, (self.interval_cs / 100) as u8)
            }
            Version::V3 => {
                if self.interval_cs == 0 || self.interval_cs > V3_MAX_INTERVAL_CS {
                    return Err(EncodeError::Interval(self.interval_cs));
                }
                let [hi, lo] = self.interval_cs.to_be_bytes();
                (hi, lo)
            }
        };
        let start = out.len();
        out.extend_from_slice(&[
            (self.version.number() << 4) | TYPE_ADVERTISEMENT,
            self.vrid,
            self.priority,
            self.addresses.len() as u8,
            b4,
            b5,
            0,
            0,
        ]);
        for a in &self.addresses {
            match a {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth_data);
        }
        Ok(out.len() - start)
    }

    /// Append the VRRP message to `out` with its checksum computed for
    /// `src` -> `dst` in `form` (v2 always uses the message form, v3/IPv6
    /// always the pseudo-header). Returns the message length.
    pub fn emit(
        &self,
        src: IpAddr,
        dst: IpAddr,
        form: ChecksumForm,
        out: &mut Vec<u8>,
    ) -> Result<usize, EncodeError> {
        let family = Family::of(&src);
        if family != Family::of(&dst) {
            return Err(EncodeError::FamilyMismatch { src, dst });
        }
        let start = out.len();
        let len = self.emit_zero_checksum(family, out)?;
        fill_checksum(
            &mut out[start..],
            len,
            src,
            dst,
            effective_form(self.version, family, form),
        );
        Ok(len)
    }
}

/// The checksum form actually used on the wire for a version/family when
/// `configured` is asked for: v2 is always message-only, v3/IPv6 always
/// pseudo-header; only v3/IPv4 has a choice.
pub fn effective_form(version: Version, family: Family, configured: ChecksumForm) -> ChecksumForm {
    match (version, family) {
        (Version::V2, _) => ChecksumForm::Message,
        (Version::V3, Family::V6) => ChecksumForm::PseudoHeader,
        (Version::V3, Family::V4) => configured,
    }
}

fn verify(
    payload: &[u8],
    pdu_len: usize,
    src: IpAddr,
    dst: IpAddr,
    form: ChecksumForm,
) -> Result<ChecksumForm, DecodeError> {
    let got = u16::from_be_bytes([payload[6], payload[7]]);
    if compute_checksum(payload, pdu_len, src, dst, form) == got {
        Ok(form)
    } else {
        Err(DecodeError::Checksum { got })
    }
}

// ---------------------------------------------------------------------------
// IPv4 header view
// ---------------------------------------------------------------------------

/// Byte offsets of the IPv4 header fields.
pub mod ipv4_field {
    pub type Field = std::ops::Range<usize>;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLAGS_FRAG: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// Minimum (and, for what we send, exact) IPv4 header length.
pub const IPV4_HEADER_LEN: usize = 20;
/// TOS vrrpd and keepalived send adverts with (DSCP CS6).
pub const IPV4_TOS_VRRP: u8 = 0xc0;

/// The fields of a received IPv4 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Header length in bytes (IHL * 4), options included.
    pub header_len: usize,
    pub tos: u8,
    pub total_len: u16,
    pub ident: u16,
    pub flags_frag: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub checksum: u16,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

/// A parsed IPv4 datagram: header fields, the raw header bytes (options
/// included; AH needs them) and the payload trimmed to the total length (a
/// frame may carry Ethernet padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Datagram<'a> {
    pub header: Ipv4Header,
    pub header_bytes: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> Ipv4Datagram<'a> {
    /// Check and parse an IPv4 datagram (IHL honoured, header checksum verified).
    pub fn parse(data: &'a [u8]) -> Result<Self, DecodeError> {
        use ipv4_field as f;
        if data.len() < IPV4_HEADER_LEN {
            return Err(DecodeError::Ipv4Truncated {
                len: data.len(),
                need: IPV4_HEADER_LEN,
            });
        }
        let version = data[f::VER_IHL] >> 4;
        if version != 4 {
            return Err(DecodeError::Ipv4Version(version));
        }
        let ihl = data[f::VER_IHL] & 0x0f;
        if ihl < 5 {
            return Err(DecodeError::Ipv4HeaderLength(ihl));
        }
        let header_len = usize::from(ihl) * 4;
        if data.len() < header_len {
            return Err(DecodeError::Ipv4Truncated {
                len: data.len(),
                need: header_len,
            });
        }
        let total_len = u16::from_be_bytes([data[2], data[3]]);
        let total = usize::from(total_len);
        if total < header_len || total > data.len() {
            return Err(DecodeError::Ipv4TotalLength {
                total: total_len,
                ihl: header_len,
                len: data.len(),
            });
        }
        let header_bytes = &data[..header_len];
        if Checksum::new().feed(header_bytes).finish() != 0 {
            return Err(DecodeError::Ipv4Checksum {
                got: u16::from_be_bytes([data[10], data[11]]),
            });
        }
        let ip = |r: std::ops::Range<usize>| {
            Ipv4Addr::new(
                data[r.start],
                data[r.start + 1],
                data[r.start + 2],
                data[r.start + 3],
            )
        };
        Ok(Ipv4Datagram {
            header: Ipv4Header {
                header_len,
                tos: data[f::TOS],
                total_len,
                ident: u16::from_be_bytes([data[4], data[5]]),
                flags_frag: u16::from_be_bytes([data[6], data[7]]),
                ttl: data[f::TTL],
                protocol: data[f::PROTOCOL],
                checksum: u16::from_be_bytes([data[10], data[11]]),
                src: ip(f::SRC),
                dst: ip(f::DST),
            },
            header_bytes,
            payload: &data[header_len..total],
        })
    }
}

/// Append a 20-byte IPv4 header for an advert to `out`: TOS 0xc0, TTL 255,
/// DF off, no options, the given identification and protocol (112, or 51
/// with AH), total length = 20 + `payload_len`, header checksum filled in.
/// For sending with IP_HDRINCL (AH needs the exact header).
pub fn build_ipv4_header(
    out: &mut Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    protocol: u8,
    payload_len: usize,
) {
    let total = (IPV4_HEADER_LEN + payload_len) as u16;
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[ipv4_field::VER_IHL] = 0x45;
    h[ipv4_field::TOS] = IPV4_TOS_VRRP;
    h[ipv4_field::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
    h[ipv4_field::IDENT].copy_from_slice(&ident.to_be_bytes());
    h[ipv4_field::TTL] = 255;
    h[ipv4_field::PROTOCOL] = protocol;
    h[ipv4_field::SRC].copy_from_slice(&src.octets());
    h[ipv4_field::DST].copy_from_slice(&dst.octets());
    let c = Checksum::new().feed(&h).finish();
    h[ipv4_field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(&h);
}
