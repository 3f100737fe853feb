//! The command bus against the embedded store: append, rejection, client retry, conflict retry, and
//! the race for the last units.

use command_api::{BusError, CommandBus};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockKey, StockPolicy};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, ReservationId, Timestamp, WarehouseId};
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
