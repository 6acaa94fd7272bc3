//! One HTTP exchange for the REST backends (GCS, Azure Blob): deadline and cancellation from
//! the probe context, transport failures as [`ProbeError`]s naming the endpoint (never a token
//! or a SAS: URLs pass the one scrubber).

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::probe::{ProbeContext, ProbeError, ProbeErrorKind, scrub_urls};

/// A reqwest client for a storage API: rustls, no redirects, connect and request timeouts.
pub(crate) fn client(connect_timeout: Duration, timeout: Duration) -> Result<reqwest::Client, ProbeError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| ProbeError::missing_dependency(format!("cannot build an https client: {e}")))
}

/// What a storage API answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    #[cfg_attr(not(feature = "azure"), allow(dead_code))]
    pub(crate) headers: HeaderMap,
    /// The body, read whole (one page of a listing at most).
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// A header as text.
    #[cfg_attr(not(feature = "azure"), allow(dead_code))]
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy), for messages: at most 200 characters.
    pub(crate) fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        let cut: String = text.chars().take(200).collect();
        if cut.len() < text.len() { format!("{cut}...") } else { cut }
    }
}

/// Sends `req` (`op` and `what` name it in messages), reads the whole answer.
pub(crate) async fn send(
    cx: &ProbeContext,
    op: &str,
    what: &str,
    endpoint: &str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, ProbeError> {
    let exchange = async {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>(Answer { status, headers, body })
    };
    match cx.run(exchange).await? {
        Ok(a) => Ok(a),
        Err(e) => {
            let endpoint = scrub_urls(endpoint);
            let (kind, verb) = if e.is_timeout() {
                (ProbeErrorKind::Timeout, "timed out talking to")
            } else if e.is_connect() {
                (ProbeErrorKind::Unreachable, "cannot reach")
            } else {
                (ProbeErrorKind::Unreachable, "failed talking to")
            };
            // reqwest's Display holds the URL (with a SAS token in its query): keep only the
            // kind of failure, and scrub what is left.
            let cause = std::error::Error::source(&e).map(|s| scrub_urls(&s.to_string()));
            let mut msg = format!("{op} on {what}: {verb} {endpoint}");
            if let Some(c) = cause {
                msg.push_str(&format!(": {c}"));
            }
            Err(ProbeError::new(kind, msg))
        }
    }
}
