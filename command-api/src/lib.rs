//! The write side: the command bus (load → decide → append, bounded retry on conflict), the
//! process-manager runner, the application services of commands that span aggregates (sales claims,
//! purchase-order checks, stock documents, returns), and the HTTP command endpoints.
//!
//! Invariant: the only crate that knows the command API's HTTP. Business rules stay in `domain`;
//! storage stays behind `infra::EventStore`.

pub mod bus;
pub mod finance;
pub mod http;
pub mod inventory;
pub mod process;
pub mod production;
pub mod purchasing;
pub mod returns;
pub mod sales;

pub use bus::{BusError, CommandBus, Executed};
pub use process::{Dispatch, DispatchOutcome, FileCheckpoints, ProcessRunner, RunnerError, RunnerStats};
