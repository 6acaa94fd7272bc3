//! The README's config snippets load as they are written, and build their plan.
#![cfg(feature = "full")]

use nexus_readiness::config::Config;

/// Every ```toml block of the README that is a whole config file (it has a `[section]`).
fn config_blocks() -> Vec<(usize, String)> {
    let readme = include_str!("../README.md");
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some((n + 2, String::new())),
            (Some(_), "```") => {
                let (at, text) = current.take().unwrap();
                if text.lines().any(|l| l.starts_with('[')) {
                    blocks.push((at, text));
                }
            }
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn readme_config_snippets_load_and_plan() {
    let blocks = config_blocks();
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
