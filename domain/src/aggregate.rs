//! The shape of every aggregate: two pure functions (style.md §3).
//!
//! `decide` holds every business rule and answers with new events or a rejection; `evolve` only applies
//! facts and must accept every event ever written. Neither does I/O, reads a clock or draws an id.

use crate::command::{CommandMeta, Rejection};
use crate::event::DomainEvent;

pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    type Command: Send + Sync;
    type Event: DomainEvent + Clone + std::fmt::Debug + PartialEq + Send + Sync;
    type Rejection: Rejection;

    /// The stream a command addresses: the aggregate's identity.
    fn stream_id(command: &Self::Command) -> String;

    /// Applies one fact to the state.
    fn evolve(&mut self, event: &Self::Event);

    /// Decides what a command means given the state: events to record, or a rejection.
    fn decide(
        &self,
        command: &Self::Command,
        meta: &CommandMeta,
    ) -> Result<Vec<Self::Event>, Self::Rejection>;

    /// Folds events into a state from the default.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        let mut state = Self::default();
        for event in events {
            state.evolve(event);
        }
        state
    }
}
