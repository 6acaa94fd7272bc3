use std::sync::{Arc, LazyLock};

use super::{Probe, ProbeError};
use crate::model::{Checklist, Item};

/// A probe kind described by data: the spec a config file writes (`kind = "tls"` and the
/// fields of [`TlsSpec`](crate::probes::tls::TlsSpec)), its JSON Schema, and how it builds its
/// probe.
///
/// Built-in kinds and a user's kinds are registered the same way, with
/// [`Registry::register`](crate::config::Registry::register), and get the same powers: they
/// work in `[bindings]`, in `[targets]` (when a checklist's [default
/// binding](crate::model::Binding) names them) and in the generated config schema.
///
/// ```
/// use std::sync::Arc;
/// use nexus_readiness::prelude::*;
///
/// /// Kind `disk-free`: a path whose file system must keep some space free.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct DiskFreeSpec {
///     /// The mount point.
///     path: String,
/// }
///
/// impl ProbeSpec for DiskFreeSpec {
///     const KIND: &'static str = "disk-free";
///
///     fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
///         if self.path.is_empty() {
///             return Err(ProbeError::misconfigured("disk-free: `path` is empty"));
///         }
///         Ok(Arc::new(FnProbe::new(format!("file://{}", self.path), |_cx| async {
///             Ok(Observation::pass("42% free"))
///         })))
///     }
/// }
/// ```
///
/// Secrets in specs are [`Secret`](super::Secret)s, filled from `${env:NAME}` references by the
/// config loader, which also registers them with the plan's redactor.
pub trait ProbeSpec:
    serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + std::fmt::Debug + 'static
{
    /// The kind name used in config files (`"tls"`, `"redis"`).
    const KIND: &'static str;

    /// Builds the probe.
    ///
    /// # Errors
    /// A [`ProbeError`] of kind `Misconfigured` saying which field is wrong and why.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError>;
}

static DETACHED: LazyLock<Checklist> =
    LazyLock::new(|| Checklist::builder("detached", "No checklist").build().expect("an empty checklist is valid"));

/// What a spec may use when it is built: the plan's checklist (its thresholds, alert rules
/// and key metrics, which the Prometheus kinds judge), the item being bound, and the config key
/// the spec was written at (for messages).
///
/// ```
/// use nexus_readiness::model::Checklist;
/// use nexus_readiness::probe::BuildContext;
///
/// let checklist = Checklist::builder("team", "Team checklist").build()?;
/// let cx = BuildContext::new(&checklist).key("targets.redis");
/// assert_eq!(cx.key, "targets.redis");
/// assert!(cx.item.is_none());
/// # Ok::<(), nexus_readiness::model::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BuildContext<'a> {
    /// The checklist of the plan the probe is bound into.
    pub checklist: &'a Checklist,
    /// The item the probe is bound to, when building for one.
    pub item: Option<&'a Item>,
    /// The config key the spec was written at (`targets.redis`, `bindings."id"`), or empty.
    pub key: &'a str,
}

impl<'a> BuildContext<'a> {
    /// A context for building against `checklist`.
    pub fn new(checklist: &'a Checklist) -> Self {
        BuildContext { checklist, item: None, key: "" }
    }

    /// A context with no checklist (an empty one): for a probe built outside any plan.
    pub fn detached() -> BuildContext<'static> {
        BuildContext { checklist: &DETACHED, item: None, key: "" }
    }

    /// The item being bound.
    pub fn item(mut self, item: &'a Item) -> Self {
        self.item = Some(item);
        self
    }

    /// The config key the spec was written at.
    pub fn key(mut self, key: &'a str) -> Self {
        self.key = key;
        self
    }
}

impl Default for BuildContext<'static> {
    fn default() -> Self {
        BuildContext::detached()
    }
}
