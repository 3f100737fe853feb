//! 业务发生即财务记账, end to end: a purchase received, a sale reserved, shipped, invoiced and paid, with
//! the process managers live; the automatic-voucher process manager books every value-moving event into
//! the month's journal, and the ledger folded from the journal balances and agrees with the documents.

use command_api::finance::{MonthEndReport, close_period, run_month_end};
use command_api::sales::{issue_sales_invoice, place_sales_order};
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::finance::book::Book;
use domain::inventory::{CostingMethod, StockPolicy};
use domain::process::auto_vouchers::AutoVouchers;
use domain::process::order_fulfilment::line_reservation;
use domain::purchasing::{
    OrderLineFacts, PoLineInput, PurchaseInvoice, PurchaseInvoiceCommand, PurchaseInvoiceLineInput,
    PurchaseOrder, PurchaseOrderCommand, Tolerances,
};
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput,
    OrderLineInput, SalesInvoiceCommand, SalesOrderCommand, Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::time::Period;
use domain::values::{Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, CustomerReceiptId, GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId,
    PurchaseOrderId, Role, SalesInvoiceId, SalesOrderId, ShipmentId, Timestamp, WarehouseId,
};
use infra::EmbeddedStore;
use projections::ledger::Ledger;
use projections::open_items::Ledger::{Payable, Receivable};
use projections::reports::{BalanceSheet, IncomeStatement};
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));
const CUSTOMER: PartnerId = PartnerId(Uuid::from_u128(60));
const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(70));
const ITEM: ItemId = ItemId(Uuid::from_u128(10));
const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

fn meta(n: u128, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "li", BOOK, NOVEMBER).with_roles(roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn run_process_managers(bus: &CommandBus<EmbeddedStore>, dir: &std::path::Path) {
    let refused = tests::fixtures::run_process_managers(bus, dir).await;
    assert_eq!(refused, 0, "every automatic voucher was booked");
}

/// The ledger and every posted voucher's number, from the whole log.
async fn fold_ledger(store: &EmbeddedStore) -> (Ledger, Vec<u32>) {
    let books = tests::books::fold_books(store).await;
    (books.ledger, books.vouchers.into_iter().map(|(_, number)| number).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_moving_event_is_booked_once_and_the_ledger_balances_and_agrees_with_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let finance = [Role::Finance];
    tests::fixtures::book(&bus, BOOK, Period::new(2026, 11).unwrap()).await;
    tests::fixtures::masters(&bus, &[CUSTOMER], &[ITEM], &[WAREHOUSE]).await;
    tests::fixtures::supplier(&bus, SUPPLIER, "义乌小商品供应商").await;

    // Buy 10 at 12.00, receive them (no invoice yet: 暂估).
    let po = PurchaseOrderId(Uuid::from_u128(30));
    let place = PurchaseOrderCommand::Place {
        id: po,
        supplier: SUPPLIER,
        warehouse: WAREHOUSE,
        department: "采购部".into(),
        lines: vec![PoLineInput {
            item: ITEM,
            qty: Quantity::units(10),
            unit_price: UnitAmount::new(d("12.00")).unwrap(),
            vat_rate: d("0.13"),
            policy: StockPolicy {
                costing: CostingMethod::Fifo,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            available_now: Decimal::ZERO,
        }],
        requisition: None,
        budget_remaining: Decimal::MAX,
        masters_usable: true,
    };
    bus.execute::<PurchaseOrder>(&meta(3, &[Role::Purchasing]), &place).await.unwrap();
    let approve = PurchaseOrderCommand::Approve { id: po };
    bus.execute::<PurchaseOrder>(
        &CommandMeta { actor: "wang".into(), ..meta(4, &[Role::Purchasing]) },
        &approve,
    )
    .await
    .unwrap();
    let receive = PurchaseOrderCommand::Receive {
        id: po,
        receipt: GoodsReceiptId(Uuid::from_u128(31)),
        lines: vec![(0, Quantity::units(10))],
        bin: None,
        lot: None,
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: None,
    };
    bus.execute::<PurchaseOrder>(&meta(5, &[Role::Warehouse]), &receive).await.unwrap();
    run_process_managers(&bus, dir.path()).await;
    // The supplier's invoice arrives at 12.30 a unit, within the 5 % price tolerance.
    let register = PurchaseInvoiceCommand::Register {
        id: PurchaseInvoiceId(Uuid::from_u128(32)),
        supplier: SUPPLIER,
        number: "No.04512399".into(),
        lines: vec![PurchaseInvoiceLineInput {
            po,
            po_line: 0,
            item: ITEM,
            qty: Quantity::units(10),
            unit_price: UnitAmount::new(d("12.30")).unwrap(),
            vat_rate: d("0.13"),
        }],
        facts: vec![OrderLineFacts {
            po,
            po_line: 0,
            ordered_price: d("12.00"),
            received_qty: d("10"),
            invoiced_qty: Decimal::ZERO,
        }],
        tolerances: Tolerances { qty: Decimal::ZERO, price: d("0.05") },
        masters_usable: true,
    };
    bus.execute::<PurchaseInvoice>(&meta(12, &[Role::Purchasing]), &register).await.unwrap();
    run_process_managers(&bus, dir.path()).await;

    // Sell 3 at 19.90 (+13 % VAT): reserve, ship, invoice, get paid 100.00 (32.54 more than owed).
    let order = SalesOrderId(Uuid::from_u128(40));
    let place = SalesOrderCommand::Place {
        id: order,
        customer: CUSTOMER,
        channel: Channel::Store { store: "南京路店".into() },
        warehouse: WAREHOUSE,
        lines: vec![OrderLineInput {
            item: ITEM,
            qty: Quantity::units(3),
            unit_price: UnitAmount::new(d("19.90")).unwrap(),
            vat_rate: d("0.13"),
            default_supplier: Some(SUPPLIER),
            warehouse: None,
        }],
        credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
        masters_usable: true,
    };
    place_sales_order(&bus, &meta(6, &[Role::Sales]), &place).await.unwrap();
    run_process_managers(&bus, dir.path()).await;
    let shipment = ShipmentId(Uuid::from_u128(41));
    let create = ShipmentCommand::Create {
        id: shipment,
        order,
        warehouse: WAREHOUSE,
        lines: vec![ShipmentLineInput {
            order_line: 0,
            item: ITEM,
            qty: Quantity::units(3),
            reservation: Some(line_reservation(order, 0)),
        }],
    };
    let pick = ShipmentCommand::Pick { id: shipment, picked: vec![d("3")] };
    let ship = ShipmentCommand::Ship { id: shipment };
    let (m7, m8, m9) =
        (meta(7, &[Role::Warehouse]), meta(8, &[Role::Warehouse]), meta(9, &[Role::Warehouse]));
    for outcome in bus.execute_all::<Shipment>(&[(&m7, &create), (&m8, &pick), (&m9, &ship)]).await.unwrap() {
        outcome.unwrap();
    }
    run_process_managers(&bus, dir.path()).await;
    let invoice = SalesInvoiceId(Uuid::from_u128(42));
    let issue = SalesInvoiceCommand::Issue {
        id: invoice,
        customer: CUSTOMER,
        lines: vec![InvoiceLineInput {
            shipment,
            item: ITEM,
            qty: Quantity::units(3),
            unit_price: UnitAmount::new(d("19.90")).unwrap(),
            vat_rate: d("0.13"),
        }],
        due_at: NOVEMBER,
        masters_usable: true,
    };
    issue_sales_invoice(&bus, &meta(10, &[Role::Sales]), &issue).await.unwrap();
    let receipt = CustomerReceiptCommand::Record {
        id: CustomerReceiptId(Uuid::from_u128(43)),
        customer: CUSTOMER,
        amount: d("100.00"),
        allocation: Allocation::Explicit(vec![(invoice, d("67.46"))]),
    };
    bus.execute::<CustomerReceipt>(&meta(11, &[Role::Finance]), &receipt).await.unwrap();
    run_process_managers(&bus, dir.path()).await;

    let (ledger, mut numbers) = fold_ledger(&store).await;
    numbers.sort_unstable();
    // Goods received, purchase invoice, its price difference into stock, shipment cost, sales invoice,
    // receipt: six vouchers, 1 to 6.
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6]);
    let november = Period::new(2026, 11).unwrap();
    let balance = |code: &str| ledger.balance(code, november);
    assert_eq!(balance("1405"), d("86.10"), "stock: 10 × 12.00 in, 3.00 dearer when invoiced, 3 × 12.30 out");
    assert_eq!(balance("220202"), Decimal::ZERO, "the invoice cleared the estimate");
    assert_eq!(balance("220201"), d("-138.99"), "owed to the supplier: 123.00 + 15.99 VAT");
    assert_eq!(balance("22210101"), d("15.99"));
    assert_eq!(balance("5401"), d("36.90"), "the stock issue's cost, at the invoiced price");
    assert_eq!(balance("5001"), d("-59.70"));
    assert_eq!(balance("22210102"), d("-7.76"));
    assert_eq!(balance("1122"), Decimal::ZERO, "the invoice is paid");
    assert_eq!(balance("2203"), d("-32.54"), "what was paid beyond the invoice is an advance");
    assert_eq!(balance("1002"), d("100.00"));
    // Drill-down: cost of sales → its voucher → the shipment → the very event that caused it.
    let cogs = tests::books::fold_books(&store).await.detail("5401", november..=november);
    let source = cogs
        .iter()
        .filter_map(|e| e.source.clone())
        .find(|s| s.kind == "sales.Shipment")
        .expect("the shipment's cost is booked with its source");
    assert_eq!((source.kind.as_str(), source.id), ("sales.Shipment", shipment.0));
    let all = tests::books::whole_log(&store).await;
    let cause = all.iter().find(|e| e.event_id == source.event).expect("the source event is in the log");
    assert_eq!(cause.event_type.name(), "sales.ShipmentCosted");
    // The document lists say where each document stands.
    {
        use projections::documents::{DocumentFilter, DocumentKind as K, Documents, Status};
        use projections::runtime::View;
        let mut documents = View::<Documents>::default();
        documents.catch_up(&store, store.head_position_now(), |_| {}).await.unwrap();
        let status =
            |kind, id: Uuid| documents.model.get(kind, id).map(|d| d.status.word()).unwrap_or_default();
        assert_eq!(status(K::PurchaseOrder, po.0), "received");
        assert_eq!(status(K::PurchaseInvoice, Uuid::from_u128(32)), "matched");
        assert_eq!(status(K::SalesOrder, order.0), "shipped");
        assert_eq!(status(K::Shipment, shipment.0), "shipped");
        assert_eq!(status(K::SalesInvoice, invoice.0), "paid");
        assert_eq!(status(K::CustomerReceipt, Uuid::from_u128(43)), "recorded");
        let customer = DocumentFilter { partner: Some(CUSTOMER), ..DocumentFilter::default() };
        let listed: Vec<K> = documents.model.list(&customer, None, 10).iter().map(|d| d.kind).collect();
        assert_eq!(listed.len(), 3, "the customer's order, invoice and receipt: {listed:?}");
        let paid = DocumentFilter { status: Status::parse("paid"), ..DocumentFilter::default() };
        assert_eq!(documents.model.list(&paid, None, 10).len(), 1);
        // The owner's dashboard agrees with the ledger.
        let mut dashboard = View::<projections::dashboard::Dashboard>::default();
        dashboard.catch_up(&store, store.head_position_now(), |_| {}).await.unwrap();
        let totals = dashboard.model.totals(None, None);
        assert_eq!(
            (totals.revenue, totals.cost_of_sales, totals.gross_margin, totals.orders),
            (d("59.70"), d("36.90"), d("22.80"), 1)
        );
        assert_eq!(dashboard.model.by_channel()["store"], d("67.46"), "ordered gross, by channel");
        assert_eq!(dashboard.model.by_region()["上海"], d("67.46"), "and by the customer's region");
        let top = dashboard.model.top_items(5);
        assert_eq!((top[0].0, top[0].1.qty, top[0].1.revenue), (ITEM, d("3"), d("59.70")));
    }
    // Stock valuation agrees with 1405.
    let stock: domain::inventory::StockItem = bus
        .load(&domain::inventory::StockKey { item: ITEM, warehouse: WAREHOUSE }.stream_id())
        .await
        .unwrap();
    assert_eq!(stock.value, balance("1405"));
    // The subledgers agree with the ledger: the customer's advance is 1122 + 2203, the supplier's
    // invoice is 2202-supplier.
    let items = tests::books::fold_books(&store).await.open_items;
    assert_eq!(items.balances(Receivable, NOVEMBER)[&CUSTOMER], balance("1122") + balance("2203"));
    assert_eq!(items.balances(Payable, NOVEMBER)[&SUPPLIER], -balance("220201"));
    assert_eq!(items.aging(Receivable, NOVEMBER).total(), Decimal::ZERO, "the sales invoice is paid");
    assert_eq!(items.aging(Payable, NOVEMBER).days_0_30, d("138.99"));
    let book: Book = bus.load(&Book::stream(BOOK)).await.unwrap();
    let rows = ledger.trial_balance(&book.accounts, november);
    let top = rows.iter().filter(|r| r.level == 1);
    assert_eq!(top.clone().map(|r| r.closing).sum::<Decimal>(), Decimal::ZERO, "the trial balance balances");
    assert_eq!(top.clone().map(|r| r.debit).sum::<Decimal>(), top.map(|r| r.credit).sum::<Decimal>());

    // Month end: input VAT (15.99) exceeds output VAT (7.76), so nothing moves to 未交增值税 (留抵); the
    // month's profit moves to 本年利润; then the month closes.
    let accountant = || CommandMeta { actor: "zhao".into(), ..meta(20, &finance) };
    let report = run_month_end(&bus, &accountant(), BOOK, november).await.unwrap();
    assert_eq!((report.vat_transfer, report.profit_transfer, report.year_end), (None, Some(7), None));
    let again = run_month_end(&bus, &accountant(), BOOK, november).await.unwrap();
    assert_eq!(again, MonthEndReport::default(), "a second run finds nothing more to move");
    close_period(&bus, &meta(21, &finance), BOOK, november).await.unwrap();
    let (ledger, numbers) = fold_ledger(&store).await;
    let balance = |code: &str| ledger.balance(code, november);
    assert_eq!((balance("22210104"), balance("222102")), (Decimal::ZERO, Decimal::ZERO));
    assert_eq!((balance("5001"), balance("5401")), (Decimal::ZERO, Decimal::ZERO));
    assert_eq!(balance("3103"), d("-22.80"), "59.70 of sales less 36.90 of cost");
    assert_eq!(numbers.len(), 7);
    // The statements: the balance sheet balances, the income statement reports the month's trading.
    let chart = bus.load::<Book>(&Book::stream(BOOK)).await.unwrap().accounts;
    let sheet = BalanceSheet::at(&ledger, &chart, november);
    assert_eq!(sheet.total_assets, sheet.total_liabilities + sheet.total_equity);
    assert_eq!(
        (sheet.cash, sheet.inventories, sheet.retained_earnings),
        (d("100.00"), d("86.10"), d("22.80"))
    );
    let income = IncomeStatement::over(&ledger, &chart, november..=november);
    assert_eq!(
        (income.revenue, income.cost_of_sales, income.net_profit),
        (d("59.70"), d("36.90"), d("22.80"))
    );
    // December is the year's last month: its month end moves the year's profit to 利润分配.
    let december = Period::new(2026, 12).unwrap();
    let year = run_month_end(&bus, &meta(22, &finance), BOOK, december).await.unwrap();
    assert_eq!((year.vat_transfer, year.profit_transfer, year.year_end), (None, None, Some(1)));
    let (ledger, _) = fold_ledger(&store).await;
    assert_eq!(
        (ledger.balance("3103", december), ledger.balance("3104", december)),
        (Decimal::ZERO, d("-22.80"))
    );

    // Replaying every event through a fresh automatic-voucher runner books nothing twice.
    let fresh = tempfile::tempdir().unwrap();
    let mut again = ProcessRunner::new(bus.clone(), AutoVouchers, FileCheckpoints::new(fresh.path()), 64);
    again.run_until_quiet().await.unwrap();
    assert_eq!(again.stats.commands_done, 0);
    assert_eq!(fold_ledger(&store).await.1.len(), 8);
}
