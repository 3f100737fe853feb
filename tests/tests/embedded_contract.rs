//! The event store contract, run against the embedded store (fsync durability, as in production).

async fn fresh_store() -> (infra::EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = infra::EmbeddedStore::open_dir(dir.path()).expect("open a fresh store");
    (store, dir)
}

tests::store_contract_tests!(fresh_store());
