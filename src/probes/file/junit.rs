//! JUnit XML test reports.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use quick_xml::events::{BytesStart, Event};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::Unit;
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Checks a JUnit XML report: it has test cases and none failed or errored.
///
/// Reads `<testsuites>` / `<testsuite>` / `<testcase>` with `<failure>`, `<error>` and
/// `<skipped>` children (the format of JUnit, pytest, cargo-nextest, Go's gotestsum...).
/// Measurements `tests`, `failures`, `errors`, `skipped`; evidence lists the first failed
/// cases with their messages. An empty report fails: it proves nothing.
#[derive(Debug, Clone)]
pub struct JunitProbe {
    path: PathBuf,
    min_tests: usize,
    top: usize,
}

#[derive(Debug, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    failed: Vec<String>,
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

impl JunitProbe {
    /// A probe for the report at `path`, requiring at least one test case.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JunitProbe { path: path.into(), min_tests: 1, top: 5 }
    }

    /// Requires at least `n` test cases (default 1).
    pub fn min_tests(mut self, n: usize) -> Self {
        self.min_tests = n;
        self
    }

    /// Checks report text; `name` is used in messages.
    ///
    /// # Errors
    /// A protocol [`ProbeError`] when the text is not well-formed XML or not a JUnit report.
    pub fn evaluate(&self, name: &str, text: &str) -> Result<Observation, ProbeError> {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut c = Counts::default();
        let mut seen_root = false;
        let mut case: Option<String> = None;
        loop {
            let pos = reader.buffer_position();
            let ev = reader.read_event().map_err(|e| {
                let (line, col) = line_col(text, reader.error_position().max(pos) as usize);
                ProbeError::protocol(format!("{name}:{line}:{col}: not well-formed XML: {e}"))
            })?;
            match ev {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match e.local_name().as_ref() {
                        b"testsuites" | b"testsuite" => seen_root = true,
                        b"testcase" => {
                            c.tests += 1;
                            let n = attr(e, b"name").unwrap_or_default();
                            let class = attr(e, b"classname").unwrap_or_default();
                            let full = if class.is_empty() { n } else { format!("{class}.{n}") };
                            case = (!empty).then_some(full);
                        }
                        tag @ (b"failure" | b"error") => {
                            if tag == b"failure" {
                                c.failures += 1;
                            } else {
                                c.errors += 1;
                            }
                            let what = if tag == b"failure" { "failed" } else { "errored" };
                            let msg = attr(e, b"message").map_or(String::new(), |m| {
                                let m: String = m.lines().next().unwrap_or("").chars().take(160).collect();
                                format!(": {m}")
                            });
                            c.failed.push(format!("{} {what}{msg}", case.as_deref().unwrap_or("(unnamed case)")));
                        }
                        b"skipped" => c.skipped += 1,
                        _ => {}
                    }
                }
                Event::End(ref e) if e.local_name().as_ref() == b"testcase" => case = None,
                Event::Eof => break,
                _ => {}
            }
        }
        if !seen_root {
            return Err(ProbeError::protocol(format!("{name}: not a JUnit report (no <testsuite> or <testsuites>)")));
        }
        let bad = c.failures + c.errors;
        let passed = c.tests.saturating_sub(bad + c.skipped);
        let mut obs = if bad > 0 {
            Observation::fail(format!(
                "{name}: {bad} of {} tests failed ({} failures, {} errors); first: {}",
                c.tests, c.failures, c.errors, c.failed[0]
            ))
        } else if c.tests < self.min_tests {
            Observation::fail(format!("{name}: {} test cases, expected at least {}", c.tests, self.min_tests))
        } else {
            Observation::pass(format!("{name}: {passed} of {} tests passed, {} skipped", c.tests, c.skipped))
        };
        for (k, v) in [("tests", c.tests), ("failures", c.failures), ("errors", c.errors), ("skipped", c.skipped)] {
            obs.push_measurement(Measurement::new(k, v as f64, Unit::Count));
        }
        obs = obs.with_evidence("report", name);
        if !c.failed.is_empty() {
            obs = obs.with_evidence("failed", c.failed.iter().take(self.top).cloned().collect::<Vec<_>>().join("\n"));
        }
        Ok(obs)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = offset - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

#[async_trait]
impl Probe for JunitProbe {
    fn target(&self) -> String {
        format!("file://{}", self.path.display())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let text = super::read_text(&self.path, super::MAX_FILE, cx).await?;
        self.evaluate(&self.path.display().to_string(), &text)
    }
}

fn default_min_tests() -> usize {
    1
}

/// Config-file spec of a [`JunitProbe`] (kind `junit`).
///
/// ```toml
/// [targets.junit.integration]
/// path = "target/nextest/ci/junit.xml"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JunitSpec {
    /// Path of the JUnit XML report.
    pub path: PathBuf,
    /// Minimum number of test cases (default 1: an empty report fails).
    #[serde(default = "default_min_tests")]
    pub min_tests: usize,
}

impl ProbeSpec for JunitSpec {
    const KIND: &'static str = "junit";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(JunitProbe::new(&self.path).min_tests(self.min_tests)))
    }
}
