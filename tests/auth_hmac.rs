//! draft-cassen-vrrp-auth-hmac: the appendix vectors (keepalived's own unit
//! test images), every listed one-byte mutation with its expected outcome,
//! the anti-replay rules and the three modes, through the auth layer and the
//! whole receive pipeline; and the transmitter reproducing the vectors.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use vrrpd::proto::auth::{
    AntiReplay, AuthConfig, HmacConfig, HmacError, HmacMode, HmacReplayTable, HmacSender,
    HmacTrailer, clock_seq, hmac_compute, hmac_verify,
};
use vrrpd::proto::receive::{DropReason, RxPacket, RxPolicy, RxValidator};
use vrrpd::proto::transmit::{TxConfig, TxEncoder};
use vrrpd::proto::wire::hmac_trailer::{HMAC_OFFSET, HMAC_TRAILER_LEN};
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket, VrrpRepr, fill_checksum};
use vrrpd::proto::wire::{IPPROTO_VRRP, VRRP_MCAST_V4};
use vrrpd::proto::{Family, Version};

fn vectors() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hmac-draft-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Vector {
    image: Vec<u8>,
    pdu_len: usize,
    src: IpAddr,
    dst: IpAddr,
    family: Family,
    vip: IpAddr,
    priority: u8,
}

fn vector(name: &str) -> Vector {
    let v = vectors();
    let e = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap()
        .clone();
    let mut image = hex(e["hex"].as_str().unwrap());
    image.extend(hex(v["hmac_hex"][name].as_str().unwrap()));
    let family = if e["family"] == 4 {
        Family::V4
    } else {
        Family::V6
    };
    Vector {
        image,
        pdu_len: e["pdu_len"].as_u64().unwrap() as usize,
        src: e["source"].as_str().unwrap().parse().unwrap(),
        // IPv4: message-only checksum, the destination does not matter; IPv6:
        // the transport checksum was computed for fe80::20 (see the note).
        dst: match family {
            Family::V4 => IpAddr::V4(VRRP_MCAST_V4),
            Family::V6 => "fe80::20".parse().unwrap(),
        },
        family,
        vip: e["vip"].as_str().unwrap().parse().unwrap(),
        priority: e["priority"].as_u64().unwrap() as u8,
    }
}

fn config(anti_replay: AntiReplay, mode: HmacMode) -> HmacConfig {
    let v = vectors();
    HmacConfig {
        keys: vec![(
            v["key_id"].as_u64().unwrap() as u8,
            hex(v["key_hex"].as_str().unwrap()),
        )],
        active_key: 1,
        anti_replay,
        time_window: Duration::from_secs(5),
        mode,
    }
}

fn policy(v: &Vector, anti_replay: AntiReplay, mode: HmacMode) -> RxPolicy {
    RxPolicy {
        version: Version::V3,
        family: v.family,
        vrid: 51,
        min_ttl: 1,
        unicast_peers: if v.family == Family::V6 {
            vec![v.src]
        } else {
            vec![]
        },
        v2_interval_cs: 100,
        auth: AuthConfig::Hmac(config(anti_replay, mode)),
        expected_addresses: None,
    }
}

fn rx<'a>(v: &Vector, payload: &'a [u8], src: IpAddr) -> RxPacket<'a> {
    RxPacket {
        src,
        dst: v.dst,
        ttl: 255,
        protocol: IPPROTO_VRRP,
        ipv4_header: None,
        payload,
    }
}

/// The sequence in the vectors: 0x68000000 s + 0x8000/65536 s, ctr 0.
fn vector_clock() -> Duration {
    let seq = u64::from_str_radix(
        vectors()["sequence"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(seq & 0xffff, 0);
    Duration::new(
        seq >> 32,
        ((seq >> 16 & 0xffff) * 1_000_000_000 / 65536) as u32,
    )
}

fn auth_layer(v: &Vector, image: &[u8], src: IpAddr) -> Result<HmacTrailer, HmacError> {
    hmac_verify(
        &config(AntiReplay::Monotonic, HmacMode::Enforce),
        &HmacReplayTable::default(),
        Version::V3,
        51,
        src,
        &image[..v.pdu_len],
        &image[v.pdu_len..],
        Duration::ZERO,
    )
}

#[test]
fn auth_hmac_vectors_verify_and_decode() {
    for name in ["ipv4", "ipv6"] {
        let v = vector(name);
        let (parsed, _) = VrrpPacket::new_verified(&v.image[..], v.src, v.dst).unwrap();
        assert_eq!(parsed.message_len(), v.pdu_len);
        assert_eq!(parsed.trailer().len(), HMAC_TRAILER_LEN);
        assert_eq!(parsed.priority(), v.priority);
        assert_eq!(parsed.addresses().collect::<Vec<_>>(), vec![v.vip]);
        let t = auth_layer(&v, &v.image, v.src).unwrap();
        assert_eq!(t.key_id, 1);
        assert_eq!(clock_seq(vector_clock()), t.seq());
        let mut head = [0u8; HMAC_OFFSET];
        head.copy_from_slice(&parsed.trailer()[..HMAC_OFFSET]);
        assert_eq!(
            hmac_compute(
                &hex(vectors()["key_hex"].as_str().unwrap()),
                Version::V3,
                51,
                v.src,
                &v.image[..v.pdu_len],
                &head
            ),
            t.hmac
        );
        // And through the whole receive pipeline, fresh receiver, monotonic.
        let mut val = RxValidator::new(policy(&v, AntiReplay::Monotonic, HmacMode::Enforce));
        let ok = val
            .validate(&rx(&v, &v.image, v.src), Duration::ZERO)
            .unwrap();
        assert_eq!(ok.auth_warning, None);
        assert_eq!(ok.priority, v.priority);
    }
}

#[test]
fn auth_hmac_checksum_covers_trailer_on_ipv6_only() {
    // IPv4 vector: RFC 9568 message-only checksum over the PDU, not the trailer.
    let v4 = vector("ipv4");
    assert_eq!(
        VrrpPacket::new_verified(&v4.image[..], v4.src, v4.dst)
            .unwrap()
            .1,
        ChecksumForm::Message
    );
    let mut c = v4.image.clone();
    fill_checksum(&mut c, v4.pdu_len, v4.src, v4.dst, ChecksumForm::Message);
    assert_eq!(c, v4.image, "IPv4 checksum = PDU only");
    // IPv6 vector: transport checksum over pseudo-header + PDU + trailer.
    let v6 = vector("ipv6");
    let mut c = v6.image.clone();
    fill_checksum(
        &mut c,
        v6.pdu_len,
        v6.src,
        v6.dst,
        ChecksumForm::PseudoHeader,
    );
    assert_eq!(c, v6.image, "IPv6 checksum covers the trailer");
}

fn flip(image: &[u8], at: usize) -> Vec<u8> {
    let mut m = image.to_vec();
    m[at] ^= 1;
    m
}

#[test]
fn auth_hmac_every_listed_mutation_has_its_expected_outcome() {
    let v = vector("ipv6");
    let t = v.pdu_len;
    let other: IpAddr = "fe80::20".parse().unwrap();
    let mutations = vectors()["mutations_on_ipv6_image"]
        .as_object()
        .unwrap()
        .clone();
    let mut checked = 0;
    for (what, expected) in &mutations {
        if what == "about" {
            continue;
        }
        let expected = expected.as_str().unwrap();
        let (image, src) = match what.as_str() {
            "priority byte (offset 2)" => (flip(&v.image, 2), v.src),
            "advert interval (offset 5)" => (flip(&v.image, 5), v.src),
            "checksum (offset 6)" => (flip(&v.image, 6), v.src),
            "last VIP byte (offset 23)" => (flip(&v.image, 23), v.src),
            "ext_type (trailer offset 0)" => (flip(&v.image, t), v.src),
            "key_id (trailer offset 1)" => (flip(&v.image, t + 1), v.src),
            "reserved (trailer offset 2)" => (flip(&v.image, t + 2), v.src),
            "sec (trailer offset 4)" => (flip(&v.image, t + 4), v.src),
            "ctr (trailer offset 10)" => (flip(&v.image, t + 10), v.src),
            "hmac (trailer offset 12)" => (flip(&v.image, t + 12), v.src),
            "source address fe80::20 instead of fe80::10" => (v.image.clone(), other),
            unknown => panic!("mutation {unknown:?} not covered by this test"),
        };
        let got = auth_layer(&v, &image, src);
        let (want_err, want_drop) = if expected.starts_with("ok") {
            (None, None)
        } else if expected.starts_with("bad hmac") {
            (Some(HmacError::Bad), Some(DropReason::HmacBad))
        } else if expected.starts_with("malformed") {
            (None, Some(DropReason::HmacMalformed))
        } else if expected.starts_with("unknown key") {
            (
                Some(HmacError::UnknownKey(0)),
                Some(DropReason::HmacUnknownKey),
            )
        } else {
            panic!("unknown expectation {expected:?}")
        };
        match (&want_err, &want_drop, &got) {
            (None, None, Ok(_)) => {}
            (Some(HmacError::Bad), _, Err(HmacError::Bad)) => {}
            (Some(HmacError::UnknownKey(_)), _, Err(HmacError::UnknownKey(0))) => {}
            (None, Some(DropReason::HmacMalformed), Err(HmacError::Malformed { .. })) => {}
            _ => panic!("{what}: expected {expected}, auth layer said {got:?}"),
        }
        // Through the pipeline, with the transport checksum made valid again
        // (except for the checksum mutation itself, which the codec drops).
        let mut fixed = image.clone();
        if what != "checksum (offset 6)" {
            fill_checksum(
                &mut fixed,
                v.pdu_len,
                src,
                v.dst,
                ChecksumForm::PseudoHeader,
            );
        }
        let mut pol = policy(&v, AntiReplay::Monotonic, HmacMode::Enforce);
        pol.unicast_peers = vec![src];
        let res = RxValidator::new(pol).validate(&rx(&v, &fixed, src), Duration::ZERO);
        match (what.as_str(), want_drop) {
            ("checksum (offset 6)", _) => assert_eq!(res, Err(DropReason::Checksum), "{what}"),
            (_, None) => assert!(res.is_ok(), "{what}: {res:?}"),
            (_, Some(r)) => assert_eq!(res, Err(r), "{what}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 11);
}

#[test]
fn auth_hmac_replay_of_the_same_advert_is_dropped() {
    for ar in [AntiReplay::Monotonic, AntiReplay::Time] {
        let v = vector("ipv6");
        let mut val = RxValidator::new(policy(&v, ar, HmacMode::Enforce));
        let now = vector_clock();
        assert!(val.validate(&rx(&v, &v.image, v.src), now).is_ok());
        assert_eq!(
            val.validate(&rx(&v, &v.image, v.src), now),
            Err(DropReason::HmacReplay)
        );
    }
}

/// Sign a fresh IPv4 advert with the vector key at `seq`.
fn signed_v4(seq_clock: Duration, sender: &mut HmacSender) -> (Vector, Vec<u8>) {
    let v = vector("ipv4");
    let (view, _) = VrrpPacket::new_verified(&v.image[..], v.src, v.dst).unwrap();
    let adv = VrrpRepr::parse(&view).unwrap();
    let mut buf = Vec::new();
    let n = adv.append_to(Family::V4, &mut buf).unwrap();
    sender.sign(
        &config(AntiReplay::Time, HmacMode::Enforce),
        Version::V3,
        51,
        v.src,
        &mut buf,
        0,
        seq_clock,
    );
    fill_checksum(&mut buf, n, v.src, v.dst, ChecksumForm::Message);
    (v, buf)
}

#[test]
fn auth_hmac_time_anti_replay_enforces_the_window() {
    let mut s = HmacSender::default();
    let (v, img) = signed_v4(vector_clock(), &mut s);
    assert_eq!(
        img, v.image,
        "sender reproduces the vector at its timestamp"
    );
    let pol = || policy(&v, AntiReplay::Time, HmacMode::Enforce);
    let at = |d: i64| {
        let base = vector_clock();
        if d >= 0 {
            base + Duration::from_secs(d as u64)
        } else {
            base - Duration::from_secs((-d) as u64)
        }
    };
    // Within the window either way: accepted.
    assert!(
        RxValidator::new(pol())
            .validate(&rx(&v, &img, v.src), at(4))
            .is_ok()
    );
    assert!(
        RxValidator::new(pol())
            .validate(&rx(&v, &img, v.src), at(-4))
            .is_ok()
    );
    // Outside it: stale.
    assert_eq!(
        RxValidator::new(pol()).validate(&rx(&v, &img, v.src), at(6)),
        Err(DropReason::HmacStale)
    );
    assert_eq!(
        RxValidator::new(pol()).validate(&rx(&v, &img, v.src), at(-6)),
        Err(DropReason::HmacStale)
    );
    // The vectors' timestamp lies outside any live window.
    assert_eq!(
        RxValidator::new(pol()).validate(&rx(&v, &img, v.src), Duration::from_secs(1_800_000_000)),
        Err(DropReason::HmacStale)
    );
    // Monotonic mode ignores the wall clock.
    assert!(
        RxValidator::new(policy(&v, AntiReplay::Monotonic, HmacMode::Enforce))
            .validate(&rx(&v, &img, v.src), Duration::ZERO)
            .is_ok()
    );
}

#[test]
fn auth_hmac_sequence_must_strictly_increase_per_sender() {
    let mut s = HmacSender::default();
    let clock = vector_clock();
    let (v, first) = signed_v4(clock, &mut s);
    // Same clock reading: the counter increments, still strictly increasing.
    let (_, second) = signed_v4(clock, &mut s);
    assert_ne!(first, second);
    let mut val = RxValidator::new(policy(&v, AntiReplay::Monotonic, HmacMode::Enforce));
    assert!(val.validate(&rx(&v, &second, v.src), clock).is_ok());
    // The older one arriving late is a replay.
    assert_eq!(
        val.validate(&rx(&v, &first, v.src), clock),
        Err(DropReason::HmacReplay)
    );
    // A forged packet must not move the mark: bad hmac with a huge seq, then
    // a genuine later one is still accepted.
    let mut forged = flip(&second, v.pdu_len + 4);
    forged[v.pdu_len + 12] ^= 0xff;
    fill_checksum(&mut forged, v.pdu_len, v.src, v.dst, ChecksumForm::Message);
    assert_eq!(
        val.validate(&rx(&v, &forged, v.src), clock),
        Err(DropReason::HmacBad)
    );
    let (_, third) = signed_v4(clock + Duration::from_secs(1), &mut s);
    assert!(val.validate(&rx(&v, &third, v.src), clock).is_ok());
}

#[test]
fn auth_hmac_modes_enforce_permissive_receive_only() {
    let v = vector("ipv4");
    let bare = v.image[..v.pdu_len].to_vec(); // checksum is PDU-only: still valid
    let bad = {
        let mut b = flip(&v.image, v.pdu_len + 12);
        fill_checksum(&mut b, v.pdu_len, v.src, v.dst, ChecksumForm::Message);
        b
    };
    let run = |mode, img: &[u8]| {
        RxValidator::new(policy(&v, AntiReplay::Monotonic, mode))
            .validate(&rx(&v, img, v.src), Duration::ZERO)
    };
    // enforce: drop missing and bad.
    assert_eq!(run(HmacMode::Enforce, &bare), Err(DropReason::HmacMissing));
    assert_eq!(run(HmacMode::Enforce, &bad), Err(DropReason::HmacBad));
    // permissive: accept missing (flagged), drop bad.
    assert_eq!(
        run(HmacMode::Permissive, &bare).unwrap().auth_warning,
        Some(DropReason::HmacMissing)
    );
    assert_eq!(run(HmacMode::Permissive, &bad), Err(DropReason::HmacBad));
    assert_eq!(
        run(HmacMode::Permissive, &v.image).unwrap().auth_warning,
        None
    );
    // receive-only: accept everything, report what was wrong.
    assert_eq!(
        run(HmacMode::ReceiveOnly, &bare).unwrap().auth_warning,
        Some(DropReason::HmacMissing)
    );
    assert_eq!(
        run(HmacMode::ReceiveOnly, &bad).unwrap().auth_warning,
        Some(DropReason::HmacBad)
    );
    // A truncated trailer is malformed.
    let short = {
        let mut s = v.image[..v.image.len() - 1].to_vec();
        fill_checksum(&mut s, v.pdu_len, v.src, v.dst, ChecksumForm::Message);
        s
    };
    assert_eq!(
        run(HmacMode::Enforce, &short),
        Err(DropReason::HmacMalformed)
    );
}

#[test]
fn auth_hmac_unknown_key_id_is_reported_and_rotation_works() {
    let v = vector("ipv4");
    let mut cfg = config(AntiReplay::Monotonic, HmacMode::Enforce);
    cfg.keys = vec![(2, vec![0xaa; 32])];
    let mut pol = policy(&v, AntiReplay::Monotonic, HmacMode::Enforce);
    pol.auth = AuthConfig::Hmac(cfg.clone());
    assert_eq!(
        RxValidator::new(pol.clone()).validate(&rx(&v, &v.image, v.src), Duration::ZERO),
        Err(DropReason::HmacUnknownKey)
    );
    // Key ring with both keys: the old key id still verifies.
    cfg.keys
        .push((1, hex(vectors()["key_hex"].as_str().unwrap())));
    pol.auth = AuthConfig::Hmac(cfg);
    assert!(
        RxValidator::new(pol)
            .validate(&rx(&v, &v.image, v.src), Duration::ZERO)
            .is_ok()
    );
}

#[test]
fn auth_hmac_transmit_reproduces_the_vectors() {
    for name in ["ipv4", "ipv6"] {
        let v = vector(name);
        let mut tx = TxEncoder::new(TxConfig {
            version: Version::V3,
            family: v.family,
            vrid: 51,
            interval_cs: 100,
            addresses: vec![v.vip],
            auth: AuthConfig::Hmac(config(AntiReplay::Time, HmacMode::Enforce)),
            checksum: ChecksumForm::Message,
            source: v.src,
            unicast_peers: vec![v.dst],
        })
        .unwrap();
        let mut out = Vec::new();
        tx.encode(v.priority, v.dst, 7, vector_clock(), &mut out)
            .unwrap();
        let body = if v.family == Family::V4 {
            &out[20..]
        } else {
            &out[..]
        };
        assert_eq!(body, &v.image[..], "{name}");
        assert_eq!(out.len(), tx.wire_len());
    }
}

#[test]
fn auth_hmac_receive_only_sends_no_trailer() {
    let v = vector("ipv4");
    let mut tx = TxEncoder::new(TxConfig {
        version: Version::V3,
        family: Family::V4,
        vrid: 51,
        interval_cs: 100,
        addresses: vec![v.vip],
        auth: AuthConfig::Hmac(config(AntiReplay::Time, HmacMode::ReceiveOnly)),
        checksum: ChecksumForm::Message,
        source: v.src,
        unicast_peers: vec![],
    })
    .unwrap();
    let mut out = Vec::new();
    tx.encode(v.priority, v.dst, 7, vector_clock(), &mut out)
        .unwrap();
    assert_eq!(&out[20..], &v.image[..v.pdu_len]);
}

#[test]
fn auth_hmac_time_window_compares_whole_seconds_as_keepalived_2_4() {
    // keepalived 2.4 vrrp_auth_hmac_check: delta = now.tv_sec - trailer.sec.
    // A peer 5.9 s ahead (trailer second 5 above ours) is within a 5 s
    // window; one whose trailer second is 6 above is not.
    let base = vector_clock();
    let whole = Duration::from_secs(base.as_secs());
    for (ahead_ms, ok) in [(5_900, true), (5_000, true), (6_000, false)] {
        let mut s = HmacSender::default();
        let (v, img) = signed_v4(whole + Duration::from_millis(ahead_ms), &mut s);
        let r = RxValidator::new(policy(&v, AntiReplay::Time, HmacMode::Enforce))
            .validate(&rx(&v, &img, v.src), whole + Duration::from_millis(50));
        assert_eq!(r.is_ok(), ok, "sender {ahead_ms} ms ahead: {r:?}");
    }
}
