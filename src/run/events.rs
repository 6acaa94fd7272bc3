use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::ItemId;
use crate::report::{Status, Summary};

/// What happens during a run, for progress bars and logs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RunEvent {
    /// A run (or a polling round) starts over `items` items.
    Started {
        /// The checklist's id.
        checklist: String,
        /// Number of items that will get an outcome.
        items: usize,
    },
    /// An item's first probe starts.
    ItemStarted {
        /// The item.
        id: ItemId,
    },
    /// An item has its outcome (also sent for items that never ran: skipped, attested...).
    ItemFinished {
        /// The item.
        id: ItemId,
        /// Its outcome.
        status: Status,
        /// Its probes' wall time.
        duration: Duration,
    },
    /// The run is over.
    Finished {
        /// Counts per status.
        summary: Summary,
    },
}

/// Receives [`RunEvent`]s as they happen. Called on the runner's task: keep it quick.
///
/// Implemented for closures `Fn(&RunEvent)` and for `tokio::sync::mpsc::UnboundedSender<RunEvent>`.
pub trait RunObserver: Send + Sync {
    /// One event.
    fn on_event(&self, event: &RunEvent);
}

impl<F: Fn(&RunEvent) + Send + Sync> RunObserver for F {
    fn on_event(&self, event: &RunEvent) {
        self(event);
    }
}

impl RunObserver for mpsc::UnboundedSender<RunEvent> {
    fn on_event(&self, event: &RunEvent) {
        // A dropped receiver only means nobody listens any more.
        let _ = self.send(event.clone());
    }
}

pub(crate) struct Observers(pub(crate) Vec<Box<dyn RunObserver>>);

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} observers", self.0.len())
    }
}

impl Observers {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn emit(&self, event: RunEvent) {
        for o in &self.0 {
            o.on_event(&event);
        }
    }
}
