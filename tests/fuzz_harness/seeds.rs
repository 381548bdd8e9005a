//! The `endpoint` target's seeds, built from the keepalived 2.2.7 captures
//! (only their VRRP and AH datagrams) and the draft hmac vectors. Used by
//! `tests/fuzz_seeds.rs` to check the committed seeds and to rewrite them
//! (`VRRPD_WRITE_FUZZ_SEEDS=1`).

use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use vrrpd::proto::auth::{HmacTrailer, hmac_compute};
use vrrpd::proto::wire::checksum::checksum;
use vrrpd::proto::wire::hmac_trailer::HMAC_OFFSET;
use vrrpd::proto::wire::ipv4::{self, Ipv4Packet, Ipv4Repr};
use vrrpd::proto::wire::ipv6::Ipv6Packet;
use vrrpd::proto::wire::vrrp::{ChecksumForm, fill_checksum};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4};
use vrrpd::proto::{Family, Version};

use super::endpoint::{self, HMAC_KEY_1, HMAC_KEY_2, OP_FIX_CSUM, OP_FIX_IP, OP_RESIGN};

/// Every fix-up flag of an endpoint record.
pub const FIX_ALL: u8 = OP_FIX_IP | OP_FIX_CSUM | OP_RESIGN;

pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (name, ifindex of the endpoint group that mirrors it).
pub const CAPTURES: &[(&str, u8)] = &[
    ("v2-pass-mc", 1),
    ("v2-ah-mc", 2),
    ("v2-ah-uni", 3),
    ("v3-mc-4", 4),
    ("v3-uni-4", 5),
    ("v3-mc-6", 6),
    ("v3-uni-6", 7),
];

/// One VRRP datagram of a capture: µs timestamp and what the raw socket
/// would deliver.
pub enum Captured {
    /// The whole IPv4 datagram (protocol 112 or 51).
    V4 { ts_us: u64, datagram: Vec<u8> },
    /// IPv6 next header 112: metadata and payload.
    V6 {
        ts_us: u64,
        hop: u8,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        payload: Vec<u8>,
    },
}

impl Captured {
    pub fn ts_us(&self) -> u64 {
        match self {
            Captured::V4 { ts_us, .. } | Captured::V6 { ts_us, .. } => *ts_us,
        }
    }
}

/// Classic little-endian µs pcap of Ethernet frames (what the fixtures
/// are): the VRRP / AH datagrams in it; ARP and ICMPv6 are skipped.
pub fn vrrp_datagrams(pcap: &Path) -> Vec<Captured> {
    let d = std::fs::read(pcap).unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    let u32_at = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    assert_eq!(
        u32_at(0),
        0xa1b2_c3d4,
        "{}: not a LE µs pcap",
        pcap.display()
    );
    assert_eq!(u32_at(20), 1, "{}: not Ethernet", pcap.display());
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let ts_us = u64::from(u32_at(off)) * 1_000_000 + u64::from(u32_at(off + 4));
        let incl = u32_at(off + 8) as usize;
        let f = &d[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ethertype = u16::from_be_bytes([f[12], f[13]]);
        let ip = &f[14..];
        match ethertype {
            0x0800 => {
                let dg = Ipv4Packet::new_checked(ip).expect("capture's IPv4 parses");
                if matches!(dg.protocol(), IPPROTO_VRRP | IPPROTO_AH) {
                    let total = usize::from(dg.total_len());
                    out.push(Captured::V4 {
                        ts_us,
                        datagram: ip[..total].to_vec(),
                    });
                }
            }
            0x86dd => {
                let p = Ipv6Packet::new_checked(ip).expect("capture's IPv6 parses");
                if p.next_header() == IPPROTO_VRRP {
                    out.push(Captured::V6 {
                        ts_us,
                        hop: p.hop_limit(),
                        src: p.src_addr(),
                        dst: p.dst_addr(),
                        payload: p.payload().to_vec(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn record(c: &Captured, ifindex: u8, delta_ms: u16) -> Vec<u8> {
    match c {
        Captured::V4 { datagram, .. } => endpoint::record_v4(0, ifindex, delta_ms, datagram),
        Captured::V6 {
            hop,
            src,
            dst,
            payload,
            ..
        } => endpoint::record_v6(0, ifindex, delta_ms, *hop, *src, *dst, payload),
    }
}

/// The config byte of the seeds: hmac enforce + monotonic (the vectors'
/// timestamps are old), preempt, priority 100.
pub const SEED_CONFIG: u8 = 0x00;
/// hmac enforce with `time` anti-replay (bit 2; 0x0c % 3 == 0: enforce),
/// no preemption.
pub const TIME_CONFIG: u8 = 0x0c;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A draft vector as a full image (PDU + trailer with its hmac).
pub struct Vector {
    pub family: Family,
    pub source: IpAddr,
    pub dst: IpAddr,
    pub pdu_len: usize,
    pub image: Vec<u8>,
}

pub fn hmac_vectors() -> Vec<Vector> {
    let j: serde_json::Value = serde_json::from_slice(
        &std::fs::read(manifest().join("tests/fixtures/hmac-draft-vectors.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        unhex(j["key_hex"].as_str().unwrap()),
        HMAC_KEY_1.to_vec(),
        "the endpoint's key 1 is the draft key"
    );
    j["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap();
            let mut image = unhex(v["hex"].as_str().unwrap());
            image.extend(unhex(j["hmac_hex"][name].as_str().unwrap()));
            let (family, dst) = match v["family"].as_u64().unwrap() {
                4 => (Family::V4, endpoint::mcast(Family::V4)),
                // The vector's checksum is for destination fe80::20.
                _ => (Family::V6, "fe80::20".parse().unwrap()),
            };
            Vector {
                family,
                source: v["source"].as_str().unwrap().parse().unwrap(),
                dst,
                pdu_len: v["pdu_len"].as_u64().unwrap() as usize,
                image,
            }
        })
        .collect()
}

/// Re-sign a vector image with another sequence / key (the checksum is
/// recomputed for the vector's destination).
pub fn resign(v: &Vector, key_id: u8, seq: u64) -> Vec<u8> {
    let mut img = v.image[..v.pdu_len].to_vec();
    let mut t = HmacTrailer::from_seq(key_id, seq);
    let head: [u8; HMAC_OFFSET] = t.to_bytes()[..HMAC_OFFSET].try_into().unwrap();
    let key: &[u8] = if key_id == 2 { HMAC_KEY_2 } else { &HMAC_KEY_1 };
    t.hmac = hmac_compute(key, Version::V3, img[1], v.source, &img, &head);
    img.extend_from_slice(&t.to_bytes());
    let form = ChecksumForm::PseudoHeader;
    let pdu = v.pdu_len;
    fill_checksum(&mut img, pdu, v.source, v.dst, form);
    img
}

fn vector_record(v: &Vector, image: &[u8], delta_ms: u16) -> Vec<u8> {
    match (v.source, v.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut dg = Vec::new();
            Ipv4Repr::advert(s, d, 1, IPPROTO_VRRP, image.len()).append_to(&mut dg);
            dg.extend_from_slice(image);
            assert_eq!(dg.len(), ipv4::HEADER_LEN + image.len());
            endpoint::record_v4(OP_FIX_IP, 8, delta_ms, &dg)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => endpoint::record_v6(0, 9, delta_ms, 255, s, d, image),
        _ => unreachable!(),
    }
}

/// Every seed: (file name, bytes). Single-datagram seeds are named
/// `<capture>-<n>` / `hmac-v4-…`; `<capture>-all` replays the whole
/// capture with its timing; `hmac-*-sequence` walks accept, replay,
/// other key, unknown key.
pub fn build() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let fixtures = manifest().join("tests/fixtures/keepalived-2.2.7");
    for (name, ifindex) in CAPTURES {
        let dgs = vrrp_datagrams(&fixtures.join(name).join("adverts.pcap"));
        assert!(!dgs.is_empty(), "{name}: no VRRP datagram");
        for (i, c) in dgs.iter().take(4).enumerate() {
            let mut s = vec![SEED_CONFIG];
            s.extend(record(c, *ifindex, 0));
            out.push((format!("{name}-{i}"), s));
        }
        // The same advert with every fix-up flag set: a mutated field then
        // still passes the IP header, checksum and AH checks.
        let mut s = vec![SEED_CONFIG];
        let mut r = record(&dgs[0], *ifindex, 0);
        r[0] |= FIX_ALL;
        s.extend(r);
        out.push((format!("{name}-fixed"), s));
        let mut s = vec![SEED_CONFIG];
        let mut last = dgs[0].ts_us();
        for c in &dgs {
            let delta = ((c.ts_us() - last) / 1000).min(u64::from(u16::MAX)) as u16;
            last = c.ts_us();
            s.extend(record(c, *ifindex, delta));
        }
        s.extend(endpoint::record_tick(5000));
        out.push((format!("{name}-all"), s));
    }
    let base = 0x6800_0000_8000_0000u64;
    for v in hmac_vectors() {
        let fam = match v.family {
            Family::V4 => "v4",
            Family::V6 => "v6",
        };
        let mut s = vec![SEED_CONFIG];
        s.extend(vector_record(&v, &v.image, 0));
        out.push((format!("hmac-{fam}-vector"), s));
        // Time anti-replay (config bit 2), fix-ups on: the vector's
        // timestamp is the run's wall clock, a mutated one is stale.
        let mut s = vec![TIME_CONFIG];
        let mut r = vector_record(&v, &v.image, 0);
        r[0] |= FIX_ALL;
        s.extend(r);
        out.push((format!("hmac-{fam}-time-fixed"), s));
        // A sender whose clock is an hour ahead: stale.
        let mut s = vec![TIME_CONFIG];
        s.extend(vector_record(&v, &resign(&v, 1, base + (3600 << 32)), 0));
        out.push((format!("hmac-{fam}-time-stale"), s));
        // A sender without hmac (keepalived < 2.4): no trailer.
        let mut plain = v.image[..v.pdu_len].to_vec();
        fill_checksum(
            &mut plain,
            v.pdu_len,
            v.source,
            v.dst,
            ChecksumForm::PseudoHeader,
        );
        let mut s = vec![SEED_CONFIG];
        s.extend(vector_record(&v, &plain, 0));
        out.push((format!("hmac-{fam}-unsigned"), s));
        let mut s = vec![SEED_CONFIG];
        s.extend(vector_record(&v, &resign(&v, 1, base + 1), 0));
        out.push((format!("hmac-{fam}-resigned"), s));
        let mut s = vec![SEED_CONFIG];
        for (key, seq, delta) in [
            (1, base, 0),
            (1, base, 100),
            (1, base + 1, 100),
            (2, base + 2, 100),
            (3, base + 3, 100),
        ] {
            s.extend(vector_record(&v, &resign(&v, key, seq), delta));
        }
        s.extend(endpoint::record_tick(5000));
        out.push((format!("hmac-{fam}-sequence"), s));
    }
    out.push(("carp-0".into(), carp_seed()));
    out
}

/// A ucarp advertisement on protocol 112 to 224.0.0.18 (ARCHITECTURE §5:
/// it looks like VRRPv2 up to its length): version 2, type 1, vhid 51,
/// advskew 0, authlen 7, advbase 1, checksum, 8-byte counter, 20-byte
/// SHA-1 HMAC.
pub fn carp_seed() -> Vec<u8> {
    let mut carp = vec![0x21, 51, 0, 7, 0, 1, 0, 0];
    carp.extend([0u8; 8]);
    carp.extend([0xa5u8; 20]);
    let c = checksum(&carp);
    carp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut dg = Vec::new();
    Ipv4Repr::advert(
        std::net::Ipv4Addr::new(192, 0, 2, 1),
        VRRP_MCAST_V4,
        7,
        IPPROTO_VRRP,
        carp.len(),
    )
    .append_to(&mut dg);
    dg.extend_from_slice(&carp);
    let mut s = vec![SEED_CONFIG];
    s.extend(endpoint::record_v4(0, 1, 0, &dg));
    s
}
