//! JSON rendering: the report's stable schema.
//!
//! [`render`] writes the [`Report`] with `serde_json` (pretty); [`parse`] reads it back. The
//! field names below are stable; new fields may be added (readers must ignore unknown fields),
//! none is renamed or removed within a major version.
//!
//! ```text
//! {
//!   "checklist": "production-checklist",          // checklist id
//!   "title": "Production Deployment Checklist",
//!   "started": "2026-01-01T12:00:00Z",            // RFC 3339, UTC, runner clock
//!   "finished": "2026-01-01T12:00:02Z",
//!   "duration_seconds": 2.01,
//!   "fail_on_warn": false,
//!   "cancelled": false,
//!   "allow_unverified": false,                     // [runner] allow_unverified
//!   "min_verified": "80%",                         // a count or a percentage; omitted when unset
//!   "coverage": {"automatable": 46, "verified": 40, "required": 37},   // required: with min_verified
//!   "unverified": false,    // ready only because allow_unverified let unverified gating items through
//!   "headline": "READY",    // or "NOT READY: 2 gating items failed; ...", "READY (UNVERIFIED: ...)"
//!   "ready": true,
//!   "signed_off": false,
//!   "sign_off": [{"role": "Engineering Lead", "name": null, ...}],   // omitted when empty
//!   "summary": {
//!     "total": 58, "pass": 30, "warn": 2, "fail": 0, "error": 0, "skipped": 10,
//!     "pending": 4, "attested": 10, "waived": 2,
//!     "gating_not_configured": 3,
//!     "not_configured": [{"item": "...", "key": "targets.tls", "gating": true}]
//!   },
//!   "items": [{                                    // document order
//!     "id": "pre-deployment.security.tls-certificates-valid",
//!     "title": "TLS certificates valid",
//!     "section": ["Pre-Deployment", "Security"],
//!     "phase": "pre-deployment",                  // omitted when none
//!     "severity": "blocker",                      // blocker | critical | major | minor
//!     "gating": true,
//!     "status": "pass",   // pass | warn | fail | error | skipped | pending | attested | waived
//!     "reason": "certificate for api.example.com valid for 80 days",
//!     "skip": "not-configured",   // skipped only: not-configured | not-applicable |
//!                                 // phase-not-run | dependency | cancelled
//!     "config_key": "targets.tls",                // not-configured only, when known
//!     "waived_status": "fail",                    // waived only
//!     "verification": "probe",                    // probe | attestation
//!     "blocked_by": "failed",   // blocking items only: failed | errored | warned | not-verified |
//!                               // attestation-missing | attestation-expired | dependency-failed | cancelled
//!     "ran_alone": true,                          // side effects: ran after the others; omitted when false
//!     "probes": [{
//!       "target": "tls://api.example.com:443",
//!       "observation": {                          // or "error": {"kind", "message", "config_key"}
//!         "verdict": "pass", "summary": "...",
//!         "measurements": [{"name": "days_until_expiry", "value": 80.0, "unit": "days",
//!                           "labels": {}, "evaluation": {"metric": "...", "level": "ok", ...}}],
//!         "evidence": {"issuer": "..."}
//!       },
//!       "duration_seconds": 0.012,
//!       "attempts": 1
//!     }],
//!     "attestation": {"by": "...", "role": "...", "at": "...", "evidence": "...", "expires": "2026-06-30", "max_age": "90d"},
//!     "waiver": {"justification": "...", "approver": "...", "expires": "2026-02-01", "expired": false},
//!     "duration_seconds": 0.012
//!   }]
//! }
//! ```

use super::Report;

/// The report as pretty JSON.
pub fn render(report: &Report) -> String {
    // Serializing plain data with string keys cannot fail; a failure would be a bug in a
    // Serialize impl, so degrade to an error object rather than panic.
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": {}}}", serde_json::Value::String(e.to_string())))
}

/// Reads a report rendered by [`render`].
///
/// # Errors
/// The JSON error, with line and column.
pub fn parse(json: &str) -> Result<Report, serde_json::Error> {
    serde_json::from_str(json)
}
