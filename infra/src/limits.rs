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
