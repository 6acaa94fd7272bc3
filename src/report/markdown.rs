//! Markdown rendering: the checklist as a person reads it, with ticked boxes and a status.
//!
//! The title, the verdict headline and the summary, the blocking items with the rule that
//! makes each block, then the sections as headings (`##`, `###`, ...) and one line per item:
//! `- [x]` when the item is done (Pass, Warn, Attested), `- [ ]` otherwise, the title, the
//! status in bold and the reason. Probe results follow as nested bullets. Text from probes is
//! escaped so it cannot turn into markup, except code spans: a balanced `` `code` `` in a
//! reason renders as code (its content cannot be markup in CommonMark).

use std::fmt::Write as _;

use super::{BlockRule, Report, human, one_line, plural};

/// Text for inside a single-backtick code span: no backtick, one line.
fn code(s: &str) -> String {
    one_line(s).replace('`', "'")
}

fn escape_plain(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Escapes every Markdown inline markup character of one line of text, backticks included:
/// for table cells.
fn cell(s: &str) -> String {
    let mut out = String::new();
    escape_plain(&one_line(s), &mut out);
    out
}

/// Escapes Markdown inline markup in one line of text; balanced single-backtick code spans
/// are kept as code.
pub(crate) fn escape(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    let parts: Vec<&str> = s.split('`').collect();
    // An even number of backticks (odd number of parts) pairs up; a lone one is escaped.
    let balanced = parts.len() % 2 == 1 && !s.contains("``");
    if !balanced {
        escape_plain(&s, &mut out);
        return out;
    }
    for (k, part) in parts.iter().enumerate() {
        if k % 2 == 0 {
            escape_plain(part, &mut out);
        } else if part.trim().is_empty() {
            out.push_str("\\`");
            escape_plain(part, &mut out);
            out.push_str("\\`");
        } else {
            out.push('`');
            out.push_str(part);
            out.push('`');
        }
    }
    out
}

/// The headings to open (depth, title) when going from section path `prev` to `cur`.
pub(crate) fn new_headings<'a>(prev: &[String], cur: &'a [String]) -> impl Iterator<Item = (usize, &'a String)> {
    let common = if prev == cur { cur.len() } else { prev.iter().zip(cur).take_while(|(a, b)| a == b).count() };
    cur.iter().enumerate().skip(common)
}

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(256 + report.items.len() * 120);
    let _ = writeln!(out, "# {}\n", escape(&report.title));
    let _ = writeln!(out, "**{}**\n", escape(report.headline()));
    let c = &report.coverage;
    let _ = writeln!(
        out,
        "{} · verified by a probe: {} of {} automatable {} · started {} · took {}{}\n",
        escape(&report.summary.to_string()),
        c.verified,
        c.automatable,
        plural(c.automatable, "item", "items"),
        report.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        human::duration(report.duration),
        if report.cancelled { " · cancelled" } else { "" }
    );
    if report.unverified {
        let n = report.summary.gating_not_configured;
        let _ = writeln!(
            out,
            "> **Unverified:** `allow_unverified` is set: {n} gating {} that no probe looked at did not block this verdict.\n",
            plural(n, "item", "items")
        );
    }
    let shortfall = report.coverage_shortfall();
    if !shortfall.is_empty() {
        let _ = writeln!(out, "Coverage floor not met: {}\n", escape(&shortfall));
    }
    let blockers: Vec<_> = report.blockers().collect();
    if !blockers.is_empty() {
        let _ = writeln!(out, "## Blocking readiness\n");
        for rule in BlockRule::ALL {
            let items: Vec<_> = blockers.iter().filter(|i| i.blocked_by == Some(rule)).collect();
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "**{}** ({}):\n", escape(rule.explain()), items.len());
            if rule == BlockRule::NotVerified {
                // One line per key that would enable them.
                let mut by_key: std::collections::BTreeMap<Option<&str>, Vec<String>> = Default::default();
                for i in &items {
                    by_key.entry(i.config_key.as_deref()).or_default().push(format!("`{}`", code(i.id.as_str())));
                }
                for (key, ids) in by_key {
                    let what = key.map_or_else(|| "bind a probe".to_string(), |k| format!("set `{}`", code(k)));
                    let _ = writeln!(out, "- {what}: {}", ids.join(", "));
                }
            } else {
                for i in items {
                    let _ = writeln!(out, "- `{}` — **{}**: {}", code(i.id.as_str()), i.status, escape(&i.reason));
                }
            }
            out.push('\n');
        }
    }
    let mut open_list = false;
    let mut prev: &[String] = &[];
    for i in &report.items {
        for (depth, title) in new_headings(prev, &i.section) {
            if open_list {
                out.push('\n');
                open_list = false;
            }
            let _ = writeln!(out, "{} {}\n", "#".repeat((depth + 2).min(6)), escape(title));
        }
        prev = &i.section;
        {
            open_list = true;
            let _ = write!(
                out,
                "- [{}] {} — **{}**",
                if i.status.is_done() { "x" } else { " " },
                escape(&i.title),
                i.status
            );
            if !i.reason.is_empty() {
                let _ = write!(out, ": {}", escape(&i.reason));
            }
            if let Some(rule) = i.blocked_by {
                let _ = write!(out, " *(blocks readiness: {rule})*");
            }
            if i.ran_alone {
                out.push_str(" *(ran alone: side effects)*");
            }
            out.push('\n');
            if i.probes.len() > 1 {
                for p in &i.probes {
                    let _ = writeln!(out, "  - `{}`: {}", p.target.replace('`', "'"), escape(p.text()));
                }
            }
        }
    }
    let evaluated: Vec<_> = report
        .items
        .iter()
        .flat_map(|i| i.measurements().filter_map(move |m| m.evaluation.as_ref().map(|e| (i, m, e))))
        .collect();
    if !evaluated.is_empty() {
        // The source document's capacity table, with the live value in the "Current" column.
        let _ = writeln!(out, "\n## Thresholds\n");
        let _ = writeln!(out, "| Metric | Current | Healthy | Threshold | Level | Action | Item |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for (item, m, e) in evaluated {
            let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let metric =
                if labels.is_empty() { e.metric.clone() } else { format!("{} ({})", e.metric, labels.join(", ")) };
            let (better, worse) = match e.direction {
                crate::model::Direction::Ceiling => ("<", ">"),
                crate::model::Direction::Floor => (">", "<"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {better} {} | {worse} {} | {} | {} | `{}` |",
                cell(&metric),
                human::value(e.unit, e.value),
                human::value(e.unit, e.healthy),
                human::value(e.unit, e.breach),
                e.level,
                match (e.level, e.action.as_deref()) {
                    (_, None) => String::new(),
                    (crate::model::Level::Breach, Some(a)) => cell(a),
                    (_, Some(a)) => format!("on breach: {}", cell(a)),
                },
                item.id
            );
        }
    }
    if !report.sign_off.is_empty() {
        let _ = writeln!(out, "\n## Sign-off\n");
        let _ = writeln!(out, "| Role | Name | Date | Signature |");
        let _ = writeln!(out, "|---|---|---|---|");
        for s in &report.sign_off {
            let opt = |v: &Option<String>| v.as_deref().map(cell).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} |",
                if s.is_signed() { "☑" } else { "☐" },
                cell(&s.role),
                opt(&s.name),
                opt(&s.date),
                opt(&s.signature)
            );
        }
    }
    out
}
