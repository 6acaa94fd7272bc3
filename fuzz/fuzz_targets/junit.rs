//! Any text as a JUnit XML report: reading it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::probes::file::JunitProbe;

fuzz_target!(|text: &str| {
    let _ = JunitProbe::new("junit.xml").evaluate("junit.xml", text);
});
