//! Recovery on open: load the index checkpoint, check the frames it covers, scan the frames after it,
//! and deal with damage at the end of the log.
//!
//! The rule for damage (docs/adr/0001-segment-format.md): a damaged or incomplete frame that nothing
//! intact follows, in the last segment, is a torn tail: a write that was in flight when the process or
//! machine died, never acknowledged. It is cut off and the cut is logged. A damaged frame with an intact
//! frame anywhere after it is corruption: the open fails naming segment and offset, and nothing is
//! dropped. The same holds for a broken hash chain, a position or version out of sequence, or a frame
//! whose CRC matches but whose content does not decode.

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use super::index::{Index, Tail};
use super::segments::{self, FrameCursor, Scanned, segment_file_name};
use super::{EmbeddedConfig, OpenReport, TornTail, sync_dir};
use crate::codec::{self, CommitView, FRAME_HEADER_BYTES};
use crate::envelope::ChainHash;
use crate::error::StoreError;
use crate::limits;

/// After a recovery scan of more events than this, a fresh checkpoint is written at once, so the next
/// open (even after another crash) starts from it.
const CHECKPOINT_AFTER_SCAN_EVENTS: u64 = 1_000_000;

/// A check left to run after the open (the CRC sweep under the checkpoint, when deferred).
pub(crate) type DeferredCheck = Box<dyn FnOnce() -> Result<(), StoreError> + Send>;

pub(crate) struct Opened {
    pub index: Index,
    pub deferred_check: Option<DeferredCheck>,
    pub segment_files: Vec<Arc<File>>,
    /// Write handle of the last segment, positioned by offset (writes use `pwrite`).
    pub write_file: File,
    pub report: OpenReport,
}

fn corrupt(segment: u32, offset: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { segment: segment_file_name(segment), offset, reason: reason.into() }
}

fn io(segment: u32, what: &str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::io(format!("{what} {}", segment_file_name(segment)), e)
}

pub(crate) fn recover(config: &EmbeddedConfig) -> Result<Opened, StoreError> {
    let dir = &config.data_dir;
    let mut numbers = segments::list_segments(dir)?;
    if numbers.is_empty() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(segments::segment_path(dir, 0))
            .map_err(io(0, "creating"))?;
        sync_dir(dir)?;
        numbers.push(0);
    }
    let last = *numbers.last().expect("at least one segment");
    let mut files = Vec::with_capacity(numbers.len());
    for &n in &numbers {
        files.push(Arc::new(File::open(segments::segment_path(dir, n)).map_err(io(n, "opening"))?));
    }

    let mut index = match Index::load_checkpoint(dir)? {
        Some(index) if checkpoint_matches_log(&index, &files)? => index,
        Some(_) => {
            tracing::warn!(
                "index checkpoint does not match the log (it is older or the log was cut); scanning"
            );
            Index::empty()
        }
        None => Index::empty(),
    };
    let events_from_checkpoint = index.head_position();
    let mut deferred_check: Option<DeferredCheck> = None;
    if config.verify_crc_on_open && events_from_checkpoint > 0 {
        if config.verify_in_background {
            let (files, tail) = (files.clone(), index.tail);
            deferred_check = Some(Box::new(move || verify_covered_frames(&files, tail)));
        } else {
            verify_covered_frames(&files, index.tail)?;
        }
    }

    let mut events_scanned = 0u64;
    let mut torn_tail = None;
    let start_segment = index.tail.segment;
    for segment in start_segment..=last {
        let file = &files[segment as usize];
        let len = file.metadata().map_err(io(segment, "stat of"))?.len();
        let start = if segment == start_segment { index.tail.offset } else { 0 };
        if segment != start_segment {
            index.tail = Tail { segment, offset: 0, last_frame: index.tail.last_frame };
        }
        let mut cursor = FrameCursor::new(file, len, start, segments::SCAN_CHUNK_BYTES);
        loop {
            match cursor.next_frame().map_err(io(segment, "reading"))? {
                Scanned::Frame { offset, len: frame_len, crc, body } => {
                    events_scanned += apply_frame(&mut index, segment, offset, crc, body)?;
                    index.tail.offset = offset + frame_len;
                }
                Scanned::End => break,
                Scanned::Damaged { offset, reason } => {
                    if segment != last {
                        return Err(corrupt(segment, offset, format!("{reason}, and later segments exist")));
                    }
                    if let Some(intact) = segments::find_intact_frame_after(file, len, offset)
                        .map_err(io(segment, "reading"))?
                    {
                        return Err(corrupt(
                            segment,
                            offset,
                            format!("{reason}, followed by an intact frame at offset {intact}"),
                        ));
                    }
                    let dropped = len - offset;
                    tracing::warn!(
                        segment = %segment_file_name(segment),
                        offset,
                        bytes_dropped = dropped,
                        reason,
                        "torn tail: cutting off an incomplete write that was never acknowledged"
                    );
                    let writable = OpenOptions::new()
                        .write(true)
                        .open(segments::segment_path(dir, segment))
                        .map_err(io(segment, "opening"))?;
                    writable.set_len(offset).map_err(io(segment, "truncating"))?;
                    writable.sync_all().map_err(io(segment, "fsync of"))?;
                    torn_tail = Some(TornTail {
                        segment: segment_file_name(segment),
                        offset,
                        bytes_dropped: dropped,
                        reason: reason.to_string(),
                    });
                    break;
                }
            }
        }
    }
    debug_assert_eq!(index.tail.segment, last);

    let write_file = OpenOptions::new()
        .write(true)
        .open(segments::segment_path(dir, last))
        .map_err(io(last, "opening for writing"))?;
    if events_scanned > CHECKPOINT_AFTER_SCAN_EVENTS {
        index.save_checkpoint(dir)?;
    }
    let report = OpenReport {
        head_position: index.head_position(),
        streams: index.stream_count(),
        segments: last + 1,
        events_from_checkpoint,
        events_scanned,
        torn_tail,
    };
    Ok(Opened { index, deferred_check, segment_files: files, write_file, report })
}

/// Applies one intact frame found by the scan to the index, checking chain, position and version.
/// Returns the number of events in it.
fn apply_frame(
    index: &mut Index,
    segment: u32,
    offset: u64,
    crc: u32,
    body: &[u8],
) -> Result<u64, StoreError> {
    let view = CommitView::decode(body).map_err(|r| corrupt(segment, offset, r))?;
    let header = &view.header;
    if ChainHash(header.prev_hash) != index.head_hash {
        return Err(corrupt(
            segment,
            offset,
            format!(
                "hash chain broken at position {}: the frame links to {}, the previous frame hashes to {}",
                header.first_position,
                ChainHash(header.prev_hash),
                index.head_hash
            ),
        ));
    }
    if header.first_position != index.head_position() + 1 {
        return Err(corrupt(
            segment,
            offset,
            format!("position {} follows position {}", header.first_position, index.head_position()),
        ));
    }
    let stream_len = index.stream_len(header.stream_id);
    if header.first_version != stream_len {
        return Err(corrupt(
            segment,
            offset,
            format!(
                "stream {} continues at version {} but has {stream_len} events",
                header.stream_id, header.first_version
            ),
        ));
    }
    if header.event_count as usize > limits::EVENTS_PER_APPEND_MAX {
        return Err(corrupt(segment, offset, "more events in one frame than an append may hold"));
    }
    index.push_commit(
        header.stream_id,
        header.first_position,
        header.first_version,
        segment,
        offset,
        header.event_count,
    );
    index.head_hash = codec::commit_hash(body);
    index.tail.last_frame = Some((segment, offset, crc));
    Ok(header.event_count as u64)
}

/// A checkpoint is used only if the log still holds, at the recorded place, the frame it ends with.
fn checkpoint_matches_log(index: &Index, files: &[Arc<File>]) -> Result<bool, StoreError> {
    let tail = index.tail;
    let Some(file) = files.get(tail.segment as usize) else { return Ok(false) };
    let len = file.metadata().map_err(io(tail.segment, "stat of"))?.len();
    if len < tail.offset {
        return Ok(false);
    }
    match tail.last_frame {
        None => Ok(tail.segment == 0 && tail.offset == 0 && index.head_position() == 0),
        Some((segment, offset, crc)) => {
            let Some(file) = files.get(segment as usize) else { return Ok(false) };
            let mut header = [0u8; FRAME_HEADER_BYTES];
            use std::os::unix::fs::FileExt;
            if file.read_exact_at(&mut header, offset).is_err() {
                return Ok(false);
            }
            let body_len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as u64;
            let stored_crc = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
            let ends_at_tail =
                segment != tail.segment || offset + FRAME_HEADER_BYTES as u64 + body_len == tail.offset;
            Ok(header[..4] == codec::FRAME_MAGIC && stored_crc == crc && ends_at_tail)
        }
    }
}

/// Checks the CRC of every frame the checkpoint covers, two segments at a time (one per core).
fn verify_covered_frames(files: &[Arc<File>], tail: Tail) -> Result<(), StoreError> {
    let segments: Vec<u32> = (0..=tail.segment).collect();
    let check = |segment: u32| -> Result<(), StoreError> {
        let file = &files[segment as usize];
        let end = if segment == tail.segment {
            tail.offset
        } else {
            file.metadata().map_err(io(segment, "stat of"))?.len()
        };
        let mut cursor = FrameCursor::new(file, end, 0, segments::SCAN_CHUNK_BYTES * 4);
        loop {
            match cursor.next_frame().map_err(io(segment, "reading"))? {
                Scanned::Frame { .. } => {}
                Scanned::End => return Ok(()),
                Scanned::Damaged { offset, reason } => {
                    return Err(corrupt(
                        segment,
                        offset,
                        format!("{reason}, in a frame acknowledged long ago"),
                    ));
                }
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunk = segments.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = segments
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(|&s| check(s))))
            .collect();
        let mut first_error = None;
        for handle in handles {
            if let Err(e) = handle.join().expect("CRC check thread panicked")
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}
