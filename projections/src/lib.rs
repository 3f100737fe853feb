//! Read models as pure folds over the event log, and the runtime that keeps them current.
//!
//! Invariant: projections never emit events and never write to the log; each read model is a fold
//! (`apply(&mut self, &event)`) with no I/O. The runtime (`runtime.rs`) is the one place that reads the
//! log and writes snapshots.

pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod ledger;
pub mod open_items;
pub mod process_metrics;
pub mod reports;
pub mod runtime;
pub mod stock;
