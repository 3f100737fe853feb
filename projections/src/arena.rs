//! [`Rows`]: values kept in fixed-size chunks and found by a `u32` row number, so a map of millions of
//! entries can hold small row numbers instead of the values themselves. The map's growth then moves
//! (and the kernel zeroes) a fifth of the bytes, and the rows never move: a chunk is allocated once,
//! full size, and never reallocated, where one large vector doubling would copy everything so far.

use serde::{Deserialize, Serialize};

/// Rows per chunk: large enough that chunk allocations are rare, small enough that a nearly empty
/// model stays small.
const CHUNK: usize = 1 << 14;

/// Values numbered in the order they were added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rows<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows { chunks: Vec::new() }
    }
}

impl<T> Rows<T> {
    /// Adds `value`; answers its row number.
    pub fn push(&mut self, value: T) -> u32 {
        let row = self.len();
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        u32::try_from(row).expect("fewer than 2^32 rows")
    }

    pub fn len(&self) -> usize {
        self.chunks.last().map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, row: u32) -> Option<&T> {
        let row = row as usize;
        self.chunks.get(row / CHUNK)?.get(row % CHUNK)
    }

    pub fn get_mut(&mut self, row: u32) -> Option<&mut T> {
        let row = row as usize;
        self.chunks.get_mut(row / CHUNK)?.get_mut(row % CHUNK)
    }

    /// Every value, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_in_order_across_chunks_and_found_by_number() {
        let mut rows = Rows::default();
        for i in 0..(2 * CHUNK + 5) {
            assert_eq!(rows.push(i), i as u32);
        }
        assert_eq!(rows.len(), 2 * CHUNK + 5);
        assert_eq!(rows.get(CHUNK as u32), Some(&CHUNK));
        *rows.get_mut(7).unwrap() = 70;
        assert_eq!(rows.get(7), Some(&70));
        assert_eq!(rows.get((2 * CHUNK + 5) as u32), None);
        assert!(rows.iter().copied().eq((0..2 * CHUNK + 5).map(|i| if i == 7 { 70 } else { i })));
    }

    #[test]
    fn a_chunk_is_never_reallocated_so_rows_do_not_move() {
        let mut rows = Rows::default();
        rows.push(1u64);
        let first = rows.get(0).unwrap() as *const u64;
        for i in 0..(CHUNK as u64 - 1) {
            rows.push(i);
        }
        assert_eq!(rows.get(0).unwrap() as *const u64, first);
    }
}
