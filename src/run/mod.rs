//! Running a plan: [`Plan`] (checklist + bindings) and the [`Runner`].
//!
//! The runner executes a plan the way a deploy gate needs: independent probes concurrently up
//! to a limit, dependent items after their dependencies, every probe cut at its timeout, panics
//! contained, cancellation honoured, secrets scrubbed; it returns a
//! [`Report`](crate::report::Report). [`Runner::wait_until_ready`] polls until ready with
//! Kubernetes-probe semantics ([`PollPolicy`]). [`RunEvent`]s report progress.

mod events;
mod plan;
mod poll;
mod runner;

pub use events::{RunEvent, RunObserver};
pub use plan::{Binding, Plan, PlanError};
pub use poll::PollPolicy;
pub use runner::{Runner, RunnerBuilder};
