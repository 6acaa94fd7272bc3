use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::is_sensitive_key;
use crate::model::{Evaluation, Level, Threshold, Unit};

/// What a probe concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The item holds.
    Pass,
    /// The item holds, with a concern (threshold warn, expiring soon).
    Warn,
    /// The item does not hold.
    Fail,
}

impl Verdict {
    /// The worse of two verdicts.
    pub fn worst(self, other: Verdict) -> Verdict {
        self.max(other)
    }
}

impl From<Level> for Verdict {
    fn from(l: Level) -> Self {
        match l {
            Level::Ok => Verdict::Pass,
            Level::Warn => Verdict::Warn,
            Level::Breach => Verdict::Fail,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        })
    }
}

/// A number a probe measured, with its unit, labels and (optionally) its threshold evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Measurement {
    /// Snake-case name ("days_until_expiry", "latency", "gpu_utilization").
    pub name: String,
    /// The value, in `unit`.
    pub value: f64,
    /// The unit.
    pub unit: Unit,
    /// Labels that tell measurements of the same name apart (`gpu="0"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The evaluation against a threshold, when one is attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

impl Measurement {
    /// A new measurement.
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Self {
        Measurement { name: name.into(), value, unit, labels: BTreeMap::new(), evaluation: None }
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Evaluates the value against a threshold (converting units when they differ).
    /// A unit that cannot be converted leaves the measurement without evaluation.
    pub fn evaluate(mut self, threshold: &Threshold) -> Self {
        self.evaluation = threshold.evaluate_in(self.value, self.unit).ok();
        self
    }

    /// The verdict of the evaluation, if any.
    pub fn verdict(&self) -> Option<Verdict> {
        self.evaluation.as_ref().map(|e| e.level.into())
    }
}

/// Key/value facts a probe saw, for people reading the report. Values under keys that look
/// sensitive (`authorization`, `token`, `password`...) are stored as `[redacted]`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Evidence(BTreeMap<String, String>);

impl Evidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry; the value is redacted when the key looks sensitive.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = if is_sensitive_key(&key) { "[redacted]".to_string() } else { value.into() };
        self.0.insert(key, value);
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Mutable values, for redaction.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut String> {
        self.0.values_mut()
    }

    /// Redacts keys and values (an evidence key may hold a URL or a secret too).
    pub(crate) fn redact_with(&mut self, r: &super::Redactor) {
        let entries = std::mem::take(&mut self.0);
        for (k, v) in entries {
            let key = r.redact(&k);
            let value = if is_sensitive_key(&key) { "[redacted]".to_string() } else { r.redact(&v) };
            self.0.insert(key, value);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a probe saw: a verdict, a one-line summary, measurements and evidence.
///
/// ```
/// use nexus_readiness::model::{Threshold, Unit};
/// use nexus_readiness::probe::{Measurement, Observation, Verdict};
///
/// let gpu = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up")?;
/// let obs = Observation::pass("gpu 0 busy")
///     .with_measurement(Measurement::new("gpu_utilization", 90.0, Unit::Percent).evaluate(&gpu))
///     .with_evidence("gpu", "0");
/// // An attached threshold drives the verdict: 90% breaches 85%.
/// assert_eq!(obs.verdict, Verdict::Fail);
/// # Ok::<(), nexus_readiness::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Observation {
    /// Pass, Warn or Fail.
    pub verdict: Verdict,
    /// One line for people: "certificate for api.example.com expires in 5 days".
    pub summary: String,
    /// Numbers measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
    /// Facts seen, already redacted.
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

impl Observation {
    /// A new observation.
    pub fn new(verdict: Verdict, summary: impl Into<String>) -> Self {
        Observation { verdict, summary: summary.into(), measurements: Vec::new(), evidence: Evidence::new() }
    }

    /// The item holds.
    pub fn pass(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Pass, summary)
    }

    /// The item holds with a concern.
    pub fn warn(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Warn, summary)
    }

    /// The item does not hold.
    pub fn fail(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Fail, summary)
    }

    /// Adds a measurement. When it carries a threshold evaluation, the verdict becomes the
    /// worse of the current verdict and the evaluation's.
    pub fn with_measurement(mut self, m: Measurement) -> Self {
        self.push_measurement(m);
        self
    }

    /// Adds a measurement in place (see [`with_measurement`](Self::with_measurement)).
    pub fn push_measurement(&mut self, m: Measurement) {
        if let Some(v) = m.verdict() {
            self.verdict = self.verdict.worst(v);
        }
        self.measurements.push(m);
    }

    /// Adds evidence (redacted when the key looks sensitive).
    pub fn with_evidence(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.evidence.insert(key, value);
        self
    }

    /// The measurement with this name, if any.
    pub fn measurement(&self, name: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.name == name)
    }
}
