//! Monitoring backend: Prometheus queries, alert rules, capacity thresholds (feature `prometheus`).
//!
//! - [`PrometheusClient`]: instant and range queries, `/api/v1/rules`, `/api/v1/targets`,
//!   `/-/ready`, with typed results and Prometheus's own error messages (bad PromQL is a
//!   misconfiguration that quotes the parser).
//! - Probes: [`MetricsFlowingProbe`] (samples newer than N seconds, targets up),
//!   [`AlertRulesProbe`] (the checklist's recommended rules exist, by name or expression, with
//!   their `for`), [`CapacityProbe`] (a PromQL expression evaluated with the checklist's
//!   [`Threshold`], optionally sustained over a window),
//!   [`SeriesPresentProbe`] (the dashboards' key metrics exist).
//! - [`render_rule_file`]: the checklist's alert rules as a Prometheus rule file, which
//!   `promtool check rules` accepts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nexus_readiness::probe::ProbeError> {
//! use std::time::Duration;
//! use nexus_readiness::probes::prometheus::{CapacityProbe, PrometheusClient};
//! use nexus_readiness::probe::{Probe, ProbeContext};
//!
//! let checklist = nexus_readiness::builtin::nexus();
//! let gpu = checklist.thresholds.iter().find(|t| t.metric == "GPU Utilization").unwrap().clone();
//! let client = PrometheusClient::new("http://prometheus:9090", Duration::from_secs(10))?;
//! let probe = CapacityProbe::new(client, "DCGM_FI_DEV_GPU_UTIL", gpu.unit, gpu);
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", obs.verdict, obs.summary); // "fail: GPU Utilization 90%: breach (> 85%): Scale up"
//! # Ok(()) }
//! ```

mod client;
mod probes;
mod rules;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

pub use client::{PrometheusClient, QueryResult, Rule, Sample, Series, Target};
pub use probes::{AlertRulesProbe, CapacityProbe, ExpectedRule, MetricsFlowingProbe, SeriesPresentProbe};
pub use rules::{default_capacity_expr, default_series_selector, expected_rules, render_rule_file, rule_expr};

use crate::model::{Checklist, Threshold, Unit};
use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec, Secret};

/// `GPU Utilization` → `gpu_utilization`.
pub(crate) fn measurement_name(metric: &str) -> String {
    crate::model::slugify(metric).replace('-', "_")
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Where Prometheus is and how to reach it; shared by every Prometheus spec.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Base URL of the Prometheus server, e.g. `http://prometheus:9090`.
    pub url: String,
    /// Bearer token sent as `Authorization` (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

impl Connection {
    /// Builds the client.
    ///
    /// # Errors
    /// Misconfigured for a bad URL or timeout.
    pub fn client(&self) -> Result<PrometheusClient, ProbeError> {
        let c = PrometheusClient::new(&self.url, self.timeout)?;
        Ok(match &self.bearer_token {
            Some(t) => c.bearer(t.clone()),
            None => c,
        })
    }
}

/// The client for a spec's `url`, `bearer_token` and `timeout` fields.
fn client_for(url: &str, bearer_token: &Option<Secret>, timeout: Duration) -> Result<PrometheusClient, ProbeError> {
    Connection { url: url.to_string(), bearer_token: bearer_token.clone(), timeout }.client()
}

/// Config spec of kind `prometheus-metrics`: metrics are flowing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsFlowingSpec {
    /// Base URL of the Prometheus server.
    pub url: String,
    /// Bearer token (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// A selector that must have fresh samples, e.g. `up{job="nexus"}`.
    #[serde(default = "default_selector")]
    pub selector: String,
    /// Maximum age of the newest sample, e.g. `2m`.
    #[serde(default = "default_max_age", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub max_age: Duration,
    /// Only this job's scrape targets must be up (all targets when unset).
    #[serde(default)]
    pub job: Option<String>,
}

fn default_selector() -> String {
    "up".into()
}

fn default_max_age() -> Duration {
    Duration::from_secs(120)
}

impl ProbeSpec for MetricsFlowingSpec {
    const KIND: &'static str = "prometheus-metrics";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        let mut p = MetricsFlowingProbe::new(
            client_for(&self.url, &self.bearer_token, self.timeout)?,
            &self.selector,
            self.max_age,
        );
        if let Some(j) = &self.job {
            p = p.job(j);
        }
        Ok(Arc::new(p))
    }
}

/// Config spec of kind `prometheus-rules`: the plan's checklist's alert rules are defined (by
/// name, or by expression, with their `for`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRulesSpec {
    /// Base URL of the Prometheus server.
    pub url: String,
    /// Bearer token (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// PromQL per alert (`HighErrorRate = "..."`) replacing the default expressions.
    #[serde(default)]
    pub expressions: BTreeMap<String, String>,
}

impl ProbeSpec for AlertRulesSpec {
    const KIND: &'static str = "prometheus-rules";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if cx.checklist.alert_rules.is_empty() {
            return Err(ProbeError::misconfigured(format!(
                "prometheus-rules: checklist `{}` recommends no alert rules, so there is nothing to look for",
                cx.checklist.id
            )));
        }
        let (rules, unknown) = expected_rules(cx.checklist, &self.expressions);
        if !unknown.is_empty() {
            return Err(ProbeError::misconfigured(format!("no expression for alert rules: {}", unknown.join(", "))));
        }
        Ok(Arc::new(AlertRulesProbe::new(client_for(&self.url, &self.bearer_token, self.timeout)?, rules)))
    }
}

/// Config spec of kind `prometheus-capacity`: one capacity threshold of the checklist evaluated
/// on live data.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// Base URL of the Prometheus server.
    pub url: String,
    /// Bearer token (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// The checklist threshold's metric: `GPU Utilization`, `Memory Usage`, `Request Latency`,
    /// `Error Rate`.
    pub threshold: String,
    /// PromQL whose values are compared (a default exists for the four built-in thresholds).
    #[serde(default)]
    pub expr: Option<String>,
    /// Unit of the expression's values (default: the default expression's unit, else the
    /// threshold's).
    #[serde(default)]
    pub unit: Option<Unit>,
    /// Require the level to hold over this window (range query), e.g. `5m`.
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub sustain: Option<Duration>,
    /// Step of the range query (default `15s`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub step: Option<Duration>,
}

impl CapacitySpec {
    /// The threshold of `checklist` this spec names.
    ///
    /// # Errors
    /// Misconfigured naming the valid thresholds.
    pub fn resolve_threshold(&self, checklist: &Checklist) -> Result<Threshold, ProbeError> {
        if checklist.thresholds.is_empty() {
            return Err(ProbeError::misconfigured(format!(
                "prometheus-capacity: checklist `{}` has no capacity thresholds",
                checklist.id
            )));
        }
        checklist
            .thresholds
            .iter()
            .find(|t| crate::model::slugify(&t.metric) == crate::model::slugify(&self.threshold))
            .cloned()
            .ok_or_else(|| {
                let names: Vec<_> = checklist.thresholds.iter().map(|t| format!("`{}`", t.metric)).collect();
                ProbeError::misconfigured(format!(
                    "unknown threshold `{}`; the checklist has {}",
                    self.threshold,
                    names.join(", ")
                ))
            })
    }
}

impl ProbeSpec for CapacitySpec {
    const KIND: &'static str = "prometheus-capacity";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        let threshold = self.resolve_threshold(cx.checklist)?;
        let (expr, unit) = match (&self.expr, default_capacity_expr(&threshold.metric)) {
            (Some(e), _) => (e.clone(), self.unit.unwrap_or(threshold.unit)),
            (None, Some((e, u))) => (e.to_string(), self.unit.unwrap_or(u)),
            (None, None) => {
                return Err(ProbeError::misconfigured(format!(
                    "threshold `{}` has no default expression: set expr",
                    threshold.metric
                )));
            }
        };
        let mut p = CapacityProbe::new(client_for(&self.url, &self.bearer_token, self.timeout)?, expr, unit, threshold);
        if let Some(w) = self.sustain {
            p = p.sustained(w, self.step.unwrap_or(Duration::from_secs(15)));
        }
        Ok(Arc::new(p))
    }
}

/// Config spec of kind `prometheus-series`: the plan's checklist's key metrics exist as series.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    /// Base URL of the Prometheus server.
    pub url: String,
    /// Bearer token (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Selector per key metric, replacing the defaults (`"Queue depth" = "my_queue_len"`).
    #[serde(default)]
    pub selectors: BTreeMap<String, String>,
}

impl ProbeSpec for SeriesSpec {
    const KIND: &'static str = "prometheus-series";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if cx.checklist.key_metrics.is_empty() {
            return Err(ProbeError::misconfigured(format!(
                "prometheus-series: checklist `{}` names no key metrics, so there is nothing to look for",
                cx.checklist.id
            )));
        }
        let mut selectors = Vec::new();
        let mut unknown = Vec::new();
        for m in &cx.checklist.key_metrics {
            match self.selectors.get(m).map(String::as_str).or_else(|| default_series_selector(m)) {
                Some(s) => selectors.push((m.clone(), s.to_string())),
                None => unknown.push(m.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(ProbeError::misconfigured(format!("no selector for key metrics: {}", unknown.join(", "))));
        }
        Ok(Arc::new(SeriesPresentProbe::new(client_for(&self.url, &self.bearer_token, self.timeout)?, selectors)))
    }
}
