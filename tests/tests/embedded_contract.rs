//! The event store contract, run against the embedded store (fsync durability, as in production).

async fn fresh_store() -> (infra::EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = infra::EmbeddedStore::open_dir(dir.path()).expect("open a fresh store");
    (store, dir)
}

tests::store_contract_tests!(fresh_store());

/// What only the embedded store promises beyond the contract: positions are gapless from 1 (the n-th
/// event ever appended has position n, each append starts right after the one before), and the head is
/// the number of events. The PostgreSQL store leaves gaps between appends (ADR 0015).
#[tokio::test]
async fn embedded_positions_are_gapless_from_1_and_the_head_counts_the_events() {
    use infra::{Appended, EventStore, ExpectedVersion, Subscription};
    let (store, _dir) = fresh_store().await;
    let first = store
        .append(&tests::stream("a"), ExpectedVersion::NoStream, tests::events(tests::command(), 1))
        .await;
    assert_eq!(
        first.unwrap().unwrap(),
        Appended { first_position: 1, last_position: 1, next_expected_version: 0 }
    );
    let mut next = 2;
    for (i, count) in [3u32, 1, 50, 2, 7].into_iter().enumerate() {
        let appended = store
            .append(
                &tests::stream(&format!("s-{}", i % 2)),
                ExpectedVersion::Any,
                tests::events(tests::command(), count),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!((appended.first_position, appended.last_position), (next, next + count as u64 - 1));
        next += count as u64;
    }
    let total = next - 1;
    assert_eq!(store.head_position().await.unwrap(), total);
    let all = store.read_all(0, 1000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    let mut subscription = store.subscribe_all(0);
    for expected in 1..=total {
        assert_eq!(subscription.next().await.unwrap().position, expected);
    }
}

/// Pages across many small segments and commits of many sizes: reading page after page from any
/// position visits every event once, in order, with the payload a read of owned events answers.
#[tokio::test]
async fn pages_read_on_from_where_each_ended_visit_the_whole_log_across_segments() {
    use infra::{EventStore, ExpectedVersion, LogPage};
    let dir = tempfile::tempdir().unwrap();
    let mut config = infra::EmbeddedConfig::new(dir.path());
    config.segment_bytes_max = 4 * 1024;
    let store = infra::EmbeddedStore::open(config).unwrap();
    for n in 0..60u32 {
        let mut batch = tests::events(tests::command(), n % 7 + 1);
        for event in &mut batch {
            event.payload = vec![n as u8; (n as usize * 37) % 900];
        }
        store
            .append(&tests::stream(&format!("s-{}", n % 5)), ExpectedVersion::Any, batch)
            .await
            .unwrap()
            .unwrap();
    }
    let head = store.head_position().await.unwrap();
    let owned = store.read_all(1, head as usize).await.unwrap();
    let mut page = LogPage::new();
    for (from, max) in [(1, 1024), (1, 3), (17, 50), (head, 10)] {
        let mut at = from;
        while at <= head {
            store.read_page(at, max, &mut page).await.unwrap();
            assert!(!page.is_empty() && page.len() <= max);
            for (envelope, payload) in page.iter() {
                let event = &owned[(envelope.position - 1) as usize];
                assert_eq!(envelope.position, at, "pages leave no gap and repeat nothing");
                assert_eq!(envelope, event.envelope());
                assert_eq!(payload, &event.payload[..]);
                at += 1;
            }
        }
    }
}
