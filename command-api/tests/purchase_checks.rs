//! The automatic checks of a purchase order (masters, stock, department budget) through
//! `command_api::purchasing` on the embedded store: facts are read from the aggregates that own them,
//! the budget is committed before the order is placed, and two orders cannot both take its last yuan.

use command_api::CommandBus;
use command_api::purchasing::{
    BookSettings, OrderLineDraft, PurchaseOrderDraft, amend_purchase_order, cancel_purchase_order_remainder,
    place_purchase_order, receive_purchase_order,
};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::master::{
    Item, ItemCommand, ItemDetails, Partner, PartnerCommand, PartnerDetails, PartnerRoles, Warehouse,
    WarehouseCommand, WarehouseDetails,
};
use domain::purchasing::{
    BudgetCommand, DepartmentBudget, PurchaseOrder, PurchaseOrderCommand, PurchaseOrderEvent,
    PurchaseOrderStatus,
};
use domain::time::Period;
use domain::values::{Code, Quantity, UnitAmount};
use domain::{
    Aggregate, BookId, CommandId, CommandMeta, GoodsReceiptId, ItemId, PartnerId, PurchaseOrderId, Role,
    Timestamp, WarehouseId,
};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z: a business date in November in Shanghai.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
/// 2026-10-31T23:30Z: still October in UTC, already 1 November in Shanghai.
const LAST_OCTOBER_NIGHT: Timestamp = Timestamp(1_793_489_400_000_000);

const BOOK: BookId = BookId(Uuid::from_u128(1));

fn meta(n: u128, actor: &str, roles: &[Role], at: Timestamp) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BOOK, at).with_roles(roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn item(n: u128) -> ItemId {
    ItemId(Uuid::from_u128(100 + n))
}

const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(40));
const CUSTOMER_ONLY: PartnerId = PartnerId(Uuid::from_u128(41));
const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

fn department() -> Code {
    Code::new("department", "采购部").unwrap()
}

fn november() -> Period {
    Period::new(2026, 11).unwrap()
}

async fn masters(bus: &CommandBus<EmbeddedStore>) {
    masters_in(bus, BOOK, 0).await;
}

/// [`masters`] recorded in `book`, their ids shifted by `shift` (ids name streams, and a stream
/// belongs to one book).
async fn masters_in(bus: &CommandBus<EmbeddedStore>, book: BookId, shift: u128) {
    let admin = |n| CommandMeta { book, ..meta(n + shift, "admin", &[Role::Admin], NOVEMBER) };
    let shifted = |p: PartnerId| PartnerId(Uuid::from_u128(p.0.as_u128() + shift));
    for (n, id, supplier) in [(1, shifted(SUPPLIER), true), (2, shifted(CUSTOMER_ONLY), false)] {
        let details = PartnerDetails {
            name: format!("partner {n}"),
            roles: PartnerRoles { customer: !supplier, supplier },
            tax_id: None,
            credit_limit: Decimal::ZERO,
            payment_terms_days: 30,
            region: "上海".into(),
        };
        bus.execute::<Partner>(&admin(n), &PartnerCommand::Create { id, details }).await.unwrap();
    }
    let warehouse = WarehouseDetails {
        code: "SH1".into(),
        name: "上海一号仓".into(),
        city: "上海".into(),
        latitude: d("31.23"),
        longitude: d("121.47"),
        bins: vec!["A-01".into(), "A-02".into()],
    };
    let id = WarehouseId(Uuid::from_u128(WAREHOUSE.0.as_u128() + shift));
    bus.execute::<Warehouse>(&admin(3), &WarehouseCommand::Create { id, details: warehouse }).await.unwrap();
    for n in 0..3 {
        let details = ItemDetails {
            sku: format!("SKU-{n}"),
            name: format!("item {n}"),
            unit: "个".into(),
            barcode: None,
            vat_rate: d("0.13"),
            costing: CostingMethod::Fifo,
            safety_stock: d("5"),
            reorder_qty: d("50"),
            default_supplier: Some(SUPPLIER),
            lead_time_days: 7,
            kind: domain::master::ItemKind::Goods,
        };
        let id = item(n + shift);
        bus.execute::<Item>(&admin(10 + n), &ItemCommand::Create { id, details }).await.unwrap();
    }
    bus.execute::<Item>(&admin(20), &ItemCommand::Deactivate { id: item(2 + shift) }).await.unwrap();
}

async fn set_budget(bus: &CommandBus<EmbeddedStore>, amount: &str) {
    let set =
        BudgetCommand::Set { book: BOOK, department: department(), period: november(), amount: d(amount) };
    bus.execute::<DepartmentBudget>(&meta(30, "zhao", &[Role::Finance], NOVEMBER), &set).await.unwrap();
}

async fn budget(bus: &CommandBus<EmbeddedStore>) -> DepartmentBudget {
    let any = BudgetCommand::Set {
        book: BOOK,
        department: department(),
        period: november(),
        amount: Decimal::ZERO,
    };
    bus.load(&DepartmentBudget::stream_id(&any)).await.unwrap()
}

fn draft(order: u128, lines: &[(u128, u32, &str)]) -> PurchaseOrderDraft {
    PurchaseOrderDraft {
        id: PurchaseOrderId(Uuid::from_u128(order)),
        supplier: SUPPLIER,
        warehouse: WAREHOUSE,
        department: "采购部".into(),
        lines: lines
            .iter()
            .map(|&(n, qty, price)| OrderLineDraft {
                item: item(n),
                qty: Quantity::units(qty),
                unit_price: UnitAmount::new(d(price)).unwrap(),
                vat_rate: d("0.13"),
            })
            .collect(),
        requisition: None,
    }
}

fn placed(events: &[PurchaseOrderEvent]) -> &domain::purchasing::order::PurchaseOrderPlaced {
    let [PurchaseOrderEvent::Placed(placed)] = events else { panic!("{events:?}") };
    placed
}

fn open_store() -> (CommandBus<EmbeddedStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (CommandBus::new(EmbeddedStore::open_dir(dir.path()).unwrap()), dir)
}

#[tokio::test]
async fn placing_reads_the_stock_and_item_masters_and_commits_the_amount_to_the_departments_month() {
    let (bus, _dir) = open_store();
    masters(&bus).await;
    set_budget(&bus, "10000").await;
    let receive = StockCommand::Receive {
        key: StockKey { item: item(0), warehouse: WAREHOUSE },
        policy: StockPolicy { costing: CostingMethod::Fifo, safety_stock: d("5"), allow_negative: false },
        qty: Quantity::units(7),
        unit_cost: UnitAmount::new(d("2")).unwrap(),
        lot: None,
        bin: None,
        source: DocRef { kind: "opening".into(), id: Uuid::from_u128(1), line: None },
    };
    bus.execute::<StockItem>(&meta(31, "kai", &[], NOVEMBER), &receive).await.unwrap();
    // Placed late on 31 October UTC: in Shanghai that is November, the month with the budget.
    let buyer = meta(50, "li", &[Role::Purchasing], LAST_OCTOBER_NIGHT);
    let entered = draft(1, &[(0, 100, "25"), (1, 20, "25")]);
    let done = place_purchase_order(&bus, &buyer, &entered, &BookSettings::default()).await.unwrap();
    let order = placed(&done.events);
    assert!(!order.over_budget);
    assert_eq!(order.amount_net, d("3000"));
    assert_eq!(order.lines[0].available_at_order, d("7"), "the stock check read the stock item");
    assert_eq!(order.lines[1].available_at_order, d("0"));
    assert_eq!(order.lines[0].policy.costing, CostingMethod::Fifo, "the policy came from the item master");
    assert_eq!(order.lines[0].policy.safety_stock, d("5"));
    assert_eq!(budget(&bus).await.remaining(), Some(d("7000")));

    // The client retries the same placement: nothing is committed or placed twice.
    let again = place_purchase_order(&bus, &buyer, &entered, &BookSettings::default()).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(budget(&bus).await.remaining(), Some(d("7000")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_orders_racing_for_the_last_of_the_budget_exactly_one_fits_and_the_other_waits_for_finance() {
    let (bus, _dir) = open_store();
    masters(&bus).await;
    set_budget(&bus, "1000").await;
    let mut tasks = Vec::new();
    for n in 0..2u128 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            let buyer = meta(60 + n, "li", &[Role::Purchasing], NOVEMBER);
            place_purchase_order(&bus, &buyer, &draft(2 + n, &[(0, 24, "25")]), &BookSettings::default())
                .await
        }));
    }
    let mut over = 0;
    for task in tasks {
        let done = task.await.unwrap().unwrap();
        over += usize::from(placed(&done.events).over_budget);
    }
    assert_eq!(over, 1, "600 fits in 1,000 once");
    let budget = budget(&bus).await;
    assert_eq!(budget.committed, d("1200"), "both commitments are on record");
    assert_eq!(budget.decisions.values().filter(|d| d.over_budget).count(), 1);
    for n in 0..2u128 {
        let order: PurchaseOrder =
            bus.load(&format!("purchase-order-{}", Uuid::from_u128(2 + n))).await.unwrap();
        let waiting = budget.decisions[&PurchaseOrderId(Uuid::from_u128(2 + n))].over_budget;
        let expected =
            if waiting { PurchaseOrderStatus::AwaitingBudget } else { PurchaseOrderStatus::Placed };
        assert_eq!(order.status, expected);
    }
}

#[tokio::test]
async fn another_book_s_department_of_the_same_code_commits_against_its_own_budget() {
    let (bus, _dir) = open_store();
    masters(&bus).await;
    set_budget(&bus, "1000").await;
    let buyer = meta(80, "li", &[Role::Purchasing], NOVEMBER);
    let done = place_purchase_order(&bus, &buyer, &draft(10, &[(0, 24, "25")]), &BookSettings::default())
        .await
        .unwrap();
    assert!(!placed(&done.events).over_budget, "600 of the first book's 1,000");
    // The other book has a 采购部 too, with no budget set: its order is unbudgeted, and the first
    // book's budget is left as it was.
    let other_book = BookId(Uuid::from_u128(2));
    let other_buyer = CommandMeta { book: other_book, ..meta(81, "chen", &[Role::Purchasing], NOVEMBER) };
    // The first book's supplier, warehouse and items do not exist for the other book.
    let borrowed = CommandMeta { book: other_book, ..meta(82, "chen", &[Role::Purchasing], NOVEMBER) };
    let err = place_purchase_order(&bus, &borrowed, &draft(12, &[(0, 1, "1")]), &BookSettings::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "po.master_unusable");
    masters_in(&bus, other_book, 1_000).await;
    let shift = |n: u128| Uuid::from_u128(n + 1_000);
    let theirs = PurchaseOrderDraft {
        supplier: PartnerId(shift(SUPPLIER.0.as_u128())),
        warehouse: WarehouseId(shift(WAREHOUSE.0.as_u128())),
        ..draft(11, &[(1_000, 40, "25")])
    };
    let done = place_purchase_order(&bus, &other_buyer, &theirs, &BookSettings::default()).await.unwrap();
    assert!(!placed(&done.events).over_budget, "1,000 in a month the other book did not budget");
    assert_eq!(budget(&bus).await.remaining(), Some(d("400")));
    let theirs = BudgetCommand::Set {
        book: other_book,
        department: department(),
        period: november(),
        amount: Decimal::ZERO,
    };
    let stream = DepartmentBudget::stream_id(&theirs);
    assert_eq!(stream, format!("budget-{}-采购部-2026-11", other_book.0));
    let theirs: DepartmentBudget = bus.load(&stream).await.unwrap();
    assert_eq!((theirs.amount, theirs.committed), (None, d("1000")));
}

#[tokio::test]
async fn a_deactivated_item_or_a_partner_that_is_not_a_supplier_makes_the_order_unusable_and_commits_nothing()
{
    let (bus, _dir) = open_store();
    masters(&bus).await;
    set_budget(&bus, "1000").await;
    let buyer = meta(70, "li", &[Role::Purchasing], NOVEMBER);
    let err = place_purchase_order(&bus, &buyer, &draft(5, &[(2, 1, "1")]), &BookSettings::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "po.master_unusable");
    let mut customer = draft(6, &[(0, 1, "1")]);
    customer.supplier = CUSTOMER_ONLY;
    let buyer = meta(71, "li", &[Role::Purchasing], NOVEMBER);
    let err = place_purchase_order(&bus, &buyer, &customer, &BookSettings::default()).await.unwrap_err();
    assert_eq!(err.code(), "po.master_unusable");
    let mut nameless = draft(7, &[(0, 1, "1")]);
    nameless.department = "  ".into();
    let err = place_purchase_order(&bus, &buyer, &nameless, &BookSettings::default()).await.unwrap_err();
    assert_eq!(err.code(), "po.invalid_department");
    assert_eq!(budget(&bus).await.committed, Decimal::ZERO);
}

#[tokio::test]
async fn amending_moves_the_commitment_and_cancelling_the_remainder_frees_what_was_not_received() {
    let (bus, _dir) = open_store();
    masters(&bus).await;
    set_budget(&bus, "5000").await;
    let settings = BookSettings::default();
    let order = PurchaseOrderId(Uuid::from_u128(8));
    place_purchase_order(
        &bus,
        &meta(80, "li", &[Role::Purchasing], NOVEMBER),
        &draft(8, &[(0, 100, "10")]),
        &settings,
    )
    .await
    .unwrap();
    assert_eq!(budget(&bus).await.remaining(), Some(d("4000")));
    // Amended to 450 units: 4,500 fits in what was left for it (4,000 free plus its own 1,000).
    let lines = draft(8, &[(0, 450, "10")]).lines;
    let amended =
        amend_purchase_order(&bus, &meta(81, "li", &[Role::Purchasing], NOVEMBER), order, &lines, &settings)
            .await
            .unwrap();
    assert!(matches!(&amended.events[..], [PurchaseOrderEvent::Amended(a)] if !a.over_budget));
    assert_eq!(budget(&bus).await.remaining(), Some(d("500")));
    bus.execute::<PurchaseOrder>(
        &meta(82, "wang", &[Role::Purchasing], NOVEMBER),
        &PurchaseOrderCommand::Approve { id: order },
    )
    .await
    .unwrap();
    // 120 units arrive into a bin the warehouse has; one into a bin it does not have is refused.
    let receive = |n: u128, bin: &str| PurchaseOrderCommand::Receive {
        id: order,
        receipt: GoodsReceiptId(Uuid::from_u128(n)),
        lines: vec![(0, Quantity::units(120))],
        bin: Some(bin.into()),
        lot: None,
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: None,
    };
    let err =
        receive_purchase_order(&bus, &meta(83, "kai", &[Role::Warehouse], NOVEMBER), &receive(900, "Z-99"))
            .await
            .unwrap_err();
    assert_eq!(err.code(), "po.unknown_bin");
    receive_purchase_order(&bus, &meta(84, "kai", &[Role::Warehouse], NOVEMBER), &receive(901, "A-02"))
        .await
        .unwrap();
    cancel_purchase_order_remainder(
        &bus,
        &meta(85, "li", &[Role::Purchasing], NOVEMBER),
        order,
        "supplier short",
        &settings,
    )
    .await
    .unwrap();
    // Only what came (120 × 10) stays committed.
    assert_eq!(budget(&bus).await.remaining(), Some(d("3800")));
}
