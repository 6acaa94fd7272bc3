//! NVIDIA GPU health and capacity probes through NVML (feature `nvml`).
//!
//! These probes answer the checklist's "GPU nodes provisioned and tested" item, its capacity
//! rows for GPU utilization and memory (healthy below 70%, scale up above 85%) and its GPU
//! error alerting on the node itself, the way DCGM's quick diagnostic (level 1) and NVIDIA's
//! device plugin health checks do:
//!
//! | kind            | probe                 | looks at                                                     |
//! |-----------------|-----------------------|--------------------------------------------------------------|
//! | `nvml-gpus`     | [`GpuPresenceProbe`]  | GPU count, names, UUIDs, driver and CUDA versions            |
//! | `nvml-health`   | [`GpuHealthProbe`]    | double-bit ECC, pending page retirement, row remapping, thermal/power throttling, temperature, lost GPUs |
//! | `nvml-capacity` | [`GpuCapacityProbe`]  | utilization and framebuffer memory against the capacity thresholds |
//! | `nvml-xid`      | [`GpuXidProbe`]       | critical XID events during a short window                    |
//!
//! NVML is loaded with `dlopen` at check time (default `libnvidia-ml.so.1`, configurable with
//! `library`), so a binary built with this feature runs on nodes without a GPU and reports
//! why it could not look. Each check initialises NVML, reads what it needs and shuts NVML
//! down again, all on a blocking thread (`tokio::task::spawn_blocking`): NVML calls block, and
//! a fresh initialisation per check notices a driver that was reloaded or a container that
//! lost its device access since the last run instead of reusing a stale handle
//! (`nvmlInit` costs milliseconds with persistence mode on; it is the same cost
//! `nvidia-smi` pays on every call).
//!
//! Functions a GPU does not support (ECC on consumer boards, utilization in MIG mode, row
//! remapping before Ampere) are reported as "not supported" in the evidence and summary,
//! never as a failure.
//!
//! ```no_run
//! use nexus_readiness::probe::{BuildContext, Probe, ProbeContext, ProbeSpec};
//! use nexus_readiness::probes::nvml::{GpuCapacitySpec, GpuHealthSpec};
//!
//! # async fn run() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let cx = ProbeContext::new();
//! let health = GpuHealthSpec::default().build(&BuildContext::detached())?;
//! let capacity = GpuCapacitySpec::default().build(&BuildContext::detached())?;
//! for probe in [health, capacity] {
//!     match probe.check(&cx).await {
//!         Ok(obs) => println!("{}: {} {}", probe.target(), obs.verdict, obs.summary),
//!         Err(e) => println!("{}: error: {e}", probe.target()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod capacity;
mod health;
mod presence;
mod snapshot;
mod xid;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;

pub use capacity::{Aggregation, GpuCapacityProbe, GpuCapacityProbeBuilder, GpuCapacitySpec};
pub use health::{GpuHealthProbe, GpuHealthProbeBuilder, GpuHealthSpec};
pub use presence::{GpuPresenceProbe, GpuPresenceProbeBuilder, GpuPresenceSpec};
pub use xid::{DEFAULT_IGNORED_XIDS, GpuXidProbe, GpuXidProbeBuilder, GpuXidSpec};

use crate::probe::{ProbeContext, ProbeError, ProbeErrorKind};

/// The library loaded when no path is configured (the soname the NVIDIA driver installs).
pub const DEFAULT_LIBRARY: &str = "libnvidia-ml.so.1";

/// Why NVML could not be initialised on this node, with what an operator can do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NvmlInitError {
    /// The NVML library could not be loaded.
    #[error(
        "{library} not found: install the NVIDIA driver or mount it into the container (nvidia-container-toolkit): {reason}"
    )]
    LibraryMissing {
        /// The library path or name that was tried.
        library: String,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library lacks a function this crate needs (a driver older than NVML 12).
    #[error("{library} lacks an NVML function this probe needs ({reason}): upgrade the NVIDIA driver")]
    SymbolMissing {
        /// The library path or name.
        library: String,
        /// The missing symbol, as the loader reported it.
        reason: String,
    },
    /// The NVIDIA kernel driver is not loaded.
    #[error(
        "the NVIDIA kernel driver is not loaded: load it (modprobe nvidia) and check `nvidia-smi` and dmesg on the node"
    )]
    DriverNotLoaded,
    /// The kernel driver and the user-space library come from different driver versions.
    #[error(
        "the NVIDIA kernel driver and {library} are different versions (driver/library version mismatch): reboot the node or reload the nvidia kernel module after the driver upgrade"
    )]
    VersionMismatch {
        /// The library path or name.
        library: String,
    },
    /// NVML may not talk to the driver as this user.
    #[error(
        "no permission to talk to the NVIDIA driver: run as root or give the container the GPU devices (/dev/nvidia*, through the device plugin or --gpus)"
    )]
    NoPermission,
    /// A GPU fell off the bus while NVML initialised.
    #[error(
        "a GPU fell off the bus while NVML initialised (GPU is lost): drain the node, then reset the GPU or reboot"
    )]
    GpuLost,
    /// NVML failed with an unknown error at initialisation.
    #[error(
        "initialising NVML failed with an unknown error: a container that lost access to its GPU devices (for example after `systemctl daemon-reload` on the host) must be restarted; on the host check `nvidia-smi`"
    )]
    Unknown,
    /// Any other initialisation failure.
    #[error("initialising NVML through {library} failed: {reason}")]
    Other {
        /// The library path or name.
        library: String,
        /// What NVML said.
        reason: String,
    },
}

impl NvmlInitError {
    /// Classifies an error from `Nvml::builder().init()`.
    pub fn from_nvml(library: &str, error: &NvmlError) -> Self {
        let library = library.to_string();
        match error {
            NvmlError::LibloadingError(e) => NvmlInitError::LibraryMissing { library, reason: e.to_string() },
            NvmlError::LibraryNotFound => {
                NvmlInitError::LibraryMissing { library, reason: "NVML could not load its own libraries".into() }
            }
            NvmlError::FailedToLoadSymbol(s) => NvmlInitError::SymbolMissing { library, reason: s.clone() },
            NvmlError::FunctionNotFound => {
                NvmlInitError::SymbolMissing { library, reason: "NVML reported a missing function".into() }
            }
            NvmlError::DriverNotLoaded => NvmlInitError::DriverNotLoaded,
            NvmlError::LibRmVersionMismatch => NvmlInitError::VersionMismatch { library },
            NvmlError::NoPermission => NvmlInitError::NoPermission,
            NvmlError::GpuLost => NvmlInitError::GpuLost,
            NvmlError::Unknown => NvmlInitError::Unknown,
            other => NvmlInitError::Other { library, reason: other.to_string() },
        }
    }

    /// The kind of [`ProbeError`] this becomes.
    pub fn kind(&self) -> ProbeErrorKind {
        match self {
            NvmlInitError::LibraryMissing { .. }
            | NvmlInitError::SymbolMissing { .. }
            | NvmlInitError::DriverNotLoaded
            | NvmlInitError::VersionMismatch { .. } => ProbeErrorKind::MissingDependency,
            NvmlInitError::NoPermission => ProbeErrorKind::PermissionDenied,
            NvmlInitError::GpuLost | NvmlInitError::Unknown | NvmlInitError::Other { .. } => ProbeErrorKind::Other,
        }
    }
}

impl From<NvmlInitError> for ProbeError {
    fn from(e: NvmlInitError) -> Self {
        ProbeError::new(e.kind(), e.to_string())
    }
}

fn default_library() -> PathBuf {
    PathBuf::from(DEFAULT_LIBRARY)
}

fn library_name(path: &Path) -> String {
    path.display().to_string()
}

/// Loads and initialises NVML from `library` (blocking).
fn init(library: &Path) -> Result<Nvml, NvmlInitError> {
    let path: &OsStr = library.as_os_str();
    Nvml::builder().lib_path(path).init().map_err(|e| NvmlInitError::from_nvml(&library_name(library), &e))
}

/// Runs `f` with an initialised NVML on a blocking thread, within the context's deadline.
async fn with_nvml<T, F>(cx: &ProbeContext, library: &Path, f: F) -> Result<T, ProbeError>
where
    T: Send + 'static,
    F: FnOnce(&Nvml) -> Result<T, ProbeError> + Send + 'static,
{
    let library = library.to_path_buf();
    let task = tokio::task::spawn_blocking(move || {
        let nvml = init(&library)?;
        f(&nvml)
    });
    match cx.run(task).await? {
        Ok(result) => result,
        Err(join) if join.is_panic() => {
            Err(ProbeError::new(ProbeErrorKind::Panicked, "the NVML call panicked on its blocking thread"))
        }
        Err(join) => Err(ProbeError::other("the NVML task was cancelled").with_source(&join)),
    }
}

/// Maps an NVML error from a call after initialisation into a probe error naming the call.
fn call_error(what: &str, e: &NvmlError) -> ProbeError {
    let base = match e {
        NvmlError::NoPermission => ProbeError::permission_denied(format!("{what}: no permission")),
        NvmlError::DriverNotLoaded => return NvmlInitError::DriverNotLoaded.into(),
        NvmlError::NotSupported => ProbeError::not_applicable(format!("{what}: not supported by NVML on this node")),
        _ => ProbeError::other(what.to_string()),
    };
    base.with_source(e)
}

fn validate_library(library: &Path, field: &str) -> Result<(), ProbeError> {
    if library.as_os_str().is_empty() {
        return Err(ProbeError::misconfigured(format!(
            "{field} is empty: name the NVML library (default {DEFAULT_LIBRARY})"
        )));
    }
    Ok(())
}

fn target(library: &Path, what: &str) -> String {
    format!("nvml://{}/{what}", library_name(library))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_errors_are_distinct_and_actionable() {
        let lib = DEFAULT_LIBRARY;
        let cases = [
            (NvmlError::DriverNotLoaded, "modprobe nvidia", ProbeErrorKind::MissingDependency),
            (NvmlError::LibRmVersionMismatch, "version mismatch", ProbeErrorKind::MissingDependency),
            (NvmlError::NoPermission, "/dev/nvidia*", ProbeErrorKind::PermissionDenied),
            (NvmlError::GpuLost, "fell off the bus", ProbeErrorKind::Other),
            (NvmlError::Unknown, "lost access to its GPU devices", ProbeErrorKind::Other),
            (
                NvmlError::FailedToLoadSymbol("nvmlInit_v2".into()),
                "upgrade the NVIDIA driver",
                ProbeErrorKind::MissingDependency,
            ),
            (NvmlError::InsufficientPower, "power cables", ProbeErrorKind::Other),
        ];
        for (e, needle, kind) in cases {
            let err: ProbeError = NvmlInitError::from_nvml(lib, &e).into();
            assert!(err.message.contains(needle), "{e:?}: {}", err.message);
            assert_eq!(err.kind, kind, "{e:?}");
        }
    }

    #[test]
    fn spec_schemas_describe_the_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(GpuXidSpec)).unwrap();
        assert_eq!(schema["properties"]["window"]["type"], "string");
        assert_eq!(schema["additionalProperties"], false);
        let schema = serde_json::to_value(schemars::schema_for!(GpuCapacitySpec)).unwrap();
        assert!(schema["properties"]["utilization_breach_percent"]["description"].as_str().unwrap().contains("85"));
    }

    #[test]
    fn errors_are_send_sync() {
        fn assert_impls<T: Send + Sync + 'static>() {}
        assert_impls::<NvmlInitError>();
        assert_impls::<GpuHealthProbe>();
        assert_impls::<GpuXidProbe>();
    }
}
