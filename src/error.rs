//! The crate-level error.

use std::path::PathBuf;

use thiserror::Error;

use crate::model::ModelError;

/// Crate-level result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong loading a checklist, a config or a plan.
///
/// Probe failures are not errors of this type: they become outcomes in the report.
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
