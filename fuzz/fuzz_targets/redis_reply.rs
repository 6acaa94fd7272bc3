//! Any bytes as a Redis server's answers: the RESP reader never panics, never waits on data
//! that is all there, and stops at the first error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_readiness::__fuzz::redis_replies;

fuzz_target!(|bytes: &[u8]| {
    let replies = redis_replies(bytes);
    let last = replies.last().expect("at least the end of the stream");
    assert!(last.is_err(), "the reading ends with an error (closed or garbage)");
    assert!(replies[..replies.len() - 1].iter().all(Result::is_ok));
    if let Err(e) = last {
        assert_ne!(e, "the reader waited on a slice");
    }
});
