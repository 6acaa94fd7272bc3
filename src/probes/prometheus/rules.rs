//! The checklist's alert rules as PromQL, and as a Prometheus rule file.

use std::collections::BTreeMap;

use serde::Serialize;

use super::probes::ExpectedRule;
use crate::model::{AlertRule, Checklist, Unit, slugify};

/// The default PromQL for a rule of the built-in checklist, by alert-rule slug: the expression
/// measured and the unit its values are in. The comparison is added from the rule's condition.
fn default_base(slug: &str) -> Option<(&'static str, Unit)> {
    Some(match slug {
        "high-error-rate" => {
            ("sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))", Unit::Ratio)
        }
        "high-latency" => {
            ("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", Unit::Seconds)
        }
        "gpu-oom-errors" => ("sum by (instance) (increase(nexus_gpu_oom_errors_total[5m])) > 0", Unit::Count),
        "pod-restart-loops" => ("increase(kube_pod_container_status_restarts_total[15m]) > 3", Unit::Count),
        "disk-space" => (
            "100 * (1 - node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"} / node_filesystem_size_bytes{fstype!~\"tmpfs|overlay\"})",
            Unit::Percent,
        ),
        _ => return None,
    })
}

/// The default PromQL for a capacity threshold of the built-in checklist, by metric name, and
/// the unit of its values (DCGM exporter metrics for the GPU, standard HTTP server metrics).
pub fn default_capacity_expr(metric: &str) -> Option<(&'static str, Unit)> {
    Some(match slugify(metric).as_str() {
        "gpu-utilization" => ("DCGM_FI_DEV_GPU_UTIL", Unit::Percent),
        "memory-usage" => ("100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)", Unit::Percent),
        "request-latency" => {
            ("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", Unit::Seconds)
        }
        // `or vector(0)`: with no 5xx series at all the ratio is 0, not "no series".
        "error-rate" => (
            "(sum(rate(http_requests_total{code=~\"5..\"}[5m])) or vector(0)) / sum(rate(http_requests_total[5m]))",
            Unit::Ratio,
        ),
        _ => return None,
    })
}

/// The default selector for a dashboard key metric of the built-in checklist.
pub fn default_series_selector(key_metric: &str) -> Option<&'static str> {
    let s = slugify(key_metric);
    Some(match s.as_str() {
        "request-rate-and-latency" => "http_request_duration_seconds_count",
        "error-rate" => "http_requests_total",
        "gpu-utilization" => "DCGM_FI_DEV_GPU_UTIL",
        "memory-usage" => "DCGM_FI_DEV_FB_USED",
        "queue-depth" => "nexus_queue_depth",
        "cache-hit-rate" => "nexus_cache_hits_total",
        _ => return None,
    })
}

/// The PromQL for a rule: an override (by alert name, e.g. `HighErrorRate`, or by the rule's
/// name slug, e.g. `high-error-rate`), else the default built from the rule's condition.
pub fn rule_expr(rule: &AlertRule, overrides: &BTreeMap<String, String>) -> Option<String> {
    let slug = slugify(&rule.name);
    if let Some(e) = overrides.get(&rule.alert_name()).or_else(|| overrides.get(&slug)) {
        return Some(e.clone());
    }
    let (base, unit) = default_base(&slug)?;
    match &rule.condition {
        Some(c) => {
            let bound = c.unit.convert(c.value, unit).unwrap_or(c.value);
            Some(format!("{base} {} {}", c.op, trim_float(bound)))
        }
        None => Some(base.to_string()),
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') { format!("{v:.6}") } else { s }
}

/// The expected rules of a checklist: one per alert rule that has an expression (overridden or
/// default); rules without one are returned by name in the second list.
pub fn expected_rules(checklist: &Checklist, overrides: &BTreeMap<String, String>) -> (Vec<ExpectedRule>, Vec<String>) {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for rule in &checklist.alert_rules {
        match rule_expr(rule, overrides) {
            Some(expr) => out.push(ExpectedRule { alert: rule.alert_name(), rule: rule.clone(), expr }),
            None => unknown.push(rule.name.clone()),
        }
    }
    (out, unknown)
}

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Serialize)]
struct RuleGroup {
    name: String,
    rules: Vec<RuleEntry>,
}

#[derive(Serialize)]
struct RuleEntry {
    alert: String,
    expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    for_: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// Renders rules as a Prometheus rule file (YAML) with one group named `group`.
///
/// ```
/// use std::collections::BTreeMap;
/// use nexus_readiness::probes::prometheus::{expected_rules, render_rule_file};
///
/// let (rules, _) = expected_rules(&nexus_readiness::builtin::nexus(), &BTreeMap::new());
/// let yaml = render_rule_file(&rules, "nexus");
/// assert!(yaml.contains("alert: HighErrorRate"));
/// assert!(yaml.contains("for: 5m"));
/// ```
pub fn render_rule_file(rules: &[ExpectedRule], group: &str) -> String {
    let file = RuleFile {
        groups: vec![RuleGroup {
            name: group.to_string(),
            rules: rules
                .iter()
                .map(|r| RuleEntry {
                    alert: r.alert.clone(),
                    expr: r.expr.clone(),
                    for_: r.rule.window.map(crate::model::duration::format),
                    labels: BTreeMap::from([("severity".to_string(), "critical".to_string())]),
                    annotations: BTreeMap::from([("summary".to_string(), r.rule.display())]),
                })
                .collect(),
        }],
    };
    serde_norway::to_string(&file).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::probes::split_ratio;

    #[test]
    fn ratios_split_at_the_top_level_only() {
        let e = super::default_capacity_expr("Error Rate").unwrap().0;
        assert_eq!(
            split_ratio(e),
            Some((
                "(sum(rate(http_requests_total{code=~\"5..\"}[5m])) or vector(0))",
                "sum(rate(http_requests_total[5m]))"
            ))
        );
        assert_eq!(split_ratio("a{path=\"/x/y\"} / b"), Some(("a{path=\"/x/y\"}", "b")));
        assert_eq!(split_ratio("sum(a) / sum(b)"), Some(("sum(a)", "sum(b)")));
        for not_plain in [
            "a",
            "a / b / c",
            "a / b > 0.01",
            "100 * a / b",
            "a / on(job) b",
            "a / ignoring(code) b",
            "a or b / c",
            "a / (b",
            "rate(x[5m]) / 1e-3",
            "/ b",
        ] {
            assert_eq!(split_ratio(not_plain), None, "{not_plain}");
        }
    }
}
