//! A stocktake loss settled as abnormal (theft) with part of it owed by the warehouse keeper, from the
//! approval through stock posting to the voucher: 待处理财产损溢 passes through to zero, the input VAT
//! on the stolen goods is transferred out, the keeper's debt is an other receivable, the rest is a
//! non-operating expense, and the month-end VAT transfer counts the transfer-out.

use command_api::CommandBus;
use command_api::finance::{MonthEndReport, run_month_end};
use domain::inventory::{
    CostingMethod, DocRef, LossTreatment, StockCommand, StockItem, StockKey, StockPolicy, Stocktake,
    StocktakeCommand, StocktakeLine, StocktakeLoss, stocktake::StocktakeStatus,
};
use domain::time::Period;
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, Role, StocktakeId, Timestamp, WarehouseId};
use infra::{EmbeddedStore, EventStore};
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));
const STOLEN: ItemId = ItemId(Uuid::from_u128(10));
const SHRUNK: ItemId = ItemId(Uuid::from_u128(11));
const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

fn meta(n: u128, actor: &str, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BOOK, NOVEMBER).with_roles(roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: Decimal::ZERO, allow_negative: false }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abnormal_loss_transfers_its_input_vat_out_and_the_keeper_owes_what_was_approved() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let november = Period::new(2026, 11).unwrap();
    tests::fixtures::book(&bus, BOOK, november).await;
    // Opening stock without vouchers: 10 of each at 20.00, so the loss is the only thing booked.
    for (n, item) in [STOLEN, SHRUNK].into_iter().enumerate() {
        let receive = StockCommand::Receive {
            key: StockKey { item, warehouse: WAREHOUSE },
            policy: policy(),
            qty: Quantity::units(10),
            unit_cost: UnitAmount::new(d("20.00")).unwrap(),
            lot: None,
            bin: None,
            source: DocRef { kind: "test.Opening".into(), id: Uuid::from_u128(90), line: Some(n as u32) },
        };
        bus.execute::<StockItem>(&meta(1 + n as u128, "li", &[Role::Warehouse]), &receive).await.unwrap();
    }
    let id = StocktakeId(Uuid::from_u128(7));
    let lines = [STOLEN, SHRUNK]
        .map(|item| StocktakeLine { item, book_qty: d("10"), policy: policy(), unit_cost: None })
        .to_vec();
    let theft = LossTreatment {
        abnormal_vat_rate: Some(d("0.13")),
        compensation: d("50.00"),
        liable: Some("仓管员 王五".into()),
    };
    let steps = vec![
        ("li", StocktakeCommand::Open { id, warehouse: WAREHOUSE, lines }),
        ("li", StocktakeCommand::Count { id, line: 0, counted: d("6") }),
        ("li", StocktakeCommand::Count { id, line: 1, counted: d("9") }),
        ("li", StocktakeCommand::Submit { id }),
    ];
    for (i, (actor, command)) in steps.into_iter().enumerate() {
        bus.execute::<Stocktake>(&meta(10 + i as u128, actor, &[Role::Warehouse]), &command).await.unwrap();
    }
    // A treatment for a line that gained or did not differ is refused, and nothing is appended.
    let head = store.head_position().await.unwrap();
    let wrong =
        StocktakeCommand::Approve { id, losses: vec![StocktakeLoss { line: 5, treatment: theft.clone() }] };
    let err = bus.execute::<Stocktake>(&meta(20, "wang", &[Role::Warehouse]), &wrong).await.unwrap_err();
    assert_eq!(err.code(), "stocktake.invalid_loss_treatment");
    let unowed = StocktakeCommand::Approve {
        id,
        losses: vec![StocktakeLoss { line: 0, treatment: LossTreatment { liable: None, ..theft.clone() } }],
    };
    let err = bus.execute::<Stocktake>(&meta(21, "wang", &[Role::Warehouse]), &unowed).await.unwrap_err();
    assert_eq!(err.code(), "stocktake.invalid_loss_treatment");
    assert_eq!(store.head_position().await.unwrap(), head);

    // 4 stolen (80.00 at cost), the keeper owes 50.00; 1 lost to ordinary shrinkage (20.00).
    let approve = StocktakeCommand::Approve { id, losses: vec![StocktakeLoss { line: 0, treatment: theft }] };
    bus.execute::<Stocktake>(&meta(22, "wang", &[Role::Warehouse]), &approve).await.unwrap();
    tests::fixtures::run_process_managers(&bus, dir.path()).await;
    let stocktake: Stocktake = bus.load(&format!("stocktake-{id}")).await.unwrap();
    assert_eq!(stocktake.status, StocktakeStatus::Completed);

    let ledger = tests::books::fold_books(&store).await.ledger;
    let balance = |code: &str| ledger.balance(code, november);
    assert_eq!(balance("1405"), d("-100.00"), "80.00 stolen and 20.00 shrunk, at cost");
    assert_eq!(balance("1901"), Decimal::ZERO, "待处理财产损溢 passes through");
    assert_eq!(balance("22210103"), d("-10.40"), "80.00 × 13 % of input VAT transferred out");
    assert_eq!(balance("1221"), d("50.00"), "the keeper owes 50.00");
    assert_eq!(balance("5711"), d("60.40"), "80.00 + 10.40 − 50.00, plus 20.00 of shrinkage");

    // Month end: with no sales, the transfer-out alone is VAT owed for the month.
    let admin = meta(30, "zhao", &[Role::Finance]);
    let report: MonthEndReport = run_month_end(&bus, &admin, BOOK, november).await.unwrap();
    assert!(report.vat_transfer.is_some(), "{report:?}");
    tests::fixtures::run_process_managers(&bus, dir.path()).await;
    let ledger = tests::books::fold_books(&store).await.ledger;
    assert_eq!(ledger.balance("222102", november), d("-10.40"), "未交增值税");
}
