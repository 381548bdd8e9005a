//! The receive pipeline of one VRRP group, pure: every check of RFC 5798
//! §7.1 / RFC 3768 §7.1 plus the unicast-peer, AH and hmac rules, each with
//! its own [`DropReason`]. A dropped packet changes no protocol state (only
//! an hmac/AH replay mark after a verified MAC moves, as it must).

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use super::auth::{
    AUTH_TYPE_AH, AUTH_TYPE_NONE, AUTH_TYPE_PASS, AhSequence, AuthConfig, HmacError, HmacMode,
    HmacReplayTable, ah_icv, ct_eq, hmac_verify,
};
use super::wire::ah::{AH_LEN, AhError, AhHeader};
use super::wire::ipv4::{Ipv4DecodeError, Ipv4Packet};
use super::wire::vrrp::{AddressIter, ChecksumForm, VrrpDecodeError, VrrpPacket};
use super::wire::{IPPROTO_AH, IPPROTO_VRRP};
use super::{Family, Version};

/// What the group expects of received adverts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxPolicy {
    pub version: Version,
    pub family: Family,
    pub vrid: u8,
    /// Lowest TTL / hop limit accepted in unicast (multicast always needs 255).
    pub min_ttl: u8,
    /// Empty = multicast; otherwise the only sources accepted.
    pub unicast_peers: Vec<IpAddr>,
    /// v2 only: the configured interval (centiseconds); a mismatch drops.
    pub v2_interval_cs: u16,
    pub auth: AuthConfig,
    /// v2 only: the configured address list; a mismatch from a non-owner
    /// (priority != 255) is accepted and reported in
    /// [`ValidAdvert::address_list_mismatch`], as keepalived does (RFC 3768
    /// §7.1 only says MAY verify). `None` skips the check.
    pub expected_addresses: Option<Vec<IpAddr>>,
}

/// A received packet as the shell hands it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// 112 (VRRP) or 51 (AH).
    pub protocol: u8,
    /// The IPv4 header as received (needed to verify AH).
    pub ipv4_header: Option<&'a [u8]>,
    /// The IP payload: the VRRP message (+trailer), or AH + VRRP message.
    pub payload: &'a [u8],
}

impl<'a> RxPacket<'a> {
    /// Build from a whole IPv4 datagram (raw IPv4 sockets deliver the header).
    pub fn from_ipv4_datagram(data: &'a [u8]) -> Result<Self, Ipv4DecodeError> {
        let d = Ipv4Packet::new_checked(data)?;
        Ok(RxPacket {
            src: IpAddr::V4(d.src_addr()),
            dst: IpAddr::V4(d.dst_addr()),
            ttl: d.ttl(),
            protocol: d.protocol(),
            ipv4_header: Some(d.header()),
            payload: d.payload(),
        })
    }
}

/// An advert that passed every check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidAdvert {
    pub src: IpAddr,
    pub priority: u8,
    pub interval_cs: u16,
    /// Inline for one or two addresses: validating allocates nothing then.
    pub addresses: Addresses,
    /// Which checksum form the sender used (SPEC §1: count per peer).
    pub checksum: ChecksumForm,
    /// hmac receive-only / permissive: what would have dropped it (to log and
    /// count), or `HmacMissing` in permissive mode.
    pub auth_warning: Option<DropReason>,
    /// v2: the advert's address list differs from the configured one (see
    /// [`RxPolicy::expected_addresses`]); accepted, to count and log.
    pub address_list_mismatch: bool,
}

/// The address list of an accepted advert, owned, keeping up to two
/// addresses inline (one VIP, or IPv6's link-local + one global): accepting
/// such an advert allocates nothing; longer lists spill to the heap.
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

impl From<AddressIter<'_>> for Addresses {
    fn from(l: AddressIter<'_>) -> Self {
        let len = l.len();
        let mut a = Addresses {
            len,
            ..Addresses::default()
        };
        if len <= a.inline.len() {
            for (slot, addr) in a.inline.iter_mut().zip(l) {
                *slot = Some(addr);
            }
        } else {
            a.spill = l.collect();
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

/// Why a packet was dropped; one variant per receive check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Error)]
pub enum DropReason {
    #[error("IP datagram malformed")]
    IpHeader,
    #[error("address family differs from the group's")]
    FamilyMismatch,
    #[error("IP protocol is neither VRRP nor AH")]
    Protocol,
    #[error("source is not a configured unicast peer")]
    NotAPeer,
    #[error("TTL / hop limit too low")]
    TtlTooLow,
    #[error("truncated packet")]
    Truncated,
    #[error("unsupported VRRP version")]
    Version,
    #[error("unknown VRRP packet type")]
    Type,
    #[error("CARP (ucarp) packet")]
    Carp,
    #[error("address count does not fit the packet")]
    AddressCount,
    #[error("unexpected bytes after the VRRP message")]
    Length,
    #[error("bad VRRP checksum")]
    Checksum,
    #[error("advert interval zero")]
    IntervalZero,
    #[error("no group for this VRID")]
    VridUnknown,
    #[error("VRID differs from the group's")]
    VridMismatch,
    #[error("v2 advert interval differs from the configured one")]
    IntervalMismatch,
    /// Not produced by [`RxValidator::validate`] any more (a v2 address-list
    /// mismatch is accepted, see [`ValidAdvert::address_list_mismatch`]);
    /// kept so the label stays stable for dashboards.
    #[error("v2 address list differs from the configured one")]
    AddressListMismatch,
    #[error("auth type differs from the configured one")]
    AuthTypeMismatch,
    #[error("PASS password mismatch")]
    AuthFailed,
    #[error("AH header malformed")]
    AhMalformed,
    #[error("AH SPI is not the source address")]
    AhSpi,
    #[error("AH ICV mismatch")]
    AhIcv,
    #[error("AH sequence replayed")]
    AhReplay,
    #[error("hmac trailer missing")]
    HmacMissing,
    #[error("hmac trailer malformed")]
    HmacMalformed,
    #[error("hmac key id unknown")]
    HmacUnknownKey,
    #[error("hmac mismatch")]
    HmacBad,
    #[error("hmac timestamp outside the time window")]
    HmacStale,
    #[error("hmac sequence replayed")]
    HmacReplay,
}

impl DropReason {
    /// The Prometheus `reason` label.
    pub fn label(&self) -> &'static str {
        use DropReason::*;
        match self {
            IpHeader => "ip_header",
            FamilyMismatch => "family_mismatch",
            Protocol => "protocol",
            NotAPeer => "not_a_peer",
            TtlTooLow => "ttl_too_low",
            Truncated => "truncated",
            Version => "version",
            Type => "type",
            Carp => "carp",
            AddressCount => "address_count",
            Length => "length",
            Checksum => "checksum",
            IntervalZero => "interval_zero",
            VridUnknown => "vrid_unknown",
            VridMismatch => "vrid_mismatch",
            IntervalMismatch => "interval_mismatch",
            AddressListMismatch => "address_list_mismatch",
            AuthTypeMismatch => "auth_type_mismatch",
            AuthFailed => "auth_failed",
            AhMalformed => "ah_malformed",
            AhSpi => "ah_spi",
            AhIcv => "ah_icv",
            AhReplay => "ah_replay",
            HmacMissing => "hmac_missing",
            HmacMalformed => "hmac_malformed",
            HmacUnknownKey => "hmac_unknown_key",
            HmacBad => "hmac_bad",
            HmacStale => "hmac_stale",
            HmacReplay => "hmac_replay",
        }
    }

    /// Every reason, for pre-registering metric series.
    pub const ALL: [DropReason; 29] = {
        use DropReason::*;
        [
            IpHeader,
            FamilyMismatch,
            Protocol,
            NotAPeer,
            TtlTooLow,
            Truncated,
            Version,
            Type,
            Carp,
            AddressCount,
            Length,
            Checksum,
            IntervalZero,
            VridUnknown,
            VridMismatch,
            IntervalMismatch,
            AddressListMismatch,
            AuthTypeMismatch,
            AuthFailed,
            AhMalformed,
            AhSpi,
            AhIcv,
            AhReplay,
            HmacMissing,
            HmacMalformed,
            HmacUnknownKey,
            HmacBad,
            HmacStale,
            HmacReplay,
        ]
    };
}

impl From<&VrrpDecodeError> for DropReason {
    fn from(e: &VrrpDecodeError) -> Self {
        match e {
            VrrpDecodeError::Truncated { .. } => DropReason::Truncated,
            VrrpDecodeError::Version(_) => DropReason::Version,
            VrrpDecodeError::Type(_) => DropReason::Type,
            VrrpDecodeError::Carp => DropReason::Carp,
            VrrpDecodeError::AddressCount { .. } => DropReason::AddressCount,
            VrrpDecodeError::Checksum { .. } => DropReason::Checksum,
            VrrpDecodeError::FamilyMismatch { .. } | VrrpDecodeError::V2OverIpv6 => {
                DropReason::FamilyMismatch
            }
            VrrpDecodeError::IntervalZero => DropReason::IntervalZero,
        }
    }
}

impl From<&Ipv4DecodeError> for DropReason {
    fn from(_: &Ipv4DecodeError) -> Self {
        DropReason::IpHeader
    }
}

impl From<&HmacError> for DropReason {
    fn from(e: &HmacError) -> Self {
        match e {
            HmacError::Missing => DropReason::HmacMissing,
            HmacError::Malformed { .. } => DropReason::HmacMalformed,
            HmacError::UnknownKey(_) => DropReason::HmacUnknownKey,
            HmacError::Bad => DropReason::HmacBad,
            HmacError::Stale { .. } => DropReason::HmacStale,
            HmacError::Replay { .. } => DropReason::HmacReplay,
        }
    }
}

/// The VRID of a received packet (skipping AH for protocol 51), for
/// dispatching to a group; `None` if too short or another protocol.
pub fn peek_vrid(protocol: u8, payload: &[u8]) -> Option<u8> {
    match protocol {
        IPPROTO_VRRP => super::wire::vrrp::peek_vrid(payload),
        IPPROTO_AH => super::wire::vrrp::peek_vrid(payload.get(AH_LEN..)?),
        _ => None,
    }
}

/// The VRID a received packet is demultiplexed by (with the interface and
/// address family, which the shell knows), or why no group can take it:
/// [`DropReason::Protocol`] for a protocol other than VRRP or AH,
/// [`DropReason::Truncated`] when the VRID byte is missing. The daemon and
/// the fuzzer both dispatch through this.
pub fn demux_vrid(protocol: u8, payload: &[u8]) -> Result<u8, DropReason> {
    match protocol {
        IPPROTO_VRRP | IPPROTO_AH => peek_vrid(protocol, payload).ok_or(DropReason::Truncated),
        _ => Err(DropReason::Protocol),
    }
}

/// Validates received adverts for one group and holds its replay state.
#[derive(Clone, Debug)]
pub struct RxValidator {
    policy: RxPolicy,
    ah_seq: AhSequence,
    hmac_replay: HmacReplayTable,
}

impl RxValidator {
    pub fn new(policy: RxPolicy) -> Self {
        RxValidator {
            policy,
            ah_seq: AhSequence::default(),
            hmac_replay: HmacReplayTable::default(),
        }
    }

    pub fn policy(&self) -> &RxPolicy {
        &self.policy
    }

    /// The AH sequence state (the transmitter continues from it: a new master
    /// continues from the last received seq + 1).
    pub fn ah_sequence(&self) -> AhSequence {
        self.ah_seq
    }

    /// Validate one packet. `wall_clock_unix` is the receiver's UTC clock
    /// (hmac `time` anti-replay).
    pub fn validate(
        &mut self,
        pkt: &RxPacket<'_>,
        wall_clock_unix: Duration,
    ) -> Result<ValidAdvert, DropReason> {
        let p = &self.policy;
        if Family::of(&pkt.src) != p.family || Family::of(&pkt.dst) != p.family {
            return Err(DropReason::FamilyMismatch);
        }
        let ah_configured = matches!(p.auth, AuthConfig::Ah { .. });
        match pkt.protocol {
            IPPROTO_VRRP if ah_configured => return Err(DropReason::AuthTypeMismatch),
            IPPROTO_AH if !ah_configured => return Err(DropReason::AuthTypeMismatch),
            IPPROTO_VRRP | IPPROTO_AH => {}
            _ => return Err(DropReason::Protocol),
        }
        // Unicast: only configured peers, whatever else the packet says.
        let unicast = !p.unicast_peers.is_empty();
        if unicast && !p.unicast_peers.contains(&pkt.src) {
            return Err(DropReason::NotAPeer);
        }
        // RFC 5798 §7.1: TTL 255 (multicast); SPEC §1: min_ttl in unicast.
        let min_ttl = if unicast { p.min_ttl } else { 255 };
        if pkt.ttl < min_ttl {
            return Err(DropReason::TtlTooLow);
        }
        let (ah, vrrp) = if pkt.protocol == IPPROTO_AH {
            let ah = AhHeader::parse(pkt.payload).map_err(|e| match e {
                AhError::Truncated(_) => DropReason::Truncated,
                _ => DropReason::AhMalformed,
            })?;
            (Some(ah), &pkt.payload[AH_LEN..])
        } else {
            (None, pkt.payload)
        };
        let (adv, checksum) =
            VrrpPacket::new_verified(vrrp, pkt.src, pkt.dst).map_err(|e| DropReason::from(&e))?;
        if adv.version() != p.version {
            return Err(DropReason::Version);
        }
        if adv.vrid() != p.vrid {
            return Err(DropReason::VridMismatch);
        }
        let mut auth_warning = None;
        let mut hmac_seq = None;
        match &p.auth {
            AuthConfig::None => {
                if p.version == Version::V2 && adv.auth_type() != AUTH_TYPE_NONE {
                    return Err(DropReason::AuthTypeMismatch);
                }
            }
            AuthConfig::Pass { password } => {
                if adv.auth_type() != AUTH_TYPE_PASS {
                    return Err(DropReason::AuthTypeMismatch);
                }
                if !ct_eq(&adv.auth_data(), password) {
                    return Err(DropReason::AuthFailed);
                }
            }
            AuthConfig::Ah { key } => {
                if adv.auth_type() != AUTH_TYPE_AH {
                    return Err(DropReason::AuthTypeMismatch);
                }
                let (Some(ah), IpAddr::V4(src)) = (ah, pkt.src) else {
                    return Err(DropReason::AuthTypeMismatch);
                };
                if ah.spi != u32::from(src) {
                    return Err(DropReason::AhSpi);
                }
                let Some(ip_header) = pkt.ipv4_header else {
                    return Err(DropReason::AhIcv);
                };
                // keepalived covers everything after AH (a trailer would drop below).
                let icv = ah_icv(key, ip_header, &ah, vrrp, unicast);
                if !ct_eq(&icv, &ah.icv) {
                    return Err(DropReason::AhIcv);
                }
                if !self.ah_seq.is_fresh(ah.seq) {
                    return Err(DropReason::AhReplay);
                }
            }
            AuthConfig::Hmac(cfg) => {
                if p.version == Version::V2 && adv.auth_type() != AUTH_TYPE_NONE {
                    return Err(DropReason::AuthTypeMismatch);
                }
                let pdu = adv.message();
                match hmac_verify(
                    cfg,
                    &self.hmac_replay,
                    p.version,
                    p.vrid,
                    pkt.src,
                    pdu,
                    adv.trailer(),
                    wall_clock_unix,
                ) {
                    Ok(t) => hmac_seq = Some(t.seq()),
                    Err(e) => {
                        let reason = DropReason::from(&e);
                        let tolerated = match cfg.mode {
                            HmacMode::ReceiveOnly => true,
                            HmacMode::Permissive => reason == DropReason::HmacMissing,
                            HmacMode::Enforce => false,
                        };
                        if !tolerated {
                            return Err(reason);
                        }
                        auth_warning = Some(reason);
                    }
                }
            }
        }
        // Non-hmac groups: nothing may follow the message.
        if !matches!(p.auth, AuthConfig::Hmac(_)) && !adv.trailer().is_empty() {
            return Err(DropReason::Length);
        }
        // RFC 3768 §7.1: v2 drops an interval mismatch (v3 learns it).
        if p.version == Version::V2 && adv.interval_cs() != p.v2_interval_cs {
            return Err(DropReason::IntervalMismatch);
        }
        // RFC 3768 §7.1 "MAY verify" the v2 address list. keepalived accepts
        // a mismatch and logs it, and so do we (SPEC: what a keepalived user
        // expects): the advert counts, the shell counts and logs the
        // mismatch. An owner's list is never compared.
        let address_list_mismatch = p.version == Version::V2
            && adv.priority() != 255
            && p.expected_addresses
                .as_ref()
                .is_some_and(|expected| !adv.addresses().same_set(expected));
        // Every check passed: only now move replay marks.
        if let Some(ah) = ah {
            self.ah_seq.accept(ah.seq);
        }
        if let Some(seq) = hmac_seq {
            self.hmac_replay.commit(pkt.src, seq);
        }
        Ok(ValidAdvert {
            src: pkt.src,
            priority: adv.priority(),
            interval_cs: adv.interval_cs(),
            addresses: adv.addresses().into(),
            checksum,
            auth_warning,
            address_list_mismatch,
        })
    }
}
