//! Hostile packets against a running pair (issue 8): a packet injector in a
//! third namespace on the LAN forges raw IPv4 datagrams (IP_HDRINCL: any
//! source, any TTL) and floods the master `a` (150) and the backup `b` (100)
//! at a bounded rate (2000 packets/s for 3 s) with every kind of bad advert.
//!
//! Asserted for every flood: no state change on either node and `a` keeps
//! the VIPs; the master's adverts keep their interval (captured by a raw
//! listener in `b`'s namespace); each kind is counted under its reason in
//! `vrrpd status --json` (counters.dropped) and in /metrics; "dropped advert"
//! log lines stay bounded (one per group and reason per 10 s); VmRSS stays
//! flat (< +2 MB).
//!
//! Only the test's namespaces and documentation addresses are used; every
//! loop is bounded in count and time.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netns_tests::*;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vrrpd::proto::auth::{AntiReplay, HmacConfig, HmacMode, HmacSender, ah_icv, password_bytes};
use vrrpd::proto::wire::ah::{AH_LEN, AhHeader};
use vrrpd::proto::wire::checksum::checksum;
use vrrpd::proto::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use vrrpd::proto::wire::vrrp::{ChecksumForm, VrrpRepr, fill_checksum};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4};
use vrrpd::proto::{Family, Version};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The injector: on the LAN, in no group's `unicast_peers`.
const X: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);
const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const HMAC_KEY_BYTES: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
const RATE: u32 = 2000;
const FLOOD: Duration = Duration::from_secs(3);
const RSS_SLACK_KB: i64 = 2048;

/// One forged datagram: the whole IPv4 packet, where it goes, and which
/// node/group/reason must count it.
struct Forged {
    what: &'static str,
    dgram: Vec<u8>,
    dst: Ipv4Addr,
    /// (node name, group, reason label) that must count it.
    expect: Vec<(&'static str, &'static str, &'static str)>,
}

fn ip(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

/// A VRRP (or AH) payload wrapped in an IPv4 header from `src` to `dst`.
fn datagram(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    let mut h = Ipv4Repr::advert(src, dst, 0x4242, protocol, payload.len());
    h.ttl = ttl;
    h.append_to(&mut d);
    // The kernel fills in the header checksum for IP_HDRINCL.
    Ipv4Packet::new_unchecked(&mut d[..]).set_checksum(0);
    d.extend_from_slice(payload);
    d
}

fn v3_advert(vrid: u8, prio: u8, vips: &[Ipv4Addr], interval_cs: u16) -> VrrpRepr {
    VrrpRepr {
        version: Version::V3,
        vrid,
        priority: prio,
        interval_cs,
        addresses: vips.iter().map(|a| ip(*a)).collect(),
        auth_type: 0,
        auth_data: [0; 8],
    }
}

fn v2_advert(vrid: u8, prio: u8, vip: Ipv4Addr, auth_type: u8, auth_data: [u8; 8]) -> VrrpRepr {
    VrrpRepr {
        version: Version::V2,
        vrid,
        priority: prio,
        interval_cs: 100,
        addresses: vec![ip(vip)],
        auth_type,
        auth_data,
    }
}

fn emit(a: &VrrpRepr, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut out = Vec::new();
    a.append_checksummed(ip(src), ip(dst), ChecksumForm::PseudoHeader, &mut out)
        .expect("emit advert");
    out
}

/// A v3 advert with an hmac trailer signed with `key` (the wrong one for a
/// forgery).
fn hmac_signed(a: &VrrpRepr, src: Ipv4Addr, dst: Ipv4Addr, key: Vec<u8>) -> Vec<u8> {
    let cfg = HmacConfig {
        keys: vec![(1, key)],
        active_key: 1,
        anti_replay: AntiReplay::Time,
        time_window: Duration::from_secs(5),
        mode: HmacMode::Enforce,
    };
    let mut buf = Vec::new();
    let len = a.append_to(Family::V4, &mut buf).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    HmacSender::default().sign(&cfg, a.version, a.vrid, ip(src), &mut buf, 0, now);
    fill_checksum(&mut buf, len, ip(src), ip(dst), ChecksumForm::PseudoHeader);
    buf
}

/// A ucarp advert (CARP shares protocol 112 and 224.0.0.18): version 2,
/// type 1, vhid, advskew, authlen 7, demote, advbase, checksum, counter, md.
fn carp(vhid: u8) -> Vec<u8> {
    let mut p = vec![0x21, vhid, 0, 7, 0, 1, 0, 0];
    p.extend_from_slice(&[0x5a; 8]);
    p.extend_from_slice(&[0xa5; 20]);
    let c = checksum(&p);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

/// A raw IPv4 socket in the current namespace that sends whole datagrams.
fn injector() -> Socket {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .expect("raw socket (needs CAP_NET_RAW)");
    s.set_header_included_v4(true).expect("IP_HDRINCL");
    s
}

/// Send every packet of `set` round-robin at `rate` per second for `dur`
/// (bounded in count and time). Returns how many of each were sent.
fn flood(sock: &Socket, set: &[Forged], rate: u32, dur: Duration) -> Vec<u64> {
    let mut sent = vec![0u64; set.len()];
    let max = u64::from(rate) * dur.as_millis() as u64 / 1000;
    let start = Instant::now();
    let mut n = 0u64;
    while n < max && start.elapsed() < dur + Duration::from_secs(1) {
        let due = start.elapsed().as_micros() as u64 * u64::from(rate) / 1_000_000;
        if n > due {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        let i = (n % set.len() as u64) as usize;
        let f = &set[i];
        let to = SockAddr::from(SocketAddrV4::new(f.dst, 0));
        if sock.send_to(&f.dgram, &to).is_ok() {
            sent[i] += 1;
        }
        n += 1;
    }
    sent
}

/// What a raw listener saw: (arrival, whole datagram).
type Capture = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A raw listener for protocol `proto` inside the calling thread's
/// namespace, joined to 224.0.0.18 on `local`, recording until `stop`
/// (bounded: 60 s, 200k packets).
fn listen(proto: i32, local: Ipv4Addr, stop: Arc<AtomicBool>, cap: Capture) {
    let s =
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(proto))).expect("raw listener");
    s.join_multicast_v4(&VRRP_MCAST_V4, &local)
        .expect("join 224.0.0.18");
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            // SAFETY: recv_from initialised the first n bytes.
            let data: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let mut c = cap.lock().unwrap();
            if c.len() < 200_000 {
                c.push((Instant::now(), data));
            }
        }
    }
}

/// Adverts the listener saw from `src` for `vrid` (VRRP or behind AH), with
/// their arrival times.
fn adverts_from(cap: &Capture, src: Ipv4Addr, vrid: u8) -> Vec<(Instant, Vec<u8>)> {
    cap.lock()
        .unwrap()
        .iter()
        .filter(|(_, d)| {
            d.len() >= 28 && d[12..16] == src.octets() && {
                let ihl = usize::from(d[0] & 0x0f) * 4;
                let p = &d[ihl..];
                match d[9] {
                    IPPROTO_VRRP => p.get(1) == Some(&vrid),
                    IPPROTO_AH => p.get(AH_LEN + 1) == Some(&vrid),
                    _ => false,
                }
            }
        })
        .cloned()
        .collect()
}

fn vm_rss_kb(pid: i32) -> i64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

fn dropped(n: &Node) -> BTreeMap<(String, String), u64> {
    let (_, out, _) = n.cli(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let mut m = BTreeMap::new();
    for g in v["groups"].as_array().cloned().unwrap_or_default() {
        let name = g["name"].as_str().unwrap_or_default().to_string();
        if let Some(d) = g["counters"]["dropped"].as_object() {
            for (r, c) in d {
                m.insert((name.clone(), r.clone()), c.as_u64().unwrap_or(0));
            }
        }
    }
    m
}

fn state(n: &Node, group: &str) -> String {
    let (_, out, _) = n.cli(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    v["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["name"] == group))
        .and_then(|g| g["state"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// GET /metrics inside the node's namespace (bounded: 3 s).
fn metrics(n: &Node) -> String {
    n.ns.run_in(|| {
        let addr: SocketAddr = "127.0.0.1:9650".parse().unwrap();
        let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
}

fn metric_value(text: &str, group: &str, reason: &str) -> u64 {
    let key = format!("vrrpd_adverts_dropped_total{{group=\"{group}\",reason=\"{reason}\"}}");
    text.lines()
        .find(|l| l.starts_with(&key))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// "dropped advert" lines per (group, reason) in a node's log.
fn drop_lines(n: &Node) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for l in n
        .log_text()
        .lines()
        .filter(|l| l.contains("dropped advert"))
    {
        let field = |k: &str| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or("?")
                .trim_matches('"')
                .to_string()
        };
        *m.entry((field("group="), field("reason="))).or_default() += 1;
    }
    m
}

struct Lab {
    a: Node,
    b: Node,
    x: Netns,
    _lan: Lan,
}

impl Lab {
    fn new(groups: &[(&str, String, String)]) -> Lab {
        let mut lan = Lan::new();
        let mut a = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
        let mut b = Node::new(&mut lan, "b", &["192.0.2.2/24"], "02:00:00:00:00:02");
        let x = Netns::new("vtx");
        lan.attach(&x, "eth0", Some("02:00:00:00:00:66"));
        x.ip(&["addr", "add", "192.0.2.66/24", "dev", "eth0"]);
        x.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
        b.ns.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
        for n in [&a, &b] {
            n.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
        }
        for (name, ta, tb) in groups {
            a.write_group(name, ta);
            b.write_group(name, tb);
        }
        a.start();
        b.start();
        let lab = Lab { a, b, x, _lan: lan };
        let names: Vec<&str> = groups.iter().map(|g| g.0).collect();
        let ok = wait_until(Duration::from_secs(8), || {
            names
                .iter()
                .all(|g| state(&lab.a, g) == "master" && state(&lab.b, g) == "backup")
        });
        lab.check(ok, "pair never settled (a master, b backup in every group)");
        lab
    }

    fn logs(&self) -> String {
        format!(
            "\n----- a -----\n{}\n----- b -----\n{}",
            self.a.log_text(),
            self.b.log_text()
        )
    }

    fn check(&self, ok: bool, what: &str) {
        if !ok {
            panic!("{what}{}", self.logs());
        }
    }

    fn pid(n: &Node) -> i32 {
        n.daemon.as_ref().expect("daemon running").pid()
    }
}

/// Run a flood of `set` and check every promise. `cadence`: (vrid,
/// interval) of the master's adverts to time.
fn attack(lab: &Lab, groups: &[&str], vips: &[&str], set: Vec<Forged>, cadence: &[(u8, Duration)]) {
    // The listener in b's namespace sees a's unicast and multicast adverts.
    let stop = Arc::new(AtomicBool::new(false));
    let cap: Capture = Arc::default();
    let mut listeners = Vec::new();
    for proto in [i32::from(IPPROTO_VRRP), i32::from(IPPROTO_AH)] {
        let (stop, cap) = (stop.clone(), cap.clone());
        listeners.push(lab.b.ns.spawn_in(move || listen(proto, B, stop, cap)));
    }
    let changes_before = (lab.a.state_changes().len(), lab.b.state_changes().len());
    // Warm-up: a short burst so every counter and limiter entry exists, then
    // measure memory.
    let set = Arc::new(set);
    let s2 = set.clone();
    lab.x
        .run_in(move || flood(&injector(), &s2, RATE, Duration::from_millis(300)));
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = (vm_rss_kb(Lab::pid(&lab.a)), vm_rss_kb(Lab::pid(&lab.b)));
    let before = (dropped(&lab.a), dropped(&lab.b));
    let t0 = Instant::now();
    let s2 = set.clone();
    let sent = lab.x.run_in(move || flood(&injector(), &s2, RATE, FLOOD));
    let t1 = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for l in listeners {
        let _ = l.join();
    }
    let rss1 = (vm_rss_kb(Lab::pid(&lab.a)), vm_rss_kb(Lab::pid(&lab.b)));
    let after = (dropped(&lab.a), dropped(&lab.b));
    let total: u64 = sent.iter().sum();
    eprintln!("flood: {total} packets in {:?}", t1 - t0);
    lab.check(total >= u64::from(RATE) * 2, "the injector sent too little");

    // 1. No state change, VIPs where they were.
    let changes_after = (lab.a.state_changes().len(), lab.b.state_changes().len());
    lab.check(
        changes_before == changes_after,
        "a state changed under the flood",
    );
    for g in groups {
        lab.check(
            state(&lab.a, g) == "master" && state(&lab.b, g) == "backup",
            &format!("group {g}: not a master / b backup after the flood"),
        );
    }
    for v in vips {
        lab.check(
            lab.a.holds(v) && !lab.b.holds(v),
            &format!("{v}: not held by a alone after the flood"),
        );
    }

    // 2. The master's adverts keep their interval during the flood.
    for (vrid, interval) in cadence {
        // Not the forgeries (some carry a's address, one is a replay).
        let forged = |d: &[u8]| set.iter().any(|f| f.dgram.get(20..) == d.get(20..));
        let seen: Vec<Instant> = adverts_from(&cap, A, *vrid)
            .into_iter()
            .filter(|(_, d)| !forged(d))
            .map(|(t, _)| t)
            .filter(|t| *t >= t0 && *t <= t1)
            .collect();
        let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1] - w[0]).collect();
        let max = gaps.iter().max().copied().unwrap_or_default();
        let expected = (t1 - t0).as_millis() / interval.as_millis();
        eprintln!(
            "vrid {vrid}: {} adverts (expected ~{expected}), max gap {max:?} (interval {interval:?})",
            seen.len()
        );
        let margin = Duration::from_millis(60).max(*interval / 4);
        lab.check(
            seen.len() as u128 + 2 >= expected && max <= *interval + margin,
            &format!(
                "vrid {vrid}: master's adverts lost their cadence under the flood: {} adverts, \
                 expected ~{expected}, max gap {max:?}, gaps {gaps:?}",
                seen.len()
            ),
        );
    }

    // 3. Every kind counted under its reason, in status and in /metrics.
    let metrics_text = (metrics(&lab.a), metrics(&lab.b));
    for (i, f) in set.iter().enumerate() {
        for (node, group, reason) in &f.expect {
            let key = (group.to_string(), reason.to_string());
            let (b4, af, text) = if *node == "a" {
                (&before.0, &after.0, &metrics_text.0)
            } else {
                (&before.1, &after.1, &metrics_text.1)
            };
            let delta = af.get(&key).copied().unwrap_or(0) - b4.get(&key).copied().unwrap_or(0);
            eprintln!(
                "{:<34} sent {:>5} -> {node}/{group} {reason}: +{delta}",
                f.what, sent[i]
            );
            lab.check(
                delta >= sent[i] / 2,
                &format!(
                    "{}: {node} counted only {delta} of {} under {group}/{reason}: {af:?}",
                    f.what, sent[i]
                ),
            );
            let m = metric_value(text, group, reason);
            lab.check(
                m >= af.get(&key).copied().unwrap_or(0).min(1) && m > 0,
                &format!(
                    "{}: /metrics of {node} has no {group}/{reason} drops",
                    f.what
                ),
            );
        }
    }

    // 4. Logs rate-limited: at most 2 lines per (group, reason) for a flood
    // shorter than the 10 s window (one at its start, maybe one from the
    // warm-up window's end).
    for n in [&lab.a, &lab.b] {
        for (k, c) in drop_lines(n) {
            lab.check(
                c <= 2,
                &format!("{}: {c} \"dropped advert\" lines for {k:?}", n.name),
            );
        }
    }

    // 5. Memory flat.
    eprintln!(
        "VmRSS a {} -> {} kB, b {} -> {} kB",
        rss0.0, rss1.0, rss0.1, rss1.1
    );
    lab.check(
        rss1.0 - rss0.0 < RSS_SLACK_KB && rss1.1 - rss0.1 < RSS_SLACK_KB,
        &format!("VmRSS grew: a {rss0:?} -> {rss1:?} (a, b)"),
    );
    let panicked = lab.a.log_text().contains("panicked") || lab.b.log_text().contains("panicked");
    lab.check(!panicked, "a daemon panicked");
}

fn v3_group(vrid: u8, prio: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrid = {vrid}\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"100ms\"\nvirtual_ips = [\"{vip}/24\"]\n{extra}"
    )
}

/// VRRPv3: group `u` (VRID 51, unicast) and group `h` (VRID 52, multicast,
/// hmac trailer), each flooded at the master and at the backup.
#[test]
fn hostile_v3_unicast_and_hmac_flood_changes_nothing() {
    if !netns_available("hostile_v3_unicast_and_hmac_flood_changes_nothing") {
        return;
    }
    let _g = serial();
    let hmac = format!(
        "\n[auth]\ntype = \"hmac\"\nkeys = {{ 1 = \"hex:{HMAC_KEY}\" }}\nanti_replay = \"monotonic\"\n"
    );
    let lab = Lab::new(&[
        (
            "u",
            v3_group(51, 150, "192.0.2.100", "unicast_peers = [\"192.0.2.2\"]\n"),
            v3_group(51, 100, "192.0.2.100", "unicast_peers = [\"192.0.2.1\"]\n"),
        ),
        (
            "h",
            v3_group(52, 150, "192.0.2.101", &hmac),
            v3_group(52, 100, "192.0.2.101", &hmac),
        ),
    ]);
    let vu = [Ipv4Addr::new(192, 0, 2, 100)];
    let vh = [Ipv4Addr::new(192, 0, 2, 101)];

    // Capture one real hmac advert of a (to replay) from b's namespace.
    let stop = Arc::new(AtomicBool::new(false));
    let cap: Capture = Arc::default();
    let (s2, c2) = (stop.clone(), cap.clone());
    let l = lab
        .b
        .ns
        .spawn_in(move || listen(i32::from(IPPROTO_VRRP), B, s2, c2));
    let ok = wait_until(Duration::from_secs(2), || {
        !adverts_from(&cap, A, 52).is_empty()
    });
    stop.store(true, Ordering::Relaxed);
    let _ = l.join();
    lab.check(ok, "no hmac advert of a captured");
    let replay_h = adverts_from(&cap, A, 52)[0].1.clone();

    let mut set = Vec::new();
    // Against each node of the unicast group, from its peer's (spoofed)
    // address, so each packet reaches the check it is built to fail; the
    // priority would change the state if the packet were accepted (254
    // preempts the master, 0 makes the backup take over at once).
    for (node, me, peer, prio) in [("a", A, B, 254u8), ("b", B, A, 0u8)] {
        let good = emit(&v3_advert(51, prio, &vu, 10), peer, me);
        let mut p = good.clone();
        p[0] = 0x41; // version 4
        set.push(Forged {
            what: "wrong version (4)",
            dgram: datagram(peer, me, 255, 112, &p),
            dst: me,
            expect: vec![(node, "u", "version")],
        });
        let mut p = good.clone();
        p[0] = 0x32; // type 2
        set.push(Forged {
            what: "unknown type (2)",
            dgram: datagram(peer, me, 255, 112, &p),
            dst: me,
            expect: vec![(node, "u", "type")],
        });
        let mut p = good.clone();
        p[6] ^= 0x55;
        set.push(Forged {
            what: "bad checksum",
            dgram: datagram(peer, me, 255, 112, &p),
            dst: me,
            expect: vec![(node, "u", "checksum")],
        });
        set.push(Forged {
            what: "truncated (6 bytes)",
            dgram: datagram(peer, me, 255, 112, &good[..6]),
            dst: me,
            expect: vec![(node, "u", "truncated")],
        });
        set.push(Forged {
            what: "truncated (1 byte, no VRID)",
            dgram: datagram(peer, me, 255, 112, &good[..1]),
            dst: me,
            expect: vec![(node, "u", "truncated"), (node, "h", "truncated")],
        });
        let mut p = good.clone();
        p.extend_from_slice(&[0xee; 200]);
        set.push(Forged {
            what: "oversized (200 bytes extra)",
            dgram: datagram(peer, me, 255, 112, &p),
            dst: me,
            expect: vec![(node, "u", "length")],
        });
        let mut a3 = v3_advert(51, prio, &vu, 10);
        a3.addresses.push(ip(Ipv4Addr::new(192, 0, 2, 200)));
        let mut p = emit(&a3, peer, me);
        p[3] = 9; // claims 9 addresses, carries 2
        fill_checksum(&mut p, 16, ip(peer), ip(me), ChecksumForm::PseudoHeader);
        set.push(Forged {
            what: "wrong address count (9 for 2)",
            dgram: datagram(peer, me, 255, 112, &p),
            dst: me,
            expect: vec![(node, "u", "address_count")],
        });
        set.push(Forged {
            what: "unknown VRID (99)",
            dgram: datagram(
                peer,
                me,
                255,
                112,
                &emit(&v3_advert(99, prio, &vu, 10), peer, me),
            ),
            dst: me,
            expect: vec![(node, "u", "vrid_unknown"), (node, "h", "vrid_unknown")],
        });
        set.push(Forged {
            what: "off-list source, priority 254/0",
            dgram: datagram(X, me, 255, 112, &emit(&v3_advert(51, prio, &vu, 10), X, me)),
            dst: me,
            expect: vec![(node, "u", "not_a_peer")],
        });
        set.push(Forged {
            what: "off-list source spoofing TTL 255, prio 255",
            dgram: datagram(X, me, 255, 112, &emit(&v3_advert(51, 255, &vu, 10), X, me)),
            dst: me,
            expect: vec![(node, "u", "not_a_peer")],
        });
    }
    // Multicast hmac group: TTL 254, forged and replayed trailers.
    let m = VRRP_MCAST_V4;
    let fake = hmac_signed(&v3_advert(52, 254, &vh, 10), B, m, vec![0x99; 32]);
    // A multicast packet with a node's own address as source is a martian
    // to that node's kernel: each forgery targets the other node.
    for (node, src, prio) in [("a", B, 254u8), ("b", A, 0u8)] {
        let p = hmac_signed(
            &v3_advert(52, prio, &vh, 10),
            src,
            m,
            HMAC_KEY_BYTES.to_vec(),
        );
        set.push(Forged {
            what: "TTL 254 (multicast, right key)",
            dgram: datagram(src, m, 254, 112, &p),
            dst: m,
            expect: vec![(node, "h", "ttl_too_low")],
        });
    }
    set.push(Forged {
        what: "forged hmac (wrong key), prio 254",
        dgram: datagram(B, m, 255, 112, &fake),
        dst: m,
        expect: vec![("a", "h", "hmac_bad")],
    });
    let fake0 = hmac_signed(&v3_advert(52, 0, &vh, 10), A, m, vec![0x99; 32]);
    set.push(Forged {
        what: "forged hmac (wrong key), prio 0",
        dgram: datagram(A, m, 255, 112, &fake0),
        dst: m,
        expect: vec![("b", "h", "hmac_bad")],
    });
    let mut no_trailer = emit(&v3_advert(52, 254, &vh, 10), B, m);
    no_trailer.truncate(12);
    fill_checksum(
        &mut no_trailer,
        12,
        ip(B),
        ip(m),
        ChecksumForm::PseudoHeader,
    );
    set.push(Forged {
        what: "hmac trailer missing",
        dgram: datagram(B, m, 255, 112, &no_trailer),
        dst: m,
        expect: vec![("a", "h", "hmac_missing")],
    });
    set.push(Forged {
        what: "replayed hmac advert of a",
        dgram: replay_h,
        dst: m,
        expect: vec![("b", "h", "hmac_replay")],
    });
    set.push(Forged {
        what: "CARP packet (vhid 52)",
        dgram: datagram(X, m, 255, 112, &carp(52)),
        dst: m,
        expect: vec![("a", "h", "carp"), ("b", "h", "carp")],
    });
    attack(
        &lab,
        &["u", "h"],
        &["192.0.2.100", "192.0.2.101"],
        set,
        &[
            (51, Duration::from_millis(100)),
            (52, Duration::from_millis(100)),
        ],
    );
}

/// VRRPv2 multicast: group `p` (VRID 61, PASS) and group `s` (VRID 62, AH).
#[test]
fn hostile_v2_pass_and_ah_flood_changes_nothing() {
    if !netns_available("hostile_v2_pass_and_ah_flood_changes_nothing") {
        return;
    }
    let _g = serial();
    let v2 = |vrid: u8, prio: u8, vip: &str, auth: &str| {
        format!(
            "vrid = {vrid}\ninterface = \"eth0\"\npriority = {prio}\nversion = 2\n\
             advert_interval = \"1s\"\nvirtual_ips = [\"{vip}/24\"]\n\
             [auth]\ntype = \"{auth}\"\nsecret = \"secret12\"\n"
        )
    };
    let lab = Lab::new(&[
        (
            "p",
            v2(61, 150, "192.0.2.110", "pass"),
            v2(61, 100, "192.0.2.110", "pass"),
        ),
        (
            "s",
            v2(62, 150, "192.0.2.111", "ah"),
            v2(62, 100, "192.0.2.111", "ah"),
        ),
    ]);
    let vp = Ipv4Addr::new(192, 0, 2, 110);
    let vs = Ipv4Addr::new(192, 0, 2, 111);
    let m = VRRP_MCAST_V4;

    // Capture one real AH advert of a (to replay).
    let stop = Arc::new(AtomicBool::new(false));
    let cap: Capture = Arc::default();
    let (s2, c2) = (stop.clone(), cap.clone());
    let l = lab
        .b
        .ns
        .spawn_in(move || listen(i32::from(IPPROTO_AH), B, s2, c2));
    let ok = wait_until(Duration::from_secs(3), || {
        !adverts_from(&cap, A, 62).is_empty()
    });
    stop.store(true, Ordering::Relaxed);
    let _ = l.join();
    lab.check(ok, "no AH advert of a captured");
    let replay_ah = adverts_from(&cap, A, 62)[0].1.clone();

    let pass = password_bytes(b"secret12");
    let mut set = Vec::new();
    for (node, src, prio) in [("a", B, 254u8), ("b", A, 0u8)] {
        let wrong = emit(
            &v2_advert(61, prio, vp, 1, password_bytes(b"guess123")),
            src,
            m,
        );
        set.push(Forged {
            what: "wrong PASS",
            dgram: datagram(src, m, 255, 112, &wrong),
            dst: m,
            expect: vec![(node, "p", "auth_failed")],
        });
        // Forged AH: right layout, SPI = source, ICV made with a wrong key.
        let vrrp = emit(&v2_advert(62, prio, vs, 2, [0; 8]), src, m);
        let mut ah = AhHeader::new(src, 0x7fff_0000);
        let mut hdr = Vec::new();
        Ipv4Repr::advert(src, m, 0x4242, IPPROTO_AH, AH_LEN + vrrp.len()).append_to(&mut hdr);
        ah.icv = ah_icv(&password_bytes(b"wrongkey"), &hdr, &ah, &vrrp, false);
        let mut payload = ah.to_bytes().to_vec();
        payload.extend_from_slice(&vrrp);
        set.push(Forged {
            what: "forged AH (wrong key)",
            dgram: datagram(src, m, 255, IPPROTO_AH, &payload),
            dst: m,
            expect: vec![(node, "s", "ah_icv")],
        });
    }
    for (node, src, prio) in [("a", B, 254u8), ("b", A, 0u8)] {
        let good = emit(&v2_advert(61, prio, vp, 1, pass), src, m);
        set.push(Forged {
            what: "TTL 254 (multicast, right PASS)",
            dgram: datagram(src, m, 254, 112, &good),
            dst: m,
            expect: vec![(node, "p", "ttl_too_low")],
        });
    }
    set.push(Forged {
        what: "replayed AH advert of a",
        dgram: replay_ah,
        dst: m,
        expect: vec![("b", "s", "ah_replay")],
    });
    set.push(Forged {
        what: "CARP packet (vhid 61)",
        dgram: datagram(X, m, 255, 112, &carp(61)),
        dst: m,
        expect: vec![("a", "p", "carp"), ("b", "p", "carp")],
    });
    attack(
        &lab,
        &["p", "s"],
        &["192.0.2.110", "192.0.2.111"],
        set,
        &[(61, Duration::from_secs(1)), (62, Duration::from_secs(1))],
    );
}
