//! Micro-benchmarks of the packet hot path: parse + verify of one received
//! advert through `RxValidator` (no auth, PASS, AH, hmac) and encoding one
//! advert (`TxEncoder::encode`). `cargo bench --bench packet`.
//! Target (issue 7): parse + verify of an unauthenticated advert < 100 ns.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vrrpd::proto::auth::{AntiReplay, AuthConfig, HmacConfig, HmacMode};
use vrrpd::proto::receive::{RxPacket, RxPolicy, RxValidator};
use vrrpd::proto::transmit::{TxConfig, TxEncoder};
use vrrpd::proto::wire::vrrp::ChecksumForm;
use vrrpd::proto::{Family, Version};

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const WALL: Duration = Duration::from_secs(1_800_000_000);

struct Case {
    name: &'static str,
    version: Version,
    auth: AuthConfig,
}

fn cases() -> Vec<Case> {
    let pw = *b"secret12";
    vec![
        Case {
            name: "none_v3",
            version: Version::V3,
            auth: AuthConfig::None,
        },
        Case {
            name: "pass_v2",
            version: Version::V2,
            auth: AuthConfig::Pass { password: pw },
        },
        Case {
            name: "ah_v2",
            version: Version::V2,
            auth: AuthConfig::Ah { key: pw },
        },
        Case {
            name: "hmac_v3",
            version: Version::V3,
            auth: AuthConfig::Hmac(HmacConfig {
                keys: vec![(1, (0u8..32).collect())],
                active_key: 1,
                anti_replay: AntiReplay::Time,
                time_window: Duration::from_secs(5),
                mode: HmacMode::Enforce,
            }),
        },
    ]
}

fn tx(c: &Case) -> TxEncoder {
    TxEncoder::new(TxConfig {
        version: c.version,
        family: Family::V4,
        vrid: 51,
        interval_cs: 100,
        addresses: vec![VIP],
        auth: c.auth.clone(),
        checksum: ChecksumForm::PseudoHeader,
        source: SRC,
        unicast_peers: vec![DST],
    })
    .expect("encoder")
}

fn rx(c: &Case) -> RxValidator {
    RxValidator::new(RxPolicy {
        version: c.version,
        family: Family::V4,
        vrid: 51,
        min_ttl: 1,
        unicast_peers: vec![SRC],
        v2_interval_cs: 100,
        auth: c.auth.clone(),
        expected_addresses: None,
    })
}

fn bench(cr: &mut Criterion) {
    for c in cases() {
        let mut enc = tx(&c);
        let mut wire = Vec::new();
        enc.encode(150, DST, 1, WALL, &mut wire).expect("encode");
        let pkt = RxPacket::from_ipv4_datagram(&wire).expect("datagram");
        let v = rx(&c);
        // Sanity: the packet is accepted.
        v.clone().validate(&pkt, WALL).expect("valid advert");
        if matches!(c.auth, AuthConfig::None | AuthConfig::Pass { .. }) {
            // No replay state: validate the same packet again and again.
            let mut v = v.clone();
            cr.bench_function(&format!("rx_validate/{}", c.name), |b| {
                b.iter(|| black_box(v.validate(black_box(&pkt), WALL)).is_ok())
            });
        } else {
            // Replay state moves on acceptance: a fresh validator per packet.
            cr.bench_function(&format!("rx_validate/{}", c.name), |b| {
                b.iter_batched_ref(
                    || v.clone(),
                    |v| black_box(v.validate(black_box(&pkt), WALL)).is_ok(),
                    BatchSize::SmallInput,
                )
            });
        }
        let mut out = Vec::with_capacity(256);
        let mut id = 0u16;
        cr.bench_function(&format!("tx_encode/{}", c.name), |b| {
            b.iter(|| {
                id = id.wrapping_add(1);
                enc.encode(black_box(150), DST, id, WALL, &mut out)
                    .expect("encode");
                black_box(out.len())
            })
        });
    }
    // The whole receive path from a raw IPv4 datagram (as the socket hands
    // it over): IP header parse + validate.
    let c = &cases()[0];
    let mut wire = Vec::new();
    tx(c).encode(150, DST, 1, WALL, &mut wire).expect("encode");
    let mut v = rx(c);
    cr.bench_function("rx_datagram_parse_validate/none_v3", |b| {
        b.iter(|| {
            let pkt = RxPacket::from_ipv4_datagram(black_box(&wire)).expect("datagram");
            black_box(v.validate(&pkt, WALL)).is_ok()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
