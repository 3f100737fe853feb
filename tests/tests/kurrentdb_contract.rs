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
