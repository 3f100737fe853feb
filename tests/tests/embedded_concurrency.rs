//! Concurrent writers against the embedded store: every conflict reported, nothing lost or duplicated,
//! and a live subscriber sees every event exactly once, in order.

use std::collections::{HashMap, HashSet};

use infra::{EmbeddedStore, EventStore, ExpectedVersion, Subscription};
use tests::{command, events, stream};

const WRITERS: usize = 64;
const STREAMS: usize = 10;
const APPENDS_PER_WRITER: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_writers_on_ten_streams_lose_nothing_and_a_live_subscriber_sees_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let total = (WRITERS * APPENDS_PER_WRITER) as u64;

    let mut subscription = store.subscribe_all(0);
    let subscriber = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(total as usize);
        while (seen.len() as u64) < total {
            let event = subscription.next().await.expect("subscription");
            seen.push(event);
        }
        seen
    });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut known: HashMap<usize, Option<u64>> = HashMap::new();
            let mut written = Vec::new();
            let mut conflicts = 0u64;
            let mut attempt = 0usize;
            while written.len() < APPENDS_PER_WRITER {
                attempt += 1;
                let s = (w * 7 + attempt) % STREAMS;
                let name = format!("stock-{s}");
                let version = *known.entry(s).or_insert(None);
                let expected = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                let batch = events(command(), 1);
                let id = batch[0].event_id;
                match store.append(&stream(&name), expected, batch).await.expect("no failure") {
                    Ok(appended) => {
                        assert_eq!(appended.next_expected_version, version.map_or(0, |v| v + 1));
                        known.insert(s, Some(appended.next_expected_version));
                        written.push((name, appended.next_expected_version, id, appended.last_position));
                    }
                    Err(conflict) => {
                        assert_ne!(
                            conflict.actual, version,
                            "a conflict names a version other than the expected"
                        );
                        conflicts += 1;
                        known.insert(s, conflict.actual);
                    }
                }
            }
            (written, conflicts)
        }));
    }
    let mut acknowledged = Vec::new();
    let mut conflicts = 0;
    for writer in writers {
        let (written, c) = writer.await.unwrap();
        acknowledged.extend(written);
        conflicts += c;
    }
    assert!(conflicts > 0, "64 writers on 10 streams must collide at least once");
    assert_eq!(acknowledged.len() as u64, total);

    // Every stream holds versions 0..n without a gap, and exactly the acknowledged events.
    let mut by_stream: HashMap<String, Vec<(u64, domain::EventId)>> = HashMap::new();
    for (name, version, id, _) in &acknowledged {
        by_stream.entry(name.clone()).or_default().push((*version, *id));
    }
    for (name, mut acked) in by_stream {
        acked.sort();
        let stored = store.read_stream(&stream(&name), 0, 65_536).await.unwrap();
        let stored: Vec<(u64, domain::EventId)> =
            stored.iter().map(|e| (e.stream_version, e.event_id)).collect();
        assert_eq!(stored, acked, "stream {name}");
    }
    assert_eq!(store.head_position().await.unwrap(), total);

    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), subscriber).await.unwrap().unwrap();
    let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>(), "in order, no gap, no duplicate");
    let ids: HashSet<_> = seen.iter().map(|e| e.event_id).collect();
    let acked_ids: HashSet<_> = acknowledged.iter().map(|(_, _, id, _)| *id).collect();
    assert_eq!(ids, acked_ids);
}
