//! Returns on the embedded store: goods a customer returns go back into stock at the cost they left
//! with, so the stock value reverses exactly; goods returned to a supplier leave stock.

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockEvent, StockItem, StockKey, StockPolicy};
use domain::process::returns::Returns;
use domain::returns::{Return, ReturnCommand, ReturnDirection, ReturnLineInput};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, PartnerId, ReturnId, Timestamp, WarehouseId};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "kai", BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn key() -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(10)), warehouse: WarehouseId(Uuid::from_u128(20)) }
}

fn policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: Decimal::ZERO, allow_negative: false }
}

fn return_of(n: u128, direction: ReturnDirection, unit_cost: Option<Decimal>) -> ReturnCommand {
    ReturnCommand::Create {
        id: ReturnId(Uuid::from_u128(n)),
        direction,
        partner: PartnerId(Uuid::from_u128(30)),
        warehouse: key().warehouse,
        original: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(40), line: None },
        lines: vec![ReturnLineInput {
            item: key().item,
            qty: Quantity::units(2),
            unit_price: UnitAmount::new(Decimal::from(20)).unwrap(),
            vat_rate: Decimal::new(13, 2),
            unit_cost: unit_cost.map(|c| UnitAmount::new(c).unwrap()),
            policy: policy(),
        }],
        reason: "wrong colour".into(),
        masters_usable: true,
    }
}

#[tokio::test]
async fn a_customer_return_restores_the_stock_value_and_a_supplier_return_takes_goods_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    // 3 units at 1.00 and 3 at 2.00: moving average 1.50; a shipment of 2 took 3.00.
    for (n, cost) in [(1u128, 100i64), (2, 200)] {
        let receive = StockCommand::Receive {
            key: key(),
            policy: policy(),
            qty: Quantity::units(3),
            unit_cost: UnitAmount::new(Decimal::new(cost, 2)).unwrap(),
            lot: None,
            bin: None,
            source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(n), line: None },
        };
        bus.execute::<StockItem>(&meta(n), &receive).await.unwrap();
    }
    let ship = StockCommand::Issue {
        key: key(),
        qty: Quantity::units(2),
        reservation: None,
        lot: None,
        source: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(40), line: Some(0) },
    };
    let shipped = bus.execute::<StockItem>(&meta(3), &ship).await.unwrap();
    let StockEvent::Issued(issued) = &shipped.events[0] else { panic!() };
    let before_shipment = (Decimal::from(6), Decimal::from(9));
    assert_eq!(issued.value, Decimal::from(3));

    // The customer returns both units, at the 1.50 each they left with.
    bus.execute::<Return>(
        &meta(4),
        &return_of(50, ReturnDirection::FromCustomer, Some(issued.value / issued.qty)),
    )
    .await
    .unwrap();
    bus.execute::<Return>(&meta(5), &ReturnCommand::Complete { id: ReturnId(Uuid::from_u128(50)) })
        .await
        .unwrap();
    let mut runner = ProcessRunner::new(bus.clone(), Returns, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    let after: StockItem = bus.load(&key().stream_id()).await.unwrap();
    assert_eq!((after.on_hand, after.value), before_shipment, "the return reverses the shipment exactly");

    // Two units go back to the supplier at the stock's cost.
    bus.execute::<Return>(&meta(6), &return_of(51, ReturnDirection::ToSupplier, None)).await.unwrap();
    bus.execute::<Return>(&meta(7), &ReturnCommand::Complete { id: ReturnId(Uuid::from_u128(51)) })
        .await
        .unwrap();
    runner.run_until_quiet().await.unwrap();
    let after: StockItem = bus.load(&key().stream_id()).await.unwrap();
    assert_eq!((after.on_hand, after.value), (Decimal::from(4), Decimal::from(6)));
    // The customer's goods back in, the supplier's out, and the cost they left at recorded on the return.
    assert_eq!(runner.stats.commands_done, 3);
    let supplier_return: Return =
        bus.load(&format!("return-{}", ReturnId(Uuid::from_u128(51)))).await.unwrap();
    assert_eq!(supplier_return.issued, vec![0]);
}
