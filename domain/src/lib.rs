//! Pure business logic of the ERP.
//!
//! Invariant: nothing here performs I/O, reads a clock or draws a random number. Time and identifiers
//! arrive with the command; the crate depends only on serde, rust_decimal, uuid and thiserror, and a test in
//! `tests/` fails the build if that ever changes.

pub mod ids;
pub mod time;

pub use ids::{BookId, CommandId, EventId};
pub use time::Timestamp;
