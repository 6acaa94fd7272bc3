//! Reports and renderers.
