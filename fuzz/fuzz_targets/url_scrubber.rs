//! Any text through the URL scrubber: it never panics, it is idempotent, and no URL in its
//! output keeps user info.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::probe::scrub_urls;

fuzz_target!(|text: &str| {
    let once = scrub_urls(text);
    assert_eq!(scrub_urls(&once), once, "not idempotent for {text:?}");
    let mut rest = once.as_str();
    while let Some(pos) = rest.find("://") {
        rest = &rest[pos + 3..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | '\\') || c.is_whitespace())
            .unwrap_or(rest.len());
        assert!(!rest[..end].contains('@'), "user info kept in {once:?} (from {text:?})");
    }
});
