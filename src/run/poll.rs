use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Plan;
use super::runner::{Runner, entries};
use crate::report::{Report, SkipKind, Status};

/// How [`Runner::wait_until_ready`] polls, with Kubernetes-probe semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// Wait this long before the first round (default 0).
    pub initial_delay: Duration,
    /// Time between rounds (default 10s).
    pub period: Duration,
    /// Consecutive passes a gating item needs (default 1).
    pub success_threshold: u32,
    /// Consecutive failures (Fail or Error) of one gating item after which polling gives up
    /// (default 3, as in Kubernetes; raise it for slow rollouts).
    pub failure_threshold: u32,
    /// Overall time limit; the last report is returned when it passes (default 5 minutes).
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            success_threshold: 1,
            failure_threshold: 3,
            timeout: Duration::from_secs(300),
        }
    }
}

impl PollPolicy {
    /// The defaults with this period and timeout.
    pub fn new(period: Duration, timeout: Duration) -> Self {
        PollPolicy { period, timeout, ..PollPolicy::default() }
    }

    /// Sets the initial delay.
    pub fn initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets the success threshold (at least 1).
    pub fn success_threshold(mut self, n: u32) -> Self {
        self.success_threshold = n.max(1);
        self
    }

    /// Sets the failure threshold (at least 1).
    pub fn failure_threshold(mut self, n: u32) -> Self {
        self.failure_threshold = n.max(1);
        self
    }
}

impl Runner {
    /// Runs the plan, then re-runs the items that do not pass every `period` until every
    /// gating item passed `success_threshold` times in a row and the report is ready, the
    /// timeout passes, or a gating item failed `failure_threshold` times in a row. Returns the
    /// last report (each item with its latest outcome).
    ///
    /// Polling also stops early when what blocks readiness is something no probe can change
    /// (a Pending attestation).
    pub async fn wait_until_ready(&self, plan: &Plan, policy: PollPolicy) -> Report {
        self.wait_until_ready_with_cancel(plan, policy, CancellationToken::new()).await
    }

    /// [`wait_until_ready`](Self::wait_until_ready) that stops when `cancel` fires.
    pub async fn wait_until_ready_with_cancel(
        &self,
        plan: &Plan,
        policy: PollPolicy,
        cancel: CancellationToken,
    ) -> Report {
        let t0 = Instant::now();
        let deadline = t0 + policy.timeout;
        let started_at = self.clock.now();
        let success_threshold = policy.success_threshold.max(1);
        let failure_threshold = policy.failure_threshold.max(1);
        let pollable: Vec<bool> = entries(plan).iter().map(|e| e.has_probes()).collect();
        let n = pollable.len();

        if !policy.initial_delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(policy.initial_delay.min(policy.timeout)) => {}
                () = cancel.cancelled() => {}
            }
        }
        let round_deadline = |now: Instant| {
            let d = self.deadline.map_or(deadline, |rd| (now + rd).min(deadline));
            Some(d)
        };
        let mut successes = vec![0u32; n];
        let mut failures = vec![0u32; n];
        let mut mask = vec![true; n];
        let mut report = self.execute(plan, &cancel, None, round_deadline(Instant::now())).await;
        let mut round = 1u32;
        loop {
            for (i, item) in report.items().iter().enumerate() {
                if !mask[i] || !pollable[i] {
                    continue;
                }
                let passed = match item.status {
                    Status::Pass => true,
                    Status::Warn => !report.fail_on_warn(),
                    _ => false,
                };
                if passed {
                    successes[i] += 1;
                    failures[i] = 0;
                } else if matches!(item.status, Status::Fail | Status::Error)
                    || item.waived_status.is_some_and(|s| matches!(s, Status::Fail | Status::Error))
                {
                    failures[i] += 1;
                    successes[i] = 0;
                } else {
                    successes[i] = 0;
                }
            }
            let unsettled = |i: usize| -> bool {
                let item = &report.items()[i];
                let fixed = matches!(
                    item.skip,
                    Some(
                        SkipKind::NotConfigured
                            | SkipKind::NotApplicable
                            | SkipKind::PhaseNotRun
                            | SkipKind::NotSelected
                    )
                );
                pollable[i] && item.gating && !fixed && successes[i] < success_threshold
            };
            let all_settled = (0..n).all(|i| !unsettled(i));
            tracing::debug!(round, ready = report.ready(), all_settled, "readiness poll round");
            if report.cancelled() || (report.ready() && all_settled) {
                break;
            }
            if report
                .items()
                .iter()
                .enumerate()
                .any(|(i, it)| it.gating && pollable[i] && failures[i] >= failure_threshold)
            {
                break;
            }
            // Blocked by something no probe can change (a pending attestation, an `only`
            // selector that matches no item, no gating item in the run).
            if !report.unmatched_selectors().is_empty()
                || !report.gates_anything()
                || report.items().iter().enumerate().any(|(i, it)| !pollable[i] && it.blocks())
            {
                break;
            }
            if crate::probe::instant_after(policy.period) >= deadline {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(policy.period) => {}
                () = cancel.cancelled() => break,
            }
            for i in 0..n {
                let item = &report.items()[i];
                let passed =
                    matches!(item.status, Status::Pass) || (item.status == Status::Warn && !report.fail_on_warn());
                mask[i] = pollable[i] && (!passed || unsettled(i));
            }
            report = self.execute(plan, &cancel, Some((&mask, &report)), round_deadline(Instant::now())).await;
            round += 1;
        }
        report.started = started_at;
        report.finished = self.clock.now();
        report.duration = t0.elapsed();
        report
    }
}
