//! Any text as a Dockerfile: the evaluation never panics and every finding names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::probes::file::DockerfileProbe;

fuzz_target!(|text: &str| {
    let obs = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", text);
    assert!(obs.summary.starts_with("Dockerfile"), "{}", obs.summary);
});
