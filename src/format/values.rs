//! Cell and bullet values: threshold bounds (`< 70%`), alert conditions
//! (`p99 > 1s for 10 minutes`) and durations, parsed and written back losslessly.

use std::time::Duration;

use crate::model::{AlertRule, Comparison, Condition, Unit, duration};

/// Parses a unit suffix as written in documents.
pub(crate) fn parse_unit(s: &str) -> Option<Unit> {
    Some(match s.trim() {
        "" => Unit::Count,
        "%" => Unit::Percent,
        "ms" => Unit::Milliseconds,
        "s" => Unit::Seconds,
        "d" | "days" => Unit::Days,
        "B" => Unit::Bytes,
        "°C" => Unit::Celsius,
        "W" => Unit::Watts,
        _ => return None,
    })
}

/// Formats a number so that parsing it gives the same `f64` back (`70`, `0.1`).
pub(crate) fn number(v: f64) -> String {
    format!("{v}")
}

/// A value with its unit suffix: `85%`, `500ms`, `0.1%`.
pub(crate) fn quantity(v: f64, unit: Unit) -> String {
    format!("{}{}", number(v), unit.suffix())
}

/// Parses `70%`, `-1.5ms`, `200`: a decimal number and a unit suffix.
pub(crate) fn parse_quantity(s: &str) -> Option<(f64, Unit)> {
    let s = s.trim();
    let mut end = 0;
    let mut seen_digit = false;
    let mut seen_dot = false;
    for (k, c) in s.char_indices() {
        match c {
            '+' | '-' if k == 0 => {}
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end = k + c.len_utf8();
    }
    if !seen_digit {
        return None;
    }
    let value: f64 = s[..end].parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    Some((value, parse_unit(&s[end..])?))
}

/// Parses a threshold cell: `< 70%` -> (`<`, 70, Percent).
pub(crate) fn parse_bound(s: &str) -> Option<(char, f64, Unit)> {
    let s = s.trim();
    let op = s.chars().next().filter(|c| matches!(c, '<' | '>'))?;
    let (v, unit) = parse_quantity(&s[1..])?;
    Some((op, v, unit))
}

/// A duration the way documents write it: `5 minutes`, `1 hour`, `30 seconds`, `250ms`.
pub(crate) fn duration_words(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 || !ms.is_multiple_of(1000) || !d.subsec_nanos().is_multiple_of(1_000_000) {
        return duration::format(d);
    }
    let secs = d.as_secs();
    for (unit, size) in [("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)] {
        if secs.is_multiple_of(size) {
            let n = secs / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    duration::format(d)
}

/// Parses a duration that can be written back exactly.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let d = duration::parse(s).ok()?;
    (duration::parse(&duration_words(d)).ok() == Some(d)).then_some(d)
}

fn comparison(s: &str) -> Option<(Comparison, &str)> {
    for (text, op) in [(">=", Comparison::Ge), ("<=", Comparison::Le), (">", Comparison::Gt), ("<", Comparison::Lt)] {
        if let Some(rest) = s.strip_prefix(text) {
            return Some((op, rest));
        }
    }
    None
}

/// Parses `[aggregation] OP value[unit] [for duration]`.
fn parse_condition(s: &str) -> Option<(Condition, Option<Duration>)> {
    let s = s.trim();
    let at = s.find(['<', '>'])?;
    let aggregation = s[..at].trim();
    let (op, rest) = comparison(&s[at..])?;
    let rest = rest.trim_start();
    let bound_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (value, unit) = parse_quantity(&rest[..bound_end])?;
    let tail = rest[bound_end..].trim();
    let window = if tail.is_empty() {
        None
    } else {
        let after = tail.strip_prefix("for")?;
        if !after.starts_with(char::is_whitespace) {
            return None;
        }
        Some(parse_duration(after)?)
    };
    let mut condition = Condition::new(op, value, unit);
    if !aggregation.is_empty() {
        if aggregation.contains(['<', '>']) {
            return None;
        }
        condition = condition.aggregation(aggregation);
    }
    Some((condition, window))
}

/// Parses an alerting-rule bullet: `High error rate (> 5% for 5 minutes)`, `Disk space > 80%`,
/// `GPU OOM errors`. Text that holds no readable condition becomes a rule with a name only.
pub(crate) fn parse_alert_rule(text: &str) -> AlertRule {
    let text = text.trim();
    match read_alert_rule(text) {
        // Keep the reading only when writing it back reads the same: a name such as `[ ]`
        // would turn the written bullet into a checklist item.
        Some(rule)
            if super::lex::checkbox(&alert_rule_text(&rule)).is_none()
                && read_alert_rule(&alert_rule_text(&rule)).as_ref() == Some(&rule) =>
        {
            rule
        }
        _ => AlertRule::new(text),
    }
}

fn read_alert_rule(text: &str) -> Option<AlertRule> {
    if let Some(open) = matching_open_paren(text) {
        let name = text[..open].trim();
        if !name.is_empty()
            && let Some((condition, window)) = parse_condition(&text[open + 1..text.len() - 1])
        {
            let mut rule = AlertRule::new(name).condition(condition);
            rule.window = window;
            return Some(rule);
        }
    }
    if let Some(at) = text.find(['<', '>']) {
        let name = text[..at].trim();
        if !name.is_empty()
            && !name.contains(['(', ')'])
            && let Some((condition, window)) = parse_condition(&text[at..])
        {
            let mut rule = AlertRule::new(name).condition(condition);
            rule.window = window;
            return Some(rule);
        }
    }
    None
}

/// The byte index of the `(` that matches a final `)`.
fn matching_open_paren(text: &str) -> Option<usize> {
    if !text.ends_with(')') {
        return None;
    }
    let mut depth = 0usize;
    for (k, c) in text.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Writes an alerting rule so that [`parse_alert_rule`] reads the same rule back.
pub(crate) fn alert_rule_text(rule: &AlertRule) -> String {
    let Some(c) = &rule.condition else { return rule.name.clone() };
    let cond = format!("{} {}", c.op, quantity(c.value, c.unit));
    let bare = c.aggregation.is_none() && rule.window.is_none() && !rule.name.contains(['<', '>', '(', ')']);
    if bare {
        return format!("{} {cond}", rule.name);
    }
    let mut inner = match &c.aggregation {
        Some(a) => format!("{a} {cond}"),
        None => cond,
    };
    if let Some(w) = rule.window {
        inner.push_str(&format!(" for {}", duration_words(w)));
    }
    format!("{} ({inner})", rule.name)
}
