//! The event store port: the one interface every adapter implements and the contract suite checks.
//!
//! Shaped so that KurrentDB's semantics map onto it one to one: per-stream optimistic concurrency with an
//! expected version, a global ordered log with positions, catch-up subscriptions from a checkpoint.
//! A version conflict is a value (`Ok(Err(WrongExpectedVersion))`, as in sled's compare-and-swap); only
//! refusals of input and failures are `Err(StoreError)`.

use std::future::Future;

use crate::envelope::{Appended, ExpectedVersion, NewEvent, RecordedEvent, StreamId, WrongExpectedVersion};
use crate::error::StoreError;
use crate::page::LogPage;

/// The result of an append: a failure, or an answer that is either the outcome or the expected conflict.
pub type AppendResult = Result<Result<Appended, WrongExpectedVersion>, StoreError>;

pub trait EventStore: Clone + Send + Sync + 'static {
    type Subscription: Subscription;

    /// Appends `events` atomically to `stream` if it is at `expected`. Acknowledged only once durable.
    ///
    /// Idempotent: re-appending the same events (same ids, same content) at the same expected version
    /// answers with the original [`Appended`] and writes nothing; the same id with other content is
    /// [`StoreError::EventIdReused`].
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = AppendResult> + Send;

    /// Reads up to `max_count` events of `stream` with versions `>= from_version`, in version order.
    /// A stream that does not exist reads as empty.
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// Reads up to `max_count` events of the global log with positions `>= from_position`, in order.
    ///
    /// Positions strictly increase along the log and are contiguous within one append; they are gapless
    /// in the embedded store, not in the PostgreSQL store (ADR 0015), so page with the last position
    /// read plus one and never count positions. An event this store has acknowledged is in the log
    /// read here (the PostgreSQL store waits, bounded, for an older transaction still running).
    fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// [`EventStore::read_all`] into `page`, replacing what it holds: the events with positions
    /// `>= from_position`, at most `max_count`, possibly fewer (a store may end a page early, at a
    /// segment's end say, but answers at least one event when there is one at or after `from_position`).
    /// A folder that hands the same page back each time reads without an owned event per event.
    fn read_page(
        &self,
        from_position: u64,
        max_count: usize,
        page: &mut LogPage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            let events = self.read_all(from_position, max_count).await?;
            page.fill_from(&events);
            Ok(())
        }
    }

    /// Subscribes to the global log after `checkpoint` (the last position already processed; 0 for
    /// everything): first the stored events, then live ones, in order, without gaps or duplicates (no
    /// event is skipped or repeated; the positions themselves may have gaps, see [`EventStore::read_all`]).
    fn subscribe_all(&self, checkpoint: u64) -> Self::Subscription;

    /// The position of the last durable event a reader of the log can see (0 when the log is empty).
    fn head_position(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A catch-up-then-live subscription to the global log.
pub trait Subscription: Send + 'static {
    /// The next event after the last one returned; waits for it if the subscriber is caught up.
    fn next(&mut self) -> impl Future<Output = Result<RecordedEvent, StoreError>> + Send;

    /// The next events, at least one and at most `max` (taken as 1 when 0): waits like [`next`] for the
    /// first, then adds what the subscription already holds without waiting again. Lets a consumer work
    /// in batches without a second read of what the subscription fetched.
    ///
    /// Both are cancel-safe: a future dropped before it completes has consumed nothing, so a consumer
    /// may `select!` over them (the projector runtime does).
    ///
    /// [`next`]: Subscription::next
    fn next_batch(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        let _ = max;
        async move { Ok(vec![self.next().await?]) }
    }
}
