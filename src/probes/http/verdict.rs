//! Telling "could not look" from a verdict, and unverified trust.
//!
//! An answer in front of what a probe tests says nothing about it: a rate limiter's 429, an
//! auth layer's 401/403 when the probe sent credentials (they are wrong) or needed some, a
//! gateway's 502/503/504 when the backend is down, a redirect to a login page. Each probe
//! decides which of these apply to it ([`Blockers`]); an answer that matches is an Error
//! ([`ProbeError`]) naming the status and why, never a Pass or a Fail.
//!
//! A probe that did not verify the server (`insecure = true`) is at best Warn: [`unverified`].

use std::sync::LazyLock;

use regex::Regex;
use reqwest::StatusCode;

use super::client::{Fetched, HttpClient, INSECURE_NOTE, display_url};
use crate::probe::{Observation, ProbeError, ProbeErrorKind, Verdict};

/// Which answers block a probe from looking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blockers {
    /// 429 Too Many Requests.
    pub(crate) rate_limit: bool,
    /// 401, 403 and 407: `Some(true)` when the probe sent credentials (they were rejected),
    /// `Some(false)` when it sent none (the endpoint needs some), `None` when these statuses are
    /// verdicts for this probe.
    pub(crate) auth: Option<bool>,
    /// 502, 503 and 504: a gateway whose backend failed.
    pub(crate) upstream: bool,
    /// 404 and 405: the URL or method is wrong, so the request never reached what is tested.
    pub(crate) missing: bool,
    /// A redirect to a login page (the 3xx itself, or a followed chain that ended on one).
    pub(crate) login: bool,
}

impl Blockers {
    /// Rate limits, rejected credentials, upstream failures and login redirects.
    pub(crate) fn standard(sent_credentials: bool) -> Self {
        Blockers {
            rate_limit: true,
            auth: sent_credentials.then_some(true),
            upstream: true,
            missing: false,
            login: true,
        }
    }
}

static LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[/._-])(log-?in|sign-?in|sign_in|logon|sso|saml2?|oauth2?|openid-connect|authorize|adfs|cas)([/._?#-]|$)",
    )
    .expect("valid regex")
});

/// Whether a URL (host and path) looks like a login page.
pub(crate) fn is_login_url(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    LOGIN.is_match(url.path()) || host.starts_with("login.") || host.starts_with("sso.") || host.starts_with("auth.")
}

/// The login page an answer redirects to (or was redirected to), if any.
pub(crate) fn login_redirect(resp: &Fetched, requested: &reqwest::Url) -> Option<String> {
    if resp.status.is_redirection()
        && let Some(loc) = resp.header("location")
        && let Ok(target) = requested.join(loc)
        && is_login_url(&target)
    {
        return Some(display_url(&target));
    }
    (resp.url != *requested && is_login_url(&resp.url)).then(|| display_url(&resp.url))
}

fn reason(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Why `resp` says nothing about what the probe tests (an Error to report), or `None` when it
/// is a verdict. `what` names what the request was meant to reach ("the validator").
pub(crate) fn blocked(resp: &Fetched, requested: &reqwest::Url, b: Blockers, what: &str) -> Option<ProbeError> {
    let shown = display_url(requested);
    let code = resp.status.as_u16();
    let status = reason(resp.status);
    if b.rate_limit && code == 429 {
        let retry = resp.header("retry-after").map(|r| format!(", Retry-After: {r}")).unwrap_or_default();
        return Some(ProbeError::new(
            ProbeErrorKind::Unreachable,
            format!(
                "{shown} answered {status}{retry}: rate limited before the request reached {what}, so it could not look"
            ),
        ));
    }
    if let Some(sent) = b.auth
        && matches!(code, 401 | 403 | 407)
    {
        let why = if sent {
            "the credentials the probe sent were rejected (check its bearer token or secret headers)"
        } else {
            "it needs credentials the probe does not send (set client.secret_headers)"
        };
        return Some(ProbeError::permission_denied(format!(
            "{shown} answered {status}: {why}, so the request never reached {what}"
        )));
    }
    if b.upstream && matches!(code, 502..=504) {
        return Some(ProbeError::new(
            ProbeErrorKind::Unreachable,
            format!("{shown} answered {status}: the service behind it is failing, so the request never reached {what}"),
        ));
    }
    if b.missing && matches!(code, 404 | 405) {
        return Some(ProbeError::not_found(format!(
            "{shown} answered {status}: wrong url or method, so the request never reached {what}"
        )));
    }
    if b.login
        && let Some(page) = login_redirect(resp, requested)
    {
        return Some(ProbeError::permission_denied(format!(
            "{shown} redirected to the login page {page} ({code}), so the request never reached {what}"
        )));
    }
    None
}

/// Unverified trust is at best Warn: with `insecure = true` a Pass becomes a Warn with the
/// reason in its summary (a Fail stays a Fail); the evidence carries the loud note.
pub(crate) fn unverified(obs: Observation, client: &HttpClient) -> Observation {
    if !client.insecure {
        return obs;
    }
    at_best_warn(obs, "server certificate not verified: insecure = true")
        .with_evidence("tls_verification", INSECURE_NOTE)
}

/// A Pass becomes a Warn, and a Pass or Warn says `why` in its summary.
pub(crate) fn at_best_warn(mut obs: Observation, why: &str) -> Observation {
    if obs.verdict != Verdict::Fail {
        obs.verdict = Verdict::Warn;
        obs.summary.push_str(&format!(" ({why})"));
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_pages_are_recognised() {
        for u in [
            "https://id.example.com/login?next=/api",
            "https://example.com/auth/realms/main/protocol/openid-connect/auth",
            "https://example.com/oauth2/authorize",
            "https://login.microsoftonline.com/x",
            "https://example.com/users/sign_in",
            "https://example.com/SignIn",
        ] {
            assert!(is_login_url(&reqwest::Url::parse(u).unwrap()), "{u}");
        }
        for u in ["https://example.com/api/v1/blogin", "https://example.com/catalog", "https://example.com/healthz"] {
            assert!(!is_login_url(&reqwest::Url::parse(u).unwrap()), "{u}");
        }
    }
}
