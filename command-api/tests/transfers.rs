//! A two-step transfer on the embedded store: goods leave one warehouse with their cost and lots, are in
//! transit, and arrive in the other at the same cost and lots; the value moves, none is created or lost.

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{
    CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy, StockTransfer, TransferCommand,
    TransferLineInput, TransferStatus,
};
use domain::process::transfers::Transfers;
use domain::values::{Code, Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, Timestamp, TransferId, WarehouseId};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "kai", BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::ZERO, allow_negative: false }
}

fn key(warehouse: u128) -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(10)), warehouse: WarehouseId(Uuid::from_u128(warehouse)) }
}

#[tokio::test]
async fn goods_in_transit_arrive_at_the_cost_and_lots_they_left_with() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    for (n, lot, cost) in [(1u128, "L1", 100i64), (2, "L2", 130)] {
        let receive = StockCommand::Receive {
            key: key(1),
            policy: policy(),
            qty: Quantity::units(2),
            unit_cost: UnitAmount::new(Decimal::new(cost, 2)).unwrap(),
            lot: Some(Code::new("lot", lot).unwrap()),
            bin: None,
            source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(n), line: None },
        };
        bus.execute::<StockItem>(&meta(n), &receive).await.unwrap();
    }
    let id = TransferId(Uuid::from_u128(50));
    let create = TransferCommand::Create {
        id,
        from: key(1).warehouse,
        to: key(2).warehouse,
        lines: vec![TransferLineInput { item: key(1).item, qty: Quantity::units(3), policy: policy() }],
        masters_usable: true,
    };
    bus.execute::<StockTransfer>(&meta(3), &create).await.unwrap();
    bus.execute::<StockTransfer>(&meta(4), &TransferCommand::Dispatch { id }).await.unwrap();
    let mut runner = ProcessRunner::new(bus.clone(), Transfers, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    let transfer: StockTransfer = bus.load(&format!("transfer-{id}")).await.unwrap();
    assert_eq!(transfer.status, TransferStatus::InTransit);
    let sent: StockItem = bus.load(&key(1).stream_id()).await.unwrap();
    assert_eq!(
        (sent.on_hand, sent.value),
        (Decimal::from(1), Decimal::new(130, 2)),
        "2 × 1.00 + 1 × 1.30 left"
    );

    bus.execute::<StockTransfer>(&meta(5), &TransferCommand::Receive { id }).await.unwrap();
    runner.run_until_quiet().await.unwrap();
    let transfer: StockTransfer = bus.load(&format!("transfer-{id}")).await.unwrap();
    assert_eq!(transfer.status, TransferStatus::Completed);
    let arrived: StockItem = bus.load(&key(2).stream_id()).await.unwrap();
    assert_eq!((arrived.on_hand, arrived.value), (Decimal::from(3), Decimal::new(330, 2)));
    let lots: Vec<_> = arrived.layers.iter().map(|l| (l.lot.clone().unwrap(), l.qty)).collect();
    assert_eq!(lots, vec![("L1".to_string(), Decimal::from(2)), ("L2".to_string(), Decimal::from(1))]);
}
