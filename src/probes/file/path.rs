//! A document (runbook, incident response plan) that must exist and not be empty.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::Unit;
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Checks a path exists and is not empty: a file of at least `min_bytes`, or a directory
/// with at least one entry. A missing path fails the item (the document was not written);
/// a path that cannot be read is an error.
#[derive(Debug, Clone)]
pub struct PathProbe {
    path: PathBuf,
    min_bytes: u64,
}

impl PathProbe {
    /// A probe for `path`, requiring at least one byte.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PathProbe { path: path.into(), min_bytes: 1 }
    }

    /// Requires at least `n` bytes (default 1).
    pub fn min_bytes(mut self, n: u64) -> Self {
        self.min_bytes = n;
        self
    }
}

#[async_trait]
impl Probe for PathProbe {
    fn target(&self) -> String {
        format!("file://{}", self.path.display())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let p = self.path.display();
        let meta = match cx.run(tokio::fs::metadata(&self.path)).await? {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Observation::fail(format!("{p} does not exist")).with_evidence("path", p.to_string()));
            }
            Err(e) => return Err(super::io_error(&self.path, &e)),
        };
        if meta.is_dir() {
            let mut rd = tokio::fs::read_dir(&self.path).await.map_err(|e| super::io_error(&self.path, &e))?;
            let mut n = 0usize;
            while let Some(_entry) = rd.next_entry().await.map_err(|e| super::io_error(&self.path, &e))? {
                n += 1;
            }
            let obs = if n == 0 {
                Observation::fail(format!("{p} is an empty directory"))
            } else {
                Observation::pass(format!("{p} has {n} entries"))
            };
            return Ok(obs
                .with_measurement(Measurement::new("entries", n as f64, Unit::Count))
                .with_evidence("path", p.to_string()));
        }
        let len = meta.len();
        let obs = if len == 0 {
            Observation::fail(format!("{p} is empty"))
        } else if len < self.min_bytes {
            Observation::fail(format!("{p} has {len} bytes, expected at least {}", self.min_bytes))
        } else {
            Observation::pass(format!("{p} exists ({len} bytes)"))
        };
        Ok(obs.with_measurement(Measurement::new("size", len as f64, Unit::Bytes)).with_evidence("path", p.to_string()))
    }
}

fn default_min_bytes() -> u64 {
    1
}

/// Config-file spec of a [`PathProbe`] (kind `path`).
///
/// ```toml
/// [targets.runbook]
/// path = "docs/runbook.md"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    /// The file or directory that must exist.
    pub path: PathBuf,
    /// Minimum size of a file in bytes (default 1).
    #[serde(default = "default_min_bytes")]
    pub min_bytes: u64,
}

impl ProbeSpec for PathSpec {
    const KIND: &'static str = "path";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(PathProbe::new(&self.path).min_bytes(self.min_bytes)))
    }
}
