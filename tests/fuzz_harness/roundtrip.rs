//! The `roundtrip` fuzz target's harness (shared with `cargo test` like
//! `endpoint.rs`): what the codecs promise about parse and emit.
//!
//! * VRRP: parse, emit, parse gives the same value; and the same bytes,
//!   once the v3 reserved nibble (ignored on receive, RFC 5798 §5.2.7) is
//!   put back and the checksum is computed in the form that verified
//!   (keepalived's old unicast form names 224.0.0.18).
//! * A value built from the input: emit, then parse gives it back.
//! * AH header, hmac trailer: parse then `to_bytes` gives the same bytes.
//! * IPv4 header: the fields `Ipv4Repr::advert` fixes (TOS 0xc0, TTL 255,
//!   no flags or options) give the same bytes back.
//!
//! Input: `sel`, then the body. `sel & 1`: the body is a whole IPv4
//! datagram (else `src[16] dst[16]` then an IPv6 VRRP payload); `sel & 2`:
//! recompute the VRRP checksum first (so mutated fields get past it);
//! `sel & 4`: also build an advert from the body and round-trip it.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrpd::proto::auth::HmacTrailer;
use vrrpd::proto::wire::ah::{AH_LEN, AhHeader};
use vrrpd::proto::wire::ipv4::{self, Ipv4Packet, Ipv4Repr};
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket, VrrpRepr, fill_checksum, message_len};
use vrrpd::proto::wire::{IPPROTO_AH, VRRP_MCAST_V4, VRRP_MCAST_V6, VRRP_TOS};
use vrrpd::proto::{Family, Version};

pub fn run(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    if sel & 4 != 0 {
        value_round_trip(body);
    }
    if sel & 1 != 0 {
        let mut d = body.to_vec();
        if sel & 2 != 0
            && let Ok(dg) = Ipv4Packet::new_checked(body)
        {
            let hl = dg.header_len();
            let at = hl
                + if dg.protocol() == IPPROTO_AH {
                    AH_LEN
                } else {
                    0
                };
            let end = usize::from(dg.total_len());
            if at <= end {
                fix_checksum(
                    &mut d[at..end],
                    IpAddr::V4(dg.src_addr()),
                    IpAddr::V4(dg.dst_addr()),
                );
            }
        }
        let Ok(dg) = Ipv4Packet::new_checked(&d[..]) else {
            return;
        };
        ipv4_header_round_trip(&dg, &d);
        let (src, dst) = (IpAddr::V4(dg.src_addr()), IpAddr::V4(dg.dst_addr()));
        let payload = dg.payload();
        let vrrp = if dg.protocol() == IPPROTO_AH {
            let Ok(ah) = AhHeader::parse(payload) else {
                return;
            };
            assert_eq!(&ah.to_bytes()[..], &payload[..AH_LEN], "AH header bytes");
            &payload[AH_LEN..]
        } else {
            payload
        };
        vrrp_round_trip(vrrp, src, dst);
    } else {
        if body.len() < 32 {
            return;
        }
        let a = |o: usize| {
            IpAddr::V6(Ipv6Addr::from(
                <[u8; 16]>::try_from(&body[o..o + 16]).unwrap(),
            ))
        };
        let (src, dst) = (a(0), a(16));
        let mut p = body[32..].to_vec();
        if sel & 2 != 0 {
            fix_checksum(&mut p, src, dst);
        }
        vrrp_round_trip(&p, src, dst);
    }
}

fn fix_checksum(p: &mut [u8], src: IpAddr, dst: IpAddr) {
    if p.len() < 8 {
        return;
    }
    let version = if p[0] >> 4 == 2 {
        Version::V2
    } else {
        Version::V3
    };
    let pdu = message_len(version, Family::of(&src), usize::from(p[3])).min(p.len());
    let form = match version {
        Version::V2 => ChecksumForm::Message,
        Version::V3 => ChecksumForm::PseudoHeader,
    };
    fill_checksum(p, pdu, src, dst, form);
}

fn ipv4_header_round_trip(dg: &Ipv4Packet<&[u8]>, bytes: &[u8]) {
    let h = Ipv4Repr::parse(dg);
    assert_eq!(h.payload_len, dg.payload().len(), "IPv4 payload length");
    if dg.header_len() == ipv4::HEADER_LEN && h.tos == VRRP_TOS && h.ttl == 255 && h.flags_frag == 0
    {
        let mut out = Vec::new();
        Ipv4Repr::advert(h.src, h.dst, h.ident, h.protocol, h.payload_len).append_to(&mut out);
        assert_eq!(&out[..], &bytes[..ipv4::HEADER_LEN], "IPv4 header bytes");
    }
    // Any header without options re-emits as it came.
    if dg.header_len() == ipv4::HEADER_LEN {
        let mut out = Vec::new();
        h.append_to(&mut out);
        assert_eq!(&out[..], &bytes[..ipv4::HEADER_LEN], "IPv4 repr bytes");
    }
}

/// Parse, emit, parse.
pub fn vrrp_round_trip(payload: &[u8], src: IpAddr, dst: IpAddr) {
    let Ok((view, checksum)) = VrrpPacket::new_verified(payload, src, dst) else {
        return;
    };
    let p = VrrpRepr::parse(&view).expect("a verified advert parses");
    assert_eq!(
        view.addresses().len(),
        usize::from(view.count()),
        "view count"
    );
    assert_eq!(
        view.addresses().collect::<Vec<_>>(),
        p.addresses,
        "view addresses"
    );
    let family = Family::of(&src);
    let mut out = Vec::new();
    let len = p
        .append_to(family, &mut out)
        .expect("a parsed advert emits");
    assert_eq!(len, view.message_len(), "emitted length");
    if p.version == Version::V3 {
        out[4] |= payload[4] & 0xf0;
    }
    out.extend_from_slice(view.trailer());
    let mut dsts = vec![dst];
    if p.version == Version::V3 && family == Family::V4 {
        dsts.push(IpAddr::V4(VRRP_MCAST_V4));
    }
    let same = dsts.iter().any(|d| {
        let mut o = out.clone();
        fill_checksum(&mut o, len, src, *d, checksum);
        o == payload
    });
    assert!(
        same,
        "re-emitted bytes differ: {out:02x?} vs {payload:02x?}"
    );
    let (again, again_form) = VrrpPacket::new_verified(payload, src, dst).expect("reparse");
    assert_eq!(VrrpRepr::parse(&again).as_ref(), Ok(&p), "parse after emit");
    assert_eq!(again_form, checksum);
    if let Ok(t) = HmacTrailer::parse(view.trailer()) {
        assert_eq!(&t.to_bytes()[..], view.trailer(), "hmac trailer bytes");
        let mut u = HmacTrailer::from_seq(t.key_id, t.seq());
        u.hmac = t.hmac;
        assert_eq!(u, t, "trailer sequence packing");
    }
}

/// Build an advert from bytes, emit it, parse it back.
fn value_round_trip(b: &[u8]) {
    let get = |i: usize| b.get(i).copied().unwrap_or(0);
    let family = if get(0) & 1 == 0 {
        Family::V4
    } else {
        Family::V6
    };
    let version = if get(0) & 2 == 0 {
        Version::V3
    } else {
        Version::V2
    };
    let count = usize::from(get(1) % 8);
    let addresses: Vec<IpAddr> = (0..count)
        .map(|i| match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, get(8 + i))),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(
                0xfe80,
                0,
                0,
                0,
                0,
                0,
                0,
                u16::from(get(8 + i)),
            )),
        })
        .collect();
    let interval_cs = match version {
        Version::V2 => u16::from(get(4)) * 100,
        Version::V3 => u16::from_be_bytes([get(4), get(5)]),
    };
    let (auth_type, auth_data) = match version {
        Version::V2 => (get(6) % 3, {
            let mut a = [0u8; 8];
            for (i, x) in a.iter_mut().enumerate() {
                *x = get(16 + i);
            }
            a
        }),
        Version::V3 => (0, [0; 8]),
    };
    let adv = VrrpRepr {
        version,
        vrid: get(2),
        priority: get(3),
        interval_cs,
        addresses,
        auth_type,
        auth_data,
    };
    let (src, dst) = match family {
        Family::V4 => (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(VRRP_MCAST_V4),
        ),
        Family::V6 => (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(VRRP_MCAST_V6),
        ),
    };
    let form = if get(7) & 1 == 0 {
        ChecksumForm::PseudoHeader
    } else {
        ChecksumForm::Message
    };
    let mut out = Vec::new();
    if adv.append_checksummed(src, dst, form, &mut out).is_err() {
        return;
    }
    let (p, _) = VrrpPacket::new_verified(&out[..], src, dst).expect("an emitted advert parses");
    assert_eq!(VrrpRepr::parse(&p), Ok(adv), "value round trip");
    assert!(p.trailer().is_empty());
}
