//! The monitoring side, before deploy: Prometheus Operator custom resources
//! (`monitoring.coreos.com/v1` PrometheusRule, ServiceMonitor, PodMonitor) read from the
//! manifests, or listed on a live cluster.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::util::{ns_of, plural};
use super::{CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::model::{AlertRule, Unit};
use crate::probe::ProbeError;
use crate::probes::kube::source::{ResourceKind, Workload};

fn kind_of(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

fn ns_of_value(v: &Value) -> &str {
    v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default")
}

/// Parses a Prometheus duration (`5m`, `1h30m`, `90s`, `1d`).
fn prom_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            return (total == 0 && !any).then_some(Duration::from_millis(n));
        } else {
            match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                'y' => 31_536_000,
                _ => return None,
            }
        };
        total += n * unit;
        any = true;
    }
    (num.is_empty() && any).then_some(Duration::from_secs(total))
}

fn fmt_duration(d: Duration) -> String {
    crate::model::duration::format(d)
}

/// The numbers written in a PromQL expression.
fn numbers(expr: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_ident = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if (c.is_ascii_digit() || c == '.' || (c == 'e' && !cur.is_empty())) && !prev_ident {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            if let Ok(v) = cur.parse::<f64>() {
                out.push(v);
            }
            cur.clear();
        }
        prev_ident = (prev_ident && c.is_ascii_alphanumeric()) || c.is_ascii_alphabetic() || c == '_' || c == '[';
    }
    out
}

/// Whether `expr` compares against the rule's bound: the operator is written and a number
/// equal to the bound (in its unit, or converted: 5% as 0.05, 1s as 1000ms) appears.
fn expr_has_bound(expr: &str, rule: &AlertRule) -> Result<(), String> {
    let Some(c) = &rule.condition else { return Ok(()) };
    let op = c.op.as_str();
    if !expr.contains(op) {
        return Err(format!("does not compare with {op}"));
    }
    let v = c.value;
    let candidates: Vec<f64> = match c.unit {
        Unit::Percent => vec![v, v / 100.0],
        Unit::Ratio => vec![v, v * 100.0],
        Unit::Milliseconds => vec![v, v / 1000.0],
        Unit::Seconds => vec![v, v * 1000.0],
        _ => vec![v],
    };
    let found = numbers(expr).into_iter().any(|n| candidates.iter().any(|c| (n - c).abs() <= 1e-9 * c.abs().max(1.0)));
    if found { Ok(()) } else { Err(format!("does not hold the checklist's bound {c}")) }
}

fn normalise(expr: &str) -> String {
    expr.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// PrometheusRule manifests hold the checklist's alert rules: each rule by its alert name
/// (`HighErrorRate` for "High error rate"), with the checklist's `for` window and an
/// expression holding its bound (or, with `config.alert_exprs`, exactly that expression).
///
/// Neither kube-score nor Polaris looks at PrometheusRules; this is the pre-deploy side of the
/// "alerting rules defined" item (the `prometheus-rules` kind checks a live Prometheus).
/// Rules are read from the target namespace. The expected rules come from the plan's
/// checklist (or `config.alert_rules`); none is "not configured".
#[derive(Debug)]
pub(crate) struct AlertRules;

impl KubeCheck for AlertRules {
    fn name(&self) -> &'static str {
        "prometheus-rules"
    }

    fn uses_workloads(&self) -> bool {
        false
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::PrometheusRules]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let expected = &ev.cfg.alert_rules;
        if expected.is_empty() {
            return Err(ProbeError::not_configured("kube.config.alert_rules"));
        }
        let ns = ev.selector.ns();
        let files: Vec<&Value> =
            ev.snap.custom.iter().filter(|v| kind_of(v) == "PrometheusRule" && ns_of_value(v) == ns).collect();
        let mut out = Vec::new();
        if files.is_empty() {
            out.push(Finding::error(format!("namespace {ns}"), "holds no PrometheusRule"));
        }
        // (object, pointer-ish field, rule)
        let mut rules: Vec<(String, String, &Value)> = Vec::new();
        for f in &files {
            let object = format!("PrometheusRule {ns}/{}", name_of(f));
            for (g, group) in f.pointer("/spec/groups").and_then(Value::as_array).into_iter().flatten().enumerate() {
                for (r, rule) in group.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    rules.push((object.clone(), format!("spec.groups.{g}.rules.{r}"), rule));
                }
            }
        }
        let mut found = Vec::new();
        for want in expected {
            let alert = want.alert_name();
            let hit = rules.iter().find(|(_, _, r)| r.get("alert").and_then(Value::as_str) == Some(alert.as_str()));
            let Some((object, field, rule)) = hit else {
                if !files.is_empty() {
                    out.push(Finding::error(
                        format!("PrometheusRule {ns}/*"),
                        format!("no rule alerts {alert:?} ({})", want.display()),
                    ));
                }
                continue;
            };
            let before = out.len();
            let expr = match rule.get("expr") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            if expr.trim().is_empty() {
                out.push(
                    Finding::error(object, format!("alert {alert} has no expression")).field(format!("{field}.expr")),
                );
            } else if let Some(exact) = ev.cfg.alert_exprs.get(&alert) {
                if normalise(exact) != normalise(&expr) {
                    out.push(
                        Finding::error(object, format!("alert {alert} is {expr:?}, want {exact:?}"))
                            .field(format!("{field}.expr")),
                    );
                }
            } else if let Err(why) = expr_has_bound(&expr, want) {
                out.push(
                    Finding::error(object, format!("alert {alert} {why}: {expr:?}")).field(format!("{field}.expr")),
                );
            }
            if let Some(window) = want.window {
                match rule.get("for").and_then(Value::as_str) {
                    None => out.push(
                        Finding::error(
                            object,
                            format!("alert {alert} has no `for`, the checklist says {}", fmt_duration(window)),
                        )
                        .field(field.clone()),
                    ),
                    Some(text) => match prom_duration(text) {
                        Some(d) if d == window => {}
                        Some(_) | None => out.push(
                            Finding::error(
                                object,
                                format!(
                                    "alert {alert} fires after {text}, the checklist says {}",
                                    fmt_duration(window)
                                ),
                            )
                            .field(format!("{field}.for")),
                        ),
                    },
                }
            }
            if out.len() == before {
                found.push(alert);
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!(
                "{} alert {} defined in {} PrometheusRule {} ({})",
                found.len(),
                plural(found.len(), "rule", "rules"),
                files.len(),
                plural(files.len(), "object", "objects"),
                found.join(", ")
            ),
        ))
    }
}

fn selector_of(v: Option<&Value>) -> Option<LabelSelector> {
    v.and_then(|s| serde_json::from_value(s.clone()).ok())
}

/// Whether a monitor in namespace `monitor_ns` with `namespaceSelector` may select objects in
/// `ns` (unset: its own namespace only).
fn namespace_allowed(monitor: &Value, monitor_ns: &str, ns: &str) -> bool {
    match monitor.pointer("/spec/namespaceSelector") {
        None => monitor_ns == ns,
        Some(sel) => {
            sel.get("any").and_then(Value::as_bool) == Some(true)
                || sel
                    .get("matchNames")
                    .and_then(Value::as_array)
                    .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(ns)))
                || (sel.get("matchNames").is_none() && monitor_ns == ns)
        }
    }
}

/// A ServiceMonitor (through a Service that selects the pods, on a port that Service has) or a
/// PodMonitor selects each long-running workload's pods: the "metrics flowing" item before
/// deploy.
///
/// Not in kube-score nor Polaris. Monitors are read from the manifests, or listed in the
/// target namespace on a live cluster (a monitor in another namespace with a
/// `namespaceSelector` is seen in manifests only). Jobs and CronJobs are skipped.
#[derive(Debug)]
pub(crate) struct Scraped;

impl KubeCheck for Scraped {
    fn name(&self) -> &'static str {
        "service-monitor"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Services, ResourceKind::ServiceMonitors, ResourceKind::PodMonitors]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let ws: Vec<&Workload<'_>> = ev.workloads.iter().filter(|w| !w.kind.runs_to_completion()).collect();
        if ws.is_empty() {
            return Err(ProbeError::not_applicable(format!(
                "{} run to completion: nothing to scrape",
                ev.workloads_text()
            )));
        }
        let mut out = Vec::new();
        let mut scraped = Vec::new();
        for w in ws {
            let ns = w.namespace();
            let by_pod = ev.snap.custom.iter().filter(|m| kind_of(m) == "PodMonitor").find(|m| {
                namespace_allowed(m, ns_of_value(m), ns)
                    && selector_of(m.pointer("/spec/selector")).is_some_and(|s| w.pods_match(&s))
            });
            if let Some(m) = by_pod {
                scraped.push(format!("{} by PodMonitor {}", w.name(), name_of(m)));
                continue;
            }
            let services: Vec<_> = ev
                .snap
                .services
                .iter()
                .filter(|s| ns_of(&s.metadata) == ns)
                .filter(|s| {
                    s.spec.as_ref().and_then(|sp| sp.selector.as_ref()).is_some_and(|sel| {
                        !sel.is_empty() && sel.iter().all(|(k, v)| w.pod_labels().and_then(|l| l.get(k)) == Some(v))
                    })
                })
                .collect();
            let mut hit = None;
            let mut wrong_port = None;
            for svc in &services {
                for m in ev.snap.custom.iter().filter(|m| kind_of(m) == "ServiceMonitor") {
                    if !namespace_allowed(m, ns_of_value(m), ns) {
                        continue;
                    }
                    let Some(sel) = selector_of(m.pointer("/spec/selector")) else { continue };
                    if !crate::probes::kube::source::selector_matches(&sel, svc.metadata.labels.as_ref()) {
                        continue;
                    }
                    let ports: Vec<&str> = svc
                        .spec
                        .as_ref()
                        .and_then(|s| s.ports.as_ref())
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.name.as_deref())
                        .collect();
                    let endpoints: Vec<&str> = m
                        .pointer("/spec/endpoints")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("port").and_then(Value::as_str))
                        .collect();
                    let svc_name = svc.metadata.name.as_deref().unwrap_or("");
                    if endpoints.iter().any(|e| ports.contains(e))
                        || m.pointer("/spec/endpoints")
                            .and_then(Value::as_array)
                            .is_some_and(|e| e.iter().any(|e| e.get("targetPort").is_some()))
                    {
                        hit = Some(format!("{} by ServiceMonitor {} via Service {svc_name}", w.name(), name_of(m)));
                        break;
                    }
                    wrong_port =
                        Some((name_of(m).to_string(), svc_name.to_string(), endpoints.join(","), ports.join(",")));
                }
                if hit.is_some() {
                    break;
                }
            }
            match (hit, wrong_port) {
                (Some(h), _) => scraped.push(h),
                (None, Some((m, svc, want, have))) => out.push(Finding::error(
                    format!("ServiceMonitor {ns}/{m}"),
                    format!("scrapes port {want:?} but Service {svc} names ports {have:?}"),
                )),
                (None, None) => out.push(Finding::error(
                    w.object(),
                    if services.is_empty() {
                        "no PodMonitor selects its pods and no Service selects them for a ServiceMonitor".to_string()
                    } else {
                        format!(
                            "no ServiceMonitor selects Service {} nor a PodMonitor its pods",
                            services
                                .iter()
                                .map(|s| s.metadata.name.as_deref().unwrap_or(""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                )),
            }
        }
        Ok(CheckOutcome::new(self.name(), out, format!("metrics scraped: {}", scraped.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(prom_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(prom_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(prom_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(prom_duration("5"), None);
        assert_eq!(prom_duration("5x"), None);
    }

    #[test]
    fn numbers_in_expressions() {
        assert_eq!(numbers("rate(http_requests_total{code=~\"5..\"}[5m]) > 0.05"), vec![0.05]);
        assert_eq!(numbers("histogram_quantile(0.99, x) > 1"), vec![0.99, 1.0]);
    }
}
