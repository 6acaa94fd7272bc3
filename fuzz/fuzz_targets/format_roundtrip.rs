//! Feeds arbitrary UTF-8 to both checklist parsers. A parser must never panic; whenever a
//! document parses, rendering it and parsing the rendering must give the same checklist, and
//! rendering that again must give the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::format::{self, Syntax};

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
    }
});
