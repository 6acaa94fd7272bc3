//! `nvml-gpus`: the node has the GPUs it should, with a recent enough driver.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::snapshot::{self, Reading, Snapshot, Wanted};
use super::{default_library, target, validate_library, with_nvml};
use crate::model::Unit;
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec, Verdict};

/// Spec of the `nvml-gpus` probe: GPUs present (count, names, UUIDs, driver and CUDA versions).
///
/// ```toml
/// kind = "nvml-gpus"
/// expected_count = 8
/// min_driver_version = "550.54"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuPresenceSpec {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    #[serde(default = "default_library")]
    pub library: PathBuf,
    /// How many GPUs the node must have at least (default 1).
    #[serde(default = "one")]
    pub expected_count: u32,
    /// The oldest acceptable driver version, dotted numbers ("550.54"); none by default.
    #[serde(default)]
    pub min_driver_version: Option<String>,
}

fn one() -> u32 {
    1
}

impl Default for GpuPresenceSpec {
    fn default() -> Self {
        GpuPresenceSpec { library: default_library(), expected_count: 1, min_driver_version: None }
    }
}

impl ProbeSpec for GpuPresenceSpec {
    const KIND: &'static str = "nvml-gpus";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(GpuPresenceProbe::from_spec(self.clone())?))
    }
}

/// Checks that the node has at least the expected number of GPUs, all reachable, with a
/// driver at least the minimum version. Evidence lists names, UUIDs and versions.
#[derive(Debug, Clone)]
pub struct GpuPresenceProbe {
    spec: GpuPresenceSpec,
    min_driver: Option<Vec<u64>>,
}

/// Builds a [`GpuPresenceProbe`]: `GpuPresenceProbe::builder().….build()`.
///
/// ```
/// use nexus_readiness::probes::nvml::GpuPresenceProbe;
///
/// let probe = GpuPresenceProbe::builder().expected_count(8).min_driver_version("550.54").build()?;
/// # let _ = probe;
/// assert!(GpuPresenceProbe::builder().min_driver_version("latest").build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GpuPresenceProbeBuilder {
    spec: GpuPresenceSpec,
}

impl GpuPresenceProbeBuilder {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    pub fn library(mut self, library: impl Into<PathBuf>) -> Self {
        self.spec.library = library.into();
        self
    }

    /// How many GPUs the node must have at least (default 1).
    pub fn expected_count(mut self, count: u32) -> Self {
        self.spec.expected_count = count;
        self
    }

    /// The oldest acceptable driver version, dotted numbers (`"550.54"`); none by default.
    pub fn min_driver_version(mut self, version: impl Into<String>) -> Self {
        self.spec.min_driver_version = Some(version.into());
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` when the library is empty or `min_driver_version` is not dotted numbers.
    pub fn build(self) -> Result<GpuPresenceProbe, ProbeError> {
        GpuPresenceProbe::from_spec(self.spec)
    }
}

impl GpuPresenceProbe {
    /// A builder with the defaults of the `nvml-gpus` kind.
    pub fn builder() -> GpuPresenceProbeBuilder {
        GpuPresenceProbeBuilder { spec: GpuPresenceSpec::default() }
    }

    /// A probe from its spec (what the `nvml-gpus` kind builds).
    pub(crate) fn from_spec(spec: GpuPresenceSpec) -> Result<Self, ProbeError> {
        validate_library(&spec.library, "library")?;
        let min_driver = match &spec.min_driver_version {
            None => None,
            Some(v) => Some(parse_version(v).ok_or_else(|| {
                ProbeError::misconfigured(format!(
                    "min_driver_version {v:?} is not a dotted version such as \"550.54.15\""
                ))
            })?),
        };
        Ok(GpuPresenceProbe { spec, min_driver })
    }

    fn evaluate(&self, snap: &Snapshot) -> Observation {
        let count = snap.gpus.len() as u32;
        let mut problems = Vec::new();
        let mut obs = Observation::pass("");
        obs.push_measurement(Measurement::new("gpu_count", f64::from(count), Unit::Count));
        obs.evidence.insert("gpu_count", count.to_string());
        if count < self.spec.expected_count {
            problems.push(format!("found {count} gpus, expected at least {}", self.spec.expected_count));
        }
        let driver = snap.driver_version.value().cloned();
        match &snap.driver_version {
            Reading::Value(v) => obs.evidence.insert("driver_version", v.clone()),
            other => obs.evidence.insert("driver_version", other.describe().unwrap_or_default()),
        }
        let cuda = snap.cuda_version.value().map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10));
        obs.evidence.insert("cuda_version", cuda.clone().unwrap_or_else(|| "unknown".into()));
        if let Some(min) = &self.min_driver {
            let wanted = self.spec.min_driver_version.as_deref().unwrap_or_default();
            match driver.as_deref().map(|d| (d, parse_version(d))) {
                Some((d, Some(have))) if have < *min => {
                    problems.push(format!("driver {d} is older than the required {wanted}: upgrade the NVIDIA driver"))
                }
                Some((_, Some(_))) => {}
                Some((d, None)) => problems.push(format!("driver version {d:?} cannot be compared with {wanted}")),
                None => problems.push(format!("the driver version could not be read to compare with {wanted}")),
            }
        }
        let mut names: Vec<String> = Vec::new();
        for gpu in &snap.gpus {
            let i = gpu.index;
            if let Some(name) = gpu.name.value() {
                obs.evidence.insert(format!("gpu.{i}.name"), name.clone());
                names.push(name.clone());
            }
            obs.evidence.insert(format!("gpu.{i}.uuid"), gpu.uuid_label());
            if gpu.is_lost() {
                problems.push(format!("{gpu} is lost (fell off the bus): drain the node and reset the gpu or reboot"));
            } else if let Some(why) = gpu.handle.describe().or_else(|| gpu.uuid.describe()) {
                problems.push(format!("{gpu} cannot be read: {why}"));
            }
        }
        names.dedup();
        let versions =
            format!("driver {}, cuda {}", driver.as_deref().unwrap_or("unknown"), cuda.as_deref().unwrap_or("unknown"));
        if problems.is_empty() {
            obs.summary = format!("{count} gpus ({}), {versions}", names.join(", "));
        } else {
            obs.verdict = Verdict::Fail;
            obs.summary = format!("{}; {versions}", problems.join("; "));
        }
        obs
    }
}

#[async_trait]
impl Probe for GpuPresenceProbe {
    fn target(&self) -> String {
        target(&self.spec.library, "gpus")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let wanted = Wanted::default();
        let snap = with_nvml(cx, &self.spec.library, move |nvml| snapshot::read(nvml, wanted)).await?;
        Ok(self.evaluate(&snap))
    }
}

/// Parses "550.54.15" into [550, 54, 15].
fn parse_version(v: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = v.trim().split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("535.104.05").unwrap() < parse_version("550.54").unwrap());
        assert!(parse_version("550.100").unwrap() > parse_version("550.54.15").unwrap());
        assert_eq!(parse_version("abc"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn bad_min_driver_is_misconfigured() {
        let spec = GpuPresenceSpec { min_driver_version: Some("latest".into()), ..Default::default() };
        let err = GpuPresenceProbe::from_spec(spec).unwrap_err();
        assert!(err.message.contains("min_driver_version \"latest\""), "{}", err.message);
    }
}
