//! Segment files: naming, listing, and reading frames sequentially with positioned reads.
//!
//! A segment is `NNNNNNNN.seg` in the data directory, numbered from 0 without gaps. Frames never span
//! two segments. Reads use `pread` (`FileExt::read_at`) on shared handles, so readers never disturb the
//! writer and never need a lock on the file.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::codec::{self, FRAME_HEADER_BYTES, FRAME_MAGIC, FrameCheck};
use crate::error::StoreError;

pub(crate) fn segment_file_name(segment: u32) -> String {
    format!("{segment:08}.seg")
}

pub(crate) fn segment_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(segment_file_name(segment))
}

/// Lists the segment numbers in `dir`, checking that they run from 0 without a gap.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u32>, StoreError> {
    let mut numbers = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".seg") else { continue };
        if stem.len() == 8
            && let Ok(n) = stem.parse::<u32>()
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    for (expected, &n) in numbers.iter().enumerate() {
        if n != expected as u32 {
            return Err(StoreError::Corrupt {
                segment: segment_file_name(expected as u32),
                offset: 0,
                reason: format!("segment file is missing (found {} instead)", segment_file_name(n)),
            });
        }
    }
    Ok(numbers)
}

/// One item of a sequential scan of a segment.
#[derive(Debug)]
pub(crate) enum Scanned<'a> {
    /// An intact frame starting at `offset`, `len` bytes long in total.
    Frame { offset: u64, len: u64, crc: u32, body: &'a [u8] },
    /// The segment ends exactly here.
    End,
    /// The bytes at `offset` are not an intact frame.
    Damaged { offset: u64, reason: &'static str },
}

/// Reads frames one after another from a segment, through a buffer refilled with positioned reads.
pub(crate) struct FrameCursor<'f> {
    file: &'f File,
    file_len: u64,
    /// Offset of the next frame.
    offset: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
    chunk: usize,
}

/// Bytes fetched per positioned read when scanning: large enough to amortise the system call.
pub(crate) const SCAN_CHUNK_BYTES: usize = 1 << 20;

thread_local! {
    /// A read buffer kept per thread between cursors: a replay makes one cursor per page it reads,
    /// and a fresh megabyte each time cost more in page faults and zeroing than the reads themselves.
    static SPARE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The largest buffer kept for the next cursor on the thread.
const SPARE_BUFFER_MAX: usize = 8 << 20;

impl Drop for FrameCursor<'_> {
    fn drop(&mut self) {
        if self.buf.capacity() <= SPARE_BUFFER_MAX {
            let buf = std::mem::take(&mut self.buf);
            SPARE_BUFFER.with(|spare| {
                let mut spare = spare.borrow_mut();
                if spare.capacity() < buf.capacity() {
                    *spare = buf;
                }
            });
        }
    }
}

impl<'f> FrameCursor<'f> {
    pub fn new(file: &'f File, file_len: u64, offset: u64, chunk: usize) -> Self {
        let mut buf = SPARE_BUFFER.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
        // Whatever the spare held is stale: emptied, it keeps only its capacity (its pages).
        buf.clear();
        FrameCursor { file, file_len, offset, buf, buf_start: offset, chunk }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Makes `buf` hold at least `need` bytes from `self.offset` (fewer if the file ends first).
    fn fill(&mut self, need: usize) -> std::io::Result<&[u8]> {
        let have_from = self.offset.saturating_sub(self.buf_start) as usize;
        let buffered_end = self.buf_start + self.buf.len() as u64;
        if self.offset < self.buf_start || self.offset + need as u64 > buffered_end {
            let want = need.max(self.chunk);
            let available = self.file_len.saturating_sub(self.offset) as usize;
            let len = want.min(available);
            self.buf.resize(len, 0);
            self.file.read_exact_at(&mut self.buf, self.offset)?;
            self.buf_start = self.offset;
            return Ok(&self.buf[..]);
        }
        Ok(&self.buf[have_from..])
    }

    /// The next frame, the end, or damage. After damage the cursor does not move.
    pub fn next_frame(&mut self) -> std::io::Result<Scanned<'_>> {
        if self.offset >= self.file_len {
            return Ok(Scanned::End);
        }
        let offset = self.offset;
        let head = self.fill(FRAME_HEADER_BYTES)?;
        if head.len() < FRAME_HEADER_BYTES {
            return Ok(Scanned::Damaged { offset, reason: "incomplete frame header" });
        }
        if head[..4] != FRAME_MAGIC {
            return Ok(Scanned::Damaged { offset, reason: "bad magic" });
        }
        let body_len = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes")) as usize;
        if body_len == 0 || body_len > codec::FRAME_BODY_BYTES_MAX {
            return Ok(Scanned::Damaged { offset, reason: "impossible frame length" });
        }
        let frame_len = FRAME_HEADER_BYTES + body_len;
        let buf = self.fill(frame_len)?;
        let buf_len = buf.len();
        match codec::check_frame(&buf[..frame_len.min(buf_len)]) {
            FrameCheck::Valid { .. } => {}
            FrameCheck::Incomplete => return Ok(Scanned::Damaged { offset, reason: "incomplete frame" }),
            FrameCheck::Bad(reason) => return Ok(Scanned::Damaged { offset, reason }),
        }
        self.offset += frame_len as u64;
        let start = (offset - self.buf_start) as usize;
        let frame = &self.buf[start..start + frame_len];
        let crc = u32::from_le_bytes(frame[8..12].try_into().expect("4 bytes"));
        Ok(Scanned::Frame { offset, len: frame_len as u64, crc, body: &frame[FRAME_HEADER_BYTES..] })
    }
}

/// Reads the whole frame at `offset` and returns its body, or why it is not a frame.
pub(crate) fn read_frame_at(file: &File, offset: u64) -> Result<Vec<u8>, String> {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    file.read_exact_at(&mut header, offset).map_err(|e| format!("cannot read frame header: {e}"))?;
    if header[..4] != FRAME_MAGIC {
        return Err("bad magic".into());
    }
    let body_len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
    if body_len == 0 || body_len > codec::FRAME_BODY_BYTES_MAX {
        return Err("impossible frame length".into());
    }
    let mut body = vec![0u8; body_len];
    file.read_exact_at(&mut body, offset + FRAME_HEADER_BYTES as u64)
        .map_err(|e| format!("cannot read frame body: {e}"))?;
    let crc = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if codec::frame_crc(header[4..8].try_into().expect("4 bytes"), &body) != crc {
        return Err("CRC mismatch".into());
    }
    Ok(body)
}

/// Whether any intact frame starts after `offset` in `file` (a byte-by-byte search for the magic).
///
/// Used to tell a torn tail (nothing valid after the damage: truncate) from corruption (valid frames
/// after the damage: refuse to open). Returns the offset of the first intact frame found.
pub(crate) fn find_intact_frame_after(
    file: &File,
    file_len: u64,
    offset: u64,
) -> std::io::Result<Option<u64>> {
    let start = offset + 1;
    if start >= file_len {
        return Ok(None);
    }
    let mut rest = vec![0u8; (file_len - start) as usize];
    file.read_exact_at(&mut rest, start)?;
    let mut i = 0;
    while i + FRAME_HEADER_BYTES <= rest.len() {
        match rest[i..].windows(4).position(|w| w == FRAME_MAGIC) {
            None => break,
            Some(found) => {
                i += found;
                if let FrameCheck::Valid { .. } = codec::check_frame(&rest[i..]) {
                    return Ok(Some(start + i as u64));
                }
                i += 1;
            }
        }
    }
    Ok(None)
}
