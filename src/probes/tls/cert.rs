//! What the probe reads out of each certificate, with x509-parser.

use chrono::{DateTime, Utc};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The facts of one certificate of the chain the server sent.
#[derive(Clone, Debug)]
pub(crate) struct CertInfo {
    /// "leaf", "intermediate 1", ...
    pub(crate) position: String,
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) issuer_raw: Vec<u8>,
    /// DNS and IP subject alternative names, in certificate order.
    pub(crate) sans: Vec<String>,
    /// Common names of the subject, used when there is no SAN.
    pub(crate) common_names: Vec<String>,
    pub(crate) serial: String,
    pub(crate) version: u32,
    /// Unix seconds.
    pub(crate) not_before: i64,
    /// Unix seconds.
    pub(crate) not_after: i64,
}

impl CertInfo {
    /// Parses one DER certificate; `index` 0 is the leaf.
    pub(crate) fn parse(der: &[u8], index: usize) -> Result<Self, String> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("certificate {index} does not parse: {e}"))?;
        let sans = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_string()),
                    GeneralName::IPAddress(b) => ip_text(b),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let common_names =
            cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok().map(str::to_string)).collect();
        Ok(CertInfo {
            position: if index == 0 { "leaf".into() } else { format!("intermediate {index}") },
            subject: name_text(&cert.subject().to_string()),
            issuer: name_text(&cert.issuer().to_string()),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            sans,
            common_names,
            serial: cert.raw_serial_as_string(),
            version: cert.version().0 + 1,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// Whether subject and issuer are the same name (a root or a self-signed certificate).
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// The names the certificate is valid for: its SANs, or its common names without SANs.
    pub(crate) fn names(&self) -> &[String] {
        if self.sans.is_empty() { &self.common_names } else { &self.sans }
    }
}

/// The raw subject of a DER certificate (for comparing issuers against the root store).
pub(crate) fn subject_raw(der: &[u8]) -> Option<Vec<u8>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c.subject().as_raw().to_vec())
}

fn name_text(s: &str) -> String {
    if s.is_empty() { "(empty name)".into() } else { s.to_string() }
}

fn ip_text(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => <[u8; 16]>::try_from(b).ok().map(|a| std::net::Ipv6Addr::from(a).to_string()),
        _ => None,
    }
}

pub(crate) use crate::probes::tls_explain::{date, days};

/// `2026-01-01T00:00:00Z` for a unix timestamp.
pub(crate) fn datetime(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map_or_else(|| format!("@{secs}"), |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
