//! The write side: the command bus (load → decide → append, bounded retry on conflict), the
//! process-manager runner, the application services of commands that span aggregates (sales claims,
//! purchase-order checks), and later the HTTP command endpoints.
//!
//! Invariant: the only crate that knows HTTP (once it has endpoints). Business rules stay in `domain`;
//! storage stays behind `infra::EventStore`.

pub mod bus;
pub mod finance;
pub mod http;
pub mod process;
pub mod production;
pub mod purchasing;
pub mod sales;

pub use bus::{BusError, CommandBus, Executed};
pub use process::{Dispatch, DispatchOutcome, FileCheckpoints, ProcessRunner, RunnerError, RunnerStats};
