//! `nvml-capacity`: GPU utilization and framebuffer memory against the capacity thresholds.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::snapshot::{self, Reading, Snapshot, Wanted};
use super::{default_library, target, validate_library, with_nvml};
use crate::model::{Threshold, Unit};
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec, Verdict};

/// Which value the capacity thresholds judge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// Every GPU is judged; the busiest decides (default).
    #[default]
    Max,
    /// The mean over the node's GPUs is judged; per-GPU values are exported without a verdict.
    Mean,
}

/// Spec of the `nvml-capacity` probe. The defaults are the checklist's capacity table: GPU
/// utilization and memory usage healthy below 70%, "Scale up" above 85%.
///
/// ```toml
/// kind = "nvml-capacity"
/// aggregation = "mean"
/// utilization_breach_percent = 90
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuCapacitySpec {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    #[serde(default = "default_library")]
    pub library: PathBuf,
    /// Utilization below this is healthy (default 70).
    #[serde(default = "healthy")]
    pub utilization_healthy_percent: f64,
    /// Utilization above this breaches: scale up (default 85).
    #[serde(default = "breach")]
    pub utilization_breach_percent: f64,
    /// Framebuffer memory usage below this is healthy (default 70).
    #[serde(default = "healthy")]
    pub memory_healthy_percent: f64,
    /// Framebuffer memory usage above this breaches: scale up (default 85).
    #[serde(default = "breach")]
    pub memory_breach_percent: f64,
    /// Judge the busiest GPU (`max`, default) or the node's mean (`mean`).
    #[serde(default)]
    pub aggregation: Aggregation,
}

fn healthy() -> f64 {
    70.0
}

fn breach() -> f64 {
    85.0
}

impl Default for GpuCapacitySpec {
    fn default() -> Self {
        GpuCapacitySpec {
            library: default_library(),
            utilization_healthy_percent: healthy(),
            utilization_breach_percent: breach(),
            memory_healthy_percent: healthy(),
            memory_breach_percent: breach(),
            aggregation: Aggregation::Max,
        }
    }
}

impl ProbeSpec for GpuCapacitySpec {
    const KIND: &'static str = "nvml-capacity";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(GpuCapacityProbe::from_spec(self.clone())?))
    }
}

/// Measures GPU utilization and framebuffer memory usage per GPU (`gpu_utilization`,
/// `gpu_memory_used`, `gpu_memory_total`, `gpu_memory_usage`, labelled `gpu` and `uuid`) and
/// over the node (`gpu_utilization_mean`/`_max`, `gpu_memory_usage_mean`/`_max`), and judges
/// them with `Threshold::ceiling(.., "Scale up")`.
#[derive(Debug, Clone)]
pub struct GpuCapacityProbe {
    spec: GpuCapacitySpec,
    utilization: Threshold,
    memory: Threshold,
}

/// Builds a [`GpuCapacityProbe`]: `GpuCapacityProbe::builder().….build()`.
///
/// ```
/// use nexus_readiness::probes::nvml::{Aggregation, GpuCapacityProbe};
///
/// let probe = GpuCapacityProbe::builder().utilization(70.0, 90.0).aggregation(Aggregation::Mean).build()?;
/// # let _ = probe;
/// assert!(GpuCapacityProbe::builder().memory(90.0, 80.0).build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GpuCapacityProbeBuilder {
    spec: GpuCapacitySpec,
}

impl GpuCapacityProbeBuilder {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    pub fn library(mut self, library: impl Into<PathBuf>) -> Self {
        self.spec.library = library.into();
        self
    }

    /// Utilization healthy below `healthy` percent, breaching above `breach` (default 70, 85).
    pub fn utilization(mut self, healthy: f64, breach: f64) -> Self {
        self.spec.utilization_healthy_percent = healthy;
        self.spec.utilization_breach_percent = breach;
        self
    }

    /// Memory usage healthy below `healthy` percent, breaching above `breach` (default 70, 85).
    pub fn memory(mut self, healthy: f64, breach: f64) -> Self {
        self.spec.memory_healthy_percent = healthy;
        self.spec.memory_breach_percent = breach;
        self
    }

    /// Judge the busiest GPU ([`Aggregation::Max`], default) or the node's mean.
    pub fn aggregation(mut self, aggregation: Aggregation) -> Self {
        self.spec.aggregation = aggregation;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` when the library is empty or a healthy bound is above its breach bound.
    pub fn build(self) -> Result<GpuCapacityProbe, ProbeError> {
        GpuCapacityProbe::from_spec(self.spec)
    }
}

impl GpuCapacityProbe {
    /// A builder with the defaults of the `nvml-capacity` kind.
    pub fn builder() -> GpuCapacityProbeBuilder {
        GpuCapacityProbeBuilder { spec: GpuCapacitySpec::default() }
    }

    /// A probe from its spec (what the `nvml-capacity` kind builds).
    pub(crate) fn from_spec(spec: GpuCapacitySpec) -> Result<Self, ProbeError> {
        validate_library(&spec.library, "library")?;
        let utilization = Threshold::ceiling(
            "GPU Utilization",
            Unit::Percent,
            spec.utilization_healthy_percent,
            spec.utilization_breach_percent,
            "Scale up",
        )
        .map_err(|e| {
            ProbeError::misconfigured("utilization_healthy_percent/utilization_breach_percent").with_source(&e)
        })?;
        let memory = Threshold::ceiling(
            "Memory Usage",
            Unit::Percent,
            spec.memory_healthy_percent,
            spec.memory_breach_percent,
            "Scale up",
        )
        .map_err(|e| ProbeError::misconfigured("memory_healthy_percent/memory_breach_percent").with_source(&e))?;
        Ok(GpuCapacityProbe { spec, utilization, memory })
    }

    fn evaluate(&self, snap: &Snapshot) -> Result<Observation, ProbeError> {
        if snap.gpus.is_empty() {
            return Err(ProbeError::not_found("no gpu visible to NVML on this node: nothing to measure"));
        }
        let per_gpu = self.spec.aggregation == Aggregation::Max;
        let mut obs = Observation::pass("");
        let mut utils = Vec::new();
        let mut mems = Vec::new();
        let mut notes = Vec::new();
        let mut lost = Vec::new();
        for gpu in &snap.gpus {
            let i = gpu.index.to_string();
            let uuid = gpu.uuid_label();
            let labelled = |m: Measurement| m.label("gpu", i.clone()).label("uuid", uuid.clone());
            if gpu.is_lost() {
                obs.evidence.insert(format!("gpu.{i}.state"), "lost");
                lost.push(gpu.to_string());
                continue;
            }
            match &gpu.utilization {
                Reading::Value(u) => {
                    let mut m = labelled(Measurement::new("gpu_utilization", f64::from(*u), Unit::Percent));
                    if per_gpu {
                        m = m.evaluate(&self.utilization);
                    }
                    obs.push_measurement(m);
                    utils.push(f64::from(*u));
                }
                other => {
                    let why = other.describe().unwrap_or_default();
                    obs.evidence.insert(format!("gpu.{i}.utilization"), why.clone());
                    notes.push(format!("utilization {why} on gpu {i}"));
                }
            }
            match &gpu.memory {
                Reading::Value((used, total)) => {
                    obs.push_measurement(labelled(Measurement::new("gpu_memory_used", *used as f64, Unit::Bytes)));
                    obs.push_measurement(labelled(Measurement::new("gpu_memory_total", *total as f64, Unit::Bytes)));
                    if *total > 0 {
                        let pct = *used as f64 * 100.0 / *total as f64;
                        let mut m = labelled(Measurement::new("gpu_memory_usage", pct, Unit::Percent));
                        if per_gpu {
                            m = m.evaluate(&self.memory);
                        }
                        obs.push_measurement(m);
                        mems.push(pct);
                    } else {
                        notes.push(format!("memory total 0 on gpu {i}"));
                    }
                }
                other => {
                    let why = other.describe().unwrap_or_default();
                    obs.evidence.insert(format!("gpu.{i}.memory"), why.clone());
                    notes.push(format!("memory {why} on gpu {i}"));
                }
            }
        }
        if utils.is_empty() && mems.is_empty() {
            let why = if lost.is_empty() { notes.join(", ") } else { format!("lost: {}", lost.join(", ")) };
            return Err(ProbeError::not_applicable(format!(
                "neither utilization nor memory usage could be read on any of the {} gpus ({why})",
                snap.gpus.len()
            )));
        }
        let mut parts = Vec::new();
        for (name, values, threshold) in
            [("utilization", &utils, &self.utilization), ("memory usage", &mems, &self.memory)]
        {
            if values.is_empty() {
                continue;
            }
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let max = values.iter().copied().fold(f64::MIN, f64::max);
            let metric = if name == "utilization" { "gpu_utilization" } else { "gpu_memory_usage" };
            let mut mean_m = Measurement::new(format!("{metric}_mean"), mean, Unit::Percent);
            let mut max_m = Measurement::new(format!("{metric}_max"), max, Unit::Percent);
            let judged = if per_gpu {
                max_m = max_m.evaluate(threshold);
                max_m.evaluation.clone()
            } else {
                mean_m = mean_m.evaluate(threshold);
                mean_m.evaluation.clone()
            };
            let verdict = judged.as_ref().map(|e| Verdict::from(e.level)).unwrap_or(Verdict::Pass);
            let judged_text = match verdict {
                Verdict::Pass => format!("healthy {}", threshold.healthy_text()),
                Verdict::Warn => format!("above healthy {}", threshold.healthy_text()),
                Verdict::Fail => format!("{}: {}", threshold.breach_text(), threshold.action.to_lowercase()),
            };
            parts.push(format!(
                "{name} mean {} max {} ({} {judged_text})",
                Unit::Percent.format(mean),
                Unit::Percent.format(max),
                if per_gpu { "max" } else { "mean" },
            ));
            obs.push_measurement(mean_m);
            obs.push_measurement(max_m);
        }
        let mut summary = format!("{} gpus: {}", snap.gpus.len(), parts.join("; "));
        if !lost.is_empty() {
            obs.verdict = obs.verdict.worst(Verdict::Warn);
            summary.push_str(&format!("; not measured, lost: {}", lost.join(", ")));
        }
        if !notes.is_empty() {
            summary.push_str(&format!(" ({})", notes.join(", ")));
        }
        obs.summary = summary;
        Ok(obs)
    }
}

#[async_trait]
impl Probe for GpuCapacityProbe {
    fn target(&self) -> String {
        target(&self.spec.library, "capacity")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let wanted = Wanted { health: false, capacity: true };
        let snap = with_nvml(cx, &self.spec.library, move |nvml| snapshot::read(nvml, wanted)).await?;
        self.evaluate(&snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_bounds_are_misconfigured() {
        let spec = GpuCapacitySpec { memory_healthy_percent: 90.0, ..Default::default() };
        let err = GpuCapacityProbe::from_spec(spec).unwrap_err();
        assert!(err.message.starts_with("memory_healthy_percent/memory_breach_percent"), "{}", err.message);
    }

    #[test]
    fn spec_defaults_are_the_checklist_table() {
        let spec: GpuCapacitySpec = toml::from_str("").unwrap();
        assert_eq!(spec, GpuCapacitySpec::default());
        assert_eq!(spec.utilization_healthy_percent, 70.0);
        assert_eq!(spec.memory_breach_percent, 85.0);
        let err = toml::from_str::<GpuCapacitySpec>("threshold = 3").unwrap_err();
        assert!(err.to_string().contains("unknown field `threshold`"), "{err}");
    }
}
