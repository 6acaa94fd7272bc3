//! Human durations for documents and configs: `500ms`, `30s`, `5m`, `10 minutes`, `24h`, `7d`.

use std::time::Duration;

use super::ModelError;

/// The longest duration [`parse`] accepts: 100 years (36,500 days). Longer ones are refused as
/// out of range, so that adding a parsed duration to an `Instant` or a date cannot overflow.
pub const MAX: Duration = Duration::from_secs(36_500 * 86_400);

/// Parses a human duration: a number followed by a unit (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`,
/// `w`, or the words `seconds`, `minutes`, `hours`, `days`, singular or plural). Several parts
/// add up (`1h30m`). Decimals are exact (`1.5s`); at most [`MAX`] (100 years).
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::model::duration::parse;
/// assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
/// assert_eq!(parse("10 minutes").unwrap(), Duration::from_secs(600));
/// assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse("soon").is_err());
/// assert!(parse("10000000000000000000s").is_err());
/// ```
///
/// # Errors
/// [`ModelError::Parse`] naming the input and what was expected, or saying it is out of range.
pub fn parse(input: &str) -> Result<Duration, ModelError> {
    let err =
        |reason: &str| ModelError::Parse { what: "duration", input: input.to_string(), reason: reason.to_string() };
    let out_of_range = || err("out of range (at most 100 years)");
    let s = input.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return Err(err("expected a number followed by a unit such as 30s, 5m, 24h, 7d"));
        }
        let num = &rest[..num_end];
        rest = rest[num_end..].trim_start();
        let unit_end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let nanos_per: u128 = match unit {
            "ns" | "nanosecond" | "nanoseconds" => 1,
            "us" | "microsecond" | "microseconds" => 1_000,
            "ms" | "millisecond" | "milliseconds" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            "w" | "week" | "weeks" => 604_800_000_000_000,
            "" => return Err(err("missing unit (ms, s, m, h, d)")),
            _ => return Err(err(&format!("unknown unit `{unit}` (use ms, s, m, h, d)"))),
        };
        let part = match part_nanos(num, nanos_per) {
            Part::Nanos(n) => n,
            Part::NotANumber => return Err(err("not a number")),
            Part::TooLarge => return Err(out_of_range()),
        };
        total = total.checked_add(part).ok_or_else(out_of_range)?;
        if total > MAX.as_nanos() {
            return Err(out_of_range());
        }
        rest = rest[unit_end..].trim_start();
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| out_of_range())?;
    // The remainder is below 10^9, so it fits.
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| out_of_range())?;
    Ok(Duration::new(secs, nanos))
}

enum Part {
    Nanos(u128),
    NotANumber,
    TooLarge,
}

/// `num` (digits with at most one `.`) times `nanos_per`, exactly, in integers; digits past
/// the nanosecond are dropped.
fn part_nanos(num: &str, nanos_per: u128) -> Part {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Part::NotANumber;
    }
    let int = int.trim_start_matches('0');
    // 10^21 nanoseconds is already far beyond MAX, whatever the unit.
    if int.len() > 21 {
        return Part::TooLarge;
    }
    let int_value: u128 = if int.is_empty() {
        0
    } else {
        match int.parse() {
            Ok(v) => v,
            Err(_) => return Part::NotANumber,
        }
    };
    // 18 fractional digits are more than a nanosecond of a week needs.
    let frac = &frac[..frac.len().min(18)];
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        match frac.parse::<u128>() {
            Ok(v) => v * nanos_per / 10u128.pow(frac.len() as u32),
            Err(_) => return Part::NotANumber,
        }
    };
    match int_value.checked_mul(nanos_per).and_then(|n| n.checked_add(frac_value)) {
        Some(n) => Part::Nanos(n),
        None => Part::TooLarge,
    }
}

/// Formats a duration the way [`parse`] reads it: `5m`, `10m`, `24h`, `1h30m`, `250ms`
/// (`1500us` or `10ns` below a millisecond), so that `parse(&format(d)) == d`.
pub fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if !nanos.is_multiple_of(1_000) {
        return format!("{nanos}ns");
    }
    if !nanos.is_multiple_of(1_000_000) {
        return format!("{}us", nanos / 1_000);
    }
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Serde helpers for `Duration` as a human string ("5m").
pub mod human {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `"5m"`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }

    /// Deserializes from `"5m"`, `"10 minutes"`, ...
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde helpers for `Option<Duration>` as a human string.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some(d)` as `"5m"`, `None` as none.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an optional human duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| super::parse(&s).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_are_out_of_range_not_a_panic() {
        for s in [
            "10000000000000000000s",
            "18446744073709551616s",
            "99999999999999999999999999999999999999999999d",
            "36501d",
            "36500d1s",
            "5000000000000000w",
            "1e400s",
            "3153600001s",
        ] {
            match parse(s) {
                Err(ModelError::Parse { reason, .. }) => {
                    assert!(reason.contains("out of range") || reason.contains("unit"), "{s}: {reason}")
                }
                other => panic!("{s}: {other:?}"),
            }
        }
        assert_eq!(parse("36500d").unwrap(), MAX);
    }

    #[test]
    fn decimals_are_exact_and_format_round_trips() {
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("0.1s").unwrap(), Duration::from_millis(100));
        assert_eq!(parse(".5m").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("1.0000000001s").unwrap(), Duration::from_secs(1));
        assert!(parse(".").is_err());
        assert!(parse("1..2s").is_err());
        assert!(parse("1.2.3s").is_err());
        for d in [
            Duration::from_nanos(1),
            Duration::from_nanos(1500),
            Duration::from_micros(1500),
            Duration::from_millis(250),
            Duration::from_secs(5400),
            MAX,
        ] {
            assert_eq!(parse(&format(d)).unwrap(), d, "{}", format(d));
        }
    }
}
