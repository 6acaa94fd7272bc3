//! The provider-neutral parts of the backup storage probes (features `s3`, `gcs`, `azure`):
//! the recovery point objective, the newest-object search over a paginated listing, the
//! verdict on the newest backup's age, and the combined "backup storage" judgement.
//!
//! The `backup` config kind, [`BackupSpec`](crate::probes::backup::BackupSpec), picks a provider: `provider = "s3" | "gcs" |
//! "azure"` (default `"s3"`), with that provider's fields.

#[cfg(any(feature = "gcs", feature = "azure"))]
pub(crate) mod rest;
mod spec;

pub use spec::{BackupProvider, BackupSpec};

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Level, Threshold, Unit};
use crate::probe::{Measurement, Observation, ProbeError, Verdict};

/// Registers the backup kinds compiled in: `s3`, `gcs`, `azure` and `backup`.
pub(crate) fn register(r: &mut crate::config::Registry) {
    #[cfg(feature = "s3")]
    r.register::<crate::probes::s3::S3Spec>();
    #[cfg(feature = "gcs")]
    r.register::<crate::probes::gcs::GcsSpec>();
    #[cfg(feature = "azure")]
    r.register::<crate::probes::azure::AzureSpec>();
    r.register::<BackupSpec>();
}

/// The default warning age of the newest backup: 24 hours.
pub(crate) const DEFAULT_RPO_WARN: Duration = Duration::from_secs(24 * 3600);
/// The default recovery point objective: 48 hours.
pub(crate) const DEFAULT_RPO_CRITICAL: Duration = Duration::from_secs(48 * 3600);

/// The backup-age threshold: older than `warn` is a Warn, older than `critical` a Fail.
pub(crate) fn rpo_threshold(provider: &str, warn: Duration, critical: Duration) -> Result<Threshold, ProbeError> {
    Threshold::ceiling(
        "backup age",
        Unit::Seconds,
        warn.as_secs_f64(),
        critical.as_secs_f64(),
        "check the backup job: the newest backup is older than the recovery point objective",
    )
    .map_err(|e| ProbeError::misconfigured(format!("{provider} rpo thresholds: {e}")))
}

/// The default thresholds (24h warn, 48h fail).
pub(crate) fn default_rpo() -> Threshold {
    rpo_threshold("backup", DEFAULT_RPO_WARN, DEFAULT_RPO_CRITICAL).unwrap_or_else(|_| Threshold {
        // Only reached if the fixed defaults above were invalid, which they are not.
        metric: "backup age".into(),
        unit: Unit::Seconds,
        direction: crate::model::Direction::Ceiling,
        healthy: DEFAULT_RPO_WARN.as_secs_f64(),
        breach: DEFAULT_RPO_CRITICAL.as_secs_f64(),
        action: String::new(),
        sustain: None,
    })
}

/// What the freshness check of every provider is configured with.
#[derive(Clone, Debug)]
pub(crate) struct FreshnessOptions {
    pub(crate) prefix: String,
    pub(crate) rpo: Threshold,
    pub(crate) page_size: u32,
    pub(crate) verify_newest: bool,
    /// The first mistake made while building; `build()` returns it.
    pub(crate) error: Option<ProbeError>,
}

impl FreshnessOptions {
    pub(crate) fn new(page_size: u32) -> Self {
        FreshnessOptions { prefix: String::new(), rpo: default_rpo(), page_size, verify_newest: false, error: None }
    }

    pub(crate) fn set_rpo(&mut self, provider: &str, warn: Duration, critical: Duration) {
        match rpo_threshold(provider, warn, critical) {
            Ok(t) => self.rpo = t,
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Checks the page size against the provider's maximum and returns the first mistake.
    pub(crate) fn finish(mut self, provider: &str, max_page: u32) -> Result<Self, ProbeError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !(1..=max_page).contains(&self.page_size) {
            return Err(ProbeError::misconfigured(format!(
                "{provider} page_size {} is not between 1 and {max_page}",
                self.page_size
            )));
        }
        Ok(self)
    }
}

/// The freshness fields every provider's spec has (unset: the defaults).
#[derive(Debug, Clone, Default)]
pub(crate) struct FreshnessFields {
    pub(crate) prefix: Option<String>,
    pub(crate) rpo_warn: Option<Duration>,
    pub(crate) rpo_critical: Option<Duration>,
    pub(crate) page_size: Option<u32>,
    pub(crate) verify_newest: Option<bool>,
}

impl FreshnessFields {
    /// The options these fields describe, checked (`max_page` is the provider's largest page).
    pub(crate) fn options(&self, provider: &str, max_page: u32) -> Result<FreshnessOptions, ProbeError> {
        let mut o = FreshnessOptions::new(self.page_size.unwrap_or(max_page));
        o.prefix = self.prefix.clone().unwrap_or_default();
        o.verify_newest = self.verify_newest.unwrap_or(false);
        o.set_rpo(
            provider,
            self.rpo_warn.unwrap_or(DEFAULT_RPO_WARN),
            self.rpo_critical.unwrap_or(DEFAULT_RPO_CRITICAL),
        );
        o.finish(provider, max_page)
    }
}

/// A bucket or container name: an empty one is a misconfiguration naming the field.
pub(crate) fn require_name(provider: &str, field: &str, value: &str) -> Result<(), ProbeError> {
    if value.trim().is_empty() {
        return Err(ProbeError::misconfigured(format!("{provider} {field} is empty")));
    }
    Ok(())
}

/// An endpoint URL must be `http://` or `https://`.
pub(crate) fn check_endpoint(provider: &str, field: &str, url: &str) -> Result<(), ProbeError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ProbeError::misconfigured(format!(
            "{provider} {field} {:?} must start with http:// or https://",
            crate::probe::scrub_urls(url)
        )));
    }
    Ok(())
}

/// The newest object seen so far.
#[derive(Debug, Clone)]
pub(crate) struct NewestObject {
    pub(crate) key: String,
    pub(crate) last_modified: DateTime<Utc>,
    pub(crate) size: i64,
}

/// A newest-object search over a paginated listing: constant memory, whatever the count.
#[derive(Debug, Default)]
pub(crate) struct NewestSearch {
    pub(crate) newest: Option<NewestObject>,
    pub(crate) scanned: u64,
    pub(crate) requests: u32,
}

impl NewestSearch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Counts one list request.
    pub(crate) fn request(&mut self) {
        self.requests += 1;
    }

    /// Offers one listed object; zero-byte "folder" markers (`key/`) are not backups.
    pub(crate) fn offer(&mut self, key: &str, last_modified: DateTime<Utc>, size: i64) {
        if key.ends_with('/') && size == 0 {
            return;
        }
        self.scanned += 1;
        if self.newest.as_ref().is_none_or(|n| last_modified > n.last_modified) {
            self.newest = Some(NewestObject { key: key.to_string(), last_modified, size });
        }
    }
}

/// Where the probes look, for summaries: the provider, its bucket word and the URI scheme.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// `s3`, `gcs`, `azure`.
    pub(crate) provider: &'static str,
    /// `bucket` or `container`.
    pub(crate) noun: &'static str,
    /// The bucket or container name.
    pub(crate) name: String,
    /// `s3://bucket/`, `gs://bucket/`, `https://account.blob.core.windows.net/container/`.
    pub(crate) base_uri: String,
}

impl Place {
    /// `s3://bucket/key`.
    pub(crate) fn uri(&self, key: &str) -> String {
        format!("{}{key}", self.base_uri)
    }

    /// `gcs bucket b`.
    pub(crate) fn describe(&self) -> String {
        format!("{} {} {}", self.provider, self.noun, self.name)
    }
}

/// The freshness verdict on a finished search: no object is a Fail, otherwise the newest
/// object's age (from the context's clock) against the RPO. Returns the newest object too, for
/// a read-back.
pub(crate) fn judge_freshness(
    place: &Place,
    prefix: &str,
    search: NewestSearch,
    rpo: &Threshold,
    now: DateTime<Utc>,
) -> (Observation, Option<NewestObject>) {
    let counts = |obs: Observation| {
        obs.with_measurement(Measurement::new("objects_scanned", search.scanned as f64, Unit::Count))
            .with_measurement(Measurement::new("list_requests", f64::from(search.requests), Unit::Count))
    };
    let Some(newest) = search.newest.clone() else {
        return (counts(Observation::fail(format!("no backup objects under {}", place.uri(prefix)))), None);
    };
    let age = (now - newest.last_modified).to_std().unwrap_or(Duration::ZERO);
    let age_text = crate::model::duration::format(Duration::from_secs(age.as_secs()));
    let uri = place.uri(&newest.key);
    let eval = rpo.evaluate_in(age.as_secs_f64(), Unit::Seconds).ok();
    let rpo_text = |bound: f64| match rpo.unit.convert(bound, Unit::Seconds) {
        Ok(secs) => crate::model::duration::format(Duration::from_secs_f64(secs.max(0.0))),
        Err(_) => rpo.unit.format(bound),
    };
    let summary = match eval.as_ref().map(|e| e.level) {
        Some(Level::Breach) => {
            format!("newest backup {uri} is {age_text} old, older than the {} rpo", rpo_text(rpo.breach))
        }
        Some(Level::Warn) => {
            format!("newest backup {uri} is {age_text} old, past the {} warning", rpo_text(rpo.healthy))
        }
        _ => format!("newest backup {uri} is {age_text} old"),
    };
    let obs = counts(Observation::pass(summary))
        .with_measurement(
            Measurement::new("backup_age_seconds", age.as_secs_f64(), Unit::Seconds)
                .label(place.noun, &place.name)
                .evaluate(rpo),
        )
        .with_evidence("newest_object", &newest.key)
        .with_evidence("newest_last_modified", newest.last_modified.to_rfc3339())
        .with_evidence("newest_size", newest.size.to_string());
    (obs, Some(newest))
}

/// Turns an observation into a Fail with `summary`, keeping its measurements and evidence (a
/// failed read-back keeps what the listing found).
pub(crate) fn fail_keeping(mut obs: Observation, summary: String) -> Observation {
    obs.verdict = Verdict::Fail;
    obs.summary = summary;
    obs
}

/// The "backup storage" judgement: reachable first (a missing bucket stops there), then the
/// parts. A Fail anywhere makes the whole a Fail (parts that could not look are named in it);
/// otherwise a part that could not look makes the whole an Error. Every part's reason is kept
/// in the summary, which names the provider and the bucket or container.
pub(crate) fn combine(
    place: &Place,
    reach: Observation,
    parts: Vec<(&str, Result<Observation, ProbeError>)>,
) -> Result<Observation, ProbeError> {
    let what = format!("backup storage of {}", place.describe());
    if reach.verdict == Verdict::Fail {
        let mut reach = reach;
        reach.summary = format!("{what}: {}", reach.summary);
        return Ok(reach);
    }
    let mut obs = Observation::pass(String::new());
    let mut texts = Vec::new();
    let mut errors: Vec<(&str, ProbeError)> = Vec::new();
    for (name, part) in parts {
        match part {
            Ok(o) => {
                obs.verdict = obs.verdict.worst(o.verdict);
                texts.push((o.verdict, o.summary));
                obs.measurements.extend(o.measurements);
                for (k, v) in o.evidence.iter() {
                    obs.evidence.insert(k, v);
                }
            }
            Err(e) => errors.push((name, e)),
        }
    }
    let could_not = errors.iter().map(|(n, e)| format!("{n} could not be checked: {e}")).collect::<Vec<_>>();
    if obs.verdict != Verdict::Fail
        && let Some((_, first)) = errors.first()
    {
        let mut e = first.clone();
        e.message = format!("{what}: {}", could_not.join("; "));
        return Err(e);
    }
    obs.summary = if obs.verdict == Verdict::Pass {
        format!("{what}: reachable; {}", texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("; "))
    } else {
        let mut all: Vec<String> = texts.iter().filter(|(v, _)| *v != Verdict::Pass).map(|(_, t)| t.clone()).collect();
        all.extend(could_not);
        let passing: Vec<&str> = texts.iter().filter(|(v, _)| *v == Verdict::Pass).map(|(_, t)| t.as_str()).collect();
        let ok = if passing.is_empty() { String::new() } else { format!(" (ok: {})", passing.join("; ")) };
        format!("{what}: {}{ok}", all.join("; "))
    };
    for (k, v) in reach.evidence.iter() {
        obs.evidence.insert(k, v);
    }
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place { provider: "gcs", noun: "bucket", name: "b".into(), base_uri: "gs://b/".into() }
    }

    #[test]
    fn search_keeps_only_the_newest_and_skips_folder_markers() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let mut s = NewestSearch::new();
        s.offer("db/", t(500), 0);
        s.offer("db/a", t(100), 3);
        s.offer("db/b", t(300), 4);
        s.offer("db/c", t(200), 5);
        assert_eq!(s.scanned, 3);
        assert_eq!(s.newest.as_ref().unwrap().key, "db/b");
    }

    #[test]
    fn freshness_verdicts_follow_the_rpo() {
        let rpo = rpo_threshold("gcs", Duration::from_secs(3600), Duration::from_secs(7200)).unwrap();
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let mut s = NewestSearch::new();
        s.offer("k", t0, 1);
        let (obs, _) = judge_freshness(&place(), "", s, &rpo, t0 + chrono::Duration::seconds(5400));
        assert_eq!(obs.measurement("backup_age_seconds").unwrap().verdict(), Some(Verdict::Warn));
        assert_eq!(obs.summary, "newest backup gs://b/k is 1h30m old, past the 1h warning");
        let (obs, _) = judge_freshness(&place(), "db/", NewestSearch::new(), &rpo, t0);
        assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "no backup objects under gs://b/db/"));
        assert!(rpo_threshold("gcs", Duration::from_secs(9), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn combine_prefers_fail_and_names_the_provider() {
        let reach = Observation::pass("bucket b is reachable");
        let r = combine(
            &place(),
            reach.clone(),
            vec![
                ("versioning", Ok(Observation::fail("versioning is off"))),
                ("encryption", Err(ProbeError::other("boom"))),
            ],
        )
        .unwrap();
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            r.summary,
            "backup storage of gcs bucket b: versioning is off; encryption could not be checked: boom"
        );
        let e = combine(&place(), reach, vec![("encryption", Err(ProbeError::other("boom")))]).unwrap_err();
        assert_eq!(e.message, "backup storage of gcs bucket b: encryption could not be checked: boom");
    }
}
