//! Redis over RESP on a plain tokio socket.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::model::{Threshold, Unit};
use crate::probe::{
    BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Secret,
};

/// The largest bulk reply accepted (INFO is a few KiB).
const MAX_BULK: usize = 1 << 20;

/// Checks a Redis server is the configured caching layer: `PING` answers `PONG` (after `AUTH`
/// when a password is set), and `INFO` shows a memory limit with an eviction policy, and the
/// expected role.
///
/// Findings (Fail): `maxmemory` 0 (no limit), `maxmemory-policy` `noeviction` (unless
/// allowed), a different role. Errors name `host:port`: refused, timed out, `NOAUTH` /
/// `WRONGPASS` (permission denied), an answer that is not RESP (protocol).
#[derive(Debug, Clone)]
pub struct RedisProbe {
    address: String,
    username: Option<String>,
    password: Option<Secret>,
    timeout: Duration,
    require_maxmemory: bool,
    allow_noeviction: bool,
    role: Option<String>,
    latency: Option<Threshold>,
}

impl RedisProbe {
    /// A probe for the Redis server at `address` (`host:port`), requiring a memory limit and
    /// an eviction policy.
    pub fn new(address: impl Into<String>) -> Self {
        RedisProbe {
            address: address.into(),
            username: None,
            password: None,
            timeout: super::super::DEFAULT_TIMEOUT,
            require_maxmemory: true,
            allow_noeviction: false,
            role: None,
            latency: None,
        }
    }

    /// Authenticates with `AUTH password` (or `AUTH username password` with [`username`](Self::username)).
    pub fn password(mut self, password: Secret) -> Self {
        self.password = Some(password);
        self
    }

    /// Sets the ACL user name for `AUTH`.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the timeout for the whole exchange.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether `maxmemory 0` (no limit) is a finding (default true).
    pub fn require_maxmemory(mut self, yes: bool) -> Self {
        self.require_maxmemory = yes;
        self
    }

    /// Whether `maxmemory-policy noeviction` is acceptable (default false: a cache must evict).
    pub fn allow_noeviction(mut self, yes: bool) -> Self {
        self.allow_noeviction = yes;
        self
    }

    /// Requires a replication role (`master` or `slave`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Evaluates the `PING` round trip against a threshold in milliseconds.
    pub fn latency(mut self, threshold: Threshold) -> Self {
        self.latency = Some(threshold);
        self
    }

    async fn exchange(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let stream = super::connect(&self.address, self.timeout, cx).await?;
        let mut conn = Conn { io: BufReader::new(stream), address: &self.address };
        if let Some(pw) = &self.password {
            let mut args = vec!["AUTH"];
            if let Some(u) = &self.username {
                args.push(u);
            }
            args.push(pw.expose());
            match conn.command(&args).await? {
                Reply::Simple(s) if s == "OK" => {}
                Reply::Error(e) => return Err(self.server_error("AUTH", &e)),
                other => return Err(self.unexpected("AUTH", &other)),
            }
        }
        let started = Instant::now();
        match conn.command(&["PING"]).await? {
            Reply::Simple(s) if s == "PONG" => {}
            Reply::Error(e) => return Err(self.server_error("PING", &e)),
            other => return Err(self.unexpected("PING", &other)),
        }
        let ping_ms = started.elapsed().as_secs_f64() * 1000.0;
        let info = match conn.command(&["INFO"]).await? {
            Reply::Bulk(Some(text)) => parse_info(&text),
            Reply::Error(e) => return Err(self.server_error("INFO", &e)),
            other => return Err(self.unexpected("INFO", &other)),
        };
        let _ = conn.io.get_mut().shutdown().await;
        Ok(self.evaluate(&info, ping_ms))
    }

    fn evaluate(&self, info: &BTreeMap<String, String>, ping_ms: f64) -> Observation {
        let addr = &self.address;
        let mut findings = Vec::new();
        let maxmemory: Option<u64> = info.get("maxmemory").and_then(|v| v.parse().ok());
        let policy = info.get("maxmemory_policy").map(String::as_str);
        let role = info.get("role").map(String::as_str);
        match maxmemory {
            Some(0) if self.require_maxmemory => findings.push("maxmemory is 0 (no memory limit)".to_string()),
            None if self.require_maxmemory => findings.push("INFO does not report maxmemory".to_string()),
            _ => {}
        }
        match policy {
            Some("noeviction") if !self.allow_noeviction => {
                findings.push("maxmemory-policy is noeviction (writes fail when memory is full)".to_string());
            }
            None if !self.allow_noeviction => findings.push("INFO does not report maxmemory_policy".to_string()),
            _ => {}
        }
        if let Some(want) = &self.role
            && role != Some(want.as_str())
        {
            findings.push(format!("role is {} (expected {want})", role.unwrap_or("unknown")));
        }
        let mut m = Measurement::new("ping_latency", ping_ms, Unit::Milliseconds).label("address", addr);
        if let Some(t) = &self.latency {
            m = m.evaluate(t);
        }
        let mut obs = if findings.is_empty() {
            Observation::pass(format!(
                "redis at {addr} answers PONG; maxmemory {} with policy {}",
                maxmemory.map_or("unknown".to_string(), |b| b.to_string()),
                policy.unwrap_or("unknown")
            ))
        } else {
            Observation::fail(format!("redis at {addr}: {}", findings.join("; ")))
        };
        obs.push_measurement(m);
        if let Some(b) = maxmemory {
            obs.push_measurement(Measurement::new("maxmemory", b as f64, Unit::Bytes).label("address", addr));
        }
        obs = obs.with_evidence("address", addr);
        for key in ["redis_version", "role", "maxmemory", "maxmemory_policy", "used_memory", "connected_clients"] {
            if let Some(v) = info.get(key) {
                obs = obs.with_evidence(key, v);
            }
        }
        obs
    }

    fn server_error(&self, command: &str, e: &str) -> ProbeError {
        let addr = &self.address;
        if e.starts_with("NOAUTH") {
            ProbeError::permission_denied(format!("redis at {addr} requires a password (NOAUTH on {command})"))
        } else if e.starts_with("WRONGPASS") || e.contains("invalid password") || e.contains("invalid username") {
            ProbeError::permission_denied(format!("redis at {addr} rejected the credentials (WRONGPASS)"))
        } else if e.contains("without any password configured") || e.contains("no password is set") {
            ProbeError::misconfigured(format!("redis at {addr} has no password but one is configured"))
        } else {
            let first = e.split_whitespace().next().unwrap_or("ERR");
            ProbeError::protocol(format!("redis at {addr} answered {command} with error {first}: {}", clip(e, 120)))
        }
    }

    fn unexpected(&self, command: &str, reply: &Reply) -> ProbeError {
        ProbeError::protocol(format!(
            "redis at {} answered {command} with unexpected {}",
            self.address,
            reply.describe()
        ))
    }
}

#[async_trait]
impl Probe for RedisProbe {
    fn target(&self) -> String {
        format!("redis://{}", self.address)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let budget = cx.budget(self.timeout);
        match cx.run(tokio::time::timeout(budget, self.exchange(cx))).await? {
            Ok(r) => r,
            Err(_) => Err(ProbeError::new(
                ProbeErrorKind::Timeout,
                format!("redis at {} did not answer within {}", self.address, crate::model::duration::format(budget)),
            )),
        }
    }
}

/// One RESP reply.
#[derive(Debug)]
enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<String>),
    Array(usize),
}

impl Reply {
    fn describe(&self) -> String {
        match self {
            Reply::Simple(s) => format!("status `{}`", clip(s, 60)),
            Reply::Error(s) => format!("error `{}`", clip(s, 60)),
            Reply::Integer(i) => format!("integer {i}"),
            Reply::Bulk(None) => "null".into(),
            Reply::Bulk(Some(s)) => format!("bulk string `{}`", clip(s, 60)),
            Reply::Array(n) => format!("array of {n}"),
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > n { format!("{}...", line.chars().take(n).collect::<String>()) } else { line.to_string() }
}

struct Conn<'a, S> {
    io: BufReader<S>,
    address: &'a str,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<'_, S> {
    async fn command(&mut self, args: &[&str]) -> Result<Reply, ProbeError> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        self.io.get_mut().write_all(&buf).await.map_err(|e| super::io_error(self.address, &e))?;
        self.read_reply().await
    }
}

impl<S: AsyncRead + Unpin> Conn<'_, S> {
    async fn read_line(&mut self) -> Result<String, ProbeError> {
        let mut line = Vec::new();
        let n = (&mut self.io)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| super::io_error(self.address, &e))?;
        if n == 0 {
            return Err(ProbeError::unreachable(format!("connection to {} closed by the peer", self.address)));
        }
        if !line.ends_with(b"\r\n") {
            return Err(self.garbage(&line));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|e| self.garbage(e.as_bytes()))
    }

    fn garbage(&self, bytes: &[u8]) -> ProbeError {
        let shown: String = String::from_utf8_lossy(bytes).chars().take(40).collect();
        ProbeError::protocol(format!("{} does not speak RESP (got {:?})", self.address, shown.trim_end()))
    }

    async fn read_reply(&mut self) -> Result<Reply, ProbeError> {
        let line = self.read_line().await?;
        let (tag, rest) = line.split_at(line.chars().next().map_or(0, char::len_utf8));
        match tag {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => rest.parse().map(Reply::Integer).map_err(|_| self.garbage(line.as_bytes())),
            "*" => {
                rest.parse::<i64>().map(|n| Reply::Array(n.max(0) as usize)).map_err(|_| self.garbage(line.as_bytes()))
            }
            "$" => {
                let n: i64 = rest.parse().map_err(|_| self.garbage(line.as_bytes()))?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let n = n as usize;
                if n > MAX_BULK {
                    return Err(ProbeError::protocol(format!(
                        "{} sent a {n}-byte reply (limit {MAX_BULK})",
                        self.address
                    )));
                }
                let mut data = vec![0; n + 2];
                self.io.read_exact(&mut data).await.map_err(|e| super::io_error(self.address, &e))?;
                data.truncate(n);
                Ok(Reply::Bulk(Some(String::from_utf8_lossy(&data).into_owned())))
            }
            _ => Err(self.garbage(line.as_bytes())),
        }
    }
}

/// Reads RESP replies from `bytes` until the end or the first error, as the probe reads a
/// server's answers: each reply described (`status `PONG``), or the error message. For the fuzz
/// targets and property tests ([`crate::__fuzz`]).
pub(crate) fn read_replies(bytes: &[u8]) -> Vec<Result<String, String>> {
    use futures_util::FutureExt as _;
    let mut conn = Conn { io: BufReader::new(bytes), address: "fuzz:6379" };
    let mut out = Vec::new();
    loop {
        // Reading from a slice never waits, so the future is ready at its first poll.
        match conn.read_reply().now_or_never() {
            Some(Ok(r)) => out.push(Ok(r.describe())),
            Some(Err(e)) => {
                out.push(Err(e.message));
                break;
            }
            None => {
                out.push(Err("the reader waited on a slice".into()));
                break;
            }
        }
    }
    out
}

/// `key:value` lines of an `INFO` reply.
fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn default_true() -> bool {
    true
}

/// Config-file spec of a [`RedisProbe`] (kind `redis`).
///
/// ```toml
/// [targets.redis]
/// address = "redis.internal:6379"
/// password = "${env:REDIS_PASSWORD}"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// The `host:port` of the Redis server.
    pub address: String,
    /// ACL user name for `AUTH` (default: the `default` user).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `AUTH`; write it as `${env:NAME}`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// How long the whole exchange may take (default 10s).
    #[serde(default = "super::super::default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Whether `maxmemory 0` (no limit) fails the item (default true).
    #[serde(default = "default_true")]
    pub require_maxmemory: bool,
    /// Whether `maxmemory-policy noeviction` is acceptable (default false).
    #[serde(default)]
    pub allow_noeviction: bool,
    /// The replication role required (`master` or `slave`), if any.
    #[serde(default)]
    pub role: Option<String>,
    /// `PING` latency above which the item warns (needs `max_latency`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub warn_latency: Option<Duration>,
    /// `PING` latency above which the item fails.
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub max_latency: Option<Duration>,
}

impl ProbeSpec for RedisSpec {
    const KIND: &'static str = "redis";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        super::require_host_port("redis", &self.address)?;
        if let Some(r) = &self.role
            && r != "master"
            && r != "slave"
        {
            return Err(ProbeError::misconfigured(format!("redis: role `{r}` is not master or slave")));
        }
        let mut p = RedisProbe::new(&self.address)
            .timeout(self.timeout)
            .require_maxmemory(self.require_maxmemory)
            .allow_noeviction(self.allow_noeviction);
        if let Some(pw) = &self.password {
            p = p.password(pw.clone());
        }
        if let Some(u) = &self.username {
            p = p.username(u);
        }
        if let Some(r) = &self.role {
            p = p.role(r);
        }
        if let Some(t) = super::latency_threshold("redis ping", self.warn_latency, self.max_latency)? {
            p = p.latency(t);
        }
        Ok(Arc::new(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_are_parsed() {
        let info = parse_info(
            "# Memory\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\r\n# Replication\r\nrole:master\r\n",
        );
        assert_eq!(info.get("maxmemory").map(String::as_str), Some("0"));
        assert_eq!(info.get("role").map(String::as_str), Some("master"));
    }

    #[test]
    fn findings_name_each_setting() {
        let p = RedisProbe::new("127.0.0.1:1").role("slave");
        let info = parse_info("maxmemory:0\nmaxmemory_policy:noeviction\nrole:master\n");
        let obs = p.evaluate(&info, 1.0);
        assert_eq!(obs.verdict, crate::probe::Verdict::Fail);
        assert!(obs.summary.contains("maxmemory is 0"), "{}", obs.summary);
        assert!(obs.summary.contains("noeviction"), "{}", obs.summary);
        assert!(obs.summary.contains("role is master (expected slave)"), "{}", obs.summary);
    }
}
