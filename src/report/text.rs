//! Plain-text summary for a terminal: the verdict first, then what blocks it, grouped by the
//! rule that makes each item block, then the other problems; passes are collapsed to a count
//! unless `verbose`.
//!
//! ```text
//! Production Deployment Checklist — NOT READY: 1 gating item failed; 35 gating items not verified
//! 58 items: 9 pass, 1 fail, 35 skipped, 12 attested, 1 waived (35 gating items not verified)
//! Verified by a probe: 10 of 46 automatable items · took 1.2s
//!
//! Blocking readiness: 36 gating items
//!   gating item failed (1)
//!     pre-deployment.security.tls-certificates-valid: certificate for api.example.com expired 3 days ago
//!   gating item not verified: no probe looked at it (35): set the key, waive it, or mark it not applicable
//!     set `targets.kubernetes` (16 items):
//!       pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested
//!       ...
//!
//! Passed: 9 items, attested or waived: 13 items (--verbose lists them)
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{BlockRule, ItemReport, Report, SkipKind, Status, human, one_line, plural};

/// The report as a plain-text summary; `verbose` lists every passed, attested and waived item
/// instead of counting them.
pub fn render(report: &Report, verbose: bool) -> String {
    let mut out = String::with_capacity(1024);
    let s = &report.summary;
    let _ = writeln!(out, "{} — {}", report.title, report.headline());
    let _ = writeln!(out, "{s}");
    let c = &report.coverage;
    let _ = write!(
        out,
        "Verified by a probe: {} of {} automatable {}",
        c.verified,
        c.automatable,
        plural(c.automatable, "item", "items")
    );
    if let (Some(m), Some(r)) = (report.min_verified, c.required) {
        let _ = write!(out, " (min_verified {m}: {r} needed)");
    }
    let _ = writeln!(out, " · took {}", human::duration(report.duration));
    if report.unverified {
        let _ = writeln!(
            out,
            "allow_unverified is set: {} gating {} nothing looked at did not block this verdict",
            s.gating_not_configured,
            plural(s.gating_not_configured, "item", "items")
        );
    }

    let blockers: Vec<&ItemReport> = report.blockers().collect();
    if !blockers.is_empty() || !report.coverage.met() || report.cancelled {
        let _ = writeln!(
            out,
            "\nBlocking readiness: {} gating {}",
            blockers.len(),
            plural(blockers.len(), "item", "items")
        );
        if !report.coverage.met() {
            let _ = writeln!(out, "  coverage floor not met: {}", report.coverage_shortfall());
        }
        if report.cancelled {
            let _ = writeln!(out, "  the run was cancelled");
        }
        for rule in BlockRule::ALL {
            let items: Vec<&&ItemReport> = blockers.iter().filter(|i| i.blocked_by == Some(rule)).collect();
            if items.is_empty() {
                continue;
            }
            let hint = match rule {
                BlockRule::NotVerified => ": set the key, waive it, or mark it not applicable",
                BlockRule::AttestationMissing => ": add [attestations.\"<item id>\"] entries",
                _ => "",
            };
            let _ = writeln!(out, "  {} ({}){hint}", rule.explain(), items.len());
            if rule == BlockRule::NotVerified {
                // Grouped by the key that would enable them: one line to act on per key.
                let mut by_key: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
                for i in &items {
                    by_key.entry(i.config_key.as_deref()).or_default().push(i.id.as_str());
                }
                for (key, ids) in by_key {
                    let what = key.map_or_else(|| "bind a probe".to_string(), |k| format!("set `{k}`"));
                    let _ = writeln!(out, "    {what} ({} {}):", ids.len(), plural(ids.len(), "item", "items"));
                    for id in ids {
                        let _ = writeln!(out, "      {id}");
                    }
                }
                continue;
            }
            for i in items {
                if rule == BlockRule::AttestationMissing {
                    let _ = writeln!(out, "    {}", i.id);
                } else {
                    let _ = writeln!(out, "    {}: {}", i.id, one_line(&i.reason));
                }
            }
        }
    }

    let by = |status: Status| report.items.iter().filter(move |i| i.status == status && !i.blocks());
    let problems: Vec<&ItemReport> = by(Status::Fail).chain(by(Status::Error)).collect();
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "\nOther problems (not gating): {} {}",
            problems.len(),
            plural(problems.len(), "item", "items")
        );
        for i in problems {
            let _ = writeln!(out, "  {:<7} {}: {}", i.status, i.id, one_line(&i.reason));
        }
    }
    let warns: Vec<&ItemReport> = by(Status::Warn).collect();
    if !warns.is_empty() {
        let _ = writeln!(out, "\nWarnings: {} {}", warns.len(), plural(warns.len(), "item", "items"));
        for i in warns {
            let _ = writeln!(out, "  {}: {}", i.id, one_line(&i.reason));
        }
    }

    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    for i in by(Status::Skipped).filter(|i| i.skip == Some(SkipKind::NotConfigured)) {
        *keys.entry(i.config_key.clone().unwrap_or_else(|| "(a binding)".into())).or_default() += 1;
    }
    if !keys.is_empty() {
        let n: usize = keys.values().sum();
        let _ = writeln!(
            out,
            "\nNot verified, not gating: {n} {} — keys that would enable them:",
            plural(n, "item", "items")
        );
        for (key, n) in &keys {
            let _ = writeln!(out, "  {key:<34} {n} {}", plural(*n, "item", "items"));
        }
    }
    let pending: Vec<&ItemReport> = by(Status::Pending).collect();
    if !pending.is_empty() {
        let _ = writeln!(
            out,
            "\nWaiting for a person (not gating): {} {} — add [attestations.\"<item id>\"] entries:",
            pending.len(),
            plural(pending.len(), "item", "items")
        );
        for i in pending {
            let _ = writeln!(out, "  {}", i.id);
        }
    }
    let alone: Vec<&ItemReport> = report.items.iter().filter(|i| i.ran_alone).collect();
    if !alone.is_empty() {
        let ids: Vec<&str> = alone.iter().map(|i| i.id.as_str()).collect();
        let _ = writeln!(out, "\nRan alone, after the others (side effects): {}", ids.join(", "));
    }

    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
    for i in by(Status::Skipped) {
        let why = match i.skip {
            Some(SkipKind::NotConfigured) => continue,
            Some(SkipKind::NotApplicable) => "not applicable",
            Some(SkipKind::PhaseNotRun) => "phase not run",
            Some(SkipKind::NotSelected) => "not selected",
            Some(SkipKind::Dependency) => "after a failed dependency",
            Some(SkipKind::Cancelled) => "cancelled or past the deadline",
            _ => "other",
        };
        *skipped.entry(why).or_default() += 1;
    }
    if !skipped.is_empty() {
        let parts: Vec<String> = skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(out, "\nSkipped: {}", parts.join(", "));
    }

    let done: Vec<&ItemReport> = by(Status::Attested).chain(by(Status::Waived)).collect();
    let passed: Vec<&ItemReport> = by(Status::Pass).collect();
    if verbose {
        if !passed.is_empty() {
            let _ = writeln!(out, "\nPassed: {} {}", passed.len(), plural(passed.len(), "item", "items"));
            for i in &passed {
                let _ = writeln!(out, "  {}: {}", i.id, one_line(&i.reason));
            }
        }
        if !done.is_empty() {
            let _ = writeln!(out, "\nAttested or waived: {} {}", done.len(), plural(done.len(), "item", "items"));
            for i in &done {
                let _ = writeln!(out, "  {:<8} {}: {}", i.status, i.id, one_line(&i.reason));
            }
        }
    } else {
        let mut parts = Vec::new();
        if !passed.is_empty() {
            parts.push(format!("passed: {} {}", passed.len(), plural(passed.len(), "item", "items")));
        }
        if !done.is_empty() {
            parts.push(format!("attested or waived: {} {}", done.len(), plural(done.len(), "item", "items")));
        }
        if !parts.is_empty() {
            let mut line = parts.join(", ");
            if let Some(first) = line.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            let _ = writeln!(out, "\n{line} (--verbose lists them)");
        }
    }
    if !report.sign_off.is_empty() {
        let signed = report.sign_off.iter().filter(|s| s.is_signed()).count();
        let _ = writeln!(
            out,
            "\nSign-off: {signed} of {} {} signed",
            report.sign_off.len(),
            plural(report.sign_off.len(), "role", "roles")
        );
        for so in &report.sign_off {
            match (&so.name, &so.date) {
                (Some(n), Some(d)) if so.is_signed() => {
                    let _ = writeln!(out, "  [x] {}: {n} ({d})", so.role);
                }
                _ => {
                    let _ = writeln!(out, "  [ ] {}", so.role);
                }
            }
        }
    }
    out
}
