//! Image pushed: the OCI distribution API, with the anonymous/basic Bearer token flow.

use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::HttpKind;
use super::client::{
    ClientOptions, Fetched, HttpClient, INSECURE_NOTE, SafeUrl, display_url, parse_url, secret_header_value,
};
use super::verdict::{Blockers, at_best_warn, blocked};
use crate::probe::{Observation, Probe, ProbeContext, ProbeError, Secret};

scrubbed_debug!(OciImageSpec: registry, repository, tag, username, password, client);

/// Manifest media types asked for, newest first.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Image pushed (kind `oci-image`): `HEAD /v2/<repository>/manifests/<tag>` answers 200, and
/// the digest is reported. A 401 with `WWW-Authenticate: Bearer realm=..,service=..,scope=..`
/// is followed through the token endpoint (anonymously, or with `username`/`password`).
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OciImageSpec {
    /// The registry: `https://registry.example.com` or a bare host (`ghcr.io`, https assumed).
    pub registry: String,
    /// The repository (`nexus/inference-server`).
    pub repository: String,
    /// The tag or digest (`v1.4.2`, `sha256:...`).
    pub tag: String,
    /// User name for the token endpoint or Basic authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Password or access token (`${env:REGISTRY_TOKEN}`).
    #[serde(default)]
    pub password: Option<Secret>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl OciImageSpec {
    /// Checks `repository:tag` on `registry`, anonymously.
    pub fn new(registry: impl Into<String>, repository: impl Into<String>, tag: impl Into<String>) -> Self {
        OciImageSpec {
            registry: registry.into(),
            repository: repository.into(),
            tag: tag.into(),
            username: None,
            password: None,
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for OciImageSpec {
    const NAME: &'static str = "oci-image";
    type Probe = OciImageProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` for an empty registry, repository or tag; `Misconfigured` for a bad one.
    fn build_probe(&self) -> Result<OciImageProbe, ProbeError> {
        let registry = self.registry.trim().trim_end_matches('/');
        let registry = if registry.contains("://") || registry.is_empty() {
            registry.to_string()
        } else {
            format!("https://{registry}")
        };
        let base = parse_url("registry", &registry)?;
        let repo = self.repository.trim().trim_matches('/');
        if repo.is_empty() {
            return Err(ProbeError::not_configured("repository"));
        }
        if self.tag.trim().is_empty() {
            return Err(ProbeError::not_configured("tag"));
        }
        let valid = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c));
        if !valid(repo) || !valid(self.tag.trim()) {
            return Err(ProbeError::misconfigured("repository and tag may hold only letters, digits and . _ - / :"));
        }
        let manifest = base
            .join(&format!("/v2/{repo}/manifests/{}", self.tag.trim()))
            .map_err(|e| ProbeError::misconfigured("cannot build the manifest url").with_source(&e))?;
        if self.password.is_some() != self.username.is_some() {
            return Err(ProbeError::misconfigured("username and password go together"));
        }
        Ok(OciImageProbe {
            manifest: SafeUrl(manifest),
            repository: repo.to_string(),
            tag: self.tag.trim().to_string(),
            credentials: self.username.clone().zip(self.password.clone()),
            client: self.client.build()?,
        })
    }
}

/// Builds a [`OciImageProbe`] in Rust: `OciImageProbe::builder(..).….build()`, the same probe as the
/// `oci-image` kind's [`OciImageSpec`].
#[derive(Debug, Clone)]
pub struct OciImageProbeBuilder {
    spec: OciImageSpec,
}

impl OciImageProbeBuilder {
    /// User name for the token endpoint or Basic authentication.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.spec.username = Some(username.into());
        self
    }

    /// Password or access token.
    pub fn password(mut self, password: Secret) -> Self {
        self.spec.password = Some(password);
        self
    }

    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `NotConfigured` without a repository, `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<OciImageProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl OciImageProbe {
    /// A builder for the image `repository:tag` in `registry`.
    pub fn builder(
        registry: impl Into<String>,
        repository: impl Into<String>,
        tag: impl Into<String>,
    ) -> OciImageProbeBuilder {
        OciImageProbeBuilder { spec: OciImageSpec::new(registry, repository, tag) }
    }
}

/// The probe built from an [`OciImageSpec`].
#[derive(Debug, Clone)]
pub struct OciImageProbe {
    manifest: SafeUrl,
    repository: String,
    tag: String,
    credentials: Option<(String, Secret)>,
    client: HttpClient,
}

/// A parsed `WWW-Authenticate` challenge: scheme and parameters.
pub(crate) fn parse_challenge(h: &str) -> (String, Vec<(String, String)>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else { break };
        let after = after.trim_start();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((k.trim().to_ascii_lowercase(), v.to_string()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl OciImageProbe {
    fn head(&self) -> reqwest::RequestBuilder {
        self.client.request(Method::HEAD, &self.manifest).header(ACCEPT, MANIFEST_ACCEPT)
    }

    async fn token(&self, cx: &ProbeContext, params: &[(String, String)]) -> Result<Secret, ProbeError> {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let realm = get("realm").ok_or_else(|| {
            ProbeError::protocol(format!("{} sent a Bearer challenge without realm", display_url(&self.manifest)))
        })?;
        let mut url = parse_url("realm", realm)
            .map_err(|e| ProbeError::protocol(format!("registry token realm is not an http(s) url: {e}")))?;
        // Credentials (and the token request itself) travel only over https, wherever the
        // registry points: an http realm could be read by anyone on the path. A plain-http
        // realm is accepted only on the registry's own origin (no worse than the registry
        // itself) or with `insecure`.
        let same_origin = url.scheme() == self.manifest.scheme()
            && url.host_str() == self.manifest.host_str()
            && url.port_or_known_default() == self.manifest.port_or_known_default();
        if url.scheme() != "https" && !same_origin && !self.client.insecure {
            return Err(ProbeError::protocol(format!(
                "{} names the token realm {}, which is not https: refused (set client.insecure = true to allow it)",
                display_url(&self.manifest),
                display_url(&url)
            )));
        }
        let default_scope = format!("repository:{}:pull", self.repository);
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = get("service") {
                q.append_pair("service", s);
            }
            q.append_pair("scope", get("scope").unwrap_or(&default_scope));
        }
        let mut rb = self.client.request(Method::GET, &url);
        if let Some((user, pass)) = &self.credentials {
            rb = rb.basic_auth(user, Some(pass.expose()));
        }
        let resp = self.client.send(cx, rb, &url).await?;
        let shown = display_url(&url);
        if resp.status == StatusCode::UNAUTHORIZED || resp.status == StatusCode::FORBIDDEN {
            return Err(ProbeError::permission_denied(format!(
                "registry token endpoint {shown} refused a pull token for {} ({})",
                self.repository,
                resp.status.as_u16()
            )));
        }
        if !resp.status.is_success() {
            return Err(ProbeError::protocol(format!(
                "registry token endpoint {shown} answered {}",
                resp.status.as_u16()
            )));
        }
        let ans: TokenAnswer = serde_json::from_slice(&resp.body).map_err(|e| {
            ProbeError::protocol(format!("registry token endpoint {shown} did not answer a token")).with_source(&e)
        })?;
        ans.token
            .or(ans.access_token)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| ProbeError::protocol(format!("registry token endpoint {shown} answered no token")))
    }

    /// Retries the HEAD after a 401, following its challenge.
    async fn authenticate(&self, cx: &ProbeContext, first: &Fetched) -> Result<(Fetched, &'static str), ProbeError> {
        let challenge = first.header(WWW_AUTHENTICATE.as_str()).unwrap_or_default().to_string();
        let (scheme, params) = parse_challenge(&challenge);
        match scheme.as_str() {
            "bearer" => {
                let token = self.token(cx, &params).await?;
                let value = secret_header_value("Authorization", &Secret::new(format!("Bearer {}", token.expose())))?;
                let how = if self.credentials.is_some() {
                    "bearer token (with credentials)"
                } else {
                    "anonymous bearer token"
                };
                Ok((self.client.send(cx, self.head().header(AUTHORIZATION, value), &self.manifest).await?, how))
            }
            "basic" => match &self.credentials {
                Some((user, pass)) => {
                    let rb = self.head().basic_auth(user, Some(pass.expose()));
                    Ok((self.client.send(cx, rb, &self.manifest).await?, "basic credentials"))
                }
                None => Err(ProbeError::permission_denied(format!(
                    "{} wants basic credentials: set username and password",
                    display_url(&self.manifest)
                ))),
            },
            _ => Err(ProbeError::permission_denied(format!(
                "{} answered 401 without a usable WWW-Authenticate challenge",
                display_url(&self.manifest)
            ))),
        }
    }
}

#[async_trait]
impl Probe for OciImageProbe {
    fn target(&self) -> String {
        display_url(&self.manifest)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.manifest);
        let image = format!("{}:{}", self.repository, self.tag);
        let mut resp = self.client.send(cx, self.head(), &self.manifest).await?;
        let mut auth = "none";
        if resp.status == StatusCode::UNAUTHORIZED {
            let (r, how) = self.authenticate(cx, &resp).await?;
            resp = r;
            auth = how;
        }
        let code = resp.status.as_u16();
        let front = Blockers { rate_limit: true, auth: None, upstream: true, missing: false, login: false };
        if let Some(e) = blocked(&resp, &self.manifest, front, &format!("manifest {image}")) {
            return Err(e);
        }
        let mut obs = match resp.status {
            s if s.is_success() => {
                let digest = resp.header("docker-content-digest").map(str::to_string);
                let media = resp.header("content-type").unwrap_or("unknown media type").to_string();
                let mut o = match &digest {
                    Some(d) => Observation::pass(format!("image {image} is pushed, digest {d}")),
                    None => Observation::pass(format!(
                        "image {image} is pushed (the registry sent no Docker-Content-Digest)"
                    )),
                };
                if let Some(d) = digest {
                    o = o.with_evidence("digest", d);
                }
                o.with_evidence("media_type", media)
            }
            StatusCode::NOT_FOUND => Observation::fail(format!("image {image} not found: {shown} answered 404")),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ProbeError::permission_denied(format!(
                    "{shown} answered {code} after authenticating with {auth}"
                )));
            }
            _ => return Err(ProbeError::protocol(format!("{shown} answered {code} for manifest {image}"))),
        };
        for m in resp.measurements(None) {
            obs.push_measurement(m);
        }
        obs = obs.with_evidence("manifest_url", &shown).with_evidence("auth", auth);
        // Unverified trust is at best Warn: a registry reached over plain http, or without
        // verifying its certificate, may not be the registry the cluster pulls from.
        let unverified = if self.client.insecure {
            obs = obs.with_evidence("tls_verification", INSECURE_NOTE);
            Some("registry certificate not verified: insecure = true")
        } else if self.manifest.scheme() == "http" {
            obs = obs.with_evidence("tls_verification", "none: the registry was reached over plain http");
            Some("registry reached over plain http: its identity and the digest were not verified")
        } else {
            None
        };
        Ok(match unverified {
            Some(why) => at_best_warn(obs, why),
            None => obs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_challenge;

    #[test]
    fn parses_bearer_challenge() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.docker.io/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.docker.io".into()));
        assert_eq!(p[2], ("scope".into(), "repository:library/nginx:pull".into()));
        let (s, p) = parse_challenge("Basic realm=Registry");
        assert_eq!(s, "basic");
        assert_eq!(p, vec![("realm".into(), "Registry".into())]);
    }
}
