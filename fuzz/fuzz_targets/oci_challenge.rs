//! Any `WWW-Authenticate` header: the challenge parser never panics, the scheme and the
//! parameter names come back lower case.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::__fuzz::oci_challenge;

fuzz_target!(|header: &str| {
    let (scheme, params) = oci_challenge(header);
    assert_eq!(scheme, scheme.to_ascii_lowercase());
    for (name, _) in &params {
        assert_eq!(name, &name.to_ascii_lowercase());
    }
});
