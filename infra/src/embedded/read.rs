//! The read paths of the embedded store: by global position, by stream, and the borrowed replay.
//!
//! Readers see only what the writer has published in the index, which it does after the bytes are
//! durable; so a reader never meets a half-written frame, and the frames it reads are re-checked
//! (CRC) on every read.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use domain::{BookId, CommandId, EventId, Timestamp};
use uuid::Uuid;

use super::Shared;
use super::index::Loc;
use super::segments::{self, FrameCursor, Scanned};
use crate::codec::{self, CommitView, EventRecord, OwnedRecord};
use crate::envelope::{ChainHash, Envelope, EventMetadata, EventType, RecordedEvent, StreamId};
use crate::error::StoreError;
use crate::limits;
use crate::page::LogPage;

/// A borrowed view of one stored event, valid during a replay callback.
#[derive(Debug)]
pub struct EventRef<'a> {
    pub position: u64,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub recorded_at: i64,
    pub record: &'a EventRecord<'a>,
}

/// Reuses one `Arc<str>` per distinct event type name within a read.
#[derive(Default)]
struct TypeNames(HashMap<Box<str>, Arc<str>, foldhash::fast::RandomState>);

impl TypeNames {
    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(arc) = self.0.get(name) {
            return arc.clone();
        }
        let arc: Arc<str> = Arc::from(name);
        self.0.insert(name.into(), arc.clone());
        arc
    }
}

/// About the most bytes of frames one [`Shared::read_page`] reads (more only for one larger commit).
pub(crate) const PAGE_BYTES_SOFT_MAX: usize = 4 << 20;

fn corrupt(segment: u32, offset: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { segment: segments::segment_file_name(segment), offset, reason: reason.into() }
}

fn to_recorded(
    header_position: u64,
    stream: &StreamId,
    version: u64,
    recorded_at: i64,
    prev_hash: ChainHash,
    record: &EventRecord<'_>,
    types: &mut TypeNames,
) -> RecordedEvent {
    RecordedEvent {
        position: header_position,
        stream_id: stream.clone(),
        stream_version: version,
        event_id: EventId(Uuid::from_bytes(record.event_id)),
        event_type: EventType::from_parts(types.get(record.event_type), record.event_version),
        metadata: EventMetadata {
            book: BookId(Uuid::from_bytes(record.metadata.book)),
            actor: record.metadata.actor.to_owned(),
            command_id: CommandId(Uuid::from_bytes(record.metadata.command_id)),
            correlation_id: Uuid::from_bytes(record.metadata.correlation_id),
            causation_id: Uuid::from_bytes(record.metadata.causation_id),
            occurred_at: Timestamp(record.metadata.occurred_at),
        },
        recorded_at: Timestamp(recorded_at),
        payload: record.payload.to_vec(),
        prev_hash,
    }
}

/// Adds the events of one commit with positions `>= from_position` to `out`, stopping when it holds
/// `max_count`; answers whether it is full, or why a record could not be read.
fn push_events(
    view: &CommitView<'_>,
    from_position: u64,
    max_count: usize,
    out: &mut Vec<RecordedEvent>,
    types: &mut TypeNames,
) -> Result<bool, String> {
    let header = &view.header;
    if header.first_position + header.event_count as u64 <= from_position {
        return Ok(out.len() >= max_count);
    }
    let stream = StreamId::from_arc(Arc::from(header.stream_id));
    let prev = ChainHash(header.prev_hash);
    for (i, record) in view.records().enumerate() {
        if out.len() >= max_count {
            break;
        }
        let record = record?;
        let position = header.first_position + i as u64;
        if position < from_position {
            continue;
        }
        let version = header.first_version + i as u64;
        out.push(to_recorded(position, &stream, version, header.recorded_at, prev, &record, types));
    }
    Ok(out.len() >= max_count)
}

/// Adds the events of the frames in `frames` (written back to back, CRC-checked here) with positions
/// `>= from_position` to `out`, until it holds `max_count`; or the offset of the frame that did not
/// read and why.
fn decode_frames(
    frames: &[u8],
    from_position: u64,
    max_count: usize,
    out: &mut Vec<RecordedEvent>,
    types: &mut TypeNames,
) -> Result<(), (usize, String)> {
    let mut offset = 0usize;
    while offset < frames.len() && out.len() < max_count {
        let body_len = match codec::check_frame(&frames[offset..]) {
            codec::FrameCheck::Valid { body_len } => body_len,
            other => return Err((offset, format!("{other:?}"))),
        };
        let body = &frames[offset + codec::FRAME_HEADER_BYTES..][..body_len];
        let view = CommitView::decode(body).map_err(|reason| (offset, reason))?;
        push_events(&view, from_position, max_count, out, types).map_err(|reason| (offset, reason))?;
        offset += codec::FRAME_HEADER_BYTES + body_len;
    }
    Ok(())
}

impl Shared {
    fn segment_file(&self, segment: u32) -> Result<Arc<File>, StoreError> {
        self.segments
            .read()
            .expect("segments lock")
            .get(segment as usize)
            .cloned()
            .ok_or_else(|| corrupt(segment, 0, "segment referenced by the index is missing"))
    }

    fn file_len(file: &File, segment: u32) -> Result<u64, StoreError> {
        file.metadata()
            .map(|m| m.len())
            .map_err(|e| StoreError::io(format!("stat of {}", segments::segment_file_name(segment)), e))
    }

    /// Walks frames from the one holding `from_position` up to the head as of the call, handing each
    /// intact commit to `visit`. Stops early when `visit` answers `false`. `chunk` is the read size.
    fn walk_commits(
        &self,
        from_position: u64,
        chunk: usize,
        mut visit: impl FnMut(&CommitView<'_>, u32, u64) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let from_position = from_position.max(1);
        let (head, first_loc) = {
            let index = self.index.read().expect("index lock");
            (index.head_position(), index.loc(from_position))
        };
        let Some(mut loc) = first_loc else { return Ok(()) };
        // The first position of the frame that holds `from_position`.
        let mut position = from_position - loc.index() as u64;
        'segments: loop {
            let segment = loc.segment();
            let file = self.segment_file(segment)?;
            // Taken after the head was read, so every frame up to the head is inside this length.
            let len = Self::file_len(&file, segment)?;
            let mut cursor = FrameCursor::new(&file, len, loc.offset(), chunk);
            loop {
                let offset = cursor.offset();
                let scanned = cursor.next_frame().map_err(|e| {
                    StoreError::io(format!("reading {}", segments::segment_file_name(segment)), e)
                })?;
                let body = match scanned {
                    Scanned::Frame { body, .. } => body,
                    Scanned::End => {
                        return Err(corrupt(segment, offset, "the index points past the end of the segment"));
                    }
                    Scanned::Damaged { offset, reason } => return Err(corrupt(segment, offset, reason)),
                };
                let view = CommitView::decode(body).map_err(|r| corrupt(segment, offset, r))?;
                if view.header.first_position != position {
                    return Err(corrupt(
                        segment,
                        offset,
                        format!(
                            "frame holds position {}, the index expected {position}",
                            view.header.first_position
                        ),
                    ));
                }
                if !visit(&view, segment, offset)? {
                    return Ok(());
                }
                position += view.header.event_count as u64;
                if position > head {
                    return Ok(());
                }
                let next = self.index.read().expect("index lock").loc(position).expect("position <= head");
                if next.segment() != segment || next.offset() != cursor.offset() {
                    loc = next;
                    continue 'segments;
                }
            }
        }
    }

    /// Events with positions `>= from_position`, at most `max_count`.
    pub fn read_all(&self, from_position: u64, max_count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if max_count > limits::READ_BATCH_MAX {
            return Err(StoreError::ReadTooLarge { requested: max_count, max: limits::READ_BATCH_MAX });
        }
        let from_position = from_position.max(1);
        let mut out = Vec::new();
        if max_count == 0 {
            return Ok(out);
        }
        out.reserve(max_count.min(4096));
        let mut types = TypeNames::default();
        // Size the read buffer for what is there to read, not for what may be asked: a subscriber asking
        // for 1,024 events when 3 exist should not allocate and zero half a megabyte.
        let head = self.index.read().expect("index lock").head_position();
        let there = (head.saturating_sub(from_position) + 1).min(max_count as u64) as usize;
        let chunk = there.saturating_mul(512).clamp(4 * 1024, segments::SCAN_CHUNK_BYTES);
        self.walk_commits(from_position, chunk, |view, segment, offset| {
            let full = push_events(view, from_position, max_count, &mut out, &mut types)
                .map_err(|r| corrupt(segment, offset, r))?;
            Ok(!full)
        })?;
        Ok(out)
    }

    /// [`Shared::read_all`] into `page`: the frames are read straight into the page's byte buffer
    /// (kept from the page before: overwritten, not zeroed again) and each payload stays where it was
    /// read. The page ends at a segment's end, or after about [`PAGE_BYTES_SOFT_MAX`] bytes of frames.
    pub fn read_page(
        &self,
        from_position: u64,
        max_count: usize,
        page: &mut LogPage,
    ) -> Result<(), StoreError> {
        if max_count > limits::READ_BATCH_MAX {
            return Err(StoreError::ReadTooLarge { requested: max_count, max: limits::READ_BATCH_MAX });
        }
        page.clear();
        let from_position = from_position.max(1);
        let (first, last, after_last) = {
            let index = self.index.read().expect("index lock");
            let head = index.head_position();
            if max_count == 0 || from_position > head {
                return Ok(());
            }
            let last = head.min(from_position + max_count as u64 - 1);
            // Where the commit holding `last` ends: where the next commit starts (a few steps through
            // the index, one per event of that commit after `last`), or nowhere in this segment.
            let mut next = last + 1;
            while index.loc(next).is_some_and(|loc| loc.index() != 0) {
                next += 1;
            }
            (index.loc(from_position).expect("position <= head"), last, index.loc(next))
        };
        let segment = first.segment();
        let file = self.segment_file(segment)?;
        // Taken after the head was read, so every frame up to the head is inside this length.
        let file_len = Self::file_len(&file, segment)?;
        let frame_start = first.offset();
        let frames_end = match after_last {
            Some(next) if next.segment() == segment => next.offset(),
            _ => file_len,
        };
        let read = |page: &mut LogPage, len: usize| {
            file.read_exact_at(page.raw_buffer(len), frame_start)
                .map_err(|e| StoreError::io(format!("reading {}", segments::segment_file_name(segment)), e))
        };
        let mut len = (frames_end.saturating_sub(frame_start) as usize).min(PAGE_BYTES_SOFT_MAX);
        read(page, len)?;
        // The first commit alone may be larger than the soft maximum: read all of it.
        let (raw, _) = page.split_raw();
        if raw.len() >= codec::FRAME_HEADER_BYTES {
            let body_len = u32::from_le_bytes(raw[4..8].try_into().expect("4 bytes")) as usize;
            let whole = codec::FRAME_HEADER_BYTES + body_len.min(codec::FRAME_BODY_BYTES_MAX);
            if whole > len && frame_start + whole as u64 <= file_len {
                len = whole;
                read(page, len)?;
            }
        }
        let (raw, mut out) = page.split_raw();
        let base = raw.as_ptr() as usize;
        let mut offset = 0usize;
        let mut expected = from_position - first.index() as u64;
        let mut count = 0usize;
        while offset < raw.len() && count < max_count {
            let at = frame_start + offset as u64;
            let body_len = match codec::check_frame(&raw[offset..]) {
                codec::FrameCheck::Valid { body_len } => body_len,
                // A commit cut by the soft maximum: the next page starts with it.
                codec::FrameCheck::Incomplete if count > 0 => break,
                other => return Err(corrupt(segment, at, format!("{other:?}"))),
            };
            let body = &raw[offset + codec::FRAME_HEADER_BYTES..][..body_len];
            let view = CommitView::decode(body).map_err(|r| corrupt(segment, at, r))?;
            let header = &view.header;
            if header.first_position != expected {
                return Err(corrupt(
                    segment,
                    at,
                    format!("frame holds position {}, the index expected {expected}", header.first_position),
                ));
            }
            for (i, record) in view.records().enumerate() {
                let position = header.first_position + i as u64;
                if position > last || count >= max_count {
                    break;
                }
                let record = record.map_err(|r| corrupt(segment, at, r))?;
                if position < from_position {
                    continue;
                }
                let envelope = Envelope {
                    position,
                    stream_id: header.stream_id,
                    stream_version: header.first_version + i as u64,
                    event_id: EventId(Uuid::from_bytes(record.event_id)),
                    event_type: record.event_type,
                    event_version: record.event_version,
                    book: BookId(Uuid::from_bytes(record.metadata.book)),
                    actor: record.metadata.actor,
                    command_id: CommandId(Uuid::from_bytes(record.metadata.command_id)),
                    correlation_id: Uuid::from_bytes(record.metadata.correlation_id),
                    causation_id: Uuid::from_bytes(record.metadata.causation_id),
                    occurred_at: Timestamp(record.metadata.occurred_at),
                    recorded_at: Timestamp(header.recorded_at),
                };
                let payload_start = record.payload.as_ptr() as usize - base;
                out.push_at(&envelope, payload_start..payload_start + record.payload.len());
                count += 1;
            }
            expected += header.event_count as u64;
            offset += codec::FRAME_HEADER_BYTES + body_len;
            if expected > last {
                break;
            }
        }
        Ok(())
    }

    /// Events with positions `>= from_position`, at most `max_count`, decoded from the frames kept in
    /// memory (`tail.rs`); `None` when those positions are no longer (or not yet) there. Never blocks on
    /// the disk, so it runs on the caller's task.
    pub fn read_recent(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> Option<Result<Vec<RecordedEvent>, StoreError>> {
        let from_position = from_position.max(1);
        let pieces = self.tail.read().expect("tail lock").covering(from_position, max_count)?;
        // Sized for what is cached, not for what was asked: a follower asks for a thousand and finds three.
        let cached: u64 = pieces.iter().map(|p| p.end_position - p.first_position.max(from_position)).sum();
        let mut out = Vec::with_capacity(cached.min(max_count as u64) as usize);
        let mut types = TypeNames::default();
        let in_memory = |offset: usize, reason: String| StoreError::Corrupt {
            segment: "in-memory tail".into(),
            offset: offset as u64,
            reason,
        };
        for piece in &pieces {
            if out.len() >= max_count {
                break;
            }
            // A piece in the decoded window is decoded once, by its first reader, for all of them.
            if let Some(decoded) = &piece.decoded {
                let events = decoded.get_or_init(|| {
                    let mut all = Vec::with_capacity((piece.end_position - piece.first_position) as usize);
                    decode_frames(&piece.frames, 0, usize::MAX, &mut all, &mut types).map(|()| Arc::from(all))
                });
                match events {
                    Ok(events) => {
                        let skip =
                            (from_position.saturating_sub(piece.first_position) as usize).min(events.len());
                        let take = (max_count - out.len()).min(events.len().saturating_sub(skip));
                        out.extend(events[skip..skip + take].iter().cloned());
                    }
                    Err((offset, reason)) => return Some(Err(in_memory(*offset, reason.clone()))),
                }
                continue;
            }
            if let Err((offset, reason)) =
                decode_frames(&piece.frames, from_position, max_count, &mut out, &mut types)
            {
                return Some(Err(in_memory(offset, reason)));
            }
        }
        Some(Ok(out))
    }

    /// The borrowed replay used by rebuilds and `erp bench replay`.
    pub fn replay(
        &self,
        from_position: u64,
        mut visit: impl FnMut(EventRef<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let from_position = from_position.max(1);
        let mut visited = 0u64;
        self.walk_commits(from_position, segments::SCAN_CHUNK_BYTES, |view, segment, offset| {
            let header = &view.header;
            for (i, record) in view.records().enumerate() {
                let record = record.map_err(|r| corrupt(segment, offset, r))?;
                let position = header.first_position + i as u64;
                if position < from_position {
                    continue;
                }
                visit(EventRef {
                    position,
                    stream_id: header.stream_id,
                    stream_version: header.first_version + i as u64,
                    recorded_at: header.recorded_at,
                    record: &record,
                })?;
                visited += 1;
            }
            Ok(true)
        })?;
        Ok(visited)
    }

    /// Events of `stream` with versions `>= from_version`, at most `max_count`.
    pub fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if max_count > limits::READ_BATCH_MAX {
            return Err(StoreError::ReadTooLarge { requested: max_count, max: limits::READ_BATCH_MAX });
        }
        let (positions, locs): (Vec<u64>, Vec<Loc>) = {
            let index = self.index.read().expect("index lock");
            let all = index.stream_positions(stream.as_str());
            let start = (from_version.min(all.len() as u64)) as usize;
            let end = start.saturating_add(max_count).min(all.len());
            let positions = all[start..end].to_vec();
            let locs =
                positions.iter().map(|&p| index.loc(p).expect("stream positions are indexed")).collect();
            (positions, locs)
        };
        let mut out = Vec::with_capacity(positions.len());
        let mut types = TypeNames::default();
        let mut cached: Option<(u32, u64, Vec<u8>)> = None;
        for (&position, loc) in positions.iter().zip(locs) {
            let fresh = cached.as_ref().is_none_or(|(s, o, _)| *s != loc.segment() || *o != loc.offset());
            if fresh {
                let file = self.segment_file(loc.segment())?;
                let body = segments::read_frame_at(&file, loc.offset())
                    .map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
                cached = Some((loc.segment(), loc.offset(), body));
            }
            let (_, _, body) = cached.as_ref().expect("cached above");
            let view = CommitView::decode(body).map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
            let record = view
                .records()
                .nth(loc.index() as usize)
                .ok_or_else(|| corrupt(loc.segment(), loc.offset(), "event index beyond the frame"))?
                .map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
            let version = view.header.first_version + loc.index() as u64;
            debug_assert_eq!(view.header.first_position + loc.index() as u64, position);
            out.push(to_recorded(
                position,
                stream,
                version,
                view.header.recorded_at,
                ChainHash(view.header.prev_hash),
                &record,
                &mut types,
            ));
        }
        Ok(out)
    }

    /// The stored event records at `positions` (for the writer's idempotency check).
    pub fn stored_records(&self, positions: &[u64]) -> Result<Vec<OwnedRecord>, StoreError> {
        let locs: Vec<Loc> = {
            let index = self.index.read().expect("index lock");
            positions.iter().map(|&p| index.loc(p).expect("stored position")).collect()
        };
        let mut out = Vec::with_capacity(locs.len());
        for loc in locs {
            let file = self.segment_file(loc.segment())?;
            let body = segments::read_frame_at(&file, loc.offset())
                .map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
            let view = CommitView::decode(&body).map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
            let record = view
                .records()
                .nth(loc.index() as usize)
                .ok_or_else(|| corrupt(loc.segment(), loc.offset(), "event index beyond the frame"))?
                .map_err(|r| corrupt(loc.segment(), loc.offset(), r))?;
            out.push(OwnedRecord::from(&record));
        }
        Ok(out)
    }
}
