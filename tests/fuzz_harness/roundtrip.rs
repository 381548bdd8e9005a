//! The `roundtrip` fuzz target's harness (shared with `cargo test` like
//! `endpoint.rs`): what the codecs promise about parse and emit.
//!
//! * VRRP: parse, emit, parse gives the same value; and the same bytes,
//!   once the v3 reserved nibble (ignored on receive, RFC 5798 §5.2.7) is
//!   put back and the checksum is computed in the form that verified
//!   (keepalived's old unicast form names 224.0.0.18).
//! * A value built from the input: emit, then parse gives it back.
//! * AH header, hmac trailer: parse then `to_bytes` gives the same bytes.
//! * IPv4 header: the fields `build_ipv4_header` fixes (TOS 0xc0, TTL 255,
//!   no flags or options) give the same bytes back.
//!
//! Input: `sel`, then the body. `sel & 1`: the body is a whole IPv4
//! datagram (else `src[16] dst[16]` then an IPv6 VRRP payload); `sel & 2`:
//! recompute the VRRP checksum first (so mutated fields get past it);
//! `sel & 4`: also build an advert from the body and round-trip it.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrpd::proto::auth::{AH_LEN, AhHeader, HmacTrailer};
use vrrpd::proto::packet::{
    Advert, ChecksumForm, IPPROTO_AH, IPV4_HEADER_LEN, IPV4_TOS_VRRP, Ipv4Datagram, VRRP_MCAST_V4,
    build_ipv4_header, fill_checksum, message_len,
};
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
            && let Ok(dg) = Ipv4Datagram::parse(body)
        {
            let hl = dg.header.header_len;
            let at = hl
                + if dg.header.protocol == IPPROTO_AH {
                    AH_LEN
                } else {
                    0
                };
            let end = usize::from(dg.header.total_len);
            if at <= end {
                fix_checksum(
                    &mut d[at..end],
                    IpAddr::V4(dg.header.src),
                    IpAddr::V4(dg.header.dst),
                );
            }
        }
        let Ok(dg) = Ipv4Datagram::parse(&d) else {
            return;
        };
        ipv4_header_round_trip(&dg, &d);
        let (src, dst) = (IpAddr::V4(dg.header.src), IpAddr::V4(dg.header.dst));
        let vrrp = if dg.header.protocol == IPPROTO_AH {
            let Ok(ah) = AhHeader::parse(dg.payload) else {
                return;
            };
            assert_eq!(&ah.to_bytes()[..], &dg.payload[..AH_LEN], "AH header bytes");
            &dg.payload[AH_LEN..]
        } else {
            dg.payload
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

fn ipv4_header_round_trip(dg: &Ipv4Datagram<'_>, bytes: &[u8]) {
    let h = &dg.header;
    if h.header_len == IPV4_HEADER_LEN
        && h.tos == IPV4_TOS_VRRP
        && h.ttl == 255
        && h.flags_frag == 0
    {
        let mut out = Vec::new();
        build_ipv4_header(
            &mut out,
            h.src,
            h.dst,
            h.ident,
            h.protocol,
            dg.payload.len(),
        );
        assert_eq!(&out[..], &bytes[..IPV4_HEADER_LEN], "IPv4 header bytes");
    }
}

/// Parse, emit, parse.
pub fn vrrp_round_trip(payload: &[u8], src: IpAddr, dst: IpAddr) {
    let Ok(p) = Advert::parse(payload, src, dst) else {
        return;
    };
    let view = Advert::parse_view(payload, src, dst).expect("parse_view agrees with parse");
    assert_eq!(view.addresses, p.advert.addresses, "view addresses");
    assert_eq!(view.pdu_len, p.pdu_len);
    let family = Family::of(&src);
    let mut out = Vec::new();
    let len = p
        .advert
        .emit_zero_checksum(family, &mut out)
        .expect("a parsed advert emits");
    assert_eq!(len, p.pdu_len, "emitted length");
    if p.advert.version == Version::V3 {
        out[4] |= payload[4] & 0xf0;
    }
    out.extend_from_slice(p.trailer);
    let mut dsts = vec![dst];
    if p.advert.version == Version::V3 && family == Family::V4 {
        dsts.push(IpAddr::V4(VRRP_MCAST_V4));
    }
    let same = dsts.iter().any(|d| {
        let mut o = out.clone();
        fill_checksum(&mut o, len, src, *d, p.checksum);
        o == payload
    });
    assert!(
        same,
        "re-emitted bytes differ: {out:02x?} vs {payload:02x?}"
    );
    let again = Advert::parse(payload, src, dst).expect("reparse");
    assert_eq!(again, p, "parse after emit");
    if let Ok(t) = HmacTrailer::parse(p.trailer) {
        assert_eq!(&t.to_bytes()[..], p.trailer, "hmac trailer bytes");
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
    let adv = Advert {
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
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        ),
    };
    let form = if get(7) & 1 == 0 {
        ChecksumForm::PseudoHeader
    } else {
        ChecksumForm::Message
    };
    let mut out = Vec::new();
    if adv.emit(src, dst, form, &mut out).is_err() {
        return;
    }
    let p = Advert::parse(&out, src, dst).expect("an emitted advert parses");
    assert_eq!(p.advert, adv, "value round trip");
    assert!(p.trailer.is_empty());
}
