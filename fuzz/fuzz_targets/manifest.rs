//! Any text as a stream of Kubernetes manifests: splitting and loading never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nexus_readiness::probes::kube::Snapshot;
use nexus_readiness::probes::kube::manifest::load_str;

fuzz_target!(|text: &str| {
    let mut snap = Snapshot::default();
    if let Err(e) = load_str(&mut snap, Path::new("deploy.yaml"), text, "default") {
        let _ = e.to_string();
    }
});
