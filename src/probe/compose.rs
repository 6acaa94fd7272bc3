//! [`All`] (the labelled fan-out) and [`Any`]: several probes as one.
//!
//! # Precedence of [`All`]
//!
//! Every probe of an [`All`] runs concurrently; the combined result is decided by one rule,
//! the same for every multi-target probe of this crate (health endpoints, TLS endpoints,
//! Kubernetes checks over several objects, ...):
//!
//! **Fail > Error > Warn > Pass.**
//!
//! - one sub-result is a Fail: the whole is a Fail (an observation). A probe that *looked* and
//!   found the item does not hold decides, even when another could not look: an error
//!   elsewhere cannot make a known failure better. The errors are listed in the summary;
//! - else one sub-result is an error: the whole is that [`ProbeError`] (it could not decide).
//!   Its kind is the first error's, except that a real error wins over a skip kind
//!   (`NotConfigured`, `NotApplicable`) so a broken target is never reported as Skipped.
//!   A part that does not apply (`NotApplicable`) is not an error when other parts were
//!   observed: it is listed as `label: not applicable: ...` and the others decide;
//! - else the worst verdict (Warn over Pass).
//!
//! Every sub-result is kept and labelled: the summary (or error message) lists each as
//! `label: summary` (`label: error: message` for an error, `label: warn: ...` /
//! `label: fail: ...` for a verdict other than Pass), evidence keys become `<label>.<key>`,
//! and each measurement gets a label (`target` by default, see [`All::measurement_label`])
//! holding the sub-probe's label. With a single probe, [`All`] is transparent: its result
//! is that probe's result, unchanged.

use std::fmt::Write as _;

use async_trait::async_trait;
use futures_util::future::join_all;

use super::{BoxProbe, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, Verdict};

fn joined_target(kind: &str, labels: impl Iterator<Item = String>) -> String {
    format!("{kind}({})", labels.collect::<Vec<_>>().join(", "))
}

fn merge_failed(verdict: Verdict, parts: Vec<(String, Observation)>) -> Observation {
    let many = parts.len() > 1;
    let summary = parts
        .iter()
        .map(|(t, o)| if many { format!("{t}: {}", o.summary) } else { o.summary.clone() })
        .collect::<Vec<_>>();
    let mut out = Observation::new(verdict, summary.join("; "));
    for (t, o) in parts {
        out.measurements.extend(o.measurements);
        for (k, v) in o.evidence.iter() {
            let key = if many { format!("{t}.{k}") } else { k.to_string() };
            out.evidence.insert(key, v);
        }
    }
    out
}

/// Combines labelled sub-results into one result with the fan-out precedence
/// **Fail > Error > Warn > Pass** (see the [module docs](self)). Measurements get the label
/// `measurement_label = <label>`.
///
/// For probes that fan out on their own (without boxing their parts into an [`All`]).
///
/// ```
/// use nexus_readiness::probe::{Observation, ProbeError, Verdict, compose::combine};
///
/// let r = combine(
///     [
///         ("a:443".to_string(), Ok(Observation::pass("valid 90 days").with_evidence("issuer", "R3"))),
///         ("b:443".to_string(), Err(ProbeError::unreachable("connection refused by b:443"))),
///         ("c:443".to_string(), Ok(Observation::fail("expired 3 days ago"))),
///     ],
///     "endpoint",
/// )?;
/// // A Fail beats an error; every sub-result is kept, labelled.
/// assert_eq!(r.verdict, Verdict::Fail);
/// assert_eq!(
///     r.summary,
///     "1 of 3 failed, 1 could not be checked: a:443: valid 90 days; \
///      b:443: error: connection refused by b:443; c:443: fail: expired 3 days ago"
/// );
/// assert_eq!(r.evidence.get("a:443.issuer"), Some("R3"));
/// # Ok::<(), ProbeError>(())
/// ```
///
/// # Errors
/// When no sub-result failed and one is an error (or there is no sub-result at all: a
/// `Misconfigured` error).
pub fn combine(
    results: impl IntoIterator<Item = (String, Result<Observation, ProbeError>)>,
    measurement_label: &str,
) -> Result<Observation, ProbeError> {
    let mut results: Vec<(String, Result<Observation, ProbeError>)> = results.into_iter().collect();
    if results.len() <= 1 {
        return match results.pop() {
            Some((_, r)) => r,
            None => Err(ProbeError::misconfigured("a fan-out of no probes has nothing to look at")),
        };
    }
    let n = results.len();
    let (mut fail, mut warn, mut errors, mut not_applicable) = (0usize, 0usize, 0usize, 0usize);
    let mut worst = Verdict::Pass;
    for (_, r) in &results {
        match r {
            Ok(o) => {
                worst = worst.worst(o.verdict);
                fail += usize::from(o.verdict == Verdict::Fail);
                warn += usize::from(o.verdict == Verdict::Warn);
            }
            Err(e) if e.kind == ProbeErrorKind::NotApplicable => not_applicable += 1,
            Err(_) => errors += 1,
        }
    }
    // Parts that do not apply count only when nothing else was observed.
    let observed = n - errors - not_applicable;
    if observed == 0 {
        errors += not_applicable;
        not_applicable = 0;
    }
    let mut head = Vec::new();
    let mut count = |k: usize, what: &str| {
        if k > 0 {
            head.push(if head.is_empty() { format!("{k} of {n} {what}") } else { format!("{k} {what}") });
        }
    };
    count(fail, "failed");
    count(errors, "could not be checked");
    count(warn, "warned");
    count(not_applicable, "not applicable");
    let mut text = String::new();
    if !head.is_empty() {
        text.push_str(&head.join(", "));
        text.push_str(": ");
    }
    for (k, (label, r)) in results.iter().enumerate() {
        if k > 0 {
            text.push_str("; ");
        }
        let _ = match r {
            Ok(o) if o.verdict == Verdict::Pass => write!(text, "{label}: {}", o.summary),
            Ok(o) => write!(text, "{label}: {}: {}", o.verdict, o.summary),
            Err(e) if not_applicable > 0 && e.kind == ProbeErrorKind::NotApplicable => {
                write!(text, "{label}: not applicable: {}", e.message)
            }
            Err(e) => write!(text, "{label}: error: {}", e.message),
        };
    }

    if fail == 0 && errors > 0 {
        let errs: Vec<&ProbeError> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .filter(|e| not_applicable == 0 || e.kind != ProbeErrorKind::NotApplicable)
            .collect();
        // A real error wins over a skip kind; among skips, "not configured" over "not
        // applicable".
        let first = errs
            .iter()
            .find(|e| !e.kind.is_skip())
            .or_else(|| errs.iter().find(|e| e.kind == ProbeErrorKind::NotConfigured))
            .unwrap_or(&errs[0]);
        let mut e = ProbeError::new(first.kind, text);
        e.config_key = errs.iter().find_map(|e| e.config_key.clone());
        return Err(e);
    }

    let mut out = Observation::new(worst, text);
    for (label, r) in results {
        let Ok(o) = r else { continue };
        for m in o.measurements {
            out.measurements.push(m.label(measurement_label, label.clone()));
        }
        for (k, v) in o.evidence.iter() {
            out.evidence.insert(format!("{label}.{k}"), v);
        }
    }
    Ok(out)
}

/// Every probe must hold: the labelled fan-out, with the precedence
/// **Fail > Error > Warn > Pass** (see the [module docs](self)). Probes run concurrently.
///
/// ```
/// use nexus_readiness::probe::{All, FnProbe, Observation, ProbeExt};
///
/// let health = All::labelled([
///     ("/healthz", FnProbe::new("http://api/healthz", |_| async { Ok(Observation::pass("200")) }).boxed()),
///     ("/readyz", FnProbe::new("http://api/readyz", |_| async { Ok(Observation::pass("200")) }).boxed()),
/// ])
/// .measurement_label("url");
/// # let _ = health;
/// ```
#[derive(Debug, Clone)]
pub struct All {
    parts: Vec<(String, BoxProbe)>,
    measurement_label: String,
    target: Option<String>,
}

impl All {
    /// All of `probes`, each labelled with its [`target`](Probe::target).
    pub fn new(probes: impl IntoIterator<Item = BoxProbe>) -> Self {
        Self::labelled(probes.into_iter().map(|p| (p.target(), p)))
    }

    /// All of `parts`, each with the label its sub-result is reported under (an endpoint, a
    /// URL, an object name).
    pub fn labelled<L: Into<String>>(parts: impl IntoIterator<Item = (L, BoxProbe)>) -> Self {
        All {
            parts: parts.into_iter().map(|(l, p)| (l.into(), p)).collect(),
            measurement_label: "target".into(),
            target: None,
        }
    }

    /// The label key put on each sub-probe's measurements (default `target`): `endpoint`,
    /// `url`...
    pub fn measurement_label(mut self, key: impl Into<String>) -> Self {
        self.measurement_label = key.into();
        self
    }

    /// What [`target`](Probe::target) reports (default `all(<label>, ...)`).
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// How many probes.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether there is no probe (checking it is a `Misconfigured` error).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

#[async_trait]
impl Probe for All {
    fn target(&self) -> String {
        match &self.target {
            Some(t) => t.clone(),
            None => joined_target("all", self.parts.iter().map(|(l, _)| l.clone())),
        }
    }

    fn has_side_effects(&self) -> bool {
        self.parts.iter().any(|(_, p)| p.has_side_effects())
    }

    fn independent(&self) -> bool {
        !self.parts.is_empty() && self.parts.iter().all(|(_, p)| p.independent())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.parts.is_empty() {
            return Err(ProbeError::misconfigured("all() of no probes has nothing to look at"));
        }
        let results = join_all(self.parts.iter().map(|(_, p)| p.check(cx))).await;
        combine(self.parts.iter().map(|(l, _)| l.clone()).zip(results), &self.measurement_label)
    }
}

/// One probe holding is enough: passes (or warns) with the best result; when none holds and
/// one could not decide, the whole is that error; otherwise it fails with every summary.
/// Probes run concurrently.
#[derive(Debug, Clone)]
pub struct Any {
    probes: Vec<BoxProbe>,
}

impl Any {
    /// Any of `probes`.
    pub fn new(probes: impl IntoIterator<Item = BoxProbe>) -> Self {
        Any { probes: probes.into_iter().collect() }
    }
}

#[async_trait]
impl Probe for Any {
    fn target(&self) -> String {
        joined_target("any", self.probes.iter().map(|p| p.target()))
    }

    fn has_side_effects(&self) -> bool {
        self.probes.iter().any(|p| p.has_side_effects())
    }

    fn independent(&self) -> bool {
        !self.probes.is_empty() && self.probes.iter().all(|p| p.independent())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.probes.is_empty() {
            return Err(ProbeError::misconfigured("any() of no probes has nothing to look at"));
        }
        let results = join_all(self.probes.iter().map(|p| p.check(cx))).await;
        let mut best: Option<Observation> = None;
        let mut failed = Vec::new();
        let mut error: Option<ProbeError> = None;
        for (p, r) in self.probes.iter().zip(results) {
            match r {
                Ok(o) if o.verdict != Verdict::Fail => {
                    if best.as_ref().is_none_or(|b| o.verdict < b.verdict) {
                        best = Some(o);
                    }
                }
                Ok(o) => failed.push((p.target(), o)),
                Err(e) => {
                    error.get_or_insert(e.context(p.target()));
                }
            }
        }
        if let Some(o) = best {
            return Ok(o);
        }
        if let Some(e) = error {
            return Err(e);
        }
        Ok(merge_failed(Verdict::Fail, failed))
    }
}

/// All of `probes`, labelled with their targets (see [`All`]).
pub fn all(probes: impl IntoIterator<Item = BoxProbe>) -> All {
    All::new(probes)
}

/// Any of `probes` (see [`Any`]).
pub fn any(probes: impl IntoIterator<Item = BoxProbe>) -> Any {
    Any::new(probes)
}
