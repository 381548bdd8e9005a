//! JSONL transcripts of the RFC rules: events in, actions out (holo-vrrp's
//! conformance fixtures are the model).
//!
//! Each `tests/transcripts/NAME.jsonl` drives ONE group's
//! [`vrrpd::proto::router::Router`] the way the daemon does. The first line
//! names the rule (with its RFC section) and the group:
//!
//! ```text
//! {"rule": "RFC 5798 §6.4.1 ...", "group": {"version": 3, "vrid": 51, ...}}
//! ```
//!
//! Every further line is one step: an input with its virtual time, then
//! (`out`) what the router produced for it. An input is one of
//!
//! - `"input"`: an [`Input`] value (`"startup"`, `"link_down"`,
//!   `{"trackers": {..}}`, `{"release": "shutdown"}`, `{"drain": true}`, ...),
//!   at `"at"`;
//! - `"advert"`: a received advert given as its fields, encoded to real bytes
//!   by the shipped encoder ([`TxEncoder`]) and fed to
//!   [`Router::handle_datagram`], so parsing and every receive check run;
//!   `ttl` and `bad_checksum` damage the datagram on the wire;
//! - `"timeout": true`: advance virtual time to [`Router::poll_timeout`] and
//!   call [`Router::handle_timeout`] (`out.at` says when that was).
//!
//! `out` lists the router's events in order (each transmitted advert decoded
//! back to its fields), the drop reason of a refused datagram, the state and
//! the next `poll_timeout`. A difference fails with the step number and the
//! expected and actual lines; `VRRPD_BLESS=1 cargo test -p vrrpd --test
//! transcripts` rewrites every `out` in place instead (review the diff).
//! To write a new transcript, write the header and the inputs without `out`
//! and bless.
//!
//! The driver refuses an input that comes after a due timeout (the daemon
//! would have woken first: add a `timeout` step), and checks on its own that
//! a dropped datagram produced no event and moved no timer (RFC 5798 §7.1).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vrrpd::proto::announce::AnnounceConfig;
use vrrpd::proto::auth::AuthConfig;
use vrrpd::proto::instance::{Input, InstanceConfig, State};
use vrrpd::proto::receive::{RxPacket, RxPolicy};
use vrrpd::proto::router::{Event, Router, RouterConfig, Transmit};
use vrrpd::proto::transmit::{TxConfig, TxEncoder};
use vrrpd::proto::wire::ah::AH_LEN;
use vrrpd::proto::wire::ipv4::Ipv4Packet;
use vrrpd::proto::wire::vrrp::{self, ChecksumForm, VrrpPacket, VrrpRepr};
use vrrpd::proto::wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};
use vrrpd::proto::{Family, Version};

/// The environment variable that rewrites the expected outputs.
const BLESS_VAR: &str = "VRRPD_BLESS";

/// Wall clock (UTC) at virtual time zero (hmac timestamps).
const WALL_EPOCH: Duration = Duration::from_secs(1_800_000_000);

// ---- the transcript format ------------------------------------------------

/// The first line of a transcript.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    /// The rule, citing its RFC section.
    #[allow(dead_code)] // read by people
    rule: String,
    group: GroupSpec,
}

/// The group under test, as far as the protocol core cares.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    version: u8,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    #[serde(default = "yes")]
    preempt: bool,
    #[serde(default)]
    preempt_delay_ms: u64,
    #[serde(default)]
    start_as_master: bool,
    /// Primary address: advert source and tie-break.
    primary: IpAddr,
    vips: Vec<IpAddr>,
    #[serde(default)]
    auth: AuthSpec,
    #[serde(default)]
    unicast_peers: Vec<IpAddr>,
    /// Gratuitous ARP rounds per burst. Default 1 and no delayed burst: the
    /// announce schedule is not what these transcripts are about, and every
    /// extra round is one more wake-up step.
    #[serde(default = "one")]
    garp_repeat: u8,
    #[serde(default)]
    garp_master_delay_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

fn one() -> u8 {
    1
}

/// Authentication, with the password / key as text (zero-padded to 8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AuthSpec {
    #[default]
    None,
    Pass(String),
    Ah(String),
}

impl AuthSpec {
    fn is_none(&self) -> bool {
        *self == AuthSpec::None
    }

    fn config(&self) -> AuthConfig {
        let pad = |s: &str| {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(s.bytes()) {
                *d = s;
            }
            b
        };
        match self {
            AuthSpec::None => AuthConfig::None,
            AuthSpec::Pass(p) => AuthConfig::Pass { password: pad(p) },
            AuthSpec::Ah(k) => AuthConfig::Ah { key: pad(k) },
        }
    }
}

/// One step: exactly one of `input`, `advert`, `timeout`, then `out`
/// (read as a JSON value, written from [`Out`] so its fields keep their
/// order).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step<O> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Input>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    advert: Option<AdvertSpec>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    timeout: bool,
    #[serde(default)]
    out: O,
}

impl<O> Step<O> {
    fn with_out<P>(self, out: P) -> Step<P> {
        Step {
            note: self.note,
            at: self.at,
            input: self.input,
            advert: self.advert,
            timeout: self.timeout,
            out,
        }
    }
}

/// A received advert, as its fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvertSpec {
    src: IpAddr,
    /// Default: the VRRP multicast group of the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dst: Option<IpAddr>,
    version: u8,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    addresses: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "AuthSpec::is_none")]
    auth: AuthSpec,
    /// TTL / hop limit on arrival.
    #[serde(default = "ttl_255", skip_serializing_if = "is_255")]
    ttl: u8,
    /// Corrupt the VRRP checksum on the wire.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    bad_checksum: bool,
}

fn ttl_255() -> u8 {
    255
}

fn is_255(t: &u8) -> bool {
    *t == 255
}

/// What the router produced for one step.
#[derive(Debug, Serialize)]
struct Out {
    /// `timeout` steps: the instant the router woke at.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    /// `advert` steps: why the datagram was dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    drop: Option<&'static str>,
    events: Vec<OutEvent>,
    state: State,
    /// [`Router::poll_timeout`] after the step.
    timeout: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum OutEvent {
    /// [`Event::Transmit`] with every datagram it sent, decoded.
    Transmit {
        transmit: Vec<SentAdvert>,
    },
    Other(Event),
}

/// A transmitted advert read back into its fields.
#[derive(Debug, Serialize)]
struct SentAdvert {
    dst: IpAddr,
    src: IpAddr,
    version: u8,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    addresses: Vec<IpAddr>,
    /// v2 only (0 none, 1 PASS, 2 AH).
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_type: Option<u8>,
}

// ---- virtual time as text ------------------------------------------------

/// "3.609375s": exact (nanoseconds), readable.
fn fmt_time(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

fn parse_time(s: &str) -> Result<Duration, String> {
    let bad = || format!("time {s:?}: expected seconds like \"3.609375s\"");
    let body = s.strip_suffix('s').ok_or_else(bad)?;
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    Ok(Duration::new(secs, nanos))
}

// ---- building the group and the received datagrams ----------------------

fn version(n: u8) -> Result<Version, String> {
    match n {
        2 => Ok(Version::V2),
        3 => Ok(Version::V3),
        v => Err(format!("VRRP version {v}: only 2 and 3 exist")),
    }
}

fn router_config(g: &GroupSpec) -> Result<RouterConfig, String> {
    let version = version(g.version)?;
    let family = Family::of(&g.primary);
    let auth = g.auth.config();
    Ok(RouterConfig {
        instance: InstanceConfig {
            version,
            vrid: g.vrid,
            priority: g.priority,
            advert_interval_cs: g.interval_cs,
            preempt: g.preempt,
            preempt_delay: Duration::from_millis(g.preempt_delay_ms),
            start_as_master: g.start_as_master,
            primary_address: g.primary,
            routes: false,
        },
        rx: RxPolicy {
            version,
            family,
            vrid: g.vrid,
            min_ttl: 255,
            unicast_peers: g.unicast_peers.clone(),
            v2_interval_cs: g.interval_cs,
            auth: auth.clone(),
            expected_addresses: (version == Version::V2).then(|| g.vips.clone()),
        },
        tx: TxConfig {
            version,
            family,
            vrid: g.vrid,
            interval_cs: g.interval_cs,
            addresses: g.vips.clone(),
            auth,
            checksum: ChecksumForm::PseudoHeader,
            source: g.primary,
            unicast_peers: g.unicast_peers.clone(),
        },
        announce: AnnounceConfig {
            repeat: g.garp_repeat,
            master_delay: g.garp_master_delay_ms.map(Duration::from_millis),
            ..AnnounceConfig::default()
        },
    })
}

/// The peers' encoders, one per source address (an AH sender's sequence
/// carries on from one advert to the next).
#[derive(Default)]
struct Peers {
    encoders: HashMap<IpAddr, TxEncoder>,
    ip_id: u16,
}

impl Peers {
    /// `spec` as the bytes the group's socket hands over: the whole IPv4
    /// datagram, or the IPv6 payload. Returns the bytes and the destination.
    fn encode(&mut self, spec: &AdvertSpec, now: Duration) -> Result<(Vec<u8>, IpAddr), String> {
        let family = Family::of(&spec.src);
        let dst = spec.dst.unwrap_or(match family {
            Family::V4 => IpAddr::V4(VRRP_MCAST_V4),
            Family::V6 => IpAddr::V6(VRRP_MCAST_V6),
        });
        let cfg = TxConfig {
            version: version(spec.version)?,
            family,
            vrid: spec.vrid,
            interval_cs: spec.interval_cs,
            addresses: spec.addresses.clone(),
            auth: spec.auth.config(),
            checksum: ChecksumForm::PseudoHeader,
            source: spec.src,
            unicast_peers: if dst.is_multicast() {
                Vec::new()
            } else {
                vec![dst]
            },
        };
        let enc = match self.encoders.get_mut(&spec.src) {
            Some(e) if *e.config() == cfg => e,
            _ => {
                let e = TxEncoder::new(cfg).map_err(|e| format!("cannot encode advert: {e}"))?;
                self.encoders.insert(spec.src, e);
                self.encoders
                    .get_mut(&spec.src)
                    .ok_or("encoder just inserted")?
            }
        };
        self.ip_id = self.ip_id.wrapping_add(1);
        let mut buf = Vec::new();
        enc.encode(spec.priority, dst, self.ip_id, WALL_EPOCH + now, &mut buf)
            .map_err(|e| format!("cannot encode advert: {e}"))?;
        // Damage on the wire.
        let vrrp_at = match family {
            Family::V4 => {
                let mut ip = Ipv4Packet::new_unchecked(&mut buf[..]);
                ip.set_ttl(spec.ttl);
                ip.fill_checksum();
                ip.header_len()
                    + if ip.protocol() == IPPROTO_AH {
                        AH_LEN
                    } else {
                        0
                    }
            }
            Family::V6 => 0,
        };
        if spec.bad_checksum {
            buf[vrrp_at + vrrp::field::CHECKSUM.end - 1] ^= 0x5a;
        }
        Ok((buf, dst))
    }
}

/// The one place that reads a transmitted advert back into fields.
fn decode_sent(bytes: &[u8], t: &Transmit) -> Result<SentAdvert, String> {
    let bad = |e: String| format!("the router sent an advert it cannot decode: {e}");
    let (src, dst, payload) = match t.dst {
        IpAddr::V4(_) => {
            let pkt = RxPacket::from_ipv4_datagram(bytes).map_err(|e| bad(e.to_string()))?;
            let payload = if pkt.protocol == IPPROTO_AH {
                pkt.payload
                    .get(AH_LEN..)
                    .ok_or_else(|| bad("short AH".into()))?
            } else {
                pkt.payload
            };
            (pkt.src, pkt.dst, payload)
        }
        IpAddr::V6(_) => (t.source, t.dst, bytes),
    };
    let (view, _) = VrrpPacket::new_verified(payload, src, dst).map_err(|e| bad(e.to_string()))?;
    let a = VrrpRepr::parse(&view).map_err(|e| bad(e.to_string()))?;
    Ok(SentAdvert {
        dst,
        src,
        version: a.version.number(),
        vrid: a.vrid,
        priority: a.priority,
        interval_cs: a.interval_cs,
        addresses: a.addresses,
        auth_type: (a.version == Version::V2).then_some(a.auth_type),
    })
}

// ---- driving the router as the daemon does --------------------------------

/// Every event queued, in order, carried out as the daemon's `drain` does:
/// on `Transmit`, every copy from `poll_transmit` until `None`.
fn carry_out(r: &mut Router, now: Duration) -> Result<Vec<OutEvent>, String> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(e) = r.poll_event() {
        if e != Event::Transmit {
            out.push(OutEvent::Other(e));
            continue;
        }
        let mut sent = Vec::new();
        while let Some(t) = r.poll_transmit(WALL_EPOCH + now, &mut buf) {
            let t = t.map_err(|e| format!("cannot encode our advert: {e}"))?;
            sent.push(decode_sent(&buf[..t.len], &t)?);
        }
        out.push(OutEvent::Transmit { transmit: sent });
    }
    Ok(out)
}

/// The daemon wakes at `poll_timeout`: an input later than that would
/// reach a router whose timers should already have fired.
fn check_not_overdue(r: &Router, at: Duration) -> Result<(), String> {
    match r.poll_timeout() {
        Some(t) if t < at => Err(format!(
            "input at {} but a timeout is due at {}: the daemon wakes first (add a \
             {{\"timeout\": true}} step before this one)",
            fmt_time(at),
            fmt_time(t)
        )),
        _ => Ok(()),
    }
}

/// Run one step; `Err` is a malformed step or a broken invariant.
fn run_step(
    r: &mut Router,
    peers: &mut Peers,
    now: &mut Duration,
    step: &Step<serde_json::Value>,
) -> Result<Out, String> {
    let kinds = usize::from(step.input.is_some())
        + usize::from(step.advert.is_some())
        + usize::from(step.timeout);
    if kinds != 1 {
        return Err("a step has exactly one of \"input\", \"advert\", \"timeout\"".into());
    }
    if step.timeout {
        if step.at.is_some() {
            return Err("a timeout step has no \"at\": it runs at poll_timeout".into());
        }
        let at = r
            .poll_timeout()
            .ok_or("timeout step, but poll_timeout is None")?;
        *now = at;
        r.handle_timeout(at);
        return Ok(Out {
            at: Some(fmt_time(at)),
            drop: None,
            events: carry_out(r, at)?,
            state: r.state(),
            timeout: r.poll_timeout().map(fmt_time),
        });
    }
    let at = parse_time(step.at.as_deref().ok_or("this step needs \"at\"")?)?;
    if at < *now {
        return Err(format!(
            "time goes backwards: {} after {}",
            fmt_time(at),
            fmt_time(*now)
        ));
    }
    check_not_overdue(r, at)?;
    *now = at;
    let mut drop = None;
    if let Some(input) = step.input {
        if matches!(input, Input::Advert(_)) {
            return Err("adverts arrive as bytes: use \"advert\", not an Input::Advert".into());
        }
        r.handle(at, input);
    } else if let Some(spec) = &step.advert {
        let (bytes, dst) = peers.encode(spec, at)?;
        let pkt = match Family::of(&spec.src) {
            Family::V4 => RxPacket::from_ipv4_datagram(&bytes)
                .map_err(|e| format!("the encoder built a bad IPv4 datagram: {e}"))?,
            // The kernel hands over the IPv6 payload; the addresses and the
            // hop limit come in control messages.
            Family::V6 => RxPacket {
                src: spec.src,
                dst,
                ttl: spec.ttl,
                protocol: IPPROTO_VRRP,
                ipv4_header: None,
                payload: &bytes,
            },
        };
        let (state, timeout) = (r.state(), r.poll_timeout());
        if let Err(reason) = r.handle_datagram(at, WALL_EPOCH + at, &pkt) {
            drop = Some(reason.label());
            // RFC 5798 §7.1: a dropped packet is discarded, nothing else.
            if r.state() != state || r.poll_timeout() != timeout {
                return Err(format!(
                    "a dropped datagram ({}) moved the router: state {state} -> {}, \
                     timeout {:?} -> {:?}",
                    reason.label(),
                    r.state(),
                    timeout.map(fmt_time),
                    r.poll_timeout().map(fmt_time)
                ));
            }
        }
    }
    let events = carry_out(r, at)?;
    if drop.is_some() && !events.is_empty() {
        return Err(format!("a dropped datagram produced events: {events:?}"));
    }
    Ok(Out {
        at: None,
        drop,
        events,
        state: r.state(),
        timeout: r.poll_timeout().map(fmt_time),
    })
}

/// The top-level fields of two outputs that differ, to point at.
fn differing_fields(expected: &serde_json::Value, actual: &serde_json::Value) -> Vec<String> {
    match (expected.as_object(), actual.as_object()) {
        (Some(e), Some(a)) => {
            let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| e.get(*k) != a.get(*k))
                .cloned()
                .collect()
        }
        _ => vec!["out".into()],
    }
}

fn transcript_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(format!("{name}.jsonl"))
}

/// Run one transcript; with `bless`, rewrite its outputs. `Err` is the
/// report to fail with.
fn run_transcript(path: &Path, bless: bool) -> Result<(), String> {
    let shown = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read it: {e}"))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header_line) = lines.next().ok_or(format!("{shown}: empty"))?;
    let header: Header = serde_json::from_str(header_line)
        .map_err(|e| format!("{shown}:1: header {{\"rule\", \"group\"}}: {e}"))?;
    let cfg = router_config(&header.group).map_err(|e| format!("{shown}:1: {e}"))?;
    let mut r = Router::new(cfg).map_err(|e| format!("{shown}:1: group: {e}"))?;
    let mut peers = Peers::default();
    let mut now = Duration::ZERO;
    let mut blessed = vec![header_line.to_string()];
    let mut diffs: Vec<String> = Vec::new();
    for (step_no, (i, line)) in lines.enumerate() {
        let step_no = step_no + 1;
        let line_no = i + 1;
        let at = format!("{shown}:{line_no}: step {step_no}");
        let step: Step<serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("{at}: malformed step: {e}"))?;
        let out =
            run_step(&mut r, &mut peers, &mut now, &step).map_err(|e| format!("{at}: {e}"))?;
        let actual = serde_json::to_value(&out).map_err(|e| format!("{at}: {e}"))?;
        let fields = differing_fields(&step.out, &actual);
        let written =
            serde_json::to_string(&step.with_out(&out)).map_err(|e| format!("{at}: {e}"))?;
        if !fields.is_empty() {
            diffs.push(format!(
                "{at}: output differs in {}\n  expected: {line}\n  actual:   {written}",
                fields.join(", ")
            ));
        }
        blessed.push(written);
    }
    if bless {
        let mut new = blessed.join("\n");
        new.push('\n');
        if new != text {
            std::fs::write(path, new).map_err(|e| format!("{shown}: cannot rewrite it: {e}"))?;
        }
        return Ok(());
    }
    if diffs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of the steps of {shown} differ from the transcript (the first one is what \
         changed; later ones may follow from it):\n\n{}\n\nIf the new behaviour is right: \
         {BLESS_VAR}=1 cargo test -p vrrpd --test transcripts, and review the diff.",
        diffs.len(),
        diffs.join("\n\n")
    ))
}

fn check(name: &str) {
    let bless = std::env::var(BLESS_VAR).is_ok_and(|v| v == "1");
    if let Err(report) = run_transcript(&transcript_path(name), bless) {
        panic!("{report}");
    }
}

/// One test per transcript, named after it.
macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
        const ALL: &[&str] = &[$(stringify!($name)),*];
    };
}

transcripts!(
    backup_startup_waits_master_down_interval,
    owner_startup_goes_master_at_once,
    backup_preempts_lower_priority_master,
    backup_without_preempt_keeps_lower_priority_master,
    master_yields_to_higher_priority_advert,
    master_yields_to_higher_priority_advert_without_preempt,
    priority_zero_backup_takes_over_after_skew_time,
    equal_priority_tie_break_larger_primary_address,
    v3_backup_learns_master_adver_interval,
    v2_interval_mismatch_dropped,
    drop_wrong_vrid,
    drop_ttl_not_255,
    drop_bad_checksum,
    drop_auth_mismatch,
    link_down_fault_and_back,
    tracker_priority_and_fault,
    shutdown_release,
    shutdown_release_without_taker,
    handover_release,
    handover_without_taker_fails,
    drain_master_hands_over,
    v3_ipv6_backup_startup,
);

#[test]
fn every_transcript_file_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/transcripts")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .map(str::to_string)
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "tests/transcripts/*.jsonl vs transcripts!(..)"
    );
}

#[test]
fn virtual_time_reads_back_exactly() {
    for d in [
        Duration::ZERO,
        Duration::from_secs(3),
        Duration::new(3, 609_375_000),
        Duration::new(0, 1),
    ] {
        assert_eq!(parse_time(&fmt_time(d)), Ok(d));
    }
    assert!(parse_time("3.6").is_err());
    assert!(parse_time("1.0000000001s").is_err());
}
