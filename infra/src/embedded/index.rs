//! The in-memory index of the embedded store, and its checkpoint file.
//!
//! Two tables: `locs[p - 1]` says where the event at global position `p` lives (segment, frame offset,
//! index within the frame), and the streams table lists each stream's positions by version. Both are
//! rebuilt by scanning the log, or loaded from `index.ckpt` (written on clean close, every so many
//! events, and after long recoveries) and completed by scanning only the frames written after it
//! (docs/adr/0001-segment-format.md).
//!
//! The streams table is laid out for ten million events and two million streams in a few hundred
//! megabytes (ADR 0012, third addendum): every name lives in one byte arena, every position in one
//! pool, a row per stream says where, and a hash table holds only row numbers. A map from an owned
//! name to a vector of positions cost two allocations and 40 bytes of table a stream, 370 MB in all.

use std::fs::File;
use std::hash::BuildHasher;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use hashbrown::HashTable;

use crate::envelope::ChainHash;
use crate::error::StoreError;

/// Where the next frame goes and what the last one was; enough to validate a checkpoint against the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    pub segment: u32,
    /// End of the last valid frame in `segment` (where the next frame is written).
    pub offset: u64,
    /// Offset and CRC of the last frame, if any; a checkpoint is trusted only if this frame still matches.
    pub last_frame: Option<(u32, u64, u32)>,
}

/// Location of one event: segment (16 bits) | frame offset (32 bits) | index in frame (16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc(u64);

impl Loc {
    pub fn new(segment: u32, offset: u64, index: u32) -> Loc {
        debug_assert!(segment <= u16::MAX as u32 && offset <= u32::MAX as u64 && index <= u16::MAX as u32);
        Loc(((segment as u64) << 48) | (offset << 16) | index as u64)
    }
    pub fn segment(self) -> u32 {
        (self.0 >> 48) as u32
    }
    pub fn offset(self) -> u64 {
        (self.0 >> 16) & 0xFFFF_FFFF
    }
    pub fn index(self) -> u32 {
        (self.0 & 0xFFFF) as u32
    }
}

pub(crate) struct Index {
    locs: Vec<Loc>,
    streams: Streams,
    pub head_hash: ChainHash,
    pub tail: Tail,
}

/// One stream's row: where its name is in the arena and where its positions are in the pool.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Offset in `names` << 16 | the name's length (a stream id is at most 256 bytes).
    name: u64,
    /// First slot of the stream's positions in `pool`.
    at: u64,
    /// Events in the stream.
    len: u32,
    /// Slots reserved at `at`; appends beyond them move the positions to the end of the pool.
    cap: u32,
}

impl Row {
    fn name_range(self) -> std::ops::Range<usize> {
        let at = (self.name >> 16) as usize;
        at..at + (self.name & 0xFFFF) as usize
    }
}

/// Every stream by name, in four flat arrays and a table of row numbers.
#[derive(Default)]
struct Streams {
    /// Row numbers, placed by the hash of the row's name.
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    rows: Vec<Row>,
    /// Every stream's name, one after the other.
    names: Vec<u8>,
    /// Every stream's positions, a run of slots per stream (with room to grow, and runs left behind).
    pool: Vec<u64>,
    /// Slots of `pool` left behind by streams that moved; the pool is packed again when they pass half
    /// the positions held.
    abandoned: usize,
    /// Positions held (the log's length).
    live: usize,
    /// Times the pool was packed (for tests and diagnostics).
    packs: u32,
}

/// Below this many slots the pool is never packed: a small log's slack costs nothing.
const POOL_PACK_MIN: usize = 1 << 20;

impl Streams {
    fn name(&self, row: Row) -> &[u8] {
        &self.names[row.name_range()]
    }

    fn find(&self, stream: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(stream.as_bytes());
        self.table.find(hash, |&r| self.name(self.rows[r as usize]) == stream.as_bytes()).copied()
    }

    fn row(&self, stream: &str) -> Option<Row> {
        self.find(stream).map(|r| self.rows[r as usize])
    }

    fn positions(&self, row: Row) -> &[u64] {
        &self.pool[row.at as usize..row.at as usize + row.len as usize]
    }

    /// Adds a stream with no events yet; answers its row number.
    fn insert(&mut self, stream: &str) -> u32 {
        let r = u32::try_from(self.rows.len()).expect("fewer than 2^32 streams");
        let name_at = self.names.len() as u64;
        assert!(stream.len() <= 0xFFFF && name_at < 1 << 48, "stream names are bounded");
        self.names.extend_from_slice(stream.as_bytes());
        self.rows.push(Row {
            name: (name_at << 16) | stream.len() as u64,
            at: self.pool.len() as u64,
            len: 0,
            cap: 0,
        });
        let Streams { table, hasher, rows, names, .. } = self;
        let hash = hasher.hash_one(stream.as_bytes());
        table.insert_unique(hash, r, |&r| hasher.hash_one(&names[rows[r as usize].name_range()]));
        r
    }

    /// Appends `count` consecutive positions from `first` to row `r`.
    fn extend(&mut self, r: u32, first: u64, count: u32) {
        let mut row = self.rows[r as usize];
        let len = row.len.checked_add(count).expect("a stream holds fewer than 2^32 events");
        if len > row.cap {
            let end = row.at as usize + row.cap as usize;
            if end == self.pool.len() {
                // The stream's run is the last one: it grows where it is.
                let cap = grown(len);
                self.pool.resize(row.at as usize + cap as usize, 0);
                row.cap = cap;
            } else {
                let cap = grown(len);
                let at = self.pool.len();
                self.pool.extend_from_within(row.at as usize..row.at as usize + row.len as usize);
                self.pool.resize(at + cap as usize, 0);
                self.abandoned += row.cap as usize;
                row.at = at as u64;
                row.cap = cap;
            }
        }
        let at = row.at as usize + row.len as usize;
        for (slot, position) in self.pool[at..at + count as usize].iter_mut().zip(first..) {
            *slot = position;
        }
        row.len = len;
        self.rows[r as usize] = row;
        self.live += count as usize;
        // Runs grow by doubling, so their room is at most twice what is held; with what is left behind
        // bounded by half of what is held, the pool stays under two and a half times its positions.
        if self.abandoned > POOL_PACK_MIN.max(self.live / 2) {
            self.pack();
        }
    }

    /// Copies every run into a fresh pool, each with the room it had, leaving nothing behind. Keeping
    /// the room is what bounds how often this happens: packed to their lengths, every stream would move
    /// again on its next append, and round-robin appends to many streams packed the whole pool every
    /// few thousand commits (a full scan of 10M events took three times as long).
    fn pack(&mut self) {
        let room: usize = self.rows.iter().map(|r| r.cap as usize).sum();
        let mut pool = Vec::with_capacity(room);
        for row in &mut self.rows {
            let at = pool.len();
            pool.extend_from_slice(&self.pool[row.at as usize..row.at as usize + row.len as usize]);
            pool.resize(at + row.cap as usize, 0);
            row.at = at as u64;
        }
        self.pool = pool;
        self.abandoned = 0;
        self.packs += 1;
    }
}

/// The room a run of `len` positions gets when it must grow: doubling, so a stream of n events moves
/// about log2(n) times and leaves fewer than n slots behind.
fn grown(len: u32) -> u32 {
    len.checked_next_power_of_two().unwrap_or(u32::MAX).max(4)
}

impl Index {
    pub fn empty() -> Index {
        Index {
            locs: Vec::new(),
            streams: Streams::default(),
            head_hash: ChainHash::GENESIS,
            tail: Tail { segment: 0, offset: 0, last_frame: None },
        }
    }

    /// Position of the last event (0 when empty).
    pub fn head_position(&self) -> u64 {
        self.locs.len() as u64
    }

    pub fn loc(&self, position: u64) -> Option<Loc> {
        if position == 0 {
            return None;
        }
        self.locs.get((position - 1) as usize).copied()
    }

    /// Number of events in the stream (its last version + 1).
    pub fn stream_len(&self, stream: &str) -> u64 {
        self.streams.row(stream).map_or(0, |row| row.len as u64)
    }

    pub fn stream_positions(&self, stream: &str) -> &[u64] {
        self.streams.row(stream).map_or(&[], |row| self.streams.positions(row))
    }

    pub fn stream_count(&self) -> usize {
        self.streams.rows.len()
    }

    /// Records one commit. Asserts the invariants a correct writer or scan always keeps.
    pub fn push_commit(
        &mut self,
        stream: &str,
        first_position: u64,
        first_version: u64,
        segment: u32,
        offset: u64,
        count: u32,
    ) {
        assert_eq!(first_position, self.head_position() + 1, "positions must be contiguous");
        let r = match self.streams.find(stream) {
            Some(r) => r,
            None => self.streams.insert(stream),
        };
        let len = self.streams.rows[r as usize].len as u64;
        assert_eq!(len, first_version, "stream versions must be contiguous");
        self.locs.extend((0..count).map(|i| Loc::new(segment, offset, i)));
        self.streams.extend(r, first_position, count);
    }

    /// What a checkpoint holds, copied out so it can be written beside the writer: the arrays only (the
    /// hash table is rebuilt on load), each stream's positions packed in row order.
    pub fn checkpoint_image(&self) -> CheckpointImage {
        let streams = &self.streams;
        let mut pool = Vec::with_capacity(streams.live);
        let rows = streams
            .rows
            .iter()
            .map(|&row| {
                let at = pool.len() as u64;
                pool.extend_from_slice(streams.positions(row));
                Row { at, cap: row.len, ..row }
            })
            .collect();
        CheckpointImage {
            tail: self.tail,
            head_hash: self.head_hash,
            locs: self.locs.clone(),
            rows,
            names: streams.names.clone(),
            pool,
        }
    }

    /// Writes the checkpoint atomically, from the index's own arrays (no copy: the caller holds the
    /// index for the while, as on close).
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        let streams = &self.streams;
        CheckpointSource {
            tail: self.tail,
            head_hash: self.head_hash,
            locs: &self.locs,
            rows: &streams.rows,
            names: &streams.names,
            pool: &streams.pool,
            positions: streams.live,
        }
        .save(dir)
    }

    /// Loads the checkpoint if there is one that is intact; `Ok(None)` when absent or unusable (the caller
    /// then scans the whole log, which is always correct, only slower).
    pub fn load_checkpoint(dir: &Path) -> Result<Option<Index>, StoreError> {
        let path = dir.join(CHECKPOINT_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
        };
        let len =
            file.metadata().map_err(|e| StoreError::io(format!("stat of {}", path.display()), e))?.len();
        let mut reader = CrcReader { inner: BufReader::with_capacity(1 << 20, file), crc: 0 };
        match read_checkpoint(&mut reader, len) {
            Ok(Some(index)) => Ok(Some(index)),
            Ok(None) => {
                tracing::warn!(path = %path.display(), "index checkpoint is damaged or of an older layout; ignoring it and scanning the log");
                Ok(None)
            }
            // A short file is a damaged one, not a failure to read.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                tracing::warn!(path = %path.display(), "index checkpoint is cut short; ignoring it and scanning the log");
                Ok(None)
            }
            Err(e) => Err(StoreError::io(format!("reading {}", path.display()), e)),
        }
    }
}

/// A copy of the index's arrays, positions packed, for a checkpoint written beside the writer.
pub(crate) struct CheckpointImage {
    tail: Tail,
    head_hash: ChainHash,
    locs: Vec<Loc>,
    rows: Vec<Row>,
    names: Vec<u8>,
    pool: Vec<u64>,
}

impl CheckpointImage {
    pub fn head_position(&self) -> u64 {
        self.locs.len() as u64
    }

    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        CheckpointSource {
            tail: self.tail,
            head_hash: self.head_hash,
            locs: &self.locs,
            rows: &self.rows,
            names: &self.names,
            pool: &self.pool,
            positions: self.pool.len(),
        }
        .save(dir)
    }
}

/// What a checkpoint is written from: the index's own arrays or an image of them. `names` holds every
/// row's name in row order (the arena never holds anything else); each row's positions are read from
/// `pool`, `positions` in all.
struct CheckpointSource<'a> {
    tail: Tail,
    head_hash: ChainHash,
    locs: &'a [Loc],
    rows: &'a [Row],
    names: &'a [u8],
    pool: &'a [u64],
    positions: usize,
}

impl CheckpointSource<'_> {
    /// Writes the checkpoint atomically (temporary file, fsync, rename, fsync of the directory),
    /// streaming it: the file is as large as the index, and a copy of it in memory was a third of a
    /// gigabyte at ten million events.
    fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let tmp = dir.join(CHECKPOINT_TMP);
        let io =
            |what: &str, e| StoreError::io(format!("writing index checkpoint {}: {what}", tmp.display()), e);
        let file = File::create(&tmp).map_err(|e| io("create", e))?;
        let mut out = BufWriter::with_capacity(1 << 20, CrcWriter { inner: file, crc: 0 });
        self.write_body(&mut out).map_err(|e| io("write", e))?;
        let mut crc_writer = out.into_inner().map_err(|e| io("flush", e.into_error()))?;
        let crc = crc_writer.crc;
        crc_writer.inner.write_all(&crc.to_le_bytes()).map_err(|e| io("write", e))?;
        crc_writer.inner.sync_all().map_err(|e| io("fsync", e))?;
        std::fs::rename(&tmp, dir.join(CHECKPOINT_FILE)).map_err(|e| io("rename", e))?;
        super::sync_dir(dir)?;
        Ok(())
    }

    fn write_body(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(CHECKPOINT_MAGIC)?;
        out.write_all(&self.tail.segment.to_le_bytes())?;
        out.write_all(&self.tail.offset.to_le_bytes())?;
        let (lf_seg, lf_off, lf_crc) = self.tail.last_frame.unwrap_or((u32::MAX, u64::MAX, 0));
        out.write_all(&lf_seg.to_le_bytes())?;
        out.write_all(&lf_off.to_le_bytes())?;
        out.write_all(&lf_crc.to_le_bytes())?;
        out.write_all(&self.head_hash.0)?;
        for count in [self.locs.len(), self.rows.len(), self.names.len(), self.positions] {
            out.write_all(&(count as u64).to_le_bytes())?;
        }
        for loc in self.locs {
            out.write_all(&loc.0.to_le_bytes())?;
        }
        for row in self.rows {
            out.write_all(&(row.name_range().len() as u32).to_le_bytes())?;
            out.write_all(&row.len.to_le_bytes())?;
        }
        out.write_all(self.names)?;
        for row in self.rows {
            for position in &self.pool[row.at as usize..row.at as usize + row.len as usize] {
                out.write_all(&position.to_le_bytes())?;
            }
        }
        Ok(())
    }
}

pub(crate) const CHECKPOINT_FILE: &str = "index.ckpt";
const CHECKPOINT_TMP: &str = "index.ckpt.tmp";
/// The layout: this magic; the tail and head hash; the counts of locations, streams, name bytes and
/// positions; the locations; (name length, events) per stream; the names; the positions in stream order;
/// then a CRC-32C of everything before it. `ERPIDX01` (one record per stream, the CRC in the header) is
/// no longer read: the log is scanned once and a new checkpoint written.
const CHECKPOINT_MAGIC: &[u8; 8] = b"ERPIDX02";

/// Passes writes through, keeping the CRC-32C of everything written.
struct CrcWriter<W> {
    inner: W,
    crc: u32,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Passes reads through, keeping the CRC-32C of everything read.
struct CrcReader<R> {
    inner: R,
    crc: u32,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads `count` little-endian words through a small buffer into `out` (sized by the caller).
fn read_words<T>(
    r: &mut impl Read,
    count: usize,
    out: &mut Vec<T>,
    word: impl Fn(&[u8]) -> T,
) -> std::io::Result<()> {
    const CHUNK_WORDS: usize = 1 << 16;
    let size = size_of::<T>();
    let mut buf = vec![0u8; CHUNK_WORDS.min(count.max(1)) * size];
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK_WORDS);
        r.read_exact(&mut buf[..n * size])?;
        out.extend(buf[..n * size].chunks_exact(size).map(&word));
        left -= n;
    }
    Ok(())
}

/// Reads a checkpoint straight into the index's arrays (no copy of the file is held), checking the CRC
/// at the end; `Ok(None)` when it is not one this build writes or does not add up.
fn read_checkpoint<R: Read>(r: &mut CrcReader<R>, file_len: u64) -> std::io::Result<Option<Index>> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != CHECKPOINT_MAGIC {
        return Ok(None);
    }
    let segment = read_u32(r)?;
    let offset = read_u64(r)?;
    let (lf_seg, lf_off, lf_crc) = (read_u32(r)?, read_u64(r)?, read_u32(r)?);
    let last_frame = if lf_seg == u32::MAX { None } else { Some((lf_seg, lf_off, lf_crc)) };
    let mut head_hash = [0u8; 32];
    r.read_exact(&mut head_hash)?;
    let (loc_count, stream_count, names_len, position_count) =
        (read_u64(r)?, read_u64(r)?, read_u64(r)?, read_u64(r)?);
    // The counts must fit the file before anything is sized by them: a damaged count would otherwise ask
    // for terabytes.
    let header = 8 + 4 + 8 + 4 + 8 + 4 + 32 + 4 * 8;
    let body = [
        loc_count.checked_mul(8),
        stream_count.checked_mul(8),
        Some(names_len),
        position_count.checked_mul(8),
    ]
    .into_iter()
    .try_fold(header as u64 + 4, |sum, part| sum.checked_add(part?));
    if body != Some(file_len) {
        return Ok(None);
    }
    let (loc_count, stream_count, names_len, position_count) =
        (loc_count as usize, stream_count as usize, names_len as usize, position_count as usize);

    let mut locs = Vec::with_capacity(loc_count);
    read_words(r, loc_count, &mut locs, |b| Loc(u64::from_le_bytes(b.try_into().expect("8 bytes"))))?;
    let mut counts: Vec<(u32, u32)> = Vec::with_capacity(stream_count);
    read_words(r, stream_count, &mut counts, |b| {
        (
            u32::from_le_bytes(b[..4].try_into().expect("4 bytes")),
            u32::from_le_bytes(b[4..].try_into().expect("4 bytes")),
        )
    })?;
    let mut names = Vec::with_capacity(names_len);
    (&mut *r).take(names_len as u64).read_to_end(&mut names)?;
    if names.len() != names_len {
        return Ok(None);
    }
    let mut pool = Vec::with_capacity(position_count);
    read_words(r, position_count, &mut pool, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))?;
    let computed = r.crc;
    let stored = read_u32(r)?;
    if stored != computed {
        return Ok(None);
    }

    let mut streams = Streams {
        table: HashTable::with_capacity(stream_count),
        hasher: foldhash::fast::RandomState::default(),
        rows: Vec::with_capacity(stream_count),
        names,
        pool,
        abandoned: 0,
        live: position_count,
        packs: 0,
    };
    let (mut name_at, mut at) = (0u64, 0u64);
    for (number, (name_len, len)) in counts.into_iter().enumerate() {
        let row = Row { name: (name_at << 16) | name_len as u64, at, len, cap: len };
        name_at += name_len as u64;
        at += len as u64;
        if name_len > 0xFFFF || name_at > names_len as u64 || at > position_count as u64 {
            return Ok(None);
        }
        let Streams { table, hasher, rows, names, .. } = &mut streams;
        let name = &names[row.name_range()];
        let hash = hasher.hash_one(name);
        if table.find(hash, |&o| names[rows[o as usize].name_range()] == *name).is_some() {
            return Ok(None); // the same stream twice
        }
        rows.push(row);
        table.insert_unique(hash, number as u32, |&o| hasher.hash_one(&names[rows[o as usize].name_range()]));
    }
    if name_at != names_len as u64 || at != position_count as u64 || position_count != loc_count {
        return Ok(None);
    }
    Ok(Some(Index {
        locs,
        streams,
        head_hash: ChainHash(head_hash),
        tail: Tail { segment, offset, last_frame },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_packs_and_unpacks_its_three_parts() {
        let loc = Loc::new(65_535, u32::MAX as u64, 9_999);
        assert_eq!((loc.segment(), loc.offset(), loc.index()), (65_535, u32::MAX as u64, 9_999));
    }

    fn three_commits() -> Index {
        let mut index = Index::empty();
        index.push_commit("order-1", 1, 0, 0, 0, 3);
        index.push_commit("order-2", 4, 0, 0, 100, 1);
        index.push_commit("order-1", 5, 3, 1, 0, 2);
        index.head_hash = ChainHash([7; 32]);
        index.tail = Tail { segment: 1, offset: 200, last_frame: Some((1, 0, 1234)) };
        index
    }

    #[test]
    fn a_checkpoint_round_trips_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let index = three_commits();
        index.save_checkpoint(dir.path()).unwrap();
        let loaded = Index::load_checkpoint(dir.path()).unwrap().expect("checkpoint");
        assert_eq!(loaded.head_position(), 6);
        assert_eq!(loaded.stream_positions("order-1"), &[1, 2, 3, 5, 6]);
        assert_eq!(loaded.stream_positions("order-2"), &[4]);
        assert_eq!(loaded.stream_len("order-3"), 0);
        assert_eq!(loaded.loc(5), Some(Loc::new(1, 0, 0)));
        assert_eq!(loaded.tail, index.tail);
        assert_eq!(loaded.head_hash, index.head_hash);

        let path = dir.path().join(CHECKPOINT_FILE);
        let good = std::fs::read(&path).unwrap();
        for flipped in [10, good.len() / 2, good.len() - 1] {
            let mut bytes = good.clone();
            bytes[flipped] ^= 1;
            std::fs::write(&path, bytes).unwrap();
            assert!(Index::load_checkpoint(dir.path()).unwrap().is_none(), "a flip at byte {flipped}");
        }
        std::fs::write(&path, &good[..good.len() - 9]).unwrap();
        assert!(Index::load_checkpoint(dir.path()).unwrap().is_none(), "a cut file");
    }

    #[test]
    fn a_checkpoint_of_the_older_layout_is_ignored_so_the_log_is_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"ERPIDX01".to_vec();
        bytes.extend_from_slice(&[0; 64]);
        std::fs::write(dir.path().join(CHECKPOINT_FILE), bytes).unwrap();
        assert!(Index::load_checkpoint(dir.path()).unwrap().is_none());
    }

    #[test]
    fn a_loaded_index_keeps_growing_and_saves_again() {
        let dir = tempfile::tempdir().unwrap();
        three_commits().save_checkpoint(dir.path()).unwrap();
        let mut index = Index::load_checkpoint(dir.path()).unwrap().expect("checkpoint");
        // order-1's run is packed between others: growing moves it to the end of the pool.
        index.push_commit("order-1", 7, 5, 1, 50, 1);
        index.push_commit("order-3", 8, 0, 1, 60, 2);
        index.push_commit("order-2", 10, 1, 1, 70, 1);
        assert_eq!(index.stream_positions("order-1"), &[1, 2, 3, 5, 6, 7]);
        assert_eq!(index.stream_positions("order-2"), &[4, 10]);
        assert_eq!(index.stream_positions("order-3"), &[8, 9]);
        assert_eq!(index.stream_count(), 3);
        index.save_checkpoint(dir.path()).unwrap();
        // The background checkpoint writes from a packed copy: the same file, byte for byte.
        let copied = tempfile::tempdir().unwrap();
        index.checkpoint_image().save(copied.path()).unwrap();
        assert_eq!(
            std::fs::read(copied.path().join(CHECKPOINT_FILE)).unwrap(),
            std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap()
        );
        let again = Index::load_checkpoint(dir.path()).unwrap().expect("checkpoint");
        for stream in ["order-1", "order-2", "order-3"] {
            assert_eq!(again.stream_positions(stream), index.stream_positions(stream));
        }
        assert_eq!(again.loc(10), Some(Loc::new(1, 70, 0)));
    }

    #[test]
    fn many_streams_growing_in_turn_keep_their_positions_when_the_pool_is_packed() {
        let mut index = Index::empty();
        let (streams, rounds) = (50_000u64, 40u64);
        let mut position = 1;
        for round in 0..rounds {
            for s in 0..streams {
                index.push_commit(&format!("s-{s}"), position, round, 0, 0, 1);
                position += 1;
            }
        }
        // Round-robin growth abandons a run per stream at every doubling (4 + 8 + 16 + 32 slots each,
        // 3 million in all, the pool 6.2 million slots unpacked): the pool was packed on the way.
        let live = (streams * rounds) as usize;
        assert!(index.streams.abandoned <= POOL_PACK_MIN.max(live / 2), "{}", index.streams.abandoned);
        assert!(index.streams.pool.len() <= live * 5 / 2, "{}", index.streams.pool.len());
        for s in [0, 1, streams / 2, streams - 1] {
            let expected: Vec<u64> = (0..rounds).map(|round| round * streams + s + 1).collect();
            assert_eq!(index.stream_positions(&format!("s-{s}")), expected.as_slice());
        }
        // A pack keeps each run's room, so packs come once per doubling at most, not once per round.
        assert!((1..=4).contains(&index.streams.packs), "{} packs", index.streams.packs);
    }

    #[test]
    fn streams_loaded_exactly_sized_pack_a_bounded_number_of_times_as_they_grow_again() {
        let dir = tempfile::tempdir().unwrap();
        let (streams, rounds) = (20_000u64, 60u64);
        let mut index = Index::empty();
        let mut position = 1;
        for round in 0..rounds {
            for s in 0..streams {
                index.push_commit(&format!("s-{s}"), position, round, 0, 0, 1);
                position += 1;
            }
        }
        index.save_checkpoint(dir.path()).unwrap();
        let mut index = Index::load_checkpoint(dir.path()).unwrap().expect("checkpoint");
        for round in rounds..rounds + 20 {
            for s in 0..streams {
                index.push_commit(&format!("s-{s}"), position, round, 0, 0, 1);
                position += 1;
            }
        }
        assert!(index.streams.packs <= 3, "{} packs", index.streams.packs);
        let expected: Vec<u64> = (0..rounds + 20).map(|round| round * streams + 7 + 1).collect();
        assert_eq!(index.stream_positions("s-7"), expected.as_slice());
    }
}
