//! Any text as a Trivy JSON report: reading it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::probes::file::TrivyProbe;

fuzz_target!(|text: &str| {
    let _ = TrivyProbe::new("trivy.json").evaluate("trivy.json", text);
});
