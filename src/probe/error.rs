use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What kind of reason kept a probe from deciding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProbeErrorKind {
    /// The target could not be reached (connection refused, DNS failure, no route).
    Unreachable,
    /// The probe ran out of time.
    Timeout,
    /// The target refused us (401/403, file permissions).
    PermissionDenied,
    /// The thing to look at does not exist (404, missing file) where that is not a verdict.
    NotFound,
    /// The probe's own settings are wrong (bad URL, bad regex).
    Misconfigured,
    /// No target is configured for the item: the report shows it as Skipped with the key.
    NotConfigured,
    /// The check does not apply here (feature not supported by the device, item marked not
    /// applicable): Skipped with the reason.
    NotApplicable,
    /// The peer answered something we could not understand.
    Protocol,
    /// A library or tool the probe needs is missing (libnvidia-ml.so, promtool).
    MissingDependency,
    /// The run was cancelled before the probe finished.
    Cancelled,
    /// The probe panicked.
    Panicked,
    /// Anything else.
    Other,
}

impl ProbeErrorKind {
    /// Whether this kind is reported as Skipped rather than Error.
    pub fn is_skip(self) -> bool {
        matches!(self, ProbeErrorKind::NotConfigured | ProbeErrorKind::NotApplicable)
    }

    /// Whether retrying might help (network trouble, timeouts).
    pub fn is_transient(self) -> bool {
        matches!(self, ProbeErrorKind::Unreachable | ProbeErrorKind::Timeout | ProbeErrorKind::Protocol)
    }
}

/// Why a probe could not decide. Shown in reports as an *Error* outcome (or *Skipped* for
/// [`ProbeErrorKind::NotConfigured`] / [`ProbeErrorKind::NotApplicable`]), never as a Fail.
///
/// The message says what failed and on what, lowercase, without a trailing period:
/// `connection refused by 10.0.0.1:443`. Error sources are flattened into the message so the
/// error is plain data (`Clone`, serde) and can be redacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProbeError {
    /// The kind of reason.
    pub kind: ProbeErrorKind,
    /// The reason, for people.
    pub message: String,
    /// For [`ProbeErrorKind::NotConfigured`]: the config key that would enable the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_key: Option<String>,
}

impl ProbeError {
    /// A new error of `kind`.
    pub fn new(kind: ProbeErrorKind, message: impl Into<String>) -> Self {
        ProbeError { kind, message: message.into(), config_key: None }
    }

    /// The target could not be reached.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::Unreachable, message)
    }

    /// The probe ran out of time after `after`.
    pub fn timeout(after: Duration) -> Self {
        Self::new(ProbeErrorKind::Timeout, format!("probe timed out after {}", crate::model::duration::format(after)))
    }

    /// Access was denied.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::PermissionDenied, message)
    }

    /// Something needed was not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::NotFound, message)
    }

    /// The probe's settings are wrong.
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::Misconfigured, message)
    }

    /// No target configured: the item is Skipped with "not configured: set `key`".
    pub fn not_configured(key: impl Into<String>) -> Self {
        let key = key.into();
        ProbeError {
            kind: ProbeErrorKind::NotConfigured,
            message: format!("not configured: set {key}"),
            config_key: Some(key),
        }
    }

    /// The check does not apply (Skipped with the reason).
    pub fn not_applicable(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::NotApplicable, message)
    }

    /// The peer's answer could not be understood.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::Protocol, message)
    }

    /// A needed library or tool is missing.
    pub fn missing_dependency(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::MissingDependency, message)
    }

    /// The run was cancelled.
    pub fn cancelled() -> Self {
        Self::new(ProbeErrorKind::Cancelled, "cancelled before the probe finished")
    }

    /// Any other reason.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorKind::Other, message)
    }

    /// Appends an error and its source chain to the message: `msg: cause: cause's cause`.
    pub fn with_source(mut self, source: &(dyn std::error::Error + 'static)) -> Self {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(source);
        while let Some(e) = cur {
            let text = e.to_string();
            if !self.message.contains(&text) {
                self.message.push_str(": ");
                self.message.push_str(&text);
            }
            cur = e.source();
        }
        self
    }

    /// Prefixes the message with context: `context: message`.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProbeError {}
