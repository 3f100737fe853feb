//! The event store contract, run against the embedded store (fsync durability, as in production).

async fn fresh_store() -> (infra::EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = infra::EmbeddedStore::open_dir(dir.path()).expect("open a fresh store");
    (store, dir)
}

tests::store_contract_tests!(fresh_store());

/// A batch reader hands the same vector back page after page (`read_all_into_blocking`); what it then
/// holds must be exactly what a fresh read answers, whatever the vector held before: more events or
/// fewer, other streams, types, actors and payloads.
#[tokio::test]
async fn a_read_into_a_used_vector_answers_exactly_what_a_fresh_read_does() {
    use infra::{EventStore, ExpectedVersion, NewEvent};
    let (store, _dir) = fresh_store().await;
    for (n, stream) in ["order-1", "stock-item-2", "order-1", "customer-account-3", "x"].iter().enumerate() {
        let mut batch: Vec<NewEvent> = tests::events(tests::command(), n as u32 + 1);
        for (i, event) in batch.iter_mut().enumerate() {
            event.metadata.actor = format!("clerk-{}", "李".repeat(n + i));
            event.payload = vec![n as u8; 10 * (n + i)];
            if i % 2 == 1 {
                event.event_type = infra::EventType::new("test.Other", 2).unwrap();
            }
        }
        store.append(&tests::stream(stream), ExpectedVersion::Any, batch).await.unwrap().unwrap();
    }
    let head = store.head_position_now();
    assert_eq!(head, 15);
    let mut used = Vec::new();
    for (from, max) in [(1, 15), (3, 4), (9, 100), (1, 1), (14, 2), (16, 5), (2, 0), (1, 15), (5, 7)] {
        store.read_all_into_blocking(from, max, &mut used).unwrap();
        let fresh = store.read_all(from, max).await.unwrap();
        assert_eq!(used, fresh, "from {from}, at most {max}");
    }
}
