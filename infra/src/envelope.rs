//! The envelope: what the store records around every event, and the values an append speaks in.
//!
//! Fields (docs/ARCHITECTURE.md, "The log"): global position, stream id, stream version, event id, event
//! type with its schema version, tenant (book), actor, command id, correlation id, causation id, business
//! time (`occurred_at`), recording time (`recorded_at`), payload bytes and the hash-chain link.
//! Values that exist are valid: [`StreamId`] and [`EventType`] can only be built through checks.

use std::fmt;
use std::sync::Arc;

use domain::{BookId, CommandId, EventId, Timestamp};
use uuid::Uuid;

use crate::error::StoreError;
use crate::limits;

/// A stream id: 1..=256 bytes of UTF-8 without control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

impl StreamId {
    pub fn new(id: impl AsRef<str>) -> Result<Self, StoreError> {
        let id = id.as_ref();
        if id.is_empty() {
            return Err(StoreError::InvalidStreamId { reason: "it is empty".into() });
        }
        if id.len() > limits::STREAM_ID_BYTES_MAX {
            return Err(StoreError::InvalidStreamId {
                reason: format!("it is {} bytes long, more than {}", id.len(), limits::STREAM_ID_BYTES_MAX),
            });
        }
        if id.chars().any(char::is_control) {
            return Err(StoreError::InvalidStreamId { reason: "it contains a control character".into() });
        }
        Ok(StreamId(Arc::from(id)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_arc(id: Arc<str>) -> Self {
        StreamId(id)
    }

    pub(crate) fn arc(&self) -> &Arc<str> {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", &*self.0)
    }
}

/// An event type name with its schema version, e.g. `sales.OrderPlaced` v1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventType {
    name: Arc<str>,
    version: u16,
}

impl EventType {
    /// Names are `<module>.<EventName>`: ASCII letters, digits, `.`, `_` and `-`; versions start at 1.
    pub fn new(name: impl AsRef<str>, version: u16) -> Result<Self, StoreError> {
        let name = name.as_ref();
        let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if name.is_empty() || name.len() > limits::EVENT_TYPE_BYTES_MAX || !valid_chars {
            return Err(StoreError::InvalidEventType {
                name: name.chars().take(limits::EVENT_TYPE_BYTES_MAX).collect(),
                reason: format!(
                    "a type name is 1 to {} ASCII letters, digits, '.', '_' or '-'",
                    limits::EVENT_TYPE_BYTES_MAX
                ),
            });
        }
        if version == 0 {
            return Err(StoreError::InvalidEventType {
                name: name.into(),
                reason: "schema versions start at 1".into(),
            });
        }
        Ok(EventType { name: Arc::from(name), version })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    pub(crate) fn from_parts(name: Arc<str>, version: u16) -> Self {
        EventType { name, version }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// Who did what, for whom, when and why: everything about an event except its content and its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    pub book: BookId,
    pub actor: String,
    pub command_id: CommandId,
    /// The id shared by every event of one business flow (a sales order and everything it triggered).
    pub correlation_id: Uuid,
    /// The id of the command or event that directly caused this one.
    pub causation_id: Uuid,
    /// Business time: when it happened, which may differ from when it was recorded.
    pub occurred_at: Timestamp,
}

/// An event as handed to the store for appending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: EventId,
    pub event_type: EventType,
    pub metadata: EventMetadata,
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// Encodes a typed event (see [`crate::codec::StoredEvent`]) with its current schema version and the
    /// id derived from the command id and the event's index within the command's output.
    pub fn from_event<E: crate::codec::StoredEvent>(
        event: &E,
        index: u32,
        metadata: EventMetadata,
    ) -> Result<Self, StoreError> {
        Ok(NewEvent {
            event_id: EventId::derive(metadata.command_id, index),
            event_type: EventType::new(E::TYPE_NAME, E::VERSION)?,
            payload: crate::codec::encode_payload(event)?,
            metadata,
        })
    }
}

/// The hash that links a commit to the one before it (BLAKE3, 32 bytes). The first commit links to zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An event as recorded: the envelope around its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global position, from 1, strictly increasing along the log; an append's events take contiguous
    /// positions. Gapless in the embedded store (the n-th event ever appended has position n); the
    /// PostgreSQL store leaves gaps between appends (see ADR 0015). Compare positions, never count them.
    pub position: u64,
    pub stream_id: StreamId,
    /// Version within the stream, 0-based: the first event of a stream has version 0.
    pub stream_version: u64,
    pub event_id: EventId,
    pub event_type: EventType,
    pub metadata: EventMetadata,
    /// When the store recorded the event (its clock, at commit).
    pub recorded_at: Timestamp,
    pub payload: Vec<u8>,
    /// The hash of the commit before the one that holds this event: the link of the hash chain.
    pub prev_hash: ChainHash,
}

impl RecordedEvent {
    /// The envelope borrowed from this event, without its payload and hash link: what a fold reads.
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            position: self.position,
            stream_id: self.stream_id.as_str(),
            stream_version: self.stream_version,
            event_id: self.event_id,
            event_type: self.event_type.name(),
            event_version: self.event_type.version(),
            book: self.metadata.book,
            actor: &self.metadata.actor,
            command_id: self.metadata.command_id,
            correlation_id: self.metadata.correlation_id,
            causation_id: self.metadata.causation_id,
            occurred_at: self.metadata.occurred_at,
            recorded_at: self.recorded_at,
        }
    }
}

/// An event's envelope borrowed from wherever the event is held (a [`RecordedEvent`], a
/// [`crate::LogPage`]), without its payload and hash link. Read models fold these: a page of the log
/// can be folded without an owned event (and a copied payload) per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub position: u64,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_id: EventId,
    /// The stored type name (`sales.OrderPlaced`) and its schema version.
    pub event_type: &'a str,
    pub event_version: u16,
    pub book: BookId,
    pub actor: &'a str,
    pub command_id: CommandId,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
}

/// One commit of another log, written again as it was (`erp migrate`, ADR 0017): the same stream,
/// versions, event ids, metadata and payloads, and the recording time the source gave it rather than
/// this store's clock. It is appended at exactly `first_version` (a stream that must not exist when
/// that is 0), so a copy can only extend what it has copied so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportCommit {
    pub stream: StreamId,
    pub first_version: u64,
    pub recorded_at: Timestamp,
    pub events: Vec<NewEvent>,
}

impl ImportCommit {
    /// The expected version that appends this commit at `first_version`.
    pub fn expected(&self) -> ExpectedVersion {
        match self.first_version {
            0 => ExpectedVersion::NoStream,
            v => ExpectedVersion::Exact(v - 1),
        }
    }
}

/// The version a writer expects a stream to be at; the append fails with [`WrongExpectedVersion`] otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

/// The outcome of a successful append (or of a retry of one: the original outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Position of the first event written.
    pub first_position: u64,
    /// Position of the last event written; what a read-your-writes query waits for.
    pub last_position: u64,
    /// Version of the stream's last event after the append; the `Exact` to use next.
    pub next_expected_version: u64,
}

/// The expected race: the stream was not where the writer thought. Not a failure; reload and decide again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stream {stream} expected at {expected:?}, but its last version is {actual:?}")]
pub struct WrongExpectedVersion {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    /// The stream's current last version; `None` when the stream does not exist.
    pub actual: Option<u64>,
}

impl WrongExpectedVersion {
    pub const CODE: &'static str = "store.wrong_expected_version";
}
