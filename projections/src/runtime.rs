//! The projector runtime: keeps a read model current from the log, snapshots it with its checkpoint, and
//! rebuilds it from position 0 when its code changed or when asked, without taking it offline.
//!
//! - A read model is a pure fold ([`ReadModel::apply`]) with a name and a code version. Its state and the
//!   position of the last event folded into it (the checkpoint) travel together as a [`View`].
//! - [`Projector::open`] loads the newest snapshot (`<dir>/<name>.snapshot`, format and atomic replace in
//!   `infra::snapshot`) when it is intact and of the model's current version; otherwise the model starts
//!   empty at position 0 and is rebuilt by the catch-up. A torn or altered file is caught by its checksum
//!   and merely costs a rebuild.
//! - Readers ([`Handle`]) take the view under a read lock; the projector applies each batch under the write
//!   lock, so a reader sees a whole batch or none of it. [`Handle::wait_for`] is read-your-writes: it waits,
//!   bounded, until the view reflects a position, and answers `projection.behind` if it does not in time.
//! - Blue/green rebuild ([`Projector::request_rebuild`]): a fresh model folds the log from 0 on its own
//!   task while the live one keeps folding and answering; once the fresh one reaches the position it
//!   started towards, the live loop brings it up to its own position and swaps it in.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use infra::{EventStore, RecordedEvent, StoreError, Subscription};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot, watch};

/// How many events a catch-up reads at a time.
pub const READ_PAGE: usize = 4_096;

/// A read model: a pure fold over the recorded events of the log.
pub trait ReadModel: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name: the snapshot file and the command line use it.
    const NAME: &'static str;
    /// The fold's code version: bump it whenever a change to the fold changes what it computes. A snapshot
    /// of another version is discarded and the model rebuilt from position 0.
    const VERSION: u32;

    /// Whether events of this stored type name change the model (a cheap filter before decoding).
    fn listens_to(event_type: &str) -> bool;

    /// Folds one event the model listens to. An error (an event that does not decode) stops the
    /// projector: a read model that skipped an event would answer wrongly without saying so.
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), StoreError>;
}

/// A model and the position of the last event folded into it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View<M> {
    pub model: M,
    pub position: u64,
}

impl<M: ReadModel> View<M> {
    /// Folds `events` (in log order, after `self.position`).
    pub fn apply_all(&mut self, events: &[RecordedEvent]) -> Result<(), StoreError> {
        for event in events {
            if event.position <= self.position {
                continue;
            }
            if M::listens_to(event.event_type.name()) {
                self.model.apply(event)?;
            }
            self.position = event.position;
        }
        Ok(())
    }

    /// Folds the log from `self.position` up to `until` (inclusive), keeping only the events `keep`
    /// accepts (the position still moves past the others).
    pub async fn catch_up_filtered<S: EventStore>(
        &mut self,
        store: &S,
        until: u64,
        keep: impl Fn(&RecordedEvent) -> bool,
    ) -> Result<(), StoreError> {
        while self.position < until {
            let page = store.read_all(self.position + 1, READ_PAGE).await?;
            if page.is_empty() {
                break;
            }
            let last = page.last().expect("not empty").position.min(until);
            let kept: Vec<RecordedEvent> =
                page.into_iter().take_while(|e| e.position <= until).filter(|e| keep(e)).collect();
            self.apply_all(&kept)?;
            self.position = last;
        }
        Ok(())
    }

    /// Folds the log from `self.position` up to `until` (inclusive), page by page, calling `progress`
    /// with the position reached after each page.
    pub async fn catch_up<S: EventStore>(
        &mut self,
        store: &S,
        until: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        while self.position < until {
            let page = store.read_all(self.position + 1, READ_PAGE).await?;
            if page.is_empty() {
                break;
            }
            let page: Vec<RecordedEvent> = page.into_iter().take_while(|e| e.position <= until).collect();
            self.apply_all(&page)?;
            progress(self.position);
        }
        Ok(())
    }
}

/// Why a projection did not answer or could not keep up.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(
        "read model {name} is at position {at}; position {wanted} was asked for and not reached in {waited:?}"
    )]
    Behind { name: &'static str, at: u64, wanted: u64, waited: Duration },
    #[error("snapshot {path}: {source}")]
    Snapshot { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProjectionError {
    /// A stable machine code per kind.
    pub fn code(&self) -> &'static str {
        match self {
            ProjectionError::Behind { .. } => "projection.behind",
            ProjectionError::Snapshot { .. } => "projection.snapshot",
            ProjectionError::Store(e) => e.code(),
        }
    }
}

/// What opening found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// An intact snapshot of the current version, at this position.
    Snapshot { position: u64 },
    /// No snapshot yet: the model starts from position 0.
    Empty,
    /// A snapshot of another code version: discarded, the model is rebuilt from position 0.
    VersionChanged { found: u32 },
    /// A snapshot that does not read back (torn, altered, or of another model): discarded, rebuilt.
    Damaged { reason: String },
}

/// The snapshot file of a model in `dir`.
pub fn snapshot_path<M: ReadModel>(dir: &Path) -> PathBuf {
    infra::snapshot::snapshot_path(dir, M::NAME)
}

/// Writes `view` as `M`'s snapshot in `dir`, atomically (the format is `infra::snapshot`'s).
pub fn write_snapshot<M: ReadModel>(dir: &Path, view: &View<M>) -> Result<(), ProjectionError> {
    infra::snapshot::write_snapshot(dir, M::NAME, M::VERSION, view.position, &view.model)
        .map_err(|source| ProjectionError::Snapshot { path: snapshot_path::<M>(dir), source })
}

/// Reads `M`'s snapshot from `dir`: the view when it is intact and of the current version.
pub fn read_snapshot<M: ReadModel>(dir: &Path) -> (Option<View<M>>, Opened) {
    use infra::snapshot::SnapshotRead;
    match infra::snapshot::read_snapshot::<M>(dir, M::NAME, M::VERSION) {
        SnapshotRead::Found { state, position } => {
            (Some(View { model: state, position }), Opened::Snapshot { position })
        }
        SnapshotRead::Missing => (None, Opened::Empty),
        SnapshotRead::OtherVersion { found } => (None, Opened::VersionChanged { found }),
        SnapshotRead::Damaged { reason } => (None, Opened::Damaged { reason }),
    }
}

/// Shared access to a projection's current view, and the way to ask for a rebuild.
pub struct Handle<M> {
    view: Arc<RwLock<View<M>>>,
    position: watch::Receiver<u64>,
    rebuilds: watch::Receiver<u32>,
    requests: mpsc::UnboundedSender<()>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Handle {
            view: self.view.clone(),
            position: self.position.clone(),
            rebuilds: self.rebuilds.clone(),
            requests: self.requests.clone(),
        }
    }
}

impl<M: ReadModel> Handle<M> {
    /// Answers `f` over the current model, with the position it reflects.
    pub fn read<R>(&self, f: impl FnOnce(&M) -> R) -> (R, u64) {
        let view = self.view.read().expect("a projector never panics while holding the view");
        (f(&view.model), view.position)
    }

    /// The position the view reflects.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Asks the running projector for a blue/green rebuild (see [`Projector::request_rebuild`]).
    pub fn request_rebuild(&self) {
        // A projector that has stopped has nothing to rebuild.
        let _ = self.requests.send(());
    }

    /// How many rebuilds have been swapped in since the projector opened.
    pub fn rebuilds(&self) -> u32 {
        *self.rebuilds.borrow()
    }

    /// Waits until at least `count` rebuilds were swapped in, at most `timeout`; answers whether they were.
    pub async fn wait_for_rebuilds(&self, count: u32, timeout: Duration) -> bool {
        let mut watcher = self.rebuilds.clone();
        matches!(tokio::time::timeout(timeout, watcher.wait_for(|n| *n >= count)).await, Ok(Ok(_)))
    }

    /// Waits until the view reflects `position` (read-your-writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let started = Instant::now();
        let mut watcher = self.position.clone();
        let reached = tokio::time::timeout(timeout, watcher.wait_for(|at| *at >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            // Timed out, or the projector is gone and the view will not move again.
            _ => Err(ProjectionError::Behind {
                name: M::NAME,
                at: self.position(),
                wanted: position,
                waited: started.elapsed(),
            }),
        }
    }
}

/// Keeps one read model current: catch-up, live folding, snapshots, rebuilds.
pub struct Projector<M: ReadModel, S: EventStore> {
    store: S,
    dir: PathBuf,
    view: Arc<RwLock<View<M>>>,
    position: watch::Sender<u64>,
    opened: Opened,
    /// Events folded between two snapshots, at most.
    snapshot_every: u64,
    snapshot_at: u64,
    rebuild: Option<oneshot::Receiver<Result<View<M>, StoreError>>>,
    rebuilds: watch::Sender<u32>,
    requests: (mpsc::UnboundedSender<()>, mpsc::UnboundedReceiver<()>),
}

impl<M: ReadModel, S: EventStore> Projector<M, S> {
    /// Opens the projector of `M` over `store`, with its snapshots in `dir`.
    pub fn open(store: S, dir: impl Into<PathBuf>) -> Projector<M, S> {
        let dir = dir.into();
        let (view, opened) = read_snapshot::<M>(&dir);
        if let Opened::VersionChanged { found } = &opened {
            tracing::info!(
                model = M::NAME,
                found,
                current = M::VERSION,
                "read model code changed: rebuilding"
            );
        }
        if let Opened::Damaged { reason } = &opened {
            tracing::warn!(model = M::NAME, reason, "snapshot unusable: rebuilding");
        }
        let view = view.unwrap_or_default();
        let snapshot_at = view.position;
        let (position, _) = watch::channel(view.position);
        Projector {
            store,
            dir,
            view: Arc::new(RwLock::new(view)),
            position,
            opened,
            snapshot_every: 1_000_000,
            snapshot_at,
            rebuild: None,
            rebuilds: watch::channel(0).0,
            requests: mpsc::unbounded_channel(),
        }
    }

    /// Snapshots after at most this many folded events (and always when caught up or stopping).
    pub fn with_snapshot_every(mut self, events: u64) -> Self {
        self.snapshot_every = events.max(1);
        self
    }

    /// What opening found.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    pub fn handle(&self) -> Handle<M> {
        Handle {
            view: self.view.clone(),
            position: self.position.subscribe(),
            rebuilds: self.rebuilds.subscribe(),
            requests: self.requests.0.clone(),
        }
    }

    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    fn fold(&mut self, events: &[RecordedEvent]) -> Result<(), StoreError> {
        let at = {
            let mut view = self.view.write().expect("a projector never panics while holding the view");
            view.apply_all(events)?;
            view.position
        };
        self.position.send_replace(at);
        Ok(())
    }

    fn snapshot(&mut self) -> Result<(), ProjectionError> {
        let view = self.view.read().expect("a projector never panics while holding the view");
        write_snapshot::<M>(&self.dir, &view)?;
        self.snapshot_at = view.position;
        Ok(())
    }

    /// Folds the log up to its head as of now, then snapshots. `progress` is called with the position
    /// reached and the head after every page.
    pub async fn catch_up(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64, ProjectionError> {
        self.advance(progress).await?;
        if self.snapshot_at != self.position() || !snapshot_path::<M>(&self.dir).exists() {
            self.snapshot()?;
        }
        Ok(self.position())
    }

    /// Folds the log up to its head as of now, snapshotting only as often as `snapshot_every` says (as
    /// the live loop does).
    pub async fn advance(&mut self, mut progress: impl FnMut(u64, u64)) -> Result<u64, ProjectionError> {
        let head = self.store.head_position().await?;
        while self.position() < head {
            let page = self.store.read_all(self.position() + 1, READ_PAGE).await?;
            if page.is_empty() {
                break;
            }
            self.fold(&page)?;
            progress(self.position(), head);
            if self.position() - self.snapshot_at >= self.snapshot_every {
                self.snapshot()?;
            }
        }
        Ok(self.position())
    }

    /// Starts a blue/green rebuild: a fresh model folds the log from 0 on its own task while this one
    /// keeps folding and answering; [`run`](Projector::run) swaps it in once it has caught up.
    pub fn request_rebuild(&mut self) {
        let store = self.store.clone();
        let (done, receiver) = oneshot::channel();
        tokio::spawn(async move {
            let fresh = async {
                let head = store.head_position().await?;
                let mut view = View::<M>::default();
                view.catch_up(&store, head, |_| {}).await?;
                Ok(view)
            };
            let _ = done.send(fresh.await);
        });
        self.rebuild = Some(receiver);
    }

    /// Swaps in a finished rebuild, brought up to this projector's position first.
    async fn finish_rebuild(&mut self) -> Result<bool, ProjectionError> {
        let Some(receiver) = self.rebuild.as_mut() else { return Ok(false) };
        let fresh = match receiver.try_recv() {
            Ok(fresh) => fresh,
            Err(oneshot::error::TryRecvError::Empty) => return Ok(false),
            Err(oneshot::error::TryRecvError::Closed) => {
                self.rebuild = None;
                return Ok(false);
            }
        };
        self.rebuild = None;
        let mut fresh = fresh?;
        let live = self.position();
        fresh.catch_up(&self.store, live, |_| {}).await?;
        *self.view.write().expect("a projector never panics while holding the view") = fresh;
        self.snapshot()?;
        self.rebuilds.send_modify(|n| *n += 1);
        tracing::info!(model = M::NAME, position = live, "rebuilt read model swapped in");
        Ok(true)
    }

    /// Whether a requested rebuild has not been swapped in yet.
    pub fn rebuilding(&self) -> bool {
        self.rebuild.is_some()
    }

    /// Folds the live log until `stop` turns true, snapshotting as it goes and when it stops.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<(), ProjectionError> {
        self.catch_up(|_, _| {}).await?;
        let mut subscription = self.store.subscribe_all(self.position());
        loop {
            // A finished rebuild is swapped in between batches (brought up to the live position first, so
            // the subscription goes on from where it is); a short wait keeps an idle log from stalling it.
            self.finish_rebuild().await?;
            let batch = tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                    continue;
                }
                Some(()) = self.requests.1.recv() => {
                    if self.rebuild.is_none() {
                        self.request_rebuild();
                    }
                    continue;
                }
                batch = subscription.next_batch(READ_PAGE) => batch?,
                _ = tokio::time::sleep(Duration::from_millis(20)), if self.rebuild.is_some() => continue,
            };
            self.fold(&batch)?;
            if self.position() - self.snapshot_at >= self.snapshot_every {
                self.snapshot()?;
            }
        }
        self.snapshot()
    }
}

/// A point in the past a model can be asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsOf {
    /// Everything up to and including this log position.
    Position(u64),
    /// Every event whose business time is at or before this instant, wherever it sits in the log: a
    /// back-dated event counts on its own date.
    Date(domain::Timestamp),
}

/// Models as of past points, folded from the log into a fresh model on demand (reports never replay
/// history into the live model), the most recent few kept. A position's model never changes; a date's
/// can (a back-dated event may arrive later), so it is kept only for the head it was folded to.
pub struct AsOfCache<M> {
    capacity: usize,
    entries: std::sync::Mutex<std::collections::VecDeque<(AsOf, u64, Arc<M>)>>,
}

impl<M: ReadModel> AsOfCache<M> {
    pub fn new(capacity: usize) -> AsOfCache<M> {
        AsOfCache { capacity: capacity.max(1), entries: Default::default() }
    }

    /// The model as of `at`, from the cache or folded now.
    pub async fn get<S: EventStore>(&self, store: &S, at: AsOf) -> Result<Arc<M>, StoreError> {
        let head = store.head_position().await?;
        let (until, keys_head) = match at {
            AsOf::Position(position) => (position.min(head), 0),
            AsOf::Date(_) => (head, head),
        };
        {
            let entries = self.entries.lock().expect("the cache lock is never held across a panic");
            if let Some((_, _, model)) = entries.iter().find(|(a, h, _)| *a == at && *h == keys_head) {
                return Ok(model.clone());
            }
        }
        let mut view = View::<M>::default();
        match at {
            AsOf::Position(_) => view.catch_up(store, until, |_| {}).await?,
            AsOf::Date(date) => {
                view.catch_up_filtered(store, until, |e| e.metadata.occurred_at <= date).await?
            }
        }
        let model = Arc::new(view.model);
        let mut entries = self.entries.lock().expect("the cache lock is never held across a panic");
        entries.retain(|(a, _, _)| *a != at);
        entries.push_front((at, keys_head, model.clone()));
        entries.truncate(self.capacity);
        Ok(model)
    }
}
