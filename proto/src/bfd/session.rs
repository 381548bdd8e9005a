//! One BFD session in asynchronous mode (RFC 5880 §6), on virtual time.
//! No demand mode, no echo, no authentication.
//!
//! Choices where the RFC leaves room:
//! * While not Up, bfd.DesiredMinTxInterval is at least 1 s (§6.8.3) and
//!   goes to the configured value on entering Up, announced with a Poll
//!   Sequence; it goes back to 1 s on leaving Up.
//! * Only a detection-time expiry ([`Diag::ControlDetectionTimeExpired`]) is
//!   a failure the VRRP side acts on; a peer that says its own session went
//!   down is alive and sending (it only lost our packets), and AdminDown is
//!   a peer shutting BFD down on purpose (§6.8.16).

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::packet::{ControlPacket, Diag, SessionState};
use crate::Time;

/// Slow transmission while the session is not Up (RFC 5880 §6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// The local parameters of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once Up.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult.
    pub detect_mult: u8,
}

/// What the session tells its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEvent {
    Up,
    /// Left Up (or Init) for Down (or AdminDown), with the reason.
    Down {
        diag: Diag,
    },
}

/// A small deterministic generator for the transmit jitter (§6.8.7); the
/// shell seeds it, tests fix the seed.
#[derive(Clone, Copy, Debug)]
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `interval` reduced by 0-25 % (0-10 % more when detect_mult is 1:
    /// 75-90 %), RFC 5880 §6.8.7.
    fn apply(&mut self, interval: Duration, detect_mult: u8) -> Duration {
        let (lo, span) = if detect_mult == 1 { (75, 16) } else { (75, 26) };
        let pct = lo + self.next() % span;
        interval * pct as u32 / 100
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: SessionState,
    remote_state: SessionState,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diag,
    /// bfd.RemoteMinRxInterval: initialised to 1 µs (§6.8.1).
    remote_min_rx: Duration,
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    /// What we advertise as Desired Min TX now.
    desired_min_tx: Duration,
    /// What paces our own transmission: an increase waits for the Final.
    tx_in_use: Duration,
    /// What we use for the detection time: a decrease of Required Min RX
    /// waits for the Final (§6.8.3).
    rx_for_detect: Duration,
    poll: bool,
    send_final: bool,
    next_tx: Option<Time>,
    detect_deadline: Option<Time>,
    jitter: Jitter,
    events: VecDeque<SessionEvent>,
    ever_up: bool,
}

impl Session {
    /// A session in Down that starts transmitting at `now`. `local_discr`
    /// must be non-zero and unique on this system; `seed` feeds the jitter.
    pub fn new(cfg: SessionConfig, local_discr: u32, seed: u64, now: Time) -> Session {
        let slow = cfg.desired_min_tx.max(SLOW_TX);
        Session {
            cfg,
            state: SessionState::Down,
            remote_state: SessionState::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::None,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            desired_min_tx: slow,
            tx_in_use: slow,
            rx_for_detect: cfg.required_min_rx,
            poll: false,
            send_final: false,
            next_tx: Some(now),
            detect_deadline: None,
            jitter: Jitter(seed | 1),
            events: VecDeque::new(),
            ever_up: false,
        }
    }

    pub fn state(&self) -> SessionState {
        self.state
    }

    pub fn remote_state(&self) -> SessionState {
        self.remote_state
    }

    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    pub fn config(&self) -> SessionConfig {
        self.cfg
    }

    /// Whether the session has been Up at least once.
    pub fn ever_up(&self) -> bool {
        self.ever_up
    }

    /// Whether a Poll Sequence is running.
    pub fn polling(&self) -> bool {
        self.poll
    }

    /// The Detection Time in asynchronous mode (RFC 5880 §6.8.4): the
    /// remote's Detect Mult times the agreed remote transmit interval.
    pub fn detection_time(&self) -> Duration {
        self.rx_for_detect.max(self.remote_desired_min_tx) * u32::from(self.remote_detect_mult)
    }

    /// Our transmission interval before jitter (RFC 5880 §6.8.7): the
    /// larger of our Desired Min TX and the remote's Required Min RX.
    pub fn tx_interval(&self) -> Duration {
        self.tx_in_use.max(self.remote_min_rx)
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        [self.next_tx, self.detect_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// RFC 5880 §6.8.4: the detection timer.
    pub fn handle_timeout(&mut self, now: Time) {
        if let Some(t) = self.detect_deadline
            && t <= now
        {
            self.detect_deadline = None;
            if matches!(self.state, SessionState::Init | SessionState::Up) {
                // §6.8.1: RemoteDiscr is zeroed after a Detection Time of
                // silence.
                self.remote_discr = 0;
                self.go_down(Diag::ControlDetectionTimeExpired);
            }
        }
    }

    /// RFC 5880 §6.8.6 for a packet already demultiplexed to this session
    /// (the packet-only checks passed in [`ControlPacket::parse`]).
    pub fn handle_packet(&mut self, now: Time, p: &ControlPacket) {
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_min_rx = p.required_min_rx;
        self.remote_desired_min_tx = p.desired_min_tx;
        self.remote_detect_mult = p.detect_mult;
        if p.final_ && self.poll {
            // §6.8.3: the Poll Sequence is over; the new values apply.
            self.poll = false;
            self.tx_in_use = self.desired_min_tx;
            self.rx_for_detect = self.cfg.required_min_rx;
        }
        if self.state == SessionState::AdminDown {
            return;
        }
        if p.state == SessionState::AdminDown {
            if self.state != SessionState::Down {
                self.go_down(Diag::NeighborSignaledSessionDown);
            }
        } else {
            // The three-way handshake and its teardown (§6.8.6).
            match (self.state, p.state) {
                (SessionState::Down, SessionState::Down) => self.state = SessionState::Init,
                (SessionState::Down, SessionState::Init)
                | (SessionState::Init, SessionState::Init | SessionState::Up) => self.go_up(now),
                (SessionState::Up, SessionState::Down) => {
                    self.go_down(Diag::NeighborSignaledSessionDown)
                }
                _ => {}
            }
        }
        if p.poll {
            // §6.8.6: answer a Poll with a Final at once.
            self.send_final = true;
        }
        // The remote may have asked for a slower pace: re-arm the next
        // transmission no later than the new interval.
        if let Some(t) = self.next_tx {
            let latest = now + self.tx_interval();
            if t > latest {
                self.next_tx = Some(latest);
            }
        } else if self.remote_min_rx > Duration::ZERO {
            self.next_tx = Some(now);
        }
        self.detect_deadline = Some(now + self.detection_time());
    }

    /// Change the local parameters (a reload). While Up this runs a Poll
    /// Sequence (§6.8.3): a larger Desired Min TX and a smaller Required
    /// Min RX take effect only once the remote has acknowledged them.
    pub fn reconfigure(&mut self, now: Time, cfg: SessionConfig) {
        if cfg == self.cfg {
            return;
        }
        let old = self.cfg;
        self.cfg = cfg;
        if self.state == SessionState::Up {
            self.desired_min_tx = cfg.desired_min_tx;
            if cfg.desired_min_tx < self.tx_in_use {
                self.tx_in_use = cfg.desired_min_tx;
            }
            if cfg.required_min_rx > old.required_min_rx {
                self.rx_for_detect = cfg.required_min_rx;
            }
            self.start_poll(now);
        } else {
            self.desired_min_tx = cfg.desired_min_tx.max(SLOW_TX);
            self.tx_in_use = self.desired_min_tx;
            self.rx_for_detect = cfg.required_min_rx;
        }
    }

    /// Take the session administratively down (shutdown): the packets that
    /// follow say AdminDown, so the peer does not take it for a failure.
    pub fn admin_down(&mut self, now: Time) {
        if self.state == SessionState::AdminDown {
            return;
        }
        let was_up = self.state == SessionState::Up;
        self.state = SessionState::AdminDown;
        self.local_diag = Diag::AdministrativelyDown;
        self.detect_deadline = None;
        self.next_tx = Some(now);
        if was_up {
            self.events.push_back(SessionEvent::Down {
                diag: Diag::AdministrativelyDown,
            });
        }
    }

    /// The packet to send now, if one is due (RFC 5880 §6.8.7): a Final
    /// answers a Poll at once; otherwise one packet per jittered interval.
    /// Nothing goes out while the remote asks for none (Required Min RX 0).
    pub fn poll_transmit(&mut self, now: Time) -> Option<ControlPacket> {
        let due = self.next_tx.is_some_and(|t| t <= now);
        if !due && !self.send_final {
            return None;
        }
        let final_ = std::mem::take(&mut self.send_final);
        if due {
            self.next_tx = if self.remote_min_rx.is_zero() {
                None
            } else {
                Some(now + self.jitter.apply(self.tx_interval(), self.cfg.detect_mult))
            };
        }
        Some(ControlPacket {
            diag: self.local_diag,
            state: self.state,
            // §6.8.7: never both Poll and Final.
            poll: self.poll && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.cfg.required_min_rx,
            required_min_echo_rx: Duration::ZERO,
        })
    }

    fn start_poll(&mut self, now: Time) {
        self.poll = true;
        self.next_tx = Some(now);
    }

    fn go_up(&mut self, now: Time) {
        self.state = SessionState::Up;
        self.local_diag = Diag::None;
        self.ever_up = true;
        self.events.push_back(SessionEvent::Up);
        // §6.8.3: leave the slow start, announced by a Poll Sequence.
        if self.cfg.desired_min_tx != self.desired_min_tx {
            self.desired_min_tx = self.cfg.desired_min_tx;
            if self.desired_min_tx < self.tx_in_use {
                self.tx_in_use = self.desired_min_tx;
            }
            self.start_poll(now);
        }
    }

    fn go_down(&mut self, diag: Diag) {
        let was = self.state;
        self.state = SessionState::Down;
        self.local_diag = diag;
        self.poll = false;
        // §6.8.3: slow again while not Up.
        self.desired_min_tx = self.cfg.desired_min_tx.max(SLOW_TX);
        self.tx_in_use = self.desired_min_tx;
        if matches!(was, SessionState::Up | SessionState::Init) {
            self.events.push_back(SessionEvent::Down { diag });
        }
    }
}
