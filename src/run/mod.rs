//! Running a plan: [`Plan`] (checklist + bindings) and the runner.

mod plan;

pub use plan::{Binding, Plan, PlanError};
