//! Procure to stock on the embedded store: a purchase order placed, approved and received in two
//! deliveries; the receiving process manager puts the goods into stock at the order's price, exactly
//! once across restarts.

use std::time::Duration;

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::process::receiving::Receiving;
use domain::purchasing::{PoLineInput, PurchaseOrder, PurchaseOrderCommand};
use domain::values::{Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, GoodsReceiptId, ItemId, PartnerId, PurchaseOrderId, Role, Timestamp,
    WarehouseId,
};
use infra::{EmbeddedStore, EventStore};
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128, actor: &str, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BookId(Uuid::from_u128(1)), Timestamp(0))
        .with_roles(roles)
}

fn item() -> ItemId {
    ItemId(Uuid::from_u128(10))
}

fn warehouse() -> WarehouseId {
    WarehouseId(Uuid::from_u128(20))
}

fn po() -> PurchaseOrderId {
    PurchaseOrderId(Uuid::from_u128(30))
}

async fn ordered_and_received_twice(bus: &CommandBus<EmbeddedStore>) {
    let place = PurchaseOrderCommand::Place {
        id: po(),
        supplier: PartnerId(Uuid::from_u128(40)),
        warehouse: warehouse(),
        department: "采购部".into(),
        lines: vec![PoLineInput {
            item: item(),
            qty: Quantity::units(10),
            unit_price: UnitAmount::new(Decimal::new(250, 2)).unwrap(),
            vat_rate: Decimal::new(13, 2),
            policy: StockPolicy {
                costing: CostingMethod::Fifo,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            available_now: Decimal::ZERO,
        }],
        requisition: None,
        budget_remaining: Decimal::from(10_000),
        masters_usable: true,
    };
    let receive = |receipt: u128, qty: u32| PurchaseOrderCommand::Receive {
        id: po(),
        receipt: GoodsReceiptId(Uuid::from_u128(receipt)),
        lines: vec![(0, Quantity::units(qty))],
        bin: Some("A-01".into()),
        lot: Some(format!("L-{receipt}")),
        tolerance: Decimal::ZERO,
        bin_known: true,
        invoice: None,
    };
    let steps = [
        (meta(1, "li", &[Role::Purchasing]), place),
        (meta(2, "wang", &[Role::Purchasing]), PurchaseOrderCommand::Approve { id: po() }),
        (meta(3, "kai", &[Role::Warehouse]), receive(100, 6)),
        (meta(4, "kai", &[Role::Warehouse]), receive(101, 4)),
    ];
    for (meta, command) in steps {
        bus.execute::<PurchaseOrder>(&meta, &command).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_goods_enter_stock_at_the_order_price_exactly_once_across_restarts() {
    let mut cut_mid_flow = 0;
    for cut in 0..16u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
        let bus = CommandBus::new(store.clone());
        ordered_and_received_twice(&bus).await;
        let mut first = ProcessRunner::new(
            CommandBus::new(store.clone()),
            Receiving,
            FileCheckpoints::new(dir.path()),
            1,
        );
        let stopped =
            tokio::time::timeout(Duration::from_micros(cut * 100), first.run_until_quiet()).await.is_err();
        if stopped && first.stats.commands_done > 0 {
            cut_mid_flow += 1;
        }
        ProcessRunner::new(CommandBus::new(store.clone()), Receiving, FileCheckpoints::new(dir.path()), 1)
            .run_until_quiet()
            .await
            .unwrap();
        let stream =
            infra::StreamId::new(StockKey { item: item(), warehouse: warehouse() }.stream_id()).unwrap();
        let stock = store.read_stream(&stream, 0, 100).await.unwrap();
        let receipts = stock.iter().filter(|e| e.event_type.name() == "inventory.StockReceived").count();
        assert_eq!(receipts, 2, "cut {cut}: each delivery received into stock once");
    }
    assert!(cut_mid_flow > 0, "at least one stop landed in the middle of receiving");

    // The stock now holds the ten units at 2.50 in two lots: issuing all ten takes 25.00.
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    ordered_and_received_twice(&bus).await;
    ProcessRunner::new(bus.clone(), Receiving, FileCheckpoints::new(dir.path()), 1)
        .run_until_quiet()
        .await
        .unwrap();
    let issue = StockCommand::Issue {
        key: StockKey { item: item(), warehouse: warehouse() },
        qty: Quantity::units(10),
        reservation: None,
        lot: None,
        source: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(1), line: Some(0) },
    };
    let done = bus.execute::<StockItem>(&meta(9, "kai", &[]), &issue).await.unwrap();
    let domain::inventory::StockEvent::Issued(issued) = &done.events[0] else { panic!("{:?}", done.events) };
    assert_eq!(issued.value, Decimal::new(2500, 2));
    let lots: Vec<_> = issued.takes.iter().map(|t| t.lot.clone().unwrap()).collect();
    assert_eq!(lots, vec!["L-100".to_string(), "L-101".to_string()], "oldest lot first");
}

#[tokio::test]
async fn a_matched_purchase_invoice_is_paid_through_the_supplier_payment_flow() {
    use domain::process::supplier_payment::SupplierPaymentAllocation;
    use domain::purchasing::{
        OrderLineFacts, PurchaseInvoice, PurchaseInvoiceCommand, PurchaseInvoiceLineInput,
        PurchaseInvoiceStatus, SupplierPayment, SupplierPaymentCommand, Tolerances,
    };
    use domain::{PurchaseInvoiceId, SupplierPaymentId};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    ordered_and_received_twice(&bus).await;
    let invoice = PurchaseInvoiceId(Uuid::from_u128(60));
    let register = PurchaseInvoiceCommand::Register {
        id: invoice,
        supplier: PartnerId(Uuid::from_u128(40)),
        number: "No.04512399".into(),
        lines: vec![PurchaseInvoiceLineInput {
            po: po(),
            po_line: 0,
            item: item(),
            qty: Quantity::units(10),
            unit_price: UnitAmount::new(Decimal::new(250, 2)).unwrap(),
            vat_rate: Decimal::new(13, 2),
        }],
        facts: vec![OrderLineFacts {
            po: po(),
            po_line: 0,
            ordered_price: Decimal::new(250, 2),
            received_qty: Decimal::from(10),
            invoiced_qty: Decimal::ZERO,
        }],
        tolerances: Tolerances { qty: Decimal::ZERO, price: Decimal::ZERO },
        masters_usable: true,
    };
    let registered =
        bus.execute::<PurchaseInvoice>(&meta(20, "li", &[Role::Purchasing]), &register).await.unwrap();
    assert_eq!(registered.events.len(), 3, "registered, matched and booked");
    let pay = SupplierPaymentCommand::Pay {
        id: SupplierPaymentId(Uuid::from_u128(61)),
        supplier: PartnerId(Uuid::from_u128(40)),
        amount: Decimal::from(30),
        allocations: vec![(invoice, Decimal::new(2825, 2))],
    };
    bus.execute::<SupplierPayment>(&meta(21, "zhao", &[Role::Finance]), &pay).await.unwrap();
    ProcessRunner::new(bus.clone(), SupplierPaymentAllocation, FileCheckpoints::new(dir.path()), 1)
        .run_until_quiet()
        .await
        .unwrap();
    let state: PurchaseInvoice = bus.load(&format!("purchase-invoice-{invoice}")).await.unwrap();
    assert_eq!(state.status, PurchaseInvoiceStatus::Paid, "25.00 + 13 % VAT = 28.25, paid in full");
}
