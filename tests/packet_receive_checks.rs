//! One test per receive check (RFC 5798 §7.1, RFC 3768 §7.1, SPEC §1): a
//! packet that breaks exactly that rule, and the exact DropReason /
//! VrrpDecodeError it gets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrpd::proto::auth::{AhSequence, AuthConfig, password_bytes};
use vrrpd::proto::receive::{DropReason, RxPacket, RxPolicy, RxValidator, peek_vrid};
use vrrpd::proto::transmit::{AH_TAKEOVER_SKIP, TxConfig, TxEncoder};
use vrrpd::proto::wire::checksum::checksum;
use vrrpd::proto::wire::ipv4::{Ipv4DecodeError, Ipv4Packet, Ipv4Repr};
use vrrpd::proto::wire::vrrp::{
    ChecksumForm, VrrpDecodeError, VrrpPacket, VrrpRepr, fill_checksum,
};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};
use vrrpd::proto::{Family, Version};

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MC: IpAddr = IpAddr::V4(VRRP_MCAST_V4);

fn vips() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)),
    ]
}

fn v3_advert() -> VrrpRepr {
    VrrpRepr {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        interval_cs: 100,
        addresses: vips(),
        auth_type: 0,
        auth_data: [0; 8],
    }
}

fn v2_advert() -> VrrpRepr {
    VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        interval_cs: 100,
        addresses: vips(),
        auth_type: 1,
        auth_data: *b"secret12",
    }
}

fn policy(version: Version) -> RxPolicy {
    RxPolicy {
        version,
        family: Family::V4,
        vrid: 51,
        min_ttl: 1,
        unicast_peers: vec![],
        v2_interval_cs: 100,
        auth: match version {
            Version::V2 => AuthConfig::Pass {
                password: password_bytes(b"secret12"),
            },
            Version::V3 => AuthConfig::None,
        },
        expected_addresses: Some(vips()),
    }
}

/// An IPv4 datagram carrying `payload` from A.
fn datagram(src: Ipv4Addr, dst: IpAddr, ttl: u8, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let IpAddr::V4(d) = dst else { panic!() };
    let mut out = Vec::new();
    Ipv4Repr::advert(src, d, 1, protocol, payload.len()).append_to(&mut out);
    if ttl != 255 {
        out[8] = ttl;
        out[10..12].fill(0);
        let c = checksum(&out[..20]);
        out[10..12].copy_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn emit(adv: &VrrpRepr, dst: IpAddr) -> Vec<u8> {
    let mut v = Vec::new();
    adv.append_checksummed(IpAddr::V4(A), dst, ChecksumForm::PseudoHeader, &mut v)
        .unwrap();
    v
}

/// Every decode check of a VRRP message, then its values and the checksum
/// form that verified.
fn decode(m: &[u8], src: IpAddr, dst: IpAddr) -> Result<(VrrpRepr, ChecksumForm), VrrpDecodeError> {
    let (p, form) = VrrpPacket::new_verified(m, src, dst)?;
    Ok((VrrpRepr::parse(&p)?, form))
}

fn check(policy: RxPolicy, dgram: &[u8]) -> Result<vrrpd::proto::receive::ValidAdvert, DropReason> {
    let pkt = RxPacket::from_ipv4_datagram(dgram).map_err(|e| DropReason::from(&e))?;
    RxValidator::new(policy).validate(&pkt, Duration::ZERO)
}

/// Set a byte of a VRRP message and fix its checksum so only that rule breaks.
fn patched(adv: &VrrpRepr, at: usize, val: u8) -> Vec<u8> {
    let mut m = emit(adv, MC);
    m[at] = val;
    let len = m.len();
    fill_checksum(&mut m, len, IpAddr::V4(A), MC, ChecksumForm::PseudoHeader);
    m
}

#[test]
fn baseline_valid_adverts_are_accepted() {
    let ok = check(
        policy(Version::V3),
        &datagram(A, MC, 255, IPPROTO_VRRP, &emit(&v3_advert(), MC)),
    )
    .unwrap();
    assert_eq!(
        (ok.src, ok.priority, ok.interval_cs),
        (IpAddr::V4(A), 100, 100)
    );
    assert_eq!(ok.addresses, vips());
    let mut m = Vec::new();
    v2_advert()
        .append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert!(check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)).is_ok());
}

#[test]
fn rfc5798_7_1_multicast_ttl_must_be_255() {
    let m = emit(&v3_advert(), MC);
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 254, IPPROTO_VRRP, &m)),
        Err(DropReason::TtlTooLow)
    );
}

#[test]
fn unicast_ttl_bound_is_min_ttl_and_64_passes_by_default() {
    let dst = IpAddr::V4(B);
    let m = emit(&v3_advert(), dst);
    let mut p = policy(Version::V3);
    p.unicast_peers = vec![IpAddr::V4(A)];
    assert!(check(p.clone(), &datagram(A, dst, 64, IPPROTO_VRRP, &m)).is_ok());
    p.min_ttl = 255;
    assert_eq!(
        check(p, &datagram(A, dst, 64, IPPROTO_VRRP, &m)),
        Err(DropReason::TtlTooLow)
    );
}

#[test]
fn unicast_source_outside_peers_is_dropped() {
    let dst = IpAddr::V4(B);
    let mut p = policy(Version::V3);
    p.unicast_peers = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))];
    let m = emit(&v3_advert(), dst);
    assert_eq!(
        check(p, &datagram(A, dst, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::NotAPeer)
    );
}

#[test]
fn version_other_than_2_or_3_is_dropped() {
    let m = patched(&v3_advert(), 0, 0x41);
    assert_eq!(
        decode(&m, IpAddr::V4(A), MC),
        Err(VrrpDecodeError::Version(4))
    );
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Version)
    );
}

#[test]
fn version_differing_from_the_group_is_dropped() {
    let mut m = Vec::new();
    v2_advert()
        .append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Version)
    );
}

#[test]
fn type_other_than_advertisement_is_dropped() {
    let m = patched(&v3_advert(), 0, 0x32);
    assert_eq!(decode(&m, IpAddr::V4(A), MC), Err(VrrpDecodeError::Type(2)));
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Type)
    );
}

#[test]
fn truncated_header_is_dropped() {
    let m = emit(&v3_advert(), MC);
    assert_eq!(
        decode(&m[..7], IpAddr::V4(A), MC),
        Err(VrrpDecodeError::Truncated { len: 7, need: 8 })
    );
    assert_eq!(
        check(
            policy(Version::V3),
            &datagram(A, MC, 255, IPPROTO_VRRP, &m[..7])
        ),
        Err(DropReason::Truncated)
    );
}

#[test]
fn address_count_larger_than_packet_is_dropped() {
    let m = patched(&v3_advert(), 3, 3);
    assert_eq!(
        decode(&m, IpAddr::V4(A), MC),
        Err(VrrpDecodeError::AddressCount {
            count: 3,
            need: 20,
            len: 16
        })
    );
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::AddressCount)
    );
}

#[test]
fn carp_advertisement_is_rejected_cleanly_and_named() {
    // ucarp: version 2, type 1, vhid 51, advskew 0, authlen 7, pad, advbase 1,
    // cksum, 8-byte counter, 20-byte SHA-1: 36 bytes on proto 112 / 224.0.0.18.
    let mut carp = vec![0x21, 51, 0, 7, 0, 1, 0, 0];
    carp.extend_from_slice(&[0x11; 8]);
    carp.extend_from_slice(&[0x22; 20]);
    let c = checksum(&carp);
    carp[6..8].copy_from_slice(&c.to_be_bytes());
    assert_eq!(decode(&carp, IpAddr::V4(A), MC), Err(VrrpDecodeError::Carp));
    assert_eq!(
        check(
            policy(Version::V2),
            &datagram(A, MC, 255, IPPROTO_VRRP, &carp)
        ),
        Err(DropReason::Carp)
    );
}

#[test]
fn bytes_after_the_message_are_dropped_without_hmac() {
    let mut m = emit(&v3_advert(), MC);
    m.extend_from_slice(&[0; 4]);
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Length)
    );
}

#[test]
fn bad_checksum_is_dropped() {
    let mut m = emit(&v3_advert(), MC);
    m[7] ^= 1;
    let got = u16::from_be_bytes([m[6], m[7]]);
    assert_eq!(
        decode(&m, IpAddr::V4(A), MC),
        Err(VrrpDecodeError::Checksum { got })
    );
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Checksum)
    );
}

#[test]
fn v3_ipv4_accepts_both_checksum_forms_and_reports_which() {
    for form in [ChecksumForm::Message, ChecksumForm::PseudoHeader] {
        let mut m = Vec::new();
        v3_advert()
            .append_checksummed(IpAddr::V4(A), MC, form, &mut m)
            .unwrap();
        let ok = check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)).unwrap();
        assert_eq!(ok.checksum, form);
    }
}

#[test]
fn v3_ipv4_pseudo_header_uses_the_actual_destination() {
    // Computed for another unicast address but delivered to B: no form
    // verifies. (224.0.0.18 in a unicast pseudo-header is keepalived's old
    // form and accepted: see the test below.)
    let m = emit(&v3_advert(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)));
    let mut p = policy(Version::V3);
    p.unicast_peers = vec![IpAddr::V4(A)];
    assert_eq!(
        check(p, &datagram(A, IpAddr::V4(B), 255, IPPROTO_VRRP, &m)),
        Err(DropReason::Checksum)
    );
}

#[test]
fn v2_checksum_is_message_only() {
    let mut m = Vec::new();
    v2_advert()
        .append_checksummed(IpAddr::V4(A), MC, ChecksumForm::PseudoHeader, &mut m)
        .unwrap();
    assert_eq!(
        decode(&m, IpAddr::V4(A), MC).unwrap().1,
        ChecksumForm::Message
    );
}

#[test]
fn interval_zero_is_dropped() {
    let m = patched(&v3_advert(), 5, 0);
    assert_eq!(
        decode(&m, IpAddr::V4(A), MC),
        Err(VrrpDecodeError::IntervalZero)
    );
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::IntervalZero)
    );
}

#[test]
fn vrid_mismatch_is_dropped_and_peek_vrid_dispatches() {
    let m = patched(&v3_advert(), 1, 52);
    assert_eq!(peek_vrid(IPPROTO_VRRP, &m), Some(52));
    assert_eq!(
        peek_vrid(IPPROTO_AH, &m),
        None,
        "AH payload too short for AH + VRRP"
    );
    assert_eq!(peek_vrid(17, &m), None);
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::VridMismatch)
    );
    assert_eq!(DropReason::VridUnknown.label(), "vrid_unknown");
}

#[test]
fn rfc3768_v2_interval_mismatch_is_dropped_v3_learns() {
    let mut a = v2_advert();
    a.interval_cs = 200;
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert_eq!(
        check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::IntervalMismatch)
    );
    let mut a = v3_advert();
    a.interval_cs = 37;
    let ok = check(
        policy(Version::V3),
        &datagram(A, MC, 255, IPPROTO_VRRP, &emit(&a, MC)),
    )
    .unwrap();
    assert_eq!(ok.interval_cs, 37);
}

#[test]
fn v2_address_list_mismatch_is_accepted_and_reported_as_keepalived_unless_owner() {
    // RFC 3768 §7.1 MAY verify; keepalived accepts and logs. SPEC: do what a
    // keepalived user expects, counted and logged (the shell does both).
    let mut a = v2_advert();
    a.addresses.pop();
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    let v = check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)).unwrap();
    assert!(v.address_list_mismatch);
    a.priority = 255;
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    let v = check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)).unwrap();
    assert!(
        !v.address_list_mismatch,
        "an owner's list is never compared"
    );
    let a = v2_advert();
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    let v = check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)).unwrap();
    assert!(!v.address_list_mismatch, "the same list is no mismatch");
}

#[test]
fn pass_wrong_password_is_dropped() {
    let mut a = v2_advert();
    a.auth_data = *b"secret13";
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert_eq!(
        check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::AuthFailed)
    );
}

#[test]
fn pass_password_is_zero_padded_and_truncated_to_8() {
    assert_eq!(password_bytes(b"abc"), *b"abc\0\0\0\0\0");
    assert_eq!(password_bytes(b"secret12-and-more"), *b"secret12");
    // A keepalived peer configured with a longer password sends 8 bytes: equal.
    let mut p = policy(Version::V2);
    p.auth = AuthConfig::Pass {
        password: password_bytes(b"secret12XYZ"),
    };
    let mut m = Vec::new();
    v2_advert()
        .append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert!(check(p, &datagram(A, MC, 255, IPPROTO_VRRP, &m)).is_ok());
}

#[test]
fn auth_type_mismatch_is_dropped() {
    let mut a = v2_advert();
    a.auth_type = 0;
    a.auth_data = [0; 8];
    let mut m = Vec::new();
    a.append_checksummed(IpAddr::V4(A), MC, ChecksumForm::Message, &mut m)
        .unwrap();
    assert_eq!(
        check(policy(Version::V2), &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::AuthTypeMismatch)
    );
    // AH configured, plain VRRP received.
    let mut p = policy(Version::V2);
    p.auth = AuthConfig::Ah {
        key: password_bytes(b"secret12"),
    };
    assert_eq!(
        check(p, &datagram(A, MC, 255, IPPROTO_VRRP, &m)),
        Err(DropReason::AuthTypeMismatch)
    );
}

#[test]
fn other_ip_protocol_is_dropped() {
    let m = emit(&v3_advert(), MC);
    assert_eq!(
        check(policy(Version::V3), &datagram(A, MC, 255, 17, &m)),
        Err(DropReason::Protocol)
    );
}

#[test]
fn family_mismatch_is_dropped() {
    let src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let dst = IpAddr::V6(VRRP_MCAST_V6);
    let a = VrrpRepr {
        addresses: vec![IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100))],
        ..v3_advert()
    };
    let mut m = Vec::new();
    a.append_checksummed(src, dst, ChecksumForm::PseudoHeader, &mut m)
        .unwrap();
    let pkt = RxPacket {
        src,
        dst,
        ttl: 255,
        protocol: IPPROTO_VRRP,
        ipv4_header: None,
        payload: &m,
    };
    assert_eq!(
        RxValidator::new(policy(Version::V3)).validate(&pkt, Duration::ZERO),
        Err(DropReason::FamilyMismatch)
    );
    // v2 over IPv6 is refused by the codec.
    let mut v2 = m.clone();
    v2[0] = 0x21;
    assert_eq!(decode(&v2, src, dst), Err(VrrpDecodeError::V2OverIpv6));
    assert_eq!(
        decode(&m, src, MC),
        Err(VrrpDecodeError::FamilyMismatch { src, dst: MC })
    );
}

#[test]
fn ipv6_advert_is_accepted_with_pseudo_header_checksum() {
    let src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let dst = IpAddr::V6(VRRP_MCAST_V6);
    let a = VrrpRepr {
        addresses: vec![IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100))],
        ..v3_advert()
    };
    let mut m = Vec::new();
    a.append_checksummed(src, dst, ChecksumForm::Message, &mut m)
        .unwrap();
    let mut p = policy(Version::V3);
    p.family = Family::V6;
    p.expected_addresses = None;
    let pkt = RxPacket {
        src,
        dst,
        ttl: 255,
        protocol: IPPROTO_VRRP,
        ipv4_header: None,
        payload: &m,
    };
    assert_eq!(
        RxValidator::new(p)
            .validate(&pkt, Duration::ZERO)
            .unwrap()
            .checksum,
        ChecksumForm::PseudoHeader
    );
}

fn ah_policy(unicast: bool) -> RxPolicy {
    let mut p = policy(Version::V2);
    p.auth = AuthConfig::Ah {
        key: password_bytes(b"secret12"),
    };
    if unicast {
        p.unicast_peers = vec![IpAddr::V4(A)];
    }
    p
}

fn ah_encoder(last: u32) -> TxEncoder {
    let mut tx = TxEncoder::new(TxConfig {
        version: Version::V2,
        family: Family::V4,
        vrid: 51,
        interval_cs: 100,
        addresses: vips(),
        auth: AuthConfig::Ah {
            key: password_bytes(b"secret12"),
        },
        checksum: ChecksumForm::Message,
        source: IpAddr::V4(A),
        unicast_peers: vec![],
    })
    .unwrap();
    tx.continue_ah_from(AhSequence { last });
    tx
}

fn ah_datagram(seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    ah_encoder(seq - 1)
        .encode(100, MC, 9, Duration::ZERO, &mut out)
        .unwrap();
    out
}

fn revalidate(
    v: &mut RxValidator,
    d: &[u8],
) -> Result<vrrpd::proto::receive::ValidAdvert, DropReason> {
    v.validate(&RxPacket::from_ipv4_datagram(d).unwrap(), Duration::ZERO)
}

#[test]
fn ah_icv_mismatch_is_dropped() {
    let mut d = ah_datagram(1);
    assert!(check(ah_policy(false), &d).is_ok());
    d[20 + 12] ^= 1; // ICV
    assert_eq!(check(ah_policy(false), &d), Err(DropReason::AhIcv));
    // Wrong key.
    let mut p = ah_policy(false);
    p.auth = AuthConfig::Ah {
        key: password_bytes(b"secret13"),
    };
    assert_eq!(check(p, &ah_datagram(1)), Err(DropReason::AhIcv));
}

#[test]
fn ah_icv_covers_ip_header_id_but_not_tos() {
    let d = ah_datagram(1);
    // TOS is mutable (zeroed in the ICV): changing it keeps the ICV valid.
    let mut tos = d.clone();
    tos[1] = 0;
    tos[10..12].fill(0);
    let c = checksum(&tos[..20]);
    tos[10..12].copy_from_slice(&c.to_be_bytes());
    assert!(check(ah_policy(false), &tos).is_ok());
    // The IP id is covered.
    let mut id = d.clone();
    id[5] ^= 1;
    id[10..12].fill(0);
    let c = checksum(&id[..20]);
    id[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(check(ah_policy(false), &id), Err(DropReason::AhIcv));
}

#[test]
fn ah_spi_must_be_the_source_address() {
    let mut d = ah_datagram(1);
    d[20 + 7] ^= 1;
    assert_eq!(check(ah_policy(false), &d), Err(DropReason::AhSpi));
}

#[test]
fn ah_malformed_header_is_dropped() {
    let mut d = ah_datagram(1);
    d[20] = 6; // next header TCP
    assert_eq!(check(ah_policy(false), &d), Err(DropReason::AhMalformed));
}

#[test]
fn ah_sequence_not_above_last_seen_is_a_replay() {
    let mut v = RxValidator::new(ah_policy(false));
    assert!(revalidate(&mut v, &ah_datagram(5)).is_ok());
    assert_eq!(
        revalidate(&mut v, &ah_datagram(5)),
        Err(DropReason::AhReplay)
    );
    assert_eq!(
        revalidate(&mut v, &ah_datagram(4)),
        Err(DropReason::AhReplay)
    );
    assert!(
        revalidate(&mut v, &ah_datagram(9)).is_ok(),
        "gaps are fine, receiver adopts the seq"
    );
    assert_eq!(v.ah_sequence().last, 9);
}

#[test]
fn ah_dropped_packet_does_not_move_the_replay_mark() {
    let mut v = RxValidator::new(ah_policy(false));
    let mut p = v.policy().clone();
    p.v2_interval_cs = 200; // every advert now fails the interval check
    let mut strict = RxValidator::new(p);
    assert_eq!(
        revalidate(&mut strict, &ah_datagram(3)),
        Err(DropReason::IntervalMismatch)
    );
    assert_eq!(strict.ah_sequence().last, 0);
    assert!(revalidate(&mut v, &ah_datagram(3)).is_ok());
}

#[test]
fn ah_unicast_zeroes_ttl_in_the_icv() {
    // Encoded as multicast (TTL in the ICV), judged as unicast: mismatch.
    let d = {
        let mut tx = ah_encoder(0);
        let mut out = Vec::new();
        tx.encode(100, IpAddr::V4(B), 9, Duration::ZERO, &mut out)
            .unwrap();
        out
    };
    assert_eq!(check(ah_policy(true), &d), Err(DropReason::AhIcv));
}

#[test]
fn ah_sender_increments_per_advert() {
    let mut tx = ah_encoder(0);
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let mut out = Vec::new();
        tx.encode(100, MC, 1, Duration::ZERO, &mut out).unwrap();
        seqs.push(u32::from_be_bytes(out[28..32].try_into().unwrap()));
    }
    assert_eq!(seqs, [1, 2, 3]);
    tx.continue_ah_from(AhSequence { last: 1 });
    assert_eq!(tx.ah_sequence().last, 3, "never moves backwards");
}

/// keepalived 2.2.7 counts the priority-0 advert it "sends" on a downed link:
/// after a silent takeover our first AH seq must be past that, or keepalived
/// drops it ("IPSEC-AH : sequence number 5 already processed. Packet
/// dropped. Local(5)", seen in netns interop_keepalived link_cut).
#[test]
fn ah_new_master_skips_ahead_after_silent_takeover() {
    // Heard the old master up to seq 4; it counted 5 for its priority 0.
    let mut tx = ah_encoder(0);
    tx.continue_ah_after_takeover(AhSequence { last: 4 });
    let mut out = Vec::new();
    tx.encode(100, MC, 1, Duration::ZERO, &mut out).unwrap();
    let first = u32::from_be_bytes(out[28..32].try_into().unwrap());
    assert_eq!(first, 4 + AH_TAKEOVER_SKIP + 1);
    assert!(first > 5);
    // Never backwards; nothing to skip past before any seq was seen.
    tx.continue_ah_after_takeover(AhSequence { last: 1 });
    assert_eq!(tx.ah_sequence().last, first);
    let mut fresh = ah_encoder(0);
    fresh.continue_ah_after_takeover(AhSequence { last: 0 });
    assert_eq!(fresh.ah_sequence().last, 0);
    // After a priority-0 release the exact keepalived continuation stays.
    let mut clean = ah_encoder(0);
    clean.continue_ah_from(AhSequence { last: 5 });
    clean.encode(100, MC, 1, Duration::ZERO, &mut out).unwrap();
    assert_eq!(clean.ah_sequence().last, 6);
}

#[test]
fn ipv4_header_view_checks_and_honours_ihl() {
    let m = emit(&v3_advert(), MC);
    let d = datagram(A, MC, 255, IPPROTO_VRRP, &m);
    assert_eq!(
        Ipv4Packet::new_checked(&d[..19]),
        Err(Ipv4DecodeError::Truncated { len: 19, need: 20 })
    );
    let mut v6 = d.clone();
    v6[0] = 0x65;
    assert_eq!(
        Ipv4Packet::new_checked(&v6[..]),
        Err(Ipv4DecodeError::Version(6))
    );
    let mut ihl = d.clone();
    ihl[0] = 0x44;
    assert_eq!(
        Ipv4Packet::new_checked(&ihl[..]),
        Err(Ipv4DecodeError::HeaderLength(4))
    );
    let mut total = d.clone();
    total[3] += 1;
    assert!(matches!(
        Ipv4Packet::new_checked(&total[..]),
        Err(Ipv4DecodeError::TotalLength { .. })
    ));
    let mut ck = d.clone();
    ck[11] ^= 1;
    assert!(matches!(
        Ipv4Packet::new_checked(&ck[..]),
        Err(Ipv4DecodeError::Checksum { .. })
    ));
    assert_eq!(check(policy(Version::V3), &ck), Err(DropReason::IpHeader));
    // Ethernet padding after the datagram is trimmed.
    let mut padded = d.clone();
    padded.extend_from_slice(&[0; 10]);
    assert_eq!(
        Ipv4Packet::new_checked(&padded[..]).unwrap().payload(),
        &m[..]
    );
    assert!(check(policy(Version::V3), &padded).is_ok());
    // A header with 4 bytes of options (IHL 6): the payload starts after them.
    let mut opt = d[..20].to_vec();
    opt[0] = 0x46;
    opt.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
    opt.extend_from_slice(&m);
    let total = opt.len() as u16;
    opt[2..4].copy_from_slice(&total.to_be_bytes());
    opt[10..12].fill(0);
    let c = checksum(&opt[..24]);
    opt[10..12].copy_from_slice(&c.to_be_bytes());
    let view = Ipv4Packet::new_checked(&opt[..]).unwrap();
    assert_eq!(view.header_len(), 24);
    assert_eq!(view.ttl(), 255);
    assert_eq!(view.payload(), &m[..]);
    assert!(check(policy(Version::V3), &opt).is_ok());
}

#[test]
fn ipv4_advert_header_sends_tos_c0_ttl_255_df_off() {
    let mut h = Vec::new();
    Ipv4Repr::advert(A, VRRP_MCAST_V4, 0x1234, IPPROTO_AH, 48).append_to(&mut h);
    let d = [h.clone(), vec![0; 48]].concat();
    let v = Ipv4Packet::new_checked(&d[..]).unwrap();
    assert_eq!(
        (
            v.tos(),
            v.ttl(),
            v.flags_frag(),
            v.ident(),
            v.protocol(),
            v.total_len()
        ),
        (0xc0, 255, 0, 0x1234, 51, 68)
    );
    assert_eq!((v.src_addr(), v.dst_addr()), (A, VRRP_MCAST_V4));
}

#[test]
fn drop_reason_labels_are_unique_snake_case() {
    let mut seen = std::collections::HashSet::new();
    for r in DropReason::ALL {
        let l = r.label();
        assert!(l.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{l}");
        assert!(seen.insert(l), "duplicate label {l}");
    }
}

#[test]
fn v3_unicast_pseudo_header_naming_224_0_0_18_is_accepted_as_keepalived() {
    // keepalived's old unicast checksum (unicast_chksum_compat), which it
    // still accepts: the pseudo-header used 224.0.0.18, the packet went to
    // the peer. Counted as a pseudo-header form.
    let mut p = policy(Version::V3);
    p.unicast_peers = vec![IpAddr::V4(A)];
    let m = emit(&v3_advert(), MC);
    let uni = IpAddr::V4(B);
    let v = check(p.clone(), &datagram(A, uni, 255, IPPROTO_VRRP, &m)).unwrap();
    assert_eq!(v.checksum, ChecksumForm::PseudoHeader);
    // The current forms still verify; a broken checksum still drops.
    assert!(
        check(
            p.clone(),
            &datagram(A, uni, 255, IPPROTO_VRRP, &emit(&v3_advert(), uni))
        )
        .is_ok()
    );
    let mut bad = m.clone();
    bad[7] ^= 1;
    assert_eq!(
        check(p, &datagram(A, uni, 255, IPPROTO_VRRP, &bad)),
        Err(DropReason::Checksum)
    );
}
