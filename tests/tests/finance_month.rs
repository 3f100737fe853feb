//! A month of trading for a small company, with every voucher and balance worked out by hand beforehand in
//! `docs/finance-month-scenario.md`: partial receipts of goods, a purchase invoice dearer than the order,
//! a partial supplier payment, a customer's advance applied later, a sales invoice covering two
//! shipments, a partial customer receipt, a stocktake gain and loss, a transfer between warehouses,
//! payroll, month end and the close. The test runs it through the command bus with every process manager
//! and compares the books with the document.

use command_api::CommandBus;
use command_api::finance::{
    Opening, close_period, enter_opening_balances, import_bank_statement, match_statement_line, run_month_end,
};
use command_api::sales::{issue_sales_invoice, place_sales_order};
use domain::finance::bank::MatchTarget;
use domain::finance::book::Book;
use domain::finance::payroll::{Payroll, PayrollCommand};
use domain::finance::voucher::VoucherLine;
use domain::inventory::{
    CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy, StockTransfer, TransferCommand,
    TransferLineInput,
};
use domain::process::order_fulfilment::line_reservation;
use domain::purchasing::{
    OrderLineFacts, PoLineInput, PurchaseInvoice, PurchaseInvoiceCommand, PurchaseInvoiceLineInput,
    PurchaseOrder, PurchaseOrderCommand, SupplierPayment, SupplierPaymentCommand, Tolerances,
};
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput,
    OrderLineInput, SalesInvoiceCommand, SalesOrderCommand, Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::time::Period;
use domain::values::{Code, Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, CustomerReceiptId, GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId,
    PurchaseOrderId, Role, SalesInvoiceId, SalesOrderId, ShipmentId, SupplierPaymentId, Timestamp,
    TransferId, WarehouseId,
};
use infra::EmbeddedStore;
use projections::open_items::Ledger::{Payable, Receivable};
use projections::reports::IncomeStatement;
use rust_decimal::Decimal;
use uuid::Uuid;

const BOOK: BookId = BookId(Uuid::from_u128(1));
const CUSTOMER: PartnerId = PartnerId(Uuid::from_u128(60));
const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(70));
const A: ItemId = ItemId(Uuid::from_u128(11));
const B: ItemId = ItemId(Uuid::from_u128(12));
const SHANGHAI: WarehouseId = WarehouseId(Uuid::from_u128(21));
const BEIJING: WarehouseId = WarehouseId(Uuid::from_u128(22));

/// 10:00 in Shanghai on the given day of November 2026.
fn nov(day: i64) -> Timestamp {
    Timestamp(1_793_584_800_000_000 + (day - 2) * 86_400_000_000)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

struct Clerk {
    n: u128,
}

impl Clerk {
    fn at(&mut self, day: i64, roles: &[Role]) -> CommandMeta {
        self.n += 1;
        CommandMeta::new(CommandId(Uuid::from_u128(5_000 + self.n)), "li", BOOK, nov(day)).with_roles(roles)
    }
}

fn policy(costing: CostingMethod) -> StockPolicy {
    StockPolicy { costing, safety_stock: Decimal::ZERO, allow_negative: false }
}

async fn run_process_managers(bus: &CommandBus<EmbeddedStore>, dir: &std::path::Path) {
    let refused = tests::fixtures::run_process_managers(bus, dir).await;
    assert_eq!(refused, 0, "every automatic voucher was booked");
}

fn line(account: &str, debit: &str, credit: &str) -> VoucherLine {
    VoucherLine {
        summary: "期初余额".into(),
        account: account.into(),
        debit: d(debit),
        credit: d(credit),
        partner: None,
        item: None,
        department: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_trading_books_exactly_the_vouchers_and_balances_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let mut clerk = Clerk { n: 0 };
    let finance = [Role::Finance];

    // Set-up: the book (小企业会计准则, automatic vouchers post without review), masters, and the opening
    // balances of 1 November: 100,000.00 of paid-in capital in the bank.
    tests::fixtures::book(&bus, BOOK, Period::new(2026, 11).unwrap()).await;
    tests::fixtures::masters(&bus, &[CUSTOMER], &[A, B], &[SHANGHAI, BEIJING]).await;
    tests::fixtures::supplier(&bus, SUPPLIER, "义乌小商品供应商").await;
    let opening = Opening {
        lines: vec![line("1002", "100000.00", "0"), line("3001", "0", "100000.00")],
        receivables: Vec::new(),
        payables: Vec::new(),
        stock: Vec::new(),
    };
    enter_opening_balances(&bus, &clerk.at(1, &finance), BOOK, &opening).await.unwrap();

    // 1. 2 Nov: PO-1 for 100 A at 20.00 (moving average) and 50 B at 40.00 (FIFO); 60 A and 50 B arrive.
    let po = PurchaseOrderId(Uuid::from_u128(100));
    let place = PurchaseOrderCommand::Place {
        id: po,
        supplier: SUPPLIER,
        warehouse: SHANGHAI,
        department: "采购部".into(),
        lines: vec![
            PoLineInput {
                item: A,
                qty: Quantity::units(100),
                unit_price: UnitAmount::new(d("20.00")).unwrap(),
                vat_rate: d("0.13"),
                policy: policy(CostingMethod::MovingAverage),
                available_now: Decimal::ZERO,
            },
            PoLineInput {
                item: B,
                qty: Quantity::units(50),
                unit_price: UnitAmount::new(d("40.00")).unwrap(),
                vat_rate: d("0.13"),
                policy: policy(CostingMethod::Fifo),
                available_now: Decimal::ZERO,
            },
        ],
        requisition: None,
        budget_remaining: Decimal::MAX,
        masters_usable: true,
    };
    bus.execute::<PurchaseOrder>(&clerk.at(2, &[Role::Purchasing]), &place).await.unwrap();
    let approver = CommandMeta { actor: "wang".into(), ..clerk.at(2, &[Role::Purchasing]) };
    bus.execute::<PurchaseOrder>(&approver, &PurchaseOrderCommand::Approve { id: po }).await.unwrap();
    let receive = |n: u128, lines: Vec<(u32, Quantity)>| PurchaseOrderCommand::Receive {
        id: po,
        receipt: GoodsReceiptId(Uuid::from_u128(n)),
        lines,
        bin: None,
        lot: None,
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: None,
    };
    let first = receive(101, vec![(0, Quantity::units(60)), (1, Quantity::units(50))]);
    bus.execute::<PurchaseOrder>(&clerk.at(2, &[Role::Warehouse]), &first).await.unwrap();
    run_process_managers(&bus, dir.path()).await;
    // 2. 5 Nov: the other 40 A.
    bus.execute::<PurchaseOrder>(
        &clerk.at(5, &[Role::Warehouse]),
        &receive(102, vec![(0, Quantity::units(40))]),
    )
    .await
    .unwrap();
    run_process_managers(&bus, dir.path()).await;
    // 3. 8 Nov: the supplier invoices A at 20.50 (2.5 % dearer, within the 5 % tolerance) and B at 40.00.
    let invoice_line = |line: u32, item, qty: u32, price: &str| PurchaseInvoiceLineInput {
        po,
        po_line: line,
        item,
        qty: Quantity::units(qty),
        unit_price: UnitAmount::new(d(price)).unwrap(),
        vat_rate: d("0.13"),
    };
    let facts = |line: u32, price: &str, qty: &str| OrderLineFacts {
        po,
        po_line: line,
        ordered_price: d(price),
        received_qty: d(qty),
        invoiced_qty: Decimal::ZERO,
    };
    let purchase_invoice = PurchaseInvoiceId(Uuid::from_u128(103));
    let register = PurchaseInvoiceCommand::Register {
        id: purchase_invoice,
        supplier: SUPPLIER,
        number: "No.31000123".into(),
        lines: vec![invoice_line(0, A, 100, "20.50"), invoice_line(1, B, 50, "40.00")],
        facts: vec![facts(0, "20.00", "100"), facts(1, "40.00", "50")],
        tolerances: Tolerances { qty: Decimal::ZERO, price: d("0.05") },
        masters_usable: true,
    };
    bus.execute::<PurchaseInvoice>(&clerk.at(8, &[Role::Purchasing]), &register).await.unwrap();
    // 4. 9 Nov: 3,000.00 paid on it.
    let pay = SupplierPaymentCommand::Pay {
        id: SupplierPaymentId(Uuid::from_u128(104)),
        supplier: SUPPLIER,
        amount: d("3000.00"),
        allocations: vec![(purchase_invoice, d("3000.00"))],
    };
    bus.execute::<SupplierPayment>(&clerk.at(9, &finance), &pay).await.unwrap();
    // 5. 10 Nov: the customer pays 500.00 ahead of any invoice.
    let advance = CustomerReceiptId(Uuid::from_u128(105));
    let receipt = CustomerReceiptCommand::Record {
        id: advance,
        customer: CUSTOMER,
        amount: d("500.00"),
        allocation: Allocation::Explicit(Vec::new()),
    };
    bus.execute::<CustomerReceipt>(&clerk.at(10, &finance), &receipt).await.unwrap();
    run_process_managers(&bus, dir.path()).await;

    // 6. 12 Nov: SO-1 for 30 A at 35.00 and 20 B at 60.00, shipped as two shipments.
    let order = SalesOrderId(Uuid::from_u128(106));
    let sale = |item, qty: u32, price: &str| OrderLineInput {
        item,
        qty: Quantity::units(qty),
        unit_price: UnitAmount::new(d(price)).unwrap(),
        vat_rate: d("0.13"),
        default_supplier: Some(SUPPLIER),
        warehouse: None,
    };
    let place = SalesOrderCommand::Place {
        id: order,
        customer: CUSTOMER,
        channel: Channel::Store { store: "南京路店".into() },
        warehouse: SHANGHAI,
        lines: vec![sale(A, 30, "35.00"), sale(B, 20, "60.00")],
        credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
        masters_usable: true,
    };
    place_sales_order(&bus, &clerk.at(12, &[Role::Sales]), &place).await.unwrap();
    run_process_managers(&bus, dir.path()).await;
    let mut shipments = Vec::new();
    for (n, (line, item, qty)) in [(0u32, A, 30u32), (1, B, 20)].into_iter().enumerate() {
        let shipment = ShipmentId(Uuid::from_u128(107 + n as u128));
        let create = ShipmentCommand::Create {
            id: shipment,
            order,
            warehouse: SHANGHAI,
            lines: vec![ShipmentLineInput {
                order_line: line,
                item,
                qty: Quantity::units(qty),
                reservation: Some(line_reservation(order, line)),
            }],
        };
        let pick = ShipmentCommand::Pick { id: shipment, picked: vec![Decimal::from(qty)] };
        let ship = ShipmentCommand::Ship { id: shipment };
        let metas = [
            clerk.at(12, &[Role::Warehouse]),
            clerk.at(12, &[Role::Warehouse]),
            clerk.at(12, &[Role::Warehouse]),
        ];
        for outcome in bus
            .execute_all::<Shipment>(&[(&metas[0], &create), (&metas[1], &pick), (&metas[2], &ship)])
            .await
            .unwrap()
        {
            outcome.unwrap();
        }
        shipments.push((shipment, item, qty));
    }
    run_process_managers(&bus, dir.path()).await;
    // 7. 15 Nov: one invoice for both shipments, due 15 December.
    let sales_invoice = SalesInvoiceId(Uuid::from_u128(109));
    let price = |item| if item == A { "35.00" } else { "60.00" };
    let issue = SalesInvoiceCommand::Issue {
        id: sales_invoice,
        customer: CUSTOMER,
        lines: shipments
            .iter()
            .map(|&(shipment, item, qty)| InvoiceLineInput {
                shipment,
                item,
                qty: Quantity::units(qty),
                unit_price: UnitAmount::new(d(price(item))).unwrap(),
                vat_rate: d("0.13"),
            })
            .collect(),
        due_at: Timestamp(1_797_300_000_000_000),
        masters_usable: true,
    };
    issue_sales_invoice(&bus, &clerk.at(15, &[Role::Sales]), &issue).await.unwrap();
    // 8. 16 Nov: the 500.00 advance is applied to it.
    let apply =
        CustomerReceiptCommand::ApplyAdvance { id: advance, invoice: sales_invoice, amount: d("500.00") };
    bus.execute::<CustomerReceipt>(&clerk.at(16, &finance), &apply).await.unwrap();
    // 9. 20 Nov: 1,000.00 received on it.
    let receipt = CustomerReceiptCommand::Record {
        id: CustomerReceiptId(Uuid::from_u128(110)),
        customer: CUSTOMER,
        amount: d("1000.00"),
        allocation: Allocation::Explicit(vec![(sales_invoice, d("1000.00"))]),
    };
    bus.execute::<CustomerReceipt>(&clerk.at(20, &finance), &receipt).await.unwrap();
    run_process_managers(&bus, dir.path()).await;

    // 10. 25 Nov: the stocktake finds 2 A more and 1 B less than the books.
    for (item, costing, delta) in [(A, CostingMethod::MovingAverage, 2), (B, CostingMethod::Fifo, -1)] {
        let adjust = StockCommand::Adjust {
            key: StockKey { item, warehouse: SHANGHAI },
            policy: policy(costing),
            qty_delta: Decimal::from(delta),
            unit_cost: None,
            reason: Code::new("reason", "月末盘点").unwrap(),
            source: DocRef { kind: "inventory.Stocktake".into(), id: Uuid::from_u128(111), line: Some(0) },
            loss: None,
        };
        bus.execute::<StockItem>(&clerk.at(25, &[Role::Warehouse]), &adjust).await.unwrap();
    }
    // 11. 26 Nov: 10 A move from Shanghai to Beijing.
    let transfer = TransferId(Uuid::from_u128(112));
    let create = TransferCommand::Create {
        id: transfer,
        from: SHANGHAI,
        to: BEIJING,
        lines: vec![TransferLineInput {
            item: A,
            qty: Quantity::units(10),
            policy: policy(CostingMethod::MovingAverage),
        }],
        masters_usable: true,
    };
    bus.execute::<StockTransfer>(&clerk.at(26, &[Role::Warehouse]), &create).await.unwrap();
    bus.execute::<StockTransfer>(
        &clerk.at(26, &[Role::Warehouse]),
        &TransferCommand::Dispatch { id: transfer },
    )
    .await
    .unwrap();
    run_process_managers(&bus, dir.path()).await;
    bus.execute::<StockTransfer>(
        &clerk.at(26, &[Role::Warehouse]),
        &TransferCommand::Receive { id: transfer },
    )
    .await
    .unwrap();
    // 12. 28 Nov: payroll of 3,000.00 selling and 5,000.00 administration; 30 Nov: paid, 600.00 tax withheld.
    let november = Period::new(2026, 11).unwrap();
    let accrue = PayrollCommand::Accrue {
        book: BOOK,
        period: november,
        selling: d("3000.00"),
        administration: d("5000.00"),
        production: Decimal::ZERO,
    };
    bus.execute::<Payroll>(&clerk.at(28, &finance), &accrue).await.unwrap();
    let pay =
        PayrollCommand::Pay { book: BOOK, period: november, net: d("7400.00"), income_tax: d("600.00") };
    bus.execute::<Payroll>(&clerk.at(30, &finance), &pay).await.unwrap();
    run_process_managers(&bus, dir.path()).await;
    // 13. Month end and the close.
    let accountant = CommandMeta { actor: "zhao".into(), ..clerk.at(30, &finance) };
    let month_end = run_month_end(&bus, &accountant, BOOK, november).await.unwrap();
    assert_eq!(month_end.vat_transfer, None, "input VAT 526.50 exceeds output VAT 292.50: 留抵 234.00");
    assert_eq!(month_end.profit_transfer, Some(16));
    close_period(&bus, &clerk.at(30, &finance), BOOK, november).await.unwrap();

    // The bank's statement for November: the supplier payment and both customer receipts are matched
    // automatically; the payroll transfer and the bank's interest are left for a person.
    let csv = "date,amount,counterparty,reference\n\
               2026-11-09,-3000.00,义乌小商品供应商,付款\n\
               2026-11-10,500.00,customer 0,预付\n\
               2026-11-20,1000.00,Customer 0,货款\n\
               2026-11-30,-7400.00,工资代发,11月工资\n\
               2026-11-30,12.34,银行,利息\n";
    let statement = Uuid::from_u128(113);
    let report =
        import_bank_statement(&bus, &clerk.at(30, &finance), BOOK, statement, "1002", csv).await.unwrap();
    assert_eq!(
        report.matched,
        vec![
            (0, MatchTarget::SupplierPayment(SupplierPaymentId(Uuid::from_u128(104)))),
            (1, MatchTarget::CustomerReceipt(advance)),
            (2, MatchTarget::CustomerReceipt(CustomerReceiptId(Uuid::from_u128(110)))),
        ]
    );
    assert_eq!(report.unmatched, vec![3, 4]);
    let (m1, m2) = (clerk.at(30, &finance), clerk.at(30, &finance));
    let by_hand = match_statement_line(&bus, &m1, statement, 4, MatchTarget::CustomerReceipt(advance)).await;
    assert_eq!(by_hand.unwrap_err().code(), "bank.target_taken");
    let unknown = MatchTarget::SupplierPayment(SupplierPaymentId(Uuid::from_u128(999)));
    let wrong = match_statement_line(&bus, &m2, statement, 3, unknown).await;
    assert_eq!(wrong.unwrap_err().code(), "bank.amount_mismatch", "no such payment in the books");
    let bad = import_bank_statement(
        &bus,
        &clerk.at(30, &finance),
        BOOK,
        Uuid::from_u128(114),
        "1002",
        "date,amount\n",
    )
    .await;
    assert_eq!(bad.unwrap_err().code(), "bank.invalid_csv");

    // The books, against docs/finance-month-scenario.md.
    let books = tests::books::fold_books(&store).await;
    let (ledger, items) = (books.ledger, books.open_items);
    let mut numbers: Vec<u32> =
        books.vouchers.iter().filter(|(p, _)| *p == november).map(|(_, n)| *n).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<u32>>(), "16 vouchers in November, numbered without gaps");
    let expected = [
        ("1002", "91100.00"),
        ("1122", "1042.50"),
        ("1405", "2635.00"),
        ("1901", "0"),
        ("220201", "-1576.50"),
        ("220202", "0"),
        ("2203", "0"),
        ("2211", "0"),
        ("22210101", "526.50"),
        ("22210102", "-292.50"),
        ("222105", "-600.00"),
        ("3001", "-100000.00"),
        ("3103", "7165.00"),
        ("5001", "0"),
        ("5301", "0"),
        ("5401", "0"),
        ("5601", "0"),
        ("5602", "0"),
        ("5711", "0"),
    ];
    for (code, balance) in expected {
        assert_eq!(ledger.balance(code, november), d(balance), "{code}");
    }
    let income = IncomeStatement::over(
        &ledger,
        &bus.load::<Book>(&Book::stream(BOOK)).await.unwrap().accounts,
        november..=november,
    );
    assert_eq!(
        (income.revenue, income.cost_of_sales, income.selling_expenses, income.admin_expenses),
        (d("2250.00"), d("1415.00"), d("3000.00"), d("5000.00"))
    );
    assert_eq!(
        (income.non_operating_income, income.non_operating_expenses, income.net_profit),
        (d("40.00"), d("40.00"), d("-7165.00"))
    );
    // Stock: 62 A (1,270.14) in Shanghai and 10 A (204.86) in Beijing, 29 B (1,160.00): 2,635.00 = 1405.
    for (item, warehouse, on_hand, value) in
        [(A, SHANGHAI, "62", "1270.14"), (A, BEIJING, "10", "204.86"), (B, SHANGHAI, "29", "1160.00")]
    {
        let stock: StockItem = bus.load(&StockKey { item, warehouse }.stream_id()).await.unwrap();
        assert_eq!((stock.on_hand, stock.value), (d(on_hand), d(value)));
    }
    // Receivables and payables: what is open, and the aging at the month's end (nothing past due).
    let end = nov(30);
    assert_eq!(items.balances(Receivable, end)[&CUSTOMER], d("1042.50"));
    let account: domain::sales::CustomerAccount =
        bus.load(&domain::sales::customer_account_stream(CUSTOMER)).await.unwrap();
    assert_eq!(account.balance, d("1042.50"), "the customer's account, which the credit check reads");
    assert_eq!(items.balances(Payable, end)[&SUPPLIER], d("1576.50"));
    assert_eq!(items.aging(Receivable, end).not_due, d("1042.50"));
}
