//! The KurrentDB store's per-stream hash chain, without the client (ADR 0016): what an append (or an
//! import, `erp migrate`) writes into every event's metadata, and the chain check (`verify`) that walks
//! the log in position order and recomputes every stream's chain from what was read. Compiled in every
//! build, so that the default test run holds the chain's rules as well as the layout's golden bytes.
//!
//! A commit is one append: its events carry their index and the append's count in our metadata, share
//! their previous hash, commit hash and recording time, and hold consecutive positions (`first << 14 |
//! index`). Its hash is BLAKE3 over the embedded store's commit body with position 0 in the header (the
//! server assigns positions after the write) and our stream id (not the server's name, so a namespace
//! does not change hashes); the first commit of a stream links to zeros.

use std::collections::{BTreeMap, HashMap};

use super::layout::MetadataV1;
use crate::codec::{self, CommitHeaderV1};
use crate::commit_check;
use crate::envelope::{ChainHash, NewEvent, RecordedEvent, StreamId};

/// What [`super::KurrentStore::verify`] found: the PostgreSQL store's report, field for field (the same
/// per-stream chain, the same heads digest, the same problem shape), so that `erp audit verify` and
/// `erp migrate`'s seals read both alike.
pub type KurrentVerifyReport = crate::postgres::PostgresVerifyReport;
/// Where a stream's chain first failed (the first bad position in log order).
pub type KurrentVerifyProblem = crate::postgres::PostgresVerifyProblem;

/// What one commit writes into its events' metadata: the commit hash, and each event's metadata bytes
/// (layout 1), in order. `records` are the events' encoded records (`limits::check_and_encode_append`).
/// The append and the import both write exactly this, and the chain check recomputes it.
pub(crate) fn commit_metadata(
    stream: &StreamId,
    first_version: u64,
    events: &[NewEvent],
    records: &[u8],
    prev_hash: ChainHash,
    recorded_at: i64,
) -> (ChainHash, Vec<Vec<u8>>) {
    let count = events.len() as u32;
    let commit_hash = commit_hash(stream, first_version, count, records, prev_hash, recorded_at);
    let metadata = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            MetadataV1::new(
                event.event_type.version(),
                &event.metadata,
                recorded_at,
                index as u32,
                count,
                prev_hash,
                commit_hash,
            )
            .encode()
        })
        .collect();
    (commit_hash, metadata)
}

/// A commit's hash: the embedded store's commit body with position 0 in its header (ADR 0016).
fn commit_hash(
    stream: &StreamId,
    first_version: u64,
    count: u32,
    records: &[u8],
    prev_hash: ChainHash,
    recorded_at: i64,
) -> ChainHash {
    let header = CommitHeaderV1 {
        prev_hash: prev_hash.0,
        // Not known before the server has written the events.
        first_position: 0,
        stream_id: stream.as_str(),
        first_version,
        recorded_at,
        event_count: count,
    };
    codec::commit_body_hash(&header, records)
}

/// One of our events as read from the log, with what our metadata says of its commit.
#[derive(Clone, Debug)]
pub(crate) struct ChainRow {
    pub event: RecordedEvent,
    pub index: u32,
    pub count: u32,
    pub commit_hash: ChainHash,
}

/// A stream being walked.
#[derive(Default)]
struct StreamWalk {
    next_version: u64,
    last_position: u64,
    /// The hash the next commit must link to.
    head: ChainHash,
    /// The events of the commit being gathered.
    commit: Vec<ChainRow>,
}

/// The chain check, fed the log's events in position order ([`ChainWalk::take`]) and finished with
/// [`ChainWalk::finish`]. Stops at the first problem.
pub(crate) struct ChainWalk {
    report: KurrentVerifyReport,
    streams: HashMap<StreamId, StreamWalk>,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk {
            report: KurrentVerifyReport {
                streams: 0,
                commits: 0,
                events: 0,
                heads_digest: ChainHash::GENESIS,
                problem: None,
            },
            streams: HashMap::new(),
        }
    }
}

impl ChainWalk {
    /// Whether a problem has been found (nothing more is taken after it).
    pub(crate) fn failed(&self) -> bool {
        self.report.problem.is_some()
    }

    /// Checks the next event of the log against its stream, and its commit once the commit is whole.
    pub(crate) fn take(&mut self, row: ChainRow) {
        if self.failed() {
            return;
        }
        self.report.events += 1;
        let (version, position) = (row.event.stream_version, row.event.position);
        let stream = row.event.stream_id.clone();
        let fail =
            |reason: String| KurrentVerifyProblem { stream: stream.to_string(), version, position, reason };
        if !self.streams.contains_key(&stream) {
            self.report.streams += 1;
        }
        let w = self.streams.entry(stream.clone()).or_default();
        let problem = if version != w.next_version {
            Some(fail(format!("version {version} where version {} was expected (a gap)", w.next_version)))
        } else if position <= w.last_position {
            Some(fail(format!("position {position} is not after the previous version's {}", w.last_position)))
        } else if row.index == 0 && !w.commit.is_empty() {
            let first = &w.commit[0];
            Some(KurrentVerifyProblem {
                stream: stream.to_string(),
                version: first.event.stream_version,
                position: first.event.position,
                reason: format!(
                    "the commit holds {} of its {} events: the rest are missing",
                    w.commit.len(),
                    first.count
                ),
            })
        } else if row.index != w.commit.len() as u32 || w.commit.first().is_some_and(|c| c.count != row.count)
        {
            Some(fail(format!(
                "event {} of an append of {} where event {} of the stream's commit was expected",
                row.index,
                row.count,
                w.commit.len()
            )))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.report.problem = Some(problem);
            return;
        }
        w.next_version += 1;
        w.last_position = position;
        let whole = row.index + 1 == row.count;
        w.commit.push(row);
        if whole {
            match check_commit(&stream, w) {
                Ok(()) => self.report.commits += 1,
                Err(problem) => self.report.problem = Some(problem),
            }
        }
    }

    /// The report: every stream's last commit must be whole; the heads digest is BLAKE3 over every
    /// stream's id and last commit hash in stream id order (the PostgreSQL store's).
    pub(crate) fn finish(mut self) -> KurrentVerifyReport {
        if self.report.problem.is_none() {
            // A commit cut short at the end of the log: the first in position order is named.
            let cut = self
                .streams
                .iter()
                .filter_map(|(stream, w)| Some((stream, w.commit.first()?, w.commit.len())));
            if let Some((stream, first, held)) = cut.min_by_key(|(_, first, _)| first.event.position) {
                self.report.problem = Some(KurrentVerifyProblem {
                    stream: stream.to_string(),
                    version: first.event.stream_version,
                    position: first.event.position,
                    reason: format!(
                        "the commit holds {held} of its {} events: the rest are missing",
                        first.count
                    ),
                });
            }
        }
        let heads: BTreeMap<&str, ChainHash> =
            self.streams.iter().map(|(s, w)| (s.as_str(), w.head)).collect();
        let mut digest = blake3::Hasher::new();
        for (id, head) in heads {
            commit_check::digest_head(&mut digest, id, head);
        }
        self.report.heads_digest = ChainHash(*digest.finalize().as_bytes());
        self.report
    }
}

/// Checks the gathered commit (whole: `count` events; `commit_check`, its hash covering position 0);
/// moves the stream's head.
fn check_commit(stream: &StreamId, w: &mut StreamWalk) -> Result<(), KurrentVerifyProblem> {
    let rows = std::mem::take(&mut w.commit);
    match commit_check::check_commit(&rows, |r| (&r.event, r.commit_hash), w.head, 0) {
        Ok(head) => {
            w.head = head;
            Ok(())
        }
        Err((i, reason)) => Err(KurrentVerifyProblem {
            stream: stream.to_string(),
            version: rows[i].event.stream_version,
            position: rows[i].event.position,
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{EventMetadata, EventType, ImportCommit};
    use crate::kurrentdb::layout;
    use domain::{BookId, CommandId, EventId, Timestamp};
    use uuid::Uuid;

    fn new_event(n: u128) -> NewEvent {
        NewEvent {
            event_id: EventId(Uuid::from_u128(n)),
            event_type: EventType::new("sales.OrderPlaced", 1).unwrap(),
            metadata: EventMetadata {
                book: BookId(Uuid::from_u128(2)),
                actor: "clerk".into(),
                command_id: CommandId(Uuid::from_u128(3)),
                correlation_id: Uuid::from_u128(4),
                causation_id: Uuid::from_u128(5),
                occurred_at: Timestamp(1_700_000_000_000_000),
            },
            payload: vec![n as u8; 3],
        }
    }

    /// A log as the server would hold it after these commits (stream, event count), appended in order:
    /// every event decoded back from the metadata `commit_metadata` wrote, as `read.rs` decodes it.
    fn log(commits: &[(&str, u32)]) -> Vec<ChainRow> {
        let mut heads: HashMap<String, (u64, ChainHash)> = HashMap::new();
        let mut rows = Vec::new();
        let mut first_commit = 100u64;
        let mut n = 0u128;
        for (i, (stream, count)) in commits.iter().enumerate() {
            let stream = StreamId::new(*stream).unwrap();
            let events: Vec<NewEvent> = (0..*count)
                .map(|_| {
                    n += 1;
                    new_event(n)
                })
                .collect();
            let (records, _) = crate::limits::check_and_encode_append(&events).unwrap();
            let (next_version, prev) = heads.get(stream.as_str()).copied().unwrap_or((0, ChainHash::GENESIS));
            let recorded_at = 1_700_000_000_000_000 + i as i64;
            let (hash, metadata) =
                commit_metadata(&stream, next_version, &events, &records, prev, recorded_at);
            for (index, (event, bytes)) in events.iter().zip(&metadata).enumerate() {
                let meta = MetadataV1::decode(bytes).unwrap().expect("ours");
                rows.push(ChainRow {
                    event: RecordedEvent {
                        position: layout::encode_position(first_commit, index as u32).unwrap(),
                        stream_id: stream.clone(),
                        stream_version: next_version + index as u64,
                        event_id: event.event_id,
                        event_type: event.event_type.clone(),
                        metadata: meta.metadata(),
                        recorded_at: Timestamp(meta.recorded_at),
                        payload: event.payload.clone(),
                        prev_hash: ChainHash(meta.prev_hash),
                    },
                    index: meta.index,
                    count: meta.count,
                    commit_hash: ChainHash(meta.commit_hash),
                });
            }
            first_commit += 300;
            heads.insert(stream.to_string(), (next_version + u64::from(*count), hash));
        }
        rows
    }

    fn walk(rows: Vec<ChainRow>) -> KurrentVerifyReport {
        let mut walk = ChainWalk::default();
        for row in rows {
            walk.take(row);
        }
        walk.finish()
    }

    const COMMITS: &[(&str, u32)] = &[("a", 1), ("b", 3), ("a", 2), ("c", 1), ("b", 1), ("a", 3)];

    #[test]
    fn a_log_written_as_the_append_writes_it_verifies_and_seals_to_one_digest() {
        let report = walk(log(COMMITS));
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.streams, report.commits, report.events), (3, 6, 11));
        assert_eq!(walk(log(COMMITS)).heads_digest, report.heads_digest, "the same log, the same seal");
        assert_ne!(walk(log(&COMMITS[..5])).heads_digest, report.heads_digest);
        let empty = walk(Vec::new());
        assert!(empty.is_ok());
        assert_eq!(empty.heads_digest, ChainHash(*blake3::Hasher::new().finalize().as_bytes()));
    }

    #[test]
    fn an_altered_event_is_found_at_its_commit() {
        let mut rows = log(COMMITS);
        // Rows: a0 | b0 b1 b2 | a1 a2 | c0 | b3 | a3 a4 a5.
        rows[9].event.payload.push(1);
        let problem = walk(rows.clone()).problem.expect("found");
        assert_eq!((problem.stream.as_str(), problem.version), ("a", 3));
        assert_eq!(problem.position, rows[8].event.position, "the commit's first position");
        assert!(problem.reason.contains("it was altered"), "{}", problem.reason);
    }

    #[test]
    fn a_missing_event_a_gap_and_a_broken_link_are_each_found() {
        // The second event of b's first commit (3 events) is gone.
        let mut rows = log(COMMITS);
        rows.remove(2);
        let problem = walk(rows).problem.expect("found");
        assert_eq!((problem.stream.as_str(), problem.version), ("b", 2));
        assert!(problem.reason.contains("a gap"), "{}", problem.reason);

        // An event that says it is not the next of its append.
        let mut rows = log(COMMITS);
        rows[2].index = 2;
        let problem = walk(rows).problem.expect("found");
        assert!(problem.reason.contains("event 2 of an append of 3"), "{}", problem.reason);

        // The whole of a's second commit is gone: a gap in the stream's versions.
        let mut rows = log(COMMITS);
        rows.drain(4..6);
        let problem = walk(rows).problem.expect("found");
        assert_eq!((problem.stream.as_str(), problem.version), ("a", 3));
        assert!(problem.reason.contains("a gap"), "{}", problem.reason);

        // A commit cut short at the end of the log.
        let mut rows = log(COMMITS);
        rows.pop();
        let problem = walk(rows).problem.expect("found");
        assert!(problem.reason.contains("holds 2 of its 3 events"), "{}", problem.reason);

        // A commit whose link is not its stream's previous commit.
        let mut rows = log(COMMITS);
        rows[10].event.prev_hash = ChainHash([7; 32]);
        let problem = walk(rows).problem.expect("found");
        assert_eq!(problem.stream, "a");
        assert!(problem.reason.contains("disagree") || problem.reason.contains("links to"));
        let mut rows = log(COMMITS);
        for row in &mut rows[8..11] {
            row.event.prev_hash = ChainHash([7; 32]);
        }
        let problem = walk(rows).problem.expect("found");
        assert!(problem.reason.contains("links to"), "{}", problem.reason);
    }

    #[test]
    fn an_imported_commit_keeps_its_content_and_recording_time_and_chains_as_an_append() {
        let commit = ImportCommit {
            stream: StreamId::new("order-7").unwrap(),
            first_version: 4,
            recorded_at: Timestamp(1_600_000_000_000_123),
            events: vec![new_event(1), new_event(2)],
        };
        let (records, _) = crate::limits::check_and_encode_append(&commit.events).unwrap();
        let prev = ChainHash([9; 32]);
        let (hash, metadata) = commit_metadata(
            &commit.stream,
            commit.first_version,
            &commit.events,
            &records,
            prev,
            commit.recorded_at.unix_micros(),
        );
        assert_eq!(metadata.len(), 2);
        for (index, (bytes, event)) in metadata.iter().zip(&commit.events).enumerate() {
            let meta = MetadataV1::decode(bytes).unwrap().expect("ours");
            assert_eq!(meta.metadata(), event.metadata);
            assert_eq!(meta.type_version, event.event_type.version());
            assert_eq!(meta.recorded_at, commit.recorded_at.unix_micros(), "the source's recording time");
            assert_eq!((meta.index, meta.count), (index as u32, 2));
            assert_eq!((ChainHash(meta.prev_hash), ChainHash(meta.commit_hash)), (prev, hash));
        }
        let header = CommitHeaderV1 {
            prev_hash: prev.0,
            first_position: 0,
            stream_id: "order-7",
            first_version: 4,
            recorded_at: commit.recorded_at.unix_micros(),
            event_count: 2,
        };
        assert_eq!(hash, codec::commit_body_hash(&header, &records), "the embedded commit body, position 0");
    }
}
