//! Combine a group's trackers into the instance's `Input::Trackers`.
//!
//! Semantics:
//! - track_script: one rule for every tracker kind: weight 0 -> FAULT while
//!   the script fails; else the weight is added **while it fails**, whatever
//!   its sign (negative lowers, the usual case). keepalived instead adds a
//!   positive weight while a script succeeds; `vrrpd convert` turns such a
//!   weight around (priority + W, weight -W), which gives the same effective
//!   priority in every state. A script with no result yet (`None`) adds
//!   nothing and faults nothing, but makes the group [`pending`] if its
//!   weight is 0 (keepalived keeps such an instance in INIT until the first
//!   result).
//! - track_interface (SPEC §2.2): weight 0 -> FAULT while down; else the
//!   weight is added while down, whatever its sign.
//!
//! The delta is not clamped here: the instance clamps the effective
//! priority (and leaves an address owner at 255).

/// `(fault, priority_delta)` for the instance.
///
/// `scripts`: `(weight, state)` with state `None` before the first result.
/// `interfaces`: `(weight, up)`.
pub fn verdict(scripts: &[(i16, Option<bool>)], interfaces: &[(i16, bool)]) -> (bool, i32) {
    let mut fault = false;
    let mut delta = 0i32;
    for &(weight, state) in scripts {
        match (weight, state) {
            (_, None) => {}
            (0, Some(up)) => fault |= !up,
            (w, Some(false)) => delta += i32::from(w),
            (_, Some(true)) => {}
        }
    }
    for &(weight, up) in interfaces {
        if !up {
            if weight == 0 {
                fault = true;
            } else {
                delta += i32::from(weight);
            }
        }
    }
    (fault, delta)
}

/// Whether a weight-0 script has not produced its first result yet. The
/// daemon should hold the group out of election (keep it in INIT, or feed
/// `fault`) while this is true; the first result always arrives within the
/// script's `timeout` after the tracker is spawned, because the first run
/// starts at once.
pub fn pending(scripts: &[(i16, Option<bool>)]) -> bool {
    scripts.iter().any(|&(w, s)| w == 0 && s.is_none())
}

/// `track_file` (keepalived `track_file`): priority += N × weight; weight 0
/// faults while N != 0. `files`: `(weight, value)`.
pub fn file_verdict(files: &[(i16, i64)]) -> (bool, i32) {
    let mut fault = false;
    let mut delta = 0i64;
    for &(weight, n) in files {
        if weight == 0 {
            fault |= n != 0;
        } else {
            delta = delta.saturating_add(n.saturating_mul(i64::from(weight)));
        }
    }
    (fault, delta.clamp(-1000, 1000) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_value_times_weight() {
        assert_eq!(file_verdict(&[(-1, 0)]), (false, 0));
        assert_eq!(file_verdict(&[(-1, 60)]), (false, -60));
        assert_eq!(file_verdict(&[(10, -3), (2, 4)]), (false, -22));
        assert_eq!(file_verdict(&[(0, 1)]), (true, 0));
        assert_eq!(file_verdict(&[(0, 0)]), (false, 0));
        assert_eq!(file_verdict(&[(254, i64::MAX)]), (false, 1000));
    }

    #[test]
    fn script_weights_apply_while_failing() {
        assert_eq!(verdict(&[(10, Some(true))], &[]), (false, 0));
        assert_eq!(verdict(&[(10, Some(false))], &[]), (false, 10));
        assert_eq!(verdict(&[(-60, Some(true))], &[]), (false, 0));
        assert_eq!(verdict(&[(-60, Some(false))], &[]), (false, -60));
        assert_eq!(verdict(&[(0, Some(false))], &[]), (true, 0));
        assert_eq!(verdict(&[(0, Some(true))], &[]), (false, 0));
        assert_eq!(
            verdict(&[(0, None), (-5, None), (5, None)], &[]),
            (false, 0)
        );
    }

    #[test]
    fn interface_weights_follow_spec() {
        assert_eq!(verdict(&[], &[(0, false)]), (true, 0));
        assert_eq!(verdict(&[], &[(0, true)]), (false, 0));
        assert_eq!(
            verdict(&[], &[(-20, false), (15, false), (7, true)]),
            (false, -5)
        );
    }

    #[test]
    fn combined() {
        assert_eq!(
            verdict(&[(-60, Some(false)), (10, Some(true))], &[(-20, false)]),
            (false, -80)
        );
        assert!(pending(&[(0, None)]));
        assert!(!pending(&[(5, None), (0, Some(false))]));
    }
}
