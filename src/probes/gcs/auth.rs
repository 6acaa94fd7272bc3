//! Access tokens for the GCS JSON API: an explicit token, an application default credentials
//! file (`authorized_user`, or `service_account` with an RS256 JWT), or the metadata server
//! (GCE, GKE workload identity, Cloud Run).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::probe::{ProbeContext, ProbeError, Secret};
use crate::probes::backup::rest;

/// Where a GCS probe gets its access token from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GcsCredentials {
    /// Google's application default credentials chain: the file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
    /// `~/.config/gcloud/application_default_credentials.json`, else the metadata server
    /// (`GCE_METADATA_HOST` or `metadata.google.internal`: GCE, GKE workload identity, Cloud
    /// Run).
    ApplicationDefault,
    /// An OAuth access token (write `${env:NAME}` in config files).
    AccessToken(Secret),
    /// An application default credentials file: `authorized_user` (`gcloud auth
    /// application-default login`) or `service_account` (a key file).
    File(PathBuf),
    /// The metadata server only.
    MetadataServer,
    /// No credentials: public buckets and local emulators.
    Anonymous,
}

/// A token and when it stops being usable.
#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Option<DateTime<Utc>>,
}

/// Fetches and caches tokens for one bucket handle.
#[derive(Debug)]
pub(crate) struct TokenSource {
    credentials: GcsCredentials,
    metadata_base: String,
    cached: Mutex<Option<TokenCache>>,
}

struct TokenCache(Token);

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache([redacted])")
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// An ADC file. Only the fields we use; `type` says which flow.
#[derive(Deserialize)]
struct AdcFile {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    client_email: Option<String>,
    #[serde(default)]
    private_key: Option<String>,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The metadata server base URL: `GCE_METADATA_HOST` (host or host:port), else the standard name.
fn metadata_base() -> String {
    match std::env::var("GCE_METADATA_HOST") {
        Ok(h) if !h.trim().is_empty() => format!("http://{}", h.trim()),
        _ => "http://metadata.google.internal".into(),
    }
}

/// gcloud's well-known ADC file.
fn well_known_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(".config/gcloud/application_default_credentials.json"))
}

impl TokenSource {
    /// `metadata_host` overrides `GCE_METADATA_HOST` (host or host:port).
    pub(crate) fn new(credentials: GcsCredentials, metadata_host: Option<&str>) -> Self {
        let metadata_base = match metadata_host {
            Some(h) => format!("http://{}", h.trim()),
            None => metadata_base(),
        };
        TokenSource { credentials, metadata_base, cached: Mutex::new(None) }
    }

    /// A bearer token, or `None` for anonymous requests.
    pub(crate) async fn token(&self, cx: &ProbeContext, http: &reqwest::Client) -> Result<Option<Secret>, ProbeError> {
        match &self.credentials {
            GcsCredentials::Anonymous => return Ok(None),
            GcsCredentials::AccessToken(t) => return Ok(Some(t.clone())),
            _ => {}
        }
        let mut cached = self.cached.lock().await;
        let now = Utc::now();
        if let Some(TokenCache(t)) = cached.as_ref()
            && t.expires.is_none_or(|e| e - chrono::Duration::seconds(60) > now)
        {
            return Ok(Some(t.value.clone()));
        }
        let token = match &self.credentials {
            GcsCredentials::File(p) => from_file(cx, http, p).await?,
            GcsCredentials::MetadataServer => from_metadata(cx, http, &self.metadata_base).await?,
            _ => application_default(cx, http, &self.metadata_base).await?,
        };
        let value = token.value.clone();
        *cached = Some(TokenCache(token));
        Ok(Some(value))
    }
}

async fn application_default(cx: &ProbeContext, http: &reqwest::Client, metadata: &str) -> Result<Token, ProbeError> {
    if let Some(p) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty()) {
        return from_file(cx, http, Path::new(&p)).await;
    }
    if let Some(p) = well_known_file().filter(|p| p.is_file()) {
        return from_file(cx, http, &p).await;
    }
    from_metadata(cx, http, metadata).await.map_err(|e| {
        let mut e = e;
        e.message = format!(
            "no google credentials: GOOGLE_APPLICATION_CREDENTIALS is unset, there is no gcloud application default \
             credentials file, and the metadata server gave no token ({})",
            e.message
        );
        e
    })
}

async fn from_file(cx: &ProbeContext, http: &reqwest::Client, path: &Path) -> Result<Token, ProbeError> {
    let shown = path.display();
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| ProbeError::misconfigured(format!("cannot read google credentials file {shown}: {e}")))?;
    // serde_json's errors name line and column, never the value.
    let adc: AdcFile = serde_json::from_str(&text)
        .map_err(|e| ProbeError::misconfigured(format!("google credentials file {shown} is not valid: {e}")))?;
    match adc.kind.as_str() {
        "authorized_user" => {
            let field = |v: Option<String>, name: &str| {
                v.filter(|s| !s.is_empty())
                    .ok_or_else(|| ProbeError::misconfigured(format!("google credentials file {shown} has no {name}")))
            };
            let client_id = field(adc.client_id, "client_id")?;
            let client_secret = Secret::new(field(adc.client_secret, "client_secret")?);
            let refresh = Secret::new(field(adc.refresh_token, "refresh_token")?);
            let uri = adc.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
                ("refresh_token", refresh.expose()),
            ];
            let req = http.post(&uri).form(&form);
            token_answer(cx, "refresh token exchange", &uri, req).await
        }
        "service_account" => {
            let email = adc.client_email.filter(|s| !s.is_empty()).ok_or_else(|| {
                ProbeError::misconfigured(format!("google credentials file {shown} has no client_email"))
            })?;
            let key = Secret::new(adc.private_key.unwrap_or_default());
            let uri = adc.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
            let jwt = service_account_jwt(&email, &key, adc.private_key_id.as_deref(), &uri, Utc::now())
                .map_err(|why| ProbeError::misconfigured(format!("google credentials file {shown}: {why}")))?;
            let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", jwt.expose())];
            let req = http.post(&uri).form(&form);
            token_answer(cx, "service account token exchange", &uri, req).await
        }
        other => Err(ProbeError::misconfigured(format!(
            "google credentials file {shown} is of type {other:?}; this build reads \"authorized_user\" and \
             \"service_account\" files, an access token, or the metadata server (GKE workload identity, GCE, Cloud \
             Run)"
        ))),
    }
}

/// The scope asked for: reading bucket metadata and listing objects.
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";

/// A signed RS256 JWT asserting `email` for the token endpoint `aud` (OAuth 2.0 JWT bearer
/// grant), valid one hour from `now`. The error says what is wrong, never the key.
pub(crate) fn service_account_jwt(
    email: &str,
    pem: &Secret,
    key_id: Option<&str>,
    aud: &str,
    now: DateTime<Utc>,
) -> Result<Secret, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let body: String = pem
        .expose()
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err("private_key is not a PEM \"BEGIN PRIVATE KEY\" (PKCS#8) block".into());
    }
    let der = STANDARD.decode(body).map_err(|_| "private_key is not valid base64 inside its PEM block".to_string())?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("private_key is not a usable RSA key ({e})"))?;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(k) = key_id {
        header["kid"] = k.into();
    }
    let iat = now.timestamp();
    let claims = serde_json::json!({"iss": email, "scope": SCOPE, "aud": aud, "iat": iat, "exp": iat + 3600});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut sig)
        .map_err(|_| "signing with private_key failed".to_string())?;
    Ok(Secret::new(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))))
}

async fn from_metadata(cx: &ProbeContext, http: &reqwest::Client, base: &str) -> Result<Token, ProbeError> {
    let url = format!("{base}/computeMetadata/v1/instance/service-accounts/default/token");
    let req = http.get(&url).header("Metadata-Flavor", "Google").timeout(Duration::from_secs(5));
    token_answer(cx, "metadata server token", &url, req).await
}

async fn token_answer(
    cx: &ProbeContext,
    op: &str,
    url: &str,
    req: reqwest::RequestBuilder,
) -> Result<Token, ProbeError> {
    let a = rest::send(cx, op, "google credentials", url, req).await?;
    if a.status != 200 {
        // An OAuth error body names the error (`invalid_grant`), never a token.
        return Err(ProbeError::permission_denied(format!(
            "{op} at {}: HTTP {}: {}",
            crate::probe::scrub_urls(url),
            a.status,
            oauth_error(&a.body)
        )));
    }
    let t: TokenAnswer = serde_json::from_slice(&a.body).map_err(|e| {
        ProbeError::protocol(format!("{op} at {}: the answer is not a token: {e}", crate::probe::scrub_urls(url)))
    })?;
    Ok(Token {
        value: Secret::new(t.access_token),
        expires: t.expires_in.map(|s| Utc::now() + chrono::Duration::seconds(s)),
    })
}

/// `invalid_grant: Bad Request` from an OAuth error body, or its status only.
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
