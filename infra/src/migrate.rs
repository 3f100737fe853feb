//! Copying a log from one store to another and proving the copy (`erp migrate`, ADR 0017).
//!
//! 1. The source's own chain is checked first (the embedded store's `verify`, the PostgreSQL and
//!    KurrentDB stores' per-stream walks): copying a damaged log would launder it.
//! 2. The copy walks the source's log from the start up to its head when the migration began. While
//!    the target has events it compares them with the source's (a resumed copy); once the target ends
//!    it appends the rest, commit by commit, each keeping its stream, versions, event ids, metadata,
//!    payloads and recording time ([`ImportCommit`]).
//! 3. The copy is then proved: the target's own chain check, and a second walk of both logs that
//!    compares every event and every commit boundary and hashes both sides into the *content digest*,
//!    a BLAKE3 over every event's content in log order that leaves out what a store assigns (positions
//!    and chain hashes), so it is the same for a log and any faithful copy of it, whatever the stores.
//!
//! A chain hash covers a commit's place (its position and its predecessor), so only a copy into the
//! same place keeps it: embedded to embedded keeps every position and every hash byte for byte, and the
//! report says so after comparing the head hashes. Across kinds the target chains the copy in its own
//! way, and the report ties the two chains together: the source's seal, the content digest both sides
//! hash to, the target's seal.

use std::collections::VecDeque;

use serde::Serialize;

use crate::any::AnyStore;
use crate::codec::Bytes;
use crate::envelope::{ChainHash, ImportCommit, NewEvent, RecordedEvent, StreamId};
use crate::error::StoreError;
use crate::port::EventStore;

/// Events read per page from either store.
const PAGE_EVENTS: usize = 1_000;
/// Events sent to the target per import call (rounded up to a whole commit).
const IMPORT_BATCH_EVENTS: usize = 4_096;

/// Why a migration stopped. Every variant but `Store` is about the logs themselves, not the stores.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("the source log is damaged, so it was not copied: {reason}")]
    SourceDamaged { reason: String },

    #[error(
        "the target already holds events that are not this source's (at the target's event {index}: \
         {reason}); copy into an empty store, or into an earlier copy of this log to resume it"
    )]
    TargetDiverged { index: u64, reason: String },

    #[error(
        "the target changed while it was being copied into (stream {stream}); nothing else may write to \
         it during a migration"
    )]
    TargetWritten { stream: String },

    #[error("the copy does not verify: {reason}")]
    CopyDiffers { reason: String },
}

impl MigrateError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            MigrateError::Store(e) => e.code(),
            MigrateError::SourceDamaged { .. } => "migrate.source_damaged",
            MigrateError::TargetDiverged { .. } => "migrate.target_diverged",
            MigrateError::TargetWritten { .. } => "migrate.target_written",
            MigrateError::CopyDiffers { .. } => "migrate.copy_differs",
        }
    }
}

/// What a store's own chain check vouches for: the embedded store's head hash, or the PostgreSQL or
/// KurrentDB store's digest of every stream's last commit hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSeal {
    /// `embedded`, `postgres` or `kurrentdb`.
    pub store: &'static str,
    /// `head_hash` or `heads_digest`.
    pub kind: &'static str,
    pub hash: ChainHash,
    pub events: u64,
}

/// What a migration did and proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateReport {
    /// Events and commits in the copy: the source's log up to its head when the migration began.
    pub events: u64,
    pub commits: u64,
    /// Events the target held already (a resumed copy), compared rather than copied.
    pub already_copied: u64,
    /// Events appended to the target by this run.
    pub copied: u64,
    /// BLAKE3 over every event's content and commit boundary in log order, equal on both sides.
    pub content_digest: ChainHash,
    pub source_seal: ChainSeal,
    pub target_seal: ChainSeal,
    /// Whether every position and chain hash was carried over unchanged (embedded to embedded), checked
    /// by comparing head hashes.
    pub hashes_identical: bool,
    /// Each asked-for source position found in the copy, with its position there (`migrate_translating`).
    pub translated: Vec<(u64, u64)>,
}

/// How far a migration has come, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateProgress {
    /// Checking the source's chain.
    CheckingSource,
    /// Walking the log: `done` of about `total` events (compared with the target, or copied).
    Copying { done: u64, total: u64 },
    /// Checking the target's chain and comparing both logs: `done` of `total` events.
    Verifying { done: u64, total: u64 },
}

/// Copies `source`'s log into `target` (empty, or an earlier copy of it to resume) and proves the copy.
/// Nothing else may write to `target` meanwhile; the source may take appends, which are left for the
/// next run (run it again after stopping the service to copy the tail).
pub async fn migrate(
    source: &AnyStore,
    target: &AnyStore,
    progress: &mut (dyn FnMut(MigrateProgress) + Send),
) -> Result<MigrateReport, MigrateError> {
    migrate_translating(source, target, &[], progress).await
}

/// [`migrate`], also finding where the events at the source positions `translate` landed in the
/// target ([`MigrateReport::translated`]): a process manager's checkpoint, a position in the source,
/// carried over to the copy.
pub async fn migrate_translating(
    source: &AnyStore,
    target: &AnyStore,
    translate: &[u64],
    progress: &mut (dyn FnMut(MigrateProgress) + Send),
) -> Result<MigrateReport, MigrateError> {
    let wanted: std::collections::HashSet<u64> = translate.iter().copied().filter(|p| *p > 0).collect();
    let mut translated: Vec<(u64, u64)> = Vec::new();
    progress(MigrateProgress::CheckingSource);
    let source_seal = seal(source).await?.map_err(|reason| MigrateError::SourceDamaged { reason })?;
    let until = source.head_position().await?;
    let total = source_seal.events;

    // Walk the source; compare what the target has, then copy the rest.
    let mut from_source = Cursor::new(source, until);
    let mut from_target = Cursor::new(target, u64::MAX);
    let mut source_commits = Commits::default();
    let mut target_commits = Commits::default();
    let mut already_copied = 0u64;
    let mut done = 0u64;
    let mut copying = false;
    let mut batch = Batch::default();
    let same_place = matches!((source, target), (AnyStore::Embedded(_), AnyStore::Embedded(_)));
    while let Some(event) = from_source.next().await? {
        let starts = source_commits.starts(&event);
        if !copying {
            match from_target.next().await? {
                Some(stored) => {
                    let stored_starts = target_commits.starts(&stored);
                    if let Some(reason) = difference(&event, starts, &stored, stored_starts) {
                        return Err(MigrateError::TargetDiverged { index: already_copied + 1, reason });
                    }
                    if wanted.contains(&event.position) {
                        translated.push((event.position, stored.position));
                    }
                    already_copied += 1;
                }
                None if !starts => {
                    return Err(MigrateError::TargetDiverged {
                        index: already_copied + 1,
                        reason: format!(
                            "the target ends inside the source's commit of stream {} at version {}",
                            event.stream_id, event.stream_version
                        ),
                    });
                }
                None => copying = true,
            }
        }
        if copying {
            if starts && batch.events >= IMPORT_BATCH_EVENTS {
                batch.flush(target, same_place, &mut translated).await?;
            }
            let want = wanted.contains(&event.position);
            batch.push(event, starts, want);
        }
        done += 1;
        if done.is_multiple_of(PAGE_EVENTS as u64) {
            progress(MigrateProgress::Copying { done, total });
        }
    }
    if !copying && from_target.next().await?.is_some() {
        return Err(MigrateError::TargetDiverged {
            index: already_copied + 1,
            reason: "the target holds more events than the source".into(),
        });
    }
    batch.flush(target, same_place, &mut translated).await?;
    let copied = done - already_copied;
    progress(MigrateProgress::Copying { done, total });

    // Prove the copy: the target's own chain, then every event and commit of both logs compared.
    progress(MigrateProgress::Verifying { done: 0, total: done });
    let target_seal = seal(target)
        .await?
        .map_err(|reason| MigrateError::CopyDiffers { reason: format!("the target's chain: {reason}") })?;
    let compared = compare(source, until, target, &mut |done| {
        if done.is_multiple_of(PAGE_EVENTS as u64) {
            progress(MigrateProgress::Verifying { done, total: done.max(total) });
        }
    })
    .await?;
    let hashes_identical = same_place && until == source_seal.events;
    if hashes_identical && source_seal.hash != target_seal.hash {
        return Err(MigrateError::CopyDiffers {
            reason: format!(
                "the target's head hash {} is not the source's {}",
                target_seal.hash, source_seal.hash
            ),
        });
    }
    progress(MigrateProgress::Verifying { done: compared.events, total: compared.events });
    Ok(MigrateReport {
        events: compared.events,
        commits: compared.commits,
        already_copied,
        copied,
        content_digest: compared.digest,
        source_seal,
        target_seal,
        hashes_identical,
        translated,
    })
}

/// What a comparison of two logs found equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compared {
    pub events: u64,
    pub commits: u64,
    pub digest: ChainHash,
}

/// Compares `source`'s log up to `until` with the whole of `target`'s: the same events, with the same
/// content and commit boundaries, in the same order, and nothing more in the target. Hashes both sides
/// into the content digest; `Err(CopyDiffers)` names the first difference.
pub async fn compare(
    source: &AnyStore,
    until: u64,
    target: &AnyStore,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Compared, MigrateError> {
    let mut from_source = Cursor::new(source, until);
    let mut from_target = Cursor::new(target, u64::MAX);
    let (mut source_commits, mut target_commits) = (Commits::default(), Commits::default());
    let (mut source_digest, mut target_digest) = (ContentDigest::new(), ContentDigest::new());
    let mut events = 0u64;
    loop {
        let (a, b) = (from_source.next().await?, from_target.next().await?);
        let (a, b) = match (a, b) {
            (None, None) => break,
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => {
                return Err(MigrateError::CopyDiffers {
                    reason: format!(
                        "the target ends after {events} events; the source goes on with stream {} version {}",
                        a.stream_id, a.stream_version
                    ),
                });
            }
            (None, Some(b)) => {
                return Err(MigrateError::CopyDiffers {
                    reason: format!(
                        "the target holds more than the source's {events} events, from stream {} version {}",
                        b.stream_id, b.stream_version
                    ),
                });
            }
        };
        let (a_starts, b_starts) = (source_commits.starts(&a), target_commits.starts(&b));
        if let Some(reason) = difference(&a, a_starts, &b, b_starts) {
            return Err(MigrateError::CopyDiffers { reason: format!("event {}: {reason}", events + 1) });
        }
        source_digest.add(&a, a_starts);
        target_digest.add(&b, b_starts);
        events += 1;
        progress(events);
    }
    let (digest, other) = (source_digest.finish(), target_digest.finish());
    if digest != other {
        // Unreachable when every event compared equal; kept as the check the report stands on.
        return Err(MigrateError::CopyDiffers { reason: format!("content digests {digest} and {other}") });
    }
    Ok(Compared { events, commits: source_commits.count, digest })
}

/// The store's own chain check: its seal, or `Ok(Err(reason))` for a chain that does not verify.
pub async fn seal(store: &AnyStore) -> Result<Result<ChainSeal, String>, StoreError> {
    match store {
        AnyStore::Embedded(s) => {
            let dir = s.dir().to_path_buf();
            let report =
                tokio::task::spawn_blocking(move || crate::embedded::verify_data_dir(&dir))
                    .await
                    .map_err(|e| StoreError::Poisoned { reason: format!("the verify task failed: {e}") })??;
            Ok(match report.problem {
                Some(p) => {
                    Err(format!("position {}: {} offset {}: {}", p.position, p.segment, p.offset, p.reason))
                }
                None => Ok(ChainSeal {
                    store: "embedded",
                    kind: "head_hash",
                    hash: report.head_hash,
                    events: report.head_position,
                }),
            })
        }
        // The same per-stream check and report as PostgreSQL's (ADR 0016).
        #[cfg(feature = "kurrentdb")]
        AnyStore::Kurrent(s) => Ok(heads_digest_seal("kurrentdb", s.verify().await?)),
        AnyStore::Postgres(s) => Ok(heads_digest_seal("postgres", s.verify().await?)),
    }
}

/// The seal of a per-stream chain check (PostgreSQL's, KurrentDB's): its heads digest, or where it failed.
fn heads_digest_seal(
    store: &'static str,
    report: crate::postgres::PostgresVerifyReport,
) -> Result<ChainSeal, String> {
    match report.problem {
        Some(p) => {
            Err(format!("stream {} version {} (position {}): {}", p.stream, p.version, p.position, p.reason))
        }
        None => {
            Ok(ChainSeal { store, kind: "heads_digest", hash: report.heads_digest, events: report.events })
        }
    }
}

/// The first difference between a source event and the target's event in the same place, if any.
/// Positions and hash links are the stores' own and are not compared.
fn difference(a: &RecordedEvent, a_starts: bool, b: &RecordedEvent, b_starts: bool) -> Option<String> {
    let at = || format!("stream {} version {}", a.stream_id, a.stream_version);
    if a.event_id != b.event_id {
        return Some(format!("event id {} where the source has {} ({})", b.event_id.0, a.event_id.0, at()));
    }
    if a.stream_id != b.stream_id || a.stream_version != b.stream_version {
        return Some(format!(
            "event {} is stream {} version {} in the target, {} in the source",
            a.event_id.0,
            b.stream_id,
            b.stream_version,
            at()
        ));
    }
    if a.event_type != b.event_type {
        return Some(format!("{}: type {} where the source has {}", at(), b.event_type, a.event_type));
    }
    if a.metadata != b.metadata {
        return Some(format!("{}: other metadata (book, actor, ids or business time)", at()));
    }
    if a.recorded_at != b.recorded_at {
        return Some(format!(
            "{}: recorded at {} where the source has {}",
            at(),
            b.recorded_at.unix_micros(),
            a.recorded_at.unix_micros()
        ));
    }
    if a.payload != b.payload {
        return Some(format!("{}: another payload", at()));
    }
    if a_starts != b_starts {
        return Some(format!("{}: the commits are cut differently", at()));
    }
    None
}

/// Finds where commits start along a log: an event starts one unless it continues the previous event's
/// commit (the same stream at the next version with the same hash link and recording time; a commit's
/// events share their link, and the next commit of a stream links to this one, so it never does).
#[derive(Default)]
struct Commits {
    previous: Option<(std::sync::Arc<str>, u64, ChainHash, i64)>,
    count: u64,
}

impl Commits {
    fn starts(&mut self, event: &RecordedEvent) -> bool {
        let continues = self.previous.as_ref().is_some_and(|(stream, version, link, recorded_at)| {
            **stream == *event.stream_id.as_str()
                && version + 1 == event.stream_version
                && *link == event.prev_hash
                && *recorded_at == event.recorded_at.unix_micros()
        });
        self.previous = Some((
            event.stream_id.arc().clone(),
            event.stream_version,
            event.prev_hash,
            event.recorded_at.unix_micros(),
        ));
        if !continues {
            self.count += 1;
        }
        !continues
    }
}

/// Commits waiting to be imported, with the source positions of their first events.
#[derive(Default)]
struct Batch {
    commits: Vec<ImportCommit>,
    source_positions: Vec<u64>,
    events: usize,
    /// Source positions to translate: (position, its commit's index in the batch, offset in the commit).
    wanted: Vec<(u64, usize, u64)>,
}

impl Batch {
    fn push(&mut self, event: RecordedEvent, starts: bool, want: bool) {
        let position = event.position;
        // The event's place in its commit, for translating its position.
        let offset = if starts { 0 } else { self.commits.last().map_or(0, |c| c.events.len() as u64) };
        let new = NewEvent {
            event_id: event.event_id,
            event_type: event.event_type,
            metadata: event.metadata,
            payload: event.payload,
        };
        match self.commits.last_mut() {
            Some(commit) if !starts => commit.events.push(new),
            _ => {
                self.commits.push(ImportCommit {
                    stream: event.stream_id,
                    first_version: event.stream_version,
                    recorded_at: event.recorded_at,
                    events: vec![new],
                });
                self.source_positions.push(position);
            }
        }
        if want {
            self.wanted.push((position, self.commits.len() - 1, offset));
        }
        self.events += 1;
    }

    /// Imports the batch; with `same_place` every commit must land at its source position.
    async fn flush(
        &mut self,
        target: &AnyStore,
        same_place: bool,
        translated: &mut Vec<(u64, u64)>,
    ) -> Result<(), MigrateError> {
        if self.commits.is_empty() {
            return Ok(());
        }
        let commits = std::mem::take(&mut self.commits);
        let positions = std::mem::take(&mut self.source_positions);
        let wanted = std::mem::take(&mut self.wanted);
        self.events = 0;
        let streams: Vec<StreamId> = commits.iter().map(|c| c.stream.clone()).collect();
        let outcomes = target.import(commits).await?;
        for (i, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Err(conflict) => {
                    return Err(MigrateError::TargetWritten { stream: conflict.stream.to_string() });
                }
                Ok(appended) if same_place && appended.first_position != positions[i] => {
                    return Err(MigrateError::TargetWritten { stream: streams[i].to_string() });
                }
                Ok(_) => {}
            }
        }
        if outcomes.len() < streams.len() {
            return Err(MigrateError::TargetWritten { stream: streams[outcomes.len()].to_string() });
        }
        for (source, commit, offset) in wanted {
            if let Ok(appended) = &outcomes[commit] {
                translated.push((source, appended.first_position + offset));
            }
        }
        Ok(())
    }
}

/// Reads a store's log in order, a page at a time, up to a position.
struct Cursor<'a> {
    store: &'a AnyStore,
    next_from: u64,
    until: u64,
    page: VecDeque<RecordedEvent>,
    ended: bool,
}

impl<'a> Cursor<'a> {
    fn new(store: &'a AnyStore, until: u64) -> Self {
        Cursor { store, next_from: 1, until, page: VecDeque::new(), ended: false }
    }

    async fn next(&mut self) -> Result<Option<RecordedEvent>, StoreError> {
        if self.page.is_empty() && !self.ended {
            let page = self.store.read_all(self.next_from, PAGE_EVENTS).await?;
            match page.last() {
                Some(last) => self.next_from = last.position + 1,
                None => self.ended = true,
            }
            self.page.extend(page.into_iter().filter(|e| e.position <= self.until));
            if self.page.is_empty() {
                self.ended = true;
            }
        }
        Ok(self.page.pop_front())
    }
}

/// One event's content as the content digest hashes it, layout v1: never change it (a published digest
/// must come out the same from any later build); a new layout is a new version with its own name.
#[derive(Serialize)]
struct ContentRecordV1<'a> {
    starts_commit: bool,
    stream_id: &'a str,
    stream_version: u64,
    event_id: [u8; 16],
    event_type: &'a str,
    event_version: u16,
    book: [u8; 16],
    actor: &'a str,
    command_id: [u8; 16],
    correlation_id: [u8; 16],
    causation_id: [u8; 16],
    occurred_at: i64,
    recorded_at: i64,
    payload: Bytes<'a>,
}

/// The content digest: BLAKE3 over the domain `erp.content-digest.v1` and every event's
/// [`ContentRecordV1`] (postcard, each prefixed with its length) in log order.
pub struct ContentDigest {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

impl Default for ContentDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentDigest {
    pub fn new() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"erp.content-digest.v1");
        ContentDigest { hasher, buf: Vec::new() }
    }

    pub fn add(&mut self, event: &RecordedEvent, starts_commit: bool) {
        let record = ContentRecordV1 {
            starts_commit,
            stream_id: event.stream_id.as_str(),
            stream_version: event.stream_version,
            event_id: *event.event_id.0.as_bytes(),
            event_type: event.event_type.name(),
            event_version: event.event_type.version(),
            book: *event.metadata.book.0.as_bytes(),
            actor: &event.metadata.actor,
            command_id: *event.metadata.command_id.0.as_bytes(),
            correlation_id: *event.metadata.correlation_id.as_bytes(),
            causation_id: *event.metadata.causation_id.as_bytes(),
            occurred_at: event.metadata.occurred_at.unix_micros(),
            recorded_at: event.recorded_at.unix_micros(),
            payload: Bytes(&event.payload),
        };
        self.buf.clear();
        // Encoding into a Vec cannot fail for this type.
        let bytes = postcard::to_extend(&record, std::mem::take(&mut self.buf)).expect("encodes");
        self.hasher.update(&(bytes.len() as u64).to_le_bytes());
        self.hasher.update(&bytes);
        self.buf = bytes;
    }

    pub fn finish(&self) -> ChainHash {
        ChainHash(*self.hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{EventMetadata, EventType, StreamId};
    use domain::{BookId, CommandId, EventId, Timestamp};
    use uuid::Uuid;

    fn event(stream: &str, version: u64, link: u8, recorded_at: i64) -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream_id: StreamId::new(stream).unwrap(),
            stream_version: version,
            event_id: EventId(Uuid::from_u128(0x11 + u128::from(version))),
            event_type: EventType::new("sales.OrderPlaced", 1).unwrap(),
            metadata: EventMetadata {
                book: BookId(Uuid::from_u128(2)),
                actor: "t-wang".into(),
                command_id: CommandId(Uuid::from_u128(3)),
                correlation_id: Uuid::from_u128(4),
                causation_id: Uuid::from_u128(5),
                occurred_at: Timestamp(1_700_000_000_000_000),
            },
            recorded_at: Timestamp(recorded_at),
            payload: vec![1, 2, 3],
            prev_hash: ChainHash([link; 32]),
        }
    }

    #[test]
    fn the_content_digest_of_a_fixed_event_never_changes() {
        let mut digest = ContentDigest::new();
        digest.add(&event("order-1", 0, 0, 1_700_000_000_000_001), true);
        // Pinned: a published digest must come out the same from every later build.
        assert_eq!(
            digest.finish().to_hex(),
            "a9b00bdd2c226b89241e9b90951253b8a5dddff56e47919ad219eb861925f4c8",
            "the content digest's layout changed; add a v2 instead"
        );
    }

    #[test]
    fn the_content_digest_leaves_out_positions_and_hash_links_but_nothing_else() {
        let digest = |e: &RecordedEvent, starts: bool| {
            let mut d = ContentDigest::new();
            d.add(e, starts);
            d.finish()
        };
        let base = event("order-1", 0, 0, 10);
        let mut moved = base.clone();
        moved.position = 99;
        moved.prev_hash = ChainHash([9; 32]);
        assert_eq!(digest(&base, true), digest(&moved, true));
        let mut other = base.clone();
        other.payload = vec![1, 2, 4];
        assert_ne!(digest(&base, true), digest(&other, true));
        let mut later = base.clone();
        later.recorded_at = Timestamp(11);
        assert_ne!(digest(&base, true), digest(&later, true));
        assert_ne!(digest(&base, true), digest(&base, false), "commit boundaries count");
    }

    #[test]
    fn a_commit_starts_where_the_stream_the_link_or_the_recording_time_changes() {
        let mut commits = Commits::default();
        assert!(commits.starts(&event("a", 0, 0, 10)));
        assert!(!commits.starts(&event("a", 1, 0, 10)), "same commit");
        assert!(commits.starts(&event("a", 2, 1, 10)), "the next commit of the stream links elsewhere");
        assert!(commits.starts(&event("b", 0, 1, 10)), "another stream");
        assert!(commits.starts(&event("b", 1, 1, 11)), "another recording time");
        assert!(commits.starts(&event("b", 3, 1, 11)), "not the next version");
        assert_eq!(commits.count, 5);
    }

    #[test]
    fn every_refusal_has_a_stable_code() {
        let errors = [
            MigrateError::SourceDamaged { reason: "x".into() },
            MigrateError::TargetDiverged { index: 1, reason: "x".into() },
            MigrateError::TargetWritten { stream: "s".into() },
            MigrateError::CopyDiffers { reason: "x".into() },
            MigrateError::Store(StoreError::Closed),
        ];
        let codes: Vec<&str> = errors.iter().map(MigrateError::code).collect();
        assert_eq!(
            codes,
            [
                "migrate.source_damaged",
                "migrate.target_diverged",
                "migrate.target_written",
                "migrate.copy_differs",
                "store.closed"
            ]
        );
    }
}
