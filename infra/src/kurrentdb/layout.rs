//! What the KurrentDB store writes and how it reads it back, without the client (ADR 0016): the URL
//! schemes it answers to, the namespace prefix of its stream names, its global positions and the
//! metadata layout carried by every event. Compiled in every build, so that a build without the
//! `kurrentdb` feature recognises a KurrentDB URL (and says which feature it lacks) and so that the
//! golden bytes are held by the default test run.

use domain::{BookId, CommandId, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{ChainHash, EventMetadata, StreamId};
use crate::error::StoreError;
use crate::limits;

/// The URL schemes of the KurrentDB client's connection strings (`kurrentdb://`, the older `esdb://`,
/// and the cluster-discovery forms `+discover`), exactly the ones the client's parser accepts.
pub const URL_SCHEMES: &[&str] = &[
    "kurrentdb",
    "kurrentdb+discover",
    "esdb",
    "esdb+discover",
    "kurrent",
    "kurrent+discover",
    "kdb",
    "kdb+discover",
];

/// True when `url` names a KurrentDB server (by its scheme, case-insensitively). Looks at nothing after
/// the scheme, so a caller can decide without the URL's credentials ever reaching a message.
pub fn is_kurrentdb_url(url: &str) -> bool {
    url.trim()
        .split_once("://")
        .is_some_and(|(scheme, _)| URL_SCHEMES.iter().any(|known| scheme.eq_ignore_ascii_case(known)))
}

/// Checks a namespace: 1 to [`limits::KURRENTDB_NAMESPACE_BYTES_MAX`] ASCII letters, digits, `_` and
/// `-`. Stream names on the server are `<namespace>/<stream id>`; the `/` cannot occur in a namespace,
/// so where a namespace ends is never in doubt.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), StoreError> {
    let valid = !namespace.is_empty()
        && namespace.len() <= limits::KURRENTDB_NAMESPACE_BYTES_MAX
        && namespace.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidMetadata {
            reason: format!(
                "KurrentDB namespace {namespace:?}: 1 to {} ASCII letters, digits, '_' or '-'",
                limits::KURRENTDB_NAMESPACE_BYTES_MAX
            ),
        })
    }
}

/// How our stream ids map to the server's stream names: as they are, or behind `<namespace>/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    /// `<namespace>/`, or empty.
    prefix: String,
}

impl Names {
    /// `namespace` must have passed [`check_namespace`].
    pub(crate) fn new(namespace: Option<&str>) -> Self {
        Names { prefix: namespace.map(|ns| format!("{ns}/")).unwrap_or_default() }
    }

    /// The prefix every stream of this store has on the server (empty without a namespace).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The server's name for `stream`. A stream id starting with `$` is refused without a namespace:
    /// the server keeps such names for its system streams, which the store's reads of `$all` leave out.
    pub(crate) fn server_name(&self, stream: &StreamId) -> Result<String, StoreError> {
        if self.prefix.is_empty() && stream.as_str().starts_with('$') {
            return Err(StoreError::InvalidStreamId {
                reason: "KurrentDB keeps names starting with '$' for its system streams".into(),
            });
        }
        Ok(format!("{}{}", self.prefix, stream.as_str()))
    }

    /// Our stream id for a server stream name, or `None` for a stream that is not this store's (another
    /// namespace, a system stream, a name that is not a valid stream id).
    pub(crate) fn stream_id(&self, server_name: &str) -> Option<StreamId> {
        let id = server_name.strip_prefix(self.prefix.as_str())?;
        if self.prefix.is_empty() && id.starts_with('$') {
            return None;
        }
        StreamId::new(id).ok()
    }
}

/// Our global position of the event at `index` within an append whose first event is at the
/// commit position `first_commit` of `$all`: `first_commit << 14 | index`.
///
/// KurrentDB gives each event of an append its own `$all` position (the byte offset of its record in
/// the transaction log), so its positions leave gaps inside an append and a position one past an
/// event's points into the middle of a record, where the server cannot start a read. Ours are
/// contiguous within an append, as the port promises, and name a record boundary: the append's first
/// event, from which a read starts and skips the indexes below the one asked for.
pub(crate) fn encode_position(first_commit: u64, index: u32) -> Result<u64, StoreError> {
    if first_commit > limits::KURRENTDB_LOG_POSITION_MAX {
        return Err(StoreError::Decode {
            reason: format!(
                "$all position {first_commit} is beyond 2^{} bytes of transaction log, where this store's \
                 positions end (ADR 0016)",
                64 - limits::KURRENTDB_POSITION_INDEX_BITS
            ),
        });
    }
    if u64::from(index) >= 1 << limits::KURRENTDB_POSITION_INDEX_BITS {
        return Err(StoreError::Decode { reason: format!("index {index} within an append is out of range") });
    }
    Ok(first_commit << limits::KURRENTDB_POSITION_INDEX_BITS | u64::from(index))
}

/// The `$all` commit position of an append's first event and the index within it that `position`
/// names; the inverse of [`encode_position`] for every position it made.
pub(crate) fn decode_position(position: u64) -> (u64, u32) {
    let mask = (1u64 << limits::KURRENTDB_POSITION_INDEX_BITS) - 1;
    (position >> limits::KURRENTDB_POSITION_INDEX_BITS, (position & mask) as u32)
}

// An append's events take the indexes 0..count below the position's index bits.
const _: () = assert!(limits::EVENTS_PER_APPEND_MAX < 1 << limits::KURRENTDB_POSITION_INDEX_BITS);

/// The first bytes of our metadata, layout 1: `erp` and the layout's number. An event whose custom
/// metadata does not start with them was not written by this store and is not read as one of ours.
pub(crate) const METADATA_MAGIC_V1: [u8; 4] = *b"erp\x01";

/// Everything of our envelope that the server does not keep itself, layout 1 (postcard after
/// [`METADATA_MAGIC_V1`]). The event's id, stream, version, type name and payload are the server's own
/// fields; the hash chain is the PostgreSQL store's, per stream (ADR 0015), with position 0 in the
/// commit header because the server assigns positions only after the append.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetadataV1<'a> {
    pub type_version: u16,
    pub book: [u8; 16],
    #[serde(borrow)]
    pub actor: &'a str,
    pub command_id: [u8; 16],
    pub correlation_id: [u8; 16],
    pub causation_id: [u8; 16],
    /// Microseconds since the Unix epoch.
    pub occurred_at: i64,
    /// Microseconds since the Unix epoch: the appending node's clock, never earlier than the stream's
    /// previous commit.
    pub recorded_at: i64,
    /// This event's index within its append, and the append's event count.
    pub index: u32,
    pub count: u32,
    /// The hash of the stream's previous commit (zeros for the first) and of this commit.
    pub prev_hash: [u8; 32],
    pub commit_hash: [u8; 32],
}

impl<'a> MetadataV1<'a> {
    /// The layout of `metadata` for the event at `index` of an append of `count`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        type_version: u16,
        metadata: &'a EventMetadata,
        recorded_at: i64,
        index: u32,
        count: u32,
        prev_hash: ChainHash,
        commit_hash: ChainHash,
    ) -> Self {
        MetadataV1 {
            type_version,
            book: *metadata.book.0.as_bytes(),
            actor: &metadata.actor,
            command_id: *metadata.command_id.0.as_bytes(),
            correlation_id: *metadata.correlation_id.as_bytes(),
            causation_id: *metadata.causation_id.as_bytes(),
            occurred_at: metadata.occurred_at.unix_micros(),
            recorded_at,
            index,
            count,
            prev_hash: prev_hash.0,
            commit_hash: commit_hash.0,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let out = METADATA_MAGIC_V1.to_vec();
        postcard::to_extend(self, out).expect("encoding metadata into a Vec cannot fail")
    }

    /// `None` for metadata that is not ours (no magic); an error for ours that does not decode.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Option<Self>, StoreError> {
        let Some(body) = bytes.strip_prefix(&METADATA_MAGIC_V1) else { return Ok(None) };
        let (metadata, rest): (MetadataV1<'a>, _) = postcard::take_from_bytes(body)
            .map_err(|e| StoreError::Decode { reason: format!("KurrentDB event metadata: {e}") })?;
        if !rest.is_empty() {
            return Err(StoreError::Decode {
                reason: format!("KurrentDB event metadata: {} bytes after the layout", rest.len()),
            });
        }
        if metadata.count == 0 || metadata.index >= metadata.count {
            return Err(StoreError::Decode {
                reason: format!("KurrentDB event metadata: index {} of {}", metadata.index, metadata.count),
            });
        }
        Ok(Some(metadata))
    }

    /// The envelope's metadata this layout holds.
    pub(crate) fn metadata(&self) -> EventMetadata {
        EventMetadata {
            book: BookId(Uuid::from_bytes(self.book)),
            actor: self.actor.to_owned(),
            command_id: CommandId(Uuid::from_bytes(self.command_id)),
            correlation_id: Uuid::from_bytes(self.correlation_id),
            causation_id: Uuid::from_bytes(self.causation_id),
            occurred_at: Timestamp(self.occurred_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn golden_metadata() -> EventMetadata {
        EventMetadata {
            book: BookId(Uuid::from_u128(1)),
            actor: "clerk".into(),
            command_id: CommandId(Uuid::from_u128(2)),
            correlation_id: Uuid::from_u128(3),
            causation_id: Uuid::from_u128(4),
            occurred_at: Timestamp(1_700_000_000_000_000),
        }
    }

    /// Layout 1 as stored on a server. Never change this string: events written with it must read
    /// back forever; a new layout gets a new magic and a new golden test.
    const GOLDEN_METADATA_V1: &str = concat!(
        "65727001",                                                         // "erp" 1
        "02",                                                               // type version 2
        "00000000000000000000000000000001",                                 // book
        "05636c65726b",                                                     // actor "clerk"
        "00000000000000000000000000000002",                                 // command id
        "00000000000000000000000000000003",                                 // correlation id
        "00000000000000000000000000000004",                                 // causation id
        "8080f28183898506",                                                 // occurred_at (zigzag varint)
        "8280f28183898506",                                                 // recorded_at
        "01",                                                               // index
        "03",                                                               // count
        "abababababababababababababababababababababababababababababababab", // prev hash
        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", // commit hash
    );

    #[test]
    fn golden_bytes_pin_the_metadata_layout_v1() {
        let metadata = golden_metadata();
        let layout = MetadataV1::new(
            2,
            &metadata,
            1_700_000_000_000_001,
            1,
            3,
            ChainHash([0xab; 32]),
            ChainHash([0xcd; 32]),
        );
        let bytes = layout.encode();
        assert_eq!(hex(&bytes), GOLDEN_METADATA_V1);
        let decoded = MetadataV1::decode(&bytes).unwrap().expect("ours");
        assert_eq!(decoded, layout);
        assert_eq!(decoded.metadata(), metadata);
    }

    #[test]
    fn metadata_that_is_not_ours_is_told_apart_from_ours_damaged() {
        assert_eq!(MetadataV1::decode(b"").unwrap(), None);
        assert_eq!(MetadataV1::decode(b"{\"$correlationId\":\"x\"}").unwrap(), None);
        assert_eq!(MetadataV1::decode(b"erp\x02...").unwrap(), None, "another layout is not layout 1");
        let metadata = golden_metadata();
        let mut bytes =
            MetadataV1::new(1, &metadata, 5, 0, 1, ChainHash::GENESIS, ChainHash::GENESIS).encode();
        bytes.push(0);
        assert_eq!(MetadataV1::decode(&bytes).unwrap_err().code(), "store.decode", "trailing bytes");
        assert_eq!(MetadataV1::decode(&bytes[..20]).unwrap_err().code(), "store.decode", "cut short");
        let bad_index = MetadataV1::new(1, &metadata, 5, 3, 3, ChainHash::GENESIS, ChainHash::GENESIS);
        assert_eq!(MetadataV1::decode(&bad_index.encode()).unwrap_err().code(), "store.decode");
    }

    #[test]
    fn positions_are_contiguous_within_an_append_and_name_its_first_record() {
        let first = encode_position(4096, 0).unwrap();
        let last = encode_position(4096, 9_999).unwrap();
        assert_eq!(last - first, 9_999, "contiguous within an append");
        assert_eq!(decode_position(last), (4096, 9_999));
        assert_eq!(decode_position(last + 1), (4096, 10_000), "one past the append still starts at it");
        let next_append = encode_position(4096 + 90, 0).unwrap();
        assert!(next_append > last + 1, "a later record's append has later positions");
        assert_eq!(decode_position(0), (0, 0));
        assert!(encode_position(0, 0).is_ok());
        let max = limits::KURRENTDB_LOG_POSITION_MAX;
        assert_eq!(decode_position(encode_position(max, 16_383).unwrap()), (max, 16_383));
        assert_eq!(encode_position(max, 16_383).unwrap(), u64::MAX);
        assert_eq!(encode_position(max + 1, 0).unwrap_err().code(), "store.decode");
        assert_eq!(encode_position(1, 16_384).unwrap_err().code(), "store.decode");
    }

    #[test]
    fn kurrentdb_urls_are_told_by_their_scheme_alone() {
        for url in [
            "kurrentdb://localhost:2113?tls=false",
            "esdb://admin:changeit@db.example:2113",
            "kurrentdb+discover://cluster.example:2113",
            "esdb+discover://a:2113,b:2113",
            "KurrentDB://localhost",
            "  kdb://localhost  ",
        ] {
            assert!(is_kurrentdb_url(url), "{url}");
        }
        for url in
            ["postgres://localhost/erp", "embedded", "", "kurrentdb", "http://localhost:2113", "esdbx://h"]
        {
            assert!(!is_kurrentdb_url(url), "{url}");
        }
    }

    #[test]
    fn namespaces_are_added_and_stripped_and_keep_streams_apart() {
        for good in ["erp", "erp_test-0af3", "A1"] {
            assert!(check_namespace(good).is_ok(), "{good}");
        }
        for bad in ["", "erp/x", "erp x", "$erp", "é", &"n".repeat(65)] {
            assert_eq!(check_namespace(bad).unwrap_err().code(), "store.invalid_metadata", "{bad}");
        }
        let names = Names::new(Some("t1"));
        let stream = StreamId::new("order-1").unwrap();
        assert_eq!(names.server_name(&stream).unwrap(), "t1/order-1");
        assert_eq!(names.stream_id("t1/order-1"), Some(stream.clone()));
        assert_eq!(names.stream_id("t2/order-1"), None, "another namespace");
        assert_eq!(names.stream_id("order-1"), None);
        assert_eq!(names.server_name(&StreamId::new("$x").unwrap()).unwrap(), "t1/$x");

        let plain = Names::new(None);
        assert_eq!(plain.server_name(&stream).unwrap(), "order-1");
        assert_eq!(plain.stream_id("order-1"), Some(stream));
        assert_eq!(plain.stream_id("$stats-127.0.0.1:2113"), None, "a system stream");
        assert_eq!(
            plain.server_name(&StreamId::new("$x").unwrap()).unwrap_err().code(),
            "store.invalid_stream_id"
        );
    }
}
