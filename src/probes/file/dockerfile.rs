//! Dockerfile checks: multi-stage build, pinned base images, non-root final stage.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::probe::{BuildContext, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Checks a Dockerfile is an optimized multi-stage build.
///
/// Findings, each with `file:line`: fewer than `min_stages` `FROM`s; a final stage built
/// `FROM` a build stage or from the same image as the first stage; a base image tagged
/// `:latest` or not tagged at all (unless pinned by digest); a base image that depends on a
/// build argument without default; a final stage without a non-root `USER`.
///
/// Understands `FROM [--platform=...] image [AS name]`, `ARG` substitution (`$VAR`,
/// `${VAR}`, `${VAR:-default}`), line continuations and comments.
#[derive(Debug, Clone)]
pub struct DockerfileProbe {
    path: PathBuf,
    min_stages: usize,
    allow_latest: bool,
    require_non_root: bool,
}

impl DockerfileProbe {
    /// A probe for the Dockerfile at `path` requiring two stages, pinned images and a non-root
    /// final stage.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DockerfileProbe { path: path.into(), min_stages: 2, allow_latest: false, require_non_root: true }
    }

    /// Sets the minimum number of stages (default 2).
    pub fn min_stages(mut self, n: usize) -> Self {
        self.min_stages = n;
        self
    }

    /// Accepts `:latest` and untagged base images.
    pub fn allow_latest(mut self, yes: bool) -> Self {
        self.allow_latest = yes;
        self
    }

    /// Whether the final stage must switch to a non-root `USER` (default true).
    pub fn require_non_root(mut self, yes: bool) -> Self {
        self.require_non_root = yes;
        self
    }

    /// Checks Dockerfile text; `name` is used in findings (`name:line`).
    pub fn evaluate(&self, name: &str, text: &str) -> Observation {
        let stages = parse(text);
        let mut findings = Vec::new();
        if stages.stages.is_empty() {
            return Observation::fail(format!("{name}: no FROM instruction"));
        }
        if stages.stages.len() < self.min_stages {
            findings.push(format!(
                "{name}:{}: single-stage build ({} FROM, expected at least {})",
                stages.stages[0].line,
                stages.stages.len(),
                self.min_stages
            ));
        }
        let names: Vec<String> = stages.stages.iter().filter_map(|s| s.name.clone()).collect();
        for (i, s) in stages.stages.iter().enumerate() {
            let is_stage_ref = names[..].iter().any(|n| n.eq_ignore_ascii_case(&s.image))
                && stages.stages[..i]
                    .iter()
                    .any(|p| p.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&s.image)));
            if is_stage_ref || s.image == "scratch" {
                continue;
            }
            if let Some(var) = &s.unresolved {
                findings.push(format!(
                    "{name}:{}: base image `{}` depends on build argument `{var}` without a default",
                    s.line, s.raw_image
                ));
                continue;
            }
            if !self.allow_latest {
                match image_tag(&s.image) {
                    ImageTag::Latest => {
                        findings.push(format!("{name}:{}: base image `{}` uses the :latest tag", s.line, s.image));
                    }
                    ImageTag::Untagged => findings
                        .push(format!("{name}:{}: base image `{}` has no tag (defaults to :latest)", s.line, s.image)),
                    ImageTag::Pinned => {}
                }
            }
        }
        let last = stages.stages.last().expect("checked non-empty above");
        if stages.stages.len() >= 2 {
            let earlier = &stages.stages[..stages.stages.len() - 1];
            if let Some(p) =
                earlier.iter().find(|p| p.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&last.image)))
            {
                findings.push(format!(
                    "{name}:{}: final stage is built FROM the build stage `{}` (line {}), so it ships the build tools",
                    last.line, last.image, p.line
                ));
            } else if last.image == stages.stages[0].image && last.image != "scratch" {
                findings.push(format!(
                    "{name}:{}: final stage reuses the build image `{}` of line {}",
                    last.line, last.image, stages.stages[0].line
                ));
            }
        }
        if self.require_non_root {
            match &last.user {
                None => findings.push(format!("{name}:{}: final stage has no USER (runs as root)", last.line)),
                Some((user, line)) if is_root(user) => {
                    findings.push(format!("{name}:{line}: final stage runs as USER {user}"));
                }
                Some(_) => {}
            }
        }
        let images: Vec<String> = stages.stages.iter().map(|s| s.image.clone()).collect();
        let mut obs = if findings.is_empty() {
            Observation::pass(format!(
                "{name}: {} stages, final stage `{}` runs as {}",
                stages.stages.len(),
                last.image,
                last.user.as_ref().map_or("root", |(u, _)| u.as_str())
            ))
        } else if findings.len() == 1 {
            Observation::fail(findings[0].clone())
        } else {
            Observation::fail(format!("{} (and {} more)", findings[0], findings.len() - 1))
        };
        obs = obs
            .with_evidence("stages", stages.stages.len().to_string())
            .with_evidence("base_images", images.join(", "));
        if !findings.is_empty() {
            obs = obs.with_evidence("findings", findings.join("\n"));
        }
        obs
    }
}

fn is_root(user: &str) -> bool {
    let u = user.split(':').next().unwrap_or(user);
    u == "root" || u == "0"
}

enum ImageTag {
    Latest,
    Untagged,
    Pinned,
}

fn image_tag(image: &str) -> ImageTag {
    if image.contains('@') {
        return ImageTag::Pinned;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) => ImageTag::Latest,
        Some((_, t)) if !t.is_empty() => ImageTag::Pinned,
        _ => ImageTag::Untagged,
    }
}

#[derive(Debug)]
struct Stage {
    line: usize,
    raw_image: String,
    image: String,
    unresolved: Option<String>,
    name: Option<String>,
    user: Option<(String, usize)>,
}

#[derive(Debug, Default)]
struct Parsed {
    stages: Vec<Stage>,
}

/// Logical instructions: `(first line number, text)`, continuations joined, comments dropped.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            continue;
        }
        let (body, cont) = match line.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (line, false),
        };
        let entry = cur.get_or_insert_with(|| (i + 1, String::new()));
        if !entry.1.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(body);
        if !cont && let Some(c) = cur.take() {
            out.push(c);
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

/// Substitutes `$VAR`, `${VAR}` and `${VAR:-default}`; returns the first unresolved name.
fn substitute(s: &str, args: &HashMap<String, Option<String>>) -> (String, Option<String>) {
    let mut out = String::new();
    let mut unresolved = None;
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (expr, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => (inner, after.len()),
            }
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..end], end)
        };
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match args.get(name).cloned().flatten().or(default.map(str::to_string)) {
            Some(v) if !v.is_empty() => out.push_str(&v),
            _ => {
                unresolved.get_or_insert_with(|| name.to_string());
                out.push('$');
                out.push_str(&after[..len]);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    (out, unresolved)
}

fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut global_args: HashMap<String, Option<String>> = HashMap::new();
    for (line, instr) in instructions(text) {
        let mut words = instr.split_whitespace();
        let Some(op) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        match op.to_ascii_uppercase().as_str() {
            "ARG" if parsed.stages.is_empty() => {
                for a in rest {
                    let (k, v) = match a.split_once('=') {
                        Some((k, v)) => (k, Some(v.trim_matches('"').to_string())),
                        None => (a, None),
                    };
                    global_args.insert(k.to_string(), v);
                }
            }
            "FROM" => {
                let mut args = rest.iter().filter(|w| !w.starts_with("--"));
                let raw = args.next().map_or(String::new(), |s| s.to_string());
                let name = match (args.next(), args.next()) {
                    (Some(kw), Some(n)) if kw.eq_ignore_ascii_case("as") => Some(n.to_string()),
                    _ => None,
                };
                let (image, unresolved) = substitute(&raw, &global_args);
                parsed.stages.push(Stage { line, raw_image: raw, image, unresolved, name, user: None });
            }
            "USER" => {
                if let (Some(stage), Some(u)) = (parsed.stages.last_mut(), rest.first()) {
                    stage.user = Some((u.to_string(), line));
                }
            }
            _ => {}
        }
    }
    parsed
}

#[async_trait]
impl Probe for DockerfileProbe {
    fn target(&self) -> String {
        format!("file://{}", self.path.display())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let text = super::read_text(&self.path, super::MAX_DOCKERFILE, cx).await?;
        Ok(self.evaluate(&self.path.display().to_string(), &text))
    }
}

fn default_stages() -> usize {
    2
}

fn default_true() -> bool {
    true
}

/// Config-file spec of a [`DockerfileProbe`] (kind `dockerfile`).
///
/// ```toml
/// [targets.dockerfile]
/// path = "Dockerfile"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerfileSpec {
    /// Path of the Dockerfile.
    pub path: PathBuf,
    /// Minimum number of `FROM` stages (default 2).
    #[serde(default = "default_stages")]
    pub min_stages: usize,
    /// Accept `:latest` and untagged base images (default false).
    #[serde(default)]
    pub allow_latest: bool,
    /// Require a non-root `USER` in the final stage (default true).
    #[serde(default = "default_true")]
    pub require_non_root: bool,
}

impl ProbeSpec for DockerfileSpec {
    const KIND: &'static str = "dockerfile";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if self.min_stages == 0 {
            return Err(ProbeError::misconfigured("dockerfile: min_stages must be at least 1"));
        }
        Ok(Arc::new(
            DockerfileProbe::new(&self.path)
                .min_stages(self.min_stages)
                .allow_latest(self.allow_latest)
                .require_non_root(self.require_non_root),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Verdict;

    fn check(text: &str) -> Observation {
        DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", text)
    }

    #[test]
    fn good_multi_stage_passes() {
        let obs = check(
            "# syntax=docker/dockerfile:1\nARG RUST=1.95\nFROM --platform=$BUILDPLATFORM rust:${RUST} AS build\nRUN cargo build \\\n  --release\n\nFROM gcr.io/distroless/cc-debian12:nonroot\nCOPY --from=build /app /app\nUSER 65532:65532\n",
        );
        assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
        assert!(obs.summary.contains("2 stages"), "{}", obs.summary);
    }

    #[test]
    fn each_finding_has_its_line() {
        let obs = check("FROM rust AS build\nRUN make\nFROM build\nUSER root\n");
        let f = obs.evidence.get("findings").unwrap();
        assert!(f.contains("Dockerfile:1: base image `rust` has no tag"), "{f}");
        assert!(f.contains("Dockerfile:3: final stage is built FROM the build stage `build` (line 1)"), "{f}");
        assert!(f.contains("Dockerfile:4: final stage runs as USER root"), "{f}");
    }

    #[test]
    fn single_stage_latest_and_unresolved_arg() {
        let obs = check("ARG BASE\nFROM $BASE\nFROM ubuntu:latest\n");
        let f = obs.evidence.get("findings").unwrap();
        assert!(
            f.contains("Dockerfile:2: base image `$BASE` depends on build argument `BASE` without a default"),
            "{f}"
        );
        assert!(f.contains("Dockerfile:3: base image `ubuntu:latest` uses the :latest tag"), "{f}");
        assert!(f.contains("Dockerfile:3: final stage has no USER (runs as root)"), "{f}");
        let obs = check("FROM alpine:3.20\nUSER app\n");
        assert!(obs.summary.contains("single-stage build (1 FROM, expected at least 2)"), "{}", obs.summary);
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        assert!(matches!(image_tag("registry:5000/app"), ImageTag::Untagged));
        assert!(matches!(image_tag("registry:5000/app:1.2"), ImageTag::Pinned));
        assert!(matches!(image_tag("app@sha256:abc"), ImageTag::Pinned));
    }
}
