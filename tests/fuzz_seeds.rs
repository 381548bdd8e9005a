//! The fuzz seeds (`fuzz/seeds/<target>/`) are what their names claim:
//! built from the keepalived 2.2.7 captures (VRRP and AH datagrams only,
//! no ARP or ICMPv6) and the draft hmac vectors, each one the kind of
//! datagram its name says, passing validation with the target's keys, and
//! together reaching authentication, replay checks and the state machine.
//!
//! `VRRPD_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_seeds` rewrites them.

mod fuzz_harness;

use std::collections::BTreeMap;
use std::path::PathBuf;

use fuzz_harness::endpoint::{self, AuthKind, RunConfig, SeedPacket};
use fuzz_harness::seeds::{self, manifest};
use fuzz_harness::{bfd, roundtrip};
use vrrpd::proto::auth::{AUTH_TYPE_AH, AUTH_TYPE_NONE, AUTH_TYPE_PASS, HmacTrailer};
use vrrpd::proto::bfd::ControlPacket;
use vrrpd::proto::receive::{DropReason, RxValidator};
use vrrpd::proto::wire::ah::AH_LEN;
use vrrpd::proto::wire::vrrp::VrrpPacket;
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP};
use vrrpd::proto::{Family, Version};

fn seed_dir(target: &str) -> PathBuf {
    manifest().join("fuzz/seeds").join(target)
}

/// Round-trip seeds: every endpoint datagram, as that target reads it.
fn roundtrip_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, data) in seeds::build() {
        if name.ends_with("-all") || name.ends_with("-sequence") {
            continue;
        }
        for (_, _, p) in endpoint::datagrams(&data) {
            let s = match p {
                SeedPacket::V4(d) => [vec![1u8], d].concat(),
                SeedPacket::V6 {
                    src, dst, payload, ..
                } => [
                    vec![0u8],
                    src.octets().to_vec(),
                    dst.octets().to_vec(),
                    payload,
                ]
                .concat(),
            };
            out.push((name.clone(), s));
        }
    }
    out.push(("value".into(), vec![4, 0, 2, 51, 100, 0, 100, 0, 100, 101]));
    out
}

/// BFD seeds: a peer's Down, Init and Up packets (FRR bfdd's first packets
/// look like the first), with Your Discriminator filled in by the target.
fn bfd_seeds() -> Vec<(String, Vec<u8>)> {
    let pkt = |state: u8, your: u32| {
        let mut b = [0u8; 24];
        b[0] = 0x20; // version 1, no diag
        b[1] = state << 6;
        b[2] = 3;
        b[3] = 24;
        b[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        b[8..12].copy_from_slice(&your.to_be_bytes());
        b[12..16].copy_from_slice(&10_000u32.to_be_bytes());
        b[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        b
    };
    let mut up = vec![7u8];
    up.extend(bfd::record(0, 0, 0, 255, &pkt(1, 0)));
    up.extend(bfd::record(8, 0, 5, 255, &pkt(3, 0)));
    for _ in 0..5 {
        up.extend(bfd::record(8, 0, 10, 255, &pkt(3, 0)));
    }
    let mut v6 = vec![7u8];
    v6.extend(bfd::record(0, 1, 0, 255, &pkt(1, 0)));
    v6.extend(bfd::record(8, 1, 5, 255, &pkt(2, 0)));
    v6.extend(bfd::record(8, 1, 5, 255, &pkt(3, 0)));
    let mut down = vec![7u8];
    down.extend(bfd::record(0, 2, 0, 255, &pkt(1, 0)));
    vec![
        ("peer-up-then-silent".into(), up),
        ("peer-v6-init-up".into(), v6),
        ("peer-down".into(), down),
    ]
}

fn numbered(v: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut n: BTreeMap<String, usize> = BTreeMap::new();
    v.into_iter()
        .map(|(name, d)| {
            let i = n.entry(name.clone()).or_default();
            *i += 1;
            (format!("{name}-{}", *i - 1), d)
        })
        .collect()
}

/// Named seed files of one target.
type Seeds = Vec<(String, Vec<u8>)>;

fn all_seeds() -> Vec<(&'static str, Seeds)> {
    vec![
        ("endpoint", seeds::build()),
        ("roundtrip", numbered(roundtrip_seeds())),
        ("bfd", bfd_seeds()),
    ]
}

#[test]
fn fuzz_seeds_on_disk_are_the_ones_built_from_the_fixtures() {
    let write = std::env::var_os("VRRPD_WRITE_FUZZ_SEEDS").is_some();
    for (target, built) in all_seeds() {
        let dir = seed_dir(target);
        if write {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, data) in &built {
                std::fs::write(dir.join(name), data).unwrap();
            }
        }
        let mut on_disk: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        on_disk.sort();
        let mut built = built;
        built.sort();
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&on_disk),
            names(&built),
            "{target}: seed names (rewrite with VRRPD_WRITE_FUZZ_SEEDS=1)"
        );
        for ((n, a), (_, b)) in on_disk.iter().zip(&built) {
            assert_eq!(a, b, "{target}/{n} differs from what the fixtures give");
        }
    }
}

/// What a seed name promises: (version, family, auth, unicast).
fn claimed(name: &str) -> (Version, Family, AuthKind, bool) {
    let (v, f, a, u) = match name.rsplit_once('-').map(|(c, _)| c).unwrap_or(name) {
        "v2-pass-mc" => (2, 4, AuthKind::Pass, false),
        "v2-ah-mc" => (2, 4, AuthKind::Ah, false),
        "v2-ah-uni" => (2, 4, AuthKind::Ah, true),
        "v3-mc-4" => (3, 4, AuthKind::None, false),
        "v3-uni-4" => (3, 4, AuthKind::None, true),
        "v3-mc-6" => (3, 6, AuthKind::None, false),
        "v3-uni-6" => (3, 6, AuthKind::None, true),
        "hmac-v4" | "hmac-v4-time" => (3, 4, AuthKind::Hmac, false),
        "hmac-v6" | "hmac-v6-time" => (3, 6, AuthKind::Hmac, true),
        other => panic!("seed {name}: unknown kind {other}"),
    };
    (
        if v == 2 { Version::V2 } else { Version::V3 },
        if f == 4 { Family::V4 } else { Family::V6 },
        a,
        u,
    )
}

#[test]
fn fuzz_endpoint_seeds_are_the_datagrams_their_names_claim() {
    let mut kinds = BTreeMap::new();
    for (name, data) in seeds::build() {
        let rc = RunConfig::from_byte(data[0]);
        if name.starts_with("carp") {
            let (_, ifindex, p) = &endpoint::datagrams(&data)[0];
            let pkt = p.rx().expect("carp seed: IPv4 parses");
            let group = endpoint::group_for(*ifindex, &pkt).expect("carp seed: a group");
            let mut v = RxValidator::new(endpoint::rx_policy(&group, &rc));
            assert_eq!(
                v.validate(&pkt, endpoint::wall(endpoint::T0)),
                Err(DropReason::Carp)
            );
            continue;
        }
        let (version, family, auth, unicast) = claimed(&name);
        let unsigned = name.contains("unsigned");
        let whole = name.ends_with("-all") || name.ends_with("-sequence");
        let dgs = endpoint::datagrams(&data);
        assert!(!dgs.is_empty(), "{name}: no datagram");
        for (i, (_, ifindex, p)) in dgs.iter().enumerate() {
            let what = format!("{name} datagram {i}");
            let pkt = p
                .rx()
                .unwrap_or_else(|| panic!("{what}: IPv4 header does not parse"));
            assert_eq!(Family::of(&pkt.src), family, "{what}: family");
            let expect_proto = if auth == AuthKind::Ah {
                IPPROTO_AH
            } else {
                IPPROTO_VRRP
            };
            assert_eq!(pkt.protocol, expect_proto, "{what}: IP protocol");
            let vrrp = if auth == AuthKind::Ah {
                &pkt.payload[AH_LEN..]
            } else {
                pkt.payload
            };
            let (adv, _) = VrrpPacket::new_verified(vrrp, pkt.src, pkt.dst)
                .unwrap_or_else(|e| panic!("{what}: not a VRRP advert: {e}"));
            assert_eq!(adv.version(), version, "{what}: version");
            let auth_type = match auth {
                AuthKind::Pass => AUTH_TYPE_PASS,
                AuthKind::Ah => AUTH_TYPE_AH,
                _ => AUTH_TYPE_NONE,
            };
            assert_eq!(adv.auth_type(), auth_type, "{what}: auth type");
            assert_eq!(
                HmacTrailer::parse(adv.trailer()).is_ok(),
                auth == AuthKind::Hmac && !unsigned,
                "{what}: hmac trailer"
            );
            let group = endpoint::group_for(*ifindex, &pkt)
                .unwrap_or_else(|| panic!("{what}: no group on interface {ifindex}"));
            assert!(
                name.starts_with(group.name),
                "{what}: demultiplexed to {}",
                group.name
            );
            assert_eq!(!group.unicast_peers.is_empty(), unicast, "{what}: unicast");
            if !whole || i == 0 {
                let mut v = RxValidator::new(endpoint::rx_policy(&group, &rc));
                let r = v.validate(&pkt, endpoint::wall(endpoint::T0));
                if unsigned {
                    assert_eq!(r, Err(DropReason::HmacMissing), "{what}");
                } else if name.contains("stale") {
                    assert_eq!(r, Err(DropReason::HmacStale), "{what}");
                } else {
                    let ok = r.unwrap_or_else(|e| {
                        panic!("{what}: dropped with the target's keys: {e:?}")
                    });
                    assert_eq!(ok.auth_warning, None, "{what}");
                }
            }
            // The harness's fix-ups (IP header, checksum, AH ICV, hmac)
            // recompute what a real sender wrote: a no-op on a real advert.
            match p {
                SeedPacket::V4(d) => {
                    let mut f = d.clone();
                    endpoint::fixup_v4(&mut f, seeds::FIX_ALL, unicast);
                    assert_eq!(&f, d, "{what}: fix-ups change a real datagram");
                }
                SeedPacket::V6 {
                    src, dst, payload, ..
                } => {
                    let mut f = payload.clone();
                    endpoint::fixup_payload(&mut f, seeds::FIX_ALL, (*src).into(), (*dst).into());
                    assert_eq!(&f, payload, "{what}: fix-ups change a real payload");
                }
            }
            *kinds.entry(group.name).or_insert(0) += 1;
        }
    }
    for (c, _) in seeds::CAPTURES {
        assert!(kinds.contains_key(c), "no seed for {c}");
    }
    assert!(kinds.contains_key("hmac-v4") && kinds.contains_key("hmac-v6"));
}

#[test]
fn fuzz_endpoint_seeds_reach_auth_replay_and_the_state_machine() {
    let mut total = endpoint::Stats::default();
    for (_, data) in seeds::build() {
        total.add(&endpoint::run(&data));
    }
    for g in [
        "v2-pass-mc",
        "v2-ah-mc",
        "v2-ah-uni",
        "v3-mc-4",
        "v3-uni-4",
        "v3-mc-6",
        "v3-uni-6",
        "hmac-v4",
        "hmac-v6",
    ] {
        assert!(
            total.accepted.get(g).copied().unwrap_or(0) > 0,
            "nothing accepted by {g}: {total:?}"
        );
    }
    for d in [
        "hmac_replay",
        "hmac_unknown_key",
        "hmac_stale",
        "hmac_missing",
        "carp",
    ] {
        assert!(total.drops.contains_key(d), "no {d} drop: {total:?}");
    }
    for s in ["backup", "master"] {
        assert!(total.transitions.contains_key(s), "never {s}: {total:?}");
    }
    assert!(total.sent > 0);
}

#[test]
fn fuzz_roundtrip_and_bfd_seeds_parse() {
    for (name, s) in roundtrip_seeds() {
        roundtrip::run(&s);
        if name == "value" {
            continue;
        }
        let ok = match s[0] {
            1 => vrrpd::proto::receive::RxPacket::from_ipv4_datagram(&s[1..]).is_ok(),
            _ => s.len() > 33,
        };
        assert!(ok, "roundtrip seed {name}");
    }
    for (name, s) in bfd_seeds() {
        assert!(ControlPacket::parse(&s[7..31]).is_ok(), "bfd seed {name}");
        let (sent, events, _) = bfd::run(&s);
        assert!(sent > 0, "{name}");
        if name == "peer-up-then-silent" {
            assert!(events >= 2, "{name}: up then down, got {events} events");
        }
    }
}

/// `fuzz/coverage.sh endpoint` runs this: the corpus through the harness,
/// with how often each `DropReason` came back (and which never did).
#[test]
#[ignore = "needs a fuzz corpus: VRRPD_FUZZ_CORPUS=fuzz/corpus/endpoint"]
fn fuzz_corpus_report() {
    let dir = std::env::var_os("VRRPD_FUZZ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest().join("fuzz/corpus/endpoint"));
    let mut total = endpoint::Stats::default();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
        total.add(&endpoint::run(&std::fs::read(e.path()).unwrap()));
        n += 1;
    }
    println!("{n} inputs from {}", dir.display());
    println!("accepted per group: {:?}", total.accepted);
    println!("announcement rounds: {}", total.announcements);
    println!(
        "transitions: {:?}; adverts sent: {}",
        total.transitions, total.sent
    );
    for r in vrrpd::proto::receive::DropReason::ALL {
        let c = total.drops.get(r.label()).copied().unwrap_or(0);
        println!(
            "  {:<24} {c}{}",
            r.label(),
            if c == 0 { "   <- never" } else { "" }
        );
    }
}
