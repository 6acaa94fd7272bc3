use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::{ProbeError, Redactor};
use crate::model::ItemId;

/// A source of wall-clock time. Probes read "now" from the context's clock so time-dependent
/// verdicts (certificate expiry, backup freshness, waiver expiry) are testable.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where it is set, for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every probe of one run shares: cancellation, clock, redactor. One `Arc` per context
/// instead of three handles keeps the runner's per-probe cost low (no lock to clone a
/// cancellation token, one reference count shared across threads).
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) cancel: CancellationToken,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) redactor: Arc<Redactor>,
}

/// What a probe gets for one check: deadline, cancellation, attempt number, clock.
#[derive(Clone)]
pub struct ProbeContext {
    item: Option<ItemId>,
    deadline: Option<Instant>,
    attempt: u32,
    attempts: Arc<AtomicU32>,
    shared: Arc<Shared>,
}

impl fmt::Debug for ProbeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeContext")
            .field("item", &self.item)
            .field("deadline", &self.deadline)
            .field("cancelled", &self.shared.cancel.is_cancelled())
            .field("attempt", &self.attempt)
            .field("clock", &self.shared.clock)
            .finish()
    }
}

impl Default for ProbeContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeContext {
    /// A context with no deadline, the system clock, attempt 1.
    pub fn new() -> Self {
        ProbeContext {
            item: None,
            deadline: None,
            attempt: 1,
            attempts: Arc::new(AtomicU32::new(1)),
            shared: Arc::new(Shared {
                cancel: CancellationToken::new(),
                clock: Arc::new(SystemClock),
                redactor: Arc::new(Redactor::new()),
            }),
        }
    }

    /// A context for one probe run by the runner, built without the throwaway defaults of
    /// [`new`](Self::new) (the runner makes one per probe).
    pub(crate) fn for_probe(item: ItemId, deadline: Instant, shared: Arc<Shared>) -> Self {
        ProbeContext {
            item: Some(item),
            deadline: Some(deadline),
            attempt: 1,
            attempts: Arc::new(AtomicU32::new(1)),
            shared,
        }
    }

    /// Sets the item being checked.
    pub fn with_item(mut self, item: ItemId) -> Self {
        self.item = Some(item);
        self
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the deadline `d` from now, keeping an earlier one.
    pub fn with_timeout(mut self, d: Duration) -> Self {
        let new = instant_after(d);
        self.deadline = Some(self.deadline.map_or(new, |old| old.min(new)));
        self
    }

    /// Sets the cancellation token.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        Arc::make_mut(&mut self.shared).cancel = token;
        self
    }

    /// Sets the attempt number (1 for the first try). The highest attempt number set on a
    /// context or its clones is what [`attempts`](Self::attempts) reports.
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self.attempts.fetch_max(attempt, Ordering::Relaxed);
        self
    }

    /// The highest attempt number made with this context or its clones (the runner reports it
    /// as the probe's attempts).
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        Arc::make_mut(&mut self.shared).clock = clock;
        self
    }

    /// Sets the redactor holding the plan's secrets.
    pub fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        Arc::make_mut(&mut self.shared).redactor = redactor;
        self
    }

    /// The item being checked, when run by the runner.
    pub fn item(&self) -> Option<&ItemId> {
        self.item.as_ref()
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left until the deadline (`None` without a deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The smaller of `d` and the time left.
    pub fn budget(&self, d: Duration) -> Duration {
        self.remaining().map_or(d, |r| r.min(d))
    }

    /// The cancellation token.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.shared.cancel
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancel.is_cancelled()
    }

    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The current time on the context's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// The redactor with the plan's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.shared.redactor
    }

    /// Runs `fut` until it finishes, the deadline passes or the run is cancelled.
    ///
    /// # Errors
    /// [`ProbeError::timeout`] past the deadline, [`ProbeError::cancelled`] on cancellation.
    pub async fn run<F, T>(&self, fut: F) -> Result<T, ProbeError>
    where
        F: std::future::Future<Output = T>,
    {
        let started = Instant::now();
        let sleep = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            v = fut => Ok(v),
            () = sleep => Err(ProbeError::timeout(started.elapsed())),
            () = self.shared.cancel.cancelled() => Err(ProbeError::cancelled()),
        }
    }
}

/// `d` from now, saturating: a duration too large for the clock (`Duration::MAX`, a timeout of
/// centuries) means "never" in practice, about thirty years away, not a panic.
pub(crate) fn instant_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 86_400))).unwrap_or(now)
}
