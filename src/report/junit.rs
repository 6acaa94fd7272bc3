//! JUnit XML rendering (with `quick-junit`), for CI systems that show test results.
//!
//! One `<testsuite>` per top-level section (named after it), one `<testcase>` per item: its
//! `name` is the item title, its `classname` the item id. Pass, Warn, Attested and Waived are
//! successes (Warn, Attested and Waived carry their reason in `system-out`), Fail is a
//! `<failure>`, Error an `<error>`. A gating item that blocks readiness is never a skip: a
//! blocking Pending or Skipped item (not verified, dependency failed, cancelled) is a
//! `<failure>` whose `type` is the rule ([`BlockRule`](super::BlockRule)), so a CI dashboard of
//! a NOT READY run is red. Other Skipped and Pending items are `<skipped>`. Each non-success
//! carries the reason as its `message`; blocking items add the rule in words to the
//! description. Items with probes carry their duration as `time`.
//!
//! A last suite, `readiness`, holds one test case, `verdict`: a success when the report is
//! ready, a failure otherwise, with the [headline](super::Report::headline) as its message or
//! `system-out` (so `READY (UNVERIFIED: ...)` shows), and properties for the coverage.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{Report, Status};

/// The report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut out = quick_junit::Report::new(&report.title);
    out.set_timestamp(report.started.fixed_offset());
    out.set_time(report.duration);
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut current: Option<String> = None;
    for item in &report.items {
        let section = item.section.first().cloned().unwrap_or_else(|| report.title.clone());
        if current.as_deref() != Some(section.as_str()) {
            let mut suite = TestSuite::new(&section);
            suite.set_timestamp(report.started.fixed_offset());
            suites.push(suite);
            current = Some(section);
        }
        let mut status = match (item.status, item.blocked_by) {
            (Status::Pass | Status::Attested | Status::Waived, _) => TestCaseStatus::success(),
            (Status::Warn, None) => TestCaseStatus::success(),
            (Status::Error, _) => TestCaseStatus::non_success(NonSuccessKind::Error),
            (Status::Fail, _) | (_, Some(_)) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            (Status::Skipped | Status::Pending, None) => TestCaseStatus::skipped(),
        };
        if !matches!(status, TestCaseStatus::Success { .. }) {
            status.set_message(&item.reason);
            status.set_type(item.blocked_by.map_or(item.status.as_str(), |r| r.as_str()));
            let mut details: Vec<String> = item.probes.iter().map(|p| format!("{}: {}", p.target, p.text())).collect();
            if item.blocks() {
                details.insert(0, format!("blocks readiness: {}", item.block_explanation()));
            }
            if !details.is_empty() {
                status.set_description(details.join("\n"));
            }
        }
        let mut case = TestCase::new(&item.title, status);
        case.set_classname(item.id.as_str());
        if !item.probes.is_empty() {
            case.set_time(item.duration);
        }
        case.add_property(Property::new("status", item.status.as_str()));
        case.add_property(Property::new("severity", item.severity.as_str()));
        case.add_property(Property::new("gating", if item.gating { "true" } else { "false" }));
        if let Some(rule) = item.blocked_by {
            case.add_property(Property::new("blocked_by", rule.as_str()));
        }
        if item.ran_alone {
            case.add_property(Property::new("ran_alone", "true"));
        }
        if matches!(item.status, Status::Warn | Status::Attested | Status::Waived) && !item.reason.is_empty() {
            case.set_system_out(format!("{}: {}", item.status, item.reason));
        }
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(case);
        }
    }
    let mut verdict = if report.ready {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(report.headline());
        s.set_type("not-ready");
        s
    };
    if !report.ready {
        let lines: Vec<String> =
            report.blockers().map(|i| format!("{}: {} ({})", i.id, i.reason, i.block_explanation())).collect();
        if !lines.is_empty() {
            verdict.set_description(lines.join("\n"));
        }
    }
    let mut case = TestCase::new("verdict", verdict);
    case.set_classname("readiness");
    case.set_system_out(report.headline());
    case.add_property(Property::new("ready", if report.ready { "true" } else { "false" }));
    case.add_property(Property::new("unverified", if report.unverified { "true" } else { "false" }));
    case.add_property(Property::new("gating_not_verified", report.summary.gating_not_configured.to_string()));
    case.add_property(Property::new("verified", report.coverage.verified.to_string()));
    case.add_property(Property::new("automatable", report.coverage.automatable.to_string()));
    let mut suite = TestSuite::new("readiness");
    suite.set_timestamp(report.started.fixed_offset());
    suite.add_property(Property::new("headline", report.headline()));
    suite.add_test_case(case);
    suites.push(suite);
    out.add_test_suites(suites);
    out.to_string().unwrap_or_else(|e| format!("<!-- junit rendering failed: {e} -->"))
}
