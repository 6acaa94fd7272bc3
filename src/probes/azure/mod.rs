//! Azure Blob Storage backup probes (feature `azure`).
