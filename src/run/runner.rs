use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::events::{Observers, RunEvent, RunObserver};
use super::plan::{Binding, Plan};
use crate::model::{Item, Phase, Section, Verification};
use crate::probe::context::Shared;
use crate::probe::{
    Clock, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, Redactor, SystemClock, Verdict,
};
use crate::report::{ItemReport, MinVerified, ProbeResult, Report, SkipKind, Status, WaiverReport};

/// Runs a [`Plan`] and produces a [`Report`].
///
/// Independent probes run concurrently up to [`concurrency`](RunnerBuilder::concurrency);
/// items with dependencies (`after`) wait for them and are Skipped when one failed (see
/// [`Plan::after`]); items whose probes have side effects run alone, after the others; every
/// probe is cut at [`probe_timeout`](RunnerBuilder::probe_timeout) (and at the overall
/// [`deadline`](RunnerBuilder::deadline)); a panicking probe becomes an Error outcome for its
/// own item only. A run never fails: every problem becomes an outcome in the report. See
/// [`crate::report`] for the readiness rules.
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::model::{Checklist, Item, Section, Severity};
/// use nexus_readiness::probe::{FnProbe, Observation};
/// use nexus_readiness::report::Status;
/// use nexus_readiness::run::{Plan, Runner};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let checklist = Checklist::builder("demo", "Demo")
///     .section(Section::new("Checks").item(Item::new("Cache answers").severity(Severity::Blocker)))
///     .build()?;
/// let mut plan = Plan::new(checklist);
/// plan.bind("checks.cache-answers", FnProbe::new("redis://127.0.0.1:6379", |_cx| async move {
///     Ok(Observation::pass("PONG"))
/// }))?;
/// let report = Runner::builder().probe_timeout(Duration::from_secs(5)).build().run(&plan).await;
/// assert_eq!(report.item("checks.cache-answers").unwrap().status, Status::Pass);
/// assert!(report.ready());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Runner {
    pub(crate) concurrency: usize,
    pub(crate) probe_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) phases: Option<Vec<Phase>>,
    pub(crate) only: Option<Vec<String>>,
    pub(crate) fail_on_warn: bool,
    pub(crate) allow_unverified: bool,
    pub(crate) min_verified: Option<MinVerified>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observers: Observers,
}

/// Builds a [`Runner`].
#[derive(Debug)]
pub struct RunnerBuilder {
    runner: Runner,
}

impl Default for RunnerBuilder {
    fn default() -> Self {
        RunnerBuilder {
            runner: Runner {
                concurrency: 16,
                probe_timeout: Duration::from_secs(30),
                deadline: None,
                phases: None,
                only: None,
                fail_on_warn: false,
                allow_unverified: false,
                min_verified: None,
                clock: Arc::new(SystemClock),
                observers: Observers(Vec::new()),
            },
        }
    }
}

impl RunnerBuilder {
    /// How many probes run at once (default 16; 0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.runner.concurrency = n.max(1);
        self
    }

    /// How long one probe may take before it is cut with "probe timed out after ..."
    /// (default 30s).
    pub fn probe_timeout(mut self, d: Duration) -> Self {
        self.runner.probe_timeout = d;
        self
    }

    /// The overall deadline of a run: probes still running are cut, items not started yet are
    /// Skipped "deadline passed" (default none).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.runner.deadline = Some(d);
        self
    }

    /// Runs only items of these phases; the others are Skipped "phase not run" (default all).
    pub fn phases(mut self, phases: impl IntoIterator<Item = Phase>) -> Self {
        self.runner.phases = Some(phases.into_iter().collect());
        self
    }

    /// Whether a gating item in Warn keeps the report from being ready (default false).
    pub fn fail_on_warn(mut self, fail_on_warn: bool) -> Self {
        self.runner.fail_on_warn = fail_on_warn;
        self
    }

    /// Lets gating items that nothing verified (no target configured) through, for exploring
    /// a config (default false: they block). Never silent: the report's
    /// [`headline`](Report::headline) reads `READY (UNVERIFIED: 36 gating items not checked)`
    /// and every format carries it.
    pub fn allow_unverified(mut self, allow: bool) -> Self {
        self.runner.allow_unverified = allow;
        self
    }

    /// The coverage floor: a run in which a probe decided fewer items than this (a count, or
    /// a percentage of the automatable items) is not ready, with the reason in the headline.
    /// Catches a config that quietly binds less over time. Default none.
    pub fn min_verified(mut self, min: MinVerified) -> Self {
        self.runner.min_verified = Some(min);
        self
    }

    /// The clock for report timestamps, attestation and waiver expiry, and probe contexts
    /// (default the system clock; [`ManualClock`](crate::probe::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.runner.clock = clock;
        self
    }

    /// Adds an observer of [`RunEvent`]s.
    pub fn observer(mut self, observer: impl RunObserver + 'static) -> Self {
        self.runner.observers.0.push(Box::new(observer));
        self
    }

    /// Sends every [`RunEvent`] to `events` (the sending end of an unbounded channel; a
    /// shorthand for [`observer`](Self::observer)).
    ///
    /// ```
    /// use nexus_readiness::run::Runner;
    ///
    /// let (tx, _events) = tokio::sync::mpsc::unbounded_channel();
    /// let _runner = Runner::builder().events(tx).concurrency(4).build();
    /// ```
    pub fn events(self, events: mpsc::UnboundedSender<RunEvent>) -> Self {
        self.observer(events)
    }

    /// Runs only the items selected by `selectors`; the others are Skipped "not selected"
    /// (out of scope, like a phase not run). A selector selects an item when it is the item's
    /// id, a section of it (a dotted prefix of the id: `pre-deployment.security`), or one of
    /// its tags (`gpu`). A selector that matches no item of the plan makes the report not
    /// ready, naming it ([`Report::unmatched_selectors`]). Default: every item.
    ///
    /// Dependencies (`after`) that are not selected do not run: a selected item's probes run
    /// whatever they would have found.
    ///
    /// ```
    /// use nexus_readiness::run::Runner;
    ///
    /// let _runner = Runner::builder().only(["security", "deployment.container-image"]).build();
    /// ```
    pub fn only<S: Into<String>>(mut self, selectors: impl IntoIterator<Item = S>) -> Self {
        self.runner.only = Some(selectors.into_iter().map(Into::into).collect());
        self
    }

    /// The runner.
    pub fn build(self) -> Runner {
        self.runner
    }
}

/// One item of the plan, resolved once per run.
pub(crate) struct Entry<'a> {
    pub(crate) item: &'a Item,
    pub(crate) phase: Option<Phase>,
    pub(crate) section: Arc<[String]>,
    pub(crate) binding: Option<&'a Binding>,
    pub(crate) gating: bool,
    pub(crate) deps: Vec<usize>,
}

impl Entry<'_> {
    pub(crate) fn has_probes(&self) -> bool {
        self.binding.is_some_and(|b| !b.probes.is_empty())
    }

    /// Whether the item runs alone, after the others: marked exclusive, or a probe has side
    /// effects.
    pub(crate) fn exclusive(&self) -> bool {
        self.binding.is_some_and(|b| b.exclusive || b.probes.iter().any(|p| p.has_side_effects()))
    }

    /// Whether every probe of the item stands whatever its dependencies found.
    pub(crate) fn independent(&self) -> bool {
        self.binding.is_some_and(|b| !b.probes.is_empty() && b.probes.iter().all(|p| p.independent()))
    }
}

/// Every item of the plan in document order, with its phase, section path, binding, gating
/// and dependencies (indices).
pub(crate) fn entries(plan: &Plan) -> Vec<Entry<'_>> {
    fn walk<'a>(
        s: &'a Section,
        phase: Option<Phase>,
        path: &mut Vec<String>,
        plan: &'a Plan,
        bindings: &HashMap<&str, &'a Binding>,
        out: &mut Vec<Entry<'a>>,
    ) {
        let phase = s.phase.or(phase);
        path.push(s.title.clone());
        let section: Arc<[String]> = Arc::from(path.as_slice());
        for item in &s.items {
            let binding = bindings.get(item.id.as_str()).copied();
            let gating =
                binding.and_then(|b| b.gating).unwrap_or_else(|| plan.gating_severities().contains(&item.severity));
            // An item's own phase (a `phase=` attribute in the document) wins over its section's.
            let phase = item.phase.or(phase);
            out.push(Entry { item, phase, section: section.clone(), binding, gating, deps: Vec::new() });
        }
        for c in &s.sections {
            walk(c, phase, path, plan, bindings, out);
        }
        path.pop();
    }
    let bindings: HashMap<&str, &Binding> = plan.bindings().iter().map(|(k, b)| (k.as_str(), b)).collect();
    let mut out = Vec::with_capacity(plan.checklist().items().count());
    let mut path = Vec::new();
    for s in &plan.checklist().sections {
        walk(s, None, &mut path, plan, &bindings, &mut out);
    }
    let has_deps = out.iter().any(|e| !e.item.after.is_empty() || e.binding.is_some_and(|b| !b.after.is_empty()));
    if !has_deps {
        return out;
    }
    let index: HashMap<&str, usize> = out.iter().enumerate().map(|(i, e)| (e.item.id.as_str(), i)).collect();
    for e in &mut out {
        let extra = e.binding.map(|b| b.after.as_slice()).unwrap_or(&[]);
        for dep in e.item.after.iter().chain(extra) {
            if let Some(&d) = index.get(dep.as_str())
                && !e.deps.contains(&d)
            {
                e.deps.push(d);
            }
        }
    }
    out
}

/// The item report skeleton for an entry.
fn skeleton(e: &Entry<'_>, status: Status, reason: String) -> ItemReport {
    ItemReport {
        id: e.item.id.clone(),
        title: e.item.display_title(),
        section: e.section.clone(),
        phase: e.phase,
        severity: e.item.severity,
        gating: e.gating,
        status,
        reason,
        skip: None,
        config_key: None,
        waived_status: None,
        probes: Vec::new(),
        attestation: e.binding.and_then(|b| b.attestation.clone()),
        waiver: None,
        duration: Duration::ZERO,
        verification: e.item.verification,
        ran_alone: false,
        blocked_by: None,
    }
}

fn skipped(e: &Entry<'_>, kind: SkipKind, reason: String) -> ItemReport {
    let mut r = skeleton(e, Status::Skipped, reason);
    r.skip = Some(kind);
    r
}

/// Whether a waiver covers this outcome: anything that is not done (Fail, Error, Pending,
/// Skipped because nothing verified it or a dependency failed). A cancelled run is never
/// waived.
fn waivable(r: &ItemReport) -> bool {
    match r.status {
        Status::Fail | Status::Error | Status::Pending => true,
        Status::Skipped => matches!(r.skip, Some(SkipKind::NotConfigured | SkipKind::Dependency)),
        _ => false,
    }
}

/// Applies the item's waiver to an outcome it covers ([`waivable`]).
fn apply_waiver(e: &Entry<'_>, mut r: ItemReport, now: chrono::DateTime<chrono::Utc>) -> ItemReport {
    let Some(w) = e.binding.and_then(|b| b.waiver.as_ref()) else {
        return r;
    };
    let expired = w.is_expired(now);
    r.waiver = Some(WaiverReport::new(w, expired));
    if waivable(&r) {
        if expired {
            r.reason = format!("{}; waiver expired on {}", r.reason, w.expires);
        } else {
            r.waived_status = Some(r.status);
            let what = match r.skip {
                Some(SkipKind::NotConfigured) => "not verified".to_string(),
                _ => r.status.to_string(),
            };
            r.reason = format!(
                "waived ({what}): {}; approved by {} until {}; {}",
                w.justification, w.approver, w.expires, r.reason
            );
            r.status = Status::Waived;
            r.skip = None;
        }
    }
    r
}

/// The outcome of an item that runs no probe, or `None` when its probes must run.
pub(crate) fn static_outcome(
    e: &Entry<'_>,
    phases: Option<&[Phase]>,
    selected: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<ItemReport> {
    if let Some(na) = e.binding.and_then(|b| b.not_applicable.as_ref())
        && !na.is_expired(now)
    {
        let mut reason = format!("not applicable: {}", na.reason);
        match (&na.approver, na.expires) {
            (Some(a), Some(d)) => reason.push_str(&format!(" (approved by {a} until {d})")),
            (Some(a), None) => reason.push_str(&format!(" (approved by {a})")),
            (None, Some(d)) => reason.push_str(&format!(" (until {d})")),
            (None, None) => {}
        }
        return Some(skipped(e, SkipKind::NotApplicable, reason));
    }
    if !selected {
        return Some(skipped(e, SkipKind::NotSelected, "not selected for this run".into()));
    }
    if let Some(phases) = phases
        && !e.phase.is_some_and(|p| phases.contains(&p))
    {
        return Some(skipped(e, SkipKind::PhaseNotRun, "phase not run".into()));
    }
    if e.has_probes() {
        return None;
    }
    let r = match e.binding.and_then(|b| b.attestation.as_ref()) {
        Some(a) if a.is_expired(now) => {
            skeleton(e, Status::Pending, a.expired_because(now).unwrap_or_else(|| "attestation expired".into()))
        }
        Some(a) => {
            let mut reason = format!("attested by {}", a.by);
            if let Some(role) = &a.role {
                reason.push_str(&format!(" ({role})"));
            }
            reason.push_str(&format!(" on {}", a.at.date_naive()));
            if let Some(ev) = &a.evidence {
                reason.push_str(&format!(": {ev}"));
            }
            skeleton(e, Status::Attested, reason)
        }
        None if e.item.verification == Verification::Attestation => {
            skeleton(e, Status::Pending, "waiting for a person's attestation".into())
        }
        None => skipped(e, SkipKind::NotConfigured, "not configured: no probe bound to this item".into()),
    };
    Some(expired_marks(e, apply_waiver(e, r, now), now))
}

/// Whether `selector` selects `item`: its id, a section of it (dotted prefix) or a tag.
fn selects(selector: &str, item: &Item) -> bool {
    let id = item.id.as_str();
    id == selector
        || id.strip_prefix(selector).is_some_and(|rest| rest.starts_with('.'))
        || item.tags.iter().any(|t| t == selector)
}

/// Notes a not-applicable mark that expired (the item was checked again).
fn expired_marks(e: &Entry<'_>, mut r: ItemReport, now: chrono::DateTime<chrono::Utc>) -> ItemReport {
    if let Some(na) = e.binding.and_then(|b| b.not_applicable.as_ref())
        && na.is_expired(now)
        && let Some(d) = na.expires
    {
        r.reason = format!("{}; not-applicable mark expired on {d}", r.reason);
    }
    r
}

/// The outcome of an item from its probes' results.
pub(crate) fn conclude(
    e: &Entry<'_>,
    probes: Vec<ProbeResult>,
    duration: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> ItemReport {
    let errors: Vec<&ProbeError> =
        probes.iter().filter_map(|p| p.error.as_ref()).filter(|e| !e.kind.is_skip()).collect();
    let skips: Vec<&ProbeError> = probes.iter().filter_map(|p| p.error.as_ref()).filter(|e| e.kind.is_skip()).collect();
    let worst = probes.iter().filter_map(|p| p.observation.as_ref()).map(|o| o.verdict).max();
    let texts = |pred: &dyn Fn(&ProbeResult) -> bool| -> String {
        if let [only] = probes.as_slice() {
            return only.text().to_string();
        }
        let parts: Vec<String> = probes
            .iter()
            .filter(|p| pred(p))
            .map(|p| if probes.len() > 1 { format!("{}: {}", p.target, p.text()) } else { p.text().to_string() })
            .collect();
        parts.join("; ")
    };
    let mut r = if !errors.is_empty() {
        skeleton(e, Status::Error, texts(&|p| p.error.as_ref().is_some_and(|e| !e.kind.is_skip())))
    } else if worst == Some(Verdict::Fail) {
        skeleton(e, Status::Fail, texts(&|p| p.observation.as_ref().is_some_and(|o| o.verdict == Verdict::Fail)))
    } else if let Some(first) = skips.first() {
        let kind =
            if first.kind == ProbeErrorKind::NotConfigured { SkipKind::NotConfigured } else { SkipKind::NotApplicable };
        let mut r = skipped(e, kind, texts(&|p| p.error.as_ref().is_some_and(|e| e.kind.is_skip())));
        r.config_key = skips.iter().find_map(|e| e.config_key.clone());
        r
    } else if worst == Some(Verdict::Warn) {
        skeleton(e, Status::Warn, texts(&|p| p.observation.as_ref().is_some_and(|o| o.verdict == Verdict::Warn)))
    } else {
        skeleton(e, Status::Pass, texts(&|_| true))
    };
    r.probes = probes;
    r.duration = duration;
    r.ran_alone = e.exclusive();
    if e.binding.is_some_and(|b| b.waiver.is_none() && b.not_applicable.is_none()) {
        return r;
    }
    expired_marks(e, apply_waiver(e, r, now), now)
}

fn redact_observation(r: &Redactor, o: &mut Observation) {
    r.redact_in_place(&mut o.summary);
    o.evidence.redact_with(r);
    for m in &mut o.measurements {
        for v in m.labels.values_mut() {
            r.redact_in_place(v);
        }
    }
}

/// Scrubs every registered secret, and URL credentials, from a probe's result.
pub(crate) fn redact(r: &Redactor, mut result: Result<Observation, ProbeError>) -> Result<Observation, ProbeError> {
    match &mut result {
        Ok(o) => redact_observation(r, o),
        Err(e) => {
            r.redact_in_place(&mut e.message);
        }
    }
    result
}

/// Whether an item's outcome keeps its dependents from running: only a Fail (a probe showed
/// the precondition does not hold), or a skip because its own dependency failed. Anything
/// else (an error, a pending attestation, not configured...) is not evidence that the
/// precondition is false: dependents run and give their own verdict, so configuring more
/// never makes a verdict worse (see [`Plan::after`]).
fn blocks_dependents(r: &ItemReport) -> bool {
    match r.status {
        Status::Fail => true,
        Status::Skipped => r.skip == Some(SkipKind::Dependency),
        _ => false,
    }
}

/// A dependency's state worth noting on a dependent that did not pass: "dependency
/// `dns` was error".
fn dependency_state(r: &ItemReport) -> Option<String> {
    match r.status {
        Status::Pass | Status::Warn | Status::Attested => None,
        Status::Skipped => match r.skip {
            Some(SkipKind::NotConfigured) => Some(format!("dependency {} was not verified", r.id)),
            _ => None,
        },
        s => Some(format!("dependency {} was {s}", r.id)),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Per-item state while its probes run.
struct Running {
    /// One slot per probe, in binding order (no allocation for the usual single probe).
    results: Slots,
    left: usize,
    started: Instant,
    span: tracing::Span,
}

/// The result slots of an item's probes.
enum Slots {
    One(Option<ProbeResult>),
    Many(Vec<Option<ProbeResult>>),
}

type TaskOut = (u32, u32, ProbeResult);

/// The state of one execution: outcomes so far, dependency counters, running items.
struct Exec<'r, 'p> {
    runner: &'r Runner,
    entries: Vec<Entry<'p>>,
    now: chrono::DateTime<chrono::Utc>,
    emit: bool,
    shared: Arc<Shared>,
    done: Vec<Option<ItemReport>>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    unblocked: VecDeque<usize>,
    ready: VecDeque<(u32, u32)>,
    running: Vec<Option<Running>>,
    /// Items with side effects waiting for every other probe to finish.
    exclusive: VecDeque<usize>,
    /// The exclusive item running now: nothing else runs beside it.
    solo: Option<usize>,
    /// Per item: a note on its dependencies, and whether it shows even when the item passes.
    notes: Vec<Option<(String, bool)>>,
}

impl Exec<'_, '_> {
    fn target(&self, i: usize, p: usize) -> String {
        let t = self.entries[i].binding.and_then(|b| b.probes.get(p)).map(|p| p.target()).unwrap_or_default();
        self.shared.redactor.redact(&t)
    }

    /// Sets an item's outcome and unblocks its dependents.
    fn settle(&mut self, i: usize, r: ItemReport) {
        if self.emit {
            self.runner.observers.emit(RunEvent::ItemFinished {
                id: r.id.clone(),
                status: r.status,
                duration: r.duration,
            });
        }
        tracing::debug!(item = %r.id, status = %r.status, reason = %r.reason, "item finished");
        self.done[i] = Some(r);
        for &d in &self.dependents[i] {
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.unblocked.push_back(d);
            }
        }
    }

    /// Settles unblocked items: queues their probes (items with side effects wait for the
    /// others), or skips them when a dependency failed.
    fn release(&mut self) {
        while let Some(i) = self.unblocked.pop_front() {
            let e = &self.entries[i];
            let failed_dep = e.deps.iter().find_map(|&d| self.done[d].as_ref().filter(|r| blocks_dependents(r)));
            if let Some(dep) = failed_dep {
                let what = match dep.status {
                    Status::Fail => "failed",
                    _ => "was skipped after a failed dependency",
                };
                if e.independent() {
                    self.notes[i] = Some((
                        format!("ran although dependency {} {what}: the probe's target does not depend on it", dep.id),
                        true,
                    ));
                } else {
                    let r = apply_waiver(
                        e,
                        skipped(e, SkipKind::Dependency, format!("dependency {} {what}", dep.id)),
                        self.now,
                    );
                    self.settle(i, r);
                    continue;
                }
            } else {
                let states: Vec<String> =
                    e.deps.iter().filter_map(|&d| self.done[d].as_ref().and_then(dependency_state)).collect();
                if !states.is_empty() {
                    self.notes[i] = Some((states.join(", "), false));
                }
            }
            if e.exclusive() {
                self.exclusive.push_back(i);
            } else {
                self.queue(i);
            }
        }
    }

    /// Queues every probe of item `i`.
    fn queue(&mut self, i: usize) {
        let probes = self.entries[i].binding.map_or(0, |b| b.probes.len());
        for p in 0..probes {
            self.ready.push_back((i as u32, p as u32));
        }
    }

    /// Starts the probe `p` of item `i`.
    fn spawn(&mut self, tasks: &mut JoinSet<TaskOut>, i: u32, p: u32, deadline: Option<Instant>) {
        let (iu, pu) = (i as usize, p as usize);
        let e = &self.entries[iu];
        let Some(probe) = e.binding.and_then(|b| b.probes.get(pu)).cloned() else { return };
        let runner = self.runner;
        let emit = self.emit;
        let state = self.running[iu].get_or_insert_with(|| {
            if emit {
                runner.observers.emit(RunEvent::ItemStarted { id: e.item.id.clone() });
            }
            let count = e.binding.map_or(0, |b| b.probes.len());
            Running {
                results: if count == 1 { Slots::One(None) } else { Slots::Many(vec![None; count]) },
                left: count,
                started: Instant::now(),
                span: tracing::info_span!(
                    "item",
                    id = %e.item.id,
                    outcome = tracing::field::Empty,
                    duration_ms = tracing::field::Empty
                ),
            }
        });
        let mut timeout = runner.probe_timeout;
        if let Some(d) = deadline {
            timeout = timeout.min(d.saturating_duration_since(Instant::now()));
        }
        // Everything else happens in the task, on a worker: the loop that starts probes and
        // collects results is what bounds the runner's throughput.
        let item = e.item.id.clone();
        let shared = self.shared.clone();
        let item_span = state.span.clone();
        tasks.spawn(async move {
            let t0 = Instant::now();
            let cx = ProbeContext::for_probe(item, crate::probe::instant_after(timeout), shared);
            // Redacted before it is recorded anywhere, tracing fields included.
            let raw = probe.target();
            let target = match cx.redactor().redact_cow(&raw) {
                Cow::Owned(t) => t,
                Cow::Borrowed(_) => raw,
            };
            let span = tracing::info_span!(parent: &item_span, "probe", target = %target);
            // A panic is caught here, in the task, so that it is this probe's result and the
            // task needs no id-to-probe map to be told apart.
            let checked =
                AssertUnwindSafe(tokio::time::timeout(timeout, probe.check(&cx)).instrument(span)).catch_unwind().await;
            let result = match checked {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(ProbeError::timeout(timeout)),
                Err(payload) => {
                    let msg = cx.redactor().redact(&panic_message(payload));
                    Err(ProbeError::new(ProbeErrorKind::Panicked, format!("probe {target} panicked: {msg}")))
                }
            };
            let result = redact(cx.redactor(), result);
            let pr = ProbeResult::new(target, result, t0.elapsed()).with_attempts(cx.attempts());
            (i, p, pr)
        });
    }

    /// Records what a finished task returned. Panics are caught in the task; a task that did
    /// not return was aborted (cancellation): its item concludes it as cancelled.
    fn joined(&mut self, joined: Result<TaskOut, tokio::task::JoinError>) {
        if let Ok((i, p, pr)) = joined {
            self.record(i as usize, p as usize, pr);
        }
    }

    /// Stores a probe's result; concludes the item when it was its last probe.
    fn record(&mut self, i: usize, p: usize, pr: ProbeResult) {
        let Some(state) = self.running[i].as_mut() else { return };
        let slot = match &mut state.results {
            Slots::One(slot) => (p == 0).then_some(slot),
            Slots::Many(slots) => slots.get_mut(p),
        };
        if let Some(slot) = slot
            && slot.is_none()
        {
            *slot = Some(pr);
            state.left -= 1;
        }
        if state.left > 0 {
            return;
        }
        if let Some(state) = self.running[i].take() {
            self.conclude_running(i, state);
        }
    }

    /// Concludes an item from its probes' results; probes without a result were cancelled.
    fn conclude_running(&mut self, i: usize, state: Running) {
        let duration = state.started.elapsed();
        let cancelled = |p: usize| ProbeResult::new(self.target(i, p), Err(ProbeError::cancelled()), duration);
        let probes: Vec<ProbeResult> = match state.results {
            Slots::One(r) => vec![r.unwrap_or_else(|| cancelled(0))],
            Slots::Many(rs) => rs.into_iter().enumerate().map(|(p, r)| r.unwrap_or_else(|| cancelled(p))).collect(),
        };
        let mut r = conclude(&self.entries[i], probes, duration, self.now);
        if let Some((note, always)) = self.notes[i].take()
            && (always || matches!(r.status, Status::Fail | Status::Error))
        {
            r.reason = format!("{} ({note})", r.reason);
        }
        state.span.record("outcome", r.status.as_str());
        state.span.record("duration_ms", duration.as_secs_f64() * 1000.0);
        self.settle(i, r);
    }
}

impl Runner {
    /// A builder with the defaults: concurrency 16, probe timeout 30s, no deadline, every
    /// phase, Warn does not block, unverified gating items block, no coverage floor, the
    /// system clock.
    pub fn builder() -> RunnerBuilder {
        RunnerBuilder::default()
    }

    /// Runs the plan. Never fails: every problem becomes an outcome in the report.
    pub async fn run(&self, plan: &Plan) -> Report {
        self.run_with_cancel(plan, CancellationToken::new()).await
    }

    /// Runs the plan until it finishes or `cancel` fires. On cancellation, finished items keep
    /// their outcomes, probes still running become Error "cancelled" and items not started
    /// Skipped "cancelled"; the report is not ready.
    pub async fn run_with_cancel(&self, plan: &Plan, cancel: CancellationToken) -> Report {
        self.execute(plan, &cancel, None, self.deadline.map(crate::probe::instant_after)).await
    }

    /// Runs the items selected by `rerun` (all when `None`); the others keep their outcome
    /// from `rerun`'s report.
    pub(crate) async fn execute(
        &self,
        plan: &Plan,
        cancel: &CancellationToken,
        rerun: Option<(&[bool], &Report)>,
        deadline: Option<Instant>,
    ) -> Report {
        let started_at = self.clock.now();
        let started = Instant::now();
        let entries = entries(plan);
        let n = entries.len();
        let emit = !self.observers.is_empty();
        if emit {
            self.observers.emit(RunEvent::Started { checklist: plan.checklist().id.clone(), items: n });
        }
        let mut x = Exec {
            runner: self,
            entries,
            now: started_at,
            emit,
            shared: Arc::new(Shared {
                cancel: cancel.clone(),
                clock: self.clock.clone(),
                redactor: Arc::new(plan.redactor().clone()),
            }),
            done: vec![None; n],
            waiting: vec![0; n],
            dependents: vec![Vec::new(); n],
            unblocked: VecDeque::new(),
            ready: VecDeque::new(),
            running: (0..n).map(|_| None).collect(),
            exclusive: VecDeque::new(),
            solo: None,
            notes: vec![None; n],
        };

        let mut to_run: Vec<usize> = Vec::new();
        let mut matched = vec![false; self.only.as_ref().map_or(0, Vec::len)];
        for i in 0..n {
            let e = &x.entries[i];
            if let Some((mask, previous)) = rerun
                && !mask.get(i).copied().unwrap_or(true)
                && let Some(prev) = previous.items().get(i).filter(|p| p.id == e.item.id)
            {
                x.done[i] = Some(prev.clone());
                continue;
            }
            let selected = match &self.only {
                None => true,
                Some(sel) => {
                    let mut any = false;
                    for (k, s) in sel.iter().enumerate() {
                        if selects(s, e.item) {
                            matched[k] = true;
                            any = true;
                        }
                    }
                    any
                }
            };
            match static_outcome(e, self.phases.as_deref(), selected, started_at) {
                Some(r) => {
                    if emit {
                        self.observers.emit(RunEvent::ItemFinished {
                            id: r.id.clone(),
                            status: r.status,
                            duration: r.duration,
                        });
                    }
                    x.done[i] = Some(r);
                }
                None => to_run.push(i),
            }
        }
        for &i in &to_run {
            for k in 0..x.entries[i].deps.len() {
                let d = x.entries[i].deps[k];
                if x.done[d].is_none() {
                    x.waiting[i] += 1;
                    x.dependents[d].push(i);
                }
            }
        }
        x.unblocked = to_run.iter().copied().filter(|&i| x.waiting[i] == 0).collect();

        let mut tasks: JoinSet<TaskOut> = JoinSet::new();
        let mut cancelled = false;
        let on_cancel = cancel.cancelled();
        tokio::pin!(on_cancel);
        loop {
            x.release();
            // Start probes up to the concurrency limit; one at a time beside an item with side
            // effects.
            let cap = if x.solo.is_some_and(|i| x.done[i].is_none()) { 1 } else { self.concurrency };
            while tasks.len() < cap && !cancel.is_cancelled() {
                let Some((i, p)) = x.ready.pop_front() else { break };
                let iu = i as usize;
                if deadline.is_some_and(|d| Instant::now() >= d) && x.running[iu].is_none() {
                    // Not started: drop its other queued probes too.
                    x.ready.retain(|&(j, _)| j != i);
                    let r =
                        skipped(&x.entries[iu], SkipKind::Cancelled, "run deadline passed before the item ran".into());
                    x.settle(iu, r);
                    continue;
                }
                x.spawn(&mut tasks, i, p, deadline);
            }
            if tasks.is_empty() {
                if x.ready.is_empty() && x.unblocked.is_empty() {
                    // Everything else finished: the next item with side effects runs alone.
                    if !cancel.is_cancelled()
                        && let Some(i) = x.exclusive.pop_front()
                    {
                        x.solo = Some(i);
                        x.queue(i);
                        continue;
                    }
                    break;
                }
                if cancel.is_cancelled() {
                    cancelled = true;
                    break;
                }
                continue;
            }
            let joined = tokio::select! {
                biased;
                () = &mut on_cancel => {
                    cancelled = true;
                    break;
                }
                j = tasks.join_next() => j,
            };
            if let Some(joined) = joined {
                x.joined(joined);
            }
            // Collect whatever else finished meanwhile without another trip through `select!`
            // (which polls the cancellation future each time); new probes start once the
            // batch is recorded, concurrency permitting.
            while let Some(joined) = tasks.try_join_next() {
                x.joined(joined);
            }
        }

        if cancelled {
            // Finished tasks keep their results; the others are aborted and become "cancelled".
            tasks.abort_all();
            while let Some(joined) = tasks.join_next().await {
                x.joined(joined);
            }
            for i in 0..n {
                if let Some(state) = x.running[i].take() {
                    x.conclude_running(i, state);
                }
            }
        }
        // Whatever is left never ran: cancelled, or caught in a dependency cycle.
        for i in 0..n {
            if x.done[i].is_none() {
                let e = &x.entries[i];
                let r = if cancelled {
                    skipped(e, SkipKind::Cancelled, "cancelled before the item ran".into())
                } else {
                    skeleton(e, Status::Error, "dependency cycle: the item waits on itself".into())
                };
                if emit {
                    self.observers.emit(RunEvent::ItemFinished {
                        id: r.id.clone(),
                        status: r.status,
                        duration: r.duration,
                    });
                }
                x.done[i] = Some(r);
            }
        }

        let items: Vec<ItemReport> = x.done.into_iter().flatten().collect();
        let checklist = plan.checklist();
        let mut report = Report::new(
            checklist.id.clone(),
            checklist.title.clone(),
            started_at,
            self.clock.now(),
            started.elapsed(),
            items,
        )
        .with_sign_off(checklist.sign_off.clone());
        report.set_policy(self.fail_on_warn, self.allow_unverified, self.min_verified, cancelled);
        if let Some(sel) = &self.only {
            let unmatched: Vec<String> =
                sel.iter().zip(&matched).filter(|(_, m)| !**m).map(|(s, _)| s.clone()).collect();
            if !unmatched.is_empty() {
                report.set_unmatched_selectors(unmatched);
            }
        }
        if emit {
            self.observers.emit(RunEvent::Finished { summary: report.summary().clone() });
        }
        report
    }
}

impl Runner {
    /// The report of a run that had to be abandoned (it did not stop at its deadline): every
    /// item Skipped "cancelled" with `reason`, the run marked cancelled, not ready.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn abandoned(&self, plan: &Plan, reason: &str) -> Report {
        let now = self.clock.now();
        let items: Vec<ItemReport> =
            entries(plan).iter().map(|e| skipped(e, SkipKind::Cancelled, reason.to_string())).collect();
        let checklist = plan.checklist();
        let mut report = Report::new(checklist.id.clone(), checklist.title.clone(), now, now, Duration::ZERO, items)
            .with_sign_off(checklist.sign_off.clone());
        report.set_policy(self.fail_on_warn, self.allow_unverified, self.min_verified, true);
        report
    }
}

#[allow(dead_code)]
fn _assert_send(runner: &Runner, plan: &Plan) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&runner.run(plan));
}
