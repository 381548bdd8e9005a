//! Golden packets: every VRRP / AH packet in the keepalived 2.2.7 captures is
//! decoded, checksum- and ICV-verified, checked against the .conf that
//! produced it, accepted by the receive pipeline, and re-encoded
//! byte-identically by `TxEncoder` (IPv4: the whole datagram incl. the IP
//! header and AH; IPv6: the VRRP payload).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use vrrpd::proto::auth::{AhSequence, AuthConfig, ah_icv, password_bytes};
use vrrpd::proto::receive::{RxPacket, RxPolicy, RxValidator, peek_vrid};
use vrrpd::proto::transmit::{TxConfig, TxEncoder};
use vrrpd::proto::wire::ah::{AH_LEN, AhHeader, AhPacket};
use vrrpd::proto::wire::ipv4::Ipv4Packet;
use vrrpd::proto::wire::ipv6::Ipv6Packet;
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpPacket, VrrpRepr};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};
use vrrpd::proto::{Family, Version};

const SECRET: &[u8] = b"secret12";

/// Classic pcap (little or big endian, µs or ns), returns the frames.
fn read_pcap(data: &[u8]) -> (u32, Vec<Vec<u8>>) {
    assert!(data.len() >= 24, "pcap too short");
    let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        m if m.swap_bytes() == 0xa1b2c3d4 || m.swap_bytes() == 0xa1b23c4d => false,
        m => panic!("not a classic pcap: magic {m:#x}"),
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = data[o..o + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = u32_at(20);
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32_at(off + 8) as usize;
        let start = off + 16;
        assert!(start + incl <= data.len(), "truncated pcap record at {off}");
        frames.push(data[start..start + incl].to_vec());
        off = start + incl;
    }
    assert_eq!(off, data.len(), "trailing bytes in pcap");
    (linktype, frames)
}

struct Capture {
    name: &'static str,
    version: Version,
    family: Family,
    auth: &'static str,
    unicast: bool,
    interval_cs: u16,
}

const CAPTURES: &[Capture] = &[
    Capture {
        name: "v2-pass-mc",
        version: Version::V2,
        family: Family::V4,
        auth: "pass",
        unicast: false,
        interval_cs: 100,
    },
    Capture {
        name: "v2-ah-mc",
        version: Version::V2,
        family: Family::V4,
        auth: "ah",
        unicast: false,
        interval_cs: 100,
    },
    Capture {
        name: "v2-ah-uni",
        version: Version::V2,
        family: Family::V4,
        auth: "ah",
        unicast: true,
        interval_cs: 100,
    },
    Capture {
        name: "v3-mc-4",
        version: Version::V3,
        family: Family::V4,
        auth: "none",
        unicast: false,
        interval_cs: 50,
    },
    Capture {
        name: "v3-uni-4",
        version: Version::V3,
        family: Family::V4,
        auth: "none",
        unicast: true,
        interval_cs: 50,
    },
    Capture {
        name: "v3-mc-6",
        version: Version::V3,
        family: Family::V6,
        auth: "none",
        unicast: false,
        interval_cs: 50,
    },
    Capture {
        name: "v3-uni-6",
        version: Version::V3,
        family: Family::V6,
        auth: "none",
        unicast: true,
        interval_cs: 50,
    },
];

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keepalived-2.2.7")
        .join(name)
}

/// Facts read from the .conf files (not hard-coded): vrid, priority, VIPs,
/// auth type/pass, unicast peer.
#[derive(Debug)]
struct Conf {
    vrid: u8,
    priority: u8,
    vips: Vec<IpAddr>,
    auth_type: Option<String>,
    auth_pass: Option<String>,
    version: u8,
}

fn read_conf(path: &PathBuf) -> Conf {
    let text = std::fs::read_to_string(path).unwrap();
    let mut c = Conf {
        vrid: 0,
        priority: 0,
        vips: vec![],
        auth_type: None,
        auth_pass: None,
        version: 2,
    };
    let mut in_vips = false;
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let (Some(k), v) = (words.next(), words.next()) else {
            continue;
        };
        if in_vips {
            if k == "}" {
                in_vips = false;
            } else {
                c.vips.push(k.split('/').next().unwrap().parse().unwrap());
            }
            continue;
        }
        match (k, v) {
            ("virtual_router_id", Some(v)) => c.vrid = v.parse().unwrap(),
            ("priority", Some(v)) => c.priority = v.parse().unwrap(),
            ("auth_type", Some(v)) => c.auth_type = Some(v.to_string()),
            ("auth_pass", Some(v)) => c.auth_pass = Some(v.to_string()),
            ("vrrp_version", Some(v)) => c.version = v.parse().unwrap(),
            ("virtual_ipaddress", _) => in_vips = true,
            _ => {}
        }
    }
    c
}

#[derive(Default, Debug)]
struct Tally {
    packets: usize,
    ah: usize,
    forms: BTreeMap<String, usize>,
}

fn check_capture(cap: &Capture) -> Tally {
    let dir = fixture_dir(cap.name);
    let conf_a = read_conf(&dir.join("a.conf"));
    let conf_b = read_conf(&dir.join("b.conf"));
    assert_eq!(conf_a.version, cap.version.number());
    assert_eq!(conf_a.vips, conf_b.vips);
    let (linktype, frames) = read_pcap(&std::fs::read(dir.join("adverts.pcap")).unwrap());
    assert_eq!(linktype, 1, "Ethernet link type");

    let auth_cfg = match cap.auth {
        "pass" => AuthConfig::Pass {
            password: password_bytes(conf_a.auth_pass.as_deref().unwrap().as_bytes()),
        },
        "ah" => AuthConfig::Ah {
            key: password_bytes(conf_a.auth_pass.as_deref().unwrap().as_bytes()),
        },
        _ => AuthConfig::None,
    };
    assert_eq!(
        conf_a
            .auth_type
            .as_deref()
            .map(str::to_lowercase)
            .as_deref(),
        match cap.auth {
            "none" => None,
            a => Some(a),
        }
    );
    // An observer that accepts what both nodes send (peers = both nodes).
    let mut observer: Option<RxValidator> = None;
    let mut tally = Tally::default();

    for frame in &frames {
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let node_a = frame[6..12] == [2, 0, 0, 0, 0, 1];
        let conf = if node_a { &conf_a } else { &conf_b };
        let (src, dst, ttl, protocol, ipv4_header, payload): (
            IpAddr,
            IpAddr,
            u8,
            u8,
            Option<&[u8]>,
            &[u8],
        ) = match ethertype {
            0x0800 => {
                let d = Ipv4Packet::new_checked(&frame[14..]).expect("IPv4 header");
                if d.protocol() != IPPROTO_VRRP && d.protocol() != IPPROTO_AH {
                    continue;
                }
                assert_eq!(d.tos(), 0xc0, "keepalived sends TOS 0xc0");
                assert_eq!(d.ttl(), 255, "keepalived sends IPv4 TTL 255");
                assert_eq!(d.flags_frag(), 0, "DF off");
                (
                    d.src_addr().into(),
                    d.dst_addr().into(),
                    d.ttl(),
                    d.protocol(),
                    Some(d.header()),
                    d.payload(),
                )
            }
            0x86dd => {
                let ip6 = Ipv6Packet::new_checked(&frame[14..]).expect("IPv6 header");
                if ip6.next_header() != IPPROTO_VRRP {
                    continue;
                }
                assert_eq!(ip6.traffic_class(), 0xc0, "traffic class 0xc0");
                (
                    ip6.src_addr().into(),
                    ip6.dst_addr().into(),
                    ip6.hop_limit(),
                    IPPROTO_VRRP,
                    None,
                    ip6.payload(),
                )
            }
            _ => continue,
        };
        tally.packets += 1;
        let family = Family::of(&src);
        assert_eq!(family, cap.family);
        // Destination: the multicast group, or the other node.
        match (cap.unicast, dst) {
            (false, IpAddr::V4(d)) => assert_eq!(d, VRRP_MCAST_V4),
            (false, IpAddr::V6(d)) => assert_eq!(d, VRRP_MCAST_V6),
            (true, d) => assert_ne!(d, src),
        }
        if !cap.unicast || cap.family == Family::V4 {
            assert_eq!(ttl, 255, "hop limit 255 except IPv6 unicast");
        } else {
            assert_eq!(ttl, 64, "keepalived leaves IPv6 unicast at hop limit 64");
        }

        // AH: header fields and ICV.
        let (ah, vrrp) = if protocol == IPPROTO_AH {
            tally.ah += 1;
            let ah = AhHeader::parse(payload).expect("AH header");
            let view = AhPacket::new_checked(payload).expect("AH view");
            assert_eq!((view.spi(), view.seq()), (ah.spi, ah.seq));
            assert_eq!(ah.to_bytes()[..], payload[..AH_LEN], "AH re-encodes");
            let IpAddr::V4(s4) = src else {
                panic!("AH over IPv6")
            };
            assert_eq!(ah.spi, u32::from(s4), "SPI = source address");
            assert_eq!(ah.reserved, 0);
            let icv = ah_icv(
                &password_bytes(SECRET),
                ipv4_header.unwrap(),
                &ah,
                &payload[AH_LEN..],
                cap.unicast,
            );
            assert_eq!(icv, ah.icv, "{}: AH ICV seq {}", cap.name, ah.seq);
            // The TTL rule matters: the other choice must not verify.
            let wrong = ah_icv(
                &password_bytes(SECRET),
                ipv4_header.unwrap(),
                &ah,
                &payload[AH_LEN..],
                !cap.unicast,
            );
            assert_ne!(wrong, ah.icv, "TTL zeroing is exactly 'unicast only'");
            (Some(ah), &payload[AH_LEN..])
        } else {
            assert_ne!(cap.auth, "ah", "AH group sent plain VRRP");
            (None, payload)
        };
        assert_eq!(peek_vrid(protocol, payload), Some(conf.vrid));

        let (view, checksum) = VrrpPacket::new_verified(vrrp, src, dst)
            .unwrap_or_else(|e| panic!("{}: {e}", cap.name));
        assert!(view.trailer().is_empty());
        let adv = &VrrpRepr::parse(&view).unwrap_or_else(|e| panic!("{}: {e}", cap.name));
        assert_eq!(view.addresses().collect::<Vec<_>>(), adv.addresses);
        *tally.forms.entry(format!("{checksum:?}")).or_default() += 1;
        assert_eq!(adv.version, cap.version);
        assert_eq!(adv.vrid, conf.vrid);
        assert!(
            adv.priority == conf.priority || adv.priority == 0,
            "prio {} vs conf {}",
            adv.priority,
            conf.priority
        );
        assert_eq!(adv.addresses, conf.vips);
        assert_eq!(adv.interval_cs, cap.interval_cs);
        match cap.auth {
            "pass" => {
                assert_eq!(adv.auth_type, 1);
                assert_eq!(&adv.auth_data, SECRET);
            }
            "ah" => {
                assert_eq!(adv.auth_type, 2);
                assert_eq!(adv.auth_data, [0; 8]);
            }
            _ => assert_eq!(adv.auth_type, 0),
        }

        // Byte-identical re-encoding with the VRRP codec alone.
        let mut re = Vec::new();
        adv.append_checksummed(src, dst, checksum, &mut re).unwrap();
        assert_eq!(re, vrrp, "{}: VRRP re-encode", cap.name);

        // And with the transmit encoder: the whole datagram (IPv4) / payload (IPv6).
        let peers = if cap.unicast { vec![dst] } else { vec![] };
        let mut tx = TxEncoder::new(TxConfig {
            version: cap.version,
            family,
            vrid: conf.vrid,
            interval_cs: cap.interval_cs,
            addresses: conf.vips.clone(),
            auth: auth_cfg.clone(),
            checksum,
            source: src,
            unicast_peers: peers.clone(),
        })
        .unwrap();
        assert_eq!(
            tx.destinations(),
            if cap.unicast { peers } else { vec![dst] }
        );
        if let Some(ah) = &ah {
            tx.continue_ah_from(AhSequence { last: ah.seq - 1 });
        }
        let ip_id = ipv4_header.map_or(0, |h| u16::from_be_bytes([h[4], h[5]]));
        let mut out = Vec::new();
        tx.encode(adv.priority, dst, ip_id, Duration::ZERO, &mut out)
            .unwrap();
        let expect: &[u8] = match family {
            Family::V4 => &frame[14..14 + 20 + payload.len()],
            Family::V6 => payload,
        };
        assert_eq!(out, expect, "{}: TxEncoder re-encode", cap.name);
        assert_eq!(out.len(), tx.wire_len());

        // The whole receive pipeline accepts it.
        let v = observer.get_or_insert_with(|| {
            RxValidator::new(RxPolicy {
                version: cap.version,
                family,
                vrid: conf.vrid,
                min_ttl: 1,
                unicast_peers: vec![],
                v2_interval_cs: cap.interval_cs,
                auth: auth_cfg.clone(),
                expected_addresses: Some(conf.vips.clone()),
            })
        });
        let rx = RxPacket {
            src,
            dst,
            ttl,
            protocol,
            ipv4_header,
            payload,
        };
        // Unicast captures: judge as the receiving node would (its peer = src).
        let ok = if cap.unicast {
            let mut node = RxValidator::new(RxPolicy {
                unicast_peers: vec![src],
                ..v.policy().clone()
            });
            node.validate(&rx, Duration::ZERO)
        } else {
            v.validate(&rx, Duration::ZERO)
        }
        .unwrap_or_else(|r| panic!("{}: receive pipeline dropped: {r:?}", cap.name));
        assert_eq!(ok.priority, adv.priority);
        assert_eq!(ok.checksum, checksum);
    }
    // Cross-check the count with tcpdump's own decode.
    let txt = std::fs::read_to_string(dir.join("adverts.txt")).unwrap();
    let expected = txt.lines().filter(|l| l.contains("VRRPv")).count();
    assert_eq!(
        tally.packets, expected,
        "{}: every VRRP packet in adverts.txt checked",
        cap.name
    );
    tally
}

#[test]
fn golden_keepalived_2_2_7_every_advert_decodes_verifies_and_reencodes() {
    let mut summary = Vec::new();
    for cap in CAPTURES {
        let t = check_capture(cap);
        assert!(t.packets > 0, "{}: no VRRP packets checked", cap.name);
        if cap.auth == "ah" {
            assert_eq!(t.ah, t.packets, "{}: every packet carries AH", cap.name);
        }
        summary.push(format!(
            "{}: {} packets ({} AH), checksum forms {:?}",
            cap.name, t.packets, t.ah, t.forms
        ));
    }
    eprintln!("{}", summary.join("\n"));
}

#[test]
fn golden_keepalived_2_2_7_v3_ipv4_uses_pseudo_header_checksum() {
    for name in ["v3-mc-4", "v3-uni-4"] {
        let cap = CAPTURES.iter().find(|c| c.name == name).unwrap();
        let t = check_capture(cap);
        assert_eq!(
            t.forms.get("PseudoHeader"),
            Some(&t.packets),
            "{name}: {:?}",
            t.forms
        );
    }
}

#[test]
fn golden_ah_new_master_continues_sequence_from_last_received() {
    // In v2-ah-mc node a sends seq 1..=5, then node b takes over with seq 6.
    let dir = fixture_dir("v2-ah-mc");
    let (_, frames) = read_pcap(&std::fs::read(dir.join("adverts.pcap")).unwrap());
    let mut seqs = Vec::new();
    for f in frames.iter().filter(|f| f[12..14] == [8, 0]) {
        let d = Ipv4Packet::new_checked(&f[14..]).unwrap();
        if d.protocol() == IPPROTO_AH {
            seqs.push((d.src_addr(), AhHeader::parse(d.payload()).unwrap().seq));
        }
    }
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let last_a = seqs
        .iter()
        .filter(|(s, _)| *s == a)
        .map(|(_, q)| *q)
        .max()
        .unwrap();
    let first_b = seqs.iter().find(|(s, _)| *s != a).map(|(_, q)| *q).unwrap();
    assert_eq!(first_b, last_a + 1);
    // Sequence numbers are strictly increasing over the whole capture.
    assert!(seqs.windows(2).all(|w| w[1].1 > w[0].1));
    // A validator that accepted a's adverts hands its sequence to the
    // transmitter of b, which then reproduces b's first advert byte for byte.
    let mut rx = RxValidator::new(RxPolicy {
        version: Version::V2,
        family: Family::V4,
        vrid: 51,
        min_ttl: 255,
        unicast_peers: vec![],
        v2_interval_cs: 100,
        auth: AuthConfig::Ah {
            key: password_bytes(SECRET),
        },
        expected_addresses: None,
    });
    let mut b_first = None;
    for f in frames.iter().filter(|f| f[12..14] == [8, 0]) {
        let pkt = RxPacket::from_ipv4_datagram(&f[14..]).unwrap();
        if pkt.src == IpAddr::V4(a) {
            rx.validate(&pkt, Duration::ZERO).unwrap();
        } else if b_first.is_none() && pkt.protocol == IPPROTO_AH {
            b_first = Some(f[14..].to_vec());
        }
    }
    assert_eq!(rx.ah_sequence().last, last_a);
    let b_first = b_first.unwrap();
    let b = Ipv4Addr::new(192, 0, 2, 2);
    let mut tx = TxEncoder::new(TxConfig {
        version: Version::V2,
        family: Family::V4,
        vrid: 51,
        interval_cs: 100,
        addresses: vec![
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)),
        ],
        auth: AuthConfig::Ah {
            key: password_bytes(SECRET),
        },
        checksum: ChecksumForm::Message,
        source: IpAddr::V4(b),
        unicast_peers: vec![],
    })
    .unwrap();
    tx.continue_ah_from(rx.ah_sequence());
    let mut out = Vec::new();
    tx.encode(100, IpAddr::V4(VRRP_MCAST_V4), 1, Duration::ZERO, &mut out)
        .unwrap();
    assert_eq!(out, b_first);
    // A replay of a's last advert is now refused.
    let last_a_frame = frames
        .iter()
        .rfind(|f| f[12..14] == [8, 0] && f[14 + 12..14 + 16] == a.octets())
        .unwrap();
    let pkt = RxPacket::from_ipv4_datagram(&last_a_frame[14..]).unwrap();
    assert_eq!(
        rx.validate(&pkt, Duration::ZERO),
        Err(vrrpd::proto::receive::DropReason::AhReplay)
    );
}
