//! Advert authentication: v2 PASS, v2 IPsec AH (HMAC-MD5-96) exactly as
//! keepalived computes it, and the draft-cassen-vrrp-auth-hmac trailer
//! (HMAC-SHA256-128, keepalived >= 2.4 `auth_hmac`).
//!
//! Everything here is pure: the wall clock arrives as an argument.

use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use thiserror::Error;

use super::wire::ah::{AH_ICV_LEN, AhHeader};
use super::wire::hmac_trailer::{
    HMAC_EXT_TYPE, HMAC_LEN, HMAC_OFFSET, HMAC_TRAILER_LEN, HmacTrailerPacket,
};
use super::wire::{ipv4, vrrp};
use super::{Family, Version};

/// VRRPv2 auth type values (RFC 2338 / keepalived).
pub const AUTH_TYPE_NONE: u8 = 0;
pub const AUTH_TYPE_PASS: u8 = 1;
pub const AUTH_TYPE_AH: u8 = 2;

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A VRRPv2 password as carried on the wire and used as the AH key: zero
/// padded or truncated to 8 bytes, as keepalived does.
pub fn password_bytes(secret: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    let n = secret.len().min(8);
    out[..n].copy_from_slice(&secret[..n]);
    out
}

/// The authentication configured for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthConfig {
    None,
    /// v2 PASS (auth type 1); the 8 padded bytes.
    Pass {
        password: [u8; 8],
    },
    /// v2 IPsec AH (auth type 2); the 8 padded bytes are the HMAC-MD5 key.
    Ah {
        key: [u8; 8],
    },
    /// draft-cassen-vrrp-auth-hmac trailer.
    Hmac(HmacConfig),
}

// ---------------------------------------------------------------------------
// IPsec AH (keepalived vrrp_ipsecah.c / vrrp.c)
// ---------------------------------------------------------------------------

// The AH header itself is `wire::ah`.

/// The AH ICV as keepalived computes it: HMAC-MD5 keyed with the 8 padded
/// password bytes over the IP header with TOS, flags/fragment and header
/// checksum zeroed (TTL zeroed too when `unicast`; ID and total length kept),
/// then the AH header with its ICV zeroed, then the VRRP message; first 96
/// bits.
pub fn ah_icv(
    key: &[u8; 8],
    ip_header: &[u8],
    ah: &AhHeader,
    vrrp: &[u8],
    unicast: bool,
) -> [u8; AH_ICV_LEN] {
    let mut ip = [0u8; ipv4::MAX_HEADER_LEN];
    let n = ip_header.len().min(ipv4::MAX_HEADER_LEN);
    ip[..n].copy_from_slice(&ip_header[..n]);
    if n >= ipv4::HEADER_LEN {
        ip[ipv4::field::TOS] = 0;
        ip[ipv4::field::FLAGS_FRAG].fill(0);
        ip[ipv4::field::CHECKSUM].fill(0);
        if unicast {
            ip[ipv4::field::TTL] = 0;
        }
    }
    let mut zero_icv = *ah;
    zero_icv.icv = [0; AH_ICV_LEN];
    let mut out = [0u8; AH_ICV_LEN];
    if let Ok(mut mac) = <Hmac<md5::Md5> as KeyInit>::new_from_slice(key) {
        mac.update(&ip[..n]);
        mac.update(&zero_icv.to_bytes());
        mac.update(vrrp);
        out.copy_from_slice(&mac.finalize().into_bytes()[..AH_ICV_LEN]);
    }
    out
}

/// AH sequence state of one group (keepalived keeps one counter per
/// instance): the receiver drops seq <= last seen and adopts the received
/// seq; the sender continues from max(last sent, last received) + 1, so a
/// new master continues from the old master's last seq + 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AhSequence {
    /// The last sequence number sent or accepted (0 = none yet).
    pub last: u32,
}

impl AhSequence {
    /// Replay check (RFC 2402 style, keepalived semantics): true when `seq`
    /// is newer than anything seen. Does not update the state.
    pub fn is_fresh(&self, seq: u32) -> bool {
        seq > self.last
    }
    /// Adopt an accepted received sequence number.
    pub fn accept(&mut self, seq: u32) {
        self.last = seq;
    }
    /// The sequence number for the next sent advert.
    pub fn next_tx(&mut self) -> u32 {
        self.last = self.last.saturating_add(1);
        self.last
    }
}

// ---------------------------------------------------------------------------
// hmac trailer (draft-cassen-vrrp-auth-hmac)
// ---------------------------------------------------------------------------

// The trailer's bytes are `wire::hmac_trailer`.

/// Length of the pseudo-header bound into the HMAC.
pub const HMAC_PSEUDO_LEN: usize = 20;

/// Anti-replay policy (config `anti_replay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiReplay {
    /// sec within `time_window` of the receiver's wall clock, and the 64-bit
    /// (sec, subsec, ctr) sequence strictly increasing per sender.
    Time,
    /// Only strictly increasing per sender.
    Monotonic,
}

/// How the trailer is enforced (config `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HmacMode {
    /// Drop adverts with a missing or bad trailer.
    Enforce,
    /// Accept adverts without a trailer, drop bad ones (migration).
    Permissive,
    /// Verify and report, accept everything, send no trailer.
    ReceiveOnly,
}

/// The hmac configuration of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacConfig {
    /// Key ring: (key id, key bytes).
    pub keys: Vec<(u8, Vec<u8>)>,
    /// Key id used to sign.
    pub active_key: u8,
    pub anti_replay: AntiReplay,
    pub time_window: Duration,
    pub mode: HmacMode,
}

impl HmacConfig {
    pub fn key(&self, id: u8) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| v.as_slice())
    }
}

/// The decoded trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HmacTrailer {
    pub ext_type: u8,
    pub key_id: u8,
    pub reserved: u16,
    pub sec: u32,
    /// 1/65536 s.
    pub subsec: u16,
    pub ctr: u16,
    pub hmac: [u8; HMAC_LEN],
}

/// Why a trailer was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum HmacError {
    #[error("no hmac trailer")]
    Missing,
    #[error("malformed hmac trailer ({len} bytes, ext_type {ext_type}, reserved {reserved})")]
    Malformed {
        len: usize,
        ext_type: u8,
        reserved: u16,
    },
    #[error("unknown hmac key id {0}")]
    UnknownKey(u8),
    #[error("bad hmac")]
    Bad,
    #[error("hmac timestamp {sec} is {skew_s}s off the local clock")]
    Stale { sec: u32, skew_s: i64 },
    #[error("hmac sequence {seq:#018x} not after {last:#018x}")]
    Replay { seq: u64, last: u64 },
}

impl HmacTrailer {
    /// Parse a trailer; checks length, ext_type and reserved.
    pub fn parse(data: &[u8]) -> Result<Self, HmacError> {
        if data.is_empty() {
            return Err(HmacError::Missing);
        }
        let malformed = |ext_type, reserved| HmacError::Malformed {
            len: data.len(),
            ext_type,
            reserved,
        };
        let Ok(p) = HmacTrailerPacket::new_checked(data) else {
            return Err(malformed(
                data[0],
                data.get(2..4)
                    .map_or(0, |r| u16::from_be_bytes([r[0], r[1]])),
            ));
        };
        if p.ext_type() != HMAC_EXT_TYPE || p.reserved() != 0 {
            return Err(malformed(p.ext_type(), p.reserved()));
        }
        Ok(HmacTrailer {
            ext_type: p.ext_type(),
            key_id: p.key_id(),
            reserved: p.reserved(),
            sec: p.sec(),
            subsec: p.subsec(),
            ctr: p.ctr(),
            hmac: p.hmac(),
        })
    }

    /// The 64-bit sequence (sec << 32 | subsec << 16 | ctr).
    pub fn seq(&self) -> u64 {
        (u64::from(self.sec) << 32) | (u64::from(self.subsec) << 16) | u64::from(self.ctr)
    }

    pub fn from_seq(key_id: u8, seq: u64) -> Self {
        HmacTrailer {
            ext_type: HMAC_EXT_TYPE,
            key_id,
            reserved: 0,
            sec: (seq >> 32) as u32,
            subsec: (seq >> 16) as u16,
            ctr: seq as u16,
            hmac: [0; HMAC_LEN],
        }
    }

    pub fn to_bytes(&self) -> [u8; HMAC_TRAILER_LEN] {
        let mut b = [0u8; HMAC_TRAILER_LEN];
        let mut p = HmacTrailerPacket::new_unchecked(&mut b[..]);
        p.set_ext_type(self.ext_type);
        p.set_key_id(self.key_id);
        p.set_reserved(self.reserved);
        p.set_sec(self.sec);
        p.set_subsec(self.subsec);
        p.set_ctr(self.ctr);
        p.set_hmac(&self.hmac);
        b
    }
}

/// RFC 1982 serial "a after b" over 64 bits.
pub fn seq_after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// The sequence a wall clock reading packs to: seconds (mod 2^32) in the top
/// 32 bits, 1/65536 s in the next 16, counter 0.
pub fn clock_seq(wall_clock_unix: Duration) -> u64 {
    let sec = wall_clock_unix.as_secs() as u32;
    let subsec = (u64::from(wall_clock_unix.subsec_nanos()) << 16) / 1_000_000_000;
    (u64::from(sec) << 32) | (subsec << 16)
}

/// The HMAC-SHA256-128 of an advert: over the 20-byte pseudo-header {4|6,
/// version, vrid, 0, source address, zero padding}, the VRRP PDU with its
/// checksum read as zero, then the trailer's first 12 bytes and 16 zero bytes.
pub fn hmac_compute(
    key: &[u8],
    version: Version,
    vrid: u8,
    src: IpAddr,
    pdu: &[u8],
    trailer_head: &[u8; HMAC_OFFSET],
) -> [u8; HMAC_LEN] {
    let mut pseudo = [0u8; HMAC_PSEUDO_LEN];
    pseudo[0] = match Family::of(&src) {
        Family::V4 => 4,
        Family::V6 => 6,
    };
    pseudo[1] = version.number();
    pseudo[2] = vrid;
    match src {
        IpAddr::V4(a) => pseudo[4..8].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => pseudo[4..20].copy_from_slice(&a.octets()),
    }
    let mut out = [0u8; HMAC_LEN];
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) else {
        return out;
    };
    mac.update(&pseudo);
    let ck = vrrp::field::CHECKSUM;
    if pdu.len() >= ck.end {
        mac.update(&pdu[..ck.start]);
        mac.update(&[0, 0]);
        mac.update(&pdu[ck.end..]);
    } else {
        mac.update(pdu);
    }
    mac.update(trailer_head);
    mac.update(&[0u8; HMAC_LEN]);
    out.copy_from_slice(&mac.finalize().into_bytes()[..HMAC_LEN]);
    out
}

/// Per-sender replay high-water marks, bounded (least recently used evicted),
/// updated only after an HMAC verified so forged sources cannot churn it.
#[derive(Clone, Debug, Default)]
pub struct HmacReplayTable {
    entries: Vec<ReplayEntry>,
    clock: u64,
}

#[derive(Clone, Debug)]
struct ReplayEntry {
    src: IpAddr,
    seq: u64,
    used: u64,
}

/// Senders tracked per group.
pub const HMAC_REPLAY_SENDERS: usize = 16;

impl HmacReplayTable {
    pub fn last(&self, src: IpAddr) -> Option<u64> {
        self.entries.iter().find(|e| e.src == src).map(|e| e.seq)
    }

    /// Check strict growth (RFC 1982 order) without moving the mark.
    pub fn check(&self, src: IpAddr, seq: u64) -> Result<(), HmacError> {
        match self.last(src) {
            Some(last) if !seq_after(seq, last) => Err(HmacError::Replay { seq, last }),
            _ => Ok(()),
        }
    }

    /// Raise the mark for `src` (call only for an accepted advert).
    pub fn commit(&mut self, src: IpAddr, seq: u64) {
        self.clock += 1;
        let clock = self.clock;
        if let Some(e) = self.entries.iter_mut().find(|e| e.src == src) {
            e.seq = seq;
            e.used = clock;
            return;
        }
        let entry = ReplayEntry {
            src,
            seq,
            used: clock,
        };
        if self.entries.len() < HMAC_REPLAY_SENDERS {
            self.entries.push(entry);
        } else if let Some(victim) = self.entries.iter_mut().min_by_key(|e| e.used) {
            *victim = entry;
        }
    }
}

/// Verify a trailer for an advert from `src`, in keepalived's order:
/// malformed, stale (time mode, before the costly HMAC), unknown key, HMAC,
/// replay. The mark is not moved: call [`HmacReplayTable::commit`] once the
/// advert is accepted (it must never move on forged data).
#[allow(clippy::too_many_arguments)]
pub fn hmac_verify(
    cfg: &HmacConfig,
    replay: &HmacReplayTable,
    version: Version,
    vrid: u8,
    src: IpAddr,
    pdu: &[u8],
    trailer: &[u8],
    wall_clock_unix: Duration,
) -> Result<HmacTrailer, HmacError> {
    let t = HmacTrailer::parse(trailer)?;
    if cfg.anti_replay == AntiReplay::Time {
        // keepalived 2.4 (`vrrp_auth_hmac_check`): whole seconds, our clock's
        // seconds minus the trailer's, the 32-bit field wrapping; stale
        // beyond +-time_window seconds. Comparing the sub-second parts too
        // would drop a peer keepalived accepts (5.9 s ahead, window 5).
        let now = wall_clock_unix.as_secs() as u32;
        let delta = i64::from(now.wrapping_sub(t.sec) as i32);
        let window = i64::try_from(cfg.time_window.as_secs()).unwrap_or(i64::MAX);
        if delta.abs() > window {
            return Err(HmacError::Stale {
                sec: t.sec,
                skew_s: delta,
            });
        }
    }
    let key = cfg.key(t.key_id).ok_or(HmacError::UnknownKey(t.key_id))?;
    let head = HmacTrailerPacket::new_unchecked(trailer).head();
    let expect = hmac_compute(key, version, vrid, src, pdu, &head);
    if !ct_eq(&expect, &t.hmac) {
        return Err(HmacError::Bad);
    }
    replay.check(src, t.seq())?;
    Ok(t)
}

/// The sender side of the trailer: the sequence is the larger of the wall
/// clock and the last value plus one (keepalived's `next_seq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HmacSender {
    pub last_seq: u64,
}

impl HmacSender {
    pub fn next_seq(&mut self, wall_clock_unix: Duration) -> u64 {
        let clk = clock_seq(wall_clock_unix);
        self.last_seq = if seq_after(clk, self.last_seq) {
            clk
        } else {
            self.last_seq.wrapping_add(1)
        };
        self.last_seq
    }

    /// Append a signed trailer for the PDU at `buf[pdu_start..]` (checksum
    /// field read as zero). Returns false if the active key is missing (a
    /// zero hmac is appended, which every receiver rejects, as keepalived).
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &mut self,
        cfg: &HmacConfig,
        version: Version,
        vrid: u8,
        src: IpAddr,
        buf: &mut Vec<u8>,
        pdu_start: usize,
        wall_clock_unix: Duration,
    ) -> bool {
        let mut t = HmacTrailer::from_seq(cfg.active_key, self.next_seq(wall_clock_unix));
        let bytes = t.to_bytes();
        let mut head = [0u8; HMAC_OFFSET];
        head.copy_from_slice(&bytes[..HMAC_OFFSET]);
        let ok = match cfg.key(cfg.active_key) {
            Some(key) => {
                t.hmac = hmac_compute(key, version, vrid, src, &buf[pdu_start..], &head);
                true
            }
            None => false,
        };
        buf.extend_from_slice(&t.to_bytes());
        ok
    }
}
