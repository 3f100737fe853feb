//! Billing and collecting on the embedded store: an invoice bills its shipments once; receipts are
//! allocated to the oldest open invoices by the allocation process manager, and money is conserved even
//! when two receipts were allocated from the same stale picture of what is open.

use command_api::sales::issue_sales_invoice;
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::process::receipt_allocation::ReceiptAllocation;
use domain::sales::{
    Allocation, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput, OpenInvoice, SalesInvoice,
    SalesInvoiceCommand, SalesInvoiceEvent, Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::values::{Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, CustomerReceiptId, ItemId, PartnerId, SalesInvoiceId, SalesOrderId,
    ShipmentId, Timestamp, WarehouseId,
};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "clerk", BookId(Uuid::from_u128(1)), Timestamp(n as i64))
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn customer() -> PartnerId {
    PartnerId(Uuid::from_u128(5))
}

async fn shipped(bus: &CommandBus<EmbeddedStore>, n: u128) -> ShipmentId {
    let id = ShipmentId(Uuid::from_u128(n));
    let create = ShipmentCommand::Create {
        id,
        order: SalesOrderId(Uuid::from_u128(n + 1)),
        warehouse: WarehouseId(Uuid::from_u128(2)),
        lines: vec![ShipmentLineInput {
            order_line: 0,
            item: ItemId(Uuid::from_u128(3)),
            qty: Quantity::units(2),
            reservation: None,
        }],
    };
    for (i, step) in
        [create, ShipmentCommand::Pick { id, picked: vec![Decimal::from(2)] }, ShipmentCommand::Ship { id }]
            .iter()
            .enumerate()
    {
        bus.execute::<Shipment>(&meta(n * 10 + i as u128), step).await.unwrap();
    }
    id
}

fn invoice(n: u128, shipments: &[ShipmentId], price: &str) -> SalesInvoiceCommand {
    SalesInvoiceCommand::Issue {
        id: SalesInvoiceId(Uuid::from_u128(n)),
        customer: customer(),
        lines: shipments
            .iter()
            .map(|s| InvoiceLineInput {
                shipment: *s,
                item: ItemId(Uuid::from_u128(3)),
                qty: Quantity::units(2),
                unit_price: UnitAmount::new(d(price)).unwrap(),
                vat_rate: d("0.13"),
            })
            .collect(),
        due_at: Timestamp(0),
        masters_usable: true,
    }
}

#[tokio::test]
async fn an_invoice_bills_its_shipments_once_and_a_retry_is_answered_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let bus = CommandBus::new(store.clone());
    let (s1, s2) = (shipped(&bus, 100).await, shipped(&bus, 200).await);
    let first = issue_sales_invoice(&bus, &meta(1), &invoice(1, &[s1, s2], "50")).await.unwrap();
    let SalesInvoiceEvent::Issued(issued) = &first.events[0] else { panic!() };
    assert_eq!(issued.amount_gross, d("226.00"));
    let err = issue_sales_invoice(&bus, &meta(2), &invoice(2, &[s2], "50")).await.unwrap_err();
    assert_eq!(err.code(), "shipment.already_invoiced");
    let retry = issue_sales_invoice(&bus, &meta(1), &invoice(1, &[s1, s2], "50")).await.unwrap();
    assert!(retry.duplicate);
    let mut bad = invoice(3, &[s1], "50");
    if let SalesInvoiceCommand::Issue { lines, .. } = &mut bad {
        lines[0].vat_rate = d("0.2");
    }
    let err = issue_sales_invoice(&bus, &meta(3), &bad).await.unwrap_err();
    assert_eq!(err.code(), "invoice.invalid_lines", "validated before any shipment is claimed");
}

#[tokio::test]
async fn receipts_pay_the_oldest_invoices_first_and_money_is_conserved_with_stale_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    // Two invoices of 113.00 each (2 × 50 + 13 % VAT).
    let (s1, s2) = (shipped(&bus, 100).await, shipped(&bus, 200).await);
    issue_sales_invoice(&bus, &meta(1), &invoice(1, &[s1], "50")).await.unwrap();
    issue_sales_invoice(&bus, &meta(2), &invoice(2, &[s2], "50")).await.unwrap();
    let open = vec![
        OpenInvoice { invoice: SalesInvoiceId(Uuid::from_u128(2)), open: d("113"), issued_at: Timestamp(2) },
        OpenInvoice { invoice: SalesInvoiceId(Uuid::from_u128(1)), open: d("113"), issued_at: Timestamp(1) },
    ];
    // Two cashiers record receipts from the same picture of what is open.
    for (n, amount) in [(11u128, "150"), (12, "100")] {
        let record = CustomerReceiptCommand::Record {
            id: CustomerReceiptId(Uuid::from_u128(n)),
            customer: customer(),
            amount: d(amount),
            allocation: Allocation::Automatic { open_invoices: open.clone() },
        };
        bus.execute::<CustomerReceipt>(&meta(n), &record).await.unwrap();
    }
    let mut runner = ProcessRunner::new(bus.clone(), ReceiptAllocation, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    assert_eq!(runner.stats.commands_rejected, 0);

    let invoice = |n: u128| format!("sales-invoice-{}", SalesInvoiceId(Uuid::from_u128(n)));
    let receipt = |n: u128| format!("customer-receipt-{}", CustomerReceiptId(Uuid::from_u128(n)));
    let (i1, i2): (SalesInvoice, SalesInvoice) =
        (bus.load(&invoice(1)).await.unwrap(), bus.load(&invoice(2)).await.unwrap());
    let (r1, r2): (CustomerReceipt, CustomerReceipt) =
        (bus.load(&receipt(11)).await.unwrap(), bus.load(&receipt(12)).await.unwrap());
    assert!(i1.paid, "the oldest invoice is paid first");
    assert_eq!(i1.open, Decimal::ZERO);
    // The first receipt paid invoice 1 (113) and 37 of invoice 2; the second, allocated to invoice 1
    // from the stale picture, found it paid: its 100 stays the customer's advance (applied later).
    assert_eq!(i2.open, d("76"));
    assert_eq!((r1.advance, r2.advance), (d("0"), d("100")));
    // Every yuan received is either applied to an invoice or kept as an advance.
    let applied: Decimal = i1.allocations.iter().chain(&i2.allocations).map(|(_, a)| *a).sum();
    assert_eq!(applied + r1.advance + r2.advance, d("250"));
    assert_eq!(applied, d("226") - i2.open);
}
