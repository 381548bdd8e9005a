//! Fuzz the whole receive pipeline: IPv4 datagram view, AH, VRRP codec,
//! PASS / AH / hmac (every anti-replay and mode) through `RxValidator`.
//!
//! Run (needs nightly and cargo-fuzz: `cargo install cargo-fuzz`):
//!
//! ```sh
//! cd fuzz
//! cargo +nightly fuzz run packet_parse                # until stopped
//! cargo +nightly fuzz run packet_parse -- -max_total_time=60
//! ```
//!
//! The first input byte picks the auth mode and the address family, the
//! second the TTL; the rest is the packet (a whole IPv4 datagram when it
//! parses as one, and also fed as a bare payload with fixed addresses).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vrrpd::proto::auth::{AntiReplay, AuthConfig, HmacConfig, HmacMode, password_bytes};
use vrrpd::proto::packet::Advert;
use vrrpd::proto::receive::{RxPacket, RxPolicy, RxValidator, peek_vrid};
use vrrpd::proto::{Family, Version};

fn auth(sel: u8) -> AuthConfig {
    let hmac = |anti_replay, mode| {
        AuthConfig::Hmac(HmacConfig {
            keys: vec![(1, vec![7; 32]), (2, b"short".to_vec())],
            active_key: 1,
            anti_replay,
            time_window: Duration::from_secs(5),
            mode,
        })
    };
    match sel % 8 {
        0 => AuthConfig::None,
        1 => AuthConfig::Pass {
            password: password_bytes(b"secret12"),
        },
        2 => AuthConfig::Ah {
            key: password_bytes(b"secret12"),
        },
        3 => hmac(AntiReplay::Time, HmacMode::Enforce),
        4 => hmac(AntiReplay::Monotonic, HmacMode::Enforce),
        5 => hmac(AntiReplay::Monotonic, HmacMode::Permissive),
        6 => hmac(AntiReplay::Time, HmacMode::ReceiveOnly),
        _ => hmac(AntiReplay::Monotonic, HmacMode::ReceiveOnly),
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, ttl, rest @ ..] = data else { return };
    let v6 = sel & 0x80 != 0;
    let (family, src, dst) = if v6 {
        (
            Family::V6,
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        )
    } else {
        (
            Family::V4,
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        )
    };
    let version = if sel & 0x40 != 0 {
        Version::V3
    } else {
        Version::V2
    };
    let unicast = sel & 0x20 != 0;
    let mut v = RxValidator::new(RxPolicy {
        version,
        family,
        vrid: peek_vrid(112, rest).unwrap_or(51),
        min_ttl: 1,
        unicast_peers: if unicast { vec![src] } else { vec![] },
        v2_interval_cs: 100,
        auth: auth(*sel),
        expected_addresses: None,
    });
    let now = Duration::from_secs(1_750_000_000);
    let _ = Advert::parse(rest, src, dst);
    for protocol in [112, 51] {
        let pkt = RxPacket {
            src,
            dst,
            ttl: *ttl,
            protocol,
            ipv4_header: rest.get(..20),
            payload: rest,
        };
        let _ = v.validate(&pkt, now);
    }
    if let Ok(pkt) = RxPacket::from_ipv4_datagram(rest) {
        let _ = v.validate(&pkt, now);
        let _ = v.validate(&pkt, now); // replay path
    }
});
