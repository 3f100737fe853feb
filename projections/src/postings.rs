//! A compact list of log positions (a posting list, as search engines keep them): increasing positions
//! stored as LEB128 deltas, one to three bytes each for the dense lists the audit index keeps, with a
//! skip entry every [`SKIP_EVERY`] positions so a page after any cursor starts near it instead of at the
//! beginning. Eight bytes a position would make the audit index alone 240 MB at ten million events.

use serde::{Deserialize, Serialize};

/// A skip entry every this many positions: a lookup decodes at most this many deltas.
pub const SKIP_EVERY: u64 = 64;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postings {
    bytes: Vec<u8>,
    /// (the position, the byte offset just after it) of every [`SKIP_EVERY`]-th position.
    skips: Skips,
    last: u64,
    len: u64,
}

/// The skip entries, boxed: most lists (an audit flow's handful of events) never reach
/// [`SKIP_EVERY`] positions, and an empty vector inline cost 16 bytes more per list than a null
/// pointer (27 MB over 1.7 million flows). Stored exactly as the vector was, so snapshots read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::box_collection)] // The box is the point: a null pointer where a vector is three words.
struct Skips(Option<Box<Vec<(u64, u64)>>>);

impl Skips {
    fn as_slice(&self) -> &[(u64, u64)] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl Serialize for Skips {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Skips {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Skips, D::Error> {
        let skips = Vec::<(u64, u64)>::deserialize(deserializer)?;
        Ok(Skips(if skips.is_empty() { None } else { Some(Box::new(skips)) }))
    }
}

impl Postings {
    /// Appends `position`, which must be beyond the last one (the log only moves forward).
    pub fn push(&mut self, position: u64) {
        assert!(position > self.last, "postings must increase: {position} after {}", self.last);
        let mut delta = position - self.last;
        loop {
            let byte = (delta & 0x7f) as u8;
            delta >>= 7;
            if delta == 0 {
                self.bytes.push(byte);
                break;
            }
            self.bytes.push(byte | 0x80);
        }
        self.last = position;
        self.len += 1;
        if self.len.is_multiple_of(SKIP_EVERY) {
            self.skips.0.get_or_insert_default().push((position, self.bytes.len() as u64));
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last position pushed (0 when empty).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The positions after `after`, in order.
    pub fn after(&self, after: u64) -> impl Iterator<Item = u64> + '_ {
        // The last skip entry at or before `after`: decoding starts just past it.
        let skips = self.skips.as_slice();
        let start = skips.partition_point(|(p, _)| *p <= after);
        let (previous, offset) = if start == 0 { (0, 0) } else { skips[start - 1] };
        Decoder { bytes: &self.bytes[offset as usize..], previous }.skip_while(move |p| *p <= after)
    }

    /// The positions from the `index`-th on (0-based), in order.
    pub fn from_index(&self, index: u64) -> impl Iterator<Item = u64> + '_ {
        // skips[k] is the (k + 1) × SKIP_EVERY-th position: decoding after it yields index (k + 1) × SKIP_EVERY.
        let k = (index / SKIP_EVERY) as usize;
        let (previous, offset, first) = if k == 0 {
            (0, 0, 0)
        } else {
            (self.skips.as_slice()[k - 1].0, self.skips.as_slice()[k - 1].1, k as u64 * SKIP_EVERY)
        };
        Decoder { bytes: &self.bytes[offset as usize..], previous }
            .skip((index.saturating_sub(first)) as usize)
    }

    /// The last `n` positions, in order.
    pub fn last_n(&self, n: u64) -> impl Iterator<Item = u64> + '_ {
        self.from_index(self.len.saturating_sub(n))
    }

    /// Whether `position` is in the list.
    pub fn contains(&self, position: u64) -> bool {
        position > 0 && self.after(position - 1).next() == Some(position)
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    previous: u64,
}

impl Iterator for Decoder<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let mut delta = 0u64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            delta |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        self.previous += delta;
        Some(self.previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_skips_are_stored_exactly_as_the_vector_was() {
        #[derive(Serialize)]
        struct Before {
            bytes: Vec<u8>,
            skips: Vec<(u64, u64)>,
            last: u64,
            len: u64,
        }
        for n in [0u64, 3, SKIP_EVERY, 3 * SKIP_EVERY + 5] {
            let mut postings = Postings::default();
            (1..=n).for_each(|i| postings.push(i * 300));
            let before = Before {
                bytes: postings.bytes.clone(),
                skips: postings.skips.as_slice().to_vec(),
                last: postings.last,
                len: postings.len,
            };
            let stored = postcard::to_allocvec(&postings).unwrap();
            assert_eq!(stored, postcard::to_allocvec(&before).unwrap(), "{n} positions");
            let back: Postings = postcard::from_bytes(&stored).unwrap();
            assert_eq!(back, postings);
            assert_eq!(back.after(0).count() as u64, n);
        }
    }
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_increasing_positions_read_back_after_any_cursor(
            deltas in proptest::collection::vec(1u64..100_000, 0..400),
            cursor in 0u64..2_000_000,
        ) {
            let mut positions = Vec::new();
            let mut postings = Postings::default();
            let mut at = 0;
            for delta in deltas {
                at += delta;
                positions.push(at);
                postings.push(at);
            }
            let expected: Vec<u64> = positions.iter().copied().filter(|p| *p > cursor).collect();
            prop_assert_eq!(postings.after(cursor).collect::<Vec<_>>(), expected);
            prop_assert_eq!(postings.len(), positions.len() as u64);
            for n in [0u64, 1, 63, 64, 65, 200] {
                let tail: Vec<u64> = positions.iter().rev().take(n as usize).rev().copied().collect();
                prop_assert_eq!(postings.last_n(n).collect::<Vec<_>>(), tail);
            }
            for p in positions.iter().take(50) {
                prop_assert!(postings.contains(*p));
                prop_assert!(!postings.contains(*p + 1) || positions.contains(&(*p + 1)));
            }
        }
    }

    #[test]
    fn dense_positions_take_one_byte_each() {
        let mut postings = Postings::default();
        for p in 1..=10_000 {
            postings.push(p);
        }
        assert_eq!(postings.bytes.len(), 10_000);
        assert_eq!(postings.after(9_990).count(), 10);
    }
}
