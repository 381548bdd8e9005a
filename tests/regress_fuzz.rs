//! Every input the fuzz targets (`fuzz/fuzz_targets/*`) ever flagged, kept in
//! `tests/fixtures/fuzz-regress/<target>/`, run through the same code as its
//! target: no panic, and each input done within a time bound.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use vrrpd::config::{UnknownHost, load, render_seeded};
use vrrpd::convert::{convert_file, write};
use vrrpd::proto::auth::{AntiReplay, AuthConfig, HmacConfig, HmacMode, password_bytes};
use vrrpd::proto::packet::Advert;
use vrrpd::proto::receive::{RxPacket, RxPolicy, RxValidator, peek_vrid};
use vrrpd::proto::{Family, Version};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz-regress")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn scratch(tag: &str, i: usize) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vrrpd-regress-fuzz-{tag}-{}-{i}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `f` on a thread; fail if it panics or takes longer than 10 s.
fn bounded(what: String, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no result within 10 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

#[test]
fn regress_fuzz_config_load_inputs() {
    for (i, input) in inputs("config_load").into_iter().enumerate() {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || {
            let dir = scratch("config", i);
            std::fs::create_dir_all(dir.join("groups.d")).unwrap();
            std::fs::write(dir.join("groups.d/fuzz.toml"), &data).unwrap();
            let env: HashMap<String, String> =
                HashMap::from([("VRID".to_string(), "51".to_string())]);
            if let Ok(l) = load(&dir, &env, &UnknownHost) {
                let _ = render_seeded(&l.config);
            }
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}

#[test]
fn regress_fuzz_convert_keepalived_inputs() {
    for (i, input) in inputs("convert_keepalived").into_iter().enumerate() {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || {
            let dir = scratch("convert", i);
            let conf = dir.join("keepalived.conf");
            std::fs::write(&conf, &data).unwrap();
            if let Ok(conv) = convert_file(&conf)
                && write(&conv, &dir.join("out")).is_ok()
            {
                let _ = load(
                    &dir.join("out"),
                    &HashMap::<String, String>::new(),
                    &UnknownHost,
                );
            }
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}

#[test]
fn regress_fuzz_packet_parse_inputs() {
    for input in inputs("packet_parse") {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || {
            let [sel, ttl, rest @ ..] = data.as_slice() else {
                return;
            };
            let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
            let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
            let auths = [
                AuthConfig::None,
                AuthConfig::Pass {
                    password: password_bytes(b"secret12"),
                },
                AuthConfig::Ah {
                    key: password_bytes(b"secret12"),
                },
                AuthConfig::Hmac(HmacConfig {
                    keys: vec![(1, vec![7; 32])],
                    active_key: 1,
                    anti_replay: AntiReplay::Monotonic,
                    time_window: Duration::from_secs(5),
                    mode: HmacMode::Enforce,
                }),
            ];
            let _ = Advert::parse(rest, src, dst);
            for auth in auths {
                for version in [Version::V2, Version::V3] {
                    let mut v = RxValidator::new(RxPolicy {
                        version,
                        family: Family::V4,
                        vrid: peek_vrid(112, rest).unwrap_or(51),
                        min_ttl: 1,
                        unicast_peers: if sel & 0x20 != 0 { vec![src] } else { vec![] },
                        v2_interval_cs: 100,
                        auth: auth.clone(),
                        expected_addresses: None,
                    });
                    let now = Duration::from_secs(1_750_000_000);
                    if let Ok(pkt) = RxPacket::from_ipv4_datagram(rest) {
                        let _ = v.validate(&pkt, now);
                        let _ = v.validate(&pkt, now);
                    }
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
                }
            }
        });
    }
}
