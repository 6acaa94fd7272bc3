//! Parsing and rendering checklist documents.

use nexus_readiness::builtin::{NEXUS_MARKDOWN, NEXUS_RST};
use nexus_readiness::format::{self, Syntax};

#[test]
fn scratch() {
    let c = format::parse_rst(NEXUS_RST).unwrap();
    let r = format::render_rst(&c);
    std::fs::write("/tmp/scratch/out.rst", &r).unwrap();
    let m = format::render_markdown(&c);
    std::fs::write("/tmp/scratch/out.md", &m).unwrap();
    let md = format::parse_markdown(NEXUS_MARKDOWN).unwrap();
    assert_eq!(md, c);
    assert_eq!(format::parse_rst(&r).unwrap(), c);
    assert_eq!(format::parse_markdown(&m).unwrap(), c);
    let _ = Syntax::Rst;
}
