//! Reads of the KurrentDB store: a stream, the log (`$all` filtered to this store's streams), its head,
//! and the decoding of the server's events into ours, positions included.
//!
//! An event's position is `first << 14 | index` (`layout.rs`), where `first` is the `$all` position of
//! the first event of its append. Reading forward, the events of one append come one after the other
//! (the server writes an append's records together, and every one of them passes the same filter), so
//! [`Positions`] learns `first` from each append's first event; an event whose append began before
//! what was read (a read that starts inside an append) costs one read of that first event.

use domain::{EventId, Timestamp};
use kurrentdb::{Position, ReadAllOptions, ReadStreamOptions, StreamPosition, SubscriptionFilter};

use super::layout::{self, MetadataV1};
use super::store::{Inner, failure};
use crate::envelope::{ChainHash, EventType, RecordedEvent, StreamId};
use crate::error::StoreError;
use crate::limits;

/// One of our events as the server holds it, decoded, before its position is known.
pub(crate) struct Decoded {
    pub event: RecordedEvent,
    /// The server's name of its stream.
    pub server_stream: String,
    pub index: u32,
    pub count: u32,
    pub commit_hash: ChainHash,
    /// Its own `$all` position (the byte offset of its record).
    pub log_position: u64,
}

impl Decoded {
    /// The stream version of the first event of this event's append.
    fn append_first_version(&self) -> Result<u64, StoreError> {
        self.event.stream_version.checked_sub(u64::from(self.index)).ok_or_else(|| StoreError::Decode {
            reason: format!(
                "stream {}: version {} cannot hold event {} of an append",
                self.event.stream_id, self.event.stream_version, self.index
            ),
        })
    }
}

/// Decodes `raw` if it is one of ours: in one of this store's streams, with our metadata layout.
pub(crate) fn decode(inner: &Inner, raw: &kurrentdb::RecordedEvent) -> Result<Option<Decoded>, StoreError> {
    let Some(stream_id) = inner.names.stream_id(raw.stream_id()) else { return Ok(None) };
    let Some(meta) = MetadataV1::decode(&raw.custom_metadata)? else { return Ok(None) };
    let event_type = EventType::new(&raw.event_type, meta.type_version)?;
    if raw.position.commit > limits::KURRENTDB_LOG_POSITION_MAX {
        return Err(StoreError::Decode {
            reason: format!(
                "stream {stream_id} version {}: the server gave no $all position ({})",
                raw.revision, raw.position
            ),
        });
    }
    Ok(Some(Decoded {
        event: RecordedEvent {
            position: 0,
            stream_id,
            stream_version: raw.revision,
            event_id: EventId(raw.id),
            event_type,
            metadata: meta.metadata(),
            recorded_at: Timestamp(meta.recorded_at),
            payload: raw.data.to_vec(),
            prev_hash: ChainHash(meta.prev_hash),
        },
        server_stream: raw.stream_id().to_owned(),
        index: meta.index,
        count: meta.count,
        commit_hash: ChainHash(meta.commit_hash),
        log_position: raw.position.commit,
    }))
}

/// Works out our positions of events read in log or stream order (see the module's comment).
#[derive(Default)]
pub(crate) struct Positions {
    /// The last append whose first event was seen: its server stream, first version, count and `$all`
    /// position.
    current: Option<(String, u64, u32, u64)>,
}

impl Positions {
    /// Sets `decoded.event.position`.
    pub(crate) async fn assign(&mut self, inner: &Inner, decoded: &mut Decoded) -> Result<(), StoreError> {
        let first_version = decoded.append_first_version()?;
        let first_commit = match &self.current {
            _ if decoded.index == 0 => decoded.log_position,
            Some((stream, version, count, commit))
                if *stream == decoded.server_stream
                    && *version == first_version
                    && *count == decoded.count =>
            {
                *commit
            }
            _ => first_event_position(inner, decoded, first_version).await?,
        };
        self.current = Some((decoded.server_stream.clone(), first_version, decoded.count, first_commit));
        decoded.event.position = layout::encode_position(first_commit, decoded.index)?;
        Ok(())
    }
}

/// The `$all` position of the first event of `decoded`'s append, read from its stream.
async fn first_event_position(
    inner: &Inner,
    decoded: &Decoded,
    first_version: u64,
) -> Result<u64, StoreError> {
    let first = read_raw_stream(inner, &decoded.server_stream, first_version, 1, false).await?;
    let first = match first.first() {
        Some(raw) => decode(inner, raw)?,
        None => None,
    };
    match first {
        Some(first)
            if first.index == 0
                && first.count == decoded.count
                && first.event.stream_version == first_version =>
        {
            Ok(first.log_position)
        }
        _ => Err(StoreError::Decode {
            reason: format!(
                "stream {} version {}: event {} of an append of {}, whose first event is not at version {first_version}",
                decoded.event.stream_id, decoded.event.stream_version, decoded.index, decoded.count
            ),
        }),
    }
}

/// Up to `max_count` events of the server stream `name` from `from_version` (forward) or from its end
/// (backward, newest first). A stream that does not exist reads as empty.
pub(crate) async fn read_raw_stream(
    inner: &Inner,
    name: &str,
    from_version: u64,
    max_count: usize,
    backwards: bool,
) -> Result<Vec<kurrentdb::RecordedEvent>, StoreError> {
    let position = if backwards { StreamPosition::End } else { StreamPosition::Position(from_version) };
    let options = ReadStreamOptions::default().position(position).max_count(max_count).requires_leader(true);
    let mut stream = match inner.client.read_stream(name, &options).await {
        Ok(stream) => stream,
        Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
        Err(e) => return Err(failure("reading a stream", e)),
    };
    let mut events = Vec::new();
    loop {
        match stream.next().await {
            Ok(Some(resolved)) => {
                if let Some(event) = resolved.event {
                    events.push(event);
                }
            }
            Ok(None) => return Ok(events),
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(failure("reading a stream", e)),
        }
    }
}

/// Decodes the events of one of our streams (every one of them must be ours), without their positions.
pub(crate) fn decode_events(
    inner: &Inner,
    stream: &StreamId,
    raw: &[kurrentdb::RecordedEvent],
) -> Result<Vec<Decoded>, StoreError> {
    raw.iter()
        .map(|raw| {
            decode(inner, raw)?.ok_or_else(|| StoreError::Decode {
                reason: format!(
                    "stream {stream} version {}: an event not written by this store (no erp metadata)",
                    raw.revision
                ),
            })
        })
        .collect()
}

/// Assigns the positions of events read in stream order.
pub(crate) async fn assign_positions(inner: &Inner, events: &mut [Decoded]) -> Result<(), StoreError> {
    let mut positions = Positions::default();
    for event in events {
        positions.assign(inner, event).await?;
    }
    Ok(())
}

/// Decodes the events of one of our streams (every one of them must be ours) and assigns positions.
pub(crate) async fn decode_stream(
    inner: &Inner,
    stream: &StreamId,
    raw: &[kurrentdb::RecordedEvent],
) -> Result<Vec<Decoded>, StoreError> {
    let mut decoded = decode_events(inner, stream, raw)?;
    assign_positions(inner, &mut decoded).await?;
    Ok(decoded)
}

pub(crate) async fn read_stream(
    inner: &Inner,
    stream: &StreamId,
    from_version: u64,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    check_read_size(max_count)?;
    let name = inner.names.server_name(stream)?;
    if max_count == 0 {
        return Ok(Vec::new());
    }
    let raw = read_raw_stream(inner, &name, from_version, max_count, false).await?;
    Ok(decode_stream(inner, stream, &raw).await?.into_iter().map(|d| d.event).collect())
}

/// The server-side filter to this store's streams: its namespace's prefix, or every stream that is not
/// a system stream. Events in those streams that are not in our layout are left out when decoded.
pub(crate) fn filter(inner: &Inner) -> SubscriptionFilter {
    match inner.names.prefix() {
        "" => SubscriptionFilter::on_stream_name().regex("^[^$]"),
        prefix => SubscriptionFilter::on_stream_name().add_prefix(prefix),
    }
}

/// Where a forward read of `$all` for our positions `>= from` starts: the first record of the append
/// holding `from` (a record boundary; `$all` cannot be read from inside a record).
pub(crate) fn start_of(from: u64) -> StreamPosition<Position> {
    match layout::decode_position(from) {
        (0, _) => StreamPosition::Start,
        (first_commit, _) => {
            StreamPosition::Position(Position { commit: first_commit, prepare: first_commit })
        }
    }
}

pub(crate) async fn read_all(
    inner: &Inner,
    from_position: u64,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let decoded = read_all_decoded(inner, from_position, max_count).await?;
    Ok(decoded.into_iter().map(|d| d.event).collect())
}

/// [`read_all`] with what our metadata says of each event's commit (for the chain check).
pub(crate) async fn read_all_decoded(
    inner: &Inner,
    from_position: u64,
    max_count: usize,
) -> Result<Vec<Decoded>, StoreError> {
    check_read_size(max_count)?;
    let mut out = Vec::new();
    if max_count == 0 {
        return Ok(out);
    }
    let mut positions = Positions::default();
    let mut start = start_of(from_position);
    // Events at or before this raw position were handled by the previous request.
    let mut seen_up_to: Option<Position> = None;
    // The first request may meet the indexes of `from`'s append below `from`, and skips them.
    let mut slack = layout::decode_position(from_position).1 as usize;
    loop {
        let want = max_count - out.len() + slack;
        let options = ReadAllOptions::default()
            .position(start)
            .max_count(want)
            .filter(filter(inner))
            .requires_leader(true);
        let mut stream = inner.client.read_all(&options).await.map_err(|e| failure("reading $all", e))?;
        let mut got = 0;
        let mut last = None;
        while let Some(resolved) = stream.next().await.map_err(|e| failure("reading $all", e))? {
            let Some(raw) = resolved.event else { continue };
            got += 1;
            last = Some(raw.position);
            if seen_up_to.is_some_and(|seen| raw.position <= seen) {
                continue;
            }
            let Some(mut decoded) = decode(inner, &raw)? else { continue };
            positions.assign(inner, &mut decoded).await?;
            if decoded.event.position < from_position {
                continue;
            }
            out.push(decoded);
            if out.len() == max_count {
                return Ok(out);
            }
        }
        match last {
            // The server had fewer than asked for: the end of the log.
            Some(last) if got >= want => {
                // From the last record's own position, read again and skipped.
                start = StreamPosition::Position(Position { commit: last.commit, prepare: last.commit });
                seen_up_to = Some(last);
                slack = 1;
            }
            _ => return Ok(out),
        }
    }
}

/// Our position of the last event of ours in `$all`, 0 when there is none.
pub(crate) async fn head_position(inner: &Inner) -> Result<u64, StoreError> {
    let mut start = StreamPosition::End;
    loop {
        let options = ReadAllOptions::default()
            .position(start)
            .backwards()
            .max_count(limits::KURRENTDB_HEAD_SCAN_BATCH)
            .filter(filter(inner))
            .requires_leader(true);
        let mut stream = inner.client.read_all(&options).await.map_err(|e| failure("reading $all", e))?;
        let mut got = 0;
        let mut last = None;
        while let Some(resolved) = stream.next().await.map_err(|e| failure("reading $all", e))? {
            let Some(raw) = resolved.event else { continue };
            got += 1;
            last = Some(raw.position);
            if let Some(mut decoded) = decode(inner, &raw)? {
                Positions::default().assign(inner, &mut decoded).await?;
                return Ok(decoded.event.position);
            }
        }
        match last {
            // Backwards from a record's own position: the records before it.
            Some(last) if got >= limits::KURRENTDB_HEAD_SCAN_BATCH => {
                start = StreamPosition::Position(Position { commit: last.commit, prepare: last.commit })
            }
            _ => return Ok(0),
        }
    }
}

/// Reads the newest record of `$all` (whoever wrote it): checks the address, TLS and the right to read
/// `$all` at once.
pub(crate) async fn probe(inner: &Inner) -> Result<(), StoreError> {
    let options = ReadAllOptions::default().position(StreamPosition::End).max_count(1);
    let mut stream =
        inner.client.read_all(&options).await.map_err(|e| failure("connecting to KurrentDB", e))?;
    stream.next().await.map_err(|e| failure("connecting to KurrentDB", e))?;
    Ok(())
}

fn check_read_size(max_count: usize) -> Result<(), StoreError> {
    if max_count > limits::READ_BATCH_MAX {
        return Err(StoreError::ReadTooLarge { requested: max_count, max: limits::READ_BATCH_MAX });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_of_the_log_starts_at_the_first_record_of_the_append_holding_its_position() {
        assert_eq!(start_of(0), StreamPosition::Start);
        assert_eq!(start_of(5), StreamPosition::Start, "below the first append of any log");
        let first = layout::encode_position(1_234_567, 0).unwrap();
        let at = |commit| StreamPosition::Position(Position { commit, prepare: commit });
        assert_eq!(start_of(first), at(1_234_567));
        assert_eq!(start_of(first + 6), at(1_234_567), "inside the append");
        assert_eq!(start_of(first + 10_000), at(1_234_567), "one past an append of 10,000");
    }
}
