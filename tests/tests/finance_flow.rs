//! 业务发生即财务记账, end to end: a purchase received, a sale reserved, shipped, invoiced and paid, with
//! the process managers live; the automatic-voucher process manager books every value-moving event into
//! the month's journal, and the ledger folded from the journal balances and agrees with the documents.

use command_api::finance::{MonthEndReport, close_period, run_month_end};
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::finance::book::Book;
use domain::process::auto_vouchers::AutoVouchers;
use domain::time::Period;
use domain::{CommandId, CommandMeta, Role};
use infra::EmbeddedStore;
use projections::ledger::Ledger;
use projections::open_items::Ledger::{Payable, Receivable};
use projections::reports::{BalanceSheet, IncomeStatement};
use rust_decimal::Decimal;
use tests::scenarios::{BOOK, CUSTOMER, ITEM, NOVEMBER, SUPPLIER, WAREHOUSE};
use uuid::Uuid;

fn meta(n: u128, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "li", BOOK, NOVEMBER).with_roles(roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
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
    let tests::scenarios::Trade { po, order, shipment, invoice } =
        tests::scenarios::buy_and_sell(&bus, dir.path()).await;

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
