//! The manifest corpus (`tests/fixtures/kube/corpus`, written by its `generate.py`): for every
//! check a passing and a failing variant, plus Pods, Jobs, CronJobs, autoscaling/v1 and v2,
//! multi-document files, a List and invalid objects. Each case's verdict and reason are
//! asserted, and every finding's `file:line:column` points at a YAML key of that file.
#![cfg(feature = "kube")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nexus_readiness::model::{AlertRule, Comparison, Condition, Unit};
use nexus_readiness::probe::{Probe, ProbeContext, ProbeErrorKind, Verdict};
use nexus_readiness::probes::kube::{
    Check, CheckConfig, Finding, KubeProbe, Snapshot, WorkloadKind, WorkloadSelector, evaluate, manifest,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    check: Check,
    verdict: String,
    reason: String,
    #[serde(default)]
    kind: Option<WorkloadKind>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, Vec<String>>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube/corpus")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("cases.toml")).unwrap();
    toml::from_str::<Cases>(&text).unwrap().case
}

/// The checklist's alert rules as the Nexus document states two of them.
fn alert_rules() -> Vec<AlertRule> {
    vec![
        AlertRule::new("High error rate")
            .condition(Condition::new(Comparison::Gt, 5.0, Unit::Percent))
            .window(Duration::from_secs(300)),
        AlertRule::new("High latency")
            .condition(Condition::new(Comparison::Gt, 1.0, Unit::Seconds).aggregation("p99"))
            .window(Duration::from_secs(600)),
    ]
}

fn config(case: &Case) -> CheckConfig {
    let mut cfg = CheckConfig { alert_rules: alert_rules(), ..CheckConfig::default() };
    if let Some(cms) = case.config.get("required_config_maps") {
        cfg.required_config_maps = cms.clone();
    }
    cfg
}

fn selector(case: &Case) -> WorkloadSelector {
    let mut s = WorkloadSelector::namespace("corpus");
    if let Some(k) = case.kind {
        s = s.with_kind(k);
    }
    if let Some(n) = &case.name {
        s = s.with_name(n.clone());
    }
    s
}

fn findings_text(evidence: &[(String, String)]) -> Vec<String> {
    evidence.iter().filter(|(k, _)| k.starts_with("finding.") && !k.ends_with(".at")).map(|(_, v)| v.clone()).collect()
}

/// The text of `file` at `line:column` (from 1).
fn text_at(file: &Path, line: usize, column: usize) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let l = text.lines().nth(line - 1).unwrap_or_else(|| panic!("{}: no line {line}", file.display()));
    l.get(column - 1..).unwrap_or("").to_string()
}

/// Every finding on an object of the manifest has a location in `file`, at a YAML key or
/// sequence item; findings on objects the files lack (a missing ConfigMap) have none.
fn assert_located(file: &Path, snap: &Snapshot, findings: &[Finding]) {
    for f in findings {
        if !snap.sources.contains_key(&f.object) {
            assert!(f.location.is_none(), "{f}");
            continue;
        }
        let at = f.location.as_ref().unwrap_or_else(|| panic!("{}: finding without location: {f}", file.display()));
        assert_eq!(at.path, file, "{f}");
        let text = text_at(file, at.line, at.column);
        let key =
            text.starts_with("- ") || text.split_once(':').is_some_and(|(k, _)| !k.is_empty() && !k.contains(' '));
        assert!(key, "{}:{}:{} is not at a key ({text:?}) for {f}", file.display(), at.line, at.column);
    }
}

#[tokio::test]
async fn corpus_verdicts_reasons_and_locations() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let file = dir().join(&case.file);
        let probe = KubeProbe::manifests(vec![file.clone()], selector(case), case.check).with_config(config(case));
        let result = probe.check(&ProbeContext::new()).await;
        // Secret values planted in the corpus never reach an observation or error.
        let all = format!("{result:?}");
        for canary in ["AAAAB3NzaC1yc2E", "P2/56wAAAi4AAAA3", "LS0tLS1CRUdJTiBQUklW", "eyJhdXRocyI6e319"] {
            assert!(!all.contains(canary), "{}: secret value {canary} leaked: {all}", case.file);
        }
        let (verdict, texts) = match &result {
            Ok(obs) => {
                let v = match obs.verdict {
                    Verdict::Pass => "pass",
                    Verdict::Warn => "warn",
                    Verdict::Fail => "fail",
                };
                let ev: Vec<(String, String)> =
                    obs.evidence.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                let mut texts = findings_text(&ev);
                texts.push(obs.summary.clone());
                (v, texts)
            }
            Err(e) if e.kind == ProbeErrorKind::NotApplicable => ("skipped", vec![e.message.clone()]),
            Err(e) => ("error", vec![e.message.clone()]),
        };
        if verdict != case.verdict || !texts.iter().any(|t| t.contains(&case.reason)) {
            failures.push(format!("{}: want {} {:?}, got {verdict} {texts:#?}", case.file, case.verdict, case.reason));
            continue;
        }
        match case.verdict.as_str() {
            "fail" | "warn" => {
                let snap = manifest::load(std::slice::from_ref(&file), "default").unwrap();
                let out = evaluate(&snap, &selector(case), case.check, &config(case)).unwrap();
                assert!(!out.findings.is_empty(), "{}", case.file);
                assert_located(&file, &snap, &out.findings);
            }
            "error" => {
                // Invalid manifests name file:line:column.
                let msg = &texts[0];
                let prefix = format!("{}:", file.display());
                let rest = msg.strip_prefix(&prefix).unwrap_or_else(|| panic!("{}: {msg}", case.file));
                let mut parts = rest.splitn(3, [':', ' ']);
                let line: usize = parts.next().unwrap().parse().unwrap_or_else(|_| panic!("{msg}"));
                let col: usize = parts.next().unwrap().parse().unwrap_or_else(|_| panic!("{msg}"));
                let text = text_at(&file, line, col);
                assert!(!text.trim().is_empty(), "{msg} points at nothing");
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn corpus_covers_every_check_both_ways() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let files: BTreeSet<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files.len(), cases.len(), "one case per file");
    for check in Check::ALL {
        let of: Vec<&Case> = cases.iter().filter(|c| c.check == check).collect();
        if check.live_only() {
            // Live-only checks are tested against the fake API server (tests/kube_live.rs);
            // here two of them show that manifest mode skips them.
            continue;
        }
        assert!(of.iter().any(|c| c.verdict == "pass"), "{check}: no passing variant");
        assert!(of.iter().any(|c| c.verdict == "fail" || c.verdict == "warn"), "{check}: no failing variant");
    }
    let kinds =
        |k: &str| cases.iter().filter(|c| std::fs::read_to_string(dir().join(&c.file)).unwrap().contains(k)).count();
    for k in [
        "kind: Pod\n",
        "kind: Job\n",
        "kind: CronJob\n",
        "apiVersion: autoscaling/v1\n",
        "apiVersion: autoscaling/v2\n",
        "kind: List\n",
    ] {
        assert!(kinds(k) > 0, "no case with {k:?}");
    }
    assert!(cases.iter().filter(|c| c.verdict == "error").count() >= 5, "invalid objects");
}

/// The line and column (from 1) of the first occurrence of `needle` in `file`.
fn find(file: &Path, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.starts_with('#')) {
        if let Some(c) = l.find(needle) {
            return (i + 1, c + 1);
        }
    }
    panic!("{needle:?} not in {}", file.display())
}

async fn located(file: &str, check: Check, cfg: CheckConfig) -> Vec<(String, usize, usize)> {
    let path = dir().join(file);
    let snap = manifest::load(std::slice::from_ref(&path), "default").unwrap();
    let out = evaluate(&snap, &WorkloadSelector::namespace("corpus"), check, &cfg).unwrap();
    out.findings
        .iter()
        .map(|f| {
            let at = f.location.clone().unwrap();
            (f.to_string(), at.line, at.column)
        })
        .collect()
}

#[tokio::test]
async fn findings_point_at_the_offending_field() {
    let d = CheckConfig::default();
    // A missing key: its nearest written parent (`limits:`).
    let f = located("resource-limits/fail-memory.yaml", Check::ResourceLimits, d.clone()).await;
    let (l, c) = find(&dir().join("resource-limits/fail-memory.yaml"), "limits:");
    assert_eq!((f[0].1, f[0].2), (l, c), "{f:?}");
    // An env var: its sequence item.
    let f = located("secrets-injection/fail-key-content.yaml", Check::SecretsInjection, d.clone()).await;
    let (l, c) = find(&dir().join("secrets-injection/fail-key-content.yaml"), "- name: SSH_KEY_CONTENT");
    assert_eq!((f[0].1, f[0].2), (l, c), "{f:?}");
    // A pod-level field.
    let f = located("host-namespaces/fail-network.yaml", Check::HostNamespaces, d.clone()).await;
    let (l, c) = find(&dir().join("host-namespaces/fail-network.yaml"), "hostNetwork: true");
    assert_eq!((f[0].1, f[0].2), (l, c), "{f:?}");
    // A label key with dots and a slash, on another object of the file.
    let f = located("pod-security/fail-namespace-privileged.yaml", Check::PodSecurity, d.clone()).await;
    let (l, c) = find(&dir().join("pod-security/fail-namespace-privileged.yaml"), "pod-security.kubernetes.io/enforce");
    assert!(f.iter().any(|x| (x.1, x.2) == (l, c)), "{f:?}");
    // Inside a List, in the second document of nothing but the first item.
    let f = located("multi/list.yaml", Check::ResourceLimits, d.clone()).await;
    let (l, c) = find(&dir().join("multi/list.yaml"), "resources:");
    assert!(f.iter().all(|x| (x.1, x.2) == (l, c)), "{f:?}");
    // A Job in the third document of a file.
    let f = located("multi/mixed-kinds.yaml", Check::ResourceLimits, d.clone()).await;
    let path = dir().join("multi/mixed-kinds.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let job_at = text.find("kind: Job").unwrap();
    let limits_line = text[job_at..].find("limits:").map(|i| text[..job_at + i].matches('\n').count() + 1).unwrap();
    assert!(
        f.iter().any(|x| x.0.starts_with("Job corpus/migrate") && x.1 == limits_line),
        "{f:?} want line {limits_line}"
    );
}

#[tokio::test]
async fn evidence_carries_the_location() {
    let file = dir().join("host-namespaces/fail-network.yaml");
    let obs = KubeProbe::manifests(vec![file.clone()], WorkloadSelector::namespace("corpus"), Check::HostNamespaces)
        .check(&ProbeContext::new())
        .await
        .unwrap();
    let (l, c) = find(&file, "hostNetwork: true");
    assert_eq!(obs.evidence.get("finding.001.at").map(|v| v.to_string()), Some(format!("{}:{l}:{c}", file.display())));
}

/// `prometheus-rules` judges the alert rules of the plan's checklist (through the build
/// context), never a built-in list: detached it is not configured; against the Nexus checklist
/// the two rules of the file hold and the three it lacks are named.
#[tokio::test]
async fn prometheus_rules_come_from_the_plan_checklist() {
    use nexus_readiness::probe::{BuildContext, ProbeSpec};
    use nexus_readiness::probes::kube::KubeSpec;

    let file = dir().join("prometheus-rules/pass.yaml");
    let text = format!(
        "check = \"prometheus-rules\"\nnamespace = \"corpus\"\nmanifests = [{:?}]\n",
        file.display().to_string()
    );
    let spec: KubeSpec = toml::from_str(&text).unwrap();
    let err = spec.build(&BuildContext::detached()).unwrap().check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotConfigured, "{err}");
    assert!(err.message.contains("kube.config.alert_rules"), "{err}");

    let nexus = nexus_readiness::builtin::nexus();
    let obs = spec.build(&BuildContext::new(&nexus)).unwrap().check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    let found: Vec<String> =
        obs.evidence.iter().filter(|(k, _)| !k.ends_with(".at")).map(|(_, v)| v.to_string()).collect();
    assert!(found.iter().any(|f| f.contains("no rule alerts \"PodRestartLoops\"")), "{found:#?}");
    let errors: Vec<&String> = found.iter().filter(|f| f.starts_with("error:")).collect();
    assert_eq!(errors.len(), 3, "{found:#?}");
    assert!(!errors.iter().any(|f| f.contains("HighErrorRate") || f.contains("HighLatency")), "{found:#?}");
}
