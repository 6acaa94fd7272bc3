//! Words and numbers as people read them: plurals, values with units, durations.

use std::time::Duration;

use crate::model::Unit;

/// `one` when `n` is 1, else `many`: `plural(1, "item", "items")`.
pub(crate) fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A duration as people read it: `850ms`, `21.7s`, `4m 5s`, `1h 30m`, `2d 3h`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        return format!("{}ms", d.as_millis());
    }
    if secs < 60.0 {
        let t = format!("{:.1}", (secs * 10.0).floor() / 10.0);
        return format!("{}s", t.trim_end_matches(".0"));
    }
    let total = d.as_secs();
    let (days, hours, mins, s) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (mins, "m"), (s, "s")]
        .iter()
        .skip_while(|(v, _)| *v == 0)
        .take(2)
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect();
    parts.join(" ")
}

/// A value in its unit as people read it: durations as durations (`21.7s`, `1d`), days as
/// whole days the way probes word them (`89 days`: 89.6 days left is 89 full days), others
/// with the unit's suffix (`85%`, `500ms`).
pub(crate) fn value(unit: Unit, v: f64) -> String {
    if !v.is_finite() {
        return unit.format(v);
    }
    match unit {
        Unit::Seconds if v >= 0.0 => duration(Duration::from_secs_f64(v)),
        Unit::Days => {
            let d = v.floor();
            let n = d.abs() as usize;
            format!("{d:.0} {}", plural(n, "day", "days"))
        }
        _ => unit.format(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_values_read_naturally() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(21_743)), "21.7s");
        assert_eq!(duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(duration(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(duration(Duration::from_secs(245)), "4m 5s");
        assert_eq!(value(Unit::Seconds, 86_400.0), "1d");
        assert_eq!(value(Unit::Seconds, 21.743), "21.7s");
        assert_eq!(value(Unit::Days, 89.6), "89 days");
        assert_eq!(value(Unit::Days, 1.2), "1 day");
        assert_eq!(value(Unit::Percent, 85.0), "85%");
        assert_eq!(plural(1, "item", "items"), "item");
        assert_eq!(plural(0, "item", "items"), "items");
    }
}
