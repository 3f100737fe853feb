//! The storage edge of the ERP: the event store port, its adapters and the codec.
//!
//! Invariant: this is the only crate that knows how events are laid out on disk or in a store client
//! (the embedded log, PostgreSQL, KurrentDB behind the `kurrentdb` feature).
//! Everything above it (projections, command-api, query-api) speaks the [`port::EventStore`] trait and
//! the [`envelope`] types, never file formats.

pub mod any;
pub mod codec;
mod commit_check;
pub mod embedded;
pub mod envelope;
pub mod error;
pub mod kurrentdb;
pub mod limits;
pub mod migrate;
pub mod page;
pub mod port;
pub mod postgres;
pub mod snapshot;

#[cfg(feature = "kurrentdb")]
pub use crate::kurrentdb::{KurrentConfig, KurrentStore, KurrentSubscription};
pub use any::{AnyStore, AnySubscription};
pub use embedded::{Durability, EmbeddedConfig, EmbeddedStore};
pub use envelope::{
    Appended, ChainHash, Envelope, EventMetadata, EventType, ExpectedVersion, ImportCommit, NewEvent,
    RecordedEvent, StreamId, WrongExpectedVersion,
};
pub use error::StoreError;
pub use page::LogPage;
pub use port::{EventStore, Subscription};
pub use postgres::{PostgresConfig, PostgresStore};

/// BLAKE3 of `bytes`, the hash the log's chain is made of, offered to the edges (the hashes of tokens
/// and of request bodies) so that only infra depends on a hashing crate.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}
