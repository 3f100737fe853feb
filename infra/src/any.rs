//! [`AnyStore`]: the store a service was configured with, chosen at start (`erp serve --store`).
//!
//! An enum rather than generics through the service: the GraphQL resolvers reach the store through
//! the schema's data (`Arc<ReadSide>`), which a type parameter would have to follow through every
//! resolver object, and a match per call costs nothing next to a read. The embedded store's own fast
//! paths (`read_page` into a reused buffer, its subscription's batches) are delegated to as they are.

#[cfg(feature = "kurrentdb")]
use crate::KurrentStore;
use crate::embedded::EmbeddedSubscription;
use crate::envelope::{
    Appended, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId, WrongExpectedVersion,
};
use crate::error::StoreError;
#[cfg(feature = "kurrentdb")]
use crate::kurrentdb::KurrentSubscription;
use crate::page::LogPage;
use crate::port::{AppendResult, EventStore, Subscription};
use crate::postgres::PostgresSubscription;
use crate::{EmbeddedStore, PostgresStore};

/// One of the adapters, behind the port.
#[derive(Clone)]
pub enum AnyStore {
    Embedded(EmbeddedStore),
    Postgres(PostgresStore),
    /// Only in a build with the `kurrentdb` feature (ADR 0016).
    #[cfg(feature = "kurrentdb")]
    Kurrent(KurrentStore),
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

#[cfg(feature = "kurrentdb")]
impl From<KurrentStore> for AnyStore {
    fn from(store: KurrentStore) -> Self {
        AnyStore::Kurrent(store)
    }
}

impl AnyStore {
    /// Which adapter this is: `embedded`, `postgres` or `kurrentdb`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Embedded(_) => "embedded",
            AnyStore::Postgres(_) => "postgres",
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(_) => "kurrentdb",
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
            // The namespace on its server. A copy (`erp migrate`) into the same namespace on another
            // server would share the name with other positions: serve a copy under a namespace of its
            // own (ADR 0017).
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => format!("kurrentdb:{}", s.namespace().unwrap_or("")),
        }
    }

    /// Why the store cannot serve, if it cannot: for the embedded store the damage found by its
    /// verification or a writer failure; for PostgreSQL and KurrentDB a cheap query (the log's head)
    /// failing.
    /// `None` for a healthy store.
    pub async fn damage(&self) -> Option<String> {
        match self {
            AnyStore::Embedded(s) => s.damage(),
            AnyStore::Postgres(s) => s.head_position().await.err().map(|e| e.to_string()),
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.head_position().await.err().map(|e| e.to_string()),
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
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.import(&commits).await,
        }
    }

    /// Closes the store: the embedded store stops taking appends and writes its index checkpoint; the
    /// PostgreSQL and KurrentDB stores have nothing to write (their connections close when the last
    /// clone is dropped).
    pub fn close(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.close(),
            AnyStore::Postgres(_) => Ok(()),
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(_) => Ok(()),
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
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.append(stream, expected, events).await,
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
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.read_stream(stream, from_version, max_count).await,
        }
    }

    async fn read_all(&self, from_position: u64, max_count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.read_all(from_position, max_count).await,
            AnyStore::Postgres(s) => s.read_all(from_position, max_count).await,
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.read_all(from_position, max_count).await,
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
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.read_page(from_position, max_count, page).await,
        }
    }

    fn subscribe_all(&self, checkpoint: u64) -> AnySubscription {
        match self {
            AnyStore::Embedded(s) => AnySubscription::Embedded(s.subscribe_all(checkpoint)),
            AnyStore::Postgres(s) => AnySubscription::Postgres(s.subscribe_all(checkpoint)),
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => AnySubscription::Kurrent(s.subscribe_all(checkpoint)),
        }
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.head_position().await,
            AnyStore::Postgres(s) => s.head_position().await,
            #[cfg(feature = "kurrentdb")]
            AnyStore::Kurrent(s) => s.head_position().await,
        }
    }
}

/// The subscription of an [`AnyStore`].
pub enum AnySubscription {
    Embedded(EmbeddedSubscription),
    Postgres(PostgresSubscription),
    #[cfg(feature = "kurrentdb")]
    Kurrent(KurrentSubscription),
}

impl Subscription for AnySubscription {
    async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        match self {
            AnySubscription::Embedded(s) => s.next().await,
            AnySubscription::Postgres(s) => s.next().await,
            #[cfg(feature = "kurrentdb")]
            AnySubscription::Kurrent(s) => s.next().await,
        }
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            AnySubscription::Embedded(s) => s.next_batch(max).await,
            AnySubscription::Postgres(s) => s.next_batch(max).await,
            #[cfg(feature = "kurrentdb")]
            AnySubscription::Kurrent(s) => s.next_batch(max).await,
        }
    }
}
