//! `nvml-xid`: critical XID events during a short window, as NVIDIA's device plugin watches them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::event::EventTypes;
use nvml_wrapper::enums::event::XidError;
use nvml_wrapper::error::NvmlError;
use serde::Deserialize;

use super::{call_error, default_library, target, validate_library, with_nvml};
use crate::model::{Unit, duration};
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec, Verdict};

/// XIDs caused by applications, not by the GPU, which NVIDIA's device plugin ignores too:
/// 13 (graphics engine exception), 31 (GPU memory page fault), 43 (GPU stopped processing),
/// 45 (preemptive cleanup), 68 (video processor exception), 109 (context switch timeout).
pub const DEFAULT_IGNORED_XIDS: [u64; 6] = [13, 31, 43, 45, 68, 109];

const MAX_WINDOW: Duration = Duration::from_secs(600);

/// Spec of the `nvml-xid` probe.
///
/// ```toml
/// kind = "nvml-xid"
/// window = "5s"
/// ignored_xids = [13, 31, 43, 45, 68, 109]
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuXidSpec {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    #[serde(default = "default_library")]
    pub library: PathBuf,
    /// How long to listen for events ("2s" by default, at most 10 minutes); shortened to fit
    /// the run's deadline.
    #[serde(default = "default_window", with = "duration::human")]
    #[schemars(with = "String")]
    pub window: Duration,
    /// XIDs that are not GPU faults (default [`DEFAULT_IGNORED_XIDS`]).
    #[serde(default = "default_ignored")]
    pub ignored_xids: Vec<u64>,
}

fn default_window() -> Duration {
    Duration::from_secs(2)
}

fn default_ignored() -> Vec<u64> {
    DEFAULT_IGNORED_XIDS.to_vec()
}

impl Default for GpuXidSpec {
    fn default() -> Self {
        GpuXidSpec { library: default_library(), window: default_window(), ignored_xids: default_ignored() }
    }
}

impl ProbeSpec for GpuXidSpec {
    const KIND: &'static str = "nvml-xid";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(GpuXidProbe::from_spec(self.clone())?))
    }
}

/// Listens for critical XID events (`nvmlEventTypeXidCriticalError`) on every GPU that
/// supports them for a short window. Fail on an XID that is not an application error or on a
/// GPU lost meanwhile; ignored application XIDs are listed in the evidence. When no GPU
/// supports the events, the check is not applicable (Skipped with the reason).
#[derive(Debug, Clone)]
pub struct GpuXidProbe {
    spec: GpuXidSpec,
}

/// Builds a [`GpuXidProbe`]: `GpuXidProbe::builder().….build()`.
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probes::nvml::GpuXidProbe;
///
/// let probe = GpuXidProbe::builder().window(Duration::from_secs(5)).build()?;
/// # let _ = probe;
/// assert!(GpuXidProbe::builder().window(Duration::ZERO).build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GpuXidProbeBuilder {
    spec: GpuXidSpec,
}

impl GpuXidProbeBuilder {
    /// The NVML library to load: a soname or a path (default `libnvidia-ml.so.1`).
    pub fn library(mut self, library: impl Into<PathBuf>) -> Self {
        self.spec.library = library.into();
        self
    }

    /// How long to listen for events (default 2s, at most 10 minutes).
    pub fn window(mut self, window: Duration) -> Self {
        self.spec.window = window;
        self
    }

    /// XIDs that are not GPU faults (default [`DEFAULT_IGNORED_XIDS`]).
    pub fn ignored_xids(mut self, xids: impl IntoIterator<Item = u64>) -> Self {
        self.spec.ignored_xids = xids.into_iter().collect();
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` when the library is empty or the window is zero or above 10 minutes.
    pub fn build(self) -> Result<GpuXidProbe, ProbeError> {
        GpuXidProbe::from_spec(self.spec)
    }
}

impl GpuXidProbe {
    /// A builder with the defaults of the `nvml-xid` kind.
    pub fn builder() -> GpuXidProbeBuilder {
        GpuXidProbeBuilder { spec: GpuXidSpec::default() }
    }

    /// A probe from its spec (what the `nvml-xid` kind builds).
    pub(crate) fn from_spec(spec: GpuXidSpec) -> Result<Self, ProbeError> {
        validate_library(&spec.library, "library")?;
        if spec.window.is_zero() || spec.window > MAX_WINDOW {
            return Err(ProbeError::misconfigured(format!(
                "window {} must be above 0s and at most 10m",
                duration::format(spec.window)
            )));
        }
        Ok(GpuXidProbe { spec })
    }

    fn evaluate(&self, w: &Watch) -> Result<Observation, ProbeError> {
        if w.watched.is_empty() {
            let mut why = format!("critical xid events are not supported on any of the {} gpus", w.gpus);
            if !w.lost.is_empty() {
                let lost: Vec<String> = w.lost.iter().map(|i| format!("gpu {i} lost")).collect();
                return Ok(Observation::fail(format!("{}; {why}", lost.join(", "))));
            }
            if w.gpus == 0 {
                why = "no gpu visible to NVML on this node: no xid events to watch".into();
            }
            return Err(ProbeError::not_applicable(why));
        }
        let window = duration::format(w.window);
        let mut obs = Observation::pass("");
        let mut critical = Vec::new();
        let mut ignored = Vec::new();
        for ev in &w.events {
            let gpu = match ev.gpu {
                Some(i) => format!("gpu {i} ({})", ev.uuid),
                None => format!("gpu {}", ev.uuid),
            };
            match ev.xid {
                Some(x) if self.spec.ignored_xids.contains(&x) => ignored.push(format!("xid {x} on {gpu}")),
                Some(x) => critical.push(format!("xid {x}{} on {gpu}", describe(x))),
                None => critical.push(format!("xid unknown (999) on {gpu}")),
            }
        }
        obs.push_measurement(Measurement::new("gpu_xid_critical_events", critical.len() as f64, Unit::Count));
        let watched: Vec<String> = w.watched.iter().map(|i| i.to_string()).collect();
        obs.evidence.insert("watched_gpus", watched.join(","));
        obs.evidence.insert("window", window.clone());
        if !w.unsupported.is_empty() {
            let u: Vec<String> = w.unsupported.iter().map(|i| i.to_string()).collect();
            obs.evidence.insert("xid_events_not_supported_on", u.join(","));
        }
        if !ignored.is_empty() {
            obs.evidence.insert("ignored_application_xids", ignored.join(", "));
        }
        if !critical.is_empty() {
            obs.evidence.insert("critical_xids", critical.join(", "));
        }
        let mut problems = Vec::new();
        if !critical.is_empty() {
            problems.push(format!(
                "critical {} during {window}: drain the node and check the gpu (nvidia-smi -q, dmesg)",
                critical.join(", ")
            ));
        }
        for i in &w.lost {
            problems.push(format!("gpu {i} is lost (fell off the bus): drain the node and reset the gpu or reboot"));
        }
        if problems.is_empty() {
            let mut s = format!("no critical xid events on {} gpus during {window}", w.watched.len());
            if !ignored.is_empty() {
                s.push_str(&format!(" (ignored application {})", ignored.join(", ")));
            }
            if !w.unsupported.is_empty() {
                s.push_str(&format!(
                    " (xid events not supported on gpu {})",
                    obs.evidence.get("xid_events_not_supported_on").unwrap_or_default()
                ));
            }
            obs.summary = s;
        } else {
            obs.verdict = Verdict::Fail;
            obs.summary = problems.join("; ");
        }
        Ok(obs)
    }
}

fn describe(xid: u64) -> &'static str {
    match xid {
        48 => " (double-bit ecc error)",
        63 | 64 => " (row remapping event)",
        74 => " (nvlink error)",
        79 => " (gpu has fallen off the bus)",
        92 => " (high single-bit ecc error rate)",
        94 => " (contained ecc error)",
        95 => " (uncontained ecc error)",
        119 | 120 => " (gsp error)",
        _ => "",
    }
}

/// What listening saw.
#[derive(Debug, Default)]
struct Watch {
    gpus: u32,
    watched: Vec<u32>,
    unsupported: Vec<u32>,
    lost: Vec<u32>,
    events: Vec<Event>,
    window: Duration,
}

#[derive(Debug)]
struct Event {
    gpu: Option<u32>,
    uuid: String,
    /// `None` for NVML's "unknown" XID (999).
    xid: Option<u64>,
}

/// Registers for critical XID events and listens for `window` (blocking).
fn watch(nvml: &Nvml, window: Duration) -> Result<Watch, ProbeError> {
    let mut w = Watch { window, ..Watch::default() };
    w.gpus = nvml.device_count().map_err(|e| call_error("counting gpus (nvmlDeviceGetCount)", &e))?;
    let mut devices = Vec::new();
    for i in 0..w.gpus {
        let device = match nvml.device_by_index(i) {
            Ok(d) => d,
            Err(NvmlError::GpuLost) => {
                w.lost.push(i);
                continue;
            }
            Err(e) => return Err(call_error(&format!("opening gpu {i}"), &e)),
        };
        match device.supported_event_types() {
            Ok(t) if t.contains(EventTypes::CRITICAL_XID_ERROR) => {
                let uuid = device.uuid().unwrap_or_else(|_| "unknown".into());
                devices.push((i, uuid, device));
            }
            Ok(_) | Err(NvmlError::NotSupported) => w.unsupported.push(i),
            Err(NvmlError::GpuLost) => w.lost.push(i),
            Err(e) => return Err(call_error(&format!("reading the event types of gpu {i}"), &e)),
        }
    }
    if devices.is_empty() {
        return Ok(w);
    }
    let mut set = nvml.create_event_set().map_err(|e| call_error("creating an nvml event set", &e))?;
    for (i, _, device) in &devices {
        set = device
            .register_events(EventTypes::CRITICAL_XID_ERROR, set)
            .map_err(|e| call_error(&format!("registering for xid events on gpu {i}"), &e.error))?;
        w.watched.push(*i);
    }
    let deadline = crate::probe::instant_after(window);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let ms = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
        match set.wait(ms) {
            Ok(ev) => {
                let xid = match ev.event_data {
                    Some(XidError::Value(v)) => Some(v),
                    Some(XidError::Unknown) => None,
                    None => continue,
                };
                let uuid = ev.device.uuid().unwrap_or_else(|_| "unknown".into());
                let gpu = devices.iter().find(|(_, u, _)| *u == uuid).map(|(i, _, _)| *i);
                w.events.push(Event { gpu, uuid, xid });
            }
            Err(NvmlError::Timeout) => {}
            Err(NvmlError::GpuLost) => {
                // NVML does not say which one: find it.
                for (i, _, device) in &devices {
                    if matches!(device.uuid(), Err(NvmlError::GpuLost)) {
                        w.lost.push(*i);
                    }
                }
                break;
            }
            Err(e) => return Err(call_error("waiting for xid events", &e)),
        }
    }
    Ok(w)
}

#[async_trait]
impl Probe for GpuXidProbe {
    fn target(&self) -> String {
        target(&self.spec.library, "xid")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        // Leave time for NVML to initialise and answer before the run's deadline.
        let window = match cx.remaining() {
            Some(left) => {
                self.spec.window.min(left.saturating_sub(Duration::from_millis(500)).max(Duration::from_millis(1)))
            }
            None => self.spec.window,
        };
        let w = with_nvml(cx, &self.spec.library, move |nvml| watch(nvml, window)).await?;
        self.evaluate(&w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds() {
        let spec = GpuXidSpec { window: Duration::ZERO, ..Default::default() };
        assert!(GpuXidProbe::from_spec(spec).unwrap_err().message.contains("window 0s must be above 0s"));
        let spec: GpuXidSpec = toml::from_str("window = \"250ms\"").unwrap();
        assert_eq!(spec.window, Duration::from_millis(250));
        assert_eq!(spec.ignored_xids, DEFAULT_IGNORED_XIDS.to_vec());
    }
}
