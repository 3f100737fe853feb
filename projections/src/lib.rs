//! Read models as pure folds over the event log, and the runtime that keeps them current.
//!
//! Invariant: projections never emit events and never write to the log; each read model is a fold
//! (`apply(&mut self, &event)`) with no I/O. The runtime (`runtime.rs`) is the one place that reads the
//! log and writes snapshots.

pub mod arena;
pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod fact;
pub mod ledger;
pub mod open_items;
pub mod per_book;
pub mod postings;
pub mod process_metrics;
pub mod reports;
pub mod runtime;
pub mod stock;

/// The id in a stream named `<prefix><uuid>` (the aggregates' `X::stream(id)`), or `None` for another
/// stream: read models that fold events without an id in their payload find the document this way.
pub(crate) fn id_in(stream: &str, prefix: &str) -> Option<uuid::Uuid> {
    stream.strip_prefix(prefix).and_then(|id| uuid::Uuid::parse_str(id).ok())
}
