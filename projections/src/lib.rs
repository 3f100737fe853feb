//! Read models as pure folds over the event log, and the runtime that keeps them current.
//!
//! Invariant: projections never emit events and never write to the log. Nothing is here yet beyond this
//! note: the projector runtime and the read models arrive with the read-side issue.
