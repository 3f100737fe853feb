//! The command bus: runs a command against its aggregate on an event store.
//!
//! 1. Load: the folded aggregate comes from a bounded cache (LRU of `CACHE_STREAMS_MAX` streams) and is
//!    brought up to date by reading only the events after its cached version. Commands to one stream
//!    from this process take turns on the cached state (an async lock per stream): no copy of the state,
//!    and no conflicts among themselves; writers in other processes are caught by the expected version.
//! 2. A command whose id already produced events in this stream (a client's retry) answers with the
//!    original outcome and decides nothing.
//! 3. Decide: a rejection comes back as a value with its stable code.
//! 4. Append with the exact expected version; event ids are derived from the command id and the index,
//!    so an append retried by the store itself is recognised too.
//! 5. On a version conflict reload and decide again, at most `ATTEMPTS_MAX` times. Every conflict means
//!    another command's events were appended, so contention on one stream resolves quickly; a command
//!    still conflicting after that many rounds gets `BusError::Conflict` (HTTP 409 later).

use std::any::Any;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use domain::{Aggregate, CommandId, CommandMeta, EventId, Rejection};
use infra::codec::{decode_domain_event, encode_domain_event};
use infra::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, StreamId};

/// Attempts of one command under contention (the first try included).
pub const ATTEMPTS_MAX: usize = 16;
/// Folded aggregates kept in memory.
pub const CACHE_STREAMS_MAX: usize = 100_000;
/// Commands per stream whose outcome is remembered to answer client retries.
pub const REMEMBERED_COMMANDS_MAX: usize = 256;
/// Events read per call when loading a stream.
const LOAD_BATCH: usize = 4096;

/// The outcome of an accepted command.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed<E> {
    /// The events recorded (empty when the command changed nothing, or was a retry).
    pub events: Vec<E>,
    /// Position of the last event written by this command: what a read-your-writes query waits for.
    pub last_position: Option<u64>,
    /// Stream version after the command.
    pub stream_version: Option<u64>,
    /// True when the command had already been executed and this is its original outcome.
    pub duplicate: bool,
}

/// Why a command was not executed: a rejection (the business said no), a conflict that outlasted the
/// retries, or a failure of the store (which includes refusals of malformed input such as a bad stream id).
#[derive(Debug)]
pub enum BusError<R: Rejection> {
    Rejected(R),
    Conflict {
        attempts: usize,
    },
    Store(StoreError),
    /// The caller named the stream version it expected (HTTP `If-Match`) and the stream is elsewhere
    /// (`None`: no stream yet). Nothing was decided.
    Stale {
        expected: Option<u64>,
        actual: Option<u64>,
    },
    /// The stream belongs to another book than the command's: a book's commands never write into
    /// another book's streams. Nothing was decided.
    WrongBook {
        stream: String,
    },
}

impl<R: Rejection> std::fmt::Display for BusError<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Rejected(r) => write!(f, "rejected [{}]: {r}", r.code()),
            BusError::Conflict { attempts } => {
                write!(f, "the stream kept changing: {attempts} attempts conflicted; retry the command")
            }
            BusError::Store(e) => write!(f, "store [{}]: {e}", e.code()),
            BusError::WrongBook { stream } => write!(f, "{stream} belongs to another book"),
            BusError::Stale { expected, actual } => write!(
                f,
                "the stream is at version {}, not {}; read it again and decide anew",
                version_text(*actual),
                version_text(*expected)
            ),
        }
    }
}

fn version_text(version: Option<u64>) -> String {
    version.map_or_else(|| "none (no stream)".to_string(), |v| v.to_string())
}

impl<R: Rejection> std::error::Error for BusError<R> {}

impl<R: Rejection> From<StoreError> for BusError<R> {
    fn from(e: StoreError) -> Self {
        BusError::Store(e)
    }
}

impl<R: Rejection> BusError<R> {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            BusError::Rejected(r) => r.code(),
            BusError::Conflict { .. } => "command.conflict",
            BusError::Store(e) => e.code(),
            BusError::Stale { .. } => "command.stale_version",
            BusError::WrongBook { .. } => "auth.wrong_book",
        }
    }
}

/// A folded aggregate with what the bus remembers about its stream.
struct Loaded<A> {
    state: A,
    /// Version of the last event folded in (None: the stream is empty).
    version: Option<u64>,
    /// The last commands seen in the stream, with the position and version of their last event.
    commands: VecDeque<(CommandId, u64, u64)>,
    /// The book of the stream's first event: the book the stream belongs to.
    book: Option<domain::BookId>,
    /// The state holds events decided but not (yet) known to be appended: set before a batch is decided,
    /// cleared once its append landed. A caller cancelled in between (a process manager's task aborted
    /// while its append was on the way) leaves it set, and the next caller folds the stream afresh
    /// rather than deciding on events that may never have been stored.
    deciding: bool,
}

impl<A: Aggregate> Loaded<A> {
    fn new() -> Self {
        Loaded { state: A::default(), version: None, commands: VecDeque::new(), book: None, deciding: false }
    }

    fn apply(&mut self, event: &A::Event, command: CommandId, position: u64, version: u64) {
        self.state.evolve(event);
        self.record(command, position, version);
    }

    /// Notes an event already folded into the state: the stream's version and the command behind it.
    fn record(&mut self, command: CommandId, position: u64, version: u64) {
        self.version = Some(version);
        match self.commands.back_mut() {
            Some(last) if last.0 == command => {
                last.1 = position;
                last.2 = version;
            }
            _ => {
                if self.commands.len() == REMEMBERED_COMMANDS_MAX {
                    self.commands.pop_front();
                }
                self.commands.push_back((command, position, version));
            }
        }
    }
}

/// What one command of a batch came to before the append.
enum Planned<A: Aggregate> {
    /// Executed before: its original position and version.
    Duplicate {
        position: u64,
        version: u64,
    },
    /// The same command id as the batch's command at this index.
    SameAs(usize),
    Rejected(A::Rejection),
    /// Accepted, but nothing to record; `before` events of the batch come before it.
    Nothing {
        before: usize,
    },
    /// Events to record, after `before` events of the batch (already folded into the cached state).
    Events {
        command_id: CommandId,
        before: usize,
        events: Vec<A::Event>,
    },
}

/// Each command's outcome once the batch's events landed at `landed` (first position, first version),
/// or `None` when the batch recorded nothing; `before_batch` is the stream's version before it.
/// Where a batch's events landed: their versions run on from `first_version`; their positions run on
/// from `first_position` when the append answered contiguous ones. A retry recognised as already stored
/// may answer events that several appends wrote (another node's, on PostgreSQL, whose positions have
/// gaps between appends): then every event is reported at the last position, which is never earlier
/// than the event's own, so a reader waiting for it sees the event.
#[derive(Clone, Copy)]
struct Landed {
    first_position: u64,
    last_position: u64,
    first_version: u64,
    contiguous: bool,
}

impl Landed {
    fn new(appended: &infra::Appended, count: u64) -> Landed {
        Landed {
            first_position: appended.first_position,
            last_position: appended.last_position,
            first_version: (appended.next_expected_version + 1).saturating_sub(count),
            contiguous: appended.last_position.checked_sub(appended.first_position) == Some(count - 1),
        }
    }

    /// The position of the batch's `k`-th event (from 0).
    fn position(&self, k: u64) -> u64 {
        if self.contiguous { self.first_position + k } else { self.last_position }
    }
}

fn outcomes<A: Aggregate>(
    planned: Vec<Planned<A>>,
    before_batch: Option<u64>,
    landed: Option<Landed>,
) -> Vec<Result<Executed<A::Event>, A::Rejection>> {
    // The stream's version after the first `n` events of the batch.
    let version_after = |n: usize| match (n, landed) {
        (0, _) | (_, None) => before_batch,
        (n, Some(landed)) => Some(landed.first_version + n as u64 - 1),
    };
    let mut out: Vec<Result<Executed<A::Event>, A::Rejection>> = Vec::with_capacity(planned.len());
    for planned in planned {
        let outcome = match planned {
            Planned::Duplicate { position, version } => Ok(Executed {
                events: Vec::new(),
                last_position: Some(position),
                stream_version: Some(version),
                duplicate: true,
            }),
            Planned::SameAs(j) => match &out[j] {
                Ok(first) => Ok(Executed { events: Vec::new(), duplicate: true, ..first.clone() }),
                Err(_) => unreachable!("only a command with events is pointed at"),
            },
            Planned::Rejected(rejection) => Err(rejection),
            Planned::Nothing { before } => Ok(Executed {
                events: Vec::new(),
                last_position: None,
                stream_version: version_after(before),
                duplicate: false,
            }),
            Planned::Events { before, events, .. } => {
                let landed = landed.expect("a batch with events has landed");
                let end = before + events.len();
                Ok(Executed {
                    events,
                    last_position: Some(landed.position(end as u64 - 1)),
                    stream_version: version_after(end),
                    duplicate: false,
                })
            }
        };
        out.push(outcome);
    }
    out
}

fn new_event<E: domain::DomainEvent>(
    meta: &CommandMeta,
    index: usize,
    event: &E,
) -> Result<NewEvent, StoreError> {
    let (event_type, payload) = encode_domain_event(event)?;
    Ok(NewEvent {
        event_id: EventId::derive(meta.command_id, index as u32),
        event_type,
        metadata: EventMetadata {
            book: meta.book,
            actor: meta.actor.clone(),
            command_id: meta.command_id,
            correlation_id: meta.correlation_id,
            causation_id: meta.causation_id,
            occurred_at: meta.occurred_at,
        },
        payload,
    })
}

/// A command waiting for its stream, with where its answer goes.
type Waiter<A> = (CommandMeta, <A as Aggregate>::Command, tokio::sync::oneshot::Sender<Coalesced<A>>);

/// What a coalesced command's caller is told by the caller that executed it.
enum Coalesced<A: Aggregate> {
    Done(Result<Executed<A::Event>, A::Rejection>),
    Conflict(usize),
    /// The batch failed as a whole: run the command alone.
    Alone(CommandMeta, A::Command),
}

/// One cached stream: its folded aggregate behind an async lock, so commands to one stream from this
/// process take turns on the state in place (no copy, no conflict among themselves); writers elsewhere
/// are still caught by the expected version.
type CacheEntry = Arc<tokio::sync::Mutex<Option<Box<dyn Any + Send + Sync>>>>;

/// Runs commands against aggregates stored in `S`.
#[derive(Clone)]
pub struct CommandBus<S: EventStore> {
    store: S,
    cache: Arc<Mutex<lru::LruCache<String, CacheEntry>>>,
    /// Commands waiting for a stream in `execute_coalesced`, by stream (a `Vec<Waiter<A>>` each).
    queues: Arc<Mutex<std::collections::HashMap<String, Box<dyn Any + Send>>>>,
}

impl<S: EventStore> CommandBus<S> {
    pub fn new(store: S) -> Self {
        let capacity = NonZeroUsize::new(CACHE_STREAMS_MAX).expect("non-zero");
        CommandBus {
            store,
            cache: Arc::new(Mutex::new(lru::LruCache::new(capacity))),
            queues: Arc::new(Mutex::new(std::collections::HashMap::new())),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Executes `command` on its aggregate.
    pub async fn execute<A: Aggregate>(
        &self,
        meta: &CommandMeta,
        command: &A::Command,
    ) -> Result<Executed<A::Event>, BusError<A::Rejection>> {
        let mut outcomes = self.execute_all::<A>(std::slice::from_ref(&(meta, command))).await?;
        outcomes.pop().expect("one outcome per command").map_err(BusError::Rejected)
    }

    /// Executes several commands addressed to one stream, in order, each deciding on the state the
    /// ones before it left, and appends all their events at once: one write and one flush for all.
    /// Each command keeps its own outcome (events, duplicate, or rejection; a rejected command changes
    /// nothing and does not stop the others), its own metadata and its own event ids. A conflict or a
    /// store failure concerns them all: nothing is appended, the cached state is dropped (it had moved
    /// with the batch) and folded again, and the whole batch is retried or refused.
    ///
    /// Panics if the commands address different streams (a caller's bug).
    pub async fn execute_all<A: Aggregate>(
        &self,
        commands: &[(&CommandMeta, &A::Command)],
    ) -> Result<Vec<Result<Executed<A::Event>, A::Rejection>>, BusError<A::Rejection>> {
        self.execute_batch::<A>(commands, false).await
    }

    /// [`CommandBus::execute_all`], all or none: the first rejection refuses the whole batch
    /// ([`BusError::Rejected`]) and nothing is appended. Decided under the stream's lock, so no other
    /// command can slip between the commands' checks and their append.
    pub async fn execute_together<A: Aggregate>(
        &self,
        commands: &[(&CommandMeta, &A::Command)],
    ) -> Result<Vec<Executed<A::Event>>, BusError<A::Rejection>> {
        let outcomes = self.execute_batch::<A>(commands, true).await?;
        Ok(outcomes.into_iter().map(|o| o.expect("a rejection refuses the batch")).collect())
    }

    async fn execute_batch<A: Aggregate>(
        &self,
        commands: &[(&CommandMeta, &A::Command)],
        all_or_none: bool,
    ) -> Result<Vec<Result<Executed<A::Event>, A::Rejection>>, BusError<A::Rejection>> {
        let Some((_, first)) = commands.first() else { return Ok(Vec::new()) };
        let stream_name = A::stream_id(first);
        for (_, command) in &commands[1..] {
            assert_eq!(A::stream_id(command), stream_name, "a batch takes the commands of one stream");
        }
        let stream = StreamId::new(&stream_name)?;
        let entry = self.entry(&stream_name);
        let mut slot = entry.lock().await;
        self.execute_all_in::<A>(&stream, &mut slot, commands, None, all_or_none).await
    }

    /// Executes `command` only if its stream is at version `expected` (`None`: the stream must not
    /// exist yet) when it is decided; [`BusError::Stale`] otherwise. A retry of a command already
    /// executed still answers its original outcome, wherever the stream has moved since.
    pub async fn execute_expecting<A: Aggregate>(
        &self,
        meta: &CommandMeta,
        command: &A::Command,
        expected: Option<u64>,
    ) -> Result<Executed<A::Event>, BusError<A::Rejection>> {
        let stream_name = A::stream_id(command);
        let stream = StreamId::new(&stream_name)?;
        let entry = self.entry(&stream_name);
        let mut slot = entry.lock().await;
        let mut outcomes =
            self.execute_all_in::<A>(&stream, &mut slot, &[(meta, command)], Some(expected), false).await?;
        outcomes.pop().expect("one outcome per command").map_err(BusError::Rejected)
    }

    /// Executes a command like [`CommandBus::execute`], but when other callers are waiting for the same
    /// stream, the first to get it takes every waiting command along and appends them all at once
    /// (group commit at the aggregate: a hot stream, such as a month's journal, takes one flush for many
    /// commands instead of one each). Each caller still gets its own outcome. A caller that stops
    /// waiting leaves its command queued: the next caller for the stream executes it, as a request whose
    /// answer was lost is still done; its derived command id makes a retry recognise it.
    pub async fn execute_coalesced<A: Aggregate>(
        &self,
        meta: CommandMeta,
        command: A::Command,
    ) -> Result<Executed<A::Event>, BusError<A::Rejection>> {
        let stream_name = A::stream_id(&command);
        let stream = StreamId::new(&stream_name)?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<Coalesced<A>>();
        let refused = {
            let mut queues = self.queues.lock().expect("queues lock");
            let queue =
                queues.entry(stream_name.clone()).or_insert_with(|| Box::new(Vec::<Waiter<A>>::new()));
            match queue.downcast_mut::<Vec<Waiter<A>>>() {
                Some(waiting) => {
                    waiting.push((meta, command, tx));
                    None
                }
                // Another aggregate type under the same stream name: a caller's bug; let the bus say so.
                None => Some((meta, command)),
            }
        };
        if let Some((meta, command)) = refused {
            return self.execute::<A>(&meta, &command).await;
        }
        let entry = self.entry(&stream_name);
        let mut slot = entry.lock().await;
        // A caller that had the stream before us may have taken our command along.
        if let Ok(answer) = rx.try_recv() {
            drop(slot);
            return self.answer::<A>(answer).await;
        }
        let batch: Vec<Waiter<A>> = {
            let mut queues = self.queues.lock().expect("queues lock");
            let taken = queues.remove(&stream_name);
            taken.and_then(|q| q.downcast::<Vec<Waiter<A>>>().ok()).map(|q| *q).unwrap_or_default()
        };
        let commands: Vec<(&CommandMeta, &A::Command)> = batch.iter().map(|(m, c, _)| (m, c)).collect();
        let outcome = self.execute_all_in::<A>(&stream, &mut slot, &commands, None, false).await;
        // Answered before the stream is let go, so a caller whose command was taken finds its answer
        // as soon as it gets the stream.
        match outcome {
            Ok(results) => {
                for ((_, _, tx), result) in batch.into_iter().zip(results) {
                    let _ = tx.send(Coalesced::Done(result));
                }
            }
            Err(BusError::Conflict { attempts }) => {
                for (_, _, tx) in batch {
                    let _ = tx.send(Coalesced::Conflict(attempts));
                }
            }
            // A failure of the store (or a refusal of one command's events) concerns the whole append:
            // each command is tried again on its own, so each caller gets its own answer.
            Err(_) => {
                for (meta, command, tx) in batch {
                    let _ = tx.send(Coalesced::Alone(meta, command));
                }
            }
        }
        drop(slot);
        match rx.await {
            Ok(answer) => self.answer::<A>(answer).await,
            Err(_) => Err(BusError::Store(StoreError::Poisoned {
                reason: "a coalesced command lost its answer".into(),
            })),
        }
    }

    async fn answer<A: Aggregate>(
        &self,
        answer: Coalesced<A>,
    ) -> Result<Executed<A::Event>, BusError<A::Rejection>> {
        match answer {
            Coalesced::Done(result) => result.map_err(BusError::Rejected),
            Coalesced::Conflict(attempts) => Err(BusError::Conflict { attempts }),
            Coalesced::Alone(meta, command) => self.execute::<A>(&meta, &command).await,
        }
    }

    /// [`CommandBus::execute_all`] on a stream whose cache slot the caller holds; with `expect`, the
    /// stream must be at that version whenever a command that is not a retry is decided.
    async fn execute_all_in<A: Aggregate>(
        &self,
        stream: &StreamId,
        slot: &mut Option<Box<dyn Any + Send + Sync>>,
        commands: &[(&CommandMeta, &A::Command)],
        expect: Option<Option<u64>>,
        all_or_none: bool,
    ) -> Result<Vec<Result<Executed<A::Event>, A::Rejection>>, BusError<A::Rejection>> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let stream = stream.clone();
        // Commands of the batch found executed before, further back than the remembered commands: the
        // store refused their derived event ids as already stored in this stream. Their original
        // outcome, found once each (so they do not count as attempts).
        let mut found_before: Vec<(CommandId, u64, u64)> = Vec::new();
        let mut attempt = 0;
        while attempt < ATTEMPTS_MAX {
            attempt += 1;
            // Each command decides on the state the ones before it left, so the cached state moves as the
            // batch is decided. If the append does not land, the cache is emptied and the next attempt
            // (or the next caller) folds the stream again: a cost paid only on a conflict or a failure,
            // where a copy of the state up front would be paid by every batch (and a month's journal is
            // large).
            let loaded = match self.caught_up::<A>(&stream, slot).await {
                Ok(loaded) => loaded,
                Err(e) => {
                    *slot = None;
                    return Err(e.into());
                }
            };
            loaded.deciding = true;
            let mut planned: Vec<Planned<A>> = Vec::with_capacity(commands.len());
            let mut new_events = Vec::new();
            let mut failure = None;
            // The stream's book, or the book of the batch's first command that records something.
            let mut owner = loaded.book;
            for (meta, command) in commands {
                if let Some(&(_, position, version)) =
                    loaded.commands.iter().chain(&found_before).find(|(c, _, _)| *c == meta.command_id)
                {
                    planned.push(Planned::Duplicate { position, version });
                    continue;
                }
                if owner.is_some_and(|book| book != meta.book) {
                    return Err(BusError::WrongBook { stream: stream.to_string() });
                }
                if let Some(expected) = expect
                    && loaded.version != expected
                {
                    return Err(BusError::Stale { expected, actual: loaded.version });
                }
                // The same command twice in one batch: the second is a retry of the first.
                let earlier = planned.iter().position(
                    |p| matches!(p, Planned::Events { command_id, .. } if *command_id == meta.command_id),
                );
                if let Some(j) = earlier {
                    planned.push(Planned::SameAs(j));
                    continue;
                }
                let events = match loaded.state.decide(command, meta) {
                    Ok(events) => events,
                    Err(rejection) if all_or_none => {
                        // The commands before it moved the cached state: fold it again next time.
                        *slot = None;
                        return Err(BusError::Rejected(rejection));
                    }
                    Err(rejection) => {
                        planned.push(Planned::Rejected(rejection));
                        continue;
                    }
                };
                if events.is_empty() {
                    planned.push(Planned::Nothing { before: new_events.len() });
                    continue;
                }
                let before = new_events.len();
                for (index, event) in events.iter().enumerate() {
                    match new_event(meta, index, event) {
                        Ok(event) => new_events.push(event),
                        Err(e) => failure = Some(e),
                    }
                    loaded.state.evolve(event);
                }
                owner.get_or_insert(meta.book);
                planned.push(Planned::Events { command_id: meta.command_id, before, events });
            }
            if let Some(e) = failure {
                *slot = None;
                return Err(e.into());
            }
            let before_batch = loaded.version;
            if new_events.is_empty() {
                loaded.deciding = false;
                return Ok(outcomes::<A>(planned, before_batch, None));
            }
            let expected = before_batch.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            // Counted from what was sent, never from the answer's positions (which may have gaps).
            let count = new_events.len() as u64;
            match self.store.append(&stream, expected, new_events).await {
                Ok(Ok(appended)) => {
                    loaded.deciding = false;
                    loaded.book = owner;
                    let landed = Landed::new(&appended, count);
                    for planned in &planned {
                        if let Planned::Events { command_id, before, events } = planned {
                            for i in 0..events.len() {
                                let k = (before + i) as u64;
                                loaded.record(*command_id, landed.position(k), landed.first_version + k);
                            }
                        }
                    }
                    return Ok(outcomes::<A>(planned, before_batch, Some(landed)));
                }
                Ok(Err(conflict)) => {
                    tracing::debug!(stream = %stream, attempt, actual = ?conflict.actual, "conflict; reloading");
                    *slot = None;
                }
                Err(e) => {
                    *slot = None;
                    // An event id of this stream already stored: its command ran here before, further back
                    // than the remembered commands (another node's process manager, or a node's own after
                    // a restart from an old checkpoint, reacting to the same event). Event ids are derived
                    // from the command id, so that is the command's original outcome, not a new one.
                    if let StoreError::EventIdReused { event_id, stream: found_in, version } = &e
                        && found_in.as_str() == stream.as_str()
                        && let Some(command_id) = planned.iter().find_map(|p| match p {
                            Planned::Events { command_id, events, .. }
                                if (0..events.len())
                                    .any(|i| EventId::derive(*command_id, i as u32).0 == *event_id) =>
                            {
                                Some(*command_id)
                            }
                            _ => None,
                        })
                        && !found_before.iter().any(|(c, _, _)| *c == command_id)
                    {
                        let Some((position, version)) = self.original(&stream, command_id, *version).await?
                        else {
                            return Err(e.into());
                        };
                        tracing::debug!(stream = %stream, %command_id, version, "executed before; its original outcome");
                        found_before.push((command_id, position, version));
                        attempt -= 1;
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
        *slot = None;
        Err(BusError::Conflict { attempts: ATTEMPTS_MAX })
    }

    /// The position and version of the last event `command` recorded in `stream` from `version` on
    /// (`None` if the event at `version` is not the command's).
    async fn original(
        &self,
        stream: &StreamId,
        command: CommandId,
        version: u64,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let mut last = None;
        let mut from = version;
        loop {
            let batch = self.store.read_stream(stream, from, LOAD_BATCH).await?;
            let done = batch.len() < LOAD_BATCH;
            for recorded in &batch {
                if recorded.metadata.command_id != command {
                    return Ok(last);
                }
                last = Some((recorded.position, recorded.stream_version));
                from = recorded.stream_version + 1;
            }
            if done {
                return Ok(last);
            }
        }
    }

    /// The current state of the aggregate in `stream_id`, folded from its events (the default state when
    /// the stream does not exist): a copy of the cached state, caught up with the stream first.
    pub async fn load<A: Aggregate>(&self, stream_id: &str) -> Result<A, StoreError> {
        self.inspect::<A, A>(stream_id, A::clone).await
    }

    /// What `look` reads from the current state of the aggregate in `stream_id` (caught up first), without
    /// copying the state: for large aggregates, such as a month's journal, whose callers need one fact.
    pub async fn inspect<A: Aggregate, T>(
        &self,
        stream_id: &str,
        look: impl FnOnce(&A) -> T,
    ) -> Result<T, StoreError> {
        self.inspect_as(None, stream_id, look).await
    }

    /// [`CommandBus::load`] as `book` sees it (see [`CommandBus::inspect_in`]).
    pub async fn load_in<A: Aggregate>(
        &self,
        book: domain::BookId,
        stream_id: &str,
    ) -> Result<A, StoreError> {
        self.inspect_in::<A, A>(book, stream_id, A::clone).await
    }

    /// [`CommandBus::inspect`] as `book` sees it: a stream that belongs to another book (its first
    /// event was recorded there) reads as one that does not exist. Services that complete a command
    /// from other streams (is this item active, whose order is this) ask through this, so a book's
    /// commands never see another book's masters or documents, as they can never write into them.
    pub async fn inspect_in<A: Aggregate, T>(
        &self,
        book: domain::BookId,
        stream_id: &str,
        look: impl FnOnce(&A) -> T,
    ) -> Result<T, StoreError> {
        self.inspect_as(Some(book), stream_id, look).await
    }

    /// What `look` reads from the stream's current state, as `book` sees it when one is given.
    async fn inspect_as<A: Aggregate, T>(
        &self,
        book: Option<domain::BookId>,
        stream_id: &str,
        look: impl FnOnce(&A) -> T,
    ) -> Result<T, StoreError> {
        let stream = StreamId::new(stream_id)?;
        let entry = self.entry(stream_id);
        let mut slot = entry.lock().await;
        match self.caught_up::<A>(&stream, &mut slot).await {
            Ok(loaded) if book.is_some() && loaded.book.is_some_and(|owner| Some(owner) != book) => {
                Ok(look(&A::default()))
            }
            Ok(loaded) => Ok(look(&loaded.state)),
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    /// The stream's version as the aggregate was last folded (`None`: no stream yet), brought up to date.
    pub async fn version<A: Aggregate>(&self, stream_id: &str) -> Result<Option<u64>, StoreError> {
        let stream = StreamId::new(stream_id)?;
        let entry = self.entry(stream_id);
        let mut slot = entry.lock().await;
        match self.caught_up::<A>(&stream, &mut slot).await {
            Ok(loaded) => Ok(loaded.version),
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    /// The cache entry of a stream (created empty when missing).
    fn entry(&self, stream_name: &str) -> CacheEntry {
        let mut cache = self.cache.lock().expect("cache lock");
        match cache.get(stream_name) {
            Some(entry) => entry.clone(),
            None => {
                let entry: CacheEntry = Arc::new(tokio::sync::Mutex::new(None));
                cache.put(stream_name.to_string(), entry.clone());
                entry
            }
        }
    }

    /// The cached aggregate in `slot` (fresh if the slot holds nothing or another type), brought up to
    /// date with its stream. On an error the caller empties the slot.
    async fn caught_up<'s, A: Aggregate>(
        &self,
        stream: &StreamId,
        slot: &'s mut Option<Box<dyn Any + Send + Sync>>,
    ) -> Result<&'s mut Loaded<A>, StoreError> {
        let usable = slot
            .as_ref()
            .and_then(|state| state.downcast_ref::<Loaded<A>>())
            .is_some_and(|loaded| !loaded.deciding);
        if !usable {
            *slot = Some(Box::new(Loaded::<A>::new()));
        }
        let loaded: &mut Loaded<A> = slot.as_mut().and_then(|b| b.downcast_mut()).expect("set above");
        self.catch_up::<A>(stream, loaded).await?;
        Ok(loaded)
    }

    /// Folds in the events appended after the loaded version.
    async fn catch_up<A: Aggregate>(
        &self,
        stream: &StreamId,
        loaded: &mut Loaded<A>,
    ) -> Result<(), StoreError> {
        loop {
            let from = loaded.version.map_or(0, |v| v + 1);
            let batch = self.store.read_stream(stream, from, LOAD_BATCH).await?;
            let done = batch.len() < LOAD_BATCH;
            for recorded in &batch {
                loaded.book.get_or_insert(recorded.metadata.book);
                let event = decode_domain_event::<A::Event>(&recorded.event_type, &recorded.payload)?;
                loaded.apply(
                    &event,
                    recorded.metadata.command_id,
                    recorded.position,
                    recorded.stream_version,
                );
            }
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Landed;

    #[test]
    fn a_batch_landed_in_one_append_takes_consecutive_positions() {
        let appended = infra::Appended { first_position: 100, last_position: 102, next_expected_version: 7 };
        let landed = Landed::new(&appended, 3);
        assert_eq!((landed.first_version, landed.position(0), landed.position(2)), (5, 100, 102));
    }

    #[test]
    fn a_batch_stored_by_several_appends_is_placed_at_its_last_position_without_overflowing() {
        // A retry recognised as already stored, written by two appends on PostgreSQL (gaps between).
        let appended = infra::Appended {
            first_position: 5 << 20,
            last_position: (9 << 20) + 1,
            next_expected_version: 3,
        };
        let landed = Landed::new(&appended, 2);
        assert_eq!(landed.first_version, 2);
        assert_eq!((landed.position(0), landed.position(1)), ((9 << 20) + 1, (9 << 20) + 1));
    }
}
