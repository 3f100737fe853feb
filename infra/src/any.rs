//! [`AnyStore`]: the store a service was configured with, chosen at start (`erp serve --store`).
//!
//! An enum rather than generics through the service: the GraphQL resolvers reach the store through
//! the schema's data (`Arc<ReadSide>`), which a type parameter would have to follow through every
//! resolver object, and a match per call costs nothing next to a read. The embedded store's own fast
//! paths (`read_page` into a reused buffer, its subscription's batches) are delegated to as they are.

use crate::embedded::EmbeddedSubscription;
use crate::envelope::{
    Appended, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId, WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::page::LogPage;
use crate::port::{AppendResult, EventStore, Subscription};
use crate::postgres::PostgresSubscription;
use crate::{EmbeddedStore, PostgresStore};

/// One of the adapters, behind the port.
#[derive(Clone)]
pub enum AnyStore {
    Embedded(EmbeddedStore),
    Postgres(PostgresStore),
}

impl From<EmbeddedStore> for AnyStore {
    fn from(store: EmbeddedStore) -> Self {
        AnyStore::Embedded(store)
    }
}

impl From<PostgresStore> for AnyStore {
    fn from(store: PostgresStore) -> Self {
        AnyStore::Postgres(store)
    }
}

impl AnyStore {
    /// Which adapter this is: `embedded` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Embedded(_) => "embedded",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Which log this is, for what is derived from its positions (read-model snapshots, process
    /// checkpoints): `embedded` for the log in a service's own data directory, `postgres:<id>` for a
    /// PostgreSQL store (its identity, minted when it was made). Two stores with one identity number
    /// their events the same way.
    pub fn identity(&self) -> String {
        match self {
            AnyStore::Embedded(_) => "embedded".to_string(),
            AnyStore::Postgres(s) => format!("postgres:{}", s.identity()),
        }
    }

    /// Why the store cannot serve, if it cannot: for the embedded store the damage found by its
    /// verification or a writer failure; for PostgreSQL a cheap query (the log's head) failing.
    /// `None` for a healthy store.
    pub async fn damage(&self) -> Option<String> {
        match self {
            AnyStore::Embedded(s) => s.damage(),
            AnyStore::Postgres(s) => s.head_position().await.err().map(|e| e.to_string()),
        }
    }

    /// Appends commits copied from another log, in order, each keeping its recording time (`erp
    /// migrate`, ADR 0017); answers each commit's outcome in order, stopping at or soon after the first
    /// conflict.
    pub async fn import(
        &self,
        commits: Vec<ImportCommit>,
    ) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.import(commits).await,
            AnyStore::Postgres(s) => s.import(&commits).await,
        }
    }

    /// Closes the store: the embedded store stops taking appends and writes its index checkpoint; the
    /// PostgreSQL store has nothing to write (its connections close when the last clone is dropped).
    pub fn close(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.close(),
            AnyStore::Postgres(_) => Ok(()),
        }
    }
}

impl EventStore for AnyStore {
    type Subscription = AnySubscription;

    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> AppendResult {
        match self {
            AnyStore::Embedded(s) => s.append(stream, expected, events).await,
            AnyStore::Postgres(s) => s.append(stream, expected, events).await,
        }
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.read_stream(stream, from_version, max_count).await,
            AnyStore::Postgres(s) => s.read_stream(stream, from_version, max_count).await,
        }
    }

    async fn read_all(&self, from_position: u64, max_count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.read_all(from_position, max_count).await,
            AnyStore::Postgres(s) => s.read_all(from_position, max_count).await,
        }
    }

    async fn read_page(
        &self,
        from_position: u64,
        max_count: usize,
        page: &mut LogPage,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.read_page(from_position, max_count, page).await,
            AnyStore::Postgres(s) => s.read_page(from_position, max_count, page).await,
        }
    }

    fn subscribe_all(&self, checkpoint: u64) -> AnySubscription {
        match self {
            AnyStore::Embedded(s) => AnySubscription::Embedded(s.subscribe_all(checkpoint)),
            AnyStore::Postgres(s) => AnySubscription::Postgres(s.subscribe_all(checkpoint)),
        }
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.head_position().await,
            AnyStore::Postgres(s) => s.head_position().await,
        }
    }
}

/// The subscription of an [`AnyStore`].
pub enum AnySubscription {
    Embedded(EmbeddedSubscription),
    Postgres(PostgresSubscription),
}

impl Subscription for AnySubscription {
    async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        match self {
            AnySubscription::Embedded(s) => s.next().await,
            AnySubscription::Postgres(s) => s.next().await,
        }
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            AnySubscription::Embedded(s) => s.next_batch(max).await,
            AnySubscription::Postgres(s) => s.next_batch(max).await,
        }
    }
}
