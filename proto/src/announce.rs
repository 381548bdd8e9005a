//! When to send gratuitous ARPs / unsolicited NAs for a master's VIPs (SPEC
//! §1, keepalived `garp_master_repeat`, `garp_interval`, `garp_master_delay`,
//! `garp_master_refresh`). Pure: the shell asks [`AnnounceSchedule::poll_timeout`]
//! and, when it comes, sends one round (every VIP once) each time
//! [`AnnounceSchedule::handle_timeout`] says so.
//!
//! On becoming master: a burst of `repeat` rounds `interval` apart, then,
//! `master_delay` after becoming master, a second burst of `repeat` (a
//! switch port that was blocking, e.g. spanning tree right after link-up,
//! missed the first), and a round every `refresh` while master. A
//! re-announcement ([`AnnounceSchedule::reannounce`], RFC 9568 §6.4.3 when a
//! lower-priority master was heard, or a VIP re-added behind our back) is one
//! burst and leaves the delayed burst and the refresh as they were.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Time;

/// The announcement settings of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceConfig {
    /// Rounds per burst (`garp_repeat`, default 5 as keepalived); 0 = none.
    pub repeat: u8,
    /// Between the rounds of a burst (`garp_interval`, default 10 ms).
    pub interval: Duration,
    /// Second burst this long after becoming master (`garp_master_delay`,
    /// default 5 s); `None` = off.
    pub master_delay: Option<Duration>,
    /// One round this often while master (`garp_refresh`); `None` = off.
    pub refresh: Option<Duration>,
}

impl Default for AnnounceConfig {
    /// keepalived's defaults.
    fn default() -> Self {
        AnnounceConfig {
            repeat: 5,
            interval: Duration::from_millis(10),
            master_delay: Some(Duration::from_secs(5)),
            refresh: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Burst {
    remaining: u8,
    next_at: Time,
}

/// The announcement timers of one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceSchedule {
    cfg: AnnounceConfig,
    burst: Option<Burst>,
    delayed_at: Option<Time>,
    refresh_at: Option<Time>,
}

impl AnnounceSchedule {
    pub fn new(cfg: AnnounceConfig) -> AnnounceSchedule {
        AnnounceSchedule {
            cfg,
            burst: None,
            delayed_at: None,
            refresh_at: None,
        }
    }

    pub fn config(&self) -> &AnnounceConfig {
        &self.cfg
    }

    /// Became master at `now`: first burst now, the delayed burst and the
    /// refresh from now.
    pub fn on_master(&mut self, now: Time) {
        self.start_burst(now);
        self.delayed_at = if self.cfg.repeat > 0 {
            self.cfg.master_delay.map(|d| now + d)
        } else {
            None
        };
        self.refresh_at = self.cfg.refresh.map(|r| now + r);
    }

    /// One more burst from `now` (still master).
    pub fn reannounce(&mut self, now: Time) {
        self.start_burst(now);
    }

    /// Left master: nothing more to send.
    pub fn stop(&mut self) {
        self.burst = None;
        self.delayed_at = None;
        self.refresh_at = None;
    }

    /// Whether anything is scheduled.
    pub fn active(&self) -> bool {
        self.poll_timeout().is_some()
    }

    /// When [`AnnounceSchedule::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.burst.map(|b| b.next_at),
            self.delayed_at,
            self.refresh_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advance to `now`; `true` = send one round of announcements now (at
    /// most one round per call, whatever fell due together).
    pub fn handle_timeout(&mut self, now: Time) -> bool {
        let mut send = false;
        if self.delayed_at.is_some_and(|t| t <= now) {
            // garp_master_delay: the second burst, counted from now.
            self.delayed_at = None;
            self.start_burst(now);
        }
        if let Some(b) = self.burst.as_mut()
            && b.next_at <= now
        {
            send = true;
            b.remaining -= 1;
            b.next_at = now + self.cfg.interval;
            if b.remaining == 0 {
                self.burst = None;
            }
        }
        if let (Some(at), Some(every)) = (self.refresh_at, self.cfg.refresh)
            && at <= now
        {
            send = true;
            self.refresh_at = Some(now + every);
        }
        send
    }

    fn start_burst(&mut self, now: Time) {
        self.burst = (self.cfg.repeat > 0).then_some(Burst {
            remaining: self.cfg.repeat,
            next_at: now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Time {
        Duration::from_millis(n)
    }

    /// Drive to `end`, returning when rounds were sent.
    fn rounds(s: &mut AnnounceSchedule, end: Time) -> Vec<Time> {
        let mut out = Vec::new();
        while let Some(t) = s.poll_timeout().filter(|&t| t <= end) {
            if s.handle_timeout(t) {
                out.push(t);
            }
        }
        out
    }

    #[test]
    fn garp_defaults_are_keepalived_five_at_10ms_and_five_more_after_master_delay() {
        let mut s = AnnounceSchedule::new(AnnounceConfig::default());
        s.on_master(ms(1000));
        let got = rounds(&mut s, ms(20_000));
        let want: Vec<Time> = [1000, 1010, 1020, 1030, 1040, 6000, 6010, 6020, 6030, 6040]
            .into_iter()
            .map(ms)
            .collect();
        assert_eq!(got, want);
        assert!(!s.active());
    }

    #[test]
    fn garp_master_delay_off_sends_one_burst() {
        let mut s = AnnounceSchedule::new(AnnounceConfig {
            repeat: 3,
            master_delay: None,
            ..AnnounceConfig::default()
        });
        s.on_master(ms(0));
        assert_eq!(rounds(&mut s, ms(60_000)), vec![ms(0), ms(10), ms(20)]);
    }

    #[test]
    fn garp_reannounce_is_one_burst_and_keeps_the_delayed_burst() {
        let mut s = AnnounceSchedule::new(AnnounceConfig {
            repeat: 2,
            ..AnnounceConfig::default()
        });
        s.on_master(ms(0));
        assert_eq!(rounds(&mut s, ms(100)), vec![ms(0), ms(10)]);
        s.reannounce(ms(2000));
        assert_eq!(
            rounds(&mut s, ms(10_000)),
            vec![ms(2000), ms(2010), ms(5000), ms(5010)]
        );
    }

    #[test]
    fn garp_stop_on_leaving_master_cancels_everything() {
        let mut s = AnnounceSchedule::new(AnnounceConfig {
            refresh: Some(Duration::from_secs(1)),
            ..AnnounceConfig::default()
        });
        s.on_master(ms(0));
        assert!(s.handle_timeout(ms(0)));
        s.stop();
        assert_eq!(s.poll_timeout(), None);
        assert!(!s.handle_timeout(ms(100_000)));
    }

    #[test]
    fn garp_refresh_repeats_while_master() {
        let mut s = AnnounceSchedule::new(AnnounceConfig {
            repeat: 1,
            master_delay: None,
            refresh: Some(Duration::from_secs(2)),
            ..AnnounceConfig::default()
        });
        s.on_master(ms(0));
        assert_eq!(
            rounds(&mut s, ms(6500)),
            vec![ms(0), ms(2000), ms(4000), ms(6000)]
        );
    }

    #[test]
    fn garp_repeat_zero_sends_nothing_on_becoming_master() {
        let mut s = AnnounceSchedule::new(AnnounceConfig {
            repeat: 0,
            ..AnnounceConfig::default()
        });
        s.on_master(ms(0));
        assert_eq!(s.poll_timeout(), None);
    }
}
