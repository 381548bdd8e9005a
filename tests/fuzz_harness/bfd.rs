//! The `bfd` fuzz target's harness (shared with `cargo test` like
//! `endpoint.rs`): BFD Control packets through `Sessions` as the daemon
//! feeds them (`src/daemon/bfd.rs`): GTSM, parse, demultiplex, the session
//! state machine, transmit, detection timers on virtual time.
//!
//! Input: one seed byte (discriminators and jitter), then records `[op,
//! src_sel, delta_ms u16 LE, ttl, len]` + `len` bytes. `op & 7`: 0..=5 a
//! datagram from the peer `src_sel` picks (3: a stranger); `op & 8`:
//! write the session's own discriminator into Your Discriminator, so the
//! fuzzer gets past demultiplexing; 6: reconfigure every session with the
//! intervals of the next two bytes; 7: admin down every session.
//!
//! Checked: parse, emit, parse gives the same value, and the same 24 bytes
//! when the length field says 24; what we transmit parses; after the
//! timers ran and transmits were drained, the next deadline is in the future.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrpd::proto::Time;
use vrrpd::proto::bfd::{ControlPacket, SessionConfig, SessionKey, Sessions};

fn keys() -> [SessionKey; 3] {
    [
        SessionKey {
            ifindex: 1,
            peer: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        },
        SessionKey {
            ifindex: 1,
            peer: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        },
        SessionKey {
            ifindex: 2,
            peer: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        },
    ]
}

fn wanted(a: u8, b: u8) -> BTreeMap<SessionKey, SessionConfig> {
    let ms = |x: u8| Duration::from_millis(u64::from(x.max(1)) * 10);
    keys()
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k,
                SessionConfig {
                    desired_min_tx: ms(a.wrapping_add(i as u8)),
                    required_min_rx: ms(b),
                    detect_mult: 3,
                },
            )
        })
        .collect()
}

/// Round trip of one packet's bytes (RFC 5880 §4.1 layout).
pub fn packet_round_trip(b: &[u8]) {
    let Ok(p) = ControlPacket::parse(b) else {
        return;
    };
    let e = p.emit();
    assert_eq!(ControlPacket::parse(&e), Ok(p), "parse after emit");
    if b[3] == 24 {
        assert_eq!(&e[..], &b[..24], "emitted bytes");
    }
}

pub struct Harness {
    s: Sessions,
    now: Time,
    pub sent: u64,
    pub events: u64,
}

impl Harness {
    fn settle(&mut self) {
        let mut n = 0;
        while let Some((_, bytes)) = self.s.poll_transmit(self.now) {
            ControlPacket::parse(&bytes).expect("what we send parses");
            self.sent += 1;
            n += 1;
            assert!(n < 64, "transmits do not drain");
        }
        while self.s.poll_event().is_some() {
            self.events += 1;
        }
    }

    fn advance(&mut self, target: Time) {
        let mut steps = 0;
        while let Some(t) = self.s.poll_timeout() {
            if t > target {
                break;
            }
            steps += 1;
            self.now = if steps > 256 { target } else { self.now.max(t) };
            self.s.handle_timeout(self.now);
            self.settle();
            if let Some(next) = self.s.poll_timeout() {
                assert!(
                    next > self.now,
                    "deadline {next:?} not after {:?}",
                    self.now
                );
            }
            assert!(steps < 1000, "timers did not settle");
        }
        self.now = self.now.max(target);
    }
}

pub fn run(data: &[u8]) -> (u64, u64, BTreeMap<&'static str, u64>) {
    let Some((&seed, mut rest)) = data.split_first() else {
        return (0, 0, BTreeMap::new());
    };
    let mut h = Harness {
        s: Sessions::new(u64::from(seed)),
        now: Duration::from_secs(1),
        sent: 0,
        events: 0,
    };
    let now = h.now;
    h.s.sync(now, &wanted(1, 1));
    h.settle();
    let stranger = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    let mut records = 0;
    while rest.len() >= 6 && records < 512 {
        records += 1;
        let (op, sel, delta, ttl, len) = (
            rest[0],
            rest[1],
            u16::from_le_bytes([rest[2], rest[3]]),
            rest[4],
            usize::from(rest[5]),
        );
        rest = &rest[6..];
        let len = len.min(rest.len());
        let mut bytes = rest[..len].to_vec();
        rest = &rest[len..];
        let target = h.now + Duration::from_millis(u64::from(delta));
        h.advance(target);
        match op & 7 {
            0..=5 => {
                let key = keys().get(usize::from(sel % 4)).copied();
                let (ifindex, src) = key.map_or((1, stranger), |k| (k.ifindex, k.peer));
                if op & 8 != 0
                    && bytes.len() >= 12
                    && let Some(s) = key.and_then(|k| h.s.get(&k))
                {
                    bytes[8..12].copy_from_slice(&s.local_discr().to_be_bytes());
                }
                packet_round_trip(&bytes);
                let now = h.now;
                let _ = h.s.handle_datagram(now, ifindex, src, ttl, &bytes);
                h.settle();
            }
            6 => {
                let now = h.now;
                h.s.sync(
                    now,
                    &wanted(
                        bytes.first().copied().unwrap_or(1),
                        bytes.get(1).copied().unwrap_or(1),
                    ),
                );
                h.settle();
            }
            _ => {
                let now = h.now;
                h.s.admin_down_all(now);
                h.settle();
            }
        }
    }
    let end = h.now + Duration::from_secs(5);
    h.advance(end);
    (h.sent, h.events, h.s.drops().clone())
}

/// A record for seeds: a datagram from peer `sel` (see [`run`]).
pub fn record(op: u8, sel: u8, delta_ms: u16, ttl: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![op, sel];
    v.extend_from_slice(&delta_ms.to_le_bytes());
    v.push(ttl);
    v.push(bytes.len() as u8);
    v.extend_from_slice(bytes);
    v
}
