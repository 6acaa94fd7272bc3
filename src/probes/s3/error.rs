//! Mapping of AWS SDK errors onto [`ProbeError`]s.

use aws_sdk_s3::config::http::HttpResponse as Response;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::probe::{ProbeError, ProbeErrorKind};

/// What a service answered with an error: HTTP status, error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceFault {
    pub(crate) status: u16,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    /// What the body looked like when the SDK could not read an error code from it: its root
    /// element or first bytes.
    pub(crate) body: Option<String>,
}

impl ServiceFault {
    /// `AccessDenied: message (HTTP 403)` or `HTTP 403` when the answer had no body (HEAD).
    pub(crate) fn describe(&self) -> String {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {m} (HTTP {})", self.status),
            (Some(c), _) => format!("{c} (HTTP {})", self.status),
            (None, _) => match &self.body {
                Some(b) => format!("HTTP {} with a body the SDK cannot read: {b}", self.status),
                None => format!("HTTP {}", self.status),
            },
        }
    }

    /// Whether the service's error code is `code`.
    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Either the service answered with an error (a fault a check may turn into a verdict), or the
/// request failed in a way that is already a [`ProbeError`].
#[derive(Debug)]
pub(crate) enum CallError {
    Service(ServiceFault),
    Probe(ProbeError),
}

/// Classifies an SDK error of operation `op` on `bucket` sent to `endpoint`.
pub(crate) fn classify<E>(op: &str, bucket: &str, endpoint: &str, err: SdkError<E, Response>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let meta = se.err();
            let status = se.raw().status().as_u16();
            let body = meta.code().is_none().then(|| se.raw().body().bytes().map(describe_body)).flatten();
            if (200..300).contains(&status) {
                // A success status the SDK could not read as the operation's answer: a server
                // that speaks another dialect of the protocol, not a verdict on the bucket.
                return CallError::Probe(ProbeError::protocol(format!(
                    "{op} on bucket {bucket}: {endpoint} answered HTTP {status} with a body the SDK cannot read: {}",
                    body.as_deref().unwrap_or("empty body")
                )));
            }
            CallError::Service(ServiceFault {
                status,
                code: meta.code().map(str::to_string),
                message: meta.message().map(str::to_string),
                body,
            })
        }
        SdkError::DispatchFailure(df) => {
            let kind = if df.is_timeout() { ProbeErrorKind::Timeout } else { ProbeErrorKind::Unreachable };
            let what = if df.is_timeout() { "timed out connecting to" } else { "cannot reach" };
            let mut e = ProbeError::new(kind, format!("{op} on bucket {bucket}: {what} {endpoint}"));
            if let Some(ce) = df.as_connector_error() {
                e = e.with_source(ce);
            }
            CallError::Probe(e)
        }
        SdkError::TimeoutError(_) => CallError::Probe(ProbeError::new(
            ProbeErrorKind::Timeout,
            format!("{op} on bucket {bucket} at {endpoint} timed out"),
        )),
        SdkError::ResponseError(re) => {
            let raw = re.raw();
            let body = raw.body().bytes().map(describe_body).unwrap_or_else(|| "a streamed body".into());
            CallError::Probe(
                ProbeError::protocol(format!(
                    "{op} on bucket {bucket}: unreadable answer from {endpoint}: HTTP {} with {body}",
                    raw.status().as_u16()
                ))
                .with_source(&err),
            )
        }
        SdkError::ConstructionFailure(_) => CallError::Probe(
            ProbeError::misconfigured(format!("{op} on bucket {bucket}: cannot build the request")).with_source(&err),
        ),
        _ => CallError::Probe(ProbeError::other(format!("{op} on bucket {bucket} failed")).with_source(&err)),
    }
}

/// Longest excerpt of an unreadable body that goes into an error message.
const BODY_EXCERPT: usize = 120;

/// Describes a body the SDK could not read: `root element <Name>, body starts "..."`, or
/// `empty body`. Only printable ASCII is kept and the excerpt is bounded.
pub(crate) fn describe_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return "empty body".into();
    }
    let excerpt: String =
        trimmed.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' }).take(BODY_EXCERPT).collect();
    let ellipsis = if trimmed.chars().count() > BODY_EXCERPT { "..." } else { "" };
    match root_element(trimmed) {
        Some(root) => format!("root element <{root}>, body starts \"{excerpt}{ellipsis}\""),
        None => format!("body starts \"{excerpt}{ellipsis}\""),
    }
}

/// The name of the first element of an XML document, skipping the declaration, comments and
/// doctype.
fn root_element(xml: &str) -> Option<&str> {
    let mut rest = xml;
    loop {
        let start = rest.find('<')?;
        rest = &rest[start + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(rest.len());
        let name = &rest[..end];
        return (!name.is_empty()).then_some(name);
    }
}

/// Turns a service fault nobody handled into a [`ProbeError`]: 403 is permission denied,
/// `NoSuchBucket` is not found, anything else says the operation, code and message.
pub(crate) fn fault_to_error(op: &str, bucket: &str, fault: &ServiceFault) -> ProbeError {
    match fault.status {
        403 => ProbeError::permission_denied(format!("access denied to bucket {bucket}: {op}: {}", fault.describe())),
        _ if fault.is("NoSuchBucket") => ProbeError::not_found(format!("bucket {bucket} does not exist")),
        301 => ProbeError::misconfigured(format!(
            "bucket {bucket} is in another region than the one configured: {op}: {}",
            fault.describe()
        )),
        307 | 400 if fault.is("PermanentRedirect") || fault.is("AuthorizationHeaderMalformed") => {
            ProbeError::misconfigured(format!(
                "bucket {bucket} is in another region than the one configured: {op}: {}",
                fault.describe()
            ))
        }
        500..=599 => {
            ProbeError::unreachable(format!("{op} on bucket {bucket} failed on the server: {}", fault.describe()))
        }
        _ => ProbeError::other(format!("{op} on bucket {bucket} failed: {}", fault.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(status: u16, code: Option<&str>) -> ServiceFault {
        ServiceFault { status, code: code.map(str::to_string), message: Some("m".into()), body: None }
    }

    #[test]
    fn maps_service_faults() {
        let e = fault_to_error("GetBucketVersioning", "b", &fault(403, Some("AccessDenied")));
        assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
        assert_eq!(e.message, "access denied to bucket b: GetBucketVersioning: AccessDenied: m (HTTP 403)");
        let e = fault_to_error("ListObjectsV2", "b", &fault(404, Some("NoSuchBucket")));
        assert_eq!((e.kind, e.message.as_str()), (ProbeErrorKind::NotFound, "bucket b does not exist"));
        let e = fault_to_error("HeadBucket", "b", &ServiceFault { status: 503, code: None, message: None, body: None });
        assert_eq!(e.message, "HeadBucket on bucket b failed on the server: HTTP 503");
        assert!(e.kind.is_transient());
        let e = fault_to_error("HeadBucket", "b", &ServiceFault { status: 301, code: None, message: None, body: None });
        assert_eq!(e.message, "bucket b is in another region than the one configured: HeadBucket: HTTP 301");
    }

    #[test]
    fn describes_unreadable_bodies() {
        let moto = br#"<?xml version="1.0" encoding="UTF-8"?>
<GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        let d = describe_body(moto);
        assert!(d.starts_with("root element <GetBucketVersioningResponse>, body starts \"<?xml"), "{d}");
        assert!(d.ends_with("...\""), "{d}");
        assert_eq!(describe_body(b"  \n"), "empty body");
        assert_eq!(describe_body(b"<!-- c --><Error/>"), "root element <Error>, body starts \"<!-- c --><Error/>\"");
        assert_eq!(describe_body(b"not xml\x01"), "body starts \"not xml \"");
        let f =
            ServiceFault { status: 500, code: None, message: None, body: Some(describe_body(b"<html>oops</html>")) };
        assert_eq!(
            f.describe(),
            "HTTP 500 with a body the SDK cannot read: root element <html>, body starts \"<html>oops</html>\""
        );
    }
}
