//! Rise/fall hysteresis of a track script: a sequence of run results
//! (success / failure) becomes a sequence of up/down transitions.
//!
//! Semantics (keepalived `vrrp_scheduler.c`, `vrrp_script_child_thread` and
//! `vrrp_init_script`, default `init_state` INIT; keepalived's `init_fail`
//! has no vrrpd equivalent):
//! - The state starts *unknown*. keepalived starts a script's counter at
//!   `rise - 1` ("one success is enough") and reports the first failure as
//!   well, so the **first result decides** the initial state: one success ->
//!   up, one failure -> down. Until then the script adds no weight, and a
//!   weight-0 script holds its instance back (see [`super::verdict`]).
//! - Up -> down after `fall` consecutive failures; down -> up after `rise`
//!   consecutive successes. A result that agrees with the current state
//!   resets the opposite streak.
//! - `rise` or `fall` of 0 is treated as 1.

/// The hysteresis state of one track script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiseFall {
    /// Consecutive successes needed to go down -> up (>= 1).
    pub rise: u8,
    /// Consecutive failures needed to go up -> down (>= 1).
    pub fall: u8,
    /// `None` until the first result.
    pub up: Option<bool>,
    /// Consecutive results disagreeing with `up`.
    pub streak: u8,
}

impl RiseFall {
    pub fn new(rise: u8, fall: u8) -> RiseFall {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            up: None,
            streak: 0,
        }
    }

    /// The current state: `None` before the first result.
    pub fn up(&self) -> Option<bool> {
        self.up
    }

    /// Feed one run result. Returns `Some(new_state)` when the state changes
    /// (including the first result, which leaves the unknown state), `None`
    /// otherwise.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        match self.up {
            None => {
                self.up = Some(success);
                self.streak = 0;
                Some(success)
            }
            Some(up) if up == success => {
                self.streak = 0;
                None
            }
            Some(up) => {
                self.streak = self.streak.saturating_add(1);
                let needed = if up { self.fall } else { self.rise };
                if self.streak >= needed {
                    self.up = Some(!up);
                    self.streak = 0;
                    Some(!up)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rf: &mut RiseFall, seq: &str) -> Vec<Option<bool>> {
        seq.chars().map(|c| rf.record(c == '1')).collect()
    }

    #[test]
    fn first_result_decides() {
        let mut rf = RiseFall::new(3, 3);
        assert_eq!(rf.up(), None);
        assert_eq!(rf.record(true), Some(true));
        let mut rf = RiseFall::new(3, 3);
        assert_eq!(rf.record(false), Some(false));
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut rf = RiseFall::new(2, 2);
        let r = run(&mut rf, "1 0 1 0 0".replace(' ', "").as_str());
        assert_eq!(r, vec![Some(true), None, None, None, Some(false)]);
    }

    #[test]
    fn rise_needs_consecutive_successes() {
        let mut rf = RiseFall::new(3, 1);
        let r = run(&mut rf, "0110111");
        assert_eq!(
            r,
            vec![Some(false), None, None, None, None, None, Some(true)]
        );
    }

    #[test]
    fn zero_is_one() {
        let mut rf = RiseFall::new(0, 0);
        assert_eq!(
            run(&mut rf, "1010"),
            vec![Some(true), Some(false), Some(true), Some(false)]
        );
    }
}
