//! Certificate errors in words people read, shared by the TLS backend and by every HTTP probe
//! whose request failed verification (compiled with feature `tls` or `http`).
//!
//! rustls says `certificate expired: verification time 1795995495 (UNIX), but certificate is
//! not valid after 1795000000 (UNIX)`; a report says `certificate for api.example.com expired on
//! 2026-11-19 (11 days ago)`.

use chrono::{DateTime, Utc};
use rustls::CertificateError;

/// `2026-01-01` for a unix timestamp.
pub(crate) fn date(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0).map_or_else(|| format!("@{secs}"), |d| d.format("%Y-%m-%d").to_string())
}

/// Whole days in `secs` (rounded toward zero), as "1 day" / "5 days".
pub(crate) fn days(secs: i64) -> String {
    let d = secs.abs() / 86_400;
    if d == 1 { "1 day".into() } else { format!("{d} days") }
}

fn unix(t: &rustls::pki_types::UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// "issued for a, b, not host", or that the certificate names no host.
pub(crate) fn issued_for(names: &[String], host: &str) -> String {
    if names.is_empty() {
        format!("certificate names no host (no SAN, no CN), not {host}")
    } else {
        format!("issued for {}, not {host}", names.join(", "))
    }
}

/// `other.test` for webpki's `DnsName("other.test")`, `10.0.0.1` for `IpAddress(10.0.0.1)`.
fn presented_name(n: &str) -> String {
    if let Some(inner) = n.strip_prefix("DnsName(\"").and_then(|r| r.strip_suffix("\")")) {
        return inner.to_string();
    }
    if let Some(inner) = n.strip_prefix("IpAddress(").and_then(|r| r.strip_suffix(')')) {
        return inner.to_string();
    }
    n.to_string()
}

/// A certificate verification error for `host`, in the TLS backend's words.
pub(crate) fn certificate_error(e: &CertificateError, host: &str) -> String {
    match e {
        CertificateError::ExpiredContext { time, not_after } => {
            let (now, end) = (unix(time), unix(not_after));
            format!("certificate for {host} expired on {} ({} ago)", date(end), days(now - end))
        }
        CertificateError::Expired => format!("certificate for {host} has expired"),
        CertificateError::NotValidYetContext { time, not_before } => {
            let (now, start) = (unix(time), unix(not_before));
            format!("certificate for {host} is not valid until {} (in {})", date(start), days(start - now))
        }
        CertificateError::NotValidYet => format!("certificate for {host} is not valid yet"),
        CertificateError::NotValidForNameContext { presented, .. } => {
            issued_for(&presented.iter().map(|n| presented_name(n)).collect::<Vec<_>>(), host)
        }
        CertificateError::NotValidForName => format!("certificate is not valid for {host}"),
        CertificateError::UnknownIssuer => format!(
            "unknown issuer: the chain of {host} does not lead to a trusted root (self-signed, a private CA \
             missing from the trusted roots, or a missing intermediate)"
        ),
        CertificateError::BadSignature => "a certificate signature in the chain does not verify".into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the certificate is not valid for tls server authentication (extended key usage)".into()
        }
        CertificateError::Revoked => format!("certificate for {host} is revoked"),
        other => format!("certificate verification failed: {}", rustls::Error::InvalidCertificate(other.clone())),
    }
}

/// The explanation of the first certificate error in an error's source chain (looking inside
/// `io::Error`s too), if there is one.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn explain_chain(err: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in std::iter::once(e).chain(inner) {
            if let Some(rustls::Error::InvalidCertificate(c)) = candidate.downcast_ref::<rustls::Error>() {
                return Some(certificate_error(c, host));
            }
        }
        cur = match inner {
            Some(i) => Some(i),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::UnixTime;
    use std::time::Duration;

    #[test]
    fn explains_in_dates_not_unix_seconds() {
        let e = CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_795_995_495)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_795_995_495 - 3 * 86_400 - 5)),
        };
        let text = certificate_error(&e, "api.nexus.test");
        assert_eq!(text, "certificate for api.nexus.test expired on 2026-11-26 (3 days ago)");
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(e));
        assert_eq!(explain_chain(&io, "api.nexus.test").as_deref(), Some(text.as_str()));
        let e = CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("api.test").unwrap(),
            presented: vec!["DnsName(\"other.test\")".into(), "IpAddress(10.0.0.1)".into()],
        };
        assert_eq!(certificate_error(&e, "api.test"), "issued for other.test, 10.0.0.1, not api.test");
    }
}
