//! The writer and syncer threads: the only code that appends to the log.
//!
//! Group commit, pipelined: the writer thread blocks for one request, then takes every request already
//! waiting (up to `GROUP_APPENDS_MAX` / `GROUP_BYTES_MAX`), decides each against the stream versions
//! (including appends written but not yet durable), encodes the accepted ones as frames into one buffer
//! and writes it with one `pwrite`. It hands the group to the syncer thread and goes on with the next
//! group. The syncer takes every group handed to it since its last round, makes them durable with one
//! `fdatasync`, and only then publishes their frames in the index, moves the head and answers the
//! callers. So deciding and encoding overlap with the disk flush, and every append waiting while a flush
//! runs shares the next one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use tokio::sync::{mpsc, oneshot, watch};

use super::index::Tail;
use super::segments;
use super::tail::Piece;
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
    /// The recording time a copied commit keeps (`erp migrate`); `None` takes the writer's clock.
    pub recorded_at: Option<i64>,
    pub reply: Option<oneshot::Sender<AppendResult>>,
}

impl Request {
    /// Checks every limit and encodes the events; a refused request never reaches the writer.
    pub fn new(
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Request, StoreError> {
        let (records, ranges) = limits::check_and_encode_append(events)?;
        Ok(Request { stream: stream.clone(), expected, records, ranges, recorded_at: None, reply: None })
    }

    fn event_id(&self, i: usize) -> [u8; 16] {
        // The event id is the first field of a record: 16 raw bytes.
        self.records[self.ranges[i].start..self.ranges[i].start + 16].try_into().expect("16 bytes")
    }
}

/// Groups written but not yet handed to fdatasync; a bound keeps the writer from running far ahead.
const SYNC_QUEUE_MAX: usize = 64;

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
    let (sync_tx, sync_rx) = std_mpsc::sync_channel(SYNC_QUEUE_MAX);
    let (ack_tx, ack_rx) = std_mpsc::channel();
    let syncer =
        Syncer { shared: shared.clone(), rx: sync_rx, ack_tx, head_tx, durability: config.durability };
    let syncer = std::thread::Builder::new()
        .name("erp-log-syncer".into())
        .spawn(move || {
            let acker =
                std::thread::Builder::new().name("erp-log-acker".into()).spawn(move || run_acker(ack_rx));
            syncer.run();
            if let Ok(acker) = acker {
                let _ = acker.join();
            }
        })
        .map_err(|e| StoreError::io("starting the log syncer thread", e))?;
    let writer = Writer {
        shared,
        rx,
        sync_tx: Some(sync_tx),
        syncer: Some(syncer),
        file: Arc::new(file),
        segment: tail.segment,
        offset: tail.offset,
        head_hash,
        next_position: head + 1,
        lengths: HashMap::default(),
        durability: config.durability,
        segment_bytes_max: config.segment_bytes_max,
        last_recorded_at: 0,
        buf: Vec::with_capacity(1 << 20),
        buf_first_position: head + 1,
        pieces: Vec::new(),
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
    sync_tx: Option<std_mpsc::SyncSender<SyncJob>>,
    syncer: Option<std::thread::JoinHandle<()>>,
    file: Arc<File>,
    segment: u32,
    /// End of the durable data in the current segment; `buf` goes here next.
    offset: u64,
    head_hash: ChainHash,
    next_position: u64,
    /// The length of every stream written since the store opened, including appends written but not yet
    /// durable: what new appends decide on. Other streams' lengths are the index's (see `stream_len`).
    /// Filled lazily rather than copied from the index at open: a copy of two million streams was 50 MB
    /// and a tenth of a second of every open, for streams most of which are never written again.
    lengths: HashMap<Arc<str>, u64, foldhash::fast::RandomState>,
    durability: Durability,
    segment_bytes_max: u64,
    last_recorded_at: i64,
    /// Frames of the current group not yet written.
    buf: Vec<u8>,
    /// Position of the first event in `buf`.
    buf_first_position: u64,
    /// Frames of the current group already written, for the tail cache once they are durable.
    pieces: Vec<Piece>,
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
        // Let the syncer make the last groups durable and answer them, then stop.
        drop(self.sync_tx.take());
        if let Some(handle) = self.syncer.take() {
            let _ = handle.join();
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
        let snapshot = self.shared.index.read().expect("index lock").checkpoint_image();
        let dir = self.shared.dir.clone();
        self.checkpointed_at = snapshot.head_position();
        let spawned = std::thread::Builder::new().name("erp-log-checkpoint".into()).spawn(move || {
            if let Err(e) = snapshot.save(&dir) {
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

        let mut published = Vec::new();
        let mut waiting = Vec::new();
        let mut failure: Option<String> = None;
        for request in group.iter_mut() {
            if let Some(reason) = &failure {
                reply(request, Err(StoreError::Poisoned { reason: reason.clone() }));
                continue;
            }
            match self.decide(request, recorded_at, &mut published) {
                Ok(Decision::Write(appended)) => waiting.push((request.reply.take(), Ok(Ok(appended)))),
                // A conflict may be with appends not yet durable: it is answered after the next flush, so
                // a caller that reloads the stream finds what it conflicted with instead of spinning.
                Ok(Decision::Answer(Ok(Err(conflict)))) => {
                    waiting.push((request.reply.take(), Ok(Err(conflict))))
                }
                Ok(Decision::Answer(answer)) => reply(request, answer),
                Err(reason) => {
                    failure = Some(reason.clone());
                    reply(request, Err(StoreError::Poisoned { reason }));
                }
            }
        }
        if failure.is_none()
            && let Err(reason) = self.write_buffer()
        {
            failure = Some(reason);
        }
        self.shared.stats.appends.fetch_add(group.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(reason) = failure {
            self.pieces.clear();
            self.poison(reason.clone());
            for (tx, _) in waiting {
                if let Some(tx) = tx {
                    let _ = tx.send(Err(StoreError::Poisoned { reason: reason.clone() }));
                }
            }
            return;
        }
        if waiting.is_empty() {
            return;
        }
        let job = SyncJob {
            file: self.file.clone(),
            published,
            pieces: std::mem::take(&mut self.pieces),
            waiting,
            head_hash: self.head_hash,
            tail: (self.segment, self.offset),
        };
        if let Some(tx) = &self.sync_tx
            && let Err(std_mpsc::SendError(job)) = tx.send(job)
        {
            let reason = "the log syncer stopped".to_string();
            self.poison(reason.clone());
            for (tx, _) in job.waiting.into_iter() {
                if let Some(tx) = tx {
                    let _ = tx.send(Err(StoreError::Poisoned { reason: reason.clone() }));
                }
            }
        }
    }

    /// A stream's length as appends must see it. Every stream this writer has written is in `lengths`
    /// (written there before its frame is even durable); any other stream was complete in the index when
    /// the store opened and has not changed since, so the index answers for it.
    fn stream_len(&self, stream: &str) -> u64 {
        match self.lengths.get(stream) {
            Some(&len) => len,
            None => self.shared.index.read().expect("index lock").stream_len(stream),
        }
    }

    /// Decides one request. `Err` means an I/O failure that poisons the writer.
    fn decide(
        &mut self,
        request: &Request,
        recorded_at: i64,
        published: &mut Vec<Published>,
    ) -> Result<Decision, String> {
        let stream = request.stream.arc();
        let len = self.stream_len(stream);
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
        if request.expected == ExpectedVersion::Any && len >= count {
            // Best effort for `Any`: a retry is recognised if its events are the last ones of the stream.
            match self.compare_with_stored(request, len - count)? {
                Retry::Same(appended) => return Ok(Decision::Answer(Ok(Ok(appended)))),
                Retry::Reused(error) => return Ok(Decision::Answer(Err(error))),
                Retry::Different => {}
            }
        }

        // A copied commit keeps its recording time; later appends never go back before it.
        let recorded_at = request.recorded_at.unwrap_or(recorded_at);
        self.last_recorded_at = self.last_recorded_at.max(recorded_at);
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
        if self.buf.is_empty() {
            self.buf_first_position = first_position;
        }
        self.head_hash = codec::encode_frame(&mut self.buf, &header, &request.records);
        let frame_start = (frame_offset - self.offset) as usize;
        let crc =
            u32::from_le_bytes(self.buf[frame_start + 8..frame_start + 12].try_into().expect("4 bytes"));
        self.next_position += count;
        match self.lengths.get_mut(stream) {
            Some(l) => *l = len + count,
            None => {
                self.lengths.insert(stream.clone(), len + count);
            }
        }
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

    /// Writes the buffered frames (into the page cache; the syncer makes them durable).
    fn write_buffer(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let name = segments::segment_file_name(self.segment);
        self.file.write_all_at(&self.buf, self.offset).map_err(|e| format!("write to {name}: {e}"))?;
        self.offset += self.buf.len() as u64;
        // `next_position` is one past the last event framed in `buf`: roll-over writes before it frames more.
        self.pieces.push(Piece::new(self.buf_first_position, self.next_position, Arc::from(&self.buf[..])));
        self.buf.clear();
        Ok(())
    }

    /// Closes the current segment (its frames durable first) and starts the next one.
    fn roll_over(&mut self) -> Result<(), String> {
        // The closed segment is made durable here, so the syncer only ever needs the newest file.
        self.write_buffer()?;
        if self.durability == Durability::Fsync {
            let name = segments::segment_file_name(self.segment);
            self.file.sync_data().map_err(|e| format!("fdatasync of {name}: {e}"))?;
        }
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
        self.file = Arc::new(file);
        self.segment = next;
        self.offset = 0;
        Ok(())
    }
}

/// A caller and the answer it gets once its group is durable.
type Waiting = (Option<oneshot::Sender<AppendResult>>, AppendResult);

/// Groups written by the writer, waiting to be made durable, published and answered.
struct SyncJob {
    /// The segment the group was written to.
    file: Arc<File>,
    published: Vec<Published>,
    /// The group's frames, for the tail cache.
    pieces: Vec<Piece>,
    /// Callers to answer once the group is durable: written appends and conflicts.
    waiting: Vec<Waiting>,
    /// Chain head and write position after this group.
    head_hash: ChainHash,
    tail: (u32, u64),
}

/// Up to this many durable appends are answered by the syncer itself rather than the acker thread.
const ANSWER_DIRECTLY_MAX: usize = 4;

struct Syncer {
    shared: Arc<Shared>,
    rx: std_mpsc::Receiver<SyncJob>,
    ack_tx: std_mpsc::Sender<Vec<Waiting>>,
    head_tx: watch::Sender<u64>,
    durability: Durability,
}

impl Syncer {
    fn run(self) {
        let mut jobs = Vec::new();
        while let Ok(first) = self.rx.recv() {
            jobs.push(first);
            while let Ok(job) = self.rx.try_recv() {
                jobs.push(job);
            }
            self.sync_and_publish(&mut jobs);
            jobs.clear();
        }
    }

    fn sync_and_publish(&self, jobs: &mut Vec<SyncJob>) {
        use std::sync::atomic::Ordering::Relaxed;
        let started = std::time::Instant::now();
        let mut result = Ok(());
        if self.durability == Durability::Fsync {
            // Every job's bytes were written before it was queued, so one fdatasync per file covers all.
            let mut synced: Vec<*const File> = Vec::new();
            for job in jobs.iter() {
                let key = Arc::as_ptr(&job.file);
                if synced.contains(&key) {
                    continue;
                }
                synced.push(key);
                if let Err(e) = job.file.sync_data() {
                    result = Err(format!("fdatasync of segment {}: {e}", job.tail.0));
                    break;
                }
            }
        }
        let stats = &self.shared.stats;
        stats.groups.fetch_add(1, Relaxed);
        stats.sync_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        if let Err(reason) = result {
            tracing::error!(%reason, "the log syncer failed; refusing further writes until restart");
            *self.shared.poisoned.lock().expect("poison lock") = Some(reason.clone());
            for job in jobs.drain(..) {
                for (tx, _) in job.waiting {
                    if let Some(tx) = tx {
                        let _ = tx.send(Err(StoreError::Poisoned { reason: reason.clone() }));
                    }
                }
            }
            return;
        }
        let head = {
            let mut index = self.shared.index.write().expect("index lock");
            for job in jobs.iter() {
                let mut last_frame = index.tail.last_frame;
                for p in &job.published {
                    index.push_commit(
                        &p.stream,
                        p.first_position,
                        p.first_version,
                        p.segment,
                        p.offset,
                        p.count,
                    );
                    last_frame = Some((p.segment, p.offset, p.crc));
                    stats.events.fetch_add(p.count as u64, Relaxed);
                }
                index.head_hash = job.head_hash;
                index.tail = Tail { segment: job.tail.0, offset: job.tail.1, last_frame };
            }
            index.head_position()
        };
        {
            // Before the head moves, so a reader woken by it finds the new frames in memory.
            let mut tail = self.shared.tail.write().expect("tail lock");
            for job in jobs.iter_mut() {
                for piece in job.pieces.drain(..) {
                    tail.push(piece);
                }
            }
        }
        self.head_tx.send_replace(head);
        // Waking hundreds of callers takes a while; the acker does it so the next fdatasync starts now.
        // A few are answered here: a hop to the acker would cost them more than it saves.
        let waiting: Vec<_> = jobs.drain(..).flat_map(|job| job.waiting).collect();
        if waiting.len() <= ANSWER_DIRECTLY_MAX {
            answer_all(waiting);
        } else if let Err(std_mpsc::SendError(waiting)) = self.ack_tx.send(waiting) {
            answer_all(waiting);
        }
    }
}

fn answer_all(waiting: Vec<Waiting>) {
    for (tx, answer) in waiting {
        if let Some(tx) = tx {
            // The caller may have given up waiting; the outcome stands either way.
            let _ = tx.send(answer);
        }
    }
}

/// Answers durable appends for the syncer.
fn run_acker(rx: std_mpsc::Receiver<Vec<Waiting>>) {
    while let Ok(waiting) = rx.recv() {
        answer_all(waiting);
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
