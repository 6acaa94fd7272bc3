//! TAP version 13 rendering.
//!
//! One test point per item, in document order, described by its id and title. Pass, Warn,
//! Attested are `ok`; Fail and Error are `not ok` with a YAML diagnostic block (status,
//! severity, reason, probe targets); Skipped is `ok ... # SKIP reason`; Pending is
//! `not ok ... # TODO reason` (a TAP consumer does not count it as a failure, the readiness
//! verdict still does); Waived is `not ok ... # TODO waived: ...`. A trailing comment line
//! gives the readiness verdict.

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
    for (n, item) in report.items.iter().enumerate() {
        let n = n + 1;
        let desc = escape(&format!("{} {}", item.id, item.title));
        let reason = escape(&item.reason);
        match item.status {
            Status::Pass | Status::Warn | Status::Attested => {
                let _ = writeln!(out, "ok {n} - {desc}");
                if item.status != Status::Pass && !reason.is_empty() {
                    let _ = writeln!(out, "# {}: {reason}", item.status);
                }
            }
            Status::Skipped => {
                let _ = writeln!(out, "ok {n} - {desc} # SKIP {reason}");
            }
            Status::Pending => {
                let _ = writeln!(out, "not ok {n} - {desc} # TODO {reason}");
            }
            Status::Waived => {
                let _ = writeln!(out, "not ok {n} - {desc} # TODO {reason}");
            }
            Status::Fail | Status::Error => {
                let _ = writeln!(out, "not ok {n} - {desc}");
                out.push_str("  ---\n");
                let _ = writeln!(out, "  status: {}", item.status);
                let _ = writeln!(out, "  severity: {}", item.severity);
                let _ = writeln!(out, "  gating: {}", item.gating);
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
    out
}
