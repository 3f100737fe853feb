//! The command bus against the embedded store: append, rejection, client retry, conflict retry, and
//! the race for the last units.

use command_api::{BusError, CommandBus};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockKey, StockPolicy};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, Rejection, ReservationId, Timestamp, WarehouseId};
use infra::{EmbeddedStore, EventStore};
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "clerk", BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn key() -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(100)), warehouse: WarehouseId(Uuid::from_u128(200)) }
}

fn receive(units: u32) -> StockCommand {
    StockCommand::Receive {
        key: key(),
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::ZERO,
            allow_negative: false,
        },
        qty: Quantity::units(units),
        unit_cost: UnitAmount::new(Decimal::new(250, 2)).unwrap(),
        lot: None,
        bin: None,
        source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(9), line: None },
    }
}

fn reserve(n: u128) -> StockCommand {
    StockCommand::Reserve {
        key: key(),
        reservation: ReservationId(Uuid::from_u128(n)),
        qty: Quantity::units(1),
    }
}

fn open_store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (EmbeddedStore::open_dir(dir.path()).unwrap(), dir)
}

#[tokio::test]
async fn a_command_appends_its_events_and_answers_with_their_position() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    let done = bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    assert_eq!(done.events.len(), 2, "opened and received");
    assert_eq!(done.last_position, Some(2));
    assert_eq!(done.stream_version, Some(1));
    let stored = store.read_all(1, 10).await.unwrap();
    assert_eq!(stored[0].event_type.name(), "inventory.StockItemOpened");
    assert_eq!(stored[1].metadata.command_id, CommandId(Uuid::from_u128(1)));
    assert_eq!(stored[1].event_id, domain::EventId::derive(CommandId(Uuid::from_u128(1)), 1));
}

#[tokio::test]
async fn a_rejection_comes_back_with_its_code_and_writes_nothing() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    let err = bus.execute::<domain::inventory::StockItem>(&meta(1), &reserve(1)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient");
    assert!(matches!(err, BusError::Rejected(_)));
    assert_eq!(store.head_position().await.unwrap(), 0);
}

#[tokio::test]
async fn a_command_retried_by_its_client_answers_the_original_outcome_and_writes_nothing() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    let first = bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    bus.execute::<domain::inventory::StockItem>(&meta(2), &receive(1)).await.unwrap();
    // A fresh bus (no cache) sees the retry in the stream itself.
    let again = CommandBus::new(store.clone());
    let retry = again.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.last_position, first.last_position);
    assert_eq!(store.head_position().await.unwrap(), 3);
}

#[tokio::test]
async fn a_conflict_with_another_writer_is_retried_against_the_new_state() {
    let (store, _dir) = open_store();
    let a = CommandBus::new(store.clone());
    let b = CommandBus::new(store.clone());
    a.execute::<domain::inventory::StockItem>(&meta(1), &receive(2)).await.unwrap();
    // `b` appends behind `a`'s cached state.
    b.execute::<domain::inventory::StockItem>(&meta(2), &reserve(1)).await.unwrap();
    let done = a.execute::<domain::inventory::StockItem>(&meta(3), &reserve(2)).await.unwrap();
    assert_eq!(done.stream_version, Some(3), "decided on the state that includes b's reservation");
    let err = a.execute::<domain::inventory::StockItem>(&meta(4), &reserve(3)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient", "two units, two reservations: the third is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_orders_for_ten_units_reserve_exactly_ten() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..100u128 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            bus.execute::<domain::inventory::StockItem>(&meta(1000 + n), &reserve(n)).await
        }));
    }
    let (mut reserved, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => reserved += 1,
            Err(err) => {
                assert_eq!(err.code(), "stock.insufficient", "{err}");
                refused += 1;
            }
        }
    }
    assert_eq!((reserved, refused), (10, 90));
    // The state rebuilt from the log agrees.
    let fresh = CommandBus::new(store.clone());
    let err = fresh.execute::<domain::inventory::StockItem>(&meta(5000), &reserve(5000)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient");
    let events = store.read_stream(&infra::StreamId::new(key().stream_id()).unwrap(), 0, 1000).await.unwrap();
    let reservations = events.iter().filter(|e| e.event_type.name() == "inventory.StockReserved").count();
    assert_eq!(reservations, 10);
}

#[tokio::test]
async fn loading_an_aggregate_folds_its_stream_and_a_missing_stream_is_the_default_state() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store);
    bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    let stock: domain::inventory::StockItem = bus.load(&key().stream_id()).await.unwrap();
    assert_eq!(stock.on_hand, Decimal::from(10));
    let other = StockKey { item: ItemId(Uuid::from_u128(7)), warehouse: WarehouseId(Uuid::from_u128(8)) };
    let missing: domain::inventory::StockItem = bus.load(&other.stream_id()).await.unwrap();
    assert_eq!(missing, domain::inventory::StockItem::default());
    assert_eq!(
        bus.load::<domain::inventory::StockItem>("").await.unwrap_err().code(),
        "store.invalid_stream_id"
    );
}

#[tokio::test]
async fn another_books_stream_reads_as_missing_to_a_book_that_inspects_it() {
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store);
    bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(10)).await.unwrap();
    let on_hand = |s: &domain::inventory::StockItem| s.on_hand;
    let owner = BookId(Uuid::from_u128(1));
    let stranger = BookId(Uuid::from_u128(2));
    assert_eq!(bus.inspect_in(owner, &key().stream_id(), on_hand).await.unwrap(), Decimal::from(10));
    assert_eq!(bus.inspect_in(stranger, &key().stream_id(), on_hand).await.unwrap(), Decimal::ZERO);
    let loaded: domain::inventory::StockItem = bus.load_in(stranger, &key().stream_id()).await.unwrap();
    assert_eq!(loaded, domain::inventory::StockItem::default());
    // A stream no book has written to reads as missing to every book.
    let other = StockKey { item: ItemId(Uuid::from_u128(7)), warehouse: WarehouseId(Uuid::from_u128(8)) };
    assert_eq!(bus.inspect_in(stranger, &other.stream_id(), on_hand).await.unwrap(), Decimal::ZERO);
    // The stranger's look changed nothing for the owner.
    assert_eq!(bus.inspect_in(owner, &key().stream_id(), on_hand).await.unwrap(), Decimal::from(10));
}

#[tokio::test]
async fn commands_to_one_stream_share_one_append_and_each_keeps_its_own_outcome() {
    use domain::inventory::StockItem;
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    bus.execute::<StockItem>(&meta(1), &receive(2)).await.unwrap();
    let appends_before = store.writer_stats().appends;
    let (m1, m2, m3) = (meta(11), meta(12), meta(13));
    let old = meta(1);
    let first = reserve(101);
    let batch = [
        (&m1, &first),
        (&m1, &first),        // the same command again: its first outcome, nothing new
        (&m2, &reserve(102)), // decided on the state after the first reservation
        (&m3, &reserve(103)), // two units, two reservations: refused
        (&old, &receive(5)),  // a command executed before: its original outcome
    ];
    let outcomes = bus.execute_all::<StockItem>(&batch).await.unwrap();
    assert_eq!(store.writer_stats().appends - appends_before, 1, "one append for the whole batch");
    let done = outcomes[0].as_ref().unwrap();
    assert_eq!((done.last_position, done.stream_version, done.duplicate), (Some(3), Some(2), false));
    let again = outcomes[1].as_ref().unwrap();
    assert!(again.duplicate && again.events.is_empty());
    assert_eq!(again.last_position, Some(3));
    let second = outcomes[2].as_ref().unwrap();
    assert_eq!((second.last_position, second.stream_version), (Some(4), Some(3)));
    assert_eq!(outcomes[3].as_ref().unwrap_err().code(), "stock.insufficient");
    let retried = outcomes[4].as_ref().unwrap();
    assert_eq!((retried.duplicate, retried.last_position), (true, Some(2)));

    // Each command's events carry its own metadata and ids, as if executed alone.
    let stored = store.read_all(3, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].metadata.command_id, m1.command_id);
    assert_eq!(stored[1].metadata.command_id, m2.command_id);
    assert_eq!(stored[1].event_id, domain::EventId::derive(m2.command_id, 0));
    // The cached state and a fresh fold agree.
    let fresh = CommandBus::new(store.clone());
    let err = fresh.execute::<StockItem>(&meta(14), &reserve(104)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient");
    let err = bus.execute::<StockItem>(&meta(15), &reserve(105)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient");
}

#[tokio::test]
async fn a_batch_that_meets_a_conflict_is_decided_again_from_the_stored_state_not_its_own_guesses() {
    use domain::inventory::StockItem;
    let (store, _dir) = open_store();
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bus = CommandBus::new(Hooked {
        inner: store.clone(),
        before_append: BeforeAppend::OtherNodeWrites {
            other_node: CommandBus::new(store.clone()),
            armed: armed.clone(),
        },
    });
    bus.execute::<StockItem>(&meta(1), &receive(3)).await.unwrap();
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let (m1, m2, m3) = (meta(11), meta(12), meta(13));
    let (r1, r2, r3) = (reserve(101), reserve(102), reserve(103));
    // First attempt: three units free, all three fit. The other node takes one before the append lands.
    let outcomes = bus.execute_all::<StockItem>(&[(&m1, &r1), (&m2, &r2), (&m3, &r3)]).await.unwrap();
    assert!(!armed.load(std::sync::atomic::Ordering::SeqCst), "the other node did write");
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok());
    assert_eq!(outcomes[2].as_ref().unwrap_err().code(), "stock.insufficient");
    // Nothing of the failed attempt stuck to the cached state: it agrees with a fresh fold.
    let cached = bus.execute::<StockItem>(&meta(20), &reserve(120)).await.unwrap_err();
    let fresh =
        CommandBus::new(store.clone()).execute::<StockItem>(&meta(21), &reserve(121)).await.unwrap_err();
    assert_eq!((cached.code(), fresh.code()), ("stock.insufficient", "stock.insufficient"));
    let stored = store.read_all(1, 100).await.unwrap();
    let reservations = stored.iter().filter(|e| e.event_type.name() == "inventory.StockReserved").count();
    assert_eq!(reservations, 3, "the other node's and two of the batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_to_a_hot_stream_coalesce_into_fewer_appends_and_each_gets_its_own_answer() {
    use domain::inventory::StockItem;
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    bus.execute::<StockItem>(&meta(1), &receive(10)).await.unwrap();
    let appends_before = store.writer_stats().appends;
    let mut tasks = Vec::new();
    for n in 0..100u128 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            bus.execute_coalesced::<StockItem>(meta(100 + n), reserve(1_000 + n)).await
        }));
    }
    let (mut reserved, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(done) => {
                assert_eq!(done.events.len(), 1);
                reserved += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), "stock.insufficient");
                refused += 1;
            }
        }
    }
    assert_eq!((reserved, refused), (10, 90));
    let appends = store.writer_stats().appends - appends_before;
    assert!(appends < 100, "{appends} appends for 100 commands: waiting commands went along with others");
    // The cached state agrees with the stream.
    let fresh = CommandBus::new(store.clone());
    let err = fresh.execute::<StockItem>(&meta(999), &reserve(9_999)).await.unwrap_err();
    assert_eq!(err.code(), "stock.insufficient");
}

#[tokio::test]
async fn a_batch_executed_together_is_refused_whole_by_one_rejection_and_appends_nothing() {
    use domain::inventory::StockItem;
    let (store, _dir) = open_store();
    let bus = CommandBus::new(store.clone());
    bus.execute::<StockItem>(&meta(1), &receive(3)).await.unwrap();
    let head = store.head_position_now();
    // Four units asked of three: the fourth is refused, and with it the three before it.
    let metas: Vec<CommandMeta> = (11..15).map(meta).collect();
    let reserves: Vec<StockCommand> = (101..105).map(reserve).collect();
    let four: Vec<_> = metas.iter().zip(&reserves).collect();
    let refused = bus.execute_together::<StockItem>(&four).await.unwrap_err();
    assert_eq!(refused.code(), "stock.insufficient");
    assert_eq!(store.head_position_now(), head, "nothing of the refused batch was appended");
    // The cached state did not keep the refused batch's first three reservations.
    let three = &four[..3];
    let executed = bus.execute_together::<StockItem>(three).await.unwrap();
    assert_eq!(executed.len(), 3);
    assert_eq!(store.head_position_now(), head + 3);
    let fourth = bus.execute::<StockItem>(&meta(20), &reserve(120)).await.unwrap_err();
    assert_eq!(fourth.code(), "stock.insufficient");
}

#[tokio::test]
async fn a_command_cancelled_while_its_append_is_on_the_way_leaves_no_trace_in_the_next_decision() {
    // A process manager's task is aborted when its runner stops (a store error in another task), maybe
    // while its command waits for the append: the cached state then holds events that were never
    // stored, and the next command on the stream must not decide on them.
    let (store, _dir) = open_store();
    let hold = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bus =
        CommandBus::new(Hooked { inner: store.clone(), before_append: BeforeAppend::Hold(hold.clone()) });
    bus.execute::<domain::inventory::StockItem>(&meta(1), &receive(1)).await.unwrap();
    hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        bus.execute::<domain::inventory::StockItem>(&meta(2), &reserve(10)),
    )
    .await;
    assert!(cancelled.is_err(), "the append never completes while held");
    hold.store(false, std::sync::atomic::Ordering::SeqCst);
    let reserved = bus.execute::<domain::inventory::StockItem>(&meta(3), &reserve(11)).await;
    assert!(reserved.is_ok(), "the unit is still available: {reserved:?}");
    assert_eq!(store.head_position().await.unwrap(), 3, "opened, received, reserved once");
}

/// The embedded store with something done before each append, to stage what a test needs.
#[derive(Clone)]
struct Hooked {
    inner: EmbeddedStore,
    before_append: BeforeAppend,
}

#[derive(Clone)]
enum BeforeAppend {
    /// Another node writes to the stream just before the first append after `armed` is set, so that
    /// append meets a conflict.
    OtherNodeWrites {
        other_node: CommandBus<EmbeddedStore>,
        armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
    /// While set, an append never completes (a caller waiting for it can only be cancelled).
    Hold(std::sync::Arc<std::sync::atomic::AtomicBool>),
}

impl EventStore for Hooked {
    type Subscription = <EmbeddedStore as EventStore>::Subscription;

    async fn append(
        &self,
        stream: &infra::StreamId,
        expected: infra::ExpectedVersion,
        events: Vec<infra::NewEvent>,
    ) -> infra::port::AppendResult {
        match &self.before_append {
            BeforeAppend::OtherNodeWrites { other_node, armed } => {
                if armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    other_node
                        .execute::<domain::inventory::StockItem>(&meta(99), &reserve(199))
                        .await
                        .unwrap();
                }
            }
            BeforeAppend::Hold(hold) => {
                if hold.load(std::sync::atomic::Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
            }
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &infra::StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<infra::RecordedEvent>, infra::StoreError> {
        self.inner.read_stream(stream, from_version, max_count).await
    }

    async fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> Result<Vec<infra::RecordedEvent>, infra::StoreError> {
        self.inner.read_all(from_position, max_count).await
    }

    fn subscribe_all(&self, checkpoint: u64) -> Self::Subscription {
        self.inner.subscribe_all(checkpoint)
    }

    async fn head_position(&self) -> Result<u64, infra::StoreError> {
        self.inner.head_position().await
    }
}
