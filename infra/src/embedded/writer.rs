//! The writer thread: the only code that appends to the log.
//!
//! Group commit: the thread blocks for one request, then takes every request already waiting (up to
//! `GROUP_APPENDS_MAX` / `GROUP_BYTES_MAX`), decides each against the stream versions (including the
//! appends earlier in the same group), encodes the accepted ones as frames into one buffer, writes it
//! with one `pwrite` and makes it durable with one `fdatasync`. Only then does it publish the new
//! frames in the index, move the head, and answer the callers. While it waits for the disk, the next
//! group gathers in the queue: the more concurrent writers, the more appends share one fsync.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::index::Tail;
use super::segments;
use super::{Durability, EmbeddedConfig, Shared, sync_dir};
use crate::codec::{self, CommitHeaderV1, OwnedRecord};
use crate::envelope::{Appended, ChainHash, ExpectedVersion, NewEvent, StreamId, WrongExpectedVersion};
use crate::error::StoreError;
use crate::limits;
use crate::port::AppendResult;

/// One append, validated and encoded by the caller's task so the writer only frames and writes.
pub(crate) struct Request {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    /// The encoded event records, back to back.
    pub records: Vec<u8>,
    /// Each record's range in `records`.
    pub ranges: Vec<Range<usize>>,
    pub reply: Option<oneshot::Sender<AppendResult>>,
}

impl Request {
    /// Checks every limit and encodes the events; a refused request never reaches the writer.
    pub fn new(
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Request, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if events.len() > limits::EVENTS_PER_APPEND_MAX {
            return Err(StoreError::TooManyEvents {
                count: events.len(),
                max: limits::EVENTS_PER_APPEND_MAX,
            });
        }
        let mut payload_bytes = 0usize;
        for (index, event) in events.iter().enumerate() {
            if event.payload.len() > limits::EVENT_PAYLOAD_BYTES_MAX {
                return Err(StoreError::EventTooLarge {
                    index,
                    size: event.payload.len(),
                    max: limits::EVENT_PAYLOAD_BYTES_MAX,
                });
            }
            if event.metadata.actor.len() > limits::ACTOR_BYTES_MAX {
                return Err(StoreError::InvalidMetadata {
                    reason: format!(
                        "event {index}: the actor is longer than {} bytes",
                        limits::ACTOR_BYTES_MAX
                    ),
                });
            }
            payload_bytes += event.payload.len();
        }
        if payload_bytes > limits::APPEND_BYTES_MAX {
            return Err(StoreError::AppendTooLarge { size: payload_bytes, max: limits::APPEND_BYTES_MAX });
        }
        if events.len() > 1 {
            let mut ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
            ids.sort_unstable();
            if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
                return Err(StoreError::DuplicateEventId { event_id: pair[0].0 });
            }
        }
        let mut records = Vec::with_capacity(payload_bytes + events.len() * 160);
        let ranges = codec::encode_event_records(events, &mut records)?;
        if records.len() > limits::APPEND_BYTES_MAX {
            return Err(StoreError::AppendTooLarge { size: records.len(), max: limits::APPEND_BYTES_MAX });
        }
        Ok(Request { stream: stream.clone(), expected, records, ranges, reply: None })
    }

    fn event_id(&self, i: usize) -> [u8; 16] {
        // The event id is the first field of a record: 16 raw bytes.
        self.records[self.ranges[i].start..self.ranges[i].start + 16].try_into().expect("16 bytes")
    }
}

pub(crate) fn spawn(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    head_tx: watch::Sender<u64>,
    file: File,
    config: &EmbeddedConfig,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let (tail, head_hash, head) = {
        let index = shared.index.read().expect("index lock");
        (index.tail, index.head_hash, index.head_position())
    };
    let writer = Writer {
        shared,
        rx,
        head_tx,
        file,
        segment: tail.segment,
        offset: tail.offset,
        head_hash,
        next_position: head + 1,
        durability: config.durability,
        segment_bytes_max: config.segment_bytes_max,
        last_recorded_at: 0,
        buf: Vec::with_capacity(1 << 20),
        checkpointed_at: head,
        checkpointer: None,
        checkpoint_every_events: config.checkpoint_every_events.max(1),
    };
    std::thread::Builder::new()
        .name("erp-log-writer".into())
        .spawn(move || writer.run())
        .map_err(|e| StoreError::io("starting the log writer thread", e))
}

struct Writer {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    head_tx: watch::Sender<u64>,
    file: File,
    segment: u32,
    /// End of the durable data in the current segment; `buf` goes here next.
    offset: u64,
    head_hash: ChainHash,
    next_position: u64,
    durability: Durability,
    segment_bytes_max: u64,
    last_recorded_at: i64,
    /// Frames of the current group not yet written.
    buf: Vec<u8>,
    /// Head position covered by the last index checkpoint written (or found at open).
    checkpointed_at: u64,
    /// The background thread writing a checkpoint, if one is running.
    checkpointer: Option<std::thread::JoinHandle<()>>,
    checkpoint_every_events: u64,
}

/// What the writer decided for one request of a group.
enum Decision {
    /// Written as a new frame (answered after the fsync).
    Write(Appended),
    /// Answered now: a retry's original outcome, a conflict, or a refusal.
    Answer(AppendResult),
}

/// A frame written in this group, to be published in the index after the fsync.
struct Published {
    stream: Arc<str>,
    first_position: u64,
    first_version: u64,
    segment: u32,
    offset: u64,
    count: u32,
    crc: u32,
}

impl Writer {
    fn run(mut self) {
        let mut group = Vec::new();
        while let Some(first) = self.rx.blocking_recv() {
            let mut bytes = first.records.len();
            group.push(first);
            while group.len() < limits::GROUP_APPENDS_MAX && bytes < limits::GROUP_BYTES_MAX {
                match self.rx.try_recv() {
                    Ok(request) => {
                        bytes += request.records.len();
                        group.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(&mut group);
            group.clear();
            self.maybe_checkpoint();
        }
        // Closing writes its own checkpoint; let a background one finish first so they do not interleave.
        if let Some(handle) = self.checkpointer.take() {
            let _ = handle.join();
        }
    }

    /// Starts a background checkpoint when enough events were written since the last one.
    fn maybe_checkpoint(&mut self) {
        let head = self.next_position - 1;
        if head - self.checkpointed_at < self.checkpoint_every_events {
            return;
        }
        if self.checkpointer.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        if let Some(handle) = self.checkpointer.take() {
            let _ = handle.join();
        }
        // The snapshot covers only published (durable) frames; copying it is a short pause of the writer,
        // saving it happens beside the writer.
        let snapshot = self.shared.index.read().expect("index lock").clone();
        let dir = self.shared.dir.clone();
        self.checkpointed_at = head;
        let spawned = std::thread::Builder::new().name("erp-log-checkpoint".into()).spawn(move || {
            if let Err(e) = snapshot.save_checkpoint(&dir) {
                tracing::warn!(error = %e, "background index checkpoint failed; recovery will scan further");
            }
        });
        match spawned {
            Ok(handle) => self.checkpointer = Some(handle),
            Err(e) => tracing::warn!(error = %e, "cannot start the checkpoint thread"),
        }
    }

    fn poisoned(&self) -> Option<String> {
        self.shared.poisoned.lock().expect("poison lock").clone()
    }

    fn poison(&self, reason: String) {
        tracing::error!(%reason, "the log writer failed; refusing further writes until restart");
        *self.shared.poisoned.lock().expect("poison lock") = Some(reason);
    }

    fn commit_group(&mut self, group: &mut [Request]) {
        if let Some(reason) = self.poisoned() {
            for request in group.iter_mut() {
                reply(request, Err(StoreError::Poisoned { reason: reason.clone() }));
            }
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        // Recording time never goes backwards along the log, even if the wall clock does.
        let recorded_at = now.max(self.last_recorded_at);
        self.last_recorded_at = recorded_at;

        let mut decisions = Vec::with_capacity(group.len());
        let mut published = Vec::new();
        // Stream lengths after the appends decided so far in this group.
        let mut in_group: HashMap<Arc<str>, u64> = HashMap::new();
        let mut failure: Option<String> = None;
        for request in group.iter() {
            if failure.is_some() {
                decisions.push(Decision::Answer(Err(StoreError::Poisoned {
                    reason: failure.clone().unwrap_or_default(),
                })));
                continue;
            }
            let decision = self.decide(request, &mut in_group, recorded_at, &mut published);
            match decision {
                Ok(d) => decisions.push(d),
                Err(reason) => {
                    failure = Some(reason.clone());
                    decisions.push(Decision::Answer(Err(StoreError::Poisoned { reason })));
                }
            }
        }
        let sync_started = std::time::Instant::now();
        if failure.is_none()
            && let Err(reason) = self.flush()
        {
            failure = Some(reason);
        }
        {
            use std::sync::atomic::Ordering::Relaxed;
            let stats = &self.shared.stats;
            stats.groups.fetch_add(1, Relaxed);
            stats.appends.fetch_add(group.len() as u64, Relaxed);
            stats.events.fetch_add(published.iter().map(|p| p.count as u64).sum(), Relaxed);
            stats.sync_micros.fetch_add(sync_started.elapsed().as_micros() as u64, Relaxed);
        }
        if let Some(reason) = failure {
            self.poison(reason.clone());
            for (request, decision) in group.iter_mut().zip(decisions) {
                let answer = match decision {
                    Decision::Write(_) => Err(StoreError::Poisoned { reason: reason.clone() }),
                    Decision::Answer(answer) => answer,
                };
                reply(request, answer);
            }
            return;
        }

        if !published.is_empty() {
            let mut index = self.shared.index.write().expect("index lock");
            let mut last_frame = index.tail.last_frame;
            for p in &published {
                let key = index.stream_key(&p.stream).unwrap_or_else(|| p.stream.clone());
                index.push_commit(&key, p.first_position, p.first_version, p.segment, p.offset, p.count);
                last_frame = Some((p.segment, p.offset, p.crc));
            }
            index.head_hash = self.head_hash;
            index.tail = Tail { segment: self.segment, offset: self.offset, last_frame };
            let head = index.head_position();
            debug_assert_eq!(head + 1, self.next_position);
            drop(index);
            self.head_tx.send_replace(head);
        }
        for (request, decision) in group.iter_mut().zip(decisions) {
            let answer = match decision {
                Decision::Write(appended) => Ok(Ok(appended)),
                Decision::Answer(answer) => answer,
            };
            reply(request, answer);
        }
    }

    /// Decides one request. `Err` means an I/O failure that poisons the writer.
    fn decide(
        &mut self,
        request: &Request,
        in_group: &mut HashMap<Arc<str>, u64>,
        recorded_at: i64,
        published: &mut Vec<Published>,
    ) -> Result<Decision, String> {
        let stream = request.stream.arc();
        let stored_len = self.shared.index.read().expect("index lock").stream_len(stream);
        let len = in_group.get(stream).copied().unwrap_or(stored_len);
        let count = request.ranges.len() as u64;
        let actual = len.checked_sub(1);
        let conflict = || {
            Decision::Answer(Ok(Err(WrongExpectedVersion {
                stream: request.stream.clone(),
                expected: request.expected,
                actual,
            })))
        };
        let retry_from = match request.expected {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream if len == 0 => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(v) if v.checked_add(1) == Some(len) => None,
            ExpectedVersion::Exact(v) if v.saturating_add(1) < len => Some(v + 1),
            ExpectedVersion::Exact(_) => return Ok(conflict()),
        };
        if let Some(from) = retry_from {
            return Ok(match self.compare_with_stored(request, from)? {
                Retry::Same(appended) => Decision::Answer(Ok(Ok(appended))),
                Retry::Reused(error) => Decision::Answer(Err(error)),
                Retry::Different => conflict(),
            });
        }
        if request.expected == ExpectedVersion::Any && len >= count && len == stored_len {
            // Best effort for `Any`: a retry is recognised if its events are the last ones of the stream.
            match self.compare_with_stored(request, len - count)? {
                Retry::Same(appended) => return Ok(Decision::Answer(Ok(Ok(appended)))),
                Retry::Reused(error) => return Ok(Decision::Answer(Err(error))),
                Retry::Different => {}
            }
        }

        let frame_estimate = (request.records.len() + 128 + request.stream.as_str().len()) as u64;
        let used = self.offset + self.buf.len() as u64;
        if used > 0 && used + frame_estimate > self.segment_bytes_max {
            self.roll_over()?;
        }
        let first_position = self.next_position;
        let header = CommitHeaderV1 {
            prev_hash: self.head_hash.0,
            first_position,
            stream_id: stream,
            first_version: len,
            recorded_at,
            event_count: count as u32,
        };
        let frame_offset = self.offset + self.buf.len() as u64;
        self.head_hash = codec::encode_frame(&mut self.buf, &header, &request.records);
        let frame_start = (frame_offset - self.offset) as usize;
        let crc =
            u32::from_le_bytes(self.buf[frame_start + 8..frame_start + 12].try_into().expect("4 bytes"));
        self.next_position += count;
        in_group.insert(stream.clone(), len + count);
        published.push(Published {
            stream: stream.clone(),
            first_position,
            first_version: len,
            segment: self.segment,
            offset: frame_offset,
            count: count as u32,
            crc,
        });
        Ok(Decision::Write(Appended {
            first_position,
            last_position: first_position + count - 1,
            next_expected_version: len + count - 1,
        }))
    }

    /// Compares a request with the stored events at versions `from..from + count` of its stream.
    fn compare_with_stored(&self, request: &Request, from: u64) -> Result<Retry, String> {
        let count = request.ranges.len();
        let from = from as usize;
        // Only events already durable can be compared; a retry racing its original in one group is a conflict.
        let positions = {
            let index = self.shared.index.read().expect("index lock");
            index.stream_positions(request.stream.as_str()).get(from..from + count).map(<[u64]>::to_vec)
        };
        let Some(positions) = positions else { return Ok(Retry::Different) };
        let stored = match self.shared.stored_records(&positions) {
            Ok(stored) => stored,
            Err(e) => return Err(format!("reading stored events to check a retry: {e}")),
        };
        if stored[0].event_id != request.event_id(0) {
            return Ok(Retry::Different);
        }
        let sent = codec::RecordIter::new(&request.records, count as u32);
        for (i, (stored, sent)) in stored.iter().zip(sent).enumerate() {
            let sent = sent.map_err(|e| format!("re-reading an encoded request: {e}"))?;
            if *stored != OwnedRecord::from(&sent) {
                return Ok(Retry::Reused(StoreError::EventIdReused {
                    event_id: uuid::Uuid::from_bytes(request.event_id(i)),
                    stream: request.stream.to_string(),
                    version: (from + i) as u64,
                }));
            }
        }
        Ok(Retry::Same(Appended {
            first_position: positions[0],
            last_position: positions[count - 1],
            next_expected_version: (from + count - 1) as u64,
        }))
    }

    /// Writes the buffered frames and makes them durable.
    fn flush(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let name = segments::segment_file_name(self.segment);
        self.file.write_all_at(&self.buf, self.offset).map_err(|e| format!("write to {name}: {e}"))?;
        if self.durability == Durability::Fsync {
            self.file.sync_data().map_err(|e| format!("fdatasync of {name}: {e}"))?;
        }
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Closes the current segment (its frames durable first) and starts the next one.
    fn roll_over(&mut self) -> Result<(), String> {
        self.flush()?;
        let next = self.segment + 1;
        if next > limits::SEGMENTS_MAX {
            return Err(format!("the log has reached the maximum of {} segments", limits::SEGMENTS_MAX));
        }
        let path = segments::segment_path(&self.shared.dir, next);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        sync_dir(&self.shared.dir).map_err(|e| e.to_string())?;
        let read = File::open(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        self.shared.segments.write().expect("segments lock").push(Arc::new(read));
        self.file = file;
        self.segment = next;
        self.offset = 0;
        Ok(())
    }
}

enum Retry {
    /// The same events are stored: answer with the original outcome.
    Same(Appended),
    /// The first event id is stored with other content.
    Reused(StoreError),
    /// Other events are stored there: an ordinary conflict.
    Different,
}

fn reply(request: &mut Request, answer: AppendResult) {
    if let Some(tx) = request.reply.take() {
        // The caller may have given up waiting; the outcome stands either way.
        let _ = tx.send(answer);
    }
}
