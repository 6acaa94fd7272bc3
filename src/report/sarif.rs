//! SARIF 2.1.0 rendering, for code-scanning UIs (GitHub code scanning, GitLab, Azure DevOps,
//! VS Code's SARIF viewer) that show findings on the line they are about.
//!
//! One run of the tool `nexus-readiness`. Every checklist item is a rule (`ruleId` = the item
//! id, its title as the short description, its severity as the default level: blocker and
//! critical `error`, major `warning`, minor `note`). A result is written for each item that is
//! not done or blocks readiness:
//!
//! - per finding, when a probe lists findings in its evidence (`finding.NNN` = `error: ...` or
//!   `warn: ...`, with `finding.NNN.at` = `file:line:column`, as the Kubernetes manifest checks
//!   do): a result at that physical location (`artifactLocation.uri` the file as given,
//!   relative paths kept relative, absolute ones as `file://` URIs; `region.startLine` and
//!   `startColumn`), level `error` or `warning`;
//! - otherwise one result for the item, without a location, with the item's reason as the
//!   message: Fail and Error are `error`, Warn `warning`, a blocking Skipped or Pending `note`.
//!
//! Results carry `kind: "fail"` and the item's status in their property bag. The rendering
//! holds only what the report holds, which the runner has already redacted.

use serde_json::{Value, json};

use super::{ItemReport, Report, Status};
use crate::model::Severity;

/// The SARIF schema URI written in `$schema`.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn default_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Blocker | Severity::Critical => "error",
        Severity::Major => "warning",
        _ => "note",
    }
}

/// A `file:line:column` from evidence, split from the right (paths may hold colons).
fn parse_location(at: &str) -> Option<(&str, u64, u64)> {
    let mut parts = at.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let path = parts.next().filter(|p| !p.is_empty())?;
    (line > 0 && column > 0).then_some((path, line, column))
}

/// A path as a SARIF URI reference: relative paths with `/` separators, absolute ones as
/// `file://` URIs; characters outside the URI alphabet are percent-encoded.
fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut out = String::new();
    if p.starts_with('/') {
        out.push_str("file://");
    } else if p.len() > 1 && p.as_bytes()[1] == b':' {
        out.push_str("file:///");
    }
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule(item: &ItemReport) -> Value {
    let mut tags: Vec<&str> = item.section.iter().map(String::as_str).collect();
    tags.push(item.severity.as_str());
    json!({
        "id": item.id.as_str(),
        "name": item.title,
        "shortDescription": {"text": item.title},
        "defaultConfiguration": {"level": default_level(item.severity)},
        "properties": {"tags": tags, "severity": item.severity.as_str(), "gating": item.gating},
    })
}

fn result(
    item: &ItemReport,
    rule_index: usize,
    level: &str,
    message: &str,
    location: Option<(&str, u64, u64)>,
) -> Value {
    let mut r = json!({
        "ruleId": item.id.as_str(),
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level,
        "message": {"text": if message.is_empty() { item.title.as_str() } else { message }},
        "properties": {"status": item.status.as_str()},
    });
    if let Some((path, line, column)) = location {
        r["locations"] = json!([{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(path)},
                "region": {"startLine": line, "startColumn": column},
            }
        }]);
    }
    r
}

/// The results of one item (see the [module docs](self)).
fn results(item: &ItemReport, rule_index: usize) -> Vec<Value> {
    let done = matches!(item.status, Status::Pass | Status::Attested | Status::Waived)
        || (item.status == Status::Skipped && item.blocked_by.is_none())
        || (item.status == Status::Pending && item.blocked_by.is_none());
    if done {
        return Vec::new();
    }
    let mut out = Vec::new();
    for obs in item.probes.iter().filter_map(|p| p.observation.as_ref()) {
        for (key, text) in obs.evidence.iter() {
            let Some(n) = key.strip_prefix("finding.") else { continue };
            if n.contains('.') {
                continue;
            }
            let (level, message) = match text.split_once(": ") {
                Some(("error", m)) => ("error", m),
                Some(("warn", m)) => ("warning", m),
                _ => ("warning", text),
            };
            let at = obs.evidence.get(&format!("{key}.at")).and_then(parse_location);
            out.push(result(item, rule_index, level, message, at));
        }
    }
    if out.is_empty() {
        let level = match item.status {
            Status::Fail | Status::Error => "error",
            Status::Warn => "warning",
            _ => "note",
        };
        out.push(result(item, rule_index, level, &item.reason, None));
    }
    out
}

/// The report as a SARIF 2.1.0 log (pretty JSON).
pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = report.items.iter().map(rule).collect();
    let results: Vec<Value> = report.items.iter().enumerate().flat_map(|(i, item)| results(item, i)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nexus-readiness",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("{}/", report.checklist)},
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": report.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "endTimeUtc": report.finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "properties": {"ready": report.ready(), "headline": report.headline()},
            }],
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_uris() {
        assert_eq!(parse_location("deploy/k8s/api.yaml:12:7"), Some(("deploy/k8s/api.yaml", 12, 7)));
        assert_eq!(parse_location("C:/x/a.yaml:3:1"), Some(("C:/x/a.yaml", 3, 1)));
        assert_eq!(parse_location("a.yaml:0:1"), None);
        assert_eq!(parse_location("no location"), None);
        assert_eq!(uri("deploy/k8s/api.yaml"), "deploy/k8s/api.yaml");
        assert_eq!(uri("/srv/my app/a.yaml"), "file:///srv/my%20app/a.yaml");
    }
}
