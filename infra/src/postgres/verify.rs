//! The PostgreSQL store's audit check: every stream's hash chain, walked from its first commit.
//!
//! For each stream, in stream id order, it checks that versions run 0, 1, 2 ... and positions increase
//! with them; groups the rows into commits (the rows of one transaction id, `position >> 20`, with one
//! commit hash: an append writes one commit per transaction, a copy by `erp migrate` several); checks
//! that a commit's rows hold consecutive positions and share their previous hash, commit hash and
//! recording time; that the commit links to the stream's previous commit (zeros for the
//! first); and that its stored hash is the hash of its body recomputed from the rows (the embedded
//! store's commit body, ADR 0015). It stops at the first problem and names it. It reads every committed
//! row, whatever the horizon, and takes no lock.

use super::Inner;
use super::read::{EVENT_COLUMN_COUNT, Names, decode_event, event_columns};
use crate::commit_check;
use crate::envelope::{ChainHash, RecordedEvent};
use crate::error::StoreError;
use crate::limits::POSTGRES_POSITION_INDEX_BITS;

/// What [`super::PostgresStore::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresVerifyReport {
    pub streams: u64,
    pub commits: u64,
    pub events: u64,
    /// BLAKE3 over every stream's id and the hash of its last commit, in stream id order: one value
    /// that commits to the whole log as verified (publish it; a verify of the same log gives it again).
    pub heads_digest: ChainHash,
    /// The first broken link; `None` when every chain verified.
    pub problem: Option<PostgresVerifyProblem>,
}

impl PostgresVerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Where a stream's chain first failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresVerifyProblem {
    pub stream: String,
    /// The version of the first event that could not be vouched for.
    pub version: u64,
    pub position: u64,
    pub reason: String,
}

/// Rows read per page, in (stream, version) order: a page of business events is a few hundred KiB.
const VERIFY_PAGE: i64 = 1_000;

const PAGE: &str = concat!(
    "SELECT ",
    event_columns!(),
    ", commit_hash FROM events WHERE (stream_id, stream_version) > ($1, $2) \
     ORDER BY stream_id, stream_version LIMIT $3"
);

/// One stored row with its commit hash.
struct Row {
    event: RecordedEvent,
    commit_hash: ChainHash,
}

/// The stream being walked.
struct StreamWalk {
    id: String,
    next_version: u64,
    last_position: u64,
    /// The hash the next commit must link to.
    head: ChainHash,
    /// The rows of the commit being gathered.
    commit: Vec<Row>,
}

pub(crate) async fn verify(inner: &Inner) -> Result<PostgresVerifyReport, StoreError> {
    let mut report = PostgresVerifyReport {
        streams: 0,
        commits: 0,
        events: 0,
        heads_digest: ChainHash::GENESIS,
        problem: None,
    };
    let mut digest = blake3::Hasher::new();
    let mut walk: Option<StreamWalk> = None;
    let (mut after_stream, mut after_version) = (String::new(), -1i64);
    let mut conn = inner.pool.get().await?;
    'pages: loop {
        let rows = conn
            .query(PAGE, &[&after_stream, &after_version, &VERIFY_PAGE])
            .await
            .map_err(|e| StoreError::database("reading the log to verify it", e))?;
        if rows.is_empty() {
            break;
        }
        let mut names = Names::default();
        for row in &rows {
            let event = decode_event(row, 0, &mut names)?;
            let hash: &[u8] = row.get(EVENT_COLUMN_COUNT);
            let commit_hash = ChainHash(hash.try_into().map_err(|_| StoreError::Decode {
                reason: format!("a commit hash of {} bytes at position {}", hash.len(), event.position),
            })?);
            after_stream = event.stream_id.as_str().to_owned();
            after_version = event.stream_version as i64;
            report.events += 1;
            let same_stream = walk.as_ref().is_some_and(|w| w.id == event.stream_id.as_str());
            if !same_stream {
                if let Some(done) = walk.take()
                    && let Err(problem) = finish_stream(done, &mut report, &mut digest)
                {
                    report.problem = Some(problem);
                    break 'pages;
                }
                report.streams += 1;
                walk = Some(StreamWalk {
                    id: event.stream_id.as_str().to_owned(),
                    next_version: 0,
                    last_position: 0,
                    head: ChainHash::GENESIS,
                    commit: Vec::new(),
                });
            }
            let w = walk.as_mut().expect("a stream is being walked");
            if let Err(problem) = take_row(w, Row { event, commit_hash }, &mut report) {
                report.problem = Some(problem);
                break 'pages;
            }
        }
    }
    if report.problem.is_none()
        && let Some(done) = walk.take()
        && let Err(problem) = finish_stream(done, &mut report, &mut digest)
    {
        report.problem = Some(problem);
    }
    report.heads_digest = ChainHash(*digest.finalize().as_bytes());
    Ok(report)
}

/// Checks a row against its stream and adds it to the commit being gathered (checking the previous
/// commit when this row starts a new one).
fn take_row(
    w: &mut StreamWalk,
    row: Row,
    report: &mut PostgresVerifyReport,
) -> Result<(), PostgresVerifyProblem> {
    let (version, position) = (row.event.stream_version, row.event.position);
    let fail = |reason: String| PostgresVerifyProblem { stream: w.id.clone(), version, position, reason };
    if version != w.next_version {
        return Err(fail(format!("version {version} where version {} was expected (a gap)", w.next_version)));
    }
    if position <= w.last_position {
        return Err(fail(format!(
            "position {position} is not after the previous version's {}",
            w.last_position
        )));
    }
    // A commit is the rows of one transaction with one commit hash: an append writes one commit per
    // transaction, a copy (`erp migrate`, ADR 0017) several, each with its own hash and link.
    let starts_commit = w.commit.first().is_none_or(|c| {
        c.event.position >> POSTGRES_POSITION_INDEX_BITS != position >> POSTGRES_POSITION_INDEX_BITS
            || c.commit_hash != row.commit_hash
    });
    if starts_commit && !w.commit.is_empty() {
        check_commit(w, report)?;
    }
    w.next_version += 1;
    w.last_position = position;
    w.commit.push(row);
    Ok(())
}

/// Checks the gathered commit (`commit_check`, its hash covering its first position); moves the
/// stream's head.
fn check_commit(w: &mut StreamWalk, report: &mut PostgresVerifyReport) -> Result<(), PostgresVerifyProblem> {
    let rows = std::mem::take(&mut w.commit);
    let first_position = rows[0].event.position;
    match commit_check::check_commit(&rows, |r| (&r.event, r.commit_hash), w.head, first_position) {
        Ok(head) => {
            report.commits += 1;
            w.head = head;
            Ok(())
        }
        Err((i, reason)) => Err(PostgresVerifyProblem {
            stream: w.id.clone(),
            version: rows[i].event.stream_version,
            position: rows[i].event.position,
            reason,
        }),
    }
}

/// Checks the stream's last commit and adds the stream's head to the digest.
fn finish_stream(
    mut w: StreamWalk,
    report: &mut PostgresVerifyReport,
    digest: &mut blake3::Hasher,
) -> Result<(), PostgresVerifyProblem> {
    if !w.commit.is_empty() {
        check_commit(&mut w, report)?;
    }
    commit_check::digest_head(digest, &w.id, w.head);
    Ok(())
}
