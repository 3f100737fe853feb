//! Named limits of the event store, each with the reason for its value.
//!
//! Every limit is checked at the edge of the store with a clear error (see [`crate::StoreError`]), so a bad
//! request is refused whole and nothing is half-written.

/// Largest payload of one event. Business events are a few hundred bytes; a megabyte leaves room for a
/// document with thousands of lines while keeping one append well inside a segment.
pub const EVENT_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;

/// Most events in one append. One append is one frame (atomic on disk); W1b appends 1,000 at a time, and a
/// bound keeps the frame and the writer's group buffer small.
pub const EVENTS_PER_APPEND_MAX: usize = 10_000;

/// Largest encoded append (all events with metadata). Bounds one frame and the memory of one request.
pub const APPEND_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Longest stream id in bytes. Stream ids are `<aggregate>-<uuid>` (about 50 bytes); 256 leaves room for
/// composite keys such as `stock-<item>-<warehouse>` while keeping the in-memory index small.
pub const STREAM_ID_BYTES_MAX: usize = 256;

/// Longest event type name, e.g. `purchasing.PurchaseInvoiceRegistered`.
pub const EVENT_TYPE_BYTES_MAX: usize = 128;

/// Longest actor name carried in metadata.
pub const ACTOR_BYTES_MAX: usize = 256;

/// Appends waiting for the writer. At 256 concurrent writers the queue never holds more than 256; the
/// bound exists so that a stalled disk turns into back-pressure and then a clear `store.overloaded` error
/// instead of unbounded memory.
pub const WRITER_QUEUE_MAX: usize = 4096;

/// How long an append waits for room in the writer queue before it is refused as overloaded.
pub const WRITER_QUEUE_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// Most appends the writer folds into one write and one fdatasync (one group commit).
pub const GROUP_APPENDS_MAX: usize = 4096;

/// Most bytes the writer folds into one group commit; a larger group would delay the first caller in it.
pub const GROUP_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Largest segment file. Offsets inside a segment are 32-bit in the in-memory index.
pub const SEGMENT_BYTES_MAX: u64 = 1 << 31;

/// Default segment size: large enough that a 10M-event log has a few dozen files.
pub const SEGMENT_BYTES_DEFAULT: u64 = 256 * 1024 * 1024;

/// Most segments: segment numbers are 16-bit in the in-memory index (65,536 × 256 MiB = 16 TiB).
pub const SEGMENTS_MAX: u32 = u16::MAX as u32;

/// Default bytes of recent frames the embedded store keeps in memory for live readers (about half a
/// second of a busy log; a reader further behind reads the segments).
pub const TAIL_CACHE_BYTES_DEFAULT: usize = 32 * 1024 * 1024;

/// Most events returned by one read call; callers page with the position or version they reached.
pub const READ_BATCH_MAX: usize = 65_536;

/// Connections a [`crate::PostgresStore`] keeps to its database by default (besides its listener): six
/// nodes at 16 fit under PostgreSQL's default `max_connections` of 100, and the service is meant to run
/// as several nodes over one server. One node with 64 appends in flight gains 25–45 % from a pool of 64
/// while commits are slow (docs/benchmarks.md, ADR 0015's addendum); such a node sets
/// `--store-connections`.
pub const POSTGRES_CONNECTIONS_DEFAULT: usize = 16;

/// Most connections a [`crate::PostgresStore`] may keep (`erp serve --store-connections`; checked by
/// [`crate::postgres::check_connections_max`]). A bound against a typo more than a tuning figure: with
/// PostgreSQL's default `max_connections` of 100 (3 of them reserved for superusers), a node at the
/// bound plus its listener leaves a third of the server to the other nodes, `erp migrate`, `erp audit
/// verify` and an operator's `psql`. W1 gained a quarter to a half from 16 to 64 connections, and only
/// while commits were slow (docs/benchmarks.md): not enough to let one node take more of the server.
pub const POSTGRES_CONNECTIONS_MAX: usize = 64;

/// How long a PostgreSQL append or read waits for a free connection before it is refused as overloaded.
pub const POSTGRES_CONNECTION_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a PostgreSQL statement of the store waits for a lock (PostgreSQL's `lock_timeout`): an append
/// whose stream's next version is being written by another transaction waits for it to end, and a
/// transaction of a node that went silent would otherwise hold it until TCP gives up on that node.
/// Appends commit in milliseconds, so ten seconds only ever cuts off a stuck one.
pub const POSTGRES_LOCK_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// Decisions an append makes in a row when it keeps losing races on its stream (a unique violation on
/// the stream's next version, or a deadlock between two appends that reuse each other's event ids): each
/// lost race means another append won, so a stream that loses this many in a row is hotter than any
/// stream of ours should be, and the caller hears `store.contended` instead of spinning.
pub const POSTGRES_APPEND_ATTEMPTS_MAX: u32 = 64;

/// The PostgreSQL store's global positions are `transaction id << 20 | index in the append` (ADR 0015):
/// an append may hold at most 2^20 events (far above [`EVENTS_PER_APPEND_MAX`]) ...
pub const POSTGRES_POSITION_INDEX_BITS: u32 = 20;

/// ... and a transaction id must stay below 2^43 so that a position fits a signed 64-bit `bigint`
/// (8.8 trillion transactions: three centuries at a thousand transactions a second).
pub const POSTGRES_XID_MAX: u64 = (1 << (63 - POSTGRES_POSITION_INDEX_BITS)) - 1;

/// How often a caught-up PostgreSQL subscription looks again without being woken. Wake-ups come from
/// `NOTIFY` on every append's commit; this poll only covers a horizon held back by a transaction that is
/// not an append (which notifies no one) and a listener connection being re-established. It never skips
/// anything: it only decides when to look.
pub const POSTGRES_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a read of the global log (`read_all`, `head_position`) waits for the appends this store
/// acknowledged to become visible to readers (the horizon passes them once every older transaction has
/// finished): read-your-writes for a node's own appends. Past it, the read answers what is visible.
pub const POSTGRES_VISIBILITY_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// The KurrentDB store's global positions are `$all commit position of the append's first event << 14
/// | index in the append` (ADR 0016): an append may hold at most 2^14 events (above
/// [`EVENTS_PER_APPEND_MAX`], asserted at compile time) ...
pub const KURRENTDB_POSITION_INDEX_BITS: u32 = 14;

/// ... and the transaction log may be at most 2^50 bytes (a pebibyte) long for a position to fit 64 bits.
pub const KURRENTDB_LOG_POSITION_MAX: u64 = (1 << (64 - KURRENTDB_POSITION_INDEX_BITS)) - 1;

/// Longest namespace of a KurrentDB store (the prefix of its stream names on the server): short next to
/// [`STREAM_ID_BYTES_MAX`], as it is repeated in every stream name.
pub const KURRENTDB_NAMESPACE_BYTES_MAX: usize = 64;

/// Decisions an `Any` append to a KurrentDB stream makes in a row when another writer keeps taking the
/// stream's next version between its read of the head and its write (the head's hash is chained into
/// the append, so it is written at the exact version it read): as for PostgreSQL, a stream that loses
/// this many in a row is hotter than any of ours should be, and the caller hears `store.contended`.
pub const KURRENTDB_APPEND_ATTEMPTS_MAX: u32 = 64;

/// Events a KurrentDB subscription fetches ahead of its consumer (held in a channel between the task
/// that follows the server's subscription and the consumer): a few pages of a busy log, and the bound
/// that turns a slow consumer into back-pressure on the server's stream instead of memory.
pub const KURRENTDB_SUBSCRIPTION_BUFFER: usize = 1024;

/// Times a KurrentDB subscription re-subscribes (from the last event it received) after its stream to
/// the server drops, 500 ms apart, before it hands the consumer the failure.
pub const KURRENTDB_RESUBSCRIBE_MAX: usize = 20;

/// Events a read of `$all` backwards looks at per request when it looks for the last event of ours
/// (`head_position`); with a namespace the server's filter makes the first one ours.
pub const KURRENTDB_HEAD_SCAN_BATCH: usize = 64;

/// Checks an append against every limit before any adapter touches its storage: not empty, at most
/// [`EVENTS_PER_APPEND_MAX`] events, each payload at most [`EVENT_PAYLOAD_BYTES_MAX`], each actor at most
/// [`ACTOR_BYTES_MAX`], at most [`APPEND_BYTES_MAX`] of payload in all, no event id twice. Returns the
/// payload bytes. Every adapter calls it, so they refuse exactly the same appends with the same codes.
pub(crate) fn check_append(events: &[crate::NewEvent]) -> Result<usize, crate::StoreError> {
    use crate::StoreError;
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if events.len() > EVENTS_PER_APPEND_MAX {
        return Err(StoreError::TooManyEvents { count: events.len(), max: EVENTS_PER_APPEND_MAX });
    }
    let mut payload_bytes = 0usize;
    for (index, event) in events.iter().enumerate() {
        if event.payload.len() > EVENT_PAYLOAD_BYTES_MAX {
            return Err(StoreError::EventTooLarge {
                index,
                size: event.payload.len(),
                max: EVENT_PAYLOAD_BYTES_MAX,
            });
        }
        if event.metadata.actor.len() > ACTOR_BYTES_MAX {
            return Err(StoreError::InvalidMetadata {
                reason: format!("event {index}: the actor is longer than {ACTOR_BYTES_MAX} bytes"),
            });
        }
        payload_bytes += event.payload.len();
    }
    if payload_bytes > APPEND_BYTES_MAX {
        return Err(StoreError::AppendTooLarge { size: payload_bytes, max: APPEND_BYTES_MAX });
    }
    if events.len() > 1 {
        let mut ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(StoreError::DuplicateEventId { event_id: pair[0].0 });
        }
    }
    Ok(payload_bytes)
}

/// Encodes an append's events as the stored event records ([`crate::codec::encode_event_records`]) after
/// [`check_append`], and refuses an encoding over [`APPEND_BYTES_MAX`]. Returns the records and each
/// one's byte range.
pub(crate) fn check_and_encode_append(
    events: &[crate::NewEvent],
) -> Result<(Vec<u8>, Vec<std::ops::Range<usize>>), crate::StoreError> {
    let payload_bytes = check_append(events)?;
    let mut records = Vec::with_capacity(payload_bytes + events.len() * 160);
    let ranges = crate::codec::encode_event_records(events, &mut records)?;
    if records.len() > APPEND_BYTES_MAX {
        return Err(crate::StoreError::AppendTooLarge { size: records.len(), max: APPEND_BYTES_MAX });
    }
    Ok((records, ranges))
}
