//! What the PostgreSQL store promises beyond the contract (ADR 0015): readers never pass a transaction
//! that is still open, a stream's order is the log's order, several nodes over one schema agree, a
//! restart keeps everything, and the hash chain exposes an edit. Each test makes its own schema in the
//! database named by `ERP_TEST_POSTGRES_URL` and is skipped, saying so, without it.

use std::collections::BTreeMap;
use std::time::Duration;

use infra::{Appended, EventStore, ExpectedVersion, PostgresStore, RecordedEvent, StreamId, Subscription};
use tests::postgres::Schema;
use tests::{command, events, stream};

/// Appends `count` events of a new command, expecting success.
async fn append(store: &PostgresStore, name: &str, expected: ExpectedVersion, count: u32) -> Appended {
    store
        .append(&stream(name), expected, events(command(), count))
        .await
        .expect("no failure")
        .expect("no conflict")
}

fn positions(appended: &Appended) -> impl Iterator<Item = u64> {
    appended.first_position..=appended.last_position
}

/// Everything a subscription hands out within `quiet` of the last event (or until `until` events).
async fn drain<S: Subscription>(subscription: &mut S, until: usize, quiet: Duration) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    while out.len() < until {
        match tokio::time::timeout(quiet, subscription.next_batch(100)).await {
            Ok(batch) => out.extend(batch.expect("no failure")),
            Err(_) => break,
        }
    }
    out
}

/// Waits until `store`'s readers see `position`: events committed by another node (or before a restart)
/// become visible once every older transaction of the server has finished, which another test running
/// beside this one may delay a little.
async fn wait_until_visible(store: &PostgresStore, position: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.head_position().await.unwrap() < position {
        assert!(tokio::time::Instant::now() < deadline, "position {position} never became visible");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The whole log, paged.
async fn read_everything(store: &PostgresStore) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut from = 0;
    loop {
        let page = store.read_all(from, 500).await.unwrap();
        let Some(last) = page.last() else { return all };
        from = last.position + 1;
        all.extend(page);
    }
}

/// The test. Node A holds an append's transaction open (it has its positions, it is not
/// committed) while node B's later appends commit: no subscriber (one started before, one after) and no
/// read passes the open one's position, so the later, committed events are withheld too. Once it
/// commits, every subscriber gets every event exactly once, in position order, the held one before the
/// later ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reader_passes_an_open_append_and_after_its_commit_every_subscriber_gets_every_event_once_in_order()
 {
    let Some(schema) = Schema::fresh() else { return };
    let node_a = schema.connect().await;
    let node_b = schema.connect().await;
    let mut expected: Vec<u64> = Vec::new();
    for i in 0..3 {
        expected
            .extend(positions(&append(&node_b, &format!("before-{i}"), ExpectedVersion::NoStream, 2).await));
    }
    let mut started_before = node_a.subscribe_all(0);
    let caught_up = drain(&mut started_before, expected.len(), Duration::from_secs(10)).await;
    assert_eq!(caught_up.iter().map(|e| e.position).collect::<Vec<_>>(), expected);

    let held = node_a
        .append_held(&stream("held"), ExpectedVersion::NoStream, events(command(), 2))
        .await
        .expect("no failure")
        .expect("no conflict");
    let held_at = held.appended();
    let mut later: Vec<u64> = Vec::new();
    for i in 0..4 {
        let appended = append(&node_b, &format!("later-{}", i % 2), ExpectedVersion::Any, 1 + i).await;
        assert!(appended.first_position > held_at.last_position, "a later append takes later positions");
        later.extend(positions(&appended));
    }
    // They are committed: their streams read them (a stream is read without the horizon).
    assert_eq!(node_a.read_stream(&stream("later-1"), 0, 10).await.unwrap().len(), 2 + 4);
    let mut started_after = node_b.subscribe_all(0);

    let quiet = Duration::from_millis(300);
    assert!(
        drain(&mut started_before, usize::MAX, quiet).await.is_empty(),
        "withheld from the early subscriber"
    );
    let seen_after = drain(&mut started_after, usize::MAX, quiet).await;
    assert_eq!(seen_after.iter().map(|e| e.position).collect::<Vec<_>>(), expected, "only what is before it");
    let read = node_a.read_all(0, 1000).await.unwrap();
    assert_eq!(read.iter().map(|e| e.position).collect::<Vec<_>>(), expected, "read_all stops before it too");
    assert!(node_a.head_position().await.unwrap() < held_at.first_position, "so does the head");
    assert!(node_a.read_all(held_at.first_position, 10).await.unwrap().is_empty());

    assert_eq!(held.commit().await.unwrap(), held_at);
    expected.extend(positions(&held_at));
    expected.extend(&later);
    let rest_before =
        drain(&mut started_before, expected.len() - caught_up.len(), Duration::from_secs(10)).await;
    let rest_after =
        drain(&mut started_after, expected.len() - seen_after.len(), Duration::from_secs(10)).await;
    let before: Vec<u64> = caught_up.iter().chain(&rest_before).map(|e| e.position).collect();
    let after: Vec<u64> = seen_after.iter().chain(&rest_after).map(|e| e.position).collect();
    assert_eq!(before, expected, "the early subscriber: every event once, in order, the held one first");
    assert_eq!(after, expected, "the late subscriber: the same");
    assert!(
        drain(&mut started_before, usize::MAX, Duration::from_millis(200)).await.is_empty(),
        "nothing twice"
    );
    assert!(
        drain(&mut started_after, usize::MAX, Duration::from_millis(200)).await.is_empty(),
        "nothing twice"
    );
    let all: Vec<u64> = read_everything(&node_a).await.iter().map(|e| e.position).collect();
    assert_eq!(all, expected);
}

/// Many tasks append to one stream at once, with `Any` and with `Exact` retried on conflict: the log,
/// filtered to the stream, holds its versions 0, 1, 2 ... in order, so a reader of the log meets a
/// stream's events in the order the stream has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streams_order_is_the_logs_order_under_concurrent_appends() {
    let Some(schema) = Schema::fresh() else { return };
    let store = schema.connect().await;
    let hot = stream("stock-hot");
    let mut tasks = Vec::new();
    for task in 0..12u32 {
        let store = store.clone();
        let hot = hot.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..8 {
                if task % 2 == 0 {
                    store
                        .append(&hot, ExpectedVersion::Any, events(command(), 1 + task % 3))
                        .await
                        .unwrap()
                        .unwrap();
                    continue;
                }
                let batch = events(command(), 1 + task % 3);
                let mut expected = match store.read_stream(&hot, 0, 10_000).await.unwrap().last() {
                    Some(last) => ExpectedVersion::Exact(last.stream_version),
                    None => ExpectedVersion::NoStream,
                };
                loop {
                    match store.append(&hot, expected, batch.clone()).await.unwrap() {
                        Ok(_) => break,
                        Err(conflict) => {
                            conflicts += 1;
                            expected =
                                conflict.actual.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                        }
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let total: u64 = (0..12u64).map(|task| 8 * (1 + task % 3)).sum();
    let in_log: Vec<RecordedEvent> =
        read_everything(&store).await.into_iter().filter(|e| e.stream_id == hot).collect();
    assert_eq!(in_log.iter().map(|e| e.stream_version).collect::<Vec<_>>(), (0..total).collect::<Vec<_>>());
    assert!(in_log.windows(2).all(|w| w[0].position < w[1].position));
    let in_stream = store.read_stream(&hot, 0, 10_000).await.unwrap();
    assert_eq!(in_stream, in_log, "the stream and the log agree on every envelope");
    let report = store.verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    eprintln!("{total} events, {conflicts} conflicts retried");
}

/// Two nodes (separate stores and pools) append to the same streams at once with expected versions:
/// each version is won by exactly one append, and subscribers on both nodes see the same log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_appending_to_the_same_streams_let_one_win_each_version_and_see_one_log() {
    let Some(schema) = Schema::fresh() else { return };
    let nodes = [schema.connect().await, schema.connect().await];
    let mut subscriptions = [nodes[0].subscribe_all(0), nodes[1].subscribe_all(0)];
    let streams: Vec<StreamId> = (0..3).map(|i| stream(&format!("account-{i}"))).collect();
    let mut tasks = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for t in 0..4 {
            let node = node.clone();
            let streams = streams.clone();
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for round in 0..10 {
                    let target = &streams[(n + t + round) % streams.len()];
                    let version =
                        node.read_stream(target, 0, 10_000).await.unwrap().last().map(|e| e.stream_version);
                    let expected = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                    let count = 1 + (round as u32 % 2);
                    if let Ok(appended) =
                        node.append(target, expected, events(command(), count)).await.unwrap()
                    {
                        won.push((target.clone(), appended));
                    }
                }
                won
            }));
        }
    }
    let mut versions_won: BTreeMap<StreamId, Vec<u64>> = BTreeMap::new();
    let mut total = 0;
    let mut last = 0;
    for task in tasks {
        for (target, appended) in task.await.unwrap() {
            last = last.max(appended.last_position);
            let count = appended.last_position - appended.first_position + 1;
            let first_version = appended.next_expected_version + 1 - count;
            versions_won.entry(target).or_default().extend(first_version..=appended.next_expected_version);
            total += count as usize;
        }
    }
    for (target, mut versions) in versions_won {
        versions.sort_unstable();
        let stored = nodes[0].read_stream(&target, 0, 10_000).await.unwrap().len() as u64;
        assert_eq!(versions, (0..stored).collect::<Vec<_>>(), "{target}: every version won exactly once");
    }
    let [on_a, on_b] = &mut subscriptions;
    let seen_on_a = drain(on_a, total, Duration::from_secs(10)).await;
    let seen_on_b = drain(on_b, total, Duration::from_secs(10)).await;
    assert_eq!(seen_on_a.len(), total, "every event won, once");
    assert_eq!(seen_on_a.last().unwrap().position, last);
    assert_eq!(seen_on_a, seen_on_b, "each node's subscriber sees the one log");
    assert_eq!(read_everything(&nodes[0]).await, seen_on_a);
    assert_eq!(read_everything(&nodes[1]).await, seen_on_a);
}

/// A store dropped and connected again to its schema finds its events, runs no migration again, and
/// appends on from where the streams were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_connected_again_keeps_its_log_runs_no_migration_twice_and_appends_on() {
    let Some(schema) = Schema::fresh() else { return };
    let store = schema.connect().await;
    append(&store, "order-1", ExpectedVersion::NoStream, 3).await;
    append(&store, "order-2", ExpectedVersion::NoStream, 1).await;
    let before = read_everything(&store).await;
    let raw = schema.raw_client().await;
    let migrations = "SELECT version, applied_at::text FROM erp_schema_migrations ORDER BY version";
    let applied = |rows: Vec<tokio_postgres::Row>| -> Vec<(i32, String)> {
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    };
    let applied_before = applied(raw.query(migrations, &[]).await.unwrap());
    assert_eq!(applied_before.iter().map(|(v, _)| *v).collect::<Vec<_>>(), vec![1, 2]);

    let identity = store.identity();
    drop(store);
    let store = schema.connect().await;
    assert_eq!(store.identity(), identity, "the store keeps its identity");
    assert_eq!(applied(raw.query(migrations, &[]).await.unwrap()), applied_before, "no migration ran again");
    wait_until_visible(&store, before.last().unwrap().position).await;
    assert_eq!(read_everything(&store).await, before, "every envelope as it was");
    let next = append(&store, "order-1", ExpectedVersion::Exact(2), 2).await;
    assert_eq!(next.next_expected_version, 4);
    assert!(next.first_position > before.last().unwrap().position);
    let conflict =
        store.append(&stream("order-2"), ExpectedVersion::NoStream, events(command(), 1)).await.unwrap();
    assert_eq!(conflict.unwrap_err().actual, Some(0));
    let report = store.verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.streams, report.commits, report.events), (2, 3, 6));
}

/// An event id names one event forever: appending it again to another stream is refused, even with the
/// same content, where a retry of the original append answers the original outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_id_already_stored_in_another_stream_is_refused_and_written_nowhere() {
    let Some(schema) = Schema::fresh() else { return };
    let store = schema.connect().await;
    let cmd = command();
    let original =
        store.append(&stream("a"), ExpectedVersion::NoStream, events(cmd, 2)).await.unwrap().unwrap();
    let err = store.append(&stream("b"), ExpectedVersion::Any, events(cmd, 2)).await.unwrap_err();
    assert_eq!(err.code(), "store.event_id_reused", "{err}");
    assert!(err.to_string().contains("stream a"), "{err}");
    assert!(store.read_stream(&stream("b"), 0, 10).await.unwrap().is_empty());
    let retry = store.append(&stream("a"), ExpectedVersion::Any, events(cmd, 2)).await.unwrap().unwrap();
    assert_eq!(retry, original, "the original append, retried with Any, is recognised wherever it is");
    assert_eq!(store.head_position().await.unwrap(), original.last_position);
}

/// Two nodes starting at once on a schema that does not exist yet: the migration lock lets one create
/// the tables and the other find them, and both serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_on_a_new_schema_migrate_it_once_and_both_serve() {
    let Some(schema) = Schema::fresh() else { return };
    let (a, b) = tokio::join!(PostgresStore::open(schema.config()), PostgresStore::open(schema.config()));
    let (a, b) = (a.expect("node a starts"), b.expect("node b starts"));
    let raw = schema.raw_client().await;
    let versions: Vec<i32> = raw
        .query("SELECT version FROM erp_schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(a.identity(), b.identity(), "one store, one identity");
    append(&a, "s", ExpectedVersion::NoStream, 1).await;
    append(&b, "s", ExpectedVersion::Exact(0), 1).await;
    assert_eq!(a.read_stream(&stream("s"), 0, 10).await.unwrap().len(), 2);
}

/// A caught-up subscriber is woken by an append on another node through `NOTIFY`, long before its
/// fallback poll would look again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_up_subscriber_is_woken_by_another_nodes_append_without_waiting_for_its_poll() {
    let Some(schema) = Schema::fresh() else { return };
    let mut config = schema.config();
    config.poll_interval = Duration::from_secs(600);
    let reader = PostgresStore::open(config).await.unwrap();
    let writer = schema.connect().await;
    let mut subscription = reader.subscribe_all(0);
    let waiting = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("woken by the notification, not the ten-minute poll")
            .unwrap()
    });
    // Let the subscriber find the log empty and wait (and its listener start listening).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let appended = append(&writer, "s", ExpectedVersion::NoStream, 1).await;
    let event = waiting.await.unwrap();
    assert_eq!(event.position, appended.first_position);
}

/// A pool of N opens a connection only when a borrower finds none idle, and never more than N: many
/// appends at once on a new store open at most N; N appends holding their transactions open take all
/// N, so the next borrower waits and is refused as overloaded after `connection_wait_max`; once one
/// commits, the next append goes through on the connection it gave back. Counted by the server
/// (`pg_stat_activity`, by an application name only this store uses; its listener is one more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_n_never_holds_more_than_n_connections_and_the_next_borrower_waits_then_is_refused() {
    let Some(schema) = Schema::fresh() else { return };
    const N: usize = 3;
    let application = format!("erp_pool_{}", &schema.name()["erp_test_".len()..][..16]);
    let separator = if schema.url().contains('?') { '&' } else { '?' };
    let mut config = schema.config();
    config.url = format!("{}{separator}application_name={application}", schema.url());
    config.connections_max = N;
    config.connection_wait_max = Duration::from_millis(300);
    let store = PostgresStore::open(config).await.unwrap();
    assert_eq!(store.connections_max(), N);
    let observer = schema.raw_client().await;
    let count = |state: &'static str| {
        let (observer, application) = (&observer, &application);
        async move {
            let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                       AND ($2 = '' OR state = $2)";
            observer.query_one(sql, &[application, &state]).await.unwrap().get::<_, i64>(0) as usize
        }
    };

    let writers: Vec<_> = (0..8 * N)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(
                async move { append(&store, &format!("burst-{i}"), ExpectedVersion::NoStream, 1).await },
            )
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let after_burst = count("").await;
    assert!(after_burst <= N + 1, "{after_burst} connections for a pool of {N} and its listener");

    let mut held = Vec::new();
    for i in 0..N {
        let name = stream(&format!("held-{i}"));
        let append = store.append_held(&name, ExpectedVersion::NoStream, events(command(), 1)).await;
        held.push(append.expect("no failure").expect("no conflict"));
    }
    assert_eq!(count("idle in transaction").await, N, "the N held appends each hold one");
    assert!(count("").await <= N + 1);
    let waited = std::time::Instant::now();
    let refused = store.append(&stream("one-more"), ExpectedVersion::NoStream, events(command(), 1)).await;
    assert_eq!(refused.expect_err("no connection free").code(), "store.overloaded");
    assert!(waited.elapsed() >= Duration::from_millis(300), "it waited for a connection first");

    held.pop().unwrap().commit().await.unwrap();
    append(&store, "one-more", ExpectedVersion::NoStream, 1).await;
    assert!(count("").await <= N + 1, "the freed connection was reused, not a new one opened");
    for append in held {
        append.commit().await.unwrap();
    }
}

/// `verify` passes a good log, counting its streams, commits and events, and gives the same digest
/// twice; after one payload is altered in place it names that commit as the first broken link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_a_good_log_and_names_the_first_broken_link_after_a_payload_is_altered() {
    let Some(schema) = Schema::fresh() else { return };
    let store = schema.connect().await;
    append(&store, "a", ExpectedVersion::NoStream, 3).await;
    let mut b_positions = Vec::new();
    for v in 0..5u64 {
        let expected = if v == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(v - 1) };
        b_positions.push(append(&store, "b", expected, 1).await.first_position);
    }
    append(&store, "c", ExpectedVersion::NoStream, 2).await;
    let good = store.verify().await.unwrap();
    assert!(good.is_ok(), "{good:?}");
    assert_eq!((good.streams, good.commits, good.events), (3, 7, 10));
    assert_eq!(store.verify().await.unwrap(), good, "the same log verifies to the same digest");

    let original = store.read_stream(&stream("b"), 2, 1).await.unwrap().remove(0).payload;
    let raw = schema.raw_client().await;
    let altered = raw
        .execute("UPDATE events SET payload = 'tampered' WHERE stream_id = 'b' AND stream_version = 2", &[])
        .await
        .unwrap();
    assert_eq!(altered, 1);
    let report = store.verify().await.unwrap();
    let problem = report.problem.expect("the edit is found");
    assert_eq!((problem.stream.as_str(), problem.version, problem.position), ("b", 2, b_positions[2]));
    assert!(problem.reason.contains("altered"), "{}", problem.reason);

    // Putting the payload back mends the chain: the hashes commit to the content, nothing else.
    raw.execute("UPDATE events SET payload = $1 WHERE stream_id = 'b' AND stream_version = 2", &[&original])
        .await
        .unwrap();
    assert_eq!(store.verify().await.unwrap(), good);

    // A deleted event is a gap in its stream's versions.
    raw.execute("DELETE FROM events WHERE stream_id = 'c' AND stream_version = 0", &[]).await.unwrap();
    let problem = store.verify().await.unwrap().problem.expect("the deletion is found");
    assert_eq!((problem.stream.as_str(), problem.version), ("c", 1));
    assert!(problem.reason.contains("gap"), "{}", problem.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_executed_further_back_than_the_bus_remembers_is_answered_as_its_original_outcome() {
    // Two nodes' process managers react to the same events with the same derived command ids; one that
    // lags (or restarts from an old checkpoint) can meet a command its stream recorded more than
    // `REMEMBERED_COMMANDS_MAX` commands ago. Its derived event ids are stored already: that is the
    // command's original outcome, not a refusal (which stopped the process manager for good) and not
    // a second execution.
    use command_api::CommandBus;
    use command_api::bus::REMEMBERED_COMMANDS_MAX;
    use domain::master::{Partner, PartnerCommand};
    use domain::{BookId, CommandId, CommandMeta, PartnerId, Timestamp};
    let Some((store, _schema)) = tests::postgres::fresh_store().await else { return };
    let customer = PartnerId(uuid::Uuid::from_u128(0xc1));
    let bus = CommandBus::new(store.clone());
    tests::fixtures::masters(&bus, &[customer], &[], &[]).await;
    let meta = |n: u64| {
        CommandMeta::new(
            CommandId(uuid::Uuid::new_v5(&customer.0, &n.to_be_bytes())),
            "admin",
            BookId(uuid::Uuid::from_u128(1)),
            Timestamp(0),
        )
    };
    let toggle = |n: u64| {
        if n.is_multiple_of(2) {
            PartnerCommand::Deactivate { id: customer }
        } else {
            PartnerCommand::Reactivate { id: customer }
        }
    };
    let rounds = REMEMBERED_COMMANDS_MAX as u64 + 44;
    let first = bus.execute::<Partner>(&meta(0), &toggle(0)).await.expect("deactivated");
    for n in 1..rounds {
        bus.execute::<Partner>(&meta(n), &toggle(n)).await.expect("toggled");
    }
    let stream = StreamId::new(Partner::stream(customer)).unwrap();
    let before = store.read_stream(&stream, 0, 10_000).await.unwrap().len();

    // Another node (a bus of its own) executes the first command again, as a lagging process manager would.
    let other = CommandBus::new(store.clone());
    let again =
        other.execute::<Partner>(&meta(0), &toggle(0)).await.expect("the original outcome, not an error");
    assert!(again.duplicate, "{again:?}");
    assert!(again.events.is_empty());
    assert_eq!(again.last_position, first.last_position);
    assert_eq!(again.stream_version, first.stream_version);
    // In a batch with a new command, the old one is recognised and the new one executes.
    let batch = [(&meta(0), &toggle(0)), (&meta(rounds), &toggle(rounds))];
    let outcomes = other.execute_all::<Partner>(&batch).await.expect("no failure");
    assert!(outcomes[0].as_ref().is_ok_and(|o| o.duplicate), "{outcomes:?}");
    assert!(outcomes[1].as_ref().is_ok_and(|o| !o.duplicate && o.events.len() == 1), "{outcomes:?}");
    assert_eq!(store.read_stream(&stream, 0, 10_000).await.unwrap().len(), before + 1);
}
