//! The checklist model: plain data, serde both ways, no I/O.
//!
//! A [`Checklist`] holds [`Section`]s (nested two levels in the source document), each holding
//! [`Item`]s with a stable [`ItemId`], a [`Severity`], an [`Applicability`] and the way the item
//! is verified. The capacity table becomes [`Threshold`]s, the recommended alerts become
//! [`AlertRule`]s, the rollback plan becomes [`RollbackStep`]s and the sign-off table becomes
//! [`SignOff`]s.
//!
//! ```
//! use nexus_readiness::model::{Checklist, Item, Phase, Section, Severity};
//!
//! let checklist = Checklist::builder("demo", "Demo checklist")
//!     .section(
//!         Section::new("Pre-Deployment")
//!             .phase(Phase::PreDeployment)
//!             .item(Item::new("TLS certificates valid").severity(Severity::Blocker)),
//!     )
//!     .build()?;
//! let item = checklist.item("pre-deployment.tls-certificates-valid").unwrap();
//! assert_eq!(item.severity, Severity::Blocker);
//! # Ok::<(), nexus_readiness::model::ModelError>(())
//! ```

mod binding;
mod checklist;
mod document;
pub mod duration;
mod error;
mod id;
mod item;
mod threshold;

pub use binding::Binding;
pub use checklist::{AlertRule, Checklist, ChecklistBuilder, Comparison, Condition, RollbackStep, SignOff};
pub use document::{Part, Passage, Syntax};
pub use error::ModelError;
pub use id::{ItemId, slugify};
pub use item::{Applicability, Block, Item, Phase, Section, Severity, Verification};
pub use threshold::{Direction, Evaluation, Level, Threshold, Unit};
