//! Duration strings: `"100ms"`, `"1s"`, `"1.5s"`, `"2m"`, `"1h"`, `"0"`.
//!
//! A number (integer or decimal) followed by one unit: `ms`, `s`, `m`, `h`.
//! The bare number `0` is accepted without a unit. The result is exact to the
//! millisecond; finer fractions are rejected rather than rounded.

use std::time::Duration;

/// Parse a duration string. The error is a human-readable reason.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("bad duration {input:?}: missing unit (use ms, s, m or h)"))?;
    let (num, unit) = s.split_at(split);
    let ms_per_unit: u128 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "bad duration {input:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    if num.is_empty() {
        return Err(format!("bad duration {input:?}: missing number"));
    }
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int_part.is_empty() || frac_part.contains('.') || (num.contains('.') && frac_part.is_empty())
    {
        return Err(format!("bad duration {input:?}: malformed number {num:?}"));
    }
    let too_big = || format!("bad duration {input:?}: too large");
    let int: u128 = int_part.parse().map_err(|_| too_big())?;
    // Fraction scaled to 10^-9 units so "1.5" -> 500_000_000.
    if frac_part.len() > 9 {
        return Err(format!("bad duration {input:?}: too many decimals"));
    }
    let frac: u128 = if frac_part.is_empty() {
        0
    } else {
        let digits: u128 = frac_part.parse().map_err(|_| too_big())?;
        digits * 10u128.pow(9 - frac_part.len() as u32)
    };
    // Total in nanoseconds of a millisecond-exact value.
    let total_ns = int
        .checked_mul(ms_per_unit * 1_000_000)
        .and_then(|v| v.checked_add(frac * ms_per_unit / 1_000))
        .ok_or_else(too_big)?;
    if !(frac * ms_per_unit).is_multiple_of(1_000) || total_ns % 1_000_000 != 0 {
        return Err(format!("bad duration {input:?}: finer than a millisecond"));
    }
    let ms = total_ns / 1_000_000;
    let ms = u64::try_from(ms).map_err(|_| too_big())?;
    Ok(Duration::from_millis(ms))
}

/// Format a duration the way [`parse_duration`] reads it back, shortest form.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".to_string()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", s.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.01s"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("40.95s"), Ok(Duration::from_millis(40950)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "1", "s", "1.s", ".5s", "1x", "1.0001s", "1..2s", "-1s", "1 s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn round_trips() {
        for ms in [
            0u64, 10, 100, 999, 1000, 1500, 40950, 60_000, 90_000, 3_600_000,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{ms}");
        }
    }
}
