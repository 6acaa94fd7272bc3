//! Entry points for the fuzz targets (`fuzz/`) and the property tests (`tests/proptest_*.rs`)
//! into parsers that are not public API. Hidden from the docs, no stability promise: do not
//! use it in applications.

/// Reads RESP replies as the Redis probe does: each reply described, or the error that ended
/// the reading.
pub fn redis_replies(bytes: &[u8]) -> Vec<Result<String, String>> {
    crate::probes::net::read_replies(bytes)
}

/// Parses a `WWW-Authenticate` challenge as the OCI registry probe does: the scheme (lower
/// case) and the parameters (names lower case).
#[cfg(feature = "http")]
pub fn oci_challenge(header: &str) -> (String, Vec<(String, String)>) {
    crate::probes::http::parse_challenge(header)
}
