//! A small manufacturer's month: raw material bought into 原材料, production wages into 生产成本,
//! material issued to a production order (Dr 生产成本 / Cr 原材料), the product completed into 库存商品
//! at the materials' cost plus the conversion cost (Dr 库存商品 / Cr 生产成本). Afterwards stock
//! valuation = 1403 + 1405, each account agrees with its items' stock, and 生产成本 is empty.

use command_api::CommandBus;
use command_api::production::{ProductionOrderDraft, release_production_order};
use command_api::purchasing::BookSettings;
use domain::finance::book::Book;
use domain::finance::payroll::{Payroll, PayrollCommand};
use domain::inventory::{CostingMethod, StockItem, StockKey, StockPolicy};
use domain::master::{Item, ItemCommand, ItemDetails, ItemKind};
use domain::production::{ProductionOrder, ProductionOrderCommand, ProductionStatus};
use domain::purchasing::{PoLineInput, PurchaseOrder, PurchaseOrderCommand};
use domain::time::Period;
use domain::values::{Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, GoodsReceiptId, ItemId, PartnerId, ProductionOrderId, PurchaseOrderId,
    Role, Timestamp, WarehouseId,
};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));
const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(70));
/// Stainless steel sheet, bought by the kilogram.
const STEEL: ItemId = ItemId(Uuid::from_u128(10));
/// The vacuum flask made from it.
const FLASK: ItemId = ItemId(Uuid::from_u128(11));
const WORKSHOP: WarehouseId = WarehouseId(Uuid::from_u128(20));

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: Decimal::ZERO, allow_negative: false }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materials_go_through_production_cost_into_the_product_and_every_stock_account_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let november = Period::new(2026, 11).unwrap();
    let mut n = 1000u128;
    let mut meta = |actor: &str, roles: &[Role]| {
        n += 1;
        CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BOOK, NOVEMBER).with_roles(roles)
    };
    tests::fixtures::book(&bus, BOOK, november).await;
    tests::fixtures::masters(&bus, &[], &[FLASK], &[WORKSHOP]).await;
    tests::fixtures::supplier(&bus, SUPPLIER, "宝钢不锈钢").await;
    let steel = ItemDetails {
        sku: "RM-304".into(),
        name: "304不锈钢板".into(),
        unit: "kg".into(),
        barcode: None,
        vat_rate: d("0.13"),
        costing: CostingMethod::MovingAverage,
        safety_stock: Decimal::ZERO,
        reorder_qty: Decimal::ZERO,
        default_supplier: Some(SUPPLIER),
        lead_time_days: 7,
        kind: ItemKind::RawMaterial,
    };
    bus.execute::<Item>(&meta("admin", &[]), &ItemCommand::Create { id: STEEL, details: steel })
        .await
        .unwrap();

    // 100 kg of steel at 5.00 received, invoice to come: 原材料, not 库存商品.
    let po = PurchaseOrderId(Uuid::from_u128(30));
    let place = PurchaseOrderCommand::Place {
        id: po,
        supplier: SUPPLIER,
        warehouse: WORKSHOP,
        department: "采购部".into(),
        lines: vec![PoLineInput {
            item: STEEL,
            qty: Quantity::units(100),
            unit_price: UnitAmount::new(d("5.00")).unwrap(),
            vat_rate: d("0.13"),
            policy: policy(),
            available_now: Decimal::ZERO,
        }],
        requisition: None,
        budget_remaining: Decimal::MAX,
        masters_usable: true,
    };
    bus.execute::<PurchaseOrder>(&meta("li", &[Role::Purchasing]), &place).await.unwrap();
    let approve = PurchaseOrderCommand::Approve { id: po };
    bus.execute::<PurchaseOrder>(&meta("wang", &[Role::Purchasing]), &approve).await.unwrap();
    let receive = PurchaseOrderCommand::Receive {
        id: po,
        receipt: GoodsReceiptId(Uuid::from_u128(31)),
        lines: vec![(0, Quantity::units(100))],
        bin: None,
        lot: None,
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: None,
    };
    bus.execute::<PurchaseOrder>(&meta("kai", &[Role::Warehouse]), &receive).await.unwrap();
    // The workshop's wages for the month: 300.00 of production labour into 生产成本.
    let accrue = PayrollCommand::Accrue {
        book: BOOK,
        period: november,
        selling: Decimal::ZERO,
        administration: Decimal::ZERO,
        production: d("300.00"),
    };
    bus.execute::<Payroll>(&meta("zhao", &[Role::Finance]), &accrue).await.unwrap();
    tests::fixtures::run_process_managers(&bus, dir.path()).await;

    // 10 flasks from 60 kg of steel; an order for 100 kg more than the 100 there is refused.
    let settings = BookSettings::default();
    let draft = |id: u128, kg: u32| ProductionOrderDraft {
        id: ProductionOrderId(Uuid::from_u128(id)),
        product: FLASK,
        qty: Quantity::units(10),
        warehouse: WORKSHOP,
        materials: vec![(STEEL, Quantity::units(kg))],
    };
    let head = store.head_position_now();
    let short =
        release_production_order(&bus, &meta("sun", &[]), &draft(41, 101), &settings).await.unwrap_err();
    assert_eq!(short.code(), "production.material_short");
    assert_eq!(store.head_position_now(), head, "nothing appended");
    release_production_order(&bus, &meta("sun", &[]), &draft(40, 60), &settings).await.unwrap();
    tests::fixtures::run_process_managers(&bus, dir.path()).await;
    let order_id = ProductionOrderId(Uuid::from_u128(40));
    let order: ProductionOrder = bus.load(&ProductionOrder::stream(order_id)).await.unwrap();
    assert_eq!(order.issued, vec![Some(d("300.00"))], "60 kg at 5.00 issued and recorded");
    // Done: the materials' 300.00 and the month's 300.00 of labour make 10 flasks at 60.00.
    let complete = ProductionOrderCommand::Complete { id: order_id, conversion_cost: d("300.00") };
    bus.execute::<ProductionOrder>(&meta("sun", &[]), &complete).await.unwrap();
    tests::fixtures::run_process_managers(&bus, dir.path()).await;
    let order: ProductionOrder = bus.load(&ProductionOrder::stream(order_id)).await.unwrap();
    assert_eq!(order.status, ProductionStatus::Completed);

    let books = tests::books::fold_books(&store).await;
    let ledger = &books.ledger;
    let balance = |code: &str| ledger.balance(code, november);
    let stock = |item| {
        let bus = bus.clone();
        async move { bus.load::<StockItem>(&StockKey { item, warehouse: WORKSHOP }.stream_id()).await.unwrap() }
    };
    let (steel, flasks) = (stock(STEEL).await, stock(FLASK).await);
    assert_eq!((steel.on_hand, steel.value), (d("40"), d("200.00")));
    assert_eq!((flasks.on_hand, flasks.value), (d("10"), d("600.00")));
    assert_eq!(balance("1403"), steel.value, "原材料 = the steel in stock");
    assert_eq!(balance("1405"), flasks.value, "库存商品 = the flasks in stock");
    assert_eq!(balance("4001"), Decimal::ZERO, "生产成本 emptied into the product");
    assert_eq!(balance("220202"), d("-500.00"), "the steel's invoice is still to come");
    assert_eq!(balance("2211"), d("-300.00"), "wages owed");
    let book: Book = bus.load(&Book::stream(BOOK)).await.unwrap();
    let rows = ledger.trial_balance(&book.accounts, november);
    assert_eq!(rows.iter().filter(|r| r.level == 1).map(|r| r.closing).sum::<Decimal>(), Decimal::ZERO);
    // Drill-down: the product's cost in 1405 leads to the production order.
    let receipt = books.detail("1405", november..=november);
    let source =
        receipt.iter().find_map(|e| e.source.clone()).expect("the completion is booked with its source");
    assert_eq!((source.kind.as_str(), source.id), ("production.ProductionOrder", order_id.0));
}
