//! The read paths of the PostgreSQL store: a stream by version, the global log by position below the
//! horizon, and the head.
//!
//! The horizon is `pg_snapshot_xmin(pg_current_snapshot()) << 20`, computed in the same statement (so
//! from the same snapshot) as the rows it filters. `xmin` is the oldest transaction id still running
//! when the snapshot was taken: every transaction with a smaller id has committed (and is visible to
//! this snapshot) or aborted, and every transaction that can still commit, including appends that have
//! not taken an id yet, has an id of at least `xmin`, hence positions of at least the horizon. So a
//! reader that pages from its checkpoint can never later meet an event below it.
//!
//! A stream is read without the horizon: its versions commit in order (ADR 0015), and the command bus
//! must see a stream's newest version to decide against it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use domain::{BookId, CommandId, EventId, Timestamp};
use tokio_postgres::Row;
use uuid::Uuid;

use super::Inner;
use crate::envelope::{ChainHash, EventMetadata, EventType, RecordedEvent, StreamId};
use crate::error::StoreError;
use crate::limits;

// The SQL below shifts by 20 bits, the width of the index within an append.
const _: () = assert!(limits::POSTGRES_POSITION_INDEX_BITS == 20);

/// The columns of an event, in the order [`decode_event`] reads them.
macro_rules! event_columns {
    () => {
        "position, stream_id, stream_version, event_id, event_type, type_version, book, actor, command_id, \
         correlation_id, causation_id, occurred_at, recorded_at, payload, prev_hash"
    };
}
pub(crate) use event_columns;

/// Columns [`decode_event`] reads.
pub(crate) const EVENT_COLUMN_COUNT: usize = 15;

const READ_STREAM: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3"
);

/// The horizon, whether committed events from `$1` are held back at or above it, and the events from
/// `$1` below it; one row with null event columns when there are none. (`MATERIALIZED` so the look
/// beyond the horizon runs once, not once per row.)
const READ_ALL: &str = concat!(
    // `held_back`: is anything stored at or after where this read may not look yet? Asked of the
    // index's last entry: an `EXISTS` over the same condition was planned as a sequential scan (the
    // horizon is computed in the query), which read the whole table whenever nothing matched, i.e. on
    // every read of a caught-up reader: 0.5 s per page at a million events.
    "WITH h AS MATERIALIZED (SELECT horizon, coalesce((SELECT max(position) FROM events) >= greatest($1, horizon), \
     false) AS held_back FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20 AS horizon) x) ",
    "SELECT h.horizon, h.held_back, e.* FROM h LEFT JOIN LATERAL (SELECT ",
    event_columns!(),
    " FROM events WHERE position >= $1 AND position < h.horizon ORDER BY position LIMIT $2) e ON true ",
    "ORDER BY e.position"
);

/// The horizon and the last position below it.
const HEAD: &str = "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20 AS horizon) \
                    SELECT h.horizon, (SELECT max(position) FROM events WHERE position < h.horizon) FROM h";

/// How often a read of the global log looks again while it waits for this store's own appends to
/// become visible (it is also woken by every append's notification).
const VISIBILITY_POLL: Duration = Duration::from_millis(20);

pub(crate) async fn read_stream(
    inner: &Inner,
    stream: &StreamId,
    from_version: u64,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    check_read_size(max_count)?;
    if max_count == 0 {
        return Ok(Vec::new());
    }
    let mut conn = inner.pool.get().await?;
    let from = i64::try_from(from_version).unwrap_or(i64::MAX);
    let rows = conn
        .query(READ_STREAM, &[&stream.as_str(), &from, &(max_count as i64)])
        .await
        .map_err(|e| StoreError::database(format!("reading stream {stream}"), e))?;
    let mut names = Names::default();
    rows.iter().map(|row| decode_event(row, 0, &mut names)).collect()
}

/// `read_all` for callers: waits (at most `visibility_wait_max`) until this store's acknowledged appends
/// are below the horizon, so a node reads its own writes.
pub(crate) async fn read_all(
    inner: &Inner,
    from_position: u64,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    check_read_size(max_count)?;
    let deadline = tokio::time::Instant::now() + inner.visibility_wait_max;
    let mut wake = inner.wake_tx.subscribe();
    loop {
        wake.borrow_and_update();
        let Page { horizon, events, .. } = read_all_page(inner, from_position, max_count).await?;
        if !wait_for_own_appends(inner, horizon, deadline, &mut wake).await {
            return Ok(events);
        }
    }
}

pub(crate) async fn head_position(inner: &Inner) -> Result<u64, StoreError> {
    let deadline = tokio::time::Instant::now() + inner.visibility_wait_max;
    let mut wake = inner.wake_tx.subscribe();
    loop {
        wake.borrow_and_update();
        let mut conn = inner.pool.get().await?;
        let row = conn
            .query(HEAD, &[])
            .await
            .map_err(|e| StoreError::database("reading the head position", e))?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::database("reading the head position", "no row"))?;
        drop(conn);
        let horizon = row.get::<_, i64>(0) as u64;
        let head = row.get::<_, Option<i64>>(1).map_or(0, |p| p as u64);
        if !wait_for_own_appends(inner, horizon, deadline, &mut wake).await {
            return Ok(head);
        }
    }
}

/// Returns false when the store's acknowledged appends are below `horizon` or the deadline has passed
/// (the caller answers what it read); otherwise waits a little, or until woken, and returns true.
async fn wait_for_own_appends(
    inner: &Inner,
    horizon: u64,
    deadline: tokio::time::Instant,
    wake: &mut tokio::sync::watch::Receiver<u64>,
) -> bool {
    let acked = inner.acked.load(Ordering::Acquire);
    if acked < horizon {
        return false;
    }
    let now = tokio::time::Instant::now();
    if now >= deadline {
        tracing::warn!(
            acked,
            horizon,
            "the store's own appends are still behind the horizon: an older transaction is running; \
             reading what is visible"
        );
        return false;
    }
    let _ = tokio::time::timeout(VISIBILITY_POLL.min(deadline - now), wake.changed()).await;
    true
}

/// A page of the global log as one snapshot saw it.
pub(crate) struct Page {
    /// Positions below this were visible (every transaction that could write one had finished).
    pub horizon: u64,
    /// Committed events at or after the page's start wait at or above the horizon for an older
    /// transaction to finish: a reader should look again soon rather than wait for a notification.
    pub held_back: bool,
    pub events: Vec<RecordedEvent>,
}

/// One page of the global log from `from_position`, below the horizon.
pub(crate) async fn read_all_page(
    inner: &Inner,
    from_position: u64,
    max_count: usize,
) -> Result<Page, StoreError> {
    let mut conn = inner.pool.get().await?;
    let from = i64::try_from(from_position).unwrap_or(i64::MAX);
    let rows = conn
        .query(READ_ALL, &[&from, &(max_count as i64)])
        .await
        .map_err(|e| StoreError::database("reading the log", e))?;
    drop(conn);
    let horizon = rows.first().map_or(0, |row| row.get::<_, i64>(0) as u64);
    let held_back = rows.first().is_some_and(|row| row.get::<_, bool>(1));
    let mut names = Names::default();
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.get::<_, Option<i64>>(2).is_none() {
            continue;
        }
        events.push(decode_event(row, 2, &mut names)?);
    }
    Ok(Page { horizon, held_back, events })
}

fn check_read_size(max_count: usize) -> Result<(), StoreError> {
    if max_count > limits::READ_BATCH_MAX {
        return Err(StoreError::ReadTooLarge { requested: max_count, max: limits::READ_BATCH_MAX });
    }
    Ok(())
}

/// Stream ids and type names met in one read, each checked and allocated once.
#[derive(Default)]
pub(crate) struct Names {
    streams: HashMap<String, StreamId>,
    types: HashMap<(String, u16), EventType>,
}

impl Names {
    fn stream(&mut self, id: &str) -> Result<StreamId, String> {
        if let Some(stream) = self.streams.get(id) {
            return Ok(stream.clone());
        }
        let stream = StreamId::new(id).map_err(|e| e.to_string())?;
        self.streams.insert(id.to_owned(), stream.clone());
        Ok(stream)
    }

    fn event_type(&mut self, name: &str, version: u16) -> Result<EventType, String> {
        // Usually a handful of types per read: a linear look-up avoids allocating a key per row.
        if let Some(found) = self.types.iter().find(|((n, v), _)| n == name && *v == version) {
            return Ok(found.1.clone());
        }
        let event_type = EventType::new(name, version).map_err(|e| e.to_string())?;
        self.types.insert((name.to_owned(), version), event_type.clone());
        Ok(event_type)
    }
}

/// Decodes the event whose [`event_columns!`] start at column `at` of `row`.
pub(crate) fn decode_event(row: &Row, at: usize, names: &mut Names) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.get(at);
    let bad = |reason: String| StoreError::Decode {
        reason: format!("stored event at position {position}: {reason}"),
    };
    let get_err = |e: tokio_postgres::Error| bad(e.to_string());
    let stream_id: &str = row.try_get(at + 1).map_err(get_err)?;
    let stream_version: i64 = row.try_get(at + 2).map_err(get_err)?;
    let event_id: Uuid = row.try_get(at + 3).map_err(get_err)?;
    let type_name: &str = row.try_get(at + 4).map_err(get_err)?;
    let type_version: i32 = row.try_get(at + 5).map_err(get_err)?;
    let type_version =
        u16::try_from(type_version).map_err(|_| bad(format!("type version {type_version}")))?;
    let book: Uuid = row.try_get(at + 6).map_err(get_err)?;
    let actor: String = row.try_get(at + 7).map_err(get_err)?;
    let command_id: Uuid = row.try_get(at + 8).map_err(get_err)?;
    let correlation_id: Uuid = row.try_get(at + 9).map_err(get_err)?;
    let causation_id: Uuid = row.try_get(at + 10).map_err(get_err)?;
    let occurred_at: i64 = row.try_get(at + 11).map_err(get_err)?;
    let recorded_at: i64 = row.try_get(at + 12).map_err(get_err)?;
    let payload: Vec<u8> = row.try_get(at + 13).map_err(get_err)?;
    let prev_hash: &[u8] = row.try_get(at + 14).map_err(get_err)?;
    let prev_hash: [u8; 32] =
        prev_hash.try_into().map_err(|_| bad(format!("a previous hash of {} bytes", prev_hash.len())))?;
    Ok(RecordedEvent {
        position: u64::try_from(position).map_err(|_| bad("a negative position".into()))?,
        stream_id: names.stream(stream_id).map_err(bad)?,
        stream_version: u64::try_from(stream_version).map_err(|_| bad("a negative version".into()))?,
        event_id: EventId(event_id),
        event_type: names.event_type(type_name, type_version).map_err(bad)?,
        metadata: EventMetadata {
            book: BookId(book),
            actor,
            command_id: CommandId(command_id),
            correlation_id,
            causation_id,
            occurred_at: Timestamp(occurred_at),
        },
        recorded_at: Timestamp(recorded_at),
        payload,
        prev_hash: ChainHash(prev_hash),
    })
}
