//! Prometheus text exposition rendering, for a textfile collector or a `/metrics` endpoint.
//!
//! Metrics (all gauges):
//!
//! | metric | labels | value |
//! |---|---|---|
//! | `nexus_readiness_item_status` | `item`, `section`, `severity`, `status` | one-hot: 1 for the item's status, 0 for the seven others |
//! | `nexus_readiness_item_status_code` | `item`, `section`, `severity` | the status as a number ([`Status::code`]: pass 0, warn 1, fail 2, error 3, skipped 4, pending 5, attested 6, waived 7) |
//! | `nexus_readiness_item_gating` | `item` | 1 when the item gates readiness |
//! | `nexus_readiness_item_duration_seconds` | `item` | the item's probe wall time |
//! | `nexus_readiness_items` | `status` | number of items per status |
//! | `nexus_readiness_ready` | | 1 when ready, else 0 |
//! | `nexus_readiness_unverified` | | 1 when ready only because `allow_unverified` let unverified gating items through |
//! | `nexus_readiness_gating_not_verified_items` | | gating items nothing looked at (not configured) |
//! | `nexus_readiness_items_verified` | | items a probe decided |
//! | `nexus_readiness_items_automatable` | | items a probe could decide in this run |
//! | `nexus_readiness_min_verified_items` | | the coverage floor as a count (only when set) |
//! | `nexus_readiness_item_blocking` | `item`, `rule` | 1 for each gating item that blocks readiness, with the rule |
//! | `nexus_readiness_signed_off` | | 1 when every sign-off role signed |
//! | `nexus_readiness_last_run_timestamp_seconds` | | Unix time the run finished |
//! | `nexus_readiness_run_duration_seconds` | | the run's wall time |
//! | `nexus_readiness_measurement` | `item`, `name`, `unit`, + the measurement's labels | a probe's measured value |
//! | `nexus_readiness_measurement_threshold` | `item`, `name`, `unit` (the threshold's), `bound` (`healthy`/`breach`), + labels | the bounds of the attached threshold |
//! | `nexus_readiness_measurement_level` | `item`, `name`, `unit`, + labels | the evaluation: 0 ok, 1 warn, 2 breach |
//!
//! `section` is the item's section titles joined with ` / `. Label values are escaped
//! (`\\`, `\"`, `\n`); measurement label names are sanitized to `[a-zA-Z_][a-zA-Z0-9_]*`, and
//! one that collides with a fixed label (`item`, `name`, `unit`, `bound`) is prefixed with
//! `label_`.

use std::fmt::Write as _;

use super::{Report, Status};
use crate::model::{Level, Unit};
use crate::probe::Measurement;

/// Escapes a label value for the text exposition format.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A valid label name for `k`.
fn label_name(k: &str) -> String {
    let mut out: String = k.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if matches!(out.as_str(), "item" | "name" | "unit" | "bound" | "status" | "section" | "severity")
        || out.starts_with("__")
    {
        out = format!("label_{}", out.trim_start_matches('_'));
    }
    out
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

fn measurement_labels(item: &str, m: &Measurement, unit: Unit) -> String {
    let mut s = format!(
        "item=\"{}\",name=\"{}\",unit=\"{}\"",
        escape_label_value(item),
        escape_label_value(&m.name),
        unit.as_str()
    );
    for (k, v) in &m.labels {
        let _ = write!(s, ",{}=\"{}\"", label_name(k), escape_label_value(v));
    }
    s
}

/// The report in the Prometheus text exposition format.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(1024 + report.items.len() * 1200);
    header(&mut out, "nexus_readiness_ready", "Whether the deployment is ready (1) or not (0).");
    let _ = writeln!(out, "nexus_readiness_ready {}", u8::from(report.ready));
    header(
        &mut out,
        "nexus_readiness_unverified",
        "Whether the run is ready only because allow_unverified let unverified gating items through (1) or not (0).",
    );
    let _ = writeln!(out, "nexus_readiness_unverified {}", u8::from(report.unverified));
    header(&mut out, "nexus_readiness_gating_not_verified_items", "Gating items that no probe looked at.");
    let _ = writeln!(out, "nexus_readiness_gating_not_verified_items {}", report.summary.gating_not_configured);
    header(&mut out, "nexus_readiness_items_verified", "Items a probe decided (pass, warn or fail).");
    let _ = writeln!(out, "nexus_readiness_items_verified {}", report.coverage.verified);
    header(&mut out, "nexus_readiness_items_automatable", "Items a probe could decide in this run.");
    let _ = writeln!(out, "nexus_readiness_items_automatable {}", report.coverage.automatable);
    if let Some(r) = report.coverage.required {
        header(&mut out, "nexus_readiness_min_verified_items", "The coverage floor: items a probe must decide.");
        let _ = writeln!(out, "nexus_readiness_min_verified_items {r}");
    }
    header(&mut out, "nexus_readiness_item_blocking", "Gating items that block readiness, with the rule (1 each).");
    for i in report.blockers() {
        if let Some(rule) = i.blocked_by {
            let _ = writeln!(
                out,
                "nexus_readiness_item_blocking{{item=\"{}\",rule=\"{rule}\"}} 1",
                escape_label_value(i.id.as_str())
            );
        }
    }
    header(&mut out, "nexus_readiness_signed_off", "Whether every sign-off role signed (1) or not (0).");
    let _ = writeln!(out, "nexus_readiness_signed_off {}", u8::from(report.signed_off));
    header(&mut out, "nexus_readiness_last_run_timestamp_seconds", "Unix time the readiness run finished.");
    let _ = writeln!(
        out,
        "nexus_readiness_last_run_timestamp_seconds {}",
        value(report.finished.timestamp_millis() as f64 / 1000.0)
    );
    header(&mut out, "nexus_readiness_run_duration_seconds", "Wall time of the readiness run.");
    let _ = writeln!(out, "nexus_readiness_run_duration_seconds {}", value(report.duration.as_secs_f64()));
    header(&mut out, "nexus_readiness_items", "Number of checklist items per status.");
    for s in Status::ALL {
        let _ = writeln!(out, "nexus_readiness_items{{status=\"{s}\"}} {}", report.summary.count(s));
    }

    let labels: Vec<String> = report
        .items
        .iter()
        .map(|i| {
            format!(
                "item=\"{}\",section=\"{}\",severity=\"{}\"",
                escape_label_value(i.id.as_str()),
                escape_label_value(&i.section.join(" / ")),
                i.severity
            )
        })
        .collect();
    header(
        &mut out,
        "nexus_readiness_item_status",
        "Item status, one-hot: 1 for the item's status (pass, warn, fail, error, skipped, pending, attested, waived).",
    );
    for (i, l) in report.items.iter().zip(&labels) {
        for s in Status::ALL {
            let _ = writeln!(out, "nexus_readiness_item_status{{{l},status=\"{s}\"}} {}", u8::from(i.status == s));
        }
    }
    header(
        &mut out,
        "nexus_readiness_item_status_code",
        "Item status as a number: pass 0, warn 1, fail 2, error 3, skipped 4, pending 5, attested 6, waived 7.",
    );
    for (i, l) in report.items.iter().zip(&labels) {
        let _ = writeln!(out, "nexus_readiness_item_status_code{{{l}}} {}", i.status.code());
    }
    header(&mut out, "nexus_readiness_item_gating", "Whether the item gates readiness (1) or not (0).");
    for i in &report.items {
        let _ = writeln!(
            out,
            "nexus_readiness_item_gating{{item=\"{}\"}} {}",
            escape_label_value(i.id.as_str()),
            u8::from(i.gating)
        );
    }
    header(&mut out, "nexus_readiness_item_duration_seconds", "Wall time of the item's probes.");
    for i in &report.items {
        let _ = writeln!(
            out,
            "nexus_readiness_item_duration_seconds{{item=\"{}\"}} {}",
            escape_label_value(i.id.as_str()),
            value(i.duration.as_secs_f64())
        );
    }

    let measured: Vec<(&str, &Measurement)> =
        report.items.iter().flat_map(|i| i.measurements().map(move |m| (i.id.as_str(), m))).collect();
    if !measured.is_empty() {
        header(&mut out, "nexus_readiness_measurement", "A value measured by a probe, in its unit.");
        for (item, m) in &measured {
            let _ = writeln!(
                out,
                "nexus_readiness_measurement{{{}}} {}",
                measurement_labels(item, m, m.unit),
                value(m.value)
            );
        }
        let evaluated: Vec<_> = measured.iter().filter(|(_, m)| m.evaluation.is_some()).collect();
        if !evaluated.is_empty() {
            header(
                &mut out,
                "nexus_readiness_measurement_threshold",
                "Bounds of the threshold attached to a measurement (bound: healthy or breach).",
            );
            for (item, m) in &evaluated {
                if let Some(e) = &m.evaluation {
                    let l = measurement_labels(item, m, e.unit);
                    let _ = writeln!(
                        out,
                        "nexus_readiness_measurement_threshold{{{l},bound=\"healthy\"}} {}",
                        value(e.healthy)
                    );
                    let _ = writeln!(
                        out,
                        "nexus_readiness_measurement_threshold{{{l},bound=\"breach\"}} {}",
                        value(e.breach)
                    );
                }
            }
            header(
                &mut out,
                "nexus_readiness_measurement_level",
                "Threshold evaluation of a measurement: 0 ok, 1 warn, 2 breach.",
            );
            for (item, m) in &evaluated {
                if let Some(e) = &m.evaluation {
                    let level = match e.level {
                        Level::Ok => 0,
                        Level::Warn => 1,
                        Level::Breach => 2,
                    };
                    let _ = writeln!(
                        out,
                        "nexus_readiness_measurement_level{{{}}} {level}",
                        measurement_labels(item, m, m.unit)
                    );
                }
            }
        }
    }
    out
}
