//! The append path of the KurrentDB store.
//!
//! ```text
//! read the stream's newest events (1, or as many as the append holds for `Any`)
//!   not at the expected version: a retry (our ids where the append would have gone) or a conflict
//!   `Any` and the newest events are this append's: a retry
//! chain to the head's commit hash; write at exactly the revision read (NoStream / StreamRevision(n))
//!   the server's WrongExpectedVersion: another writer came first; decide again
//! read the written events back: their positions, and their content compared with ours
//! ```
//!
//! The server recognises a retried write by its event ids alone (ADR 0016), at the expected revision;
//! the store compares the content too, so the same id with other content is
//! `store.event_id_reused`, as in the other stores. An `Any` append is written at the exact revision it
//! read, because its hash chains to the head it read: when another writer comes first it decides again,
//! at most [`limits::KURRENTDB_APPEND_ATTEMPTS_MAX`] times (`store.contended` after that).

use kurrentdb::{AppendToStreamOptions, EventData, StreamState};

use super::chain;
use super::read::{self, Decoded};
use super::store::{Inner, conflict, failure, stream_state};
use crate::envelope::{
    Appended, ChainHash, ExpectedVersion, ImportCommit, NewEvent, StreamId, WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::limits;
use crate::port::AppendResult;

pub(crate) async fn append(
    inner: &Inner,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> AppendResult {
    append_recorded(inner, stream, expected, events, None).await
}

/// Appends commits copied from another log (`erp migrate`, ADR 0017), in order, each in one append of
/// its own through the store's append (the same decision, chain and read-back), at exactly the stream's
/// next revision (`ImportCommit::expected`) and keeping the source's recording time. Stops at the first
/// conflict, which is the last outcome answered. Not one transaction: the server has none across
/// streams, so an interrupted import leaves the commits before it, and `erp migrate` resumes after them.
pub(crate) async fn import(
    inner: &Inner,
    commits: &[ImportCommit],
) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
    let mut outcomes = Vec::with_capacity(commits.len());
    for commit in commits {
        let recorded_at = Some(commit.recorded_at.unix_micros());
        let outcome =
            append_recorded(inner, &commit.stream, commit.expected(), &commit.events, recorded_at).await?;
        let stop = outcome.is_err();
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    Ok(outcomes)
}

/// An append whose recording time is this node's clock (never earlier than the stream's previous
/// commit), or `recorded_at` when given (an import).
async fn append_recorded(
    inner: &Inner,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
    recorded_at: Option<i64>,
) -> AppendResult {
    let (records, _) = limits::check_and_encode_append(events)?;
    let name = inner.names.server_name(stream)?;
    let count = events.len();
    for _ in 0..limits::KURRENTDB_APPEND_ATTEMPTS_MAX {
        let newest = if expected == ExpectedVersion::Any { count } else { 1 };
        let mut tail = read::read_raw_stream(inner, &name, 0, newest, true).await?;
        tail.reverse();
        // Positions are not needed to append (only for a retry's answer, below).
        let mut tail = read::decode_events(inner, stream, &tail)?;
        let head = tail.last();
        let actual = head.map(|h| h.event.stream_version);
        let expected_holds = match expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::Exact(v) => actual == Some(v),
        };
        if !expected_holds {
            return retry_or_conflict(inner, &name, stream, expected, actual, events).await;
        }
        if expected == ExpectedVersion::Any
            && tail.len() == count
            && tail.iter().zip(events).all(|(found, sent)| found.event.event_id == sent.event_id)
        {
            read::assign_positions(inner, &mut tail).await?;
            return Ok(Ok(original(stream, events, &tail)?));
        }
        let head = tail.last();

        let first_version = actual.map_or(0, |v| v + 1);
        let prev_hash = head.map_or(ChainHash::GENESIS, |h| h.commit_hash);
        // Recording time never goes backwards along a stream, even if this node's clock does; a copied
        // commit keeps its source's.
        let recorded_at = recorded_at.unwrap_or_else(|| {
            let now = now_micros();
            head.map_or(now, |h| now.max(h.event.recorded_at.unix_micros()))
        });
        let (_, metadata) =
            chain::commit_metadata(stream, first_version, events, &records, prev_hash, recorded_at);
        let data: Vec<EventData> = events
            .iter()
            .zip(metadata)
            .map(|(event, metadata)| {
                EventData::binary(event.event_type.name(), event.payload.clone().into())
                    .id(event.event_id.0)
                    .metadata(metadata.into())
            })
            .collect();
        // One to one for NoStream and Exact; Any at the exact revision read, as its hash chains to it.
        let state = match (expected, actual) {
            (ExpectedVersion::Any, None) => StreamState::NoStream,
            (ExpectedVersion::Any, Some(version)) => StreamState::StreamRevision(version),
            (expected, _) => stream_state(expected),
        };
        let options = AppendToStreamOptions::default().stream_state(state);
        match inner.client.append_to_stream(name.as_str(), &options, data).await {
            Ok(written) => {
                return read_back(inner, &name, stream, written.next_expected_version, events).await;
            }
            // Another writer took the stream's next version since the read: decide again.
            Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                if expected == ExpectedVersion::Any {
                    continue;
                }
                // A conflict, or a retry that met its own original (written since the read): the server
                // recognises a retry only when it is sent at the original's expected revision.
                let actual = conflict(stream, expected, current).actual;
                return retry_or_conflict(inner, &name, stream, expected, actual, events).await;
            }
            // If the connection failed mid-append the outcome is unknown: the caller retries with the same
            // events, and the retry answers the original outcome if it was written.
            Err(e) => return Err(failure("appending to a stream", e)),
        }
    }
    Err(StoreError::Contended { stream: stream.to_string(), attempts: limits::KURRENTDB_APPEND_ATTEMPTS_MAX })
}

/// The stream is not at `expected`: the original outcome if this append's events are where it would
/// have put them (a retry), `store.event_id_reused` if some of them are there but not as sent, otherwise
/// the conflict.
async fn retry_or_conflict(
    inner: &Inner,
    name: &str,
    stream: &StreamId,
    expected: ExpectedVersion,
    actual: Option<u64>,
    events: &[NewEvent],
) -> AppendResult {
    let would_be_first = match expected {
        ExpectedVersion::Any => unreachable!("an Any append is never in conflict"),
        ExpectedVersion::NoStream => 0,
        ExpectedVersion::Exact(v) => v + 1,
    };
    let conflict = WrongExpectedVersion { stream: stream.clone(), expected, actual };
    if actual.is_none_or(|actual| actual < would_be_first) {
        return Ok(Err(conflict));
    }
    let raw = read::read_raw_stream(inner, name, would_be_first, events.len(), false).await?;
    let found = read::decode_stream(inner, stream, &raw).await?;
    let in_place = found.len() == events.len()
        && found.iter().zip(events).all(|(found, sent)| found.event.event_id == sent.event_id);
    if in_place {
        return Ok(Ok(original(stream, events, &found)?));
    }
    if let Some(taken) = found.iter().find(|f| events.iter().any(|sent| sent.event_id == f.event.event_id)) {
        return Err(reused(taken));
    }
    Ok(Err(conflict))
}

/// Reads the events the server answered for (versions up to `last_version`): the append's positions,
/// and the check that the server did not answer for other events with our ids (it recognises a retry
/// by the ids alone).
async fn read_back(
    inner: &Inner,
    name: &str,
    stream: &StreamId,
    last_version: u64,
    events: &[NewEvent],
) -> AppendResult {
    let first_version = (last_version + 1).checked_sub(events.len() as u64).ok_or_else(|| {
        StoreError::database("appending to a stream", format!("the server answered version {last_version}"))
    })?;
    let raw = read::read_raw_stream(inner, name, first_version, events.len(), false).await?;
    let found = read::decode_stream(inner, stream, &raw).await?;
    let in_place = found.len() == events.len()
        && found.iter().zip(events).all(|(found, sent)| found.event.event_id == sent.event_id);
    if !in_place {
        return Err(StoreError::database(
            "appending to a stream",
            format!("the written events are not at versions {first_version}..={last_version} of {stream}"),
        ));
    }
    Ok(Ok(original(stream, events, &found)?))
}

/// The outcome of an append whose events are stored as `found` (in order, same ids): the original
/// [`Appended`] if every one holds what was sent, `store.event_id_reused` otherwise. The chain's fields
/// and the recording time are the store's, not the caller's, and are not compared.
fn original(stream: &StreamId, sent: &[NewEvent], found: &[Decoded]) -> Result<Appended, StoreError> {
    for (sent, found) in sent.iter().zip(found) {
        let event = &found.event;
        if event.event_type != sent.event_type
            || event.metadata != sent.metadata
            || event.payload != sent.payload
        {
            return Err(reused(found));
        }
    }
    // The same ids in the same order are one append of ours (its ids derive from one command id), unless
    // they were stored by another append, whose content was compared above.
    if found[0].index != 0 || found[0].count as usize != found.len() {
        return Err(reused(&found[0]));
    }
    let (first, last) = (&found[0].event, &found[found.len() - 1].event);
    debug_assert_eq!(&first.stream_id, stream);
    debug_assert_eq!(last.position - first.position + 1, found.len() as u64, "contiguous");
    Ok(Appended {
        first_position: first.position,
        last_position: last.position,
        next_expected_version: last.stream_version,
    })
}

fn reused(found: &Decoded) -> StoreError {
    StoreError::EventIdReused {
        event_id: found.event.event_id.0,
        stream: found.event.stream_id.to_string(),
        version: found.event.stream_version,
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
