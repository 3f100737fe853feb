//! The newest durable frames, kept in memory for the readers that follow the head.
//!
//! Live subscribers (process managers, projections) and command-bus catch-ups read what was appended a
//! moment ago. Without this, each of them re-reads those bytes from the page cache through the blocking
//! pool: a system call, a thread hand-off each way and a copy per reader. The syncer hands every group it
//! made durable to this cache, before it moves the head, as the very bytes the writer wrote; a reader
//! whose position is still here decodes from memory on its own task. Older positions are read from the
//! segments as before.
//!
//! Invariant: the pieces are contiguous and in position order (each starts where the previous ended),
//! and every frame in them is durable and published in the index. Bounded by bytes; the oldest pieces
//! go first (the newest one always stays, so one oversized group is still served).

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use crate::envelope::RecordedEvent;

/// How many bytes of the newest frames also keep their decoded events. Every live subscriber (a
/// service runs a dozen process managers and the read models) reads each new event; decoding it once
/// for all of them, instead of once each, was the largest item of the service's profile under load
/// (W4). Bounded apart from the frames, since the decoded form is a few times larger.
pub(crate) const DECODED_WINDOW_BYTES: usize = 4 * 1024 * 1024;

/// A piece's events, decoded by the first reader and shared by the others (or where the frames did
/// not decode: the offset and the reason).
pub(crate) type Decoded = Arc<OnceLock<Result<Arc<[RecordedEvent]>, (usize, String)>>>;

/// Frames written back to back by one `pwrite` of the writer.
#[derive(Clone, Debug)]
pub(crate) struct Piece {
    /// Position of the first event of the first frame.
    pub first_position: u64,
    /// One past the position of the last event of the last frame.
    pub end_position: u64,
    pub frames: Arc<[u8]>,
    /// Set while the piece is among the newest `DECODED_WINDOW_BYTES`: where its decoded events are
    /// kept. Older pieces are decoded by each reader, as before.
    pub decoded: Option<Decoded>,
}

impl Piece {
    pub fn new(first_position: u64, end_position: u64, frames: Arc<[u8]>) -> Piece {
        Piece { first_position, end_position, frames, decoded: Some(Decoded::default()) }
    }
}

#[derive(Debug)]
pub(crate) struct TailCache {
    pieces: VecDeque<Piece>,
    bytes: usize,
    bytes_max: usize,
    /// The first piece of the decoded window, and the frame bytes from it to the newest piece.
    window_start: usize,
    window_bytes: usize,
}

impl TailCache {
    pub fn new(bytes_max: usize) -> Self {
        TailCache { pieces: VecDeque::new(), bytes: 0, bytes_max, window_start: 0, window_bytes: 0 }
    }

    /// Adds the next piece. A piece that does not start where the cache ends (after a gap the cache did
    /// not see) empties the cache first, so it never claims to cover positions it lacks.
    pub fn push(&mut self, piece: Piece) {
        if self.bytes_max == 0 {
            return;
        }
        if self.pieces.back().is_some_and(|last| last.end_position != piece.first_position) {
            self.pieces.clear();
            self.bytes = 0;
            self.window_start = 0;
            self.window_bytes = 0;
        }
        self.bytes += piece.frames.len();
        self.window_bytes += piece.frames.len();
        self.pieces.push_back(piece);
        // Pieces that leave the decoded window drop their decoded events (readers holding them keep
        // theirs until done); the newest piece always keeps its own.
        while self.window_bytes > DECODED_WINDOW_BYTES && self.window_start + 1 < self.pieces.len() {
            let leaving = &mut self.pieces[self.window_start];
            leaving.decoded = None;
            self.window_bytes -= leaving.frames.len();
            self.window_start += 1;
        }
        while self.bytes > self.bytes_max && self.pieces.len() > 1 {
            let old = self.pieces.pop_front().expect("more than one piece");
            self.bytes -= old.frames.len();
            if self.window_start > 0 {
                self.window_start -= 1;
            } else {
                self.window_bytes -= old.frames.len();
            }
        }
    }

    /// The pieces holding positions from `from` on, enough for `max_events` events; `None` when `from`
    /// is older than the oldest cached position (read the segments) or the cache holds nothing at or
    /// after it.
    pub fn covering(&self, from: u64, max_events: usize) -> Option<Vec<Piece>> {
        let first = self.pieces.front()?;
        if from < first.first_position || from >= self.pieces.back()?.end_position {
            return None;
        }
        let start = self.pieces.partition_point(|p| p.end_position <= from);
        let mut out = Vec::new();
        let mut events = 0u64;
        for piece in self.pieces.range(start..) {
            out.push(piece.clone());
            events += piece.end_position - piece.first_position.max(from);
            if events >= max_events as u64 {
                break;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(first: u64, end: u64, bytes: usize) -> Piece {
        Piece::new(first, end, Arc::from(vec![0u8; bytes]))
    }

    #[test]
    fn a_position_older_than_the_cache_is_not_covered() {
        let mut cache = TailCache::new(1 << 20);
        cache.push(piece(10, 20, 100));
        assert!(cache.covering(9, 100).is_none());
        assert!(cache.covering(20, 100).is_none(), "nothing cached at or after the end");
        let covering = cache.covering(15, 100).expect("covered");
        assert_eq!(covering.len(), 1);
        assert_eq!(covering[0].first_position, 10);
    }

    #[test]
    fn the_oldest_pieces_go_first_when_the_cache_is_full_but_the_newest_stays() {
        let mut cache = TailCache::new(250);
        cache.push(piece(1, 5, 100));
        cache.push(piece(5, 9, 100));
        cache.push(piece(9, 12, 100));
        assert!(cache.covering(4, 10).is_none(), "the first piece was evicted");
        assert_eq!(cache.covering(5, 10).expect("covered").len(), 2);
        cache.push(piece(12, 13, 1_000));
        assert_eq!(cache.covering(12, 10).expect("an oversized newest piece stays").len(), 1);
        assert!(cache.covering(11, 10).is_none());
    }

    #[test]
    fn a_gap_empties_the_cache_rather_than_claim_positions_it_lacks() {
        let mut cache = TailCache::new(1 << 20);
        cache.push(piece(1, 5, 10));
        cache.push(piece(7, 9, 10));
        assert!(cache.covering(3, 10).is_none());
        assert!(cache.covering(7, 10).is_some());
    }

    #[test]
    fn covering_stops_once_enough_events_are_taken() {
        let mut cache = TailCache::new(1 << 20);
        for i in 0..10 {
            cache.push(piece(1 + i * 10, 11 + i * 10, 10));
        }
        let covering = cache.covering(15, 12).expect("covered");
        // 6 events from the piece holding 15, then 10 more: two pieces suffice.
        assert_eq!(covering.len(), 2);
    }

    #[test]
    fn only_the_newest_pieces_keep_their_decoded_events() {
        let mut cache = TailCache::new(64 * DECODED_WINDOW_BYTES);
        let quarter = DECODED_WINDOW_BYTES / 4;
        for i in 0..10u64 {
            cache.push(piece(1 + i * 10, 11 + i * 10, quarter));
        }
        let kept: Vec<bool> = cache.pieces.iter().map(|p| p.decoded.is_some()).collect();
        assert_eq!(kept, [false, false, false, false, false, false, true, true, true, true]);
        // Eviction from the front keeps the window's bookkeeping right.
        let mut small = TailCache::new(3 * quarter);
        for i in 0..10u64 {
            small.push(piece(1 + i * 10, 11 + i * 10, quarter));
        }
        assert_eq!(small.pieces.len(), 3);
        assert!(small.pieces.iter().all(|p| p.decoded.is_some()));
        // One piece larger than the window still keeps its own.
        small.push(piece(101, 111, 2 * DECODED_WINDOW_BYTES));
        assert!(small.pieces.back().unwrap().decoded.is_some());
    }

    #[test]
    fn a_cache_of_size_zero_keeps_nothing() {
        let mut cache = TailCache::new(0);
        cache.push(piece(1, 5, 10));
        assert!(cache.covering(1, 10).is_none());
    }
}
