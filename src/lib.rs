//! # nexus-readiness
//!
//! Production-readiness checklists as typed data, and an executable readiness pipeline.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

pub mod builtin;
pub mod config;
mod error;
pub mod format;
pub mod model;
pub mod probe;
pub mod probes;
pub mod report;
pub mod run;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;

pub use error::{Error, Result};
