//! Timer arithmetic of RFC 5798 §6.1 (VRRPv3) and RFC 3768 §6.1 (VRRPv2).
//!
//! Everything is exact `Duration` arithmetic in nanoseconds: nothing is
//! rounded to whole seconds (unlike RFC 3768's and some implementations'
//! integer-second skew) and nothing is truncated to centiseconds.
//!
//! * VRRPv3: `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`,
//!   `Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time`.
//! * VRRPv2: `Skew_Time = (256 - Priority) / 256` seconds,
//!   `Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time`.

use std::time::Duration;

/// How long a releasing master keeps its VIPs after hearing the new master
/// (SPEC §4). The new master announces before that advert, so this only has
/// to cover packets already in flight to us and clients still processing
/// the announcement: milliseconds on a LAN. Both nodes answering for a
/// moment is harmless; a gap is not, on a proxy host that does not forward.
pub const RELEASE_GRACE: Duration = Duration::from_millis(50);

use super::Version;

/// One centisecond, the unit of the VRRPv3 advertisement interval field.
pub const CENTISECOND: Duration = Duration::from_millis(10);

/// Smallest valid VRRPv3 advertisement interval, in centiseconds.
pub const V3_MIN_INTERVAL_CS: u16 = 1;
/// Largest valid VRRPv3 advertisement interval (the 12-bit field), in
/// centiseconds.
pub use crate::wire::vrrp::V3_MAX_INTERVAL_CS;
/// Smallest valid VRRPv2 advertisement interval, in seconds.
pub const V2_MIN_INTERVAL_S: u16 = 1;
/// Largest valid VRRPv2 advertisement interval (8-bit field), in seconds.
pub const V2_MAX_INTERVAL_S: u16 = 255;

/// `cs` centiseconds as a `Duration`.
pub fn centiseconds(cs: u16) -> Duration {
    CENTISECOND * u32::from(cs)
}

/// Is `cs` a valid VRRPv3 advertisement interval (RFC 5798 §5.2.7: 12 bits,
/// and zero is meaningless)?
pub fn valid_v3_interval_cs(cs: u16) -> bool {
    (V3_MIN_INTERVAL_CS..=V3_MAX_INTERVAL_CS).contains(&cs)
}

/// Is `s` a valid VRRPv2 advertisement interval in seconds (RFC 3768 §5.3.7:
/// 8 bits, default 1)?
pub fn valid_v2_interval_s(s: u16) -> bool {
    (V2_MIN_INTERVAL_S..=V2_MAX_INTERVAL_S).contains(&s)
}

/// Is an interval given in centiseconds valid for `version`? For VRRPv2 it
/// must be a whole number of seconds in 1..=255 (i.e. 100..=25500 cs in steps
/// of 100).
pub fn valid_interval_cs(version: Version, cs: u16) -> bool {
    match version {
        Version::V3 => valid_v3_interval_cs(cs),
        Version::V2 => cs.is_multiple_of(100) && valid_v2_interval_s(cs / 100),
    }
}

/// Skew_Time for a router of `priority` (RFC 5798 §6.1 / RFC 3768 §6.1).
///
/// For VRRPv3 it scales with `master_adver_interval`; for VRRPv2 it is
/// `(256 - priority) / 256` seconds whatever the interval. `priority` is the
/// local (effective) priority, 1..=255.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let factor = 256 - u128::from(priority);
    let base = match version {
        Version::V3 => master_adver_interval.as_nanos(),
        Version::V2 => Duration::from_secs(1).as_nanos(),
    };
    nanos(factor * base / 256)
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time
/// (RFC 5798 §6.1; RFC 3768 §6.1 with Advertisement_Interval).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

/// Skew_Time with the interval given in centiseconds (convenience for tests
/// and status output).
pub fn skew_time_cs(version: Version, priority: u8, interval_cs: u16) -> Duration {
    skew_time(version, priority, centiseconds(interval_cs))
}

/// Master_Down_Interval with the interval given in centiseconds.
pub fn master_down_interval_cs(version: Version, priority: u8, interval_cs: u16) -> Duration {
    master_down_interval(version, priority, centiseconds(interval_cs))
}

fn nanos(n: u128) -> Duration {
    // Intervals are at most 255 s, so this never exceeds u64 nanoseconds.
    let secs = n / 1_000_000_000;
    let sub = n % 1_000_000_000;
    Duration::new(secs as u64, sub as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_skew_is_exact_not_rounded() {
        // 100 cs, priority 100: 156/256 s = 0.609375 s exactly.
        assert_eq!(
            skew_time_cs(Version::V3, 100, 100),
            Duration::from_nanos(609_375_000)
        );
        assert_eq!(
            master_down_interval_cs(Version::V3, 100, 100),
            Duration::from_nanos(3_609_375_000)
        );
        // Skew scales with the interval in v3.
        assert_eq!(
            skew_time_cs(Version::V3, 100, 10),
            Duration::from_nanos(60_937_500)
        );
    }

    #[test]
    fn v2_skew_ignores_interval() {
        assert_eq!(
            skew_time_cs(Version::V2, 100, 300),
            Duration::from_nanos(609_375_000)
        );
        assert_eq!(
            master_down_interval_cs(Version::V2, 100, 100),
            Duration::from_nanos(3_609_375_000)
        );
    }

    #[test]
    fn interval_validity() {
        assert!(!valid_v3_interval_cs(0));
        assert!(valid_v3_interval_cs(1));
        assert!(valid_v3_interval_cs(4095));
        assert!(!valid_v3_interval_cs(4096));
        assert!(!valid_interval_cs(Version::V2, 150));
        assert!(valid_interval_cs(Version::V2, 100));
        assert!(valid_interval_cs(Version::V2, 25500));
        assert!(!valid_interval_cs(Version::V2, 25600));
        assert!(!valid_interval_cs(Version::V2, 0));
    }
}
