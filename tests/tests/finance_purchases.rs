//! The purchase rows of accounting.md's voucher table that go beyond receipt-then-invoice: an invoice
//! that comes with the goods (one voucher, no estimate), freight expensed by a trading company, and
//! freight capitalized into the goods by a manufacturer when part of them is already gone. After each,
//! the books reconcile: stock valuation = 1405, payables = 2202-supplier, the estimate = what is
//! received and not invoiced.

use command_api::CommandBus;
use command_api::purchasing::register_purchase_freight;
use domain::finance::book::{Book, BookCommand};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::purchasing::order::InvoiceWithGoods;
use domain::purchasing::{
    PoLineInput, PurchaseInvoice, PurchaseInvoiceStatus, PurchaseOrder, PurchaseOrderCommand,
    SupplierPayment, SupplierPaymentCommand,
};
use domain::time::Period;
use domain::values::{Code, Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId, PurchaseOrderId,
    Role, SupplierPaymentId, Timestamp, WarehouseId,
};
use infra::EmbeddedStore;
use projections::open_items::Ledger::Payable;
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));
const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(70));
const CARRIER: PartnerId = PartnerId(Uuid::from_u128(71));
const A: ItemId = ItemId(Uuid::from_u128(10));
const B: ItemId = ItemId(Uuid::from_u128(11));
const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

struct Clerk(u128);

impl Clerk {
    fn meta(&mut self, actor: &str, roles: &[Role]) -> CommandMeta {
        self.0 += 1;
        CommandMeta::new(CommandId(Uuid::from_u128(self.0)), actor, BOOK, NOVEMBER).with_roles(roles)
    }
}

struct World {
    bus: CommandBus<EmbeddedStore>,
    store: EmbeddedStore,
    dir: tempfile::TempDir,
    clerk: Clerk,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    tests::fixtures::book(&bus, BOOK, Period::new(2026, 11).unwrap()).await;
    tests::fixtures::masters(&bus, &[], &[A, B], &[WAREHOUSE]).await;
    tests::fixtures::supplier(&bus, SUPPLIER, "义乌小商品供应商").await;
    tests::fixtures::supplier(&bus, CARRIER, "顺丰物流").await;
    World { bus, store, dir, clerk: Clerk(1000) }
}

impl World {
    /// Places and approves an order for 10 A at 20.00 and 5 B at 40.00.
    async fn order(&mut self, po: PurchaseOrderId) {
        let line = |item, qty, price: &str| PoLineInput {
            item,
            qty: Quantity::units(qty),
            unit_price: UnitAmount::new(d(price)).unwrap(),
            vat_rate: d("0.13"),
            policy: StockPolicy {
                costing: CostingMethod::MovingAverage,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            available_now: Decimal::ZERO,
        };
        let place = PurchaseOrderCommand::Place {
            id: po,
            supplier: SUPPLIER,
            warehouse: WAREHOUSE,
            department: "采购部".into(),
            lines: vec![line(A, 10, "20.00"), line(B, 5, "40.00")],
            requisition: None,
            budget_remaining: Decimal::MAX,
            masters_usable: true,
        };
        let meta = self.clerk.meta("li", &[Role::Purchasing]);
        self.bus.execute::<PurchaseOrder>(&meta, &place).await.unwrap();
        let meta = self.clerk.meta("wang", &[Role::Purchasing]);
        self.bus.execute::<PurchaseOrder>(&meta, &PurchaseOrderCommand::Approve { id: po }).await.unwrap();
    }

    async fn receive(&mut self, po: PurchaseOrderId, receipt: u128, invoice: Option<InvoiceWithGoods>) {
        let receive = PurchaseOrderCommand::Receive {
            id: po,
            receipt: GoodsReceiptId(Uuid::from_u128(receipt)),
            lines: vec![(0, Quantity::units(10)), (1, Quantity::units(5))],
            bin: None,
            lot: None,
            tolerance: Decimal::ZERO,
            bin_known: true,
            invoice,
        };
        let meta = self.clerk.meta("kai", &[Role::Warehouse]);
        command_api::purchasing::receive_purchase_order(&self.bus, &meta, &receive).await.unwrap();
    }

    async fn settle(&self) {
        let refused = tests::fixtures::run_process_managers(&self.bus, self.dir.path()).await;
        assert_eq!(refused, 0, "every automatic voucher was booked");
    }

    /// The balances and the reconciliations every scenario ends with.
    async fn books(&self) -> impl Fn(&str) -> Decimal + use<> {
        let books = tests::books::fold_books(&self.store).await;
        let november = Period::new(2026, 11).unwrap();
        let mut valuation = Decimal::ZERO;
        for item in [A, B] {
            let stock: StockItem =
                self.bus.load(&StockKey { item, warehouse: WAREHOUSE }.stream_id()).await.unwrap();
            valuation += stock.value;
        }
        let ledger = books.ledger;
        assert_eq!(valuation, ledger.balance("1405", november), "stock valuation = 1405");
        let payables: Decimal = books.open_items.balances(Payable, NOVEMBER).values().sum();
        assert_eq!(payables, -ledger.balance("220201", november), "payables = 2202-supplier");
        let book: Book = self.bus.load(&Book::stream(BOOK)).await.unwrap();
        let top = ledger.trial_balance(&book.accounts, november);
        assert_eq!(top.iter().filter(|r| r.level == 1).map(|r| r.closing).sum::<Decimal>(), Decimal::ZERO);
        move |code: &str| ledger.balance(code, november)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_that_comes_with_the_goods_books_stock_vat_and_the_payable_in_one_voucher() {
    let mut w = world().await;
    let po = PurchaseOrderId(Uuid::from_u128(30));
    w.order(po).await;
    // The invoice in the box says 20.50 for A and 40.00 for B.
    let bill = PurchaseInvoiceId(Uuid::from_u128(32));
    let invoice = |prices: Vec<(u32, &str)>| InvoiceWithGoods {
        id: bill,
        number: "No.07700001".into(),
        prices: prices.into_iter().map(|(l, p)| (l, UnitAmount::new(d(p)).unwrap())).collect(),
    };
    // An invoice that leaves a received line unpriced is refused, and nothing is appended.
    let head = w.store.head_position_now();
    let half = PurchaseOrderCommand::Receive {
        id: po,
        receipt: GoodsReceiptId(Uuid::from_u128(31)),
        lines: vec![(0, Quantity::units(10)), (1, Quantity::units(5))],
        bin: None,
        lot: None,
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: Some(invoice(vec![(0, "20.50")])),
    };
    let meta = w.clerk.meta("kai", &[Role::Warehouse]);
    let err = w.bus.execute::<PurchaseOrder>(&meta, &half).await.unwrap_err();
    assert_eq!(err.code(), "po.invalid_invoice");
    assert_eq!(w.store.head_position_now(), head);

    w.receive(po, 31, Some(invoice(vec![(0, "20.50"), (1, "40.00")]))).await;
    w.settle().await;
    let balance = w.books().await;
    // 205.00 + 200.00 of goods, 52.65 of VAT (26.65 + 26.00), 457.65 owed; nothing estimated.
    assert_eq!(balance("1405"), d("405.00"));
    assert_eq!(balance("22210101"), d("52.65"));
    assert_eq!(balance("220201"), d("-457.65"));
    assert_eq!(balance("220202"), Decimal::ZERO, "no estimate: the invoice came with the goods");
    let numbers = tests::books::fold_books(&w.store).await.vouchers;
    assert_eq!(numbers.len(), 1, "one voucher for receipt and invoice");
    let a: StockItem = w.bus.load(&StockKey { item: A, warehouse: WAREHOUSE }.stream_id()).await.unwrap();
    assert_eq!(a.value, d("205.00"), "the stock takes the invoice's price");

    // The invoice is open for payments like any other and is paid by one.
    let pay = SupplierPaymentCommand::Pay {
        id: SupplierPaymentId(Uuid::from_u128(33)),
        supplier: SUPPLIER,
        amount: d("457.65"),
        allocations: vec![(bill, d("457.65"))],
    };
    let meta = w.clerk.meta("zhao", &[Role::Finance]);
    w.bus.execute::<SupplierPayment>(&meta, &pay).await.unwrap();
    w.settle().await;
    let invoice: PurchaseInvoice = w.bus.load(&format!("purchase-invoice-{bill}")).await.unwrap();
    assert_eq!(invoice.status, PurchaseInvoiceStatus::Paid);
    let balance = w.books().await;
    assert_eq!(balance("220201"), Decimal::ZERO);
    let order: PurchaseOrder = w.bus.load(&PurchaseOrder::stream(po)).await.unwrap();
    assert_eq!(order.invoiced, vec![d("10"), d("5")], "the order knows its lines are invoiced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trading_company_expenses_purchase_freight() {
    let mut w = world().await;
    let po = PurchaseOrderId(Uuid::from_u128(30));
    w.order(po).await;
    w.receive(po, 31, None).await;
    let meta = w.clerk.meta("zhao", &[Role::Finance]);
    let freight = PurchaseInvoiceId(Uuid::from_u128(40));
    // Freight for an order nobody placed is refused.
    let nowhere = PurchaseOrderId(Uuid::from_u128(999));
    let err =
        register_purchase_freight(&w.bus, &meta, freight, CARRIER, "No.0990", nowhere, d("30.00"), d("0.09"))
            .await
            .unwrap_err();
    assert_eq!(err.code(), "purchase_invoice.unknown_order");
    let meta = w.clerk.meta("zhao", &[Role::Finance]);
    register_purchase_freight(&w.bus, &meta, freight, CARRIER, "No.0990", po, d("30.00"), d("0.09"))
        .await
        .unwrap();
    w.settle().await;
    let balance = w.books().await;
    assert_eq!(balance("5601"), d("30.00"), "销售费用");
    assert_eq!(balance("22210101"), d("2.70"), "9 % VAT on transport");
    assert_eq!(balance("220201"), d("-32.70"), "owed to the carrier");
    assert_eq!(balance("1405"), d("400.00"), "the goods keep their cost");
    assert_eq!(balance("220202"), d("-400.00"), "the goods' invoice is still to come");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manufacturer_capitalizes_freight_into_what_is_left_and_costs_the_rest() {
    let mut w = world().await;
    let meta = w.clerk.meta("zhao", &[Role::Finance]);
    w.bus
        .execute::<Book>(&meta, &BookCommand::ChooseFreightTreatment { id: BOOK, capitalize: true })
        .await
        .unwrap();
    let po = PurchaseOrderId(Uuid::from_u128(30));
    w.order(po).await;
    w.receive(po, 31, None).await;
    w.settle().await;
    // 4 A are lost before the freight invoice arrives (a normal stocktake loss at 20.00 each).
    let adjust = StockCommand::Adjust {
        key: StockKey { item: A, warehouse: WAREHOUSE },
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::ZERO,
            allow_negative: false,
        },
        qty_delta: d("-4"),
        unit_cost: None,
        reason: Code::new("reason", "盘亏").unwrap(),
        source: DocRef { kind: "inventory.Stocktake".into(), id: Uuid::from_u128(50), line: Some(0) },
        loss: None,
    };
    let meta = w.clerk.meta("kai", &[Role::Warehouse]);
    w.bus.execute::<StockItem>(&meta, &adjust).await.unwrap();
    // 60.00 of freight over 200.00 of A and 200.00 of B: 30.00 each. A has 6 of its 10 left: 18.00 to
    // its stock, 12.00 to cost of sales; B has all 5: 30.00 to its stock.
    let meta = w.clerk.meta("zhao", &[Role::Finance]);
    let freight = PurchaseInvoiceId(Uuid::from_u128(40));
    register_purchase_freight(&w.bus, &meta, freight, CARRIER, "No.0990", po, d("60.00"), d("0.09"))
        .await
        .unwrap();
    w.settle().await;
    let balance = w.books().await;
    assert_eq!(balance("1405"), d("368.00"), "400.00 − 80.00 lost + 18.00 + 30.00");
    assert_eq!(balance("5401"), d("12.00"), "freight on goods already gone");
    assert_eq!(balance("5601"), Decimal::ZERO, "nothing expensed");
    assert_eq!(balance("220202"), d("-400.00"), "the freight passed through the estimate account and left");
    assert_eq!(balance("220201"), d("-65.40"), "60.00 + 5.40 VAT owed to the carrier");
    let b: StockItem = w.bus.load(&StockKey { item: B, warehouse: WAREHOUSE }.stream_id()).await.unwrap();
    assert_eq!(b.value, d("230.00"), "B now costs 46.00 a unit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goods_returned_to_a_supplier_above_their_cost_leave_stock_at_cost_and_the_gain_reduces_cost_of_sales()
 {
    use domain::inventory::DocRef;
    use domain::returns::{Return, ReturnCommand, ReturnDirection, ReturnLineInput};
    let mut w = world().await;
    let po = PurchaseOrderId(Uuid::from_u128(30));
    w.order(po).await;
    let invoice = InvoiceWithGoods {
        id: PurchaseInvoiceId(Uuid::from_u128(32)),
        number: "No.07700001".into(),
        prices: vec![(0, UnitAmount::new(d("20.00")).unwrap()), (1, UnitAmount::new(d("40.00")).unwrap())],
    };
    w.receive(po, 31, Some(invoice)).await;
    w.settle().await;
    // 2 A (cost 20.00 each) go back at the 21.00 the supplier agreed to credit.
    let id = domain::ReturnId(Uuid::from_u128(60));
    let create = ReturnCommand::Create {
        id,
        direction: ReturnDirection::ToSupplier,
        partner: SUPPLIER,
        warehouse: WAREHOUSE,
        original: DocRef { kind: "purchasing.PurchaseOrder".into(), id: po.0, line: Some(0) },
        lines: vec![ReturnLineInput {
            item: A,
            qty: Quantity::units(2),
            unit_price: UnitAmount::new(d("21.00")).unwrap(),
            vat_rate: d("0.13"),
            unit_cost: None,
            policy: StockPolicy {
                costing: CostingMethod::MovingAverage,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
        }],
        reason: "质量问题".into(),
        masters_usable: true,
    };
    let meta = w.clerk.meta("li", &[Role::Purchasing]);
    w.bus.execute::<Return>(&meta, &create).await.unwrap();
    let meta = w.clerk.meta("kai", &[Role::Warehouse]);
    w.bus.execute::<Return>(&meta, &ReturnCommand::Complete { id }).await.unwrap();
    w.settle().await;
    let balance = w.books().await;
    assert_eq!(balance("1405"), d("360.00"), "400.00 less the 40.00 the two left stock at");
    assert_eq!(balance("5401"), d("-2.00"), "credited 42.00 for goods that cost 40.00");
    assert_eq!(balance("220201"), d("-404.54"), "452.00 owed less the 47.46 red invoice");
    assert_eq!(balance("22210101"), d("46.54"), "52.00 of input VAT less 5.46 returned");
}
