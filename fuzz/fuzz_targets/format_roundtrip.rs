//! Feeds arbitrary UTF-8 to both checklist parsers (the pulldown-cmark based Markdown one and the
//! reStructuredText one). A parser must never panic; whenever a document parses, rendering it
//! and parsing the rendering must give the same checklist (items, children, attributes and the
//! verbatim passages), rendering that again must give the same text, and the rendering in the
//! other syntax must read back with the same items, ids and attributes. (`format::parse` checks
//! the same-syntax read-back itself and refuses a document that fails it; this target checks
//! that nothing it accepts fails it, and the cross-syntax read-back, which parse does not check.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::format::{self, Syntax};
use nexus_readiness::model::Checklist;

/// What a checklist says about its items, whatever the syntax.
fn items(c: &Checklist) -> Vec<String> {
    c.items()
        .map(|i| {
            format!(
                "{} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                i.id, i.title, i.checked, i.severity, i.phase, i.verification, i.tags, i.after, i.parent, i.applicability
            )
        })
        .collect()
}

fuzz_target!(|text: &str| {
    for syntax in [Syntax::Rst, Syntax::Markdown] {
        let Ok(checklist) = format::parse(text, syntax) else { continue };
        let rendered = format::render(&checklist, syntax);
        let again = match format::parse(&rendered, syntax) {
            Ok(c) => c,
            Err(e) => panic!("{syntax:?}: the rendered document does not parse: {e}\n--- rendered ---\n{rendered}"),
        };
        assert_eq!(again, checklist, "{syntax:?}: the round trip changed the checklist\n--- rendered ---\n{rendered}");
        assert_eq!(format::render(&again, syntax), rendered, "{syntax:?}: rendering is not stable");
        let other = if syntax == Syntax::Rst { Syntax::Markdown } else { Syntax::Rst };
        let there = format::render(&checklist, other);
        match format::parse(&there, other) {
            Ok(c) => assert_eq!(items(&c), items(&checklist), "{syntax:?} -> {other:?}\n--- rendered ---\n{there}"),
            Err(e) => panic!("{syntax:?} -> {other:?}: the rendering does not parse: {e}\n--- rendered ---\n{there}"),
        }
    }
});
