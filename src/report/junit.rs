//! JUnit XML rendering (with `quick-junit`), for CI systems that show test results.
//!
//! One `<testsuite>` per top-level section (named after it), one `<testcase>` per item: its
//! `name` is the item title, its `classname` the item id. Pass, Warn, Attested and Waived are
//! successes (Warn, Attested and Waived carry their reason in `system-out`), Fail is a
//! `<failure>`, Error an `<error>`, Skipped and Pending are `<skipped>`; each non-success
//! carries the reason as its `message` and the status as its `type`. Items with
//! probes carry their duration as `time`.

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
        let mut status = match item.status {
            Status::Pass | Status::Warn | Status::Attested | Status::Waived => TestCaseStatus::success(),
            Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
            Status::Skipped | Status::Pending => TestCaseStatus::skipped(),
        };
        if !matches!(status, TestCaseStatus::Success { .. }) {
            status.set_message(&item.reason);
            status.set_type(item.status.as_str());
            let details: Vec<String> = item.probes.iter().map(|p| format!("{}: {}", p.target, p.text())).collect();
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
        if matches!(item.status, Status::Warn | Status::Attested | Status::Waived) && !item.reason.is_empty() {
            case.set_system_out(format!("{}: {}", item.status, item.reason));
        }
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(case);
        }
    }
    out.add_test_suites(suites);
    out.to_string().unwrap_or_else(|e| format!("<!-- junit rendering failed: {e} -->"))
}
