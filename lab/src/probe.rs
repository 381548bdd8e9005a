//! A client's view of a VIP: ping every millisecond, then read back the
//! longest silence and how many probes went unanswered.

use super::{Netns, Proc};
use std::path::PathBuf;
use std::time::Duration;

/// What a client saw while pinging a VIP.
#[derive(Clone, Debug, PartialEq)]
pub struct PingStats {
    pub sent: u64,
    pub received: u64,
    /// Longest interval between two consecutive replies.
    pub max_gap: Duration,
}

impl PingStats {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
}

/// `ping -D -i INTERVAL` from a namespace, stopped with SIGINT so it prints
/// its summary.
pub struct Pinger {
    proc: Proc,
    out: PathBuf,
}

impl Pinger {
    pub fn start(ns: &Netns, target: &str, interval: Duration) -> Pinger {
        let out = std::env::temp_dir().join(format!("{}-ping.txt", super::unique_name("p")));
        let file = std::fs::File::create(&out).expect("create ping output file");
        let mut c = ns.cmd("ping");
        c.args([
            "-D",
            "-n",
            "-i",
            &format!("{:.3}", interval.as_secs_f64()),
            // Replies later than this count as lost.
            "-W",
            "1",
            target,
        ])
        .stdout(file)
        .stderr(std::process::Stdio::null());
        Pinger {
            proc: Proc::spawn(c),
            out,
        }
    }

    pub fn stop(self) -> PingStats {
        self.stop_with_replies().0
    }

    /// Like [`Pinger::stop`], also returning every reply (to tell a network
    /// outage from the pinger itself being descheduled).
    pub fn stop_with_replies(mut self) -> (PingStats, Vec<PingReply>) {
        self.proc.signal(libc::SIGINT);
        let _ = self.proc.wait_timeout(Duration::from_secs(5));
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let _ = std::fs::remove_file(&self.out);
        (parse_ping_output(&text), parse_ping_replies(&text))
    }
}

/// One echo reply as `ping -D` printed it.
#[derive(Clone, Debug, PartialEq)]
pub struct PingReply {
    /// Unix time the reply arrived, in seconds.
    pub at: f64,
    pub seq: u64,
    pub rtt: Duration,
}

/// The reply lines of `ping -D` output:
/// `[unix.micros] 64 bytes from X: icmp_seq=N ttl=T time=R ms`.
pub fn parse_ping_replies(text: &str) -> Vec<PingReply> {
    text.lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| {
            let at = l
                .strip_prefix('[')?
                .split(']')
                .next()?
                .parse::<f64>()
                .ok()?;
            let field = |key: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .map(str::to_string)
            };
            let seq = field("icmp_seq=")?.parse::<u64>().ok()?;
            let rtt_ms = field("time=")?.parse::<f64>().ok()?;
            Some(PingReply {
                at,
                seq,
                rtt: Duration::from_secs_f64(rtt_ms.max(0.0) / 1000.0),
            })
        })
        .collect()
}

/// Parse `ping -D` output: reply lines carry `[unix.micros]`, the summary
/// line says `N packets transmitted, M received`.
pub fn parse_ping_output(text: &str) -> PingStats {
    let mut last: Option<f64> = None;
    let mut max_gap = 0f64;
    let mut sent = 0;
    let mut received = 0;
    for line in text.lines() {
        if line.contains("bytes from") {
            if let Some(ts) = line
                .strip_prefix('[')
                .and_then(|r| r.split(']').next())
                .and_then(|t| t.parse::<f64>().ok())
            {
                if let Some(prev) = last {
                    max_gap = max_gap.max(ts - prev);
                }
                last = Some(ts);
            }
        } else if line.contains("packets transmitted") {
            let nums: Vec<u64> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            if nums.len() >= 2 {
                sent = nums[0];
                received = nums[1];
            }
        }
    }
    PingStats {
        sent,
        received,
        max_gap: Duration::from_secs_f64(max_gap.max(0.0)),
    }
}

/// What a client's probes say about a VIP's availability.
pub struct Outage {
    /// Probes missing between the first and the last reply.
    pub lost_inside: u64,
    /// The longest silence the network caused: probes lost in between, or a
    /// late (RTT > 10 ms) reply. A silence between consecutive prompt
    /// replies is the pinger not being scheduled.
    pub gap: Duration,
    /// The longest silence between any two replies, whatever caused it.
    pub raw_gap: Duration,
    /// Replies later than 10 ms (held in a queue while no one answered).
    pub late: u64,
    pub around: String,
}

pub fn client_outage(replies: &[PingReply]) -> Outage {
    let mut gap = 0f64;
    let mut raw = 0f64;
    let mut around = String::new();
    for (i, w) in replies.windows(2).enumerate() {
        let (prev, cur) = (&w[0], &w[1]);
        raw = raw.max(cur.at - prev.at);
        let prompt_next = cur.seq == prev.seq + 1 && cur.rtt <= Duration::from_millis(10);
        if !prompt_next && cur.at - prev.at > gap {
            gap = cur.at - prev.at;
            around = replies[i.saturating_sub(2)..(i + 4).min(replies.len())]
                .iter()
                .map(|r| format!("{:.6} seq={} rtt={:?}\n", r.at, r.seq, r.rtt))
                .collect();
        }
    }
    let lost_inside = match (replies.first(), replies.last()) {
        (Some(f), Some(l)) => (l.seq + 1 - f.seq).saturating_sub(replies.len() as u64),
        _ => 0,
    };
    let late = replies
        .iter()
        .filter(|r| r.rtt > Duration::from_millis(10))
        .count() as u64;
    Outage {
        lost_inside,
        gap: Duration::from_secs_f64(gap.max(0.0)),
        raw_gap: Duration::from_secs_f64(raw.max(0.0)),
        late,
        around,
    }
}
