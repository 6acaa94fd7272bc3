//! Declarative configuration (TOML): targets, bindings, attestations, waivers.

use thiserror::Error;

/// A config file is invalid.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConfigError {
    /// What is wrong, with file, line and key.
    pub message: String,
}
