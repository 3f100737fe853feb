//! The projector runtime over the embedded store: a model kept live equals a rebuild from zero and a
//! restart from its snapshot; a damaged snapshot or a changed model version costs a rebuild and nothing
//! else; read-your-writes waits, bounded; a blue/green rebuild swaps in while the model keeps answering.

use std::time::Duration;

use command_api::CommandBus;
use command_api::finance::record_automatic_voucher;
use domain::finance::accounts::AccountRole as R;
use domain::finance::rules::{AutoVoucher, RoleLine};
use domain::finance::voucher::{VoucherSource, VoucherWord};
use domain::time::Period;
use domain::{BookId, CommandId, CommandMeta, EventId, Timestamp, VoucherId};
use infra::{EmbeddedStore, EventStore};
use projections::fact::Fact;
use projections::ledger::Ledgers;
use projections::open_items::OpenItems;
use projections::runtime::{Opened, Projector, ReadModel, View, snapshot_path};
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));

async fn open() -> (tempfile::TempDir, EmbeddedStore, CommandBus<EmbeddedStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    tests::fixtures::book(&bus, BOOK, Period::new(2026, 11).unwrap()).await;
    (dir, store, bus)
}

/// Posts `count` cash sales of 1 + n yuan, numbered from `from`.
async fn sell(bus: &CommandBus<EmbeddedStore>, from: u128, count: u128) {
    sell_on(bus, from, count, NOVEMBER).await;
}

/// The same, dated `date`.
async fn sell_on(bus: &CommandBus<EmbeddedStore>, from: u128, count: u128, date: Timestamp) {
    for n in from..from + count {
        let amount = Decimal::from(1 + n as i64);
        let line = |role, debit, credit| RoleLine {
            summary: "现销".into(),
            role,
            debit,
            credit,
            partner: None,
            item: None,
        };
        let auto = AutoVoucher {
            id: VoucherId(Uuid::from_u128(10_000 + n)),
            book: BOOK,
            word: VoucherWord::Ji,
            date,
            lines: vec![line(R::Cash, amount, Decimal::ZERO), line(R::Revenue, Decimal::ZERO, amount)],
            source: VoucherSource {
                kind: "test.Sale".into(),
                id: Uuid::from_u128(n),
                event: EventId(Uuid::from_u128(n)),
            },
        };
        let meta =
            CommandMeta::new(CommandId(Uuid::from_u128(20_000 + n)), "process:auto-vouchers", BOOK, date);
        record_automatic_voucher(bus, &meta, &auto).await.unwrap();
    }
}

async fn rebuilt<M: ReadModel>(store: &EmbeddedStore) -> View<M> {
    let mut view = View::<M>::default();
    let head = store.head_position().await.unwrap();
    view.catch_up(store, head, |_| {}).await.unwrap();
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_model_equals_a_rebuild_from_zero_and_a_restart_from_its_snapshot() {
    let (dir, store, bus) = open().await;
    let snapshots = dir.path().join("snapshots");
    sell(&bus, 0, 40).await;
    let mut projector = Projector::<Ledgers, _>::open(store.clone(), &snapshots).with_snapshot_every(25);
    assert_eq!(projector.opened(), &Opened::Empty);
    let caught_up = projector.catch_up(|_, _| {}).await.unwrap();
    assert_eq!(caught_up, store.head_position().await.unwrap());
    let handle = projector.handle();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn(async move { projector.run(stopped).await });

    // More business while the projector runs: read-your-writes sees it.
    sell(&bus, 40, 30).await;
    let head = store.head_position().await.unwrap();
    handle.wait_for(head, Duration::from_secs(10)).await.unwrap();
    let (cash, at) =
        handle.read(|ledgers| ledgers.book(BOOK).balance("1001", Period::new(2026, 11).unwrap()));
    assert_eq!(at, head);
    assert_eq!(cash, Decimal::from((1..=70).sum::<i64>()), "every sale is in");
    let fresh = rebuilt::<Ledgers>(&store).await;
    assert_eq!(handle.read(|l| l.clone()).0, fresh.model, "live = rebuilt from zero");
    // A position beyond the head is not reached: a clear, bounded refusal.
    let behind = handle.wait_for(head + 1, Duration::from_millis(50)).await.unwrap_err();
    assert_eq!(behind.code(), "projection.behind");

    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
    let restarted = Projector::<Ledgers, _>::open(store.clone(), &snapshots);
    assert_eq!(restarted.opened(), &Opened::Snapshot { position: head });
    assert_eq!(restarted.handle().read(|l| l.clone()).0, fresh.model, "restart = rebuilt from zero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_or_a_new_model_version_is_rebuilt_from_zero() {
    let (dir, store, bus) = open().await;
    let snapshots = dir.path().join("snapshots");
    sell(&bus, 0, 10).await;
    let mut projector = Projector::<OpenItems, _>::open(store.clone(), &snapshots);
    projector.catch_up(|_, _| {}).await.unwrap();
    let mut ledger = Projector::<Ledgers, _>::open(store.clone(), &snapshots);
    ledger.catch_up(|_, _| {}).await.unwrap();
    let path = snapshot_path::<Ledgers>(&snapshots);

    /// The ledger's fold under a new code version.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct LedgerV2(Ledgers);
    impl ReadModel for LedgerV2 {
        const NAME: &'static str = "ledger";
        const VERSION: u32 = <Ledgers as ReadModel>::VERSION + 1;
        fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
            ReadModel::apply(&mut self.0, event, fact)
        }
    }
    let mut changed = Projector::<LedgerV2, _>::open(store.clone(), &snapshots);
    assert_eq!(changed.opened(), &Opened::VersionChanged { found: <Ledgers as ReadModel>::VERSION });
    assert_eq!(changed.position(), 0, "starts over");
    changed.catch_up(|_, _| {}).await.unwrap();
    assert_eq!(changed.handle().read(|l| l.0.clone()).0, rebuilt::<Ledgers>(&store).await.model);

    // One flipped byte in the body: the checksum catches it.
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let mut damaged = Projector::<LedgerV2, _>::open(store.clone(), &snapshots);
    assert!(matches!(damaged.opened(), Opened::Damaged { .. }), "{:?}", damaged.opened());
    damaged.catch_up(|_, _| {}).await.unwrap();
    assert_eq!(damaged.handle().read(|l| l.0.clone()).0, rebuilt::<Ledgers>(&store).await.model);
    // The other model's snapshot was never touched.
    let items = Projector::<OpenItems, _>::open(store.clone(), &snapshots);
    assert!(matches!(items.opened(), Opened::Snapshot { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_rebuild_swaps_in_while_the_model_keeps_answering() {
    let (dir, store, bus) = open().await;
    sell(&bus, 0, 50).await;
    let mut projector = Projector::<Ledgers, _>::open(store.clone(), dir.path().join("snapshots"));
    let handle = projector.handle();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn(async move { projector.run(stopped).await });
    let head = store.head_position().await.unwrap();
    handle.wait_for(head, Duration::from_secs(10)).await.unwrap();
    handle.request_rebuild();
    // Business goes on, and reads keep answering, during the rebuild.
    for batch in 0..5 {
        sell(&bus, 50 + batch * 10, 10).await;
        let (_, at) = handle.read(|l| l.book(BOOK).balance("1001", Period::new(2026, 11).unwrap()));
        assert!(at >= head);
    }
    assert!(handle.wait_for_rebuilds(1, Duration::from_secs(10)).await, "the rebuild was swapped in");
    let head = store.head_position().await.unwrap();
    handle.wait_for(head, Duration::from_secs(10)).await.unwrap();
    assert_eq!(handle.read(|l| l.clone()).0, rebuilt::<Ledgers>(&store).await.model);
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_as_of_a_position_or_a_business_date_counts_back_dated_events_on_their_date() {
    use projections::runtime::{AsOf, AsOfCache};
    let (_dir, store, bus) = open().await;
    let day = |n: i64| Timestamp(NOVEMBER.0 + n * 86_400_000_000);
    let november = Period::new(2026, 11).unwrap();
    sell_on(&bus, 0, 3, day(1)).await; // 1 + 2 + 3
    let after_first_day = store.head_position_now();
    sell_on(&bus, 3, 2, day(3)).await; // 4 + 5
    // Entered later, dated day 2: counts on day 2 by date, but comes after day 3's sales by position.
    sell_on(&bus, 5, 1, day(2)).await; // 6
    let cache = AsOfCache::<Ledgers>::new(4);
    let cash = |ledgers: &Ledgers| ledgers.book(BOOK).balance("1001", november);
    let by_position = cache.get(&store, AsOf::Position(after_first_day)).await.unwrap();
    assert_eq!(cash(&by_position), Decimal::from(6));
    let by_date = cache.get(&store, AsOf::Date(day(2))).await.unwrap();
    assert_eq!(cash(&by_date), Decimal::from(12), "days 1 and 2, the back-dated sale included");
    let again = cache.get(&store, AsOf::Date(day(2))).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&by_date, &again), "asked again: from the cache");
    // Another sale back-dated to day 2: the date's model is folded again, the position's is not.
    sell_on(&bus, 6, 1, day(2)).await; // 7
    assert_eq!(cash(&cache.get(&store, AsOf::Date(day(2))).await.unwrap()), Decimal::from(19));
    let same = cache.get(&store, AsOf::Position(after_first_day)).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&by_position, &same));
    // Asked twice at once: the folds queue, and the second finds the first's model.
    let (a, b) = tokio::join!(cache.get(&store, AsOf::Date(day(1))), cache.get(&store, AsOf::Date(day(1))));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(std::sync::Arc::ptr_eq(&a, &b), "one fold for both");
    assert_eq!(cash(&a), Decimal::from(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_keeps_several_models_from_one_reading_and_rebuilds_the_one_asked_for() {
    use projections::runtime::ProjectorSet;
    let (dir, store, bus) = open().await;
    let snapshots = dir.path().join("snapshots");
    sell(&bus, 0, 20).await;
    // The ledger was snapshotted halfway; the open items never were.
    let halfway = Projector::<Ledgers, _>::open(store.clone(), &snapshots).catch_up(|_, _| {}).await.unwrap();
    sell(&bus, 20, 20).await;
    let mut set = ProjectorSet::new(store.clone(), &snapshots);
    let ledger = set.add::<Ledgers>();
    let items = set.add::<OpenItems>();
    assert_eq!(
        set.opened(),
        vec![("ledger", Opened::Snapshot { position: halfway }), ("open-items", Opened::Empty)]
    );
    assert_eq!((ledger.position(), items.position(), set.position()), (halfway, 0, 0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn(async move { set.run(stopped).await });
    sell(&bus, 40, 10).await;
    let head = store.head_position().await.unwrap();
    ledger.wait_for(head, Duration::from_secs(10)).await.unwrap();
    items.wait_for(head, Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        ledger.read(|l| l.clone()).0,
        rebuilt::<Ledgers>(&store).await.model,
        "the ledger: from its snapshot"
    );
    assert_eq!(
        items.read(|i| i.clone()).0,
        rebuilt::<OpenItems>(&store).await.model,
        "the open items: from 0"
    );
    // A rebuild asked through the ledger's handle rebuilds the ledger, not the other model.
    ledger.request_rebuild();
    assert!(ledger.wait_for_rebuilds(1, Duration::from_secs(10)).await);
    assert_eq!(items.rebuilds(), 0);
    sell(&bus, 50, 5).await;
    let head = store.head_position().await.unwrap();
    ledger.wait_for(head, Duration::from_secs(10)).await.unwrap();
    assert_eq!(ledger.read(|l| l.clone()).0, rebuilt::<Ledgers>(&store).await.model);
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
    // Stopping snapshotted both at the head.
    for opened in [
        Projector::<Ledgers, _>::open(store.clone(), &snapshots).opened().clone(),
        Projector::<OpenItems, _>::open(store.clone(), &snapshots).opened().clone(),
    ] {
        assert_eq!(opened, Opened::Snapshot { position: head });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_set_reads_its_snapshots_before_the_store_is_open_and_catches_up_once_attached() {
    use projections::runtime::ProjectorSet;
    let (dir, store, bus) = open().await;
    let snapshots = dir.path().join("snapshots");
    sell(&bus, 0, 10).await;
    let at = Projector::<Ledgers, _>::open(store.clone(), &snapshots).catch_up(|_, _| {}).await.unwrap();
    sell(&bus, 10, 5).await;
    let mut set = ProjectorSet::<EmbeddedStore>::detached(&snapshots);
    let ledger = set.add::<Ledgers>();
    set.load();
    assert_eq!(ledger.position(), at, "the snapshot is read with no store to hand");
    set.attach(store.clone());
    set.catch_up(|_, _| {}).await.unwrap();
    assert_eq!(ledger.read(|l| l.clone()).0, rebuilt::<Ledgers>(&store).await.model);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_does_not_decode_stops_a_catch_up_before_it_with_the_decode_error() {
    use infra::{EventMetadata, EventType, ExpectedVersion, NewEvent, StreamId};
    use projections::runtime::ProjectorSet;
    let (dir, store, bus) = open().await;
    sell(&bus, 0, 3).await;
    let before = store.head_position_now();
    // A stored type the stock model folds, with a payload that is not one.
    let command = CommandId(Uuid::from_u128(777));
    let garbage = NewEvent {
        event_id: EventId::derive(command, 0),
        event_type: EventType::new("inventory.StockReserved", 1).unwrap(),
        metadata: EventMetadata {
            book: BOOK,
            actor: "tester".into(),
            command_id: command,
            correlation_id: command.0,
            causation_id: command.0,
            occurred_at: NOVEMBER,
        },
        payload: vec![0xff, 0xff, 0xff],
    };
    let stream = StreamId::new("stock-garbage").unwrap();
    store.append(&stream, ExpectedVersion::Any, vec![garbage]).await.unwrap().unwrap();
    sell(&bus, 3, 2).await;
    let mut set = ProjectorSet::new(store.clone(), dir.path().join("snapshots"));
    let ledger = set.add::<Ledgers>();
    let failed = set.catch_up(|_, _| {}).await.unwrap_err();
    assert_eq!(failed.code(), "store.decode", "{failed}");
    assert!(ledger.position() <= before, "nothing at or after the bad event was folded");
}
