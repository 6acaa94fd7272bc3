//! Azure Blob Storage authorization: shared key signing, SAS, managed identity tokens.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::probe::{ProbeContext, ProbeError, Secret, scrub_urls};
use crate::probes::backup::rest;

/// How Azure Blob requests are authorized.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AzureCredentials {
    /// The storage account's shared key (`Authorization: SharedKey account:signature`).
    SharedKey(Secret),
    /// A shared access signature: the query string a SAS URL carries (`sv=...&sig=...`).
    Sas(Secret),
    /// A managed identity token: the App Service / Functions endpoint (`IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER`) when set, else the instance metadata service (VMs, AKS pod identity).
    /// `client_id` picks a user-assigned identity.
    ManagedIdentity {
        /// The client id of a user-assigned identity; the system-assigned one when unset.
        client_id: Option<String>,
    },
    /// An OAuth bearer token for `https://storage.azure.com/` (write `${env:NAME}`).
    BearerToken(Secret),
    /// No authorization: public containers.
    Anonymous,
}

/// The default instance metadata service token endpoint.
pub(crate) const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Option<DateTime<Utc>>,
}

struct TokenCache(Token);

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache([redacted])")
    }
}

/// Caches one managed identity token for a container handle.
#[derive(Debug, Default)]
pub(crate) struct TokenSource {
    cached: Mutex<Option<TokenCache>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Seconds since the epoch, as a string (IMDS) or a number.
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
}

impl TokenSource {
    /// A token for `https://storage.azure.com/` from `endpoint` (IMDS or App Service).
    pub(crate) async fn managed_identity(
        &self,
        cx: &ProbeContext,
        http: &reqwest::Client,
        endpoint: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<Secret, ProbeError> {
        let mut cached = self.cached.lock().await;
        if let Some(TokenCache(t)) = cached.as_ref()
            && t.expires.is_none_or(|e| e - chrono::Duration::seconds(60) > Utc::now())
        {
            return Ok(t.value.clone());
        }
        let app_service = std::env::var("IDENTITY_ENDPOINT").ok().filter(|s| !s.is_empty());
        let header = std::env::var("IDENTITY_HEADER").ok().filter(|s| !s.is_empty());
        let (url, api, extra) = match (endpoint, app_service, header) {
            (Some(e), _, _) => (e.to_string(), "2018-02-01", None),
            (None, Some(e), Some(h)) => (e, "2019-08-01", Some(("X-IDENTITY-HEADER", Secret::new(h)))),
            _ => (IMDS_TOKEN_URL.to_string(), "2018-02-01", None),
        };
        let mut query = vec![("api-version", api.to_string()), ("resource", "https://storage.azure.com/".to_string())];
        if let Some(c) = client_id {
            query.push(("client_id", c.to_string()));
        }
        let mut req = http.get(&url).query(&query).header("Metadata", "true");
        if let Some((name, value)) = &extra {
            req = req.header(*name, value.expose());
        }
        let op = "managed identity token";
        let a = rest::send(cx, op, "azure credentials", &url, req).await?;
        if a.status != 200 {
            return Err(ProbeError::permission_denied(format!(
                "{op} at {}: HTTP {}: {}",
                scrub_urls(&url),
                a.status,
                oauth_error(&a.body)
            )));
        }
        let t: TokenAnswer = serde_json::from_slice(&a.body).map_err(|e| {
            ProbeError::protocol(format!("{op} at {}: the answer is not a token: {e}", scrub_urls(&url)))
        })?;
        let expires = t
            .expires_on
            .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .and_then(|s| DateTime::from_timestamp(s, 0));
        let value = Secret::new(t.access_token);
        *cached = Some(TokenCache(Token { value: value.clone(), expires }));
        Ok(value)
    }
}

fn oauth_error(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(E { error: Some(e), error_description: Some(d) }) => format!("{e}: {d}"),
        Ok(E { error: Some(e), .. }) => e,
        _ => "no OAuth error in the answer".into(),
    }
}

/// The `Authorization: SharedKey` value for a request (version 2009-09-19 and later rules).
///
/// `headers` are the `x-ms-*` headers sent (lowercase names); `path` and `query` are the URL's
/// path and decoded query pairs.
pub(crate) fn shared_key(
    account: &str,
    key: &Secret,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(&str, String)],
) -> Result<String, ProbeError> {
    let mut ms: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())).collect();
    ms.sort();
    let mut s = format!("{method}\n\n\n\n\n\n\n\n\n\n\n\n");
    for (k, v) in &ms {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&format!("/{account}{path}"));
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in query {
        let k = k.to_ascii_lowercase();
        match params.iter_mut().find(|(n, _)| *n == k) {
            Some((_, vs)) => vs.push(v.clone()),
            None => params.push((k, vec![v.clone()])),
        }
    }
    params.sort();
    for (k, mut vs) in params {
        vs.sort();
        s.push_str(&format!("\n{k}:{}", vs.join(",")));
    }
    let raw = B64
        .decode(key.expose().trim())
        .map_err(|_| ProbeError::misconfigured(format!("azure account key of account {account} is not base64")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&raw)
        .map_err(|_| ProbeError::misconfigured(format!("azure account key of account {account} is not usable")))?;
    mac.update(s.as_bytes());
    Ok(format!("SharedKey {account}:{}", B64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_key_string_to_sign_is_canonical() {
        // The key is the emulator's published well-known key.
        let key =
            Secret::new("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
        let q = vec![("restype".to_string(), "container".to_string()), ("comp".to_string(), "list".to_string())];
        let a = shared_key(
            "devstoreaccount1",
            &key,
            "GET",
            "/devstoreaccount1/c",
            &q,
            &[("x-ms-version", "2023-11-03".into())],
        )
        .unwrap();
        assert!(a.starts_with("SharedKey devstoreaccount1:") && a.len() > 40, "{a}");
        let b = shared_key(
            "devstoreaccount1",
            &key,
            "GET",
            "/devstoreaccount1/c",
            &q,
            &[("x-ms-version", "2023-11-04".into())],
        )
        .unwrap();
        assert_ne!(a, b);
        let e = shared_key("acct", &Secret::new("not base64!"), "GET", "/", &[], &[]).unwrap_err();
        assert_eq!(e.message, "azure account key of account acct is not base64");
    }
}
