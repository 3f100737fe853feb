//! The process-manager runner with the stocktake-posting flow, on the embedded store: the flow
//! completes, and stopping the runner at any moment and starting a new one (fresh bus, fresh cache)
//! never applies an adjustment twice.

use std::time::Duration;

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{
    CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy, Stocktake, StocktakeCommand,
    StocktakeLine,
};
use domain::process::ProcessManager;
use domain::process::stocktake_posting::StocktakePosting;
use domain::values::{Quantity, UnitAmount};
use domain::{Aggregate, BookId, CommandId, CommandMeta, ItemId, StocktakeId, Timestamp, WarehouseId};
use infra::{EmbeddedStore, EventStore, StreamId};
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128, actor: &str) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: Decimal::ZERO, allow_negative: false }
}

fn warehouse() -> WarehouseId {
    WarehouseId(Uuid::from_u128(500))
}

fn item(n: u128) -> ItemId {
    ItemId(Uuid::from_u128(n))
}

fn stocktake() -> StocktakeId {
    StocktakeId(Uuid::from_u128(900))
}

/// Three items on hand (10, 5, 4), a stocktake that counts 9, 5, 6, submitted by li, approved by wang.
async fn approved_stocktake(bus: &CommandBus<EmbeddedStore>) {
    for (n, units) in [(1u128, 10u32), (2, 5), (3, 4)] {
        let receive = StockCommand::Receive {
            key: StockKey { item: item(n), warehouse: warehouse() },
            policy: policy(),
            qty: Quantity::units(units),
            unit_cost: UnitAmount::new(Decimal::new(300, 2)).unwrap(),
            lot: None,
            bin: None,
            source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(n), line: None },
        };
        bus.execute::<StockItem>(&meta(n, "clerk"), &receive).await.unwrap();
    }
    let lines = [(1u128, 10i64), (2, 5), (3, 4)]
        .iter()
        .map(|&(n, book)| StocktakeLine {
            item: item(n),
            book_qty: Decimal::from(book),
            policy: policy(),
            unit_cost: None,
        })
        .collect();
    let steps = vec![
        ("li", StocktakeCommand::Open { id: stocktake(), warehouse: warehouse(), lines }),
        ("li", StocktakeCommand::Count { id: stocktake(), line: 0, counted: Decimal::from(9) }),
        ("li", StocktakeCommand::Count { id: stocktake(), line: 1, counted: Decimal::from(5) }),
        ("li", StocktakeCommand::Count { id: stocktake(), line: 2, counted: Decimal::from(6) }),
        ("li", StocktakeCommand::Submit { id: stocktake() }),
        ("wang", StocktakeCommand::Approve { id: stocktake(), losses: Vec::new() }),
    ];
    for (i, (actor, command)) in steps.into_iter().enumerate() {
        bus.execute::<Stocktake>(&meta(100 + i as u128, actor), &command).await.unwrap();
    }
}

async fn stream_types(store: &EmbeddedStore, stream: String) -> Vec<String> {
    let events = store.read_stream(&StreamId::new(stream).unwrap(), 0, 1000).await.unwrap();
    events.iter().map(|e| e.event_type.name().to_string()).collect()
}

/// The flow's end state: each difference adjusted exactly once, the stocktake completed exactly once.
async fn assert_posted_exactly_once(store: &EmbeddedStore) {
    let count = |types: &[String], name: &str| types.iter().filter(|t| *t == name).count();
    for (n, adjustments) in [(1u128, 1), (2, 0), (3, 1)] {
        let types = stream_types(store, StockKey { item: item(n), warehouse: warehouse() }.stream_id()).await;
        assert_eq!(count(&types, "inventory.StockAdjusted"), adjustments, "item {n}");
    }
    let types = stream_types(store, format!("stocktake-{}", stocktake())).await;
    assert_eq!(count(&types, "inventory.StocktakeLinePosted"), 2);
    assert_eq!(count(&types, "inventory.StocktakeCompleted"), 1);
}

#[tokio::test]
async fn an_approved_stocktake_adjusts_each_difference_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    approved_stocktake(&bus).await;
    let mut runner = ProcessRunner::new(bus.clone(), StocktakePosting, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    assert_eq!(runner.stats.commands_done, 4, "two adjustments, two postings");
    assert_eq!(runner.stats.commands_rejected, 0);
    assert_posted_exactly_once(&store).await;

    // On hand after the posting: 9 and 6 (the gain valued at the last cost, 3.00).
    let err = bus
        .execute::<StockItem>(
            &meta(7000, "clerk"),
            &StockCommand::Issue {
                key: StockKey { item: item(1), warehouse: warehouse() },
                qty: Quantity::units(10),
                reservation: None,
                lot: None,
                source: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(1), line: None },
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stock.insufficient", "only 9 are left after the loss");

    // A second run from the saved checkpoint has nothing left to do.
    let mut again = ProcessRunner::new(bus, StocktakePosting, FileCheckpoints::new(dir.path()), 1);
    again.run_until_quiet().await.unwrap();
    assert_eq!(again.stats.events_seen, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_runner_at_any_moment_and_restarting_never_posts_twice() {
    let mut cut_mid_flow = 0;
    for cut in 0..48u64 {
        for save_every in [1u64, 1000] {
            let dir = tempfile::tempdir().unwrap();
            let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
            approved_stocktake(&CommandBus::new(store.clone())).await;
            // The first process is stopped after `cut` × 60 µs, wherever it is.
            let mut first = ProcessRunner::new(
                CommandBus::new(store.clone()),
                StocktakePosting,
                FileCheckpoints::new(dir.path()),
                save_every,
            );
            let stopped =
                tokio::time::timeout(Duration::from_micros(cut * 60), first.run_until_quiet()).await.is_err();
            if stopped && (1..4).contains(&first.stats.commands_done) {
                cut_mid_flow += 1;
            }
            // A new process (fresh bus, fresh cache) resumes from whatever checkpoint was saved.
            let mut second = ProcessRunner::new(
                CommandBus::new(store.clone()),
                StocktakePosting,
                FileCheckpoints::new(dir.path()),
                save_every,
            );
            second.run_until_quiet().await.unwrap();
            assert_posted_exactly_once(&store).await;
        }
    }
    assert!(cut_mid_flow > 0, "at least one stop landed between the flow's commands");
}

#[test]
fn a_checkpoint_file_round_trips_and_a_garbled_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = FileCheckpoints::new(dir.path());
    assert_eq!(checkpoints.load("p").unwrap(), 0);
    checkpoints.save("p", 42).unwrap();
    assert_eq!(checkpoints.load("p").unwrap(), 42);
    std::fs::write(dir.path().join("process-p.ckpt"), "forty-two").unwrap();
    assert_eq!(checkpoints.load("p").unwrap_err().code(), "store.corrupt");
}

domain::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum SignalInput {
        Stock(domain::inventory::StockEvent),
    }
}

/// A test process manager whose commands only make sense in event order: each unit received on the
/// signal item asks, by its source, to reserve or to release a reservation on the target item. A
/// release run before its reservation is refused (`stock.reservation_unknown`).
struct ReserveThenRelease;

const SIGNAL_ITEM: u128 = 901;
const TARGET_ITEM: u128 = 902;

fn key(item: u128) -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(item)), warehouse: warehouse() }
}

impl ProcessManager for ReserveThenRelease {
    const NAME: &'static str = "test-reserve-then-release";
    type Input = SignalInput;
    type Output = StockCommand;

    fn react(&self, event: &SignalInput, _context: &domain::process::EventContext) -> Vec<StockCommand> {
        let SignalInput::Stock(domain::inventory::StockEvent::Received(received)) = event else {
            return Vec::new();
        };
        let reservation = domain::ReservationId(received.source.id);
        match received.source.kind.as_str() {
            "test.reserve" => {
                vec![StockCommand::Reserve { key: key(TARGET_ITEM), reservation, qty: Quantity::units(1) }]
            }
            "test.release" => vec![StockCommand::Release { key: key(TARGET_ITEM), reservation }],
            _ => Vec::new(),
        }
    }
}

fn receive_one(item: u128, kind: &str, id: u128) -> StockCommand {
    StockCommand::Receive {
        key: key(item),
        policy: policy(),
        qty: Quantity::units(1),
        unit_cost: UnitAmount::new(Decimal::ONE).unwrap(),
        lot: None,
        bin: None,
        source: DocRef { kind: kind.into(), id: Uuid::from_u128(id), line: None },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streams_commands_run_in_event_order_across_the_batches_a_live_runner_pipelines() {
    const PAIRS: u128 = 300;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    for n in 0..PAIRS {
        bus.execute::<StockItem>(&meta(10_000 + n, "clerk"), &receive_one(TARGET_ITEM, "test.stock", n))
            .await
            .unwrap();
    }
    let start = store.head_position_now();
    FileCheckpoints::new(dir.path()).save(ReserveThenRelease::NAME, start).unwrap();
    let mut runner = ProcessRunner::new(bus.clone(), ReserveThenRelease, FileCheckpoints::new(dir.path()), 1);
    // The signals arrive one by one while the runner works, so they fall into many batches, with each
    // reservation and its release often in different ones.
    let signals = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for n in 0..PAIRS {
                for (k, kind) in ["test.reserve", "test.release"].into_iter().enumerate() {
                    let command = receive_one(SIGNAL_ITEM, kind, 50_000 + n);
                    bus.execute::<StockItem>(&meta(20_000 + 2 * n + k as u128, "clerk"), &command)
                        .await
                        .unwrap();
                }
            }
        })
    };
    let last_signal = start + 1 + 2 * PAIRS as u64; // the signal item's opening event, then one per signal
    let handled = runner.run_until(last_signal).await.unwrap();
    signals.await.unwrap();
    runner.run_until_quiet().await.unwrap();
    assert!(handled >= last_signal);
    assert_eq!(runner.stats.commands_rejected, 0, "no release ran before its reservation");
    assert_eq!(runner.stats.commands_done, 2 * PAIRS as u64);
    let target: StockItem = bus.load(&StockItem::stream_id(&receive_one(TARGET_ITEM, "", 0))).await.unwrap();
    let every_unit = StockCommand::Reserve {
        key: key(TARGET_ITEM),
        reservation: domain::ReservationId(Uuid::from_u128(1)),
        qty: Quantity::units(PAIRS as u32),
    };
    target.decide(&every_unit, &meta(1, "clerk")).expect("every reservation was released");
}

/// A runner told to stop (the service's graceful stop) lets its running commands finish and saves its
/// checkpoint where it is, even far short of its save interval: a restart re-reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_told_to_stop_saves_its_checkpoint_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    approved_stocktake(&bus).await;
    let checkpoints = FileCheckpoints::new(dir.path());
    let mut runner = ProcessRunner::new(bus.clone(), StocktakePosting, checkpoints.clone(), 1_000_000)
        .with_save_interval(Duration::from_secs(3600));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move {
        let at = runner.run_until_stopped(stop_rx).await;
        (runner, at)
    });
    // Until every command of the stocktake has run (the log stops growing), then stop.
    let mut head = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = store.head_position().await.unwrap();
        if now == head {
            break;
        }
        head = now;
    }
    stop_tx.send(true).unwrap();
    let (runner, at) = running.await.unwrap();
    let at = at.unwrap();
    assert_eq!(runner.stats.commands_done, 4);
    assert_eq!(checkpoints.load(<StocktakePosting as domain::process::ProcessManager>::NAME).unwrap(), at);
    assert!(at > 0 && at <= store.head_position().await.unwrap());
    assert_posted_exactly_once(&store).await;
}
