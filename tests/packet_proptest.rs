//! Property tests: the codec and the receive pipeline never panic on
//! arbitrary bytes, and emit-then-parse is the identity for every valid
//! advert (v2/v3, IPv4/IPv6, 0..=20 addresses, both checksum forms).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use vrrpd::proto::auth::{AntiReplay, AuthConfig, HmacConfig, HmacMode, password_bytes};
use vrrpd::proto::receive::{RxPacket, RxPolicy, RxValidator, peek_vrid};
use vrrpd::proto::transmit::{TxConfig, TxEncoder};
use vrrpd::proto::wire::ipv4::Ipv4Packet;
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket, VrrpRepr};
use vrrpd::proto::{Family, Version};

fn auth_modes() -> Vec<AuthConfig> {
    let hmac = |anti_replay, mode| {
        AuthConfig::Hmac(HmacConfig {
            keys: vec![(1, vec![7; 32])],
            active_key: 1,
            anti_replay,
            time_window: Duration::from_secs(5),
            mode,
        })
    };
    vec![
        AuthConfig::None,
        AuthConfig::Pass {
            password: password_bytes(b"secret12"),
        },
        AuthConfig::Ah {
            key: password_bytes(b"secret12"),
        },
        hmac(AntiReplay::Time, HmacMode::Enforce),
        hmac(AntiReplay::Monotonic, HmacMode::Permissive),
        hmac(AntiReplay::Monotonic, HmacMode::ReceiveOnly),
    ]
}

fn arb_addr(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::V4 => any::<[u8; 4]>()
            .prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
            .boxed(),
        Family::V6 => any::<[u8; 16]>()
            .prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
            .boxed(),
    }
}

prop_compose! {
    fn arb_case()(
        (version, family) in prop_oneof![
            Just((Version::V2, Family::V4)),
            Just((Version::V3, Family::V4)),
            Just((Version::V3, Family::V6)),
        ],
    )(
        version in Just(version),
        vrid in any::<u8>(),
        priority in any::<u8>(),
        secs in 1u16..=255,
        cs in 1u16..=0x0fff,
        addresses in proptest::collection::vec(arb_addr(family), 0..=20),
        auth_type in any::<u8>(),
        auth_data in any::<[u8; 8]>(),
        src in arb_addr(family),
        dst in arb_addr(family),
        pseudo in any::<bool>(),
    ) -> (VrrpRepr, IpAddr, IpAddr, ChecksumForm) {
        let v2 = version == Version::V2;
        (VrrpRepr {
            version,
            vrid,
            priority,
            interval_cs: if v2 { secs * 100 } else { cs },
            addresses,
            auth_type: if v2 { auth_type } else { 0 },
            auth_data: if v2 { auth_data } else { [0; 8] },
        }, src, dst, if pseudo { ChecksumForm::PseudoHeader } else { ChecksumForm::Message })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
        let (src, dst) = if v6 {
            (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        } else {
            (IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        if let Ok((p, _)) = VrrpPacket::new_verified(&bytes[..], src, dst) {
            let _ = VrrpRepr::parse(&p);
            let _ = (p.addresses().count(), p.auth_data(), p.trailer());
        }
        let _ = VrrpPacket::new_checked(&bytes[..], Family::of(&src));
        if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
            let _ = (p.header(), p.payload());
        }
        let _ = peek_vrid(112, &bytes);
        let _ = peek_vrid(51, &bytes);
    }

    #[test]
    fn rx_validator_never_panics_with_any_auth_mode(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ttl in any::<u8>(),
        protocol in prop_oneof![Just(112u8), Just(51u8), any::<u8>()],
        clock in any::<u64>(),
    ) {
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
        for auth in auth_modes() {
            for version in [Version::V2, Version::V3] {
                let mut v = RxValidator::new(RxPolicy {
                    version, family: Family::V4, vrid: bytes.get(1).copied().unwrap_or(0), min_ttl: 1,
                    unicast_peers: vec![], v2_interval_cs: 100, auth: auth.clone(),
                    expected_addresses: Some(vec![src]),
                });
                // Header-less form and whole-datagram form.
                let pkt = RxPacket { src, dst, ttl, protocol, ipv4_header: Some(&bytes[..bytes.len().min(20)]), payload: &bytes };
                let _ = v.validate(&pkt, Duration::from_nanos(clock));
                if let Ok(pkt) = RxPacket::from_ipv4_datagram(&bytes) {
                    let _ = v.validate(&pkt, Duration::from_nanos(clock));
                }
            }
        }
    }

    #[test]
    fn emit_then_parse_is_identity((adv, src, dst, form) in arb_case()) {
        let mut buf = Vec::new();
        let family = Family::of(&src);
        let n = adv.append_checksummed(src, dst, form, &mut buf).unwrap();
        prop_assert_eq!(n, adv.buffer_len(family));
        prop_assert_eq!(buf.len(), n);
        let (view, checksum) = VrrpPacket::new_verified(&buf[..], src, dst).unwrap();
        let parsed = VrrpRepr::parse(&view).unwrap();
        prop_assert_eq!(&parsed, &adv);
        prop_assert!(view.trailer().is_empty());
        // The form that verified is the one on the wire (when the two forms'
        // sums differ, which they do unless the pseudo-header sums to zero).
        let wire = ChecksumForm::on_wire(adv.version, family, form);
        if checksum != wire {
            let mut other = Vec::new();
            adv.append_checksummed(src, dst, checksum, &mut other).unwrap();
            prop_assert_eq!(&other, &buf);
        }
        // And re-emitting the parsed advert gives the same bytes.
        let mut again = Vec::new();
        parsed.append_checksummed(src, dst, checksum, &mut again).unwrap();
        prop_assert_eq!(&again, &buf);
    }

    #[test]
    fn transmit_then_receive_accepts_own_adverts((adv, src, dst, form) in arb_case(), auth_ix in 0usize..6, priority in 1u8..=255) {
        let family = Family::of(&src);
        let auth = auth_modes()[auth_ix].clone();
        prop_assume!(adv.version == Version::V2 || !matches!(auth, AuthConfig::Pass { .. } | AuthConfig::Ah { .. }));
        prop_assume!(family == Family::V4 || !matches!(auth, AuthConfig::Ah { .. }));
        let mut tx = TxEncoder::new(TxConfig {
            version: adv.version, family, vrid: adv.vrid, interval_cs: adv.interval_cs,
            addresses: adv.addresses.clone(), auth: auth.clone(), checksum: form, source: src,
            unicast_peers: vec![dst],
        }).unwrap();
        let clock = Duration::from_secs(1_750_000_000);
        let mut out = Vec::new();
        tx.encode(priority, dst, 42, clock, &mut out).unwrap();
        prop_assert_eq!(out.len(), tx.wire_len());
        let receive_only = matches!(&auth, AuthConfig::Hmac(h) if h.mode == HmacMode::ReceiveOnly);
        let mut rx = RxValidator::new(RxPolicy {
            version: adv.version, family, vrid: adv.vrid, min_ttl: 255, unicast_peers: vec![src],
            v2_interval_cs: adv.interval_cs, auth, expected_addresses: Some(adv.addresses.clone()),
        });
        let ok = match family {
            Family::V4 => rx.validate(&RxPacket::from_ipv4_datagram(&out).unwrap(), clock),
            Family::V6 => rx.validate(&RxPacket { src, dst, ttl: 255, protocol: 112, ipv4_header: None, payload: &out }, clock),
        };
        let ok = ok.unwrap();
        prop_assert_eq!(ok.priority, priority);
        prop_assert_eq!(ok.addresses, adv.addresses);
        // receive-only sends no trailer, so its own receiver reports it missing.
        let expect = if receive_only { Some(vrrpd::proto::receive::DropReason::HmacMissing) } else { None };
        prop_assert_eq!(ok.auth_warning, expect);
    }
}
