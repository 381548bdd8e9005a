//! What a group sends: for IPv4 the whole datagram (IP header for
//! IP_HDRINCL, optional AH, VRRP message, optional hmac trailer), for IPv6
//! the VRRP payload (+trailer) with its checksum over the IPv6
//! pseudo-header. Pure: the IP id and the wall clock are arguments, the
//! output goes into a caller buffer.

use std::net::IpAddr;
use std::time::Duration;

use super::auth::{
    AUTH_TYPE_AH, AUTH_TYPE_NONE, AUTH_TYPE_PASS, AhSequence, AuthConfig, HmacMode, HmacSender,
    ah_icv,
};
use super::wire::ah::{AH_LEN, AhHeader};
use super::wire::hmac_trailer::HMAC_TRAILER_LEN;
use super::wire::ipv4::{self, Ipv4Repr};
use super::wire::vrrp::{ChecksumForm, VrrpEncodeError, VrrpRepr, fill_checksum};
use super::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};
use super::{Family, Version};

/// Per-group transmit settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxConfig {
    pub version: Version,
    pub family: Family,
    pub vrid: u8,
    /// Centiseconds (v2: a multiple of 100).
    pub interval_cs: u16,
    pub addresses: Vec<IpAddr>,
    pub auth: AuthConfig,
    /// v3/IPv4 only; v2 is always message-only, v3/IPv6 always pseudo-header.
    pub checksum: ChecksumForm,
    /// Source address (primary / `unicast_source` / IPv6 link-local).
    pub source: IpAddr,
    /// Empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
}

/// How far a new master's AH sequence skips past the last seq it saw when it
/// takes over without a priority-0 release (see
/// [`TxEncoder::continue_ah_after_takeover`]).
pub const AH_TAKEOVER_SKIP: u32 = 5;

/// Encodes the adverts of one group.
#[derive(Clone, Debug)]
pub struct TxEncoder {
    cfg: TxConfig,
    template: VrrpRepr,
    ah_seq: AhSequence,
    hmac: HmacSender,
}

impl TxEncoder {
    /// Check the settings by encoding one advert.
    pub fn new(cfg: TxConfig) -> Result<Self, VrrpEncodeError> {
        if Family::of(&cfg.source) != cfg.family {
            return Err(VrrpEncodeError::AddressFamily {
                addr: cfg.source,
                family: cfg.family,
            });
        }
        if let Some(p) = cfg
            .unicast_peers
            .iter()
            .find(|p| Family::of(p) != cfg.family)
        {
            return Err(VrrpEncodeError::AddressFamily {
                addr: *p,
                family: cfg.family,
            });
        }
        let (auth_type, auth_data) = match (&cfg.version, &cfg.auth) {
            (Version::V3, _) => (AUTH_TYPE_NONE, [0; 8]),
            (Version::V2, AuthConfig::Pass { password }) => (AUTH_TYPE_PASS, *password),
            (Version::V2, AuthConfig::Ah { .. }) => (AUTH_TYPE_AH, [0; 8]),
            (Version::V2, _) => (AUTH_TYPE_NONE, [0; 8]),
        };
        let template = VrrpRepr {
            version: cfg.version,
            vrid: cfg.vrid,
            priority: 0,
            interval_cs: cfg.interval_cs,
            addresses: cfg.addresses.clone(),
            auth_type,
            auth_data,
        };
        let mut scratch = Vec::new();
        template.append_to(cfg.family, &mut scratch)?;
        Ok(TxEncoder {
            cfg,
            template,
            ah_seq: AhSequence::default(),
            hmac: HmacSender::default(),
        })
    }

    pub fn config(&self) -> &TxConfig {
        &self.cfg
    }

    /// Send from another source address of the same family (the
    /// interface's primary address changed); sequence state is kept.
    pub fn set_source(&mut self, source: IpAddr) -> Result<(), VrrpEncodeError> {
        if Family::of(&source) != self.cfg.family {
            return Err(VrrpEncodeError::AddressFamily {
                addr: source,
                family: self.cfg.family,
            });
        }
        self.cfg.source = source;
        Ok(())
    }

    /// Where each advert goes: the VRRP multicast group, or every unicast peer.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if !self.cfg.unicast_peers.is_empty() {
            return self.cfg.unicast_peers.clone();
        }
        match self.cfg.family {
            Family::V4 => vec![IpAddr::V4(VRRP_MCAST_V4)],
            Family::V6 => vec![IpAddr::V6(VRRP_MCAST_V6)],
        }
    }

    /// The `i`-th of [`destinations`](Self::destinations), without
    /// allocating (the send path runs per advert).
    pub fn destination(&self, i: usize) -> Option<IpAddr> {
        if !self.cfg.unicast_peers.is_empty() {
            return self.cfg.unicast_peers.get(i).copied();
        }
        (i == 0).then_some(match self.cfg.family {
            Family::V4 => IpAddr::V4(VRRP_MCAST_V4),
            Family::V6 => IpAddr::V6(VRRP_MCAST_V6),
        })
    }

    /// Continue the AH sequence from what the group has received (keepalived
    /// keeps one counter per instance: a new master continues from the last
    /// received seq + 1). Never moves it backwards.
    pub fn continue_ah_from(&mut self, seen: AhSequence) {
        self.ah_seq.last = self.ah_seq.last.max(seen.last);
    }

    /// Take over without the old master's priority-0 release (its adverts
    /// went silent, or we preempt a lower-priority master that is still
    /// sending): the old master may have counted adverts we never saw —
    /// up to four in our Master_Down_Interval (3 intervals + skew < 1
    /// interval), plus the priority-0 advert keepalived counts on its way to
    /// FAULT even when its link is down, or the next advert of a preempted
    /// master. keepalived keeps one counter for sent and received seqs and
    /// drops anything <= it, so continuing from `seen + 1` would have our
    /// first adverts dropped as replays. Skip [`AH_TAKEOVER_SKIP`] ahead
    /// (always allowed: receivers only need the seq to grow). Nothing
    /// changes until a seq was seen.
    pub fn continue_ah_after_takeover(&mut self, seen: AhSequence) {
        if seen.last > 0 {
            let skipped = seen.last.saturating_add(AH_TAKEOVER_SKIP);
            self.ah_seq.last = self.ah_seq.last.max(skipped);
        }
    }

    /// The AH sequence state (last sent).
    pub fn ah_sequence(&self) -> AhSequence {
        self.ah_seq
    }

    /// The checksum form on the wire for this group.
    pub fn checksum_form(&self) -> ChecksumForm {
        ChecksumForm::on_wire(self.cfg.version, self.cfg.family, self.cfg.checksum)
    }

    /// Length of what [`encode`](Self::encode) writes.
    pub fn wire_len(&self) -> usize {
        let mut n = self.template.buffer_len(self.cfg.family);
        if self.sends_trailer() {
            n += HMAC_TRAILER_LEN;
        }
        if self.cfg.family == Family::V4 {
            n += ipv4::HEADER_LEN;
            if matches!(self.cfg.auth, AuthConfig::Ah { .. }) {
                n += AH_LEN;
            }
        }
        n
    }

    fn sends_trailer(&self) -> bool {
        matches!(&self.cfg.auth, AuthConfig::Hmac(h) if h.mode != HmacMode::ReceiveOnly)
    }

    /// Encode one advert with `priority` for `dst` into `out` (cleared
    /// first). IPv4: the whole datagram with IP id `ip_id`; IPv6: the VRRP
    /// payload (`ip_id` unused). Each call with AH uses the next sequence
    /// number; with hmac, the next (sec, subsec, ctr) from `wall_clock_unix`.
    pub fn encode(
        &mut self,
        priority: u8,
        dst: IpAddr,
        ip_id: u16,
        wall_clock_unix: Duration,
        out: &mut Vec<u8>,
    ) -> Result<(), VrrpEncodeError> {
        let src = self.cfg.source;
        if Family::of(&dst) != self.cfg.family {
            return Err(VrrpEncodeError::FamilyMismatch { src, dst });
        }
        self.template.priority = priority;
        out.clear();
        let form = self.checksum_form();
        let ah_key = match &self.cfg.auth {
            AuthConfig::Ah { key } => Some(*key),
            _ => None,
        };
        let pdu_len = self.template.buffer_len(self.cfg.family);
        let body_len = pdu_len
            + if self.sends_trailer() {
                HMAC_TRAILER_LEN
            } else {
                0
            };
        if let (IpAddr::V4(s4), IpAddr::V4(d4)) = (src, dst) {
            let proto = if ah_key.is_some() {
                IPPROTO_AH
            } else {
                IPPROTO_VRRP
            };
            let ip_payload = body_len + if ah_key.is_some() { AH_LEN } else { 0 };
            Ipv4Repr::advert(s4, d4, ip_id, proto, ip_payload).append_to(out);
            if let Some(key) = ah_key {
                let mut ah = AhHeader::new(s4, self.ah_seq.next_tx());
                let ah_at = out.len();
                out.extend_from_slice(&ah.to_bytes());
                let vrrp_at = out.len();
                self.write_body(src, dst, form, out, wall_clock_unix)?;
                let unicast = !self.cfg.unicast_peers.is_empty();
                ah.icv = ah_icv(&key, &out[..ah_at], &ah, &out[vrrp_at..], unicast);
                out[ah_at..vrrp_at].copy_from_slice(&ah.to_bytes());
                return Ok(());
            }
        }
        self.write_body(src, dst, form, out, wall_clock_unix)
    }

    /// VRRP message (+ trailer) with its checksum, appended to `out`.
    fn write_body(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        form: ChecksumForm,
        out: &mut Vec<u8>,
        wall_clock_unix: Duration,
    ) -> Result<(), VrrpEncodeError> {
        let start = out.len();
        let pdu_len = self.template.append_to(self.cfg.family, out)?;
        if self.sends_trailer()
            && let AuthConfig::Hmac(h) = &self.cfg.auth
        {
            self.hmac.sign(
                h,
                self.cfg.version,
                self.cfg.vrid,
                src,
                out,
                start,
                wall_clock_unix,
            );
        }
        fill_checksum(&mut out[start..], pdu_len, src, dst, form);
        Ok(())
    }
}
