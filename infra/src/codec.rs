//! The on-disk codec: frames, commit records, event records, typed event versions and upcasting.
//!
//! # Frame (docs/adr/0001-segment-format.md)
//!
//! ```text
//! magic "ERPf" (4) | body length u32 LE (4) | CRC32C(length bytes ‖ body) u32 LE (4) | body
//! ```
//!
//! One frame holds one append (a *commit*): it is written whole or recognised as torn, so an append of many
//! events is atomic on disk. The body is a format byte (1) followed by a postcard [`CommitHeaderV1`] and
//! `event_count` postcard [`EventRecordV1`]s back to back.
//!
//! postcard is not self-describing: the order of fields IS the schema. Never reorder, insert or remove a
//! field of a stored type, never use serde `default`, `skip_serializing_if` or `flatten` on one; add a new
//! version instead. Golden-byte tests at the bottom pin every stored layout.

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::{ChainHash, NewEvent};
use crate::error::StoreError;

/// The first four bytes of every frame; lets recovery find frame starts after damage.
pub const FRAME_MAGIC: [u8; 4] = *b"ERPf";
/// Bytes before the body: magic, length, CRC.
pub const FRAME_HEADER_BYTES: usize = 12;
/// The format byte that opens a commit body of the current layout.
pub const COMMIT_FORMAT_V1: u8 = 1;
/// Largest frame body accepted when reading: one append plus its header.
pub const FRAME_BODY_BYTES_MAX: usize = crate::limits::APPEND_BYTES_MAX + 64 * 1024;

/// The header of a commit (one append to one stream), stored layout v1.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CommitHeaderV1<'a> {
    /// Hash of the previous commit's body: the hash chain.
    pub prev_hash: [u8; 32],
    /// Global position of the first event of this commit (1-based).
    pub first_position: u64,
    #[serde(borrow)]
    pub stream_id: &'a str,
    /// Stream version of the first event of this commit (0-based).
    pub first_version: u64,
    /// Recording time, microseconds since the Unix epoch, assigned by the writer.
    pub recorded_at: i64,
    pub event_count: u32,
}

/// One event inside a commit, stored layout v1.
///
/// The events of one append usually share their type and always share their metadata (one command, one
/// actor, one moment): a record says "same as the previous record" for either in one byte instead of
/// repeating ~100 bytes, which halves the size of a batch on disk. The first record of a commit always
/// names both.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRecordV1<'a> {
    /// First field, 16 raw bytes: the writer reads it straight from the encoded record.
    pub event_id: [u8; 16],
    #[serde(borrow)]
    pub event_type: TypeRefV1<'a>,
    #[serde(borrow)]
    pub metadata: MetadataRefV1<'a>,
    #[serde(borrow)]
    pub payload: Bytes<'a>,
}

/// The event type of a record, or a reference to the previous record's.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRefV1<'a> {
    SameAsPrevious,
    Named { name: &'a str, version: u16 },
}

/// The metadata of a record, or a reference to the previous record's.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataRefV1<'a> {
    SameAsPrevious,
    #[serde(borrow)]
    Full(MetadataV1<'a>),
}

/// Who, for whom, under which command and when, stored layout v1.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataV1<'a> {
    pub book: [u8; 16],
    pub actor: &'a str,
    pub command_id: [u8; 16],
    pub correlation_id: [u8; 16],
    pub causation_id: [u8; 16],
    pub occurred_at: i64,
}

/// A record with its references resolved: every field present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRecord<'a> {
    pub event_id: [u8; 16],
    pub event_type: &'a str,
    pub event_version: u16,
    pub metadata: MetadataV1<'a>,
    pub payload: &'a [u8],
}

/// An owned copy of a resolved record, to compare a retried append with what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub event_id: [u8; 16],
    pub event_type: String,
    pub event_version: u16,
    pub book: [u8; 16],
    pub actor: String,
    pub command_id: [u8; 16],
    pub correlation_id: [u8; 16],
    pub causation_id: [u8; 16],
    pub occurred_at: i64,
    pub payload: Vec<u8>,
}

impl From<&EventRecord<'_>> for OwnedRecord {
    fn from(r: &EventRecord<'_>) -> Self {
        OwnedRecord {
            event_id: r.event_id,
            event_type: r.event_type.to_owned(),
            event_version: r.event_version,
            book: r.metadata.book,
            actor: r.metadata.actor.to_owned(),
            command_id: r.metadata.command_id,
            correlation_id: r.metadata.correlation_id,
            causation_id: r.metadata.causation_id,
            occurred_at: r.metadata.occurred_at,
            payload: r.payload.to_vec(),
        }
    }
}

/// Borrowed bytes encoded as postcard bytes (a varint length, then the bytes), the same wire form as a
/// `Vec<u8>` but written and read in one copy instead of element by element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes<'a>(pub &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'a [u8]>::deserialize(deserializer).map(Bytes)
    }
}

/// What the first bytes at an offset are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck {
    /// A whole frame whose CRC matches; the body is `buf[12..12 + body_len]`.
    Valid { body_len: usize },
    /// Fewer bytes than the header or the declared body (a torn write, or the end of the data).
    Incomplete,
    /// The bytes are not a frame: wrong magic, impossible length or a CRC mismatch.
    Bad(&'static str),
}

/// Checks whether `buf` starts with a whole, intact frame.
pub fn check_frame(buf: &[u8]) -> FrameCheck {
    if buf.len() < FRAME_HEADER_BYTES {
        if buf.len() >= 4 && buf[..4] != FRAME_MAGIC {
            return FrameCheck::Bad("bad magic");
        }
        return FrameCheck::Incomplete;
    }
    if buf[..4] != FRAME_MAGIC {
        return FrameCheck::Bad("bad magic");
    }
    let len_bytes: [u8; 4] = buf[4..8].try_into().expect("4 bytes");
    let body_len = u32::from_le_bytes(len_bytes) as usize;
    if body_len == 0 || body_len > FRAME_BODY_BYTES_MAX {
        return FrameCheck::Bad("impossible frame length");
    }
    if buf.len() < FRAME_HEADER_BYTES + body_len {
        return FrameCheck::Incomplete;
    }
    let stored_crc = u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes"));
    let body = &buf[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + body_len];
    if frame_crc(len_bytes, body) != stored_crc {
        return FrameCheck::Bad("CRC mismatch");
    }
    FrameCheck::Valid { body_len }
}

/// CRC32C over the length bytes and the body, so a damaged length is caught as surely as a damaged body.
pub fn frame_crc(len_bytes: [u8; 4], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len_bytes), body)
}

/// The chain hash of a commit: BLAKE3 over its body (which holds the previous hash).
pub fn commit_hash(body: &[u8]) -> ChainHash {
    ChainHash(*blake3::hash(body).as_bytes())
}

/// The chain hash of the commit body made of `header` and the pre-encoded `records`: the same bytes
/// [`encode_frame`] puts after the frame header (format byte, postcard header, records), hashed without
/// building the frame. The PostgreSQL store hashes its commits this way (ADR 0015), so both stores
/// commit to one canonical encoding of a commit.
pub fn commit_body_hash(header: &CommitHeaderV1<'_>, records: &[u8]) -> ChainHash {
    let header_bytes =
        postcard::to_allocvec(header).expect("encoding a commit header into a Vec cannot fail");
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[COMMIT_FORMAT_V1]);
    hasher.update(&header_bytes);
    hasher.update(records);
    ChainHash(*hasher.finalize().as_bytes())
}

/// Encodes the events of one append as back-to-back [`EventRecordV1`]s; returns each record's byte range
/// within `out`.
pub fn encode_event_records(events: &[NewEvent], out: &mut Vec<u8>) -> Result<Vec<Range<usize>>, StoreError> {
    let mut ranges = Vec::with_capacity(events.len());
    let mut previous: Option<&NewEvent> = None;
    for event in events {
        let start = out.len();
        let event_type = match previous {
            Some(p) if p.event_type == event.event_type => TypeRefV1::SameAsPrevious,
            _ => TypeRefV1::Named { name: event.event_type.name(), version: event.event_type.version() },
        };
        let metadata = match previous {
            Some(p) if p.metadata == event.metadata => MetadataRefV1::SameAsPrevious,
            _ => MetadataRefV1::Full(MetadataV1 {
                book: *event.metadata.book.0.as_bytes(),
                actor: &event.metadata.actor,
                command_id: *event.metadata.command_id.0.as_bytes(),
                correlation_id: *event.metadata.correlation_id.as_bytes(),
                causation_id: *event.metadata.causation_id.as_bytes(),
                occurred_at: event.metadata.occurred_at.unix_micros(),
            }),
        };
        let record = EventRecordV1 {
            event_id: *event.event_id.0.as_bytes(),
            event_type,
            metadata,
            payload: Bytes(&event.payload),
        };
        let taken = std::mem::take(out);
        *out = postcard::to_extend(&record, taken)
            .map_err(|e| StoreError::Decode { reason: format!("cannot encode event record: {e}") })?;
        ranges.push(start..out.len());
        previous = Some(event);
    }
    Ok(ranges)
}

/// Appends one frame (header, commit header, pre-encoded records) to `out`; returns the frame's chain hash.
pub fn encode_frame(out: &mut Vec<u8>, header: &CommitHeaderV1<'_>, records: &[u8]) -> ChainHash {
    let frame_start = out.len();
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&[0; 8]);
    out.push(COMMIT_FORMAT_V1);
    let taken = std::mem::take(out);
    *out = postcard::to_extend(header, taken).expect("encoding a commit header into a Vec cannot fail");
    out.extend_from_slice(records);
    let body_start = frame_start + FRAME_HEADER_BYTES;
    let body_len =
        u32::try_from(out.len() - body_start).expect("frame bodies are bounded by APPEND_BYTES_MAX");
    let len_bytes = body_len.to_le_bytes();
    let crc = frame_crc(len_bytes, &out[body_start..]);
    out[frame_start + 4..frame_start + 8].copy_from_slice(&len_bytes);
    out[frame_start + 8..frame_start + 12].copy_from_slice(&crc.to_le_bytes());
    commit_hash(&out[body_start..])
}

/// A decoded commit body, borrowing from the frame.
#[derive(Debug, Clone)]
pub struct CommitView<'a> {
    pub header: CommitHeaderV1<'a>,
    records: &'a [u8],
}

impl<'a> CommitView<'a> {
    /// Decodes the header of a commit body; the records are decoded lazily by [`CommitView::records`].
    pub fn decode(body: &'a [u8]) -> Result<Self, String> {
        match body.first() {
            Some(&COMMIT_FORMAT_V1) => {}
            Some(other) => return Err(format!("unknown commit format {other}")),
            None => return Err("empty commit body".into()),
        }
        let (header, records) = postcard::take_from_bytes::<CommitHeaderV1<'a>>(&body[1..])
            .map_err(|e| format!("bad commit header: {e}"))?;
        if header.event_count == 0 {
            return Err("commit with no events".into());
        }
        Ok(CommitView { header, records })
    }

    /// The event records, resolved, in order; fails if the count or the trailing bytes disagree.
    pub fn records(&self) -> RecordIter<'a> {
        RecordIter::new(self.records, self.header.event_count)
    }
}

/// Iterates the event records of a commit, resolving "same as previous" references.
pub struct RecordIter<'a> {
    rest: &'a [u8],
    remaining: u32,
    previous: Option<(&'a str, u16, MetadataV1<'a>)>,
}

impl<'a> RecordIter<'a> {
    /// Iterates `count` records encoded back to back in `bytes`.
    pub fn new(bytes: &'a [u8], count: u32) -> Self {
        RecordIter { rest: bytes, remaining: count, previous: None }
    }

    fn fail(&mut self, reason: String) -> Option<Result<EventRecord<'a>, String>> {
        self.remaining = 0;
        self.rest = &[];
        Some(Err(reason))
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<EventRecord<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            if !self.rest.is_empty() {
                let extra = self.rest.len();
                return self.fail(format!("{extra} trailing bytes after the last event record"));
            }
            return None;
        }
        self.remaining -= 1;
        let (record, rest) = match take_event_record(self.rest) {
            Ok(decoded) => decoded,
            Err(e) => return self.fail(format!("bad event record: {e}")),
        };
        self.rest = rest;
        let (event_type, event_version) = match (record.event_type, self.previous) {
            (TypeRefV1::Named { name, version }, _) => (name, version),
            (TypeRefV1::SameAsPrevious, Some((name, version, _))) => (name, version),
            (TypeRefV1::SameAsPrevious, None) => {
                return self.fail("the first record refers to a previous type".into());
            }
        };
        let metadata = match (record.metadata, self.previous) {
            (MetadataRefV1::Full(m), _) => m,
            (MetadataRefV1::SameAsPrevious, Some((_, _, m))) => m,
            (MetadataRefV1::SameAsPrevious, None) => {
                return self.fail("the first record refers to previous metadata".into());
            }
        };
        self.previous = Some((event_type, event_version, metadata));
        Some(Ok(EventRecord {
            event_id: record.event_id,
            event_type,
            event_version,
            metadata,
            payload: record.payload.0,
        }))
    }
}

/// Reads one [`EventRecordV1`] from the front of `bytes`, exactly as `postcard::take_from_bytes` does
/// (the same varint rules, UTF-8 checks and errors), by hand: postcard's serde path reads each of the
/// record's five ids byte by byte through the visitor machinery, which was a sixth of reading the log.
/// A property test holds the two to the same answers, on valid and on damaged bytes.
pub fn take_event_record(bytes: &[u8]) -> Result<(EventRecordV1<'_>, &[u8]), postcard::Error> {
    let mut r = Reader(bytes);
    let event_id = r.array16()?;
    let event_type = match r.varint_u32()? {
        0 => TypeRefV1::SameAsPrevious,
        1 => TypeRefV1::Named { name: r.str()?, version: r.varint_u16()? },
        _ => return Err(postcard::Error::DeserializeBadEnum),
    };
    let metadata = match r.varint_u32()? {
        0 => MetadataRefV1::SameAsPrevious,
        1 => MetadataRefV1::Full(MetadataV1 {
            book: r.array16()?,
            actor: r.str()?,
            command_id: r.array16()?,
            correlation_id: r.array16()?,
            causation_id: r.array16()?,
            occurred_at: r.varint_i64()?,
        }),
        _ => return Err(postcard::Error::DeserializeBadEnum),
    };
    let payload = Bytes(r.bytes()?);
    Ok((EventRecordV1 { event_id, event_type, metadata, payload }, r.0))
}

/// The front of the bytes still to read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], postcard::Error> {
        if self.0.len() < n {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn array16(&mut self) -> Result<[u8; 16], postcard::Error> {
        Ok(self.take(16)?.try_into().expect("16 bytes"))
    }

    /// A LEB128 varint of at most `max_bytes` bytes, whose last byte may hold at most `last_max`
    /// (postcard's rule: a longer or overflowing encoding is `DeserializeBadVarint`).
    fn varint(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, postcard::Error> {
        let mut out = 0u64;
        for i in 0..max_bytes {
            let byte = *self.0.first().ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
            self.0 = &self.0[1..];
            out |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i == max_bytes - 1 && byte > last_max {
                    return Err(postcard::Error::DeserializeBadVarint);
                }
                return Ok(out);
            }
        }
        Err(postcard::Error::DeserializeBadVarint)
    }

    fn varint_u16(&mut self) -> Result<u16, postcard::Error> {
        // 3 bytes; the last may carry 2 bits.
        self.varint(3, 0b11).map(|v| v as u16)
    }

    fn varint_u32(&mut self) -> Result<u32, postcard::Error> {
        // 5 bytes; the last may carry 4 bits.
        self.varint(5, 0b1111).map(|v| v as u32)
    }

    fn varint_usize(&mut self) -> Result<usize, postcard::Error> {
        // postcard encodes lengths as varint(usize): 10 bytes on 64-bit targets.
        self.varint(10, 0b1).map(|v| v as usize)
    }

    fn varint_i64(&mut self) -> Result<i64, postcard::Error> {
        let zigzag = self.varint(10, 0b1)?;
        Ok(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
    }

    fn bytes(&mut self) -> Result<&'a [u8], postcard::Error> {
        let len = self.varint_usize()?;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'a str, postcard::Error> {
        std::str::from_utf8(self.bytes()?).map_err(|_| postcard::Error::DeserializeBadUtf8)
    }
}

/// A typed event with a stored name and schema version.
///
/// Implement it with [`stored_event!`](crate::stored_event), which also wires the upcasters: every older
/// version is decoded as its own frozen type and converted with `From` into the current one.
pub trait StoredEvent: Serialize + Sized {
    /// The stored type name, e.g. `sales.OrderPlaced`. Never changes once written.
    const TYPE_NAME: &'static str;
    /// The current schema version (the one new events are written with).
    const VERSION: u16;
    /// Decodes a payload stored under `version`, upcasting older versions to the current type.
    fn decode_stored(version: u16, payload: &[u8]) -> Result<Self, StoreError>;
}

/// Encodes a payload with postcard.
pub fn encode_payload<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value)
        .map_err(|e| StoreError::Decode { reason: format!("cannot encode payload: {e}") })
}

/// Decodes a payload with postcard, refusing trailing bytes (a sign of a wrong type or version).
pub fn decode_payload<T: DeserializeOwned>(
    type_name: &str,
    version: u16,
    bytes: &[u8],
) -> Result<T, StoreError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(StoreError::Decode {
            reason: format!("{type_name} v{version}: {} trailing bytes", rest.len()),
        }),
        Err(e) => Err(StoreError::Decode { reason: format!("{type_name} v{version}: {e}") }),
    }
}

/// Encodes a domain event (one variant of an aggregate's event enum) as its stored type and payload.
pub fn encode_domain_event<E: domain::DomainEvent>(
    event: &E,
) -> Result<(crate::envelope::EventType, Vec<u8>), StoreError> {
    struct Payload<'a, E>(&'a E);
    impl<E: domain::DomainEvent> Serialize for Payload<'_, E> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.serialize_payload(serializer)
        }
    }
    let name = event.name();
    let event_type = crate::envelope::EventType::new(name.name, name.version)?;
    Ok((event_type, encode_payload(&Payload(event))?))
}

/// Decodes a stored event into an aggregate's event enum, upcasting old versions; refuses unknown types
/// and trailing bytes.
pub fn decode_domain_event<E: domain::DomainEvent>(
    event_type: &crate::envelope::EventType,
    payload: &[u8],
) -> Result<E, StoreError> {
    let mut deserializer = postcard::Deserializer::from_bytes(payload);
    let event = E::deserialize_payload(event_type.name(), event_type.version(), &mut deserializer)
        .map_err(|e| StoreError::Decode { reason: format!("{event_type}: {e}") })?;
    let rest =
        deserializer.finalize().map_err(|e| StoreError::Decode { reason: format!("{event_type}: {e}") })?;
    if !rest.is_empty() {
        return Err(StoreError::Decode { reason: format!("{event_type}: {} trailing bytes", rest.len()) });
    }
    Ok(event)
}

/// Decodes a stored event as the input of a process manager (one event enum or a union of several).
pub fn decode_process_input<I: domain::process::ProcessInput>(
    event_type: &crate::envelope::EventType,
    payload: &[u8],
) -> Result<I, StoreError> {
    decode_process_input_parts(event_type.name(), event_type.version(), payload)
}

/// [`decode_process_input`] from the type's name and version as a borrowed envelope holds them.
pub fn decode_process_input_parts<I: domain::process::ProcessInput>(
    name: &str,
    version: u16,
    payload: &[u8],
) -> Result<I, StoreError> {
    let fail = |e: &dyn std::fmt::Display| StoreError::Decode { reason: format!("{name} v{version}: {e}") };
    let mut deserializer = postcard::Deserializer::from_bytes(payload);
    let input = I::decode(name, version, &mut deserializer).map_err(|e| fail(&e))?;
    let rest = deserializer.finalize().map_err(|e| fail(&e))?;
    if !rest.is_empty() {
        return Err(fail(&format_args!("{} trailing bytes", rest.len())));
    }
    Ok(input)
}

/// Implements [`StoredEvent`] for the current type of an event, with the frozen older versions it upcasts.
///
/// ```text
/// stored_event!(NoteAdded { name: "test.NoteAdded", version: 2, upcast: [1 => NoteAddedV1] });
/// ```
/// requires `impl From<NoteAddedV1> for NoteAdded`. For longer histories write the chain once per step
/// (`From<V1> for V2`, `From<V2> for V3`) and `From<V1> for V3` as `V2::from(v1).into()`.
#[macro_export]
macro_rules! stored_event {
    ($current:ty { name: $name:literal, version: $version:literal $(, upcast: [$($old_version:literal => $old:ty),* $(,)?])? $(,)? }) => {
        impl $crate::codec::StoredEvent for $current {
            const TYPE_NAME: &'static str = $name;
            const VERSION: u16 = $version;
            fn decode_stored(version: u16, payload: &[u8]) -> Result<Self, $crate::StoreError> {
                match version {
                    $version => $crate::codec::decode_payload::<$current>($name, version, payload),
                    $($($old_version => $crate::codec::decode_payload::<$old>($name, version, payload)
                        .map(<$current as ::core::convert::From<$old>>::from),)*)?
                    other => Err($crate::StoreError::Decode {
                        reason: format!("{} has no schema version {}", $name, other),
                    }),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{EventMetadata, EventType};
    use domain::{BookId, CommandId, EventId, Timestamp};
    use uuid::Uuid;

    /// A test event whose first version had only a note.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct NoteAddedV1 {
        note: String,
    }

    /// Version 2 added who wrote the note; v1 notes upcast with an unknown author.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct NoteAdded {
        note: String,
        author: String,
    }

    impl From<NoteAddedV1> for NoteAdded {
        fn from(v1: NoteAddedV1) -> Self {
            NoteAdded { note: v1.note, author: "unknown".into() }
        }
    }

    crate::stored_event!(NoteAdded { name: "test.NoteAdded", version: 2, upcast: [1 => NoteAddedV1] });

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_stored_v1_event_is_upcast_to_the_current_version() {
        let v1_bytes = encode_payload(&NoteAddedV1 { note: "count again".into() }).unwrap();
        let decoded = NoteAdded::decode_stored(1, &v1_bytes).unwrap();
        assert_eq!(decoded, NoteAdded { note: "count again".into(), author: "unknown".into() });
    }

    #[test]
    fn the_current_version_decodes_as_itself() {
        let event = NoteAdded { note: "n".into(), author: "li".into() };
        let bytes = encode_payload(&event).unwrap();
        assert_eq!(NoteAdded::decode_stored(NoteAdded::VERSION, &bytes).unwrap(), event);
    }

    #[test]
    fn an_unknown_version_is_a_decode_error_not_a_panic() {
        let err = NoteAdded::decode_stored(3, &[]).unwrap_err();
        assert_eq!(err.code(), "store.decode");
        assert!(err.to_string().contains("no schema version 3"), "{err}");
    }

    #[test]
    fn trailing_bytes_after_a_payload_are_refused() {
        let mut bytes = encode_payload(&NoteAddedV1 { note: "x".into() }).unwrap();
        bytes.push(0);
        assert!(NoteAdded::decode_stored(1, &bytes).is_err());
    }

    #[test]
    fn golden_bytes_pin_note_added_v1() {
        let bytes = encode_payload(&NoteAddedV1 { note: "count again".into() }).unwrap();
        assert_eq!(hex(&bytes), GOLDEN_NOTE_ADDED_V1);
    }

    #[test]
    fn golden_bytes_pin_note_added_v2() {
        let bytes = encode_payload(&NoteAdded { note: "count again".into(), author: "li".into() }).unwrap();
        assert_eq!(hex(&bytes), GOLDEN_NOTE_ADDED_V2);
    }

    fn golden_event() -> NewEvent {
        NewEvent {
            event_id: EventId::derive(CommandId(Uuid::from_u128(7)), 0),
            event_type: EventType::new("test.NoteAdded", 2).unwrap(),
            metadata: EventMetadata {
                book: BookId(Uuid::from_u128(1)),
                actor: "clerk".into(),
                command_id: CommandId(Uuid::from_u128(7)),
                correlation_id: Uuid::from_u128(8),
                causation_id: Uuid::from_u128(9),
                occurred_at: Timestamp(1_700_000_000_000_000),
            },
            payload: vec![1, 2, 3],
        }
    }

    #[test]
    fn golden_bytes_pin_the_commit_frame_v1() {
        let mut records = Vec::new();
        let mut second = golden_event();
        second.event_id = EventId::derive(CommandId(Uuid::from_u128(7)), 1);
        second.payload = vec![4];
        encode_event_records(&[golden_event(), second], &mut records).unwrap();
        let header = CommitHeaderV1 {
            prev_hash: [0xab; 32],
            first_position: 42,
            stream_id: "note-1",
            first_version: 3,
            recorded_at: 1_700_000_000_000_001,
            event_count: 2,
        };
        let mut frame = Vec::new();
        let hash = encode_frame(&mut frame, &header, &records);
        assert_eq!(hex(&frame), GOLDEN_FRAME_V1);
        assert_eq!(hash.to_hex(), GOLDEN_FRAME_V1_HASH);
        assert_eq!(
            commit_body_hash(&header, &records).to_hex(),
            GOLDEN_FRAME_V1_HASH,
            "the PostgreSQL store's commit hash is the hash of the same body"
        );
    }

    #[test]
    fn a_frame_round_trips_through_check_and_decode() {
        let (frame, header, ranges) = frame_of(&[golden_event(), golden_event()]);
        let FrameCheck::Valid { body_len } = check_frame(&frame) else { panic!("frame should be valid") };
        let view = CommitView::decode(&frame[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + body_len]).unwrap();
        assert_eq!(view.header, header);
        let decoded: Vec<_> = view.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0], decoded[1], "the second record resolves to the same type and metadata");
        assert_eq!(decoded[1].payload, &[1, 2, 3]);
        assert_eq!(decoded[1].metadata.actor, "clerk");
        assert!(ranges[1].len() < ranges[0].len() / 2, "shared type and metadata cost one byte each");
    }

    /// A frame holding `events` as the first commit of stream "s", with its header and record ranges.
    fn frame_of(events: &[NewEvent]) -> (Vec<u8>, CommitHeaderV1<'static>, Vec<Range<usize>>) {
        let mut records = Vec::new();
        let ranges = encode_event_records(events, &mut records).unwrap();
        let header = CommitHeaderV1 {
            prev_hash: [0; 32],
            first_position: 1,
            stream_id: "s",
            first_version: 0,
            recorded_at: 5,
            event_count: events.len() as u32,
        };
        let mut frame = Vec::new();
        encode_frame(&mut frame, &header, &records);
        (frame, header, ranges)
    }

    fn one_event_frame() -> Vec<u8> {
        frame_of(&[golden_event()]).0
    }

    #[test]
    fn every_single_bit_flip_in_a_frame_is_detected() {
        let frame = one_event_frame();
        for bit in 0..frame.len() * 8 {
            let mut damaged = frame.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(check_frame(&damaged), FrameCheck::Valid { .. }),
                "flipping bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn a_truncated_frame_is_incomplete_not_valid() {
        let frame = one_event_frame();
        for len in 0..frame.len() {
            assert_eq!(check_frame(&frame[..len]), FrameCheck::Incomplete, "length {len}");
        }
    }

    /// A small deterministic generator (xorshift64*), so the property below needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn id(&mut self) -> [u8; 16] {
            (u128::from(self.next()) << 64 | u128::from(self.next())).to_le_bytes()
        }
        fn text(&mut self, max: u64) -> String {
            let len = self.below(max + 1);
            (0..len).map(|_| ['a', 'Z', '.', '_', '审', '计', '0'][self.below(7) as usize]).collect()
        }
    }

    #[test]
    fn the_hand_decoder_reads_every_record_as_postcard_does_and_refuses_what_postcard_refuses() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut agreed_ok, mut agreed_err) = (0, 0);
        for case in 0..40_000 {
            let name = rng.text(40);
            let actor = rng.text(20);
            let payload: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            let version = rng.next() as u16 >> rng.below(16);
            let occurred_at = (rng.next() as i64) >> rng.below(64);
            let record = EventRecordV1 {
                event_id: rng.id(),
                event_type: if rng.below(3) == 0 {
                    TypeRefV1::SameAsPrevious
                } else {
                    TypeRefV1::Named { name: &name, version }
                },
                metadata: if rng.below(3) == 0 {
                    MetadataRefV1::SameAsPrevious
                } else {
                    MetadataRefV1::Full(MetadataV1 {
                        book: rng.id(),
                        actor: &actor,
                        command_id: rng.id(),
                        correlation_id: rng.id(),
                        causation_id: rng.id(),
                        occurred_at,
                    })
                },
                payload: Bytes(&payload),
            };
            let mut bytes = postcard::to_allocvec(&record).unwrap();
            bytes.extend((0..rng.below(3)).map(|_| rng.next() as u8));
            // Most cases damage the bytes: flipped bytes, a cut, or garbage.
            match case % 4 {
                0 => {}
                1 => {
                    for _ in 0..=rng.below(3) {
                        let at = rng.below(bytes.len() as u64) as usize;
                        bytes[at] = rng.next() as u8;
                    }
                }
                2 => bytes.truncate(rng.below(bytes.len() as u64) as usize),
                _ => bytes = (0..rng.below(120)).map(|_| rng.next() as u8).collect(),
            }
            let by_hand = take_event_record(&bytes);
            let by_postcard = postcard::take_from_bytes::<EventRecordV1<'_>>(&bytes);
            match (by_hand, by_postcard) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "case {case}: {bytes:02x?}");
                    agreed_ok += 1;
                }
                (Err(_), Err(_)) => agreed_err += 1,
                (a, b) => panic!("case {case}: by hand {a:?}, postcard {b:?}, bytes {bytes:02x?}"),
            }
        }
        assert!(agreed_ok > 10_000 && agreed_err > 10_000, "{agreed_ok} read, {agreed_err} refused");
    }

    const GOLDEN_NOTE_ADDED_V1: &str = "0b636f756e7420616761696e";
    const GOLDEN_NOTE_ADDED_V2: &str = "0b636f756e7420616761696e026c69";
    /// magic | len | crc | format 1 | prev_hash ab×32 | position 42 | "note-1" | version 3 | recorded_at |
    /// count 2 | record 1: id | Named "test.NoteAdded" v2 | Full(book | "clerk" | command | correlation |
    /// causation | occurred_at) | payload [1, 2, 3] | record 2: id | SameAsPrevious | SameAsPrevious | [4].
    const GOLDEN_FRAME_V1: &str = concat!(
        "45525066bb000000ae2199cd01",
        "abababababababababababababababababababababababababababababababab",
        "2a066e6f74652d31038280f2818389850602",
        "1352c9d50ca55a6b831e291d2c769cb9",
        "01",
        "0e746573742e4e6f74654164646564",
        "02",
        "01",
        "00000000000000000000000000000001",
        "05636c65726b",
        "00000000000000000000000000000007",
        "00000000000000000000000000000008",
        "00000000000000000000000000000009",
        "8080f28183898506",
        "03010203",
        "df90442f32d459a3af3a1a461973743c",
        "00",
        "00",
        "0104",
    );
    const GOLDEN_FRAME_V1_HASH: &str = "1baa6756255794434deaec53552b79694f99dc725970acd3739303a450887e27";
}
