use std::sync::Arc;

use super::{Probe, ProbeError};

/// A probe described by data (a config file entry): each built-in probe kind has a spec type
/// (`#[derive(Deserialize, JsonSchema)]`) that builds its probe.
///
/// Secrets in specs are [`Secret`](super::Secret)s, filled from `${env:NAME}` references by the
/// config loader, which also registers them with the plan's redactor.
pub trait ProbeSpec: Send + Sync + std::fmt::Debug {
    /// The kind name used in config files (`"tls"`, `"redis"`).
    fn kind(&self) -> &'static str;

    /// Builds the probe.
    ///
    /// # Errors
    /// A [`ProbeError`] of kind `Misconfigured` saying which field is wrong and why.
    fn build(&self) -> Result<Arc<dyn Probe>, ProbeError>;
}
