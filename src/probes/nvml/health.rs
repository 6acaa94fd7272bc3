//! `nvml-health`: per-GPU health, as DCGM's quick diagnostic and the device plugin see it.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use serde::Deserialize;

use super::snapshot::{self, Gpu, Reading, Snapshot, Wanted};
use super::{default_library, target, validate_library, with_nvml};
use crate::model::{Level, Threshold, Unit};
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec, Verdict};

/// Spec of the `nvml-health` probe.
///
/// ```toml
/// kind = "nvml-health"
/// temperature_warn_celsius = 80
/// temperature_critical_celsius = 90
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuHealthSpec {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    #[serde(default = "default_library")]
    pub library: PathBuf,
    /// GPU temperature at or above which the probe warns (default 80 °C).
    #[serde(default = "default_warn")]
    pub temperature_warn_celsius: f64,
    /// GPU temperature above which the probe fails (default 90 °C).
    #[serde(default = "default_critical")]
    pub temperature_critical_celsius: f64,
}

fn default_warn() -> f64 {
    80.0
}

fn default_critical() -> f64 {
    90.0
}

impl Default for GpuHealthSpec {
    fn default() -> Self {
        GpuHealthSpec {
            library: default_library(),
            temperature_warn_celsius: default_warn(),
            temperature_critical_celsius: default_critical(),
        }
    }
}

impl ProbeSpec for GpuHealthSpec {
    const KIND: &'static str = "nvml-health";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(GpuHealthProbe::from_spec(self.clone())?))
    }
}

/// Checks every GPU: volatile double-bit ECC errors, pages pending retirement, row remapping
/// pending or failed, thermal and power throttling, temperature against the warn/critical
/// thresholds, and GPUs that fell off the bus. Measures temperature and power per GPU.
///
/// Fail: double-bit ECC errors, a failed row remapping, thermal slowdown or hardware power
/// brake, a temperature above critical, a lost GPU. Warn: pages pending retirement, a row
/// remapping pending (both need a GPU reset), clocks capped by the power limit, a temperature
/// above warn, a reading that failed. Unsupported functions are listed, not failed.
#[derive(Debug, Clone)]
pub struct GpuHealthProbe {
    spec: GpuHealthSpec,
    temperature: Threshold,
}

const THERMAL: ThrottleReasons = ThrottleReasons::SW_THERMAL_SLOWDOWN
    .union(ThrottleReasons::HW_THERMAL_SLOWDOWN)
    .union(ThrottleReasons::HW_SLOWDOWN);

/// Builds a [`GpuHealthProbe`]: `GpuHealthProbe::builder().….build()`.
///
/// ```
/// use nexus_readiness::probes::nvml::GpuHealthProbe;
///
/// let probe = GpuHealthProbe::builder().temperature_warn_celsius(75.0).temperature_critical_celsius(88.0).build()?;
/// # let _ = probe;
/// assert!(GpuHealthProbe::builder().temperature_warn_celsius(95.0).build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GpuHealthProbeBuilder {
    spec: GpuHealthSpec,
}

impl GpuHealthProbeBuilder {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    pub fn library(mut self, library: impl Into<PathBuf>) -> Self {
        self.spec.library = library.into();
        self
    }

    /// GPU temperature at or above which the probe warns (default 80 °C).
    pub fn temperature_warn_celsius(mut self, celsius: f64) -> Self {
        self.spec.temperature_warn_celsius = celsius;
        self
    }

    /// GPU temperature above which the probe fails (default 90 °C).
    pub fn temperature_critical_celsius(mut self, celsius: f64) -> Self {
        self.spec.temperature_critical_celsius = celsius;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` when the library is empty or the warn temperature is above critical.
    pub fn build(self) -> Result<GpuHealthProbe, ProbeError> {
        GpuHealthProbe::from_spec(self.spec)
    }
}

impl GpuHealthProbe {
    /// A builder with the defaults of the `nvml-health` kind.
    pub fn builder() -> GpuHealthProbeBuilder {
        GpuHealthProbeBuilder { spec: GpuHealthSpec::default() }
    }

    /// A probe from its spec (what the `nvml-health` kind builds).
    pub(crate) fn from_spec(spec: GpuHealthSpec) -> Result<Self, ProbeError> {
        validate_library(&spec.library, "library")?;
        let temperature = Threshold::ceiling(
            "GPU Temperature",
            Unit::Celsius,
            spec.temperature_warn_celsius,
            spec.temperature_critical_celsius,
            "Check cooling and airflow",
        )
        .map_err(|e| {
            ProbeError::misconfigured("temperature_warn_celsius/temperature_critical_celsius").with_source(&e)
        })?;
        Ok(GpuHealthProbe { spec, temperature })
    }

    fn evaluate(&self, snap: &Snapshot) -> Result<Observation, ProbeError> {
        if snap.gpus.is_empty() {
            return Err(ProbeError::not_found("no gpu visible to NVML on this node: nothing to check"));
        }
        let mut obs = Observation::pass("");
        let mut problems: Vec<(Verdict, String)> = Vec::new();
        let mut unsupported: Vec<String> = Vec::new();
        let mut hottest: Option<u32> = None;
        for gpu in &snap.gpus {
            self.evaluate_gpu(gpu, &mut obs, &mut problems, &mut unsupported);
            if let Some(t) = gpu.temperature.value() {
                hottest = Some(hottest.map_or(*t, |h| h.max(*t)));
            }
        }
        let n = snap.gpus.len();
        let mut summary = if problems.is_empty() {
            let hot = hottest.map(|t| format!(", hottest {t}°C")).unwrap_or_default();
            format!(
                "{n} gpus healthy: no double-bit ecc errors, no pending page retirement or row remapping, no thermal or power throttling{hot}"
            )
        } else {
            problems.sort_by_key(|p| std::cmp::Reverse(p.0));
            obs.verdict = problems.iter().map(|p| p.0).fold(obs.verdict, Verdict::worst);
            problems.iter().map(|p| p.1.as_str()).collect::<Vec<_>>().join("; ")
        };
        if !unsupported.is_empty() {
            summary.push_str(&format!(" (not supported: {})", unsupported.join(", ")));
        }
        obs.summary = summary;
        Ok(obs)
    }

    fn evaluate_gpu(
        &self,
        gpu: &Gpu,
        obs: &mut Observation,
        problems: &mut Vec<(Verdict, String)>,
        unsupported: &mut Vec<String>,
    ) {
        let i = gpu.index;
        let key = |what: &str| format!("gpu.{i}.{what}");
        if gpu.is_lost() {
            obs.evidence.insert(key("state"), "lost");
            problems.push((
                Verdict::Fail,
                format!("{gpu} is lost (fell off the bus): drain the node and reset the gpu or reboot"),
            ));
            return;
        }
        if let Some(why) = gpu.handle.describe() {
            problems.push((Verdict::Fail, format!("{gpu} cannot be opened: {why}")));
            return;
        }
        let mut note =
            |what: &str, reading_state: Option<String>, problems: &mut Vec<(Verdict, String)>| match reading_state
                .as_deref()
            {
                Some("not supported") => unsupported.push(format!("{what} on gpu {i}")),
                Some(other) => {
                    let why = other.strip_prefix("failed: ").unwrap_or(other);
                    problems.push((Verdict::Warn, format!("{what} on {gpu} could not be read: {why}")))
                }
                None => {}
            };

        // Volatile double-bit (uncorrectable) ECC errors since the last driver load.
        match &gpu.ecc_uncorrected {
            Reading::Value(n) => {
                obs.evidence.insert(key("ecc_uncorrected_volatile"), n.to_string());
                if *n > 0 {
                    problems.push((
                        Verdict::Fail,
                        format!("{gpu} has {n} volatile double-bit ecc errors: drain the node and reset the gpu"),
                    ));
                }
            }
            other => {
                obs.evidence.insert(key("ecc_uncorrected_volatile"), other.describe().unwrap_or_default());
                note("ecc", other.describe(), problems);
            }
        }
        match &gpu.pages_pending_retirement {
            Reading::Value(pending) => {
                obs.evidence.insert(key("retired_pages_pending"), pending.to_string());
                if *pending {
                    problems.push((
                        Verdict::Warn,
                        format!("{gpu} has retired pages pending: reset the gpu or reboot to retire them"),
                    ));
                }
            }
            other => {
                obs.evidence.insert(key("retired_pages_pending"), other.describe().unwrap_or_default());
                note("page retirement", other.describe(), problems);
            }
        }
        match (&gpu.remap_failure, &gpu.remap_pending) {
            (Reading::Value(failed), Reading::Value(pending)) => {
                obs.evidence.insert(key("row_remap_failure"), failed.to_string());
                obs.evidence.insert(key("row_remap_pending"), pending.to_string());
                if *failed {
                    problems.push((
                        Verdict::Fail,
                        format!("{gpu} failed to remap a memory row: drain the node and replace the gpu"),
                    ));
                } else if *pending {
                    problems
                        .push((Verdict::Warn, format!("{gpu} has a row remapping pending: reset the gpu to apply it")));
                }
            }
            (failure, pending) => {
                let state = failure.describe().or_else(|| pending.describe());
                obs.evidence.insert(key("row_remap_failure"), state.clone().unwrap_or_default());
                note("row remapping", state, problems);
            }
        }
        match &gpu.throttle {
            Reading::Value(reasons) => {
                obs.evidence.insert(key("clocks_event_reasons"), format!("{:#x}", reasons.bits()));
                let thermal = *reasons & THERMAL;
                if !thermal.is_empty() {
                    problems.push((
                        Verdict::Fail,
                        format!("{gpu} is thermally throttled ({}): check cooling and airflow", reason_names(thermal)),
                    ));
                }
                if reasons.contains(ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN) {
                    problems.push((
                        Verdict::Fail,
                        format!("{gpu} is slowed by the hardware power brake: check the power supply"),
                    ));
                }
                if reasons.contains(ThrottleReasons::SW_POWER_CAP) {
                    problems.push((Verdict::Warn, format!("{gpu} clocks are capped by the power limit")));
                }
            }
            other => {
                obs.evidence.insert(key("clocks_event_reasons"), other.describe().unwrap_or_default());
                note("throttle reasons", other.describe(), problems);
            }
        }
        let uuid = gpu.uuid_label();
        match &gpu.temperature {
            Reading::Value(t) => {
                let m = Measurement::new("gpu_temperature", f64::from(*t), Unit::Celsius)
                    .label("gpu", i.to_string())
                    .label("uuid", uuid.clone())
                    .evaluate(&self.temperature);
                if let Some(e) = &m.evaluation {
                    match e.level {
                        Level::Ok => {}
                        Level::Warn => problems.push((
                            Verdict::Warn,
                            format!("{gpu} runs at {t}°C, at or above {}°C", self.spec.temperature_warn_celsius),
                        )),
                        Level::Breach => problems.push((
                            Verdict::Fail,
                            format!(
                                "{gpu} runs at {t}°C, above the critical {}°C: check cooling and airflow",
                                self.spec.temperature_critical_celsius
                            ),
                        )),
                    }
                }
                obs.push_measurement(m);
            }
            other => note("temperature", other.describe(), problems),
        }
        match &gpu.power_mw {
            Reading::Value(mw) => obs.push_measurement(
                Measurement::new("gpu_power", f64::from(*mw) / 1000.0, Unit::Watts)
                    .label("gpu", i.to_string())
                    .label("uuid", uuid),
            ),
            other => note("power", other.describe(), problems),
        }
    }
}

fn reason_names(r: ThrottleReasons) -> String {
    let mut names = Vec::new();
    if r.contains(ThrottleReasons::SW_THERMAL_SLOWDOWN) {
        names.push("software thermal slowdown");
    }
    if r.contains(ThrottleReasons::HW_THERMAL_SLOWDOWN) {
        names.push("hardware thermal slowdown");
    }
    if r.contains(ThrottleReasons::HW_SLOWDOWN) {
        names.push("hardware slowdown");
    }
    names.join(", ")
}

#[async_trait]
impl Probe for GpuHealthProbe {
    fn target(&self) -> String {
        target(&self.spec.library, "health")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let wanted = Wanted { health: true, capacity: false };
        let snap = with_nvml(cx, &self.spec.library, move |nvml| snapshot::read(nvml, wanted)).await?;
        self.evaluate(&snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warn_above_critical_is_misconfigured() {
        let spec = GpuHealthSpec { temperature_warn_celsius: 95.0, ..Default::default() };
        let err = GpuHealthProbe::from_spec(spec).unwrap_err();
        assert!(err.message.contains("temperature_warn_celsius"), "{}", err.message);
        assert!(err.message.contains("above the breach bound"), "{}", err.message);
    }
}
