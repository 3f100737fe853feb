//! The embedded event store: the default adapter, a segmented append-only log on local disk.
//!
//! - One writer thread owns appends; callers hand it requests through a bounded queue and wait for a
//!   reply that is sent only after the bytes are durable (group commit: every request waiting when the
//!   writer wakes shares one write and one fdatasync). See `writer.rs`.
//! - An in-memory index (`index.rs`) maps positions and stream versions to frame locations; it is
//!   loaded from a checkpoint and completed by scanning the frames after it.
//! - Recovery on open truncates a torn tail and refuses to open a log with a damaged frame followed by
//!   intact ones, naming segment and offset (`open.rs`).
//! - An exclusive lock on `LOCK` keeps a second process out of the directory.

mod index;
mod open;
mod read;
mod segments;
mod tail;
pub mod verify;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot, watch};

use crate::envelope::{
    Appended, ChainHash, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId,
    WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::limits;
use crate::port::{AppendResult, EventStore, Subscription};

pub use verify::{VerifyReport, verify_data_dir};

/// When an append is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// After fdatasync: an acknowledged append survives a crash or power loss. The default.
    Fsync,
    /// After the write system call only: survives a process crash, not a power loss. For tests and
    /// throw-away demos; opening a store this way logs a warning.
    None,
}

#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// A segment is closed and the next one started when a frame would take it past this size.
    pub segment_bytes_max: u64,
    /// Check the CRC of every frame covered by the index checkpoint on open (the frames after it are
    /// always checked). On by default so that a damaged frame anywhere stops the open.
    pub verify_crc_on_open: bool,
    /// Check those frames on a thread of their own after the open instead of before it (ADR 0012): the
    /// store serves at once, and a damaged frame found later poisons it (appends are refused with the
    /// damage named; [`EmbeddedStore::damage`] says so) instead of failing the open. Reads check every
    /// frame's CRC as they go either way. Off by default; the service turns it on for a fast start.
    pub verify_in_background: bool,
    pub writer_queue_max: usize,
    /// How long an append waits for room in the writer queue before it is refused as overloaded.
    pub writer_queue_wait_max: std::time::Duration,
    /// Every this many events the writer snapshots the index and saves it as a checkpoint in the
    /// background, which bounds the scan after a crash (about 1.5 s per million single-event frames).
    pub checkpoint_every_events: u64,
    /// Bytes of the newest durable frames kept in memory for readers that follow the head (see
    /// `tail.rs`); 0 turns the cache off.
    pub tail_cache_bytes: usize,
}

impl EmbeddedConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmbeddedConfig {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            segment_bytes_max: limits::SEGMENT_BYTES_DEFAULT,
            verify_crc_on_open: true,
            verify_in_background: false,
            writer_queue_max: limits::WRITER_QUEUE_MAX,
            writer_queue_wait_max: limits::WRITER_QUEUE_WAIT_MAX,
            checkpoint_every_events: 2_000_000,
            tail_cache_bytes: limits::TAIL_CACHE_BYTES_DEFAULT,
        }
    }
}

/// What open found and did; logged, and returned for tests and the CLI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub head_position: u64,
    pub streams: usize,
    pub segments: u32,
    /// Events found in the checkpoint (not scanned).
    pub events_from_checkpoint: u64,
    /// Events found by scanning frames after the checkpoint.
    pub events_scanned: u64,
    /// Bytes cut off the end of the last segment as a torn tail, with where the cut was made.
    pub torn_tail: Option<TornTail>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub segment: String,
    pub offset: u64,
    pub bytes_dropped: u64,
    pub reason: String,
}

/// The embedded store. Cheap to clone; the last clone to go away stops the writer and writes the index
/// checkpoint (or call [`EmbeddedStore::close`]).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// State shared by readers, subscriptions and the writer thread.
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub index: RwLock<index::Index>,
    /// Read handles of the segments, by number. The writer pushes one when it starts a segment.
    pub segments: RwLock<Vec<Arc<File>>>,
    /// The durable head position; the sender lives in the writer thread, so it closes when the writer stops.
    pub head_rx: watch::Receiver<u64>,
    /// Set when a write or fsync failed: the log's tail is in doubt, so no further write is accepted.
    pub poisoned: Mutex<Option<String>>,
    pub stats: WriterStats,
    /// The newest durable frames, filled by the syncer before it moves the head.
    pub tail: RwLock<tail::TailCache>,
}

/// Counters kept by the writer thread: how well group commit is working.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Group commits (one write and one fdatasync each).
    pub groups: std::sync::atomic::AtomicU64,
    /// Appends answered (written, retried or refused).
    pub appends: std::sync::atomic::AtomicU64,
    /// Events written.
    pub events: std::sync::atomic::AtomicU64,
    /// Time spent in write + fdatasync, microseconds.
    pub sync_micros: std::sync::atomic::AtomicU64,
}

/// A snapshot of [`WriterStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStatsSnapshot {
    pub groups: u64,
    pub appends: u64,
    pub events: u64,
    pub sync_micros: u64,
}

struct Inner {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<writer::Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    report: OpenReport,
    queue_wait_max: std::time::Duration,
    /// Held for the life of the store: the exclusive lock on the data directory.
    _lock: File,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `config.data_dir`, recovering as described in `open.rs`.
    pub fn open(config: EmbeddedConfig) -> Result<EmbeddedStore, StoreError> {
        if config.durability == Durability::None {
            tracing::warn!(
                dir = %config.data_dir.display(),
                "embedded store opened with durability = none: acknowledged appends can be lost on power failure"
            );
        }
        if config.segment_bytes_max > limits::SEGMENT_BYTES_MAX || config.segment_bytes_max < 4096 {
            return Err(StoreError::InvalidMetadata {
                reason: format!("segment_bytes_max must be between 4096 and {}", limits::SEGMENT_BYTES_MAX),
            });
        }
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StoreError::io(format!("creating {}", config.data_dir.display()), e))?;
        let lock = lock_data_dir(&config.data_dir)?;
        let opened = open::recover(&config)?;
        let (head_tx, head_rx) = watch::channel(opened.index.head_position());
        let report = opened.report.clone();
        let shared = Arc::new(Shared {
            dir: config.data_dir.clone(),
            index: RwLock::new(opened.index),
            segments: RwLock::new(opened.segment_files),
            head_rx,
            poisoned: Mutex::new(None),
            stats: WriterStats::default(),
            tail: RwLock::new(tail::TailCache::new(config.tail_cache_bytes)),
        });
        if let Some(check) = opened.deferred_check {
            let shared = shared.clone();
            let dir = config.data_dir.clone();
            std::thread::Builder::new()
                .name("erp-verify".into())
                .spawn(move || {
                    let started = std::time::Instant::now();
                    match check() {
                        Ok(()) => tracing::info!(
                            dir = %dir.display(),
                            seconds = started.elapsed().as_secs_f64(),
                            "every frame under the checkpoint verified"
                        ),
                        Err(e) => {
                            tracing::error!(dir = %dir.display(), error = %e, "the log is damaged: appends refused");
                            *shared.poisoned.lock().expect("poison lock") = Some(e.to_string());
                        }
                    }
                })
                .map_err(|e| StoreError::io("starting the verification thread", e))?;
        }
        let (tx, rx) = mpsc::channel(config.writer_queue_max.max(1));
        let writer = writer::spawn(shared.clone(), rx, head_tx, opened.write_file, &config)?;
        tracing::info!(
            dir = %config.data_dir.display(),
            head_position = report.head_position,
            streams = report.streams,
            from_checkpoint = report.events_from_checkpoint,
            scanned = report.events_scanned,
            "embedded store opened"
        );
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                shared,
                tx: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                report,
                queue_wait_max: config.writer_queue_wait_max,
                _lock: lock,
            }),
        })
    }

    /// Opens with default settings (fsync durability).
    pub fn open_dir(dir: impl Into<PathBuf>) -> Result<EmbeddedStore, StoreError> {
        Self::open(EmbeddedConfig::new(dir))
    }

    /// What recovery found when this store was opened.
    pub fn open_report(&self) -> &OpenReport {
        &self.inner.report
    }

    /// Why the store refuses appends, if it does: damage found by the verification after open, or a
    /// writer failure. `None` for a healthy store.
    pub fn damage(&self) -> Option<String> {
        self.inner.shared.poisoned.lock().expect("poison lock").clone()
    }

    /// Stops accepting appends, waits for the writer to finish the ones in flight, and writes the index
    /// checkpoint. Other clones see `store.closed` from then on.
    pub fn close(&self) -> Result<(), StoreError> {
        self.inner.shutdown()
    }

    /// Group-commit counters since open.
    pub fn writer_stats(&self) -> WriterStatsSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &self.inner.shared.stats;
        WriterStatsSnapshot {
            groups: stats.groups.load(Relaxed),
            appends: stats.appends.load(Relaxed),
            events: stats.events.load(Relaxed),
            sync_micros: stats.sync_micros.load(Relaxed),
        }
    }

    /// The hash of the last commit (the head of the hash chain).
    pub fn head_hash(&self) -> ChainHash {
        self.inner.shared.index.read().expect("index lock").head_hash
    }

    pub fn head_position_now(&self) -> u64 {
        self.inner.shared.index.read().expect("index lock").head_position()
    }

    /// Synchronous [`EventStore::read_all`], for batch tools and benchmarks.
    pub fn read_all_blocking(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.shared.read_all(from_position, max_count)
    }

    /// Synchronous [`EventStore::read_page`]: frames read straight into the page's buffer.
    pub fn read_page_blocking(
        &self,
        from_position: u64,
        max_count: usize,
        page: &mut crate::LogPage,
    ) -> Result<(), StoreError> {
        self.inner.shared.read_page(from_position, max_count, page)
    }

    /// Visits every event from `from_position` to the head in order without building owned envelopes:
    /// the fast path for replays and rebuilds. Returns the number of events visited.
    pub fn replay_from(
        &self,
        from_position: u64,
        visit: impl FnMut(read::EventRef<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.inner.shared.replay(from_position, visit)
    }

    /// Synchronous [`EventStore::read_stream`].
    pub fn read_stream_blocking(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.shared.read_stream(stream, from_version, max_count)
    }

    /// Appends commits copied from another log, in order, each with its own recording time, at exactly
    /// its first version (`erp migrate`, ADR 0017). They go to the writer one after another without
    /// waiting for each other's flush, so a batch shares its fsyncs like concurrent appends do; the
    /// writer takes them in the order sent. Answers each commit's outcome, in order; a commit whose
    /// stream is not where the copy expects answers a conflict (and later ones of the batch are still
    /// decided: the caller stops at the first conflict).
    pub async fn import(
        &self,
        commits: Vec<ImportCommit>,
    ) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
        let mut replies = Vec::with_capacity(commits.len());
        let requests = commits
            .iter()
            .map(|commit| {
                let request = writer::Request::new(&commit.stream, commit.expected(), &commit.events)?;
                Ok(writer::Request { recorded_at: Some(commit.recorded_at.unix_micros()), ..request })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let tx = self.inner.tx.lock().expect("tx lock").clone().ok_or(StoreError::Closed)?;
        for request in requests {
            let (reply_tx, reply_rx) = oneshot::channel();
            tx.send(writer::Request { reply: Some(reply_tx), ..request })
                .await
                .map_err(|_| StoreError::Closed)?;
            replies.push(reply_rx);
        }
        let mut outcomes = Vec::with_capacity(replies.len());
        for reply in replies {
            outcomes.push(reply.await.map_err(|_| StoreError::Closed)??);
        }
        Ok(outcomes)
    }

    /// The directory of the log's segment files.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.shared.dir
    }

    async fn append_inner(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> AppendResult {
        let request = writer::Request::new(stream, expected, &events)?;
        let (reply_tx, reply_rx) = oneshot::channel();
        let request = writer::Request { reply: Some(reply_tx), ..request };
        let tx = self.inner.tx.lock().expect("tx lock").clone().ok_or(StoreError::Closed)?;
        let wait = self.inner.queue_wait_max;
        match tx.send_timeout(request, wait).await {
            Ok(()) => {}
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                return Err(StoreError::Overloaded { waited_ms: wait.as_millis() as u64 });
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => return Err(StoreError::Closed),
        }
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }
}

impl Inner {
    fn shutdown(&self) -> Result<(), StoreError> {
        let tx = self.tx.lock().expect("tx lock").take();
        drop(tx);
        let writer = self.writer.lock().expect("writer lock").take();
        let Some(writer) = writer else { return Ok(()) };
        if writer.join().is_err() {
            return Err(StoreError::Poisoned { reason: "the writer thread panicked".into() });
        }
        if self.shared.poisoned.lock().expect("poison lock").is_some() {
            // The tail is in doubt; let the next open recover it from the log rather than checkpoint it.
            return Ok(());
        }
        let index = self.shared.index.read().expect("index lock");
        index.save_checkpoint(&self.shared.dir)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "closing the embedded store failed");
        }
    }
}

fn lock_data_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::DataDirLocked { dir: dir.to_path_buf(), lock: path })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(format!("locking {}", path.display()), e)),
    }
}

/// fsyncs a directory so that a created or renamed file inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("fsync of directory {}", dir.display()), e))
}

impl EventStore for EmbeddedStore {
    type Subscription = EmbeddedSubscription;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = AppendResult> + Send {
        self.append_inner(stream, expected, events)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Most reads of a stream are a command bus catching up a cached aggregate: nothing or a few events,
        // a few positioned reads from the page cache. Those run inline; a hand-off to the blocking pool
        // costs more than they do. Larger reads go to the pool so a worker thread is never held long.
        let wanted = {
            let index = self.inner.shared.index.read().expect("index lock");
            (index.stream_len(stream.as_str()).saturating_sub(from_version) as usize).min(max_count)
        };
        if wanted <= INLINE_READ_EVENTS_MAX {
            return self.inner.shared.read_stream(stream, from_version, max_count);
        }
        let shared = self.inner.shared.clone();
        let stream = stream.clone();
        tokio::task::spawn_blocking(move || shared.read_stream(&stream, from_version, max_count))
            .await
            .map_err(|e| StoreError::Poisoned { reason: format!("read task failed: {e}") })?
    }

    async fn read_all(&self, from_position: u64, max_count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let wanted =
            (self.head_position_now().saturating_sub(from_position.max(1)) + 1).min(max_count as u64);
        if let Some(recent) = self.inner.shared.read_recent(from_position, max_count) {
            return recent;
        }
        if from_position.max(1) > self.head_position_now() || wanted as usize <= INLINE_READ_EVENTS_MAX {
            return self.inner.shared.read_all(from_position, max_count);
        }
        let shared = self.inner.shared.clone();
        tokio::task::spawn_blocking(move || shared.read_all(from_position, max_count))
            .await
            .map_err(|e| StoreError::Poisoned { reason: format!("read task failed: {e}") })?
    }

    async fn read_page(
        &self,
        from_position: u64,
        max_count: usize,
        page: &mut crate::LogPage,
    ) -> Result<(), StoreError> {
        let wanted =
            (self.head_position_now().saturating_sub(from_position.max(1)) + 1).min(max_count as u64);
        if from_position.max(1) > self.head_position_now() || wanted as usize <= INLINE_READ_EVENTS_MAX {
            return self.inner.shared.read_page(from_position, max_count, page);
        }
        // The page moves to the blocking task and back, so its buffers are still reused.
        let shared = self.inner.shared.clone();
        let mut owned = std::mem::take(page);
        let (owned, read) = tokio::task::spawn_blocking(move || {
            let read = shared.read_page(from_position, max_count, &mut owned);
            (owned, read)
        })
        .await
        .map_err(|e| StoreError::Poisoned { reason: format!("read task failed: {e}") })?;
        *page = owned;
        read
    }

    fn subscribe_all(&self, checkpoint: u64) -> EmbeddedSubscription {
        EmbeddedSubscription {
            shared: self.inner.shared.clone(),
            head_rx: self.inner.shared.head_rx.clone(),
            checkpoint,
            buffer: std::collections::VecDeque::new(),
        }
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(self.head_position_now())
    }
}

/// Reads of at most this many events run on the caller's task instead of the blocking pool.
const INLINE_READ_EVENTS_MAX: usize = 16;

/// Events fetched per catch-up read of a subscription.
const SUBSCRIPTION_BATCH_MAX: usize = 1024;

/// Catch-up then live: reads the log by position until it reaches the durable head, then waits for the
/// head to move. Because it always reads by position, it can neither skip nor repeat an event.
pub struct EmbeddedSubscription {
    shared: Arc<Shared>,
    head_rx: watch::Receiver<u64>,
    checkpoint: u64,
    buffer: std::collections::VecDeque<RecordedEvent>,
}

impl Subscription for EmbeddedSubscription {
    async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                assert_eq!(event.position, self.checkpoint + 1, "a subscription must not skip or repeat");
                self.checkpoint = event.position;
                return Ok(event);
            }
            let head = *self.head_rx.borrow_and_update();
            if head > self.checkpoint {
                let shared = self.shared.clone();
                let from = self.checkpoint + 1;
                if let Some(recent) = self.shared.read_recent(from, SUBSCRIPTION_BATCH_MAX) {
                    let recent = recent?;
                    if !recent.is_empty() {
                        self.buffer.extend(recent);
                        continue;
                    }
                }
                let batch =
                    tokio::task::spawn_blocking(move || shared.read_all(from, SUBSCRIPTION_BATCH_MAX))
                        .await
                        .map_err(|e| StoreError::Poisoned { reason: format!("read task failed: {e}") })??;
                self.buffer.extend(batch);
                continue;
            }
            if self.head_rx.changed().await.is_err() {
                // The writer stopped; deliver whatever became durable before it did, then report closed.
                let head = self.shared.index.read().expect("index lock").head_position();
                if head > self.checkpoint {
                    continue;
                }
                return Err(StoreError::Closed);
            }
        }
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let first = self.next().await?;
        let take = self.buffer.len().min(max.max(1) - 1);
        let mut out = Vec::with_capacity(take + 1);
        out.push(first);
        out.extend(self.buffer.drain(..take));
        let last = out.last().expect("one at least").position;
        assert_eq!(last, self.checkpoint + take as u64, "a subscription must not skip or repeat");
        self.checkpoint = last;
        Ok(out)
    }
}
