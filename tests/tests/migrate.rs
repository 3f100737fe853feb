//! `erp migrate` (ADR 0017): a log copied between stores keeps every event's id, stream, version,
//! metadata, recording time and payload and every commit's cut; embedded to embedded keeps positions and
//! chain hashes too; a copy resumes; a target holding another log or written meanwhile is refused; a
//! damaged source is not copied; a PostgreSQL source is only read. The PostgreSQL cases use a fresh
//! schema of the database named by `ERP_TEST_POSTGRES_URL` and are skipped, saying so, without it; the
//! KurrentDB case uses a fresh namespace of the server named by `ERP_TEST_KURRENTDB_URL` (in a build
//! with the `kurrentdb` feature) and is skipped, saying so, without it.

use command_api::CommandBus;
use infra::migrate::{MigrateError, MigrateReport, migrate};
use infra::{AnyStore, EmbeddedStore, EventStore, ExpectedVersion, PostgresStore, RecordedEvent};
use tests::books::{fold_books, whole_log};
use tests::postgres::Schema;
use tests::{command, events, stream};

/// A month of trade (the finance scenario, process managers and all) plus commits of several events,
/// in a fresh embedded log.
async fn trading_log(dir: &std::path::Path) -> EmbeddedStore {
    let store = EmbeddedStore::open_dir(dir.join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    tests::scenarios::buy_and_sell(&bus, dir).await;
    append_batches(&store, "batch", 3).await;
    store
}

/// Commits of 1, 2 and 3 events to `count` streams named `<prefix>-<n>`, interleaved.
async fn append_batches<S: EventStore>(store: &S, prefix: &str, count: u32) {
    for size in 1..=3u32 {
        for n in 0..count {
            store
                .append(&stream(&format!("{prefix}-{n}")), ExpectedVersion::Any, events(command(), size))
                .await
                .expect("no failure")
                .expect("no conflict");
        }
    }
}

async fn run(source: &AnyStore, target: &AnyStore) -> Result<MigrateReport, MigrateError> {
    migrate(source, target, &mut |_| {}).await
}

/// One event's stream, version, id, type, type version, metadata, recording time and payload.
type Content = (String, u64, uuid::Uuid, String, u16, infra::EventMetadata, i64, Vec<u8>);

/// What a copy must keep of every event: all but the position and the hash link.
fn content(log: &[RecordedEvent]) -> Vec<Content> {
    log.iter()
        .map(|e| {
            (
                e.stream_id.to_string(),
                e.stream_version,
                e.event_id.0,
                e.event_type.name().to_string(),
                e.event_type.version(),
                e.metadata.clone(),
                e.recorded_at.unix_micros(),
                e.payload.clone(),
            )
        })
        .collect()
}

/// The vouchers a log's books hold, in posting order.
async fn vouchers<S: EventStore>(store: &S) -> Vec<domain::finance::journal::VoucherPosted> {
    let books = fold_books(store).await;
    let mut postings: Vec<_> = books.postings.into_iter().collect();
    postings.sort_by_key(|(position, _)| *position);
    postings.into_iter().map(|(_, posted)| posted).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_between_embedded_logs_keeps_every_position_and_chain_hash() {
    let dir = tempfile::tempdir().unwrap();
    let source = trading_log(dir.path()).await;
    let copy_dir = tempfile::tempdir().unwrap();
    let target = EmbeddedStore::open_dir(copy_dir.path().join("log")).unwrap();
    let (source, target) = (AnyStore::from(source), AnyStore::from(target));

    let report = run(&source, &target).await.expect("the copy is made and proved");
    let log = whole_log(&source).await;
    assert_eq!(report.events, log.len() as u64);
    assert_eq!((report.copied, report.already_copied), (log.len() as u64, 0));
    assert!(report.hashes_identical, "{report:?}");
    assert_eq!(report.source_seal.hash, report.target_seal.hash);
    assert_eq!(whole_log(&target).await, log, "positions and hash links too");
    let (AnyStore::Embedded(s), AnyStore::Embedded(t)) = (&source, &target) else { unreachable!() };
    assert_eq!(s.head_hash(), t.head_hash());
    let verified = infra::embedded::verify_data_dir(&copy_dir.path().join("log")).unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(verified.head_hash, report.target_seal.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_postgres_and_back_keeps_ids_versions_timestamps_content_and_the_books() {
    let Some(schema) = Schema::fresh() else { return };
    let dir = tempfile::tempdir().unwrap();
    let embedded = AnyStore::from(trading_log(dir.path()).await);
    let postgres = AnyStore::from(schema.connect().await);

    let there = run(&embedded, &postgres).await.expect("embedded to PostgreSQL");
    assert!(!there.hashes_identical, "PostgreSQL chains per stream");
    assert_eq!(there.target_seal.store, "postgres");
    let log = whole_log(&embedded).await;
    assert_eq!(content(&whole_log(&postgres).await), content(&log));
    assert_eq!(vouchers(&postgres).await, vouchers(&embedded).await, "the same books");
    let AnyStore::Postgres(pg) = &postgres else { unreachable!() };
    assert!(pg.verify().await.unwrap().is_ok());

    let back_dir = tempfile::tempdir().unwrap();
    let back = AnyStore::from(EmbeddedStore::open_dir(back_dir.path().join("log")).unwrap());
    let back_report = run(&postgres, &back).await.expect("PostgreSQL to embedded");
    assert_eq!(back_report.content_digest, there.content_digest, "one digest for the log wherever it is");
    assert_eq!((back_report.events, back_report.commits), (there.events, there.commits));
    let round_trip = whole_log(&back).await;
    assert_eq!(content(&round_trip), content(&log));
    assert_eq!(
        round_trip.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "the embedded log numbers its events 1, 2, 3 ..."
    );

    // The copy takes new appends where the source left off, never recorded before what it holds.
    let last = log.last().unwrap();
    let next = postgres
        .append(&last.stream_id, ExpectedVersion::Exact(last.stream_version), events(command(), 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.next_expected_version, last.stream_version + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_compares_what_was_copied_and_copies_only_what_came_since() {
    let dir = tempfile::tempdir().unwrap();
    let source = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    append_batches(&source, "s", 4).await;
    let copy_dir = tempfile::tempdir().unwrap();
    let target = AnyStore::from(EmbeddedStore::open_dir(copy_dir.path().join("log")).unwrap());
    let source = AnyStore::from(source);
    let first = run(&source, &target).await.unwrap();
    assert_eq!((first.events, first.copied), (24, 24));

    append_batches(&source, "s", 2).await;
    let second = run(&source, &target).await.unwrap();
    assert_eq!((second.events, second.already_copied, second.copied), (36, 24, 12));
    assert!(second.hashes_identical);
    assert_eq!(whole_log(&target).await, whole_log(&source).await);

    let again = run(&source, &target).await.unwrap();
    assert_eq!((again.already_copied, again.copied), (36, 0), "nothing to do is not an error");
    assert_eq!(again.content_digest, second.content_digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_another_log_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let source = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    append_batches(&source, "s", 2).await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = EmbeddedStore::open_dir(other_dir.path().join("log")).unwrap();
    append_batches(&other, "other", 1).await;
    let (source, other) = (AnyStore::from(source), AnyStore::from(other));
    let before = whole_log(&other).await;

    let refused = run(&source, &other).await.unwrap_err();
    assert_eq!(refused.code(), "migrate.target_diverged", "{refused}");
    assert!(refused.to_string().contains("event 1"), "names where: {refused}");
    assert_eq!(whole_log(&other).await, before, "nothing was written");

    // A target that holds the source's log and more is refused too.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = AnyStore::from(EmbeddedStore::open_dir(copy_dir.path().join("log")).unwrap());
    run(&source, &copy).await.unwrap();
    append_batches(&copy, "extra", 1).await;
    assert_eq!(run(&source, &copy).await.unwrap_err().code(), "migrate.target_diverged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_postgres_source_is_not_copied() {
    let Some(schema) = Schema::fresh() else { return };
    let source = schema.connect().await;
    append_batches(&source, "s", 2).await;
    schema
        .raw_client()
        .await
        .execute("UPDATE events SET payload = 'tampered' WHERE stream_id = 's-1' AND stream_version = 1", &[])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = AnyStore::from(EmbeddedStore::open_dir(dir.path().join("log")).unwrap());
    let refused = run(&AnyStore::from(source), &target).await.unwrap_err();
    assert_eq!(refused.code(), "migrate.source_damaged", "{refused}");
    assert!(refused.to_string().contains("s-1"), "names the stream: {refused}");
    assert_eq!(target.head_position().await.unwrap(), 0, "nothing was copied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_opened_read_only_must_exist_and_is_never_created() {
    let Some(schema) = Schema::fresh() else { return };
    let mut config = schema.config();
    config.create_or_migrate = false;
    let refused = PostgresStore::open(config.clone()).await.err().expect("no store there");
    assert!(refused.to_string().contains("holds no event store"), "{refused}");
    let exists: bool = schema
        .raw_client()
        .await
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&schema.name()])
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "opening read-only created nothing");

    // Once the service has made the store, it opens read-only.
    let made = schema.connect().await;
    append_batches(&made, "s", 1).await;
    let read_only = PostgresStore::open(config).await.expect("an existing store opens");
    assert_eq!(whole_log(&read_only).await.len(), 6);
}

/// A copy into PostgreSQL writes a batch of commits in one transaction (several of one stream among
/// them), and the store's chain check still tells every commit apart, vouches for each and finds an
/// edit; a second copy, PostgreSQL to PostgreSQL, hashes to the same content digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_postgres_batches_commits_per_transaction_and_every_commit_still_verifies() {
    let (Some(first), Some(second)) = (Schema::fresh(), Schema::fresh()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    append_batches(&source, "s", 5).await;
    let (source, copy) = (AnyStore::from(source), AnyStore::from(first.connect().await));
    let report = run(&source, &copy).await.unwrap();
    assert_eq!((report.events, report.commits), (30, 15));

    let log = whole_log(&copy).await;
    let transactions: std::collections::BTreeSet<u64> = log.iter().map(|e| e.position >> 20).collect();
    assert_eq!(transactions.len(), 1, "one transaction for the whole batch");
    let AnyStore::Postgres(pg) = &copy else { unreachable!() };
    let verified = pg.verify().await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!((verified.streams, verified.commits, verified.events), (5, 15, 30));

    let again = AnyStore::from(second.connect().await);
    let onward = run(&copy, &again).await.unwrap();
    assert_eq!(onward.content_digest, report.content_digest);

    first
        .raw_client()
        .await
        .execute("UPDATE events SET payload = 'x' WHERE stream_id = 's-3' AND stream_version = 2", &[])
        .await
        .unwrap();
    let broken = pg.verify().await.unwrap().problem.expect("the edit is found");
    assert_eq!(
        (broken.stream.as_str(), broken.version),
        ("s-3", 1),
        "the commit holding version 2: {broken:?}"
    );
}

/// A position of the source (a process manager's checkpoint) is carried to where the same event landed
/// in the copy, whether the event was copied by this run or found there from an earlier one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_positions_are_translated_to_the_same_events_in_the_copy() {
    let Some(schema) = Schema::fresh() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    append_batches(&source, "s", 3).await;
    let (source, copy) = (AnyStore::from(source), AnyStore::from(schema.connect().await));
    let first =
        infra::migrate::migrate_translating(&source, &copy, &[0, 1, 5, 6], &mut |_| {}).await.unwrap();
    append_batches(&source, "s", 3).await;
    let asked = [5, 17, 18, 36];
    let second = infra::migrate::migrate_translating(&source, &copy, &asked, &mut |_| {}).await.unwrap();

    let (from, to) = (whole_log(&source).await, whole_log(&copy).await);
    for report in [&first, &second] {
        for &(at, there) in &report.translated {
            let a = from.iter().find(|e| e.position == at).unwrap();
            let b = to.iter().find(|e| e.position == there).unwrap();
            assert_eq!(a.event_id, b.event_id, "{at} -> {there}");
        }
    }
    assert_eq!(first.translated.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 5, 6], "0 is no event");
    assert_eq!(second.translated.iter().map(|t| t.0).collect::<Vec<_>>(), asked.to_vec());
}

/// Embedded → KurrentDB → embedded (ADR 0016, 0017): the copy keeps every event's content and
/// recording time and every commit's cut, KurrentDB's own chain check seals it, and the round trip
/// hashes to the same content digest.
#[cfg(feature = "kurrentdb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_kurrentdb_and_back_keeps_the_content_digest() {
    let Some((kurrent, _namespace)) = tests::kurrentdb::fresh_store().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let embedded = AnyStore::from(trading_log(dir.path()).await);
    let kurrent = AnyStore::from(kurrent);

    let there = run(&embedded, &kurrent).await.expect("embedded to KurrentDB");
    assert!(!there.hashes_identical, "KurrentDB chains per stream");
    assert_eq!((there.target_seal.store, there.target_seal.kind), ("kurrentdb", "heads_digest"));
    let log = whole_log(&embedded).await;
    assert_eq!(content(&whole_log(&kurrent).await), content(&log));
    assert_eq!(vouchers(&kurrent).await, vouchers(&embedded).await, "the same books");
    let AnyStore::Kurrent(k) = &kurrent else { unreachable!() };
    let verified = k.verify().await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(verified.heads_digest, there.target_seal.hash);

    let again = run(&embedded, &kurrent).await.expect("a second run compares and copies nothing");
    assert_eq!((again.copied, again.already_copied), (0, there.events));

    let back_dir = tempfile::tempdir().unwrap();
    let back = AnyStore::from(EmbeddedStore::open_dir(back_dir.path().join("log")).unwrap());
    let back_report = run(&kurrent, &back).await.expect("KurrentDB to embedded");
    assert_eq!(back_report.source_seal, there.target_seal, "the source's seal is the copy's");
    assert_eq!(back_report.content_digest, there.content_digest, "one digest for the log wherever it is");
    assert_eq!((back_report.events, back_report.commits), (there.events, there.commits));
    assert_eq!(content(&whole_log(&back).await), content(&log));
}

#[cfg(not(feature = "kurrentdb"))]
#[test]
fn the_kurrentdb_migration_is_skipped_in_a_build_without_the_kurrentdb_feature() {
    eprintln!("SKIPPED: built without the kurrentdb feature; run {}", tests::kurrentdb::HOW_TO_RUN);
}
