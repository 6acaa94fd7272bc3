//! Markdown rendering: the checklist as a person reads it, with ticked boxes and a status.
//!
//! The title, a verdict line and the summary, the blocking items, then the sections as
//! headings (`##`, `###`, ...) and one line per item: `- [x]` when the item is done (Pass,
//! Warn, Attested), `- [ ]` otherwise, the title, the status in bold and the reason. Probe
//! results follow as nested bullets. Text from probes is escaped so it cannot turn into
//! markup.

use std::fmt::Write as _;

use super::{Report, one_line};

/// Escapes Markdown inline markup in one line of text.
pub(crate) fn escape(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~') {
            out.push('\\');
        }
        out.push(c);
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
    let _ = writeln!(
        out,
        "**Ready: {}** · {} · started {} · took {:.2}s{}\n",
        if report.ready { "yes" } else { "no" },
        escape(&report.summary.to_string()),
        report.started.to_rfc3339(),
        report.duration.as_secs_f64(),
        if report.cancelled { " · cancelled" } else { "" }
    );
    let blockers: Vec<String> = report.blockers().map(|i| format!("`{}` ({})", i.id, i.status)).collect();
    if !blockers.is_empty() {
        let _ = writeln!(out, "Blocking: {}\n", blockers.join(", "));
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
            if i.gating && i.blocks(report.fail_on_warn) {
                out.push_str(" *(blocks readiness)*");
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
                escape(&metric),
                e.unit.format(e.value),
                e.unit.format(e.healthy),
                e.unit.format(e.breach),
                e.level,
                escape(e.action.as_deref().unwrap_or("")),
                item.id
            );
        }
    }
    if !report.sign_off.is_empty() {
        let _ = writeln!(out, "\n## Sign-off\n");
        for s in &report.sign_off {
            let _ = writeln!(
                out,
                "- [{}] {}{}",
                if s.is_signed() { "x" } else { " " },
                escape(&s.role),
                s.name.as_deref().map(|n| format!(": {}", escape(n))).unwrap_or_default()
            );
        }
    }
    out
}
