//! [`BoxProbe`]: a shared, type-erased probe.

use std::sync::Arc;

use super::Probe;

/// A shared, type-erased probe: what plans hold; built by
/// [`ProbeExt::boxed`](super::ProbeExt::boxed).
pub type BoxProbe = Arc<dyn Probe>;
