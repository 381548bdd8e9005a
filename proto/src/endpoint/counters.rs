//! What an endpoint counts per group (status and metrics read these), and
//! the rate limit of its log lines. Pure: time is an argument.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::Time;

/// Per-group counters. The endpoint counts what it sees (receive, state
/// changes); the shell counts what only it can know succeeded (sends).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub transitions: BTreeMap<String, u64>,
    pub master_changes: u64,
    /// Adverts with priority 0 (release) sent and received.
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Gratuitous ARPs / unsolicited NAs sent (one per VIP per round).
    pub garp_sent: u64,
    /// Which v3/IPv4 checksum form peers used: "message" / "pseudo_header".
    pub checksum_forms: BTreeMap<&'static str, u64>,
    /// v2 adverts accepted whose address list differs from ours.
    pub address_list_mismatch: u64,
}

/// Rate limit for log lines about received packets: at most one line per
/// reason per group per window, with the number suppressed.
#[derive(Clone, Debug, Default)]
pub struct LogLimiter {
    window_start: BTreeMap<&'static str, (Time, u64)>,
}

impl LogLimiter {
    pub const WINDOW: Duration = Duration::from_secs(10);

    /// Whether to log this one now; if so, how many were suppressed since
    /// the last line.
    pub fn admit(&mut self, now: Time, reason: &'static str) -> Option<u64> {
        match self.window_start.get_mut(reason) {
            Some((start, suppressed)) if now < *start + Self::WINDOW => {
                *suppressed += 1;
                None
            }
            Some((start, suppressed)) => {
                let n = *suppressed;
                *start = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                self.window_start.insert(reason, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_limiter_admits_one_line_per_window_and_counts_the_rest() {
        let mut l = LogLimiter::default();
        let t0 = Duration::from_secs(100);
        assert_eq!(l.admit(t0, "checksum"), Some(0));
        for i in 1..=50 {
            assert_eq!(
                l.admit(t0 + Duration::from_millis(i * 10), "checksum"),
                None
            );
        }
        // Another reason has its own window.
        assert_eq!(l.admit(t0, "ttl"), Some(0));
        assert_eq!(
            l.admit(t0 + LogLimiter::WINDOW, "checksum"),
            Some(50),
            "the next line reports what was suppressed"
        );
    }
}
