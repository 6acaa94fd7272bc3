//! The crate-level error.

use std::path::PathBuf;

use thiserror::Error;

use crate::model::ModelError;

/// Crate-level result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong loading a checklist, a config or a plan, or building a probe
/// in code: one error type for a program's `?`, each variant wrapping its module's error.
///
/// ```
/// use nexus_readiness::model::{Checklist, Item, Section};
/// use nexus_readiness::probe::{FnProbe, Observation};
/// use nexus_readiness::run::Plan;
///
/// fn plan() -> nexus_readiness::Result<Plan> {
///     let checklist = Checklist::builder("demo", "Demo")
///         .section(Section::new("Checks").item(Item::new("Cache answers")))
///         .build()?; // ModelError
///     let mut plan = Plan::new(checklist);
///     plan.bind("checks.cache-answers", FnProbe::new("redis://cache", |_| async {
///         Ok(Observation::pass("PONG"))
///     }))?; // PlanError
///     Ok(plan)
/// }
/// # plan().unwrap();
/// ```
///
/// Probe failures at run time are not errors of this type: they become outcomes in the report.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The checklist model is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A checklist document could not be parsed.
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    /// A plan could not be built (unknown item id, ...).
    #[error(transparent)]
    Plan(#[from] crate::run::PlanError),
    /// A config file is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A probe built in code is misconfigured (its builder's `build()` failed).
    #[error(transparent)]
    Probe(#[from] crate::probe::ProbeError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
