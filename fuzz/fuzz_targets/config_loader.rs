//! Feeds arbitrary text to the config loader. Loading must never panic, every error must name
//! the file, and no error may echo a value read from `${env:...}`; a config that loads must
//! apply to the built-in checklist without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::builtin;
use nexus_readiness::config::Config;

const MARK: &str = "ENVVALUE7q";

fuzz_target!(|text: &str| {
    let loaded = Config::loader().env_source(|name| Some(format!("{MARK}-{name}"))).from_str(text, "fuzz.toml");
    match loaded {
        Ok(config) => {
            let _ = config.plan(builtin::nexus());
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.toml"), "{shown}");
            if !text.contains(MARK) {
                assert!(!shown.contains(MARK), "an env value is echoed: {shown}");
            }
        }
    }
});
