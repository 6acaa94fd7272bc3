//! Built-in probe backends, one module per feature.
