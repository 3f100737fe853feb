//! The event store contract, run against the KurrentDB store: a fresh namespace per test on the server
//! named by `ERP_TEST_KURRENTDB_URL` (tests/src/kurrentdb.rs). Skipped, saying so, when the variable is
//! not set, and in a build without the `kurrentdb` feature (`cargo nextest run -p tests --features
//! kurrentdb kurrentdb` runs it).

#[cfg(feature = "kurrentdb")]
tests::store_contract_tests!(optional tests::kurrentdb::fresh_store());

#[cfg(not(feature = "kurrentdb"))]
#[test]
fn the_kurrentdb_contract_is_skipped_in_a_build_without_the_kurrentdb_feature() {
    eprintln!("SKIPPED: built without the kurrentdb feature; run {}", tests::kurrentdb::HOW_TO_RUN);
}

/// The chain check (`erp audit verify --store kurrentdb://...`, ADR 0016) over a fresh namespace: an
/// empty log verifies to the digest of no streams; after appends of one and several events to a few
/// streams, every chain verifies, the counts are the log's, and a second walk gives the same seal.
#[cfg(feature = "kurrentdb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_check_verifies_a_fresh_store_and_every_stream_appended_to() {
    use infra::{EventStore, ExpectedVersion};
    let Some((store, _namespace)) = tests::kurrentdb::fresh_store().await else { return };
    let empty = store.verify().await.expect("the walk reads the log");
    assert!(empty.is_ok(), "{empty:?}");
    assert_eq!((empty.streams, empty.commits, empty.events), (0, 0, 0));

    for size in 1..=3u32 {
        for n in 0..3 {
            store
                .append(
                    &tests::stream(&format!("verify-{n}")),
                    ExpectedVersion::Any,
                    tests::events(tests::command(), size),
                )
                .await
                .expect("no failure")
                .expect("no conflict");
        }
    }
    let report = store.verify().await.expect("the walk reads the log");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.streams, report.commits, report.events), (3, 9, 18));
    assert_ne!(report.heads_digest, empty.heads_digest);
    assert_eq!(store.verify().await.unwrap(), report, "the same log, the same seal");
}
