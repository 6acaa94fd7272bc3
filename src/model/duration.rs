//! Human durations for documents and configs: `500ms`, `30s`, `5m`, `10 minutes`, `24h`, `7d`.

use std::time::Duration;

use super::ModelError;

/// Parses a human duration: a number followed by a unit (`ms`, `s`, `m`, `h`, `d`, or the words
/// `seconds`, `minutes`, `hours`, `days`, singular or plural). Several parts add up (`1h30m`).
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::model::duration::parse;
/// assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
/// assert_eq!(parse("10 minutes").unwrap(), Duration::from_secs(600));
/// assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse("soon").is_err());
/// ```
///
/// # Errors
/// [`ModelError::Parse`] naming the input and what was expected.
pub fn parse(input: &str) -> Result<Duration, ModelError> {
    let err =
        |reason: &str| ModelError::Parse { what: "duration", input: input.to_string(), reason: reason.to_string() };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return Err(err("expected a number followed by a unit such as 30s, 5m, 24h, 7d"));
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| err("not a number"))?;
        rest = rest[num_end..].trim_start();
        let unit_end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let factor = match unit {
            "ms" | "millisecond" | "milliseconds" => 0.001,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            "" => return Err(err("missing unit (ms, s, m, h, d)")),
            _ => return Err(err(&format!("unknown unit `{unit}` (use ms, s, m, h, d)"))),
        };
        total += n * factor;
        rest = rest[unit_end..].trim_start();
    }
    Duration::try_from_secs_f64(total).map_err(|_| err("out of range"))
}

/// Formats a duration the way [`parse`] reads it: `5m`, `10m`, `24h`, `1h30m`, `250ms`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
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
