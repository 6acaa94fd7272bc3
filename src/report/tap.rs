//! TAP version 13 rendering.
//!
//! One test point per item, in document order, described by its id and title. Pass, Warn,
//! Attested are `ok`; Fail, Error, and any gating item that blocks readiness (a blocking
//! Pending or Skipped item too) are `not ok` with a YAML diagnostic block (status, severity,
//! the blocking rule, reason, probe targets); other Skipped items are `ok ... # SKIP reason`;
//! other Pending items are `not ok ... # TODO reason`; Waived is `not ok ... # TODO waived:
//! ...`. The first comment line is the verdict headline; trailing comment lines give the
//! summary and `ready`.

use std::fmt::Write as _;

use super::{Report, Status, one_line};

fn escape(s: &str) -> String {
    one_line(s).replace('\\', "\\\\").replace('#', "\\#")
}

fn yaml_str(s: &str) -> String {
    serde_json::Value::String(one_line(s)).to_string()
}

/// The report as TAP 13.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(64 + report.items.len() * 96);
    out.push_str("TAP version 13\n");
    let _ = writeln!(out, "1..{}", report.items.len());
    let _ = writeln!(out, "# {}", escape(report.headline()));
    for (n, item) in report.items.iter().enumerate() {
        let n = n + 1;
        let desc = escape(&format!("{} {}", item.id, item.title));
        let reason = escape(&item.reason);
        match item.status {
            Status::Pass | Status::Warn | Status::Attested if !item.blocks() => {
                let _ = writeln!(out, "ok {n} - {desc}");
                if item.status != Status::Pass && !reason.is_empty() {
                    let _ = writeln!(out, "# {}: {reason}", item.status);
                }
            }
            Status::Skipped if !item.blocks() => {
                let _ = writeln!(out, "ok {n} - {desc} # SKIP {reason}");
            }
            Status::Pending if !item.blocks() => {
                let _ = writeln!(out, "not ok {n} - {desc} # TODO {reason}");
            }
            Status::Waived => {
                let _ = writeln!(out, "not ok {n} - {desc} # TODO {reason}");
            }
            _ => {
                let _ = writeln!(out, "not ok {n} - {desc}");
                out.push_str("  ---\n");
                let _ = writeln!(out, "  status: {}", item.status);
                let _ = writeln!(out, "  severity: {}", item.severity);
                let _ = writeln!(out, "  gating: {}", item.gating);
                if let Some(rule) = item.blocked_by {
                    let _ = writeln!(out, "  blocked_by: {rule}");
                    let _ = writeln!(out, "  rule: {}", yaml_str(&item.block_explanation()));
                }
                let _ = writeln!(out, "  message: {}", yaml_str(&item.reason));
                if !item.probes.is_empty() {
                    out.push_str("  probes:\n");
                    for p in &item.probes {
                        let _ = writeln!(out, "    - target: {}", yaml_str(&p.target));
                        let _ = writeln!(out, "      result: {}", yaml_str(p.text()));
                    }
                }
                out.push_str("  ...\n");
            }
        }
    }
    let _ = writeln!(out, "# {}", escape(&report.summary.to_string()));
    let _ = writeln!(out, "# ready: {}", report.ready);
    if report.unverified {
        let _ = writeln!(out, "# unverified: {}", escape(report.headline()));
    }
    out
}
