//! The event store contract: what every adapter of [`infra::EventStore`] must do, as async functions
//! generic over the store. [`store_contract_tests!`](crate::store_contract_tests) turns them into one
//! named test each for a given adapter; the embedded store runs them always, PostgreSQL when
//! `ERP_TEST_POSTGRES_URL` is set and KurrentDB when `ERP_TEST_KURRENTDB_URL` is set (in a build with
//! the `kurrentdb` feature) run the very same cases.
//!
//! Positions are compared, never counted: the contract promises that they strictly increase along the
//! log, that an append's events take contiguous positions from `Appended::first_position` to
//! `last_position`, and that the head is the last event's position. Only the embedded store promises
//! gapless positions from 1 (its own test says so); PostgreSQL and KurrentDB leave gaps between appends
//! (ADRs 0015, 0016).

use infra::{Appended, EventStore, ExpectedVersion, StoreError, Subscription, WrongExpectedVersion};

use crate::{command, events, stream};

/// Generates one `#[tokio::test]` per contract case. `$make` is an async expression giving
/// `(store, guard)`; the guard (a temporary directory, a database schema) lives as long as the test.
/// With `optional`, `$make` gives `Option<(store, guard)>` and `None` skips the case (an adapter whose
/// server is not configured on this machine; `$make` says so on stderr).
#[macro_export]
macro_rules! store_contract_tests {
    (optional $make:expr) => {
        $crate::store_contract_tests!(@each optional $make);
    };
    ($make:expr) => {
        $crate::store_contract_tests!(@each always $make);
    };
    (@each $how:ident $make:expr) => {
        $crate::store_contract_tests!(@cases $how $make;
            a_first_append_with_no_stream_starts_the_stream_at_version_0,
            an_append_at_the_exact_version_succeeds_and_a_stale_one_is_a_conflict,
            no_stream_on_an_existing_stream_is_a_conflict_naming_the_actual_version,
            an_exact_version_on_a_missing_stream_is_a_conflict_with_no_actual_version,
            any_appends_whatever_the_version,
            an_append_of_many_events_is_contiguous_in_the_stream_and_the_log,
            reading_a_stream_pages_from_a_version_in_version_order,
            reading_a_missing_stream_gives_nothing,
            reading_all_pages_the_global_log_in_position_order,
            a_page_read_holds_what_a_read_of_owned_events_answers,
            every_envelope_field_round_trips,
            the_head_position_is_the_position_of_the_last_event,
            a_retried_append_answers_the_original_outcome_and_writes_nothing,
            a_retried_append_after_later_appends_still_answers_the_original_outcome,
            an_event_id_reused_with_other_content_is_refused,
            an_append_with_no_events_is_refused,
            an_append_with_the_same_event_id_twice_is_refused,
            an_append_over_the_event_count_limit_is_refused,
            an_event_over_the_size_limit_is_refused,
            a_subscription_catches_up_then_delivers_live_events_in_order,
            a_subscription_from_a_checkpoint_starts_after_it,
            a_subscription_hands_out_batches_without_gaps_or_repeats_and_never_more_than_asked,
            a_subscription_call_dropped_before_it_completes_consumes_nothing,
            racing_appends_at_the_same_version_let_exactly_one_win,
        );
    };
    (@cases always $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make.await;
                $crate::contract::$case(store).await;
            }
        )*
    };
    (@cases optional $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $make.await else { return };
                $crate::contract::$case(store).await;
            }
        )*
    };
}

async fn append_ok<S: EventStore>(store: &S, name: &str, expected: ExpectedVersion, count: u32) -> Appended {
    store
        .append(&stream(name), expected, events(command(), count))
        .await
        .expect("no failure")
        .expect("no conflict")
}

pub async fn a_first_append_with_no_stream_starts_the_stream_at_version_0<S: EventStore>(store: S) {
    let appended = append_ok(&store, "order-1", ExpectedVersion::NoStream, 1).await;
    assert_eq!(appended.next_expected_version, 0);
    assert_eq!(appended.first_position, appended.last_position, "one event, one position");
    assert!(appended.first_position >= 1, "positions start at 1; 0 means 'before everything'");
    let read = store.read_stream(&stream("order-1"), 0, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!((read[0].stream_version, read[0].position), (0, appended.first_position));
}

pub async fn an_append_at_the_exact_version_succeeds_and_a_stale_one_is_a_conflict<S: EventStore>(store: S) {
    append_ok(&store, "order-1", ExpectedVersion::NoStream, 2).await;
    let appended = append_ok(&store, "order-1", ExpectedVersion::Exact(1), 1).await;
    assert_eq!(appended.next_expected_version, 2);
    let conflict = store
        .append(&stream("order-1"), ExpectedVersion::Exact(1), events(command(), 1))
        .await
        .expect("a conflict is not a failure")
        .expect_err("a stale version must not append");
    assert_eq!(
        conflict,
        WrongExpectedVersion {
            stream: stream("order-1"),
            expected: ExpectedVersion::Exact(1),
            actual: Some(2)
        }
    );
    assert_eq!(store.read_stream(&stream("order-1"), 0, 100).await.unwrap().len(), 3);
}

pub async fn no_stream_on_an_existing_stream_is_a_conflict_naming_the_actual_version<S: EventStore>(
    store: S,
) {
    append_ok(&store, "order-1", ExpectedVersion::NoStream, 3).await;
    let conflict = store
        .append(&stream("order-1"), ExpectedVersion::NoStream, events(command(), 1))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(conflict.actual, Some(2));
    assert_eq!(conflict.expected, ExpectedVersion::NoStream);
}

pub async fn an_exact_version_on_a_missing_stream_is_a_conflict_with_no_actual_version<S: EventStore>(
    store: S,
) {
    let conflict = store
        .append(&stream("order-9"), ExpectedVersion::Exact(0), events(command(), 1))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(conflict.actual, None);
    assert_eq!(store.head_position().await.unwrap(), 0);
}

pub async fn any_appends_whatever_the_version<S: EventStore>(store: S) {
    let first = append_ok(&store, "log-1", ExpectedVersion::Any, 1).await;
    let second = append_ok(&store, "log-1", ExpectedVersion::Any, 2).await;
    assert_eq!(first.next_expected_version, 0);
    assert_eq!(second.next_expected_version, 2);
    assert!(second.first_position > first.last_position, "a later append has later positions");
    assert_eq!(second.last_position, second.first_position + 1, "contiguous within an append");
}

pub async fn an_append_of_many_events_is_contiguous_in_the_stream_and_the_log<S: EventStore>(store: S) {
    let before = append_ok(&store, "a", ExpectedVersion::NoStream, 1).await;
    let appended = append_ok(&store, "b", ExpectedVersion::NoStream, 50).await;
    assert_eq!(appended.next_expected_version, 49);
    assert!(appended.first_position > before.last_position);
    assert_eq!(appended.last_position - appended.first_position + 1, 50, "contiguous in the log");
    let read = store.read_stream(&stream("b"), 0, 1000).await.unwrap();
    let versions: Vec<u64> = read.iter().map(|e| e.stream_version).collect();
    let positions: Vec<u64> = read.iter().map(|e| e.position).collect();
    assert_eq!(versions, (0..50).collect::<Vec<_>>());
    assert_eq!(positions, (appended.first_position..=appended.last_position).collect::<Vec<_>>());
    let all = store.read_all(appended.first_position, 1000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), positions, "the same in the log");
}

pub async fn reading_a_stream_pages_from_a_version_in_version_order<S: EventStore>(store: S) {
    for i in 0..5u64 {
        let expected = if i == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(i * 2 - 1) };
        append_ok(&store, "s", expected, 2).await;
        append_ok(&store, "other", ExpectedVersion::Any, 1).await;
    }
    let page = store.read_stream(&stream("s"), 3, 4).await.unwrap();
    assert_eq!(page.iter().map(|e| e.stream_version).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
    assert!(page.iter().all(|e| e.stream_id == stream("s")));
    assert!(page.windows(2).all(|w| w[0].position < w[1].position));
    let tail = store.read_stream(&stream("s"), 9, 100).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert!(store.read_stream(&stream("s"), 10, 100).await.unwrap().is_empty());
}

pub async fn reading_a_missing_stream_gives_nothing<S: EventStore>(store: S) {
    append_ok(&store, "present", ExpectedVersion::NoStream, 1).await;
    assert!(store.read_stream(&stream("absent"), 0, 10).await.unwrap().is_empty());
}

pub async fn reading_all_pages_the_global_log_in_position_order<S: EventStore>(store: S) {
    let mut written = Vec::new();
    for i in 0..10 {
        let appended = append_ok(&store, &format!("s-{}", i % 3), ExpectedVersion::Any, 3).await;
        written.extend(appended.first_position..=appended.last_position);
    }
    assert!(written.windows(2).all(|w| w[0] < w[1]), "appends one after another take later positions");
    let mut seen = Vec::new();
    let mut from = 1;
    loop {
        let page = store.read_all(from, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        from = page.last().unwrap().position + 1;
        seen.extend(page.into_iter().map(|e| e.position));
    }
    assert_eq!(seen, written, "every event once, in position order");
    let last = *written.last().unwrap();
    assert!(store.read_all(last + 1, 10).await.unwrap().is_empty());
    assert_eq!(
        store.read_all(0, 1).await.unwrap()[0].position,
        written[0],
        "position 0 reads from the start"
    );
    let middle = written[14];
    let page = store.read_all(middle, 3).await.unwrap();
    assert_eq!(page.iter().map(|e| e.position).collect::<Vec<_>>(), written[14..17], "from a position");
}

pub async fn every_envelope_field_round_trips<S: EventStore>(store: S) {
    let cmd = command();
    let mut sent = events(cmd, 2);
    sent[1].metadata.actor = "王会计".into();
    sent[1].metadata.occurred_at = domain::Timestamp(-5);
    sent[1].event_type = infra::EventType::new("sales.OrderPlaced", 3).unwrap();
    sent[1].payload = vec![0, 255, 1, 254];
    let appended =
        store.append(&stream("order-7"), ExpectedVersion::NoStream, sent.clone()).await.unwrap().unwrap();
    let read = store.read_stream(&stream("order-7"), 0, 10).await.unwrap();
    let all = store.read_all(1, 10).await.unwrap();
    assert_eq!(read, all, "both read paths give the same envelopes");
    for (i, (sent, got)) in sent.iter().zip(&read).enumerate() {
        assert_eq!(got.event_id, sent.event_id);
        assert_eq!(got.event_type, sent.event_type);
        assert_eq!(got.metadata, sent.metadata);
        assert_eq!(got.payload, sent.payload);
        assert_eq!(got.stream_id, stream("order-7"));
        assert_eq!(got.stream_version, i as u64);
        assert_eq!(got.position, appended.first_position + i as u64);
        assert!(got.recorded_at.unix_micros() > 1_600_000_000_000_000, "recorded_at is the store's clock");
    }
}

pub async fn the_head_position_is_the_position_of_the_last_event<S: EventStore>(store: S) {
    assert_eq!(store.head_position().await.unwrap(), 0);
    let first = append_ok(&store, "a", ExpectedVersion::Any, 4).await;
    assert_eq!(store.head_position().await.unwrap(), first.last_position);
    let second = append_ok(&store, "b", ExpectedVersion::Any, 1).await;
    assert_eq!(store.head_position().await.unwrap(), second.last_position);
}

pub async fn a_retried_append_answers_the_original_outcome_and_writes_nothing<S: EventStore>(store: S) {
    append_ok(&store, "order-1", ExpectedVersion::NoStream, 1).await;
    let cmd = command();
    let first =
        store.append(&stream("order-1"), ExpectedVersion::Exact(0), events(cmd, 3)).await.unwrap().unwrap();
    let retry =
        store.append(&stream("order-1"), ExpectedVersion::Exact(0), events(cmd, 3)).await.unwrap().unwrap();
    assert_eq!(retry, first);
    assert_eq!(store.head_position().await.unwrap(), first.last_position, "the retry wrote nothing");
    assert_eq!(store.read_stream(&stream("order-1"), 0, 100).await.unwrap().len(), 4);
    // The same holds for a retried first append with NoStream.
    let cmd = command();
    let first =
        store.append(&stream("new"), ExpectedVersion::NoStream, events(cmd, 2)).await.unwrap().unwrap();
    let retry =
        store.append(&stream("new"), ExpectedVersion::NoStream, events(cmd, 2)).await.unwrap().unwrap();
    assert_eq!(retry, first);
    assert_eq!(store.head_position().await.unwrap(), first.last_position, "the retry wrote nothing");
    assert_eq!(store.read_stream(&stream("new"), 0, 100).await.unwrap().len(), 2);
}

pub async fn a_retried_append_after_later_appends_still_answers_the_original_outcome<S: EventStore>(
    store: S,
) {
    let cmd = command();
    let first = store.append(&stream("s"), ExpectedVersion::NoStream, events(cmd, 2)).await.unwrap().unwrap();
    let later = append_ok(&store, "s", ExpectedVersion::Exact(1), 5).await;
    let retry = store.append(&stream("s"), ExpectedVersion::NoStream, events(cmd, 2)).await.unwrap().unwrap();
    assert_eq!(retry, first);
    assert_eq!(store.head_position().await.unwrap(), later.last_position, "the retry wrote nothing");
    assert_eq!(store.read_stream(&stream("s"), 0, 100).await.unwrap().len(), 7);
}

pub async fn an_event_id_reused_with_other_content_is_refused<S: EventStore>(store: S) {
    let cmd = command();
    let first = store.append(&stream("s"), ExpectedVersion::NoStream, events(cmd, 1)).await.unwrap().unwrap();
    let mut changed = events(cmd, 1);
    changed[0].payload = b"something else".to_vec();
    let err = store.append(&stream("s"), ExpectedVersion::NoStream, changed).await.unwrap_err();
    assert_eq!(err.code(), "store.event_id_reused", "{err}");
    assert_eq!(store.head_position().await.unwrap(), first.last_position);
    assert_eq!(store.read_stream(&stream("s"), 0, 10).await.unwrap().len(), 1);
}

fn assert_refused(result: Result<Result<Appended, WrongExpectedVersion>, StoreError>, code: &str) {
    match result {
        Err(err) => {
            assert_eq!(err.code(), code, "{err}");
            assert!(err.is_rejection());
            assert!(!err.to_string().is_empty());
        }
        Ok(other) => panic!("expected {code}, got {other:?}"),
    }
}

pub async fn an_append_with_no_events_is_refused<S: EventStore>(store: S) {
    assert_refused(store.append(&stream("s"), ExpectedVersion::Any, vec![]).await, "store.empty_append");
    assert_eq!(store.head_position().await.unwrap(), 0);
}

pub async fn an_append_with_the_same_event_id_twice_is_refused<S: EventStore>(store: S) {
    let mut twice = events(command(), 2);
    twice[1].event_id = twice[0].event_id;
    assert_refused(store.append(&stream("s"), ExpectedVersion::Any, twice).await, "store.duplicate_event_id");
    assert_eq!(store.head_position().await.unwrap(), 0);
}

pub async fn an_append_over_the_event_count_limit_is_refused<S: EventStore>(store: S) {
    let too_many = events(command(), infra::limits::EVENTS_PER_APPEND_MAX as u32 + 1);
    assert_refused(store.append(&stream("s"), ExpectedVersion::Any, too_many).await, "store.too_many_events");
    assert_eq!(store.head_position().await.unwrap(), 0);
}

pub async fn an_event_over_the_size_limit_is_refused<S: EventStore>(store: S) {
    let mut big = events(command(), 2);
    big[1].payload = vec![7; infra::limits::EVENT_PAYLOAD_BYTES_MAX + 1];
    assert_refused(store.append(&stream("s"), ExpectedVersion::Any, big).await, "store.event_too_large");
    assert_eq!(store.head_position().await.unwrap(), 0);
}

pub async fn a_subscription_catches_up_then_delivers_live_events_in_order<S: EventStore>(store: S) {
    let mut written = Vec::new();
    for i in 0..20 {
        let appended = append_ok(&store, &format!("s-{}", i % 4), ExpectedVersion::Any, 2).await;
        written.extend(appended.first_position..=appended.last_position);
    }
    let mut subscription = store.subscribe_all(0);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut written = Vec::new();
            for i in 0..30 {
                let appended =
                    append_ok(&store, &format!("live-{}", i % 5), ExpectedVersion::Any, 1 + i % 3).await;
                written.extend(appended.first_position..=appended.last_position);
            }
            written
        })
    };
    let total = 40 + (0..30).map(|i| 1 + i % 3).sum::<u32>() as usize;
    let mut delivered = Vec::new();
    while delivered.len() < total {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), subscription.next())
            .await
            .expect("the subscription delivers live events")
            .expect("no failure");
        delivered.push(event.position);
    }
    written.extend(writer.await.unwrap());
    assert_eq!(delivered, written, "every event once, in order: no gap and no duplicate");
    let nothing_more = tokio::time::timeout(std::time::Duration::from_millis(100), subscription.next()).await;
    assert!(nothing_more.is_err(), "no event beyond the head");
}

pub async fn a_subscription_from_a_checkpoint_starts_after_it<S: EventStore>(store: S) {
    let appended = append_ok(&store, "s", ExpectedVersion::Any, 10).await;
    let p = appended.first_position;
    let mut subscription = store.subscribe_all(p + 6);
    assert_eq!(subscription.next().await.unwrap().position, p + 7);
    assert_eq!(subscription.next().await.unwrap().position, p + 8);
    assert_eq!(subscription.next().await.unwrap().position, p + 9);
}

pub async fn a_subscription_hands_out_batches_without_gaps_or_repeats_and_never_more_than_asked<
    S: EventStore,
>(
    store: S,
) {
    let mut written = Vec::new();
    for i in 0..25 {
        let appended = append_ok(&store, &format!("s-{}", i % 3), ExpectedVersion::Any, 1 + i % 4).await;
        written.extend(appended.first_position..=appended.last_position);
    }
    // From the third event's position: the subscription starts with the fourth.
    let mut subscription = store.subscribe_all(written[2]);
    let mut next = 3;
    for max in [0usize, 1, 2, 7, 1000].into_iter().cycle() {
        if next == written.len() {
            break;
        }
        let batch = subscription.next_batch(max).await.expect("no failure");
        assert!(!batch.is_empty() && batch.len() <= max.max(1), "{} events for max {max}", batch.len());
        for event in batch {
            assert_eq!(event.position, written[next], "no gap and no repeat");
            next += 1;
        }
    }
    // Batches and single events mix on one subscription.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { append_ok(&store, "live", ExpectedVersion::Any, 5).await })
    };
    let first = subscription.next().await.unwrap();
    let rest = subscription.next_batch(100).await.unwrap();
    let live = writer.await.unwrap();
    assert_eq!(first.position, live.first_position);
    assert_eq!(rest.first().unwrap().position, live.first_position + 1);
    let nothing_more = tokio::time::timeout(std::time::Duration::from_millis(100), async {
        let mut seen = rest.len() as u64;
        while seen < 4 {
            seen += subscription.next_batch(100).await.unwrap().len() as u64;
        }
        subscription.next_batch(100).await
    })
    .await;
    assert!(nothing_more.is_err(), "no event beyond the head");
}

pub async fn a_subscription_call_dropped_before_it_completes_consumes_nothing<S: EventStore>(store: S) {
    let mut written = Vec::new();
    for i in 0..20 {
        let appended = append_ok(&store, &format!("s-{}", i % 3), ExpectedVersion::Any, 1 + i % 3).await;
        written.extend(appended.first_position..=appended.last_position);
    }
    let mut subscription = store.subscribe_all(0);
    let mut delivered = Vec::new();
    for round in 0.. {
        if delivered.len() >= written.len() {
            break;
        }
        assert!(round < 100_000, "the subscription stopped delivering");
        // Every other call is polled once and dropped if it is not done by then (a `select!` that took
        // another branch): whatever it had fetched must still come out of the next call.
        let batch = if round % 2 == 0 {
            match tokio::time::timeout(std::time::Duration::ZERO, subscription.next_batch(3)).await {
                Ok(batch) => batch.expect("no failure"),
                Err(_) => continue,
            }
        } else if round % 4 == 1 {
            vec![subscription.next().await.expect("no failure")]
        } else {
            subscription.next_batch(3).await.expect("no failure")
        };
        delivered.extend(batch.into_iter().map(|e| e.position));
    }
    assert_eq!(delivered, written, "every event once, in order");
}

pub async fn racing_appends_at_the_same_version_let_exactly_one_win<S: EventStore>(store: S) {
    append_ok(&store, "stock-sku1-wh1", ExpectedVersion::NoStream, 1).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.append(&stream("stock-sku1-wh1"), ExpectedVersion::Exact(0), events(command(), 1)).await
        }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap().expect("no failure") {
            Ok(_) => won += 1,
            Err(conflict) => {
                assert_eq!(conflict.actual, Some(1));
                conflicts += 1;
            }
        }
    }
    assert_eq!((won, conflicts), (1, 19));
    assert_eq!(store.read_stream(&stream("stock-sku1-wh1"), 0, 100).await.unwrap().len(), 2);
}

/// [`EventStore::read_page`] (a store's own, or the default built on `read_all`) holds exactly the
/// envelopes and payloads `read_all` answers, whatever the page held before; a page may end early, so
/// the case reads on from where each page ended and compares the whole run.
pub async fn a_page_read_holds_what_a_read_of_owned_events_answers<S: EventStore>(store: S) {
    for (n, name) in ["order-1", "stock-item-2", "order-1", "customer-account-3", "x"].iter().enumerate() {
        let mut batch = events(command(), n as u32 + 1);
        for (i, event) in batch.iter_mut().enumerate() {
            event.metadata.actor = format!("clerk-{}", "李".repeat(n + i));
            event.payload = vec![n as u8; 10 * (n + i)];
            if i % 2 == 1 {
                event.event_type = infra::EventType::new("test.Other", 2).expect("a valid type");
            }
        }
        store
            .append(&stream(name), ExpectedVersion::Any, batch)
            .await
            .expect("no failure")
            .expect("no conflict");
    }
    let all = store.read_all(0, 100).await.expect("read");
    assert_eq!(all.len(), 15);
    let at = |i: usize| all[i].position;
    let mut page = infra::LogPage::new();
    for (from, max) in
        [(at(0), 15), (at(2), 4), (at(8), 100), (at(0), 1), (at(13), 2), (at(14) + 1, 5), (at(1), 0), (0, 3)]
    {
        let owned = store.read_all(from, max).await.expect("read");
        let mut seen = 0;
        let mut next = from;
        while seen < owned.len() {
            store.read_page(next, max - seen, &mut page).await.expect("read a page");
            assert!(!page.is_empty(), "a page with events at or after {next} is never empty");
            for ((envelope, payload), event) in page.iter().zip(&owned[seen..]) {
                assert_eq!(envelope, event.envelope(), "from {from}, at most {max}");
                assert_eq!(payload, &event.payload[..]);
            }
            seen += page.len();
            next = page.last_position().expect("not empty") + 1;
        }
        assert_eq!(seen, owned.len(), "from {from}, at most {max}");
        if owned.is_empty() {
            store.read_page(from, max, &mut page).await.expect("read a page");
            assert!(page.is_empty());
        }
    }
}
