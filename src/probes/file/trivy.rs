//! Container scanner reports (Trivy JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::Unit;
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// A scanner severity, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScanSeverity {
    /// Severity not known.
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl ScanSeverity {
    /// All severities, most severe first.
    pub const ALL: [ScanSeverity; 5] =
        [ScanSeverity::Critical, ScanSeverity::High, ScanSeverity::Medium, ScanSeverity::Low, ScanSeverity::Unknown];

    /// The name as Trivy writes it (`CRITICAL`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScanSeverity::Unknown => "UNKNOWN",
            ScanSeverity::Low => "LOW",
            ScanSeverity::Medium => "MEDIUM",
            ScanSeverity::High => "HIGH",
            ScanSeverity::Critical => "CRITICAL",
        }
    }

    fn parse(s: &str) -> ScanSeverity {
        match s.to_ascii_uppercase().as_str() {
            "CRITICAL" => ScanSeverity::Critical,
            "HIGH" => ScanSeverity::High,
            "MEDIUM" => ScanSeverity::Medium,
            "LOW" => ScanSeverity::Low,
            _ => ScanSeverity::Unknown,
        }
    }
}

impl fmt::Display for ScanSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Deserialize)]
struct Report {
    #[serde(rename = "ArtifactName", default)]
    artifact: Option<String>,
    #[serde(rename = "Results", default)]
    results: Option<Vec<ScanResult>>,
}

#[derive(Deserialize)]
struct ScanResult {
    #[serde(rename = "Target", default)]
    target: String,
    #[serde(rename = "Vulnerabilities", default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID", default)]
    id: String,
    #[serde(rename = "PkgName", default)]
    pkg: String,
    #[serde(rename = "InstalledVersion", default)]
    installed: String,
    #[serde(rename = "FixedVersion", default)]
    fixed: Option<String>,
    #[serde(rename = "Severity", default)]
    severity: String,
}

/// Checks a Trivy JSON report has no finding at or above a severity.
///
/// Counts findings per severity (measurements `vulnerabilities{severity="HIGH"}`), fails
/// when any is at or above `fail_on`, and lists the most severe findings with package,
/// installed version and CVE. A report that is not Trivy JSON is a protocol error naming the
/// file.
#[derive(Debug, Clone)]
pub struct TrivyProbe {
    path: PathBuf,
    fail_on: ScanSeverity,
    top: usize,
}

impl TrivyProbe {
    /// A probe failing on CRITICAL findings in the report at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TrivyProbe { path: path.into(), fail_on: ScanSeverity::Critical, top: 5 }
    }

    /// Fails on findings at or above `severity`.
    pub fn fail_on(mut self, severity: ScanSeverity) -> Self {
        self.fail_on = severity;
        self
    }

    /// How many findings to list (default 5).
    pub fn top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// Checks report text; `name` is used in messages.
    ///
    /// # Errors
    /// A protocol [`ProbeError`] when the text is not a Trivy JSON report.
    pub fn evaluate(&self, name: &str, text: &str) -> Result<Observation, ProbeError> {
        let report: Report = serde_json::from_str(text).map_err(|e| {
            ProbeError::protocol(format!("{name}:{}:{}: not a Trivy JSON report: {e}", e.line(), e.column()))
        })?;
        let Some(results) = report.results else {
            return Err(ProbeError::protocol(format!("{name}: not a Trivy JSON report (no `Results`)")));
        };
        let mut counts: BTreeMap<ScanSeverity, usize> = BTreeMap::new();
        let mut all = Vec::new();
        for r in &results {
            for v in r.vulnerabilities.iter().flatten() {
                let sev = ScanSeverity::parse(&v.severity);
                *counts.entry(sev).or_default() += 1;
                all.push((sev, r, v));
            }
        }
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.id.cmp(&b.2.id)));
        let blocking: usize = counts.iter().filter(|(s, _)| **s >= self.fail_on).map(|(_, n)| n).sum();
        let count_text = ScanSeverity::ALL
            .iter()
            .filter_map(|s| counts.get(s).map(|n| format!("{n} {s}")))
            .collect::<Vec<_>>()
            .join(", ");
        let artifact = report.artifact.as_deref().unwrap_or(name);
        let mut obs = if blocking == 0 {
            Observation::pass(if all.is_empty() {
                format!("{artifact}: no vulnerabilities found")
            } else {
                format!("{artifact}: nothing at or above {} ({count_text})", self.fail_on)
            })
        } else {
            let (sev, _, v) = &all[0];
            Observation::fail(format!(
                "{artifact}: {blocking} {} at or above {} ({count_text}); worst: {} {} in {} {}",
                if blocking == 1 { "vulnerability" } else { "vulnerabilities" },
                self.fail_on,
                sev,
                v.id,
                v.pkg,
                v.installed
            ))
        };
        for s in ScanSeverity::ALL {
            obs.push_measurement(
                Measurement::new("vulnerabilities", counts.get(&s).copied().unwrap_or(0) as f64, Unit::Count)
                    .label("severity", s.as_str()),
            );
        }
        let top: Vec<String> = all
            .iter()
            .take(self.top)
            .map(|(s, r, v)| {
                let fix =
                    v.fixed.as_deref().filter(|f| !f.is_empty()).map_or(String::new(), |f| format!(", fixed in {f}"));
                format!("{s} {} {} {}{fix} ({})", v.id, v.pkg, v.installed, r.target)
            })
            .collect();
        obs = obs.with_evidence("report", name).with_evidence("fail_on", self.fail_on.as_str());
        if !top.is_empty() {
            obs = obs.with_evidence("top_findings", top.join("\n"));
        }
        Ok(obs)
    }
}

#[async_trait]
impl Probe for TrivyProbe {
    fn target(&self) -> String {
        format!("file://{}", self.path.display())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let text = super::read_text(&self.path, super::MAX_FILE, cx).await?;
        self.evaluate(&self.path.display().to_string(), &text)
    }
}

fn default_fail_on() -> ScanSeverity {
    ScanSeverity::Critical
}

fn default_top() -> usize {
    5
}

/// Config-file spec of a [`TrivyProbe`] (kind `trivy`).
///
/// ```toml
/// [targets.trivy_report]
/// path = "trivy.json"
/// fail_on = "high"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrivySpec {
    /// Path of the report written by `trivy image --format json`.
    pub path: PathBuf,
    /// Fail on findings at or above this severity (default critical).
    #[serde(default = "default_fail_on")]
    pub fail_on: ScanSeverity,
    /// How many findings to list as evidence (default 5).
    #[serde(default = "default_top")]
    pub top: usize,
}

impl ProbeSpec for TrivySpec {
    const KIND: &'static str = "trivy";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(TrivyProbe::new(&self.path).fail_on(self.fail_on).top(self.top)))
    }
}
