//! reStructuredText rendering: the checklist as in the source document, with ticked boxes and
//! a status per item.
//!
//! The title (`=` over and under), a verdict paragraph and the summary, then the sections with
//! the source document's underlines (`-` for top-level sections, `~` below, then `^`) and one
//! bullet per item: `- [x]` when the item is done (Pass, Warn, Attested), `- [ ]` otherwise,
//! the title, the status in bold and the reason. Text from probes is escaped.

use std::fmt::Write as _;

use super::{Report, markdown::new_headings, one_line};

fn escape(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn underline(title: &str, c: char) -> String {
    std::iter::repeat_n(c, title.chars().count().max(1)).collect()
}

/// The report as reStructuredText.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(256 + report.items.len() * 120);
    let title = escape(&report.title);
    let bar = underline(&title, '=');
    let _ = writeln!(out, "{bar}\n{title}\n{bar}\n");
    let _ = writeln!(out, "**{}**\n", escape(report.headline()));
    let _ = writeln!(
        out,
        "{} — verified by a probe: {} of {} — started {} — took {}{}\n",
        escape(&report.summary.to_string()),
        report.coverage.verified,
        report.coverage.automatable,
        report.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        super::human::duration(report.duration),
        if report.cancelled { " — cancelled" } else { "" }
    );
    let blockers: Vec<String> = report
        .blockers()
        .map(|i| format!("- ``{}`` ({}): {} — *{}*", i.id, i.status, escape(&i.reason), escape(&i.block_explanation())))
        .collect();
    if !blockers.is_empty() {
        let _ = writeln!(out, "Blocking readiness:\n\n{}\n", blockers.join("\n"));
    }
    let mut open_list = false;
    let mut prev: &[String] = &[];
    for i in &report.items {
        for (depth, t) in new_headings(prev, &i.section) {
            if open_list {
                out.push('\n');
                open_list = false;
            }
            let t = escape(t);
            let c = ['-', '~', '^', '"'][depth.min(3)];
            let _ = writeln!(out, "{t}\n{}\n", underline(&t, c));
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
            out.push('\n');
        }
    }
    if !report.sign_off.is_empty() {
        let _ = writeln!(out, "\nSign-off\n--------\n");
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
