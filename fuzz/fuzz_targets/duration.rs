//! Human durations: parsing never panics or overflows, accepted values stay within the
//! documented maximum, and formatting round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::model::duration;

fuzz_target!(|text: &str| {
    if let Ok(d) = duration::parse(text) {
        assert!(d <= duration::MAX, "{text:?} gave {d:?}");
        let shown = duration::format(d);
        assert_eq!(duration::parse(&shown).ok(), Some(d), "{text:?} -> {shown:?}");
    }
});
