//! The README's config snippets load as they are written, and build their plan.
#![cfg(feature = "full")]

mod common;

use nexus_readiness::config::Config;

#[test]
fn readme_config_snippets_load_and_plan() {
    let blocks = common::readme_config_blocks();
    assert!(blocks.len() >= 8, "found only {} config blocks", blocks.len());
    for (line, text) in blocks {
        let config = Config::loader()
            .env_source(|name| Some(format!("value-of-{name}")))
            .from_str(&text, &format!("README.md:{line}"))
            .unwrap_or_else(|e| panic!("README.md config block at line {line} does not load: {e}\n{text}"));
        config
            .plan(nexus_readiness::builtin::nexus())
            .unwrap_or_else(|e| panic!("README.md config block at line {line} does not plan: {e}"));
    }
}
