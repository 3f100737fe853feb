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
    Conflict { attempts: usize },
    Store(StoreError),
}

impl<R: Rejection> std::fmt::Display for BusError<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Rejected(r) => write!(f, "rejected [{}]: {r}", r.code()),
            BusError::Conflict { attempts } => {
                write!(f, "the stream kept changing: {attempts} attempts conflicted; retry the command")
            }
            BusError::Store(e) => write!(f, "store [{}]: {e}", e.code()),
        }
    }
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
}

impl<A: Aggregate> Loaded<A> {
    fn new() -> Self {
        Loaded { state: A::default(), version: None, commands: VecDeque::new() }
    }

    fn apply(&mut self, event: &A::Event, command: CommandId, position: u64, version: u64) {
        self.state.evolve(event);
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

/// One cached stream: its folded aggregate behind an async lock, so commands to one stream from this
/// process take turns on the state in place (no copy, no conflict among themselves); writers elsewhere
/// are still caught by the expected version.
type CacheEntry = Arc<tokio::sync::Mutex<Option<Box<dyn Any + Send + Sync>>>>;

/// Runs commands against aggregates stored in `S`.
#[derive(Clone)]
pub struct CommandBus<S: EventStore> {
    store: S,
    cache: Arc<Mutex<lru::LruCache<String, CacheEntry>>>,
}

impl<S: EventStore> CommandBus<S> {
    pub fn new(store: S) -> Self {
        let capacity = NonZeroUsize::new(CACHE_STREAMS_MAX).expect("non-zero");
        CommandBus { store, cache: Arc::new(Mutex::new(lru::LruCache::new(capacity))) }
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
        let stream_name = A::stream_id(command);
        let stream = StreamId::new(&stream_name)?;
        let entry = {
            let mut cache = self.cache.lock().expect("cache lock");
            match cache.get(&stream_name) {
                Some(entry) => entry.clone(),
                None => {
                    let entry: CacheEntry = Arc::new(tokio::sync::Mutex::new(None));
                    cache.put(stream_name.clone(), entry.clone());
                    entry
                }
            }
        };
        let mut slot = entry.lock().await;
        if !slot.as_ref().is_some_and(|state| state.is::<Loaded<A>>()) {
            *slot = Some(Box::new(Loaded::<A>::new()));
        }
        let loaded: &mut Loaded<A> = slot.as_mut().and_then(|b| b.downcast_mut()).expect("set above");
        if let Err(e) = self.catch_up::<A>(&stream, loaded).await {
            *slot = None;
            return Err(e.into());
        }
        for attempt in 1..=ATTEMPTS_MAX {
            if let Some(&(_, position, version)) =
                loaded.commands.iter().find(|(c, _, _)| *c == meta.command_id)
            {
                return Ok(Executed {
                    events: Vec::new(),
                    last_position: Some(position),
                    stream_version: Some(version),
                    duplicate: true,
                });
            }
            let events = loaded.state.decide(command, meta).map_err(BusError::Rejected)?;
            if events.is_empty() {
                return Ok(Executed {
                    events,
                    last_position: None,
                    stream_version: loaded.version,
                    duplicate: false,
                });
            }
            let new_events = events
                .iter()
                .enumerate()
                .map(|(i, event)| {
                    let (event_type, payload) = encode_domain_event(event)?;
                    Ok(NewEvent {
                        event_id: EventId::derive(meta.command_id, i as u32),
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
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let expected = loaded.version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match self.store.append(&stream, expected, new_events).await? {
                Ok(appended) => {
                    let first_version = appended.next_expected_version + 1 - events.len() as u64;
                    for (i, event) in events.iter().enumerate() {
                        let i = i as u64;
                        loaded.apply(event, meta.command_id, appended.first_position + i, first_version + i);
                    }
                    return Ok(Executed {
                        events,
                        last_position: Some(appended.last_position),
                        stream_version: Some(appended.next_expected_version),
                        duplicate: false,
                    });
                }
                Err(conflict) => {
                    tracing::debug!(stream = %stream, attempt, actual = ?conflict.actual, "conflict; reloading");
                    if let Err(e) = self.catch_up::<A>(&stream, loaded).await {
                        *slot = None;
                        return Err(e.into());
                    }
                }
            }
        }
        *slot = None;
        Err(BusError::Conflict { attempts: ATTEMPTS_MAX })
    }

    /// The current state of the aggregate in `stream_id`, folded from its events (the default state when
    /// the stream does not exist). Reads the stream; does not touch the cache of the write path.
    pub async fn load<A: Aggregate>(&self, stream_id: &str) -> Result<A, StoreError> {
        let mut loaded = Loaded::<A>::new();
        self.catch_up::<A>(&StreamId::new(stream_id)?, &mut loaded).await?;
        Ok(loaded.state)
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
