//! Business scenarios several test files run through the command bus with the process managers: the
//! same month of trade checked by the finance tests and served by the GraphQL tests.

use command_api::CommandBus;
use command_api::sales::{issue_sales_invoice, place_sales_order};
use domain::inventory::{CostingMethod, StockPolicy};
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
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
pub const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
pub const BOOK: BookId = BookId(Uuid::from_u128(1));
pub const CUSTOMER: PartnerId = PartnerId(Uuid::from_u128(60));
pub const SUPPLIER: PartnerId = PartnerId(Uuid::from_u128(70));
pub const ITEM: ItemId = ItemId(Uuid::from_u128(10));
pub const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

/// The documents of [`buy_and_sell`].
pub struct Trade {
    pub po: PurchaseOrderId,
    pub order: SalesOrderId,
    pub shipment: ShipmentId,
    pub invoice: SalesInvoiceId,
}

fn meta(n: u128, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "li", BOOK, NOVEMBER).with_roles(roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn run(bus: &CommandBus<EmbeddedStore>, dir: &std::path::Path) {
    let refused = crate::fixtures::run_process_managers(bus, dir).await;
    assert_eq!(refused, 0, "every automatic voucher was booked");
}

/// November 2026 in book [`BOOK`]: 10 bought at 12.00 and received (暂估), the supplier's invoice at
/// 12.30 (within tolerance: the difference goes into the stock), 3 sold at 19.90 + 13 % VAT to the
/// customer (the store channel), reserved, shipped, invoiced (67.46) and paid with 100.00 (32.54 kept
/// as an advance); the process managers run after every step, so every voucher is posted.
pub async fn buy_and_sell(bus: &CommandBus<EmbeddedStore>, dir: &std::path::Path) -> Trade {
    crate::fixtures::book(bus, BOOK, Period::new(2026, 11).unwrap()).await;
    crate::fixtures::masters(bus, &[CUSTOMER], &[ITEM], &[WAREHOUSE]).await;
    crate::fixtures::supplier(bus, SUPPLIER, "义乌小商品供应商").await;

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
    run(bus, dir).await;
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
    run(bus, dir).await;

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
    place_sales_order(bus, &meta(6, &[Role::Sales]), &place).await.unwrap();
    run(bus, dir).await;
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
    run(bus, dir).await;
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
    issue_sales_invoice(bus, &meta(10, &[Role::Sales]), &issue).await.unwrap();
    let receipt = CustomerReceiptCommand::Record {
        id: CustomerReceiptId(Uuid::from_u128(43)),
        customer: CUSTOMER,
        amount: d("100.00"),
        allocation: Allocation::Explicit(vec![(invoice, d("67.46"))]),
    };
    bus.execute::<CustomerReceipt>(&meta(11, &[Role::Finance]), &receipt).await.unwrap();
    run(bus, dir).await;

    Trade { po, order, shipment, invoice }
}
