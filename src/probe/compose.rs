//! [`All`] and [`Any`]: several probes as one.

use async_trait::async_trait;
use futures_util::future::join_all;

use super::{BoxProbe, Observation, Probe, ProbeContext, ProbeError, Verdict};

fn joined_target(kind: &str, probes: &[BoxProbe]) -> String {
    format!("{kind}({})", probes.iter().map(|p| p.target()).collect::<Vec<_>>().join(", "))
}

fn merge(verdict: Verdict, parts: Vec<(String, Observation)>) -> Observation {
    let many = parts.len() > 1;
    let summary = parts
        .iter()
        .map(|(t, o)| if many { format!("{t}: {}", o.summary) } else { o.summary.clone() })
        .collect::<Vec<_>>();
    let mut out = Observation::new(verdict, summary.join("; "));
    for (t, o) in parts {
        for m in o.measurements {
            out.measurements.push(m);
        }
        for (k, v) in o.evidence.iter() {
            let key = if many { format!("{t}.{k}") } else { k.to_string() };
            out.evidence.insert(key, v);
        }
    }
    out
}

/// Every probe must hold: the verdict is the worst of all; any error makes the whole an
/// error (errors dominate). Probes run concurrently.
#[derive(Debug, Clone)]
pub struct All {
    probes: Vec<BoxProbe>,
}

impl All {
    /// All of `probes`.
    pub fn new(probes: impl IntoIterator<Item = BoxProbe>) -> Self {
        All { probes: probes.into_iter().collect() }
    }
}

#[async_trait]
impl Probe for All {
    fn target(&self) -> String {
        joined_target("all", &self.probes)
    }

    fn has_side_effects(&self) -> bool {
        self.probes.iter().any(|p| p.has_side_effects())
    }

    fn independent(&self) -> bool {
        !self.probes.is_empty() && self.probes.iter().all(|p| p.independent())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.probes.is_empty() {
            return Err(ProbeError::misconfigured("all() of no probes has nothing to look at"));
        }
        let results = join_all(self.probes.iter().map(|p| p.check(cx))).await;
        let mut parts = Vec::with_capacity(results.len());
        let mut verdict = Verdict::Pass;
        for (p, r) in self.probes.iter().zip(results) {
            match r {
                Ok(o) => {
                    verdict = verdict.worst(o.verdict);
                    parts.push((p.target(), o));
                }
                Err(e) => return Err(e.context(p.target())),
            }
        }
        Ok(merge(verdict, parts))
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
        joined_target("any", &self.probes)
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
        Ok(merge(Verdict::Fail, failed))
    }
}

/// All of `probes` (see [`All`]).
pub fn all(probes: impl IntoIterator<Item = BoxProbe>) -> All {
    All::new(probes)
}

/// Any of `probes` (see [`Any`]).
pub fn any(probes: impl IntoIterator<Item = BoxProbe>) -> Any {
    Any::new(probes)
}
