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
}

impl ServiceFault {
    /// `AccessDenied: message (HTTP 403)` or `HTTP 403` when the answer had no body (HEAD).
    pub(crate) fn describe(&self) -> String {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {m} (HTTP {})", self.status),
            (Some(c), _) => format!("{c} (HTTP {})", self.status),
            (None, _) => format!("HTTP {}", self.status),
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
            CallError::Service(ServiceFault {
                status: se.raw().status().as_u16(),
                code: meta.code().map(str::to_string),
                message: meta.message().map(str::to_string),
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
        SdkError::ResponseError(_) => CallError::Probe(
            ProbeError::protocol(format!("{op} on bucket {bucket}: unreadable answer from {endpoint}"))
                .with_source(&err),
        ),
        SdkError::ConstructionFailure(_) => CallError::Probe(
            ProbeError::misconfigured(format!("{op} on bucket {bucket}: cannot build the request")).with_source(&err),
        ),
        _ => CallError::Probe(ProbeError::other(format!("{op} on bucket {bucket} failed")).with_source(&err)),
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
        ServiceFault { status, code: code.map(str::to_string), message: Some("m".into()) }
    }

    #[test]
    fn maps_service_faults() {
        let e = fault_to_error("GetBucketVersioning", "b", &fault(403, Some("AccessDenied")));
        assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
        assert_eq!(e.message, "access denied to bucket b: GetBucketVersioning: AccessDenied: m (HTTP 403)");
        let e = fault_to_error("ListObjectsV2", "b", &fault(404, Some("NoSuchBucket")));
        assert_eq!((e.kind, e.message.as_str()), (ProbeErrorKind::NotFound, "bucket b does not exist"));
        let e = fault_to_error("HeadBucket", "b", &ServiceFault { status: 503, code: None, message: None });
        assert_eq!(e.message, "HeadBucket on bucket b failed on the server: HTTP 503");
        assert!(e.kind.is_transient());
        let e = fault_to_error("HeadBucket", "b", &ServiceFault { status: 301, code: None, message: None });
        assert_eq!(e.message, "bucket b is in another region than the one configured: HeadBucket: HTTP 301");
    }
}
