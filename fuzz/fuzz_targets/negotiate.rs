//! Any `Accept` header and query string: the server's format negotiation never panics, and an
//! explicit `?format=` always wins.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::server::negotiate;

fuzz_target!(|input: (&str, &str, bool, bool)| {
    let (accept, query, has_accept, has_query) = input;
    let accept = has_accept.then_some(accept);
    let query = has_query.then_some(query);
    let chosen = negotiate(accept, query);
    if let Some(f) = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("format="))) {
        assert_eq!(chosen, f.parse().ok());
    } else if accept.is_none() {
        assert!(chosen.is_some());
    }
});
