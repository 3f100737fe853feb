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

use infra::{Envelope, EventStore, LogPage, RecordedEvent, StoreError, Subscription};

use crate::fact::Fact;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot, watch};

/// How many events a catch-up reads at a time. A page and its facts (about 0.6 MiB at 1,024 events)
/// stay in the L2 cache while every model folds them in turn; at 4,096 they did not, and W2 on one
/// thread at ten million events ran 4-15 % slower (three paired runs, docs/benchmarks.md).
pub const READ_PAGE: usize = 1_024;

/// Pages a catch-up's reader may read and decode ahead of the fold (bounded: memory, not speed).
pub const CATCH_UP_PAGES_AHEAD: usize = 4;

/// A read model: a pure fold over the recorded events of the log.
pub trait ReadModel: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name: the snapshot file and the command line use it.
    const NAME: &'static str;
    /// The fold's code version: bump it whenever a change to the fold changes what it computes. A snapshot
    /// of another version is discarded and the model rebuilt from position 0.
    const VERSION: u32;

    /// Folds one event: its envelope and its decoded content ([`Fact::Other`] for a type no read model
    /// folds). The runtime decodes each event once for every model (ADR 0012), so a fold cannot fail.
    /// The envelope is borrowed (from a [`LogPage`] or a [`RecordedEvent`]): models never read payloads.
    fn apply(&mut self, event: &Envelope<'_>, fact: &Fact);
}

/// A model and the position of the last event folded into it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View<M> {
    pub model: M,
    pub position: u64,
}

impl<M: ReadModel> View<M> {
    /// Folds `events` with their facts, decoded once for several models (`facts[i]` is `events[i]`'s).
    pub fn apply_facts(&mut self, events: &[RecordedEvent], facts: &[Fact]) {
        debug_assert_eq!(events.len(), facts.len());
        for (event, fact) in events.iter().zip(facts) {
            self.apply_one(&event.envelope(), fact);
        }
    }

    /// Folds a page with its facts (`facts[i]` is the page's `i`-th event's).
    pub fn apply_page(&mut self, page: &LogPage, facts: &[Fact]) {
        self.apply_envelopes(&page.envelopes().collect::<Vec<_>>(), facts);
    }

    /// Folds envelopes with their facts. Several models folding one page share its envelopes, built
    /// once: built again for each model they cost a quarter of the fold.
    pub fn apply_envelopes(&mut self, events: &[Envelope<'_>], facts: &[Fact]) {
        debug_assert_eq!(events.len(), facts.len());
        for (event, fact) in events.iter().zip(facts) {
            self.apply_one(event, fact);
        }
    }

    fn apply_one(&mut self, event: &Envelope<'_>, fact: &Fact) {
        if event.position <= self.position {
            return;
        }
        self.model.apply(event, fact);
        self.position = event.position;
    }

    /// Folds the log from `self.position` up to `until` (inclusive), keeping only the events `keep`
    /// accepts (the position still moves past the others).
    pub async fn catch_up_filtered<S: EventStore>(
        &mut self,
        store: &S,
        until: u64,
        keep: impl Fn(&Envelope<'_>) -> bool,
    ) -> Result<(), StoreError> {
        let mut pages = ReadAhead::start(store.clone(), self.position, until);
        while let Some((page, facts)) = pages.next().await? {
            for (event, fact) in page.envelopes().zip(&facts) {
                if keep(&event) {
                    self.model.apply(&event, fact);
                }
                self.position = event.position;
            }
            pages.recycle(page, facts);
        }
        pages.finish().await;
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
        let mut pages = ReadAhead::start(store.clone(), self.position, until);
        while let Some((page, facts)) = pages.next().await? {
            self.apply_page(&page, &facts);
            progress(self.position);
            pages.recycle(page, facts);
        }
        pages.finish().await;
        Ok(())
    }
}

/// A page of the log with each event's fact.
type DecodedPage = (LogPage, Vec<Fact>);

/// Pages of the log after `from` up to `until`, read by one task and decoded by another ahead of
/// whoever folds them: a catch-up (a rebuild, a cold start's tail, an as-of fold) keeps two cores busy
/// where there are two. Bounded: [`CATCH_UP_PAGES_AHEAD`] pages between each stage. Folded pages go
/// back to the reader ([`ReadAhead::recycle`]), so a catch-up reuses a handful of pages' buffers
/// instead of allocating (and having the kernel zero) fresh ones for every page.
struct ReadAhead {
    decoded: mpsc::Receiver<Result<DecodedPage, StoreError>>,
    spare: std::sync::mpsc::SyncSender<DecodedPage>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl ReadAhead {
    fn start<S: EventStore>(store: S, from: u64, until: u64) -> ReadAhead {
        let (pages, mut read) = mpsc::channel::<Result<DecodedPage, StoreError>>(CATCH_UP_PAGES_AHEAD);
        let (decoded_pages, decoded) = mpsc::channel(CATCH_UP_PAGES_AHEAD);
        // Room for every page in flight: a recycled page is never refused for want of space.
        let (spare, spares) = std::sync::mpsc::sync_channel::<DecodedPage>(2 * CATCH_UP_PAGES_AHEAD + 4);
        let reader = tokio::spawn(async move {
            let mut at = from;
            while at < until {
                let (mut page, facts) = spares.try_recv().unwrap_or_default();
                let wanted = (until - at).min(READ_PAGE as u64) as usize;
                if let Err(e) = store.read_page(at + 1, wanted, &mut page).await {
                    let _ = pages.send(Err(e)).await;
                    return;
                }
                page.truncate_after(until);
                let Some(last) = page.last_position() else { return };
                at = last;
                if pages.send(Ok((page, facts))).await.is_err() {
                    return;
                }
            }
        });
        let decoder = tokio::spawn(async move {
            while let Some(page) = read.recv().await {
                let decoded = page.and_then(|(page, mut facts)| {
                    Fact::decode_page_into(&page, &mut facts)?;
                    Ok((page, facts))
                });
                let failed = decoded.is_err();
                if decoded_pages.send(decoded).await.is_err() || failed {
                    return;
                }
            }
        });
        ReadAhead { decoded, spare, tasks: [reader, decoder] }
    }

    /// Hands a folded page back to the reader for its buffers.
    fn recycle(&self, page: LogPage, facts: Vec<Fact>) {
        let _ = self.spare.try_send((page, facts));
    }

    /// The next page with its facts; `None` once `until` is reached (or the log ends).
    async fn next(&mut self) -> Result<Option<DecodedPage>, StoreError> {
        self.decoded.recv().await.transpose()
    }

    /// Waits for both tasks to end (they have, or will at once: the receiver is dropped); a panic in
    /// either is a bug worth surfacing.
    async fn finish(self) {
        drop(self.decoded);
        drop(self.spare);
        for task in self.tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

/// Why a projection did not answer or could not keep up.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(
        "read model {name} is at position {at}; position {wanted} was asked for and not reached in {waited:?}"
    )]
    Behind { name: &'static str, at: u64, wanted: u64, waited: Duration },
    #[error(
        "read model {name} as of a past point: {waited:?} waiting for the folds already under way; try again"
    )]
    Busy { name: &'static str, waited: Duration },
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
            ProjectionError::Busy { .. } => "projection.busy",
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
    requests: mpsc::UnboundedSender<&'static str>,
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

    /// A receiver of the position the view reflects, which changes after every batch folded: what a
    /// live query (a GraphQL subscription) waits on.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.position.clone()
    }

    /// Asks the running projector for a blue/green rebuild (see [`Projector::request_rebuild`]).
    pub fn request_rebuild(&self) {
        // A projector that has stopped has nothing to rebuild.
        let _ = self.requests.send(M::NAME);
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

/// Events folded between two snapshots by default: a restart replays at most this many.
pub const SNAPSHOT_EVERY: u64 = 1_000_000;

/// Keeps one read model current: catch-up, live folding, snapshots, rebuilds. Alone ([`Projector::run`])
/// or as a member of a [`ProjectorSet`], which reads and decodes the log once for all its models.
pub struct Projector<M: ReadModel, S: EventStore> {
    /// The log; none until a detached set is attached to it ([`ProjectorSet::attach`]).
    store: Option<S>,
    dir: PathBuf,
    view: Arc<RwLock<View<M>>>,
    position: watch::Sender<u64>,
    opened: Opened,
    /// Events folded between two snapshots, at most.
    snapshot_every: u64,
    snapshot_at: u64,
    rebuild: Option<oneshot::Receiver<Result<View<M>, StoreError>>>,
    rebuilds: watch::Sender<u32>,
    requests: mpsc::UnboundedSender<&'static str>,
    /// Rebuild requests, when the projector runs alone (a set's members share the set's).
    inbox: Option<mpsc::UnboundedReceiver<&'static str>>,
    /// The snapshot being written in the background, if one is.
    writing: Option<std::thread::JoinHandle<()>>,
    /// Whether the snapshot was read (a set's members read theirs together, in parallel).
    loaded: bool,
}

/// How a projector starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// From its snapshot, read now.
    Snapshot,
    /// From its snapshot, read later by [`Projector::load`].
    Deferred,
    /// From position 0, whatever the snapshot.
    Zero,
}

impl<M: ReadModel, S: EventStore> Projector<M, S> {
    /// Opens the projector of `M` over `store`, with its snapshots in `dir`.
    pub fn open(store: S, dir: impl Into<PathBuf>) -> Projector<M, S> {
        let (requests, inbox) = mpsc::unbounded_channel();
        Projector::open_with(Some(store), dir.into(), Start::Snapshot, requests, Some(inbox))
    }

    fn store(&self) -> &S {
        self.store.as_ref().expect("a projector folds only once attached to its store")
    }

    fn open_with(
        store: Option<S>,
        dir: PathBuf,
        start: Start,
        requests: mpsc::UnboundedSender<&'static str>,
        inbox: Option<mpsc::UnboundedReceiver<&'static str>>,
    ) -> Projector<M, S> {
        let (position, _) = watch::channel(0);
        let mut projector = Projector {
            store,
            dir,
            view: Arc::new(RwLock::new(View::default())),
            position,
            opened: Opened::Empty,
            snapshot_every: SNAPSHOT_EVERY,
            snapshot_at: 0,
            rebuild: None,
            rebuilds: watch::channel(0).0,
            requests,
            inbox,
            writing: None,
            loaded: start == Start::Zero,
        };
        if start == Start::Snapshot {
            projector.load();
        }
        projector
    }

    /// Reads the snapshot (once) and puts its view in place.
    fn load(&mut self) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let (view, opened) = read_snapshot::<M>(&self.dir);
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
        self.opened = opened;
        if let Some(view) = view {
            self.snapshot_at = view.position;
            self.position.send_replace(view.position);
            *self.view.write().expect("a projector never panics while holding the view") = view;
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
            requests: self.requests.clone(),
        }
    }

    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Folds a page whose envelopes were built and facts decoded once for every model, under the write
    /// lock.
    fn fold(&mut self, events: &[Envelope<'_>], facts: &[Fact]) {
        let at = {
            let mut view = self.view.write().expect("a projector never panics while holding the view");
            view.apply_envelopes(events, facts);
            view.position
        };
        self.position.send_replace(at);
    }

    /// Writes the snapshot now and waits for it (on stopping, after a rebuild, offline).
    fn snapshot(&mut self) -> Result<(), ProjectionError> {
        if let Some(writing) = self.writing.take() {
            let _ = writing.join();
        }
        let view = self.view.read().expect("a projector never panics while holding the view");
        write_snapshot::<M>(&self.dir, &view)?;
        self.snapshot_at = view.position;
        Ok(())
    }

    /// Snapshots if `snapshot_every` events were folded since the last one: encoded under the read lock
    /// (readers go on; the next batch waits for the encoding only) and written and fsynced on a thread
    /// of its own. A write still under way from last time defers this one to the next batch; a write
    /// that fails is logged and tried again at the next one (a snapshot only shortens restarts).
    fn snapshot_if_due(&mut self) -> Result<(), ProjectionError> {
        if self.position() - self.snapshot_at < self.snapshot_every {
            return Ok(());
        }
        if self.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return Ok(());
        }
        let (bytes, position) = {
            let view = self.view.read().expect("a projector never panics while holding the view");
            let bytes =
                infra::snapshot::encode_snapshot(M::NAME, M::VERSION, view.position, &view.model).map_err(
                    |source| ProjectionError::Snapshot { path: snapshot_path::<M>(&self.dir), source },
                )?;
            (bytes, view.position)
        };
        self.snapshot_at = position;
        let dir = self.dir.clone();
        self.writing = Some(std::thread::spawn(move || {
            if let Err(e) = infra::snapshot::write_snapshot_bytes(&dir, M::NAME, &bytes) {
                tracing::warn!(model = M::NAME, position, error = %e, "snapshot not written; trying again later");
            }
        }));
        Ok(())
    }

    fn snapshot_if_moved(&mut self) -> Result<(), ProjectionError> {
        if self.snapshot_at != self.position() || !snapshot_path::<M>(&self.dir).exists() {
            self.snapshot()?;
        }
        Ok(())
    }

    /// Folds the log up to its head as of now, then snapshots. `progress` is called with the position
    /// reached and the head after every page.
    pub async fn catch_up(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64, ProjectionError> {
        self.advance(progress).await?;
        self.snapshot_if_moved()?;
        Ok(self.position())
    }

    /// Folds the log up to its head as of now, snapshotting only as often as `snapshot_every` says (as
    /// the live loop does).
    pub async fn advance(&mut self, mut progress: impl FnMut(u64, u64)) -> Result<u64, ProjectionError> {
        let head = self.store().head_position().await?;
        let mut pages = ReadAhead::start(self.store().clone(), self.position(), head);
        while let Some((page, facts)) = pages.next().await? {
            self.fold(&page.envelopes().collect::<Vec<_>>(), &facts);
            progress(self.position(), head);
            self.snapshot_if_due()?;
            pages.recycle(page, facts);
        }
        pages.finish().await;
        Ok(self.position())
    }

    /// Starts a blue/green rebuild: a fresh model folds the log from 0 on its own task while this one
    /// keeps folding and answering; [`run`](Projector::run) swaps it in once it has caught up.
    pub fn request_rebuild(&mut self) {
        let store = self.store().clone();
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
        fresh.catch_up(self.store(), live, |_| {}).await?;
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
        let mut inbox = self.inbox.take().expect("a projector of a set runs with its set");
        let mut subscription = self.store().subscribe_all(self.position());
        let (mut page, mut facts) = (LogPage::new(), Vec::new());
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
                Some(_) = inbox.recv() => {
                    if self.rebuild.is_none() {
                        self.request_rebuild();
                    }
                    continue;
                }
                batch = subscription.next_batch(READ_PAGE) => batch?,
                _ = tokio::time::sleep(REBUILD_POLL), if self.rebuild.is_some() => continue,
            };
            page.fill_from(&batch);
            Fact::decode_page_into(&page, &mut facts)?;
            self.fold(&page.envelopes().collect::<Vec<_>>(), &facts);
            self.snapshot_if_due()?;
        }
        self.inbox = Some(inbox);
        self.snapshot()
    }
}

/// How often the live loop looks for a finished rebuild while the log is idle.
const REBUILD_POLL: Duration = Duration::from_millis(20);

/// One model of a [`ProjectorSet`], its type erased.
trait Member<S>: Send {
    fn name(&self) -> &'static str;
    fn attach(&mut self, store: S);
    fn load(&mut self);
    fn opened(&self) -> &Opened;
    fn position(&self) -> u64;
    fn fold(&mut self, events: &[Envelope<'_>], facts: &[Fact]);
    fn snapshot(&mut self) -> Result<(), ProjectionError>;
    fn snapshot_if_due(&mut self) -> Result<(), ProjectionError>;
    fn snapshot_if_moved(&mut self) -> Result<(), ProjectionError>;
    fn start_rebuild(&mut self);
    fn rebuilding(&self) -> bool;
    fn finish_rebuild(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, ProjectionError>> + Send + '_>>;
}

impl<M: ReadModel, S: EventStore> Member<S> for Projector<M, S> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn attach(&mut self, store: S) {
        self.store = Some(store);
    }
    fn load(&mut self) {
        Projector::load(self)
    }
    fn opened(&self) -> &Opened {
        &self.opened
    }
    fn position(&self) -> u64 {
        Projector::position(self)
    }
    fn fold(&mut self, events: &[Envelope<'_>], facts: &[Fact]) {
        Projector::fold(self, events, facts)
    }
    fn snapshot(&mut self) -> Result<(), ProjectionError> {
        Projector::snapshot(self)
    }
    fn snapshot_if_due(&mut self) -> Result<(), ProjectionError> {
        Projector::snapshot_if_due(self)
    }
    fn snapshot_if_moved(&mut self) -> Result<(), ProjectionError> {
        Projector::snapshot_if_moved(self)
    }
    fn start_rebuild(&mut self) {
        if self.rebuild.is_none() {
            self.request_rebuild();
        }
    }
    fn rebuilding(&self) -> bool {
        Projector::rebuilding(self)
    }
    fn finish_rebuild(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, ProjectionError>> + Send + '_>> {
        Box::pin(Projector::finish_rebuild(self))
    }
}

/// Several read models kept current from one reading of the log: each batch is read once and each
/// event decoded once ([`Fact`]) for every model (ADR 0012). Each model keeps its own view, position,
/// snapshot file and blue/green rebuild, so a model opened from an older snapshot (or rebuilt after a
/// code change) catches up while the others skip what they already have.
pub struct ProjectorSet<S: EventStore> {
    /// The log; none while detached (snapshots can be read before the store is open).
    store: Option<S>,
    dir: PathBuf,
    snapshot_every: u64,
    members: Vec<Box<dyn Member<S>>>,
    requests: mpsc::UnboundedSender<&'static str>,
    inbox: mpsc::UnboundedReceiver<&'static str>,
}

impl<S: EventStore> ProjectorSet<S> {
    /// An empty set over `store`, with the snapshots in `dir`.
    pub fn new(store: S, dir: impl Into<PathBuf>) -> ProjectorSet<S> {
        let mut set = ProjectorSet::detached(dir);
        set.store = Some(store);
        set
    }

    /// A set with no store yet: models can be added and their snapshots read ([`load`]) while the store
    /// opens elsewhere (a cold start does both at once); [`attach`] gives it the store before it folds.
    ///
    /// [`load`]: ProjectorSet::load
    /// [`attach`]: ProjectorSet::attach
    pub fn detached(dir: impl Into<PathBuf>) -> ProjectorSet<S> {
        let (requests, inbox) = mpsc::unbounded_channel();
        ProjectorSet {
            store: None,
            dir: dir.into(),
            snapshot_every: SNAPSHOT_EVERY,
            members: Vec::new(),
            requests,
            inbox,
        }
    }

    /// Gives a detached set (and its models) the store to fold.
    pub fn attach(&mut self, store: S) {
        for member in &mut self.members {
            member.attach(store.clone());
        }
        self.store = Some(store);
    }

    fn store(&self) -> &S {
        self.store.as_ref().expect("a projector set folds only once attached to its store")
    }

    /// Snapshots each model after at most this many folded events (for the models added afterwards).
    pub fn with_snapshot_every(mut self, events: u64) -> Self {
        self.snapshot_every = events.max(1);
        self
    }

    /// Adds `M`, to be opened from its snapshot (or from 0 when there is none usable), and answers its
    /// handle. The snapshots of every model added are read together, in parallel, before the first
    /// fold ([`load`](ProjectorSet::load)); until then the handle reads an empty model at position 0.
    pub fn add<M: ReadModel>(&mut self) -> Handle<M> {
        self.add_member::<M>(Start::Deferred)
    }

    /// Adds `M` starting from position 0 whatever its snapshot says (an offline rebuild): the snapshot
    /// is replaced only once the model has caught up.
    pub fn add_from_zero<M: ReadModel>(&mut self) -> Handle<M> {
        self.add_member::<M>(Start::Zero)
    }

    fn add_member<M: ReadModel>(&mut self, start: Start) -> Handle<M> {
        assert!(
            self.members.iter().all(|m| m.name() != M::NAME),
            "read model {} added twice to one set",
            M::NAME
        );
        let projector = Projector::<M, S>::open_with(
            self.store.clone(),
            self.dir.clone(),
            start,
            self.requests.clone(),
            None,
        )
        .with_snapshot_every(self.snapshot_every);
        let handle = projector.handle();
        self.members.push(Box::new(projector));
        handle
    }

    /// Reads every model's snapshot that has not been read yet, on up to four threads: a cold start
    /// waits for the largest snapshot, not for all of them one after the other.
    pub fn load(&mut self) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
        // Each thread takes the next model still to read: the large ones do not queue on one thread.
        let queue = std::sync::Mutex::new(self.members.iter_mut());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().expect("no panic while taking a model").next();
                        match next {
                            Some(member) => member.load(),
                            None => break,
                        }
                    }
                });
            }
        });
    }

    /// What opening found, per model (reading the snapshots first if they were not yet).
    pub fn opened(&mut self) -> Vec<(&'static str, Opened)> {
        self.load();
        self.members.iter().map(|m| (m.name(), m.opened().clone())).collect()
    }

    /// The position every model has reached (the least of theirs).
    pub fn position(&self) -> u64 {
        self.members.iter().map(|m| m.position()).min().unwrap_or(0)
    }

    /// Folds `page` into every model that has not folded it yet, decoding each event once.
    fn fold(&mut self, page: &LogPage, facts: &mut Vec<Fact>) -> Result<(), ProjectionError> {
        let Some(last) = page.last_position() else { return Ok(()) };
        if !self.members.iter().any(|m| m.position() < last) {
            return Ok(());
        }
        Fact::decode_page_into(page, facts)?;
        self.fold_decoded(page, facts)
    }

    /// Folds `page`, decoded as `facts`, into every model that has not folded it yet.
    fn fold_decoded(&mut self, page: &LogPage, facts: &[Fact]) -> Result<(), ProjectionError> {
        let Some(last) = page.last_position() else { return Ok(()) };
        let events: Vec<Envelope<'_>> = page.envelopes().collect();
        for member in self.members.iter_mut().filter(|m| m.position() < last) {
            member.fold(&events, facts);
            member.snapshot_if_due()?;
        }
        Ok(())
    }

    /// Folds the log up to its head as of now (snapshotting a model only when `snapshot_every` events
    /// passed: a cold start is ready once caught up, not once its snapshots are rewritten). `progress`
    /// is called with the position reached and the head after every page.
    pub async fn catch_up(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64, ProjectionError> {
        let head = self.store().head_position().await?;
        self.catch_up_to(head, progress).await
    }

    /// Folds the log up to `until` (inclusive).
    pub async fn catch_up_to(
        &mut self,
        until: u64,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, ProjectionError> {
        self.load();
        let from = self.position();
        if from >= until {
            return Ok(from);
        }
        // On an error the read-ahead is dropped: its tasks end at their next send.
        let mut pages = ReadAhead::start(self.store().clone(), from, until);
        while let Some((page, facts)) = pages.next().await? {
            self.fold_decoded(&page, &facts)?;
            progress(self.position(), until);
            pages.recycle(page, facts);
        }
        pages.finish().await;
        Ok(self.position())
    }

    /// Writes every model's snapshot where it has moved since its last one, and waits for them (an
    /// offline rebuild ends with this; a service snapshots as it goes and when it stops).
    pub fn snapshot_all(&mut self) -> Result<(), ProjectionError> {
        for member in &mut self.members {
            member.snapshot_if_moved()?;
        }
        Ok(())
    }

    /// Folds the live log into every model until `stop` turns true, snapshotting as it goes and when it
    /// stops; rebuilds asked for through a handle run blue/green beside it.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<(), ProjectionError> {
        self.catch_up(|_, _| {}).await?;
        let mut subscription = self.store().subscribe_all(self.position());
        let (mut page, mut facts) = (LogPage::new(), Vec::new());
        loop {
            for member in &mut self.members {
                member.finish_rebuild().await?;
            }
            let rebuilding = self.members.iter().any(|m| m.rebuilding());
            let batch = tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                    continue;
                }
                Some(name) = self.inbox.recv() => {
                    if let Some(member) = self.members.iter_mut().find(|m| m.name() == name) {
                        member.start_rebuild();
                    }
                    continue;
                }
                batch = subscription.next_batch(READ_PAGE) => batch?,
                _ = tokio::time::sleep(REBUILD_POLL), if rebuilding => continue,
            };
            page.fill_from(&batch);
            self.fold(&page, &mut facts)?;
        }
        for member in &mut self.members {
            member.snapshot()?;
        }
        Ok(())
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
    /// One fold at a time per cache: a fold of a long log takes seconds and a fresh model's memory, so
    /// folds queue (and one asked for twice is folded once).
    folds: tokio::sync::Semaphore,
}

/// How long an as-of question waits for the folds ahead of it before it is refused as busy.
pub const AS_OF_WAIT_MAX: Duration = Duration::from_secs(30);

impl<M: ReadModel> AsOfCache<M> {
    pub fn new(capacity: usize) -> AsOfCache<M> {
        AsOfCache {
            capacity: capacity.max(1),
            entries: Default::default(),
            folds: tokio::sync::Semaphore::new(1),
        }
    }

    fn cached(&self, at: AsOf, keys_head: u64) -> Option<Arc<M>> {
        let entries = self.entries.lock().expect("the cache lock is never held across a panic");
        entries.iter().find(|(a, h, _)| *a == at && *h == keys_head).map(|(_, _, model)| model.clone())
    }

    /// The model as of `at`, from the cache or folded now.
    pub async fn get<S: EventStore>(&self, store: &S, at: AsOf) -> Result<Arc<M>, ProjectionError> {
        let head = store.head_position().await?;
        let (until, keys_head) = match at {
            AsOf::Position(position) => (position.min(head), 0),
            AsOf::Date(_) => (head, head),
        };
        if let Some(model) = self.cached(at, keys_head) {
            return Ok(model);
        }
        let started = Instant::now();
        let _fold = match tokio::time::timeout(AS_OF_WAIT_MAX, self.folds.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(ProjectionError::Busy { name: M::NAME, waited: started.elapsed() }),
        };
        // Folded by the fold this one waited for?
        if let Some(model) = self.cached(at, keys_head) {
            return Ok(model);
        }
        let mut view = View::<M>::default();
        match at {
            AsOf::Position(_) => view.catch_up(store, until, |_| {}).await?,
            AsOf::Date(date) => view.catch_up_filtered(store, until, |e| e.occurred_at <= date).await?,
        }
        let model = Arc::new(view.model);
        let mut entries = self.entries.lock().expect("the cache lock is never held across a panic");
        entries.retain(|(a, _, _)| *a != at);
        entries.push_front((at, keys_head, model.clone()));
        entries.truncate(self.capacity);
        Ok(model)
    }
}
