//! What the per-stream chain checks of the PostgreSQL and KurrentDB stores share (ADR 0015, 0016): one
//! commit's rows checked against each other and against the stream's head, its hash recomputed from
//! the rows, and a stream's head added to the heads digest. Each store decides what a commit is (a
//! transaction's rows with one hash; one append's events by their index and count) and which position
//! its hash covers; the rules here are the same for both, so their reports read alike.

use crate::codec::{self, CommitHeaderV1};
use crate::envelope::{ChainHash, NewEvent, RecordedEvent};
use crate::error::StoreError;

/// Checks one whole commit: `rows` are its events as read, each with the commit hash stored beside it
/// (`parts` lends both). The rows must hold consecutive positions and agree on their previous hash,
/// commit hash and recording time; the commit must link to `head`; and its stored hash must be the
/// hash of its body recomputed with `hashed_position` as the header's first position (the first row's
/// position for PostgreSQL; 0 for KurrentDB, whose positions come after the write). Answers the
/// commit's hash (the stream's next head), or the index of the row that failed and why.
pub(crate) fn check_commit<R>(
    rows: &[R],
    parts: impl Fn(&R) -> (&RecordedEvent, ChainHash),
    head: ChainHash,
    hashed_position: u64,
) -> Result<ChainHash, (usize, String)> {
    let (first, commit_hash) = parts(&rows[0]);
    for (i, row) in rows.iter().enumerate() {
        let (event, hash) = parts(row);
        if event.position != first.position + i as u64 {
            return Err((i, "positions within a commit are not consecutive".into()));
        }
        if event.prev_hash != first.prev_hash || hash != commit_hash || event.recorded_at != first.recorded_at
        {
            return Err((i, "the rows of one commit disagree on its hashes or recording time".into()));
        }
    }
    if first.prev_hash != head {
        return Err((
            0,
            format!(
                "the commit links to {} but the stream's previous commit hashes to {head}",
                first.prev_hash
            ),
        ));
    }
    let events: Vec<NewEvent> = rows
        .iter()
        .map(|row| {
            let (event, _) = parts(row);
            NewEvent {
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                metadata: event.metadata.clone(),
                payload: event.payload.clone(),
            }
        })
        .collect();
    let mut records = Vec::new();
    codec::encode_event_records(&events, &mut records).map_err(|e: StoreError| (0, e.to_string()))?;
    let header = CommitHeaderV1 {
        prev_hash: first.prev_hash.0,
        first_position: hashed_position,
        stream_id: first.stream_id.as_str(),
        first_version: first.stream_version,
        recorded_at: first.recorded_at.unix_micros(),
        event_count: rows.len() as u32,
    };
    let computed = codec::commit_body_hash(&header, &records);
    if computed != commit_hash {
        return Err((
            0,
            format!(
                "the commit's content hashes to {computed}, not to its stored hash {commit_hash}: it was altered"
            ),
        ));
    }
    Ok(computed)
}

/// Adds a stream's head to the heads digest (streams in id order): BLAKE3 over each stream's id,
/// length-prefixed, and the hash of its last commit.
pub(crate) fn digest_head(digest: &mut blake3::Hasher, stream: &str, head: ChainHash) {
    digest.update(&(stream.len() as u64).to_le_bytes());
    digest.update(stream.as_bytes());
    digest.update(&head.0);
}
