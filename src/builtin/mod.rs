//! The built-in Nexus production checklist.

pub mod bindings;
pub use bindings::{DefaultBinding, default_binding, default_bindings};

use crate::model::Checklist;

/// The Nexus production deployment checklist.
pub fn nexus() -> Checklist {
    Checklist::builder("production-checklist", "Production Deployment Checklist")
        .build()
        .expect("built-in checklist is valid")
}
