//! The write side: the command bus (load → decide → append, bounded retry on conflict); later the
//! process-manager runner and the HTTP command endpoints.
//!
//! Invariant: the only crate that knows HTTP (once it has endpoints). Business rules stay in `domain`;
//! storage stays behind `infra::EventStore`.

pub mod bus;
pub mod process;
pub mod sales;

pub use bus::{BusError, CommandBus, Executed};
pub use process::{Dispatch, DispatchOutcome, FileCheckpoints, ProcessRunner, RunnerError, RunnerStats};
