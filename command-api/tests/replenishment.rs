//! Safety stock on the embedded store: an issue that takes available stock below the safety level raises
//! one replenishment suggestion for the shortfall, through the replenishment process manager.

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{
    CostingMethod, DocRef, Replenishment, StockCommand, StockItem, StockKey, StockPolicy,
};
use domain::process::replenishment::Replenishing;
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, Timestamp, WarehouseId};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "kai", BookId(Uuid::from_u128(1)), Timestamp(0))
}

#[tokio::test]
async fn falling_below_safety_stock_raises_one_suggestion_for_the_shortfall() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let key = StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WarehouseId(Uuid::from_u128(2)) };
    let receive = StockCommand::Receive {
        key,
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::from(8),
            allow_negative: false,
        },
        qty: Quantity::units(10),
        unit_cost: UnitAmount::new(Decimal::ONE).unwrap(),
        lot: None,
        bin: None,
        source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(1), line: None },
    };
    bus.execute::<StockItem>(&meta(1), &receive).await.unwrap();
    for n in 0..3u128 {
        let issue = StockCommand::Issue {
            key,
            qty: Quantity::units(2),
            reservation: None,
            lot: None,
            source: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(10 + n), line: None },
        };
        bus.execute::<StockItem>(&meta(10 + n), &issue).await.unwrap();
    }
    ProcessRunner::new(bus.clone(), Replenishing, FileCheckpoints::new(dir.path()), 1)
        .run_until_quiet()
        .await
        .unwrap();
    let state: Replenishment =
        bus.load(&format!("replenishment-{}-{}", key.item, key.warehouse)).await.unwrap();
    assert_eq!(state.suggestions, 1, "one suggestion while stock stays below safety");
    let suggested = state.open.expect("the suggestion is open");
    assert_eq!((suggested.available, suggested.suggested_qty), (Decimal::from(6), Decimal::from(2)));
}
