//! The in-memory index of the embedded store, and its checkpoint file.
//!
//! Two tables: `locs[p - 1]` says where the event at global position `p` lives (segment, frame offset,
//! index within the frame), and `streams` lists each stream's positions by version. Both are rebuilt by
//! scanning the log, or loaded from `index.ckpt` (written on clean close and after long recoveries) and
//! completed by scanning only the frames written after it (docs/adr/0001-segment-format.md).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::envelope::ChainHash;
use crate::error::StoreError;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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

#[derive(Clone)]
pub(crate) struct Index {
    locs: Vec<Loc>,
    streams: FastMap<Arc<str>, Vec<u64>>,
    pub head_hash: ChainHash,
    pub tail: Tail,
}

impl Index {
    pub fn empty() -> Index {
        Index {
            locs: Vec::new(),
            streams: FastMap::default(),
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
        self.streams.get(stream).map_or(0, |p| p.len() as u64)
    }

    pub fn stream_positions(&self, stream: &str) -> &[u64] {
        self.streams.get(stream).map_or(&[], |p| p.as_slice())
    }

    /// The interned key for a stream, so every event of a stream shares one allocation.
    pub fn stream_key(&self, stream: &str) -> Option<Arc<str>> {
        self.streams.get_key_value(stream).map(|(k, _)| k.clone())
    }

    /// Every stream with its length, for the writer's own table.
    pub fn stream_lengths(&self) -> HashMap<Arc<str>, u64, foldhash::fast::RandomState> {
        let mut out = HashMap::with_capacity_and_hasher(self.streams.len(), Default::default());
        out.extend(self.streams.iter().map(|(k, v)| (k.clone(), v.len() as u64)));
        out
    }

    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Records one commit. Asserts the invariants a correct writer or scan always keeps.
    pub fn push_commit(
        &mut self,
        stream: &Arc<str>,
        first_position: u64,
        first_version: u64,
        segment: u32,
        offset: u64,
        count: u32,
    ) {
        assert_eq!(first_position, self.head_position() + 1, "positions must be contiguous");
        for i in 0..count {
            self.locs.push(Loc::new(segment, offset, i));
        }
        let positions = match self.streams.get_mut(&**stream) {
            Some(p) => p,
            None => self.streams.entry(stream.clone()).or_default(),
        };
        assert_eq!(positions.len() as u64, first_version, "stream versions must be contiguous");
        positions.extend(first_position..first_position + count as u64);
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename, fsync of the directory).
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        let tmp = dir.join(CHECKPOINT_TMP);
        let io =
            |what: &str, e| StoreError::io(format!("writing index checkpoint {}: {what}", tmp.display()), e);
        let mut body = Vec::with_capacity(64 + self.locs.len() * 16);
        body.extend_from_slice(&self.tail.segment.to_le_bytes());
        body.extend_from_slice(&self.tail.offset.to_le_bytes());
        let (lf_seg, lf_off, lf_crc) = self.tail.last_frame.unwrap_or((u32::MAX, u64::MAX, 0));
        body.extend_from_slice(&lf_seg.to_le_bytes());
        body.extend_from_slice(&lf_off.to_le_bytes());
        body.extend_from_slice(&lf_crc.to_le_bytes());
        body.extend_from_slice(&self.head_hash.0);
        body.extend_from_slice(&(self.locs.len() as u64).to_le_bytes());
        for loc in &self.locs {
            body.extend_from_slice(&loc.0.to_le_bytes());
        }
        body.extend_from_slice(&(self.streams.len() as u64).to_le_bytes());
        for (name, positions) in &self.streams {
            body.extend_from_slice(&(name.len() as u32).to_le_bytes());
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(&(positions.len() as u64).to_le_bytes());
            for p in positions {
                body.extend_from_slice(&p.to_le_bytes());
            }
        }
        let file = File::create(&tmp).map_err(|e| io("create", e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(CHECKPOINT_MAGIC).map_err(|e| io("write", e))?;
        out.write_all(&(body.len() as u64).to_le_bytes()).map_err(|e| io("write", e))?;
        out.write_all(&crc32c::crc32c(&body).to_le_bytes()).map_err(|e| io("write", e))?;
        out.write_all(&body).map_err(|e| io("write", e))?;
        let file = out.into_inner().map_err(|e| io("flush", e.into_error()))?;
        file.sync_all().map_err(|e| io("fsync", e))?;
        std::fs::rename(&tmp, dir.join(CHECKPOINT_FILE)).map_err(|e| io("rename", e))?;
        super::sync_dir(dir)?;
        Ok(())
    }

    /// Loads the checkpoint if there is one that is intact; `Ok(None)` when absent or unusable (the caller
    /// then scans the whole log, which is always correct, only slower).
    pub fn load_checkpoint(dir: &Path) -> Result<Option<Index>, StoreError> {
        let path = dir.join(CHECKPOINT_FILE);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
        };
        // Sized once: growing a buffer of a hundred megabytes by doubling copied it several times over.
        let len = file.metadata().map_or(0, |m| m.len() as usize);
        let mut bytes = Vec::with_capacity(len);
        file.read_to_end(&mut bytes).map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
        match parse_checkpoint(&bytes) {
            Some(index) => Ok(Some(index)),
            None => {
                tracing::warn!(path = %path.display(), "index checkpoint is damaged; ignoring it and scanning the log");
                Ok(None)
            }
        }
    }
}

pub(crate) const CHECKPOINT_FILE: &str = "index.ckpt";
const CHECKPOINT_TMP: &str = "index.ckpt.tmp";
const CHECKPOINT_MAGIC: &[u8; 8] = b"ERPIDX01";

/// A little-endian reader over a byte slice that answers `None` instead of panicking on short input.
struct Le<'a>(&'a [u8]);

impl<'a> Le<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn parse_checkpoint(bytes: &[u8]) -> Option<Index> {
    let mut r = Le(bytes);
    if r.take(8)? != CHECKPOINT_MAGIC {
        return None;
    }
    let body_len = usize::try_from(r.u64()?).ok()?;
    let crc = r.u32()?;
    let body = r.take(body_len)?;
    if crc32c::crc32c(body) != crc || !r.0.is_empty() {
        return None;
    }
    let mut r = Le(body);
    let segment = r.u32()?;
    let offset = r.u64()?;
    let (lf_seg, lf_off, lf_crc) = (r.u32()?, r.u64()?, r.u32()?);
    let last_frame = if lf_seg == u32::MAX { None } else { Some((lf_seg, lf_off, lf_crc)) };
    let head_hash = ChainHash(r.take(32)?.try_into().ok()?);
    let loc_count = usize::try_from(r.u64()?).ok()?;
    let loc_bytes = r.take(loc_count.checked_mul(8)?)?;
    let locs: Vec<Loc> =
        loc_bytes.chunks_exact(8).map(|c| Loc(u64::from_le_bytes(c.try_into().expect("8 bytes")))).collect();
    let stream_count = usize::try_from(r.u64()?).ok()?;
    // First where each stream's entry starts (a walk over lengths), then the entries parsed on several
    // threads: building two million names and position lists one after the other was most of an open.
    let section = r.0;
    let mut starts = Vec::with_capacity(stream_count);
    for _ in 0..stream_count {
        starts.push(section.len() - r.0.len());
        let name_len = r.u32()? as usize;
        r.take(name_len)?;
        let count = usize::try_from(r.u64()?).ok()?;
        r.take(count.checked_mul(8)?)?;
    }
    if !r.0.is_empty() {
        return None;
    }
    type Streams = Vec<(Arc<str>, Vec<u64>)>;
    let parse = |starts: &[usize]| -> Option<Streams> {
        let mut out = Vec::with_capacity(starts.len());
        for &start in starts {
            let mut r = Le(&section[start..]);
            let name_len = r.u32()? as usize;
            let name = std::str::from_utf8(r.take(name_len)?).ok()?;
            let count = usize::try_from(r.u64()?).ok()?;
            let pos_bytes = r.take(count.checked_mul(8)?)?;
            let positions: Vec<u64> = pos_bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            out.push((Arc::<str>::from(name), positions));
        }
        Some(out)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunk = stream_count.div_ceil(threads).max(1);
    let parts: Vec<Option<Streams>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts.chunks(chunk).map(|part| scope.spawn(move || parse(part))).collect();
        handles.into_iter().map(|h| h.join().expect("a checkpoint parse thread panicked")).collect()
    });
    let mut streams = FastMap::with_capacity_and_hasher(stream_count, Default::default());
    for part in parts {
        streams.extend(part?);
    }
    if streams.len() != stream_count {
        return None;
    }
    Some(Index { locs, streams, head_hash, tail: Tail { segment, offset, last_frame } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_packs_and_unpacks_its_three_parts() {
        let loc = Loc::new(65_535, u32::MAX as u64, 9_999);
        assert_eq!((loc.segment(), loc.offset(), loc.index()), (65_535, u32::MAX as u64, 9_999));
    }

    #[test]
    fn a_checkpoint_round_trips_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::empty();
        let s: Arc<str> = Arc::from("order-1");
        index.push_commit(&s, 1, 0, 0, 0, 3);
        index.push_commit(&Arc::from("order-2"), 4, 0, 0, 100, 1);
        index.push_commit(&s, 5, 3, 1, 0, 2);
        index.head_hash = ChainHash([7; 32]);
        index.tail = Tail { segment: 1, offset: 200, last_frame: Some((1, 0, 1234)) };
        index.save_checkpoint(dir.path()).unwrap();
        let loaded = Index::load_checkpoint(dir.path()).unwrap().expect("checkpoint");
        assert_eq!(loaded.head_position(), 6);
        assert_eq!(loaded.stream_positions("order-1"), &[1, 2, 3, 5, 6]);
        assert_eq!(loaded.loc(5), Some(Loc::new(1, 0, 0)));
        assert_eq!(loaded.tail, index.tail);
        assert_eq!(loaded.head_hash, index.head_hash);

        let path = dir.path().join(CHECKPOINT_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(Index::load_checkpoint(dir.path()).unwrap().is_none());
    }
}
