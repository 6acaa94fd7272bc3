//! Reading device state into plain data (on the blocking thread); probes evaluate it.

use std::fmt;

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{EccCounter, MemoryError, TemperatureSensor};
use nvml_wrapper::enums::device::SampleValue;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::FieldValueSample;
use nvml_wrapper::structs::device::FieldId;
use nvml_wrapper::sys_exports::field_id::{NVML_FI_DEV_REMAPPED_FAILURE, NVML_FI_DEV_REMAPPED_PENDING};

use super::call_error;
use crate::probe::ProbeError;

/// One value read from NVML, or why it could not be read.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Reading<T> {
    /// The value.
    Value(T),
    /// NVML says the device does not support this function.
    NotSupported,
    /// The GPU fell off the bus.
    Lost,
    /// Any other failure, with NVML's message.
    Failed(String),
}

impl<T> Reading<T> {
    fn from_result(r: Result<T, NvmlError>) -> Self {
        match r {
            Ok(v) => Reading::Value(v),
            Err(e) => Self::from_error(&e),
        }
    }

    fn from_error(e: &NvmlError) -> Self {
        match e {
            NvmlError::NotSupported => Reading::NotSupported,
            NvmlError::GpuLost => Reading::Lost,
            other => Reading::Failed(other.to_string()),
        }
    }

    fn same_state<U>(&self) -> Reading<U> {
        match self {
            Reading::Value(_) => Reading::NotSupported,
            Reading::NotSupported => Reading::NotSupported,
            Reading::Lost => Reading::Lost,
            Reading::Failed(m) => Reading::Failed(m.clone()),
        }
    }

    pub(super) fn value(&self) -> Option<&T> {
        match self {
            Reading::Value(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn is_lost(&self) -> bool {
        matches!(self, Reading::Lost)
    }

    /// A short word for evidence when there is no value.
    pub(super) fn describe(&self) -> Option<String> {
        match self {
            Reading::Value(_) => None,
            Reading::NotSupported => Some("not supported".into()),
            Reading::Lost => Some("gpu lost".into()),
            Reading::Failed(m) => Some(format!("failed: {m}")),
        }
    }
}

/// What NVML told us about the node.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Snapshot {
    pub(super) driver_version: Reading<String>,
    pub(super) cuda_version: Reading<i32>,
    pub(super) gpus: Vec<Gpu>,
}

/// Which readings a probe needs.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Wanted {
    pub(super) health: bool,
    pub(super) capacity: bool,
}

/// What NVML told us about one GPU.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Gpu {
    pub(super) index: u32,
    pub(super) handle: Reading<()>,
    pub(super) name: Reading<String>,
    pub(super) uuid: Reading<String>,
    pub(super) temperature: Reading<u32>,
    pub(super) power_mw: Reading<u32>,
    pub(super) utilization: Reading<u32>,
    /// (used, total) bytes.
    pub(super) memory: Reading<(u64, u64)>,
    pub(super) ecc_uncorrected: Reading<u64>,
    pub(super) pages_pending_retirement: Reading<bool>,
    pub(super) remap_pending: Reading<bool>,
    pub(super) remap_failure: Reading<bool>,
    pub(super) throttle: Reading<ThrottleReasons>,
}

impl Gpu {
    fn unreadable(index: u32, state: Reading<()>) -> Self {
        Gpu {
            index,
            name: state.same_state(),
            uuid: state.same_state(),
            temperature: state.same_state(),
            power_mw: state.same_state(),
            utilization: state.same_state(),
            memory: state.same_state(),
            ecc_uncorrected: state.same_state(),
            pages_pending_retirement: state.same_state(),
            remap_pending: state.same_state(),
            remap_failure: state.same_state(),
            throttle: state.same_state(),
            handle: state,
        }
    }

    /// Whether any reading said the GPU is lost.
    pub(super) fn is_lost(&self) -> bool {
        self.handle.is_lost()
            || self.name.is_lost()
            || self.uuid.is_lost()
            || self.temperature.is_lost()
            || self.power_mw.is_lost()
            || self.utilization.is_lost()
            || self.memory.is_lost()
            || self.ecc_uncorrected.is_lost()
            || self.pages_pending_retirement.is_lost()
            || self.remap_pending.is_lost()
            || self.remap_failure.is_lost()
            || self.throttle.is_lost()
    }

    /// The UUID, or `unknown`.
    pub(super) fn uuid_label(&self) -> String {
        self.uuid.value().cloned().unwrap_or_else(|| "unknown".into())
    }
}

impl fmt::Display for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.uuid.value() {
            Some(uuid) => write!(f, "gpu {} ({uuid})", self.index),
            None => write!(f, "gpu {}", self.index),
        }
    }
}

/// Reads the node: versions, then every GPU (blocking).
pub(super) fn read(nvml: &Nvml, wanted: Wanted) -> Result<Snapshot, ProbeError> {
    let count = nvml.device_count().map_err(|e| call_error("counting gpus (nvmlDeviceGetCount)", &e))?;
    let mut gpus = Vec::with_capacity(count as usize);
    for index in 0..count {
        gpus.push(read_gpu(nvml, index, wanted));
    }
    Ok(Snapshot {
        driver_version: Reading::from_result(nvml.sys_driver_version()),
        cuda_version: Reading::from_result(nvml.sys_cuda_driver_version()),
        gpus,
    })
}

fn read_gpu(nvml: &Nvml, index: u32, wanted: Wanted) -> Gpu {
    let device = match nvml.device_by_index(index) {
        Ok(d) => d,
        Err(e) => return Gpu::unreadable(index, Reading::from_error(&e)),
    };
    let mut gpu = Gpu::unreadable(index, Reading::NotSupported);
    gpu.handle = Reading::Value(());
    gpu.name = Reading::from_result(device.name());
    gpu.uuid = Reading::from_result(device.uuid());
    if wanted.health {
        gpu.temperature = Reading::from_result(device.temperature(TemperatureSensor::Gpu));
        gpu.power_mw = Reading::from_result(device.power_usage());
        gpu.ecc_uncorrected =
            Reading::from_result(device.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile));
        gpu.pages_pending_retirement = Reading::from_result(device.are_pages_pending_retired());
        gpu.throttle = Reading::from_result(device.current_throttle_reasons());
        let fields = [FieldId(NVML_FI_DEV_REMAPPED_PENDING), FieldId(NVML_FI_DEV_REMAPPED_FAILURE)];
        match device.field_values_for(&fields) {
            Ok(samples) => {
                let mut samples = samples.into_iter();
                gpu.remap_pending = field_flag(samples.next());
                gpu.remap_failure = field_flag(samples.next());
            }
            Err(e) => {
                gpu.remap_pending = Reading::from_error(&e);
                gpu.remap_failure = Reading::from_error(&e);
            }
        }
    }
    if wanted.capacity {
        gpu.utilization = Reading::from_result(device.utilization_rates().map(|u| u.gpu));
        gpu.memory = Reading::from_result(device.memory_info().map(|m| (m.used, m.total)));
    }
    gpu
}

fn field_flag(sample: Option<Result<FieldValueSample, NvmlError>>) -> Reading<bool> {
    let sample = match sample {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Reading::from_error(&e),
        None => return Reading::Failed("nvml returned fewer field values than asked for".into()),
    };
    match sample.value {
        Ok(SampleValue::U32(v)) => Reading::Value(v != 0),
        Ok(SampleValue::U64(v)) => Reading::Value(v != 0),
        Ok(SampleValue::I64(v)) => Reading::Value(v != 0),
        Ok(SampleValue::F64(v)) => Reading::Value(v != 0.0),
        Err(e) => Reading::from_error(&e),
    }
}
