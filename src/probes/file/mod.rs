//! File probes: a Dockerfile ([`DockerfileProbe`]), a container scanner report in Trivy JSON
//! ([`TrivyProbe`]), a JUnit XML test report ([`JunitProbe`]) and a document that must exist
//! ([`PathProbe`]).
//!
//! A file that cannot be read is a [`ProbeError`] naming the path (not found, permission
//! denied); what the file says is the verdict.
//!
//! ```
//! use nexus_readiness::probes::file::DockerfileProbe;
//! use nexus_readiness::probe::Verdict;
//!
//! let obs = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", "FROM ubuntu\n");
//! assert_eq!(obs.verdict, Verdict::Fail);
//! assert!(obs.summary.starts_with("Dockerfile:1: single-stage build"));
//! ```

mod dockerfile;
mod junit;
mod path;
mod trivy;

use std::path::Path;

pub use dockerfile::{DockerfileProbe, DockerfileSpec};
pub use junit::{JunitProbe, JunitSpec};
pub use path::{PathProbe, PathSpec};
pub use trivy::{ScanSeverity, TrivyProbe, TrivySpec};

use crate::probe::{ProbeContext, ProbeError};

/// Largest report file read (64 MiB).
const MAX_FILE: u64 = 64 << 20;

/// A probe error for an I/O error on `path`.
pub(crate) fn io_error(path: &Path, e: &std::io::Error) -> ProbeError {
    let p = path.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => ProbeError::not_found(format!("{p} does not exist")),
        std::io::ErrorKind::PermissionDenied => ProbeError::permission_denied(format!("{p} cannot be read")),
        _ => ProbeError::other(format!("reading {p}")).with_source(e),
    }
}

/// Reads a file as bytes (size-limited), honouring the context's deadline.
pub(crate) async fn read_bytes(path: &Path, cx: &ProbeContext) -> Result<Vec<u8>, ProbeError> {
    let meta = cx.run(tokio::fs::metadata(path)).await?.map_err(|e| io_error(path, &e))?;
    if meta.is_dir() {
        return Err(ProbeError::misconfigured(format!("{} is a directory, not a file", path.display())));
    }
    if meta.len() > MAX_FILE {
        return Err(ProbeError::misconfigured(format!(
            "{} is {} bytes, larger than the {MAX_FILE}-byte limit",
            path.display(),
            meta.len()
        )));
    }
    cx.run(tokio::fs::read(path)).await?.map_err(|e| io_error(path, &e))
}

/// Reads a file as UTF-8 text.
pub(crate) async fn read_text(path: &Path, cx: &ProbeContext) -> Result<String, ProbeError> {
    let bytes = read_bytes(path, cx).await?;
    String::from_utf8(bytes).map_err(|e| {
        ProbeError::protocol(format!("{} is not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))
    })
}
