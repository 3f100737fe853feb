//! The append path of the PostgreSQL store: one transaction per append attempt.
//!
//! ```text
//! BEGIN
//!   read the stream's head (version, commit hash, recording time)      -- no transaction id yet
//!   read the rows holding any of the append's event ids                 -- idempotent retries
//!   decide: the original outcome, a refusal, a conflict, or go on
//!   take a transaction id X and the database clock; pg_notify          -- positions X << 20 | i
//!   INSERT the events, chained to the head's commit hash
//! COMMIT                                                                 -- then acknowledge
//! ```
//!
//! A unique violation (another append took the stream's next version, or one of our event ids, first)
//! or a deadlock between two such appends ends the attempt; the next attempt decides again in a fresh
//! transaction, so an `Exact` or `NoStream` append then meets the winner as a conflict with the actual
//! version (or, for a retry racing its own original, the original outcome), and an `Any` append goes on
//! after it, at most [`limits::POSTGRES_APPEND_ATTEMPTS_MAX`] times.

use std::collections::HashMap;
use std::sync::Arc;

use domain::EventId;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::Inner;
use super::pool::Conn;
use super::read::{Names, decode_event, event_columns};
use crate::codec::{self, CommitHeaderV1};
use crate::envelope::{
    Appended, ChainHash, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId,
    WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::limits;
use crate::port::AppendResult;

/// An append written but not committed: its transaction is open, holding back the horizon, until
/// [`HeldAppend::commit`] (dropping it rolls the append back). For tests only.
#[doc(hidden)]
pub struct HeldAppend {
    conn: Box<Conn>,
    appended: Appended,
    inner: Arc<Inner>,
}

impl HeldAppend {
    /// What the append will answer once committed.
    pub fn appended(&self) -> Appended {
        self.appended
    }

    /// Commits the held transaction and acknowledges the append.
    pub async fn commit(mut self) -> Result<Appended, StoreError> {
        self.conn.commit().await.map_err(|e| StoreError::database("committing an append", e))?;
        self.inner.acknowledge(self.appended.last_position);
        Ok(self.appended)
    }
}

// An append's events take the indexes 0..count below its transaction id's bits.
const _: () = assert!(limits::EVENTS_PER_APPEND_MAX < 1 << limits::POSTGRES_POSITION_INDEX_BITS);

/// The stream's last event: its version, its commit's hash, its recording time and its position.
const STREAM_HEAD: &str = "SELECT stream_version, commit_hash, recorded_at, position FROM events \
                           WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1";

const STORED_BY_ID: &str =
    concat!("SELECT ", event_columns!(), " FROM events WHERE event_id = ANY($1) ORDER BY position");

/// Takes the transaction's id (assigning it: the first thing in the transaction that does) and the
/// database's clock in microseconds. No `NOTIFY` here: a notifying transaction takes a server-wide lock
/// from its commit until the notification is queued, which serialised every append of every node (W1
/// stuck near 1,900 appends/s whatever the concurrency); the store's listener connection notifies the
/// other nodes after the commits instead, one notification for every appends acknowledged meanwhile.
const TAKE_XID: &str = "SELECT pg_current_xact_id()::text::bigint, \
                        (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// The rows of one append: positions `$1 + n - 1` and versions `$2 + n - 1` for the n-th element of the
/// arrays; stream, recording time and both hashes are the commit's.
const INSERT: &str = "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, \
                      type_version, book, actor, command_id, correlation_id, causation_id, occurred_at, \
                      recorded_at, payload, prev_hash, commit_hash) \
                      SELECT $1 + u.n - 1, $3, $2 + u.n - 1, u.event_id, u.event_type, u.type_version, \
                      u.book, u.actor, u.command_id, u.correlation_id, u.causation_id, u.occurred_at, $4, \
                      u.payload, $5, $6 \
                      FROM unnest($7::uuid[], $8::text[], $9::integer[], $10::uuid[], $11::text[], \
                      $12::uuid[], $13::uuid[], $14::uuid[], $15::bigint[], $16::bytea[]) \
                      WITH ORDINALITY AS u(event_id, event_type, type_version, book, actor, command_id, \
                      correlation_id, causation_id, occurred_at, payload, n)";

/// A stream's last event, as an append reads it.
#[derive(Clone, Copy)]
struct Head {
    version: u64,
    hash: ChainHash,
    recorded_at: i64,
    position: u64,
}

/// What one attempt came to.
enum Attempt {
    /// Nothing to write: the original outcome of a retry, a refusal or a conflict.
    Answer(AppendResult),
    /// Lost a race; decide again in a new transaction.
    Raced,
    /// Written, the transaction still open (the connection boxed: it is most of the enum's size).
    Written(Box<Conn>, Appended),
}

pub(crate) async fn append(
    inner: &Arc<Inner>,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> AppendResult {
    append_recorded(inner, stream, expected, events, None).await
}

/// Appends commits copied from another log (`erp migrate`, ADR 0017), in order, all in one
/// transaction: the heads of their streams are read first (before the transaction takes its id, as
/// for any append), each commit is decided against them in turn, and the commits take consecutive
/// positions `X << 20 | i` of the one transaction id, each chained to its stream's previous commit
/// (perhaps one earlier in the batch) and keeping its recording time. All or nothing: a commit whose
/// stream is not where the copy expects answers one conflict and nothing is written. One transaction,
/// one `NOTIFY` and one WAL flush per batch instead of per commit.
pub(crate) async fn import(
    inner: &Arc<Inner>,
    commits: &[ImportCommit],
) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
    if commits.is_empty() {
        return Ok(Vec::new());
    }
    let encoded = commits
        .iter()
        .map(|c| limits::check_and_encode_append(&c.events).map(|(records, _)| records))
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = commits.iter().map(|c| c.events.len()).sum();
    if total >= 1 << limits::POSTGRES_POSITION_INDEX_BITS {
        return Err(StoreError::TooManyEvents {
            count: total,
            max: (1 << limits::POSTGRES_POSITION_INDEX_BITS) - 1,
        });
    }
    let mut conn = inner.pool.get().await?;
    conn.begin().await?;
    let failed = |context: &'static str| move |e: tokio_postgres::Error| StoreError::database(context, e);

    let mut streams: Vec<&str> = commits.iter().map(|c| c.stream.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    let rows = conn.query(STREAM_HEADS, &[&streams]).await.map_err(failed("reading the streams' heads"))?;
    // Each stream's last version (to decide the commits) and its last commit's hash (to chain them).
    let mut versions: HashMap<String, u64> = HashMap::with_capacity(rows.len());
    let mut links: HashMap<String, ChainHash> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let stream: String = row.get(0);
        let version: i64 = row.get(1);
        let hash = stored_hash(&stream, row.get(2))?;
        versions.insert(stream.clone(), version as u64);
        links.insert(stream, hash);
    }
    for commit in commits {
        let actual = versions.get(commit.stream.as_str()).copied();
        let holds = match commit.expected() {
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::Exact(v) => actual == Some(v),
            ExpectedVersion::Any => true,
        };
        if !holds {
            conn.rollback().await;
            return Ok(vec![Err(WrongExpectedVersion {
                stream: commit.stream.clone(),
                expected: commit.expected(),
                actual,
            })]);
        }
        versions
            .insert(commit.stream.as_str().to_owned(), commit.first_version + commit.events.len() as u64 - 1);
    }

    let (xid, _) = take_xid(&mut conn).await?;
    let base = xid << limits::POSTGRES_POSITION_INDEX_BITS;
    let mut rows = ImportRows::with_capacity(total);
    let mut outcomes = Vec::with_capacity(commits.len());
    let mut next = base;
    for (commit, records) in commits.iter().zip(&encoded) {
        let prev_hash = links.get(commit.stream.as_str()).copied().unwrap_or(ChainHash::GENESIS);
        let recorded_at = commit.recorded_at.unix_micros();
        let header = CommitHeaderV1 {
            prev_hash: prev_hash.0,
            first_position: next,
            stream_id: commit.stream.as_str(),
            first_version: commit.first_version,
            recorded_at,
            event_count: commit.events.len() as u32,
        };
        let commit_hash = codec::commit_body_hash(&header, records);
        links.insert(commit.stream.as_str().to_owned(), commit_hash);
        for (i, event) in commit.events.iter().enumerate() {
            rows.push(next + i as u64, commit, i, event, recorded_at, prev_hash, commit_hash);
        }
        let count = commit.events.len() as u64;
        outcomes.push(Ok(Appended {
            first_position: next,
            last_position: next + count - 1,
            next_expected_version: commit.first_version + count - 1,
        }));
        next += count;
    }
    let inserted = conn
        .query(
            IMPORT_INSERT,
            &[
                &rows.positions,
                &rows.streams,
                &rows.versions,
                &rows.ids,
                &rows.types,
                &rows.type_versions,
                &rows.books,
                &rows.actors,
                &rows.commands,
                &rows.correlations,
                &rows.causations,
                &rows.occurred,
                &rows.recorded,
                &rows.payloads,
                &rows.prev_hashes.iter().map(|h| &h[..]).collect::<Vec<_>>(),
                &rows.commit_hashes.iter().map(|h| &h[..]).collect::<Vec<_>>(),
            ],
        )
        .await;
    if let Err(e) = inserted {
        conn.rollback().await;
        return Err(StoreError::database("inserting copied events", e));
    }
    conn.commit().await.map_err(|e| StoreError::database("committing copied events", e))?;
    inner.acknowledge(next - 1);
    Ok(outcomes)
}

/// Takes the transaction's id ([`TAKE_XID`]) and the database's clock; refuses an id whose positions
/// would no longer fit a bigint.
async fn take_xid(conn: &mut Conn) -> Result<(u64, i64), StoreError> {
    let row =
        conn.query(TAKE_XID, &[]).await.map_err(|e| StoreError::database("taking a transaction id", e))?;
    let row = row.first().ok_or_else(|| StoreError::database("taking a transaction id", "no row"))?;
    let xid = row.get::<_, i64>(0) as u64;
    if xid > limits::POSTGRES_XID_MAX {
        return Err(StoreError::database(
            "assigning positions",
            format!(
                "transaction id {xid} is at or above 2^{}: positions (transaction id << {} | index) no longer \
                 fit a bigint; the log needs a new position scheme (ADR 0015)",
                63 - limits::POSTGRES_POSITION_INDEX_BITS,
                limits::POSTGRES_POSITION_INDEX_BITS
            ),
        ));
    }
    Ok((xid, row.get(1)))
}

/// A commit hash read from a row of `stream`.
fn stored_hash(stream: &str, bytes: &[u8]) -> Result<ChainHash, StoreError> {
    let hash: [u8; 32] = bytes.try_into().map_err(|_| StoreError::Decode {
        reason: format!("stream {stream}: a commit hash of {} bytes", bytes.len()),
    })?;
    Ok(ChainHash(hash))
}

/// Every stream's last event among `$1`: its version and its commit's hash.
const STREAM_HEADS: &str = "SELECT DISTINCT ON (stream_id) stream_id, stream_version, commit_hash FROM events \
                            WHERE stream_id = ANY($1) ORDER BY stream_id, stream_version DESC";

/// The rows of a batch of copied commits, one array element per event.
const IMPORT_INSERT: &str = "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, \
                             type_version, book, actor, command_id, correlation_id, causation_id, occurred_at, \
                             recorded_at, payload, prev_hash, commit_hash) \
                             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], \
                             $6::integer[], $7::uuid[], $8::text[], $9::uuid[], $10::uuid[], $11::uuid[], \
                             $12::bigint[], $13::bigint[], $14::bytea[], $15::bytea[], $16::bytea[])";

/// The columns of [`IMPORT_INSERT`], gathered.
#[derive(Default)]
struct ImportRows<'a> {
    positions: Vec<i64>,
    streams: Vec<&'a str>,
    versions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<&'a str>,
    type_versions: Vec<i32>,
    books: Vec<Uuid>,
    actors: Vec<&'a str>,
    commands: Vec<Uuid>,
    correlations: Vec<Uuid>,
    causations: Vec<Uuid>,
    occurred: Vec<i64>,
    recorded: Vec<i64>,
    payloads: Vec<&'a [u8]>,
    prev_hashes: Vec<[u8; 32]>,
    commit_hashes: Vec<[u8; 32]>,
}

impl<'a> ImportRows<'a> {
    fn with_capacity(n: usize) -> Self {
        ImportRows {
            positions: Vec::with_capacity(n),
            streams: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
            type_versions: Vec::with_capacity(n),
            books: Vec::with_capacity(n),
            actors: Vec::with_capacity(n),
            commands: Vec::with_capacity(n),
            correlations: Vec::with_capacity(n),
            causations: Vec::with_capacity(n),
            occurred: Vec::with_capacity(n),
            recorded: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
            prev_hashes: Vec::with_capacity(n),
            commit_hashes: Vec::with_capacity(n),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        position: u64,
        commit: &'a ImportCommit,
        index: usize,
        event: &'a NewEvent,
        recorded_at: i64,
        prev_hash: ChainHash,
        commit_hash: ChainHash,
    ) {
        self.positions.push(position as i64);
        self.streams.push(commit.stream.as_str());
        self.versions.push((commit.first_version + index as u64) as i64);
        self.ids.push(event.event_id.0);
        self.types.push(event.event_type.name());
        self.type_versions.push(i32::from(event.event_type.version()));
        self.books.push(event.metadata.book.0);
        self.actors.push(&event.metadata.actor);
        self.commands.push(event.metadata.command_id.0);
        self.correlations.push(event.metadata.correlation_id);
        self.causations.push(event.metadata.causation_id);
        self.occurred.push(event.metadata.occurred_at.unix_micros());
        self.recorded.push(recorded_at);
        self.payloads.push(&event.payload);
        self.prev_hashes.push(prev_hash.0);
        self.commit_hashes.push(commit_hash.0);
    }
}

/// An append whose recording time is the database's clock, or `recorded_at` when given.
async fn append_recorded(
    inner: &Arc<Inner>,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
    recorded_at: Option<i64>,
) -> AppendResult {
    let (records, _) = limits::check_and_encode_append(events)?;
    for _ in 0..limits::POSTGRES_APPEND_ATTEMPTS_MAX {
        match attempt(inner, stream, expected, events, &records, recorded_at).await? {
            Attempt::Answer(answer) => {
                if let Ok(Ok(original)) = &answer {
                    // A retry's caller may read its events next, like the original's.
                    inner.acknowledge(original.last_position);
                }
                return answer;
            }
            Attempt::Raced => continue,
            Attempt::Written(mut conn, appended) => {
                // Acknowledged only once COMMIT has returned, i.e. once the server has made it durable. If
                // the connection fails during COMMIT the outcome is unknown to us: the caller retries with
                // the same events, and the retry answers the original outcome if it did commit.
                match conn.commit().await {
                    Ok(()) => {
                        inner.acknowledge(appended.last_position);
                        return Ok(Ok(appended));
                    }
                    Err(e) if is_race(&e) => continue,
                    Err(e) => return Err(StoreError::database("committing an append", e)),
                }
            }
        }
    }
    Err(StoreError::Contended { stream: stream.to_string(), attempts: limits::POSTGRES_APPEND_ATTEMPTS_MAX })
}

pub(crate) async fn append_held(
    inner: &Arc<Inner>,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<Result<HeldAppend, WrongExpectedVersion>, StoreError> {
    let (records, _) = limits::check_and_encode_append(events)?;
    for _ in 0..limits::POSTGRES_APPEND_ATTEMPTS_MAX {
        match attempt(inner, stream, expected, events, &records, None).await? {
            Attempt::Answer(Ok(Err(conflict))) => return Ok(Err(conflict)),
            Attempt::Answer(Ok(Ok(_))) => {
                return Err(StoreError::database("holding an append", "these events are already stored"));
            }
            Attempt::Answer(Err(e)) => return Err(e),
            Attempt::Raced => continue,
            Attempt::Written(conn, appended) => {
                return Ok(Ok(HeldAppend { conn, appended, inner: inner.clone() }));
            }
        }
    }
    Err(StoreError::Contended { stream: stream.to_string(), attempts: limits::POSTGRES_APPEND_ATTEMPTS_MAX })
}

/// A unique violation or a deadlock between appends: the attempt lost a race and can be decided again.
fn is_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

async fn attempt(
    inner: &Inner,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
    records: &[u8],
    copied_recorded_at: Option<i64>,
) -> Result<Attempt, StoreError> {
    let mut conn = inner.pool.get().await?;
    conn.begin().await?;
    let failed = |context: &'static str| move |e: tokio_postgres::Error| StoreError::database(context, e);

    // ORDER MATTERS. Until `TAKE_XID` this transaction only reads, so it has no transaction id yet. The
    // stream's head must be read before it takes one: if the head shows version n committed, the
    // transaction that wrote n took its id before it committed, hence before this read, hence before
    // this transaction takes its own, and transaction ids are handed out in increasing order. So version
    // n + 1 always gets a larger position than version n: a stream's order agrees with the global
    // order. (Reading the head after taking the id would let a transaction with a smaller id append on
    // top of one with a larger id, and readers would see version n + 1 before version n.) The assertion
    // after `TAKE_XID` holds this, and `verify` checks it of every stored stream.
    let head =
        conn.query(STREAM_HEAD, &[&stream.as_str()]).await.map_err(failed("reading a stream's head"))?;
    let head = match head.first() {
        Some(row) => {
            let version: i64 = row.get(0);
            let hash = stored_hash(stream.as_str(), row.get(1))?;
            let recorded_at: i64 = row.get(2);
            let position: i64 = row.get(3);
            Some(Head { version: version as u64, hash, recorded_at, position: position as u64 })
        }
        None => None,
    };
    let actual = head.map(|h| h.version);

    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id.0).collect();
    let stored = conn.query(STORED_BY_ID, &[&ids]).await.map_err(failed("looking up event ids"))?;
    if !stored.is_empty() {
        let mut names = Names::default();
        let stored =
            stored.iter().map(|row| decode_event(row, 0, &mut names)).collect::<Result<Vec<_>, _>>()?;
        let answer = compare_with_stored(stream, expected, actual, events, &stored);
        conn.rollback().await;
        return Ok(Attempt::Answer(answer));
    }

    let expected_holds = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual.is_none(),
        ExpectedVersion::Exact(v) => actual == Some(v),
    };
    if !expected_holds {
        conn.rollback().await;
        return Ok(Attempt::Answer(Ok(Err(WrongExpectedVersion {
            stream: stream.clone(),
            expected,
            actual,
        }))));
    }

    let (xid, now) = take_xid(&mut conn).await?;
    let count = events.len() as u64;
    let first_position = xid << limits::POSTGRES_POSITION_INDEX_BITS;
    let first_version = actual.map_or(0, |v| v + 1);
    if let Some(head) = head {
        assert!(
            first_position > head.position,
            "stream {stream}: version {first_version} would take position {first_position}, before version {}'s \
             {}: the stream's head must be read before the transaction takes its id (see above)",
            head.version,
            head.position
        );
    }
    let prev_hash = head.map_or(ChainHash::GENESIS, |h| h.hash);
    // Recording time never goes backwards along a stream, even if the database's clock does; a copied
    // commit keeps the time its source gave it (which the source kept in order along the stream).
    let recorded_at = copied_recorded_at.unwrap_or_else(|| head.map_or(now, |h| now.max(h.recorded_at)));
    let header = CommitHeaderV1 {
        prev_hash: prev_hash.0,
        first_position,
        stream_id: stream.as_str(),
        first_version,
        recorded_at,
        event_count: count as u32,
    };
    let commit_hash = codec::commit_body_hash(&header, records);

    let types: Vec<&str> = events.iter().map(|e| e.event_type.name()).collect();
    let type_versions: Vec<i32> = events.iter().map(|e| i32::from(e.event_type.version())).collect();
    let books: Vec<Uuid> = events.iter().map(|e| e.metadata.book.0).collect();
    let actors: Vec<&str> = events.iter().map(|e| e.metadata.actor.as_str()).collect();
    let commands: Vec<Uuid> = events.iter().map(|e| e.metadata.command_id.0).collect();
    let correlations: Vec<Uuid> = events.iter().map(|e| e.metadata.correlation_id).collect();
    let causations: Vec<Uuid> = events.iter().map(|e| e.metadata.causation_id).collect();
    let occurred: Vec<i64> = events.iter().map(|e| e.metadata.occurred_at.unix_micros()).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
    let inserted = conn
        .query(
            INSERT,
            &[
                &(first_position as i64),
                &(first_version as i64),
                &stream.as_str(),
                &recorded_at,
                &&prev_hash.0[..],
                &&commit_hash.0[..],
                &ids,
                &types,
                &type_versions,
                &books,
                &actors,
                &commands,
                &correlations,
                &causations,
                &occurred,
                &payloads,
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_race(&e) => {
            conn.rollback().await;
            return Ok(Attempt::Raced);
        }
        Err(e) => return Err(StoreError::database("inserting events", e)),
    }
    Ok(Attempt::Written(
        Box::new(conn),
        Appended {
            first_position,
            last_position: first_position + count - 1,
            next_expected_version: first_version + count - 1,
        },
    ))
}

/// The answer to an append some of whose event ids are already stored (`stored`, in position order):
/// - one of them with other content: `store.event_id_reused`;
/// - all of them, in this stream, as the versions this append would have had after `expected`: the
///   original outcome (a retry);
/// - otherwise the append cannot be written (its ids are taken) and is not the original: a conflict if
///   the stream is not at `expected`, else `store.event_id_reused`.
fn compare_with_stored(
    stream: &StreamId,
    expected: ExpectedVersion,
    actual: Option<u64>,
    events: &[NewEvent],
    stored: &[RecordedEvent],
) -> AppendResult {
    let by_id: HashMap<EventId, &RecordedEvent> = stored.iter().map(|e| (e.event_id, e)).collect();
    let reused = |found: &RecordedEvent| StoreError::EventIdReused {
        event_id: found.event_id.0,
        stream: found.stream_id.to_string(),
        version: found.stream_version,
    };
    for sent in events {
        if let Some(found) = by_id.get(&sent.event_id)
            && (found.event_type != sent.event_type
                || found.metadata != sent.metadata
                || found.payload != sent.payload)
        {
            return Err(reused(found));
        }
    }
    let in_place: Option<Vec<&RecordedEvent>> = events
        .iter()
        .map(|sent| by_id.get(&sent.event_id).copied().filter(|found| found.stream_id == *stream))
        .collect();
    if let Some(found) = in_place {
        let first_version = found[0].stream_version;
        let contiguous = found.iter().enumerate().all(|(i, e)| e.stream_version == first_version + i as u64);
        let at_expected = match expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => first_version == 0,
            ExpectedVersion::Exact(v) => v.checked_add(1) == Some(first_version),
        };
        if contiguous && at_expected {
            return Ok(Ok(Appended {
                first_position: found[0].position,
                last_position: found[found.len() - 1].position,
                next_expected_version: first_version + found.len() as u64 - 1,
            }));
        }
    }
    let expected_holds = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual.is_none(),
        ExpectedVersion::Exact(v) => actual == Some(v),
    };
    if !expected_holds {
        return Ok(Err(WrongExpectedVersion { stream: stream.clone(), expected, actual }));
    }
    let first_taken = events.iter().find_map(|sent| by_id.get(&sent.event_id)).expect("some id is stored");
    Err(reused(first_taken))
}
