//! The Prometheus probes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::client::{PrometheusClient, QueryResult, label_text};
use crate::model::{AlertRule, Direction, Level, Threshold, Unit};
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Verdict};

/// Metrics flowing: a selector has samples newer than `max_age`, and the scrape targets
/// (optionally of one job) are all up.
#[derive(Debug, Clone)]
pub struct MetricsFlowingProbe {
    client: PrometheusClient,
    selector: String,
    max_age: Duration,
    job: Option<String>,
}

impl MetricsFlowingProbe {
    /// Checks that `selector` has a sample newer than `max_age`.
    pub fn new(client: PrometheusClient, selector: impl Into<String>, max_age: Duration) -> Self {
        MetricsFlowingProbe { client, selector: selector.into(), max_age, job: None }
    }

    /// Also requires every active target of `job` to be up (all targets when not set).
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }
}

#[async_trait]
impl Probe for MetricsFlowingProbe {
    fn target(&self) -> String {
        format!("{}/api/v1/query?query={}", self.client.base(), self.selector)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let now = cx.now();
        let expr = format!("timestamp({})", self.selector);
        let samples = self.client.query(&expr, None).await?.into_samples();
        let mut obs;
        if samples.is_empty() {
            obs = Observation::fail(format!("no samples for `{}` in prometheus", self.selector));
        } else {
            let newest = samples.iter().map(|s| s.value).fold(f64::NEG_INFINITY, f64::max);
            let age = (now.timestamp_millis() as f64 / 1000.0 - newest).max(0.0);
            let m = Measurement::new("newest_sample_age", age, Unit::Seconds);
            obs = if age > self.max_age.as_secs_f64() {
                Observation::fail(format!(
                    "newest sample of `{}` is {:.0}s old (max {})",
                    self.selector,
                    age,
                    crate::model::duration::format(self.max_age)
                ))
            } else {
                Observation::pass(format!(
                    "{} series of `{}`, newest sample {:.0}s old",
                    samples.len(),
                    self.selector,
                    age
                ))
            };
            obs.push_measurement(m);
            obs.push_measurement(Measurement::new("series", samples.len() as f64, Unit::Count));
        }
        let targets = self.client.targets().await?;
        let relevant: Vec<_> =
            targets.iter().filter(|t| self.job.as_ref().is_none_or(|j| t.labels.get("job") == Some(j))).collect();
        let down: Vec<String> = relevant
            .iter()
            .filter(|t| t.health != "up")
            .map(|t| {
                let err = if t.last_error.is_empty() { String::new() } else { format!(": {}", t.last_error) };
                format!("{} is {}{err}", t.scrape_url, t.health)
            })
            .collect();
        obs.push_measurement(Measurement::new("targets_up", (relevant.len() - down.len()) as f64, Unit::Count));
        obs.push_measurement(Measurement::new("targets_down", down.len() as f64, Unit::Count));
        if let Some(j) = &self.job
            && relevant.is_empty()
        {
            obs.verdict = Verdict::Fail;
            obs.summary = format!("{}; no active scrape target for job `{j}`", obs.summary);
        }
        if !down.is_empty() {
            obs.verdict = Verdict::Fail;
            obs.summary =
                format!("{}; {} of {} targets down: {}", obs.summary, down.len(), relevant.len(), down.join("; "));
        }
        Ok(obs.with_evidence("selector", &self.selector))
    }
}

/// An alert rule expected in Prometheus: the checklist's rule, its expression, its `for`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExpectedRule {
    /// The Prometheus alert name (`HighErrorRate`).
    pub alert: String,
    /// The rule as written in the checklist.
    pub rule: AlertRule,
    /// The PromQL expression that implements it.
    pub expr: String,
}

/// Alerting rules defined: every expected rule exists, matched by name or by an equivalent
/// expression, with the expected `for` duration when the checklist gives the rule a window (a
/// rule without a window accepts any `for`); what is missing is listed.
#[derive(Debug, Clone)]
pub struct AlertRulesProbe {
    client: PrometheusClient,
    expected: Vec<ExpectedRule>,
}

impl ExpectedRule {
    /// A rule expected under the Prometheus alert name `alert` with expression `expr`.
    pub fn new(alert: impl Into<String>, rule: AlertRule, expr: impl Into<String>) -> Self {
        ExpectedRule { alert: alert.into(), rule, expr: expr.into() }
    }
}

impl AlertRulesProbe {
    /// Checks the given rules.
    pub fn new(client: PrometheusClient, expected: Vec<ExpectedRule>) -> Self {
        AlertRulesProbe { client, expected }
    }
}

fn normalize_name(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn normalize_expr(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[async_trait]
impl Probe for AlertRulesProbe {
    fn target(&self) -> String {
        format!("{}/api/v1/rules", self.client.base())
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let rules = self.client.rules().await?;
        let alerting: Vec<_> = rules.iter().filter(|r| r.kind == "alerting").collect();
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        let mut found = Vec::new();
        for want in &self.expected {
            let by_name = alerting.iter().find(|r| {
                normalize_name(&r.name) == normalize_name(&want.alert)
                    || normalize_name(&r.name) == normalize_name(&want.rule.name)
            });
            let by_expr = || alerting.iter().find(|r| normalize_expr(&r.query) == normalize_expr(&want.expr));
            match by_name.or_else(by_expr) {
                None => missing.push(format!("{} ({})", want.alert, want.rule.display())),
                Some(r) => {
                    // No window in the checklist means any `for` (including none) is right.
                    let want_for = want.rule.window.map(|w| w.as_secs_f64());
                    if let Some(want_for) = want_for
                        && (r.duration - want_for).abs() > 0.5
                    {
                        wrong.push(format!(
                            "{} has for {}, want {}",
                            r.name,
                            crate::model::duration::format(Duration::from_secs_f64(r.duration.max(0.0))),
                            crate::model::duration::format(Duration::from_secs_f64(want_for))
                        ));
                    } else if r.health == "err" {
                        wrong.push(format!("{} fails to evaluate", r.name));
                    } else {
                        found.push(r.name.clone());
                    }
                }
            }
        }
        let total = self.expected.len();
        let mut obs = if missing.is_empty() && wrong.is_empty() {
            Observation::pass(format!("all {total} recommended alert rules defined: {}", found.join(", ")))
        } else {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing alert rules: {}", missing.join(", ")));
            }
            if !wrong.is_empty() {
                parts.push(wrong.join("; "));
            }
            Observation::fail(format!("{} of {total} alert rules in place; {}", found.len(), parts.join("; ")))
        };
        obs.push_measurement(Measurement::new(
            "alert_rules_missing",
            (missing.len() + wrong.len()) as f64,
            Unit::Count,
        ));
        obs.push_measurement(Measurement::new("alert_rules_defined", alerting.len() as f64, Unit::Count));
        Ok(obs)
    }
}

/// A capacity threshold evaluated on a PromQL expression, per series; optionally sustained over
/// a window with a range query (the value kept is the best over the window, so a breach counts
/// only when it lasted the whole window, as an alert's `for` does).
#[derive(Debug, Clone)]
pub struct CapacityProbe {
    client: PrometheusClient,
    expr: String,
    unit: Unit,
    threshold: Threshold,
    sustain: Option<Duration>,
    step: Duration,
}

impl CapacityProbe {
    /// Evaluates `expr` (whose values are in `unit`) against `threshold`.
    pub fn new(client: PrometheusClient, expr: impl Into<String>, unit: Unit, threshold: Threshold) -> Self {
        let sustain = threshold.sustain;
        CapacityProbe { client, expr: expr.into(), unit, threshold, sustain, step: Duration::from_secs(15) }
    }

    /// Requires the level to hold over `window` (range query with `step`).
    pub fn sustained(mut self, window: Duration, step: Duration) -> Self {
        self.sustain = Some(window);
        self.step = step;
        self
    }
}

#[async_trait]
impl Probe for CapacityProbe {
    fn target(&self) -> String {
        format!("{}/api/v1/query?query={}", self.client.base(), self.expr)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let mut values = self.values(cx, &self.expr).await?;
        let mut note = None;
        if values.is_empty()
            && let Some((numerator, denominator)) = split_ratio(&self.expr)
        {
            // `errors / requests` with no error series at all: Prometheus returns nothing, yet
            // the ratio over zero errors is 0 wherever the denominator has series.
            let denominators = self.values(cx, denominator).await?;
            if !denominators.is_empty() {
                values = denominators.into_iter().map(|(labels, _)| (labels, 0.0)).collect();
                note = Some(format!("no series matched the numerator `{numerator}`: counted as 0"));
            }
        }
        if values.is_empty() {
            return Err(ProbeError::not_found(format!(
                "`{}` returned no series: the metric is not in prometheus at {}",
                self.expr,
                self.client.base()
            )));
        }
        let undefined = values.iter().filter(|(_, v)| v.is_nan()).count();
        values.retain(|(_, v)| !v.is_nan());
        if values.is_empty() {
            return Err(ProbeError::not_found(format!(
                "`{}` is NaN on all {undefined} series (0/0: nothing to divide by, e.g. no requests in the window) at {}",
                self.expr,
                self.client.base()
            )));
        }
        let mut obs = Observation::pass(String::new());
        let mut worst: Option<(Level, String)> = None;
        for (labels, v) in &values {
            let mut m = Measurement::new(super::measurement_name(&self.threshold.metric), *v, self.unit);
            for (k, val) in labels.iter().filter(|(k, _)| k.as_str() != "__name__") {
                m = m.label(k.clone(), val.clone());
            }
            let m = m.evaluate(&self.threshold);
            let text = match &m.evaluation {
                Some(e) => e.to_string(),
                None => format!("{} {}", self.threshold.metric, self.unit.format(*v)),
            };
            let text = if values.len() > 1 { format!("{text} on {}", label_text(labels)) } else { text };
            let level = m.evaluation.as_ref().map_or(Level::Ok, |e| e.level);
            if worst.as_ref().is_none_or(|(l, _)| level > *l) {
                worst = Some((level, text));
            }
            obs.push_measurement(m);
        }
        let (level, text) = worst.unwrap_or((Level::Ok, String::new()));
        let window = self.sustain.map(|w| format!(" over {}", crate::model::duration::format(w))).unwrap_or_default();
        obs.summary = if values.len() == 1 {
            format!("{text}{window}")
        } else {
            format!("worst of {} series{window}: {text}", values.len())
        };
        if undefined > 0 {
            obs.summary.push_str(&format!(" ({undefined} series NaN, left out)"));
        }
        if let Some(n) = &note {
            obs.summary.push_str(&format!(" ({n})"));
        }
        if level == Level::Ok {
            obs.verdict = Verdict::Pass;
        }
        let mut obs = obs.with_evidence("expr", &self.expr);
        if let Some(n) = note {
            obs = obs.with_evidence("numerator", n);
        }
        Ok(obs)
    }
}

impl CapacityProbe {
    /// The values of `expr` per series: the instant value, or over the sustain window the best
    /// value (so a breach counts only when it lasted the whole window).
    async fn values(&self, cx: &ProbeContext, expr: &str) -> Result<Vec<(BTreeMap<String, String>, f64)>, ProbeError> {
        Ok(match self.sustain {
            None => {
                self.client.query(expr, None).await?.into_samples().into_iter().map(|s| (s.labels, s.value)).collect()
            }
            Some(window) => {
                let end = cx.now();
                let start = end - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero());
                match self.client.query_range(expr, start, end, self.step).await? {
                    QueryResult::Matrix(series) => series
                        .into_iter()
                        .filter(|s| !s.points.is_empty())
                        .map(|s| {
                            let vals = s.points.iter().map(|p| p.1).filter(|v| !v.is_nan());
                            let best = match self.threshold.direction {
                                Direction::Ceiling => vals.fold(f64::INFINITY, f64::min),
                                Direction::Floor => vals.fold(f64::NEG_INFINITY, f64::max),
                            };
                            (s.labels, if best.is_infinite() { f64::NAN } else { best })
                        })
                        .collect(),
                    other => other.into_samples().into_iter().map(|s| (s.labels, s.value)).collect(),
                }
            }
        })
    }
}

/// `(numerator, denominator)` of a PromQL expression that is a plain ratio `A / B` at its top
/// level: one division, no other operator, comparison, set operator or vector matching there
/// (anything inside parentheses, braces, brackets or quotes is left alone). `None` otherwise.
pub(crate) fn split_ratio(expr: &str) -> Option<(&str, &str)> {
    let bytes = expr.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut division = None;
    let mut top = String::with_capacity(expr.len());
    for (i, &c) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == b'\\' && q != b'`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            top.push(' ');
            continue;
        }
        match c {
            b'"' | b'\'' | b'`' => quote = Some(c),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
            b'#' => return None,
            b'/' if depth == 0 => {
                if division.is_some() {
                    return None;
                }
                division = Some(i);
            }
            b'*' | b'+' | b'-' | b'%' | b'^' | b'<' | b'>' | b'=' | b'!' if depth == 0 => return None,
            _ => {}
        }
        top.push(if depth == 0 && quote.is_none() { c as char } else { ' ' });
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    let words = ["or", "and", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset", "atan2"];
    if top.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| words.contains(&w)) {
        return None;
    }
    let at = division?;
    let (numerator, denominator) = (expr[..at].trim(), expr[at + 1..].trim());
    (!numerator.is_empty() && !denominator.is_empty()).then_some((numerator, denominator))
}

/// Dashboard series present: each selector has at least one series in Prometheus.
#[derive(Debug, Clone)]
pub struct SeriesPresentProbe {
    client: PrometheusClient,
    selectors: Vec<(String, String)>,
}

impl SeriesPresentProbe {
    /// `selectors` are `(name for people, PromQL selector)` pairs.
    pub fn new(client: PrometheusClient, selectors: Vec<(String, String)>) -> Self {
        SeriesPresentProbe { client, selectors }
    }
}

#[async_trait]
impl Probe for SeriesPresentProbe {
    fn target(&self) -> String {
        format!("{}/api/v1/query", self.client.base())
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.selectors.is_empty() {
            return Err(ProbeError::misconfigured("no series selectors to look for"));
        }
        let mut missing = Vec::new();
        for (name, sel) in &self.selectors {
            let n = self.client.query(&format!("count({sel})"), None).await?.into_samples();
            if n.first().is_none_or(|s| s.value < 1.0) {
                missing.push(format!("{name} (`{sel}`)"));
            }
        }
        let present = self.selectors.len() - missing.len();
        let obs = if missing.is_empty() {
            Observation::pass(format!("all {present} dashboard metrics have series"))
        } else {
            Observation::fail(format!(
                "{} of {} dashboard metrics have no series: {}",
                missing.len(),
                self.selectors.len(),
                missing.join(", ")
            ))
        };
        Ok(obs.with_measurement(Measurement::new("series_missing", missing.len() as f64, Unit::Count)))
    }
}
