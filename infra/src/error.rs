//! Errors of the event store, each with a stable machine code.
//!
//! Three kinds, never mixed (style.md §6): a version conflict is not here at all (it is the value
//! [`crate::WrongExpectedVersion`]); invalid input is a refusal with a code the caller can act on; I/O trouble
//! and corruption are failures. Codes are part of the API: never rename one.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("invalid stream id: {reason}")]
    InvalidStreamId { reason: String },

    #[error("invalid event type {name:?}: {reason}")]
    InvalidEventType { name: String, reason: String },

    #[error("invalid metadata: {reason}")]
    InvalidMetadata { reason: String },

    #[error("an append needs at least one event")]
    EmptyAppend,

    #[error("an append holds {count} events, more than the limit of {max}")]
    TooManyEvents { count: usize, max: usize },

    #[error("event {index} of the append has a payload of {size} bytes, more than the limit of {max}")]
    EventTooLarge { index: usize, size: usize, max: usize },

    #[error("the append encodes to {size} bytes, more than the limit of {max}")]
    AppendTooLarge { size: usize, max: usize },

    #[error("event id {event_id} appears twice in one append")]
    DuplicateEventId { event_id: uuid::Uuid },

    #[error(
        "event id {event_id} is already stored at version {version} of stream {stream} as another event \
         (other content, or another append); an event id names one event forever"
    )]
    EventIdReused { event_id: uuid::Uuid, stream: String, version: u64 },

    #[error(
        "the store is overloaded: no room in the writer queue or no free database connection for \
         {waited_ms} ms; retry later"
    )]
    Overloaded { waited_ms: u64 },

    #[error(
        "stream {stream} is contended: {attempts} appends in a row lost the race for its next version; \
         retry later"
    )]
    Contended { stream: String, attempts: u32 },

    #[error("the store is closed")]
    Closed,

    #[error(
        "the store stopped accepting writes after a failed write ({reason}); restart it so recovery can run"
    )]
    Poisoned { reason: String },

    #[error("data directory {} is in use by another process (lock file {})", dir.display(), lock.display())]
    DataDirLocked { dir: PathBuf, lock: PathBuf },

    #[error("corrupt log: segment {segment}, offset {offset}: {reason}")]
    Corrupt { segment: String, offset: u64, reason: String },

    #[error("cannot decode event: {reason}")]
    Decode { reason: String },

    #[error("read limit exceeded: {requested} events requested, at most {max} per call")]
    ReadTooLarge { requested: usize, max: usize },

    /// A store's setting is out of its range (the operator's input, refused before anything connects).
    #[error("invalid store setting {setting}: {reason}")]
    InvalidSetting { setting: &'static str, reason: String },

    #[error("database: {context}: {reason}")]
    Database { context: String, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidStreamId { .. } => "store.invalid_stream_id",
            StoreError::InvalidEventType { .. } => "store.invalid_event_type",
            StoreError::InvalidMetadata { .. } => "store.invalid_metadata",
            StoreError::EmptyAppend => "store.empty_append",
            StoreError::TooManyEvents { .. } => "store.too_many_events",
            StoreError::EventTooLarge { .. } => "store.event_too_large",
            StoreError::AppendTooLarge { .. } => "store.append_too_large",
            StoreError::DuplicateEventId { .. } => "store.duplicate_event_id",
            StoreError::EventIdReused { .. } => "store.event_id_reused",
            StoreError::Overloaded { .. } => "store.overloaded",
            StoreError::Contended { .. } => "store.contended",
            StoreError::Closed => "store.closed",
            StoreError::Poisoned { .. } => "store.poisoned",
            StoreError::DataDirLocked { .. } => "store.data_dir_locked",
            StoreError::Corrupt { .. } => "store.corrupt",
            StoreError::Decode { .. } => "store.decode",
            StoreError::ReadTooLarge { .. } => "store.read_too_large",
            StoreError::InvalidSetting { .. } => "store.invalid_setting",
            StoreError::Database { .. } => "store.database",
            StoreError::Io { .. } => "store.io",
        }
    }

    /// True for refusals of the caller's input (a client error), false for failures of the store.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            StoreError::InvalidStreamId { .. }
                | StoreError::InvalidEventType { .. }
                | StoreError::InvalidMetadata { .. }
                | StoreError::EmptyAppend
                | StoreError::TooManyEvents { .. }
                | StoreError::EventTooLarge { .. }
                | StoreError::AppendTooLarge { .. }
                | StoreError::DuplicateEventId { .. }
                | StoreError::EventIdReused { .. }
                | StoreError::ReadTooLarge { .. }
                | StoreError::InvalidSetting { .. }
        )
    }

    /// A failure of the database behind the store (PostgreSQL) with what was being done.
    pub fn database(context: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        StoreError::Database { context: context.into(), reason: reason.to_string() }
    }

    /// An I/O failure with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io { context: context.into(), source }
    }
}
