//! Price differences (采购价差) and capitalized freight: costs that reach the goods after they were
//! received. A booked purchase invoice whose price differs from its order's left the difference in
//! GRNI; each invoice line is recorded on its order, which knows the goods' item and receiving
//! warehouse. Capitalized freight (also left in GRNI) is spread by the order over its lines. The stock
//! item is then revalued by each amount, taking what falls on goods still on hand and passing the rest
//! to cost of sales (its `StockRevalued` event carries the split the automatic voucher books).

use super::{EventContext, ProcessManager};
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::purchasing::{PurchaseInvoiceEvent, PurchaseOrderCommand, PurchaseOrderEvent};
use crate::values::Quantity;

/// The document kind a purchase price difference's revaluation names as its source.
pub const PURCHASE_INVOICE_DOC: &str = "purchasing.PurchaseInvoice";

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum PriceDifferenceInput {
        PurchaseInvoice(PurchaseInvoiceEvent),
        PurchaseOrder(PurchaseOrderEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PriceDifferenceCommand {
    PurchaseOrder(PurchaseOrderCommand),
    Stock(StockCommand),
}

pub struct PriceDifferences;

impl ProcessManager for PriceDifferences {
    const NAME: &'static str = "price-differences";
    type Input = PriceDifferenceInput;
    type Output = PriceDifferenceCommand;

    fn react(&self, event: &PriceDifferenceInput, _context: &EventContext) -> Vec<PriceDifferenceCommand> {
        match event {
            // v1 invoices expensed their differences when booked: nothing is left to revalue.
            PriceDifferenceInput::PurchaseInvoice(PurchaseInvoiceEvent::Booked(booked))
                if booked.revalues_stock =>
            {
                booked
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, line)| {
                        PriceDifferenceCommand::PurchaseOrder(PurchaseOrderCommand::RecordInvoiced {
                            id: line.po,
                            invoice: booked.id,
                            invoice_line: i as u32,
                            line: line.po_line,
                            qty: line.qty,
                            difference: line.difference(),
                        })
                    })
                    .collect()
            }
            PriceDifferenceInput::PurchaseInvoice(PurchaseInvoiceEvent::FreightBooked(freight))
                if freight.capitalized =>
            {
                vec![PriceDifferenceCommand::PurchaseOrder(PurchaseOrderCommand::AllocateFreight {
                    id: freight.po,
                    invoice: freight.id,
                    amount: freight.amount_net,
                })]
            }
            PriceDifferenceInput::PurchaseOrder(PurchaseOrderEvent::FreightAllocated(allocated)) => allocated
                .shares
                .iter()
                .filter(|share| !share.amount.is_zero())
                .filter_map(|share| {
                    Some(PriceDifferenceCommand::Stock(StockCommand::Revalue {
                        key: StockKey { item: share.item, warehouse: allocated.warehouse },
                        qty: Quantity::new(share.qty).ok()?,
                        amount: share.amount,
                        source: DocRef {
                            kind: PURCHASE_INVOICE_DOC.into(),
                            id: allocated.invoice.0,
                            line: Some(share.line),
                        },
                    }))
                })
                .collect(),
            PriceDifferenceInput::PurchaseOrder(PurchaseOrderEvent::LineInvoiced(invoiced))
                if !invoiced.difference.is_zero() =>
            {
                let Ok(qty) = Quantity::new(invoiced.qty) else { return Vec::new() };
                vec![PriceDifferenceCommand::Stock(StockCommand::Revalue {
                    key: StockKey { item: invoiced.item, warehouse: invoiced.warehouse },
                    qty,
                    amount: invoiced.difference,
                    source: DocRef {
                        kind: PURCHASE_INVOICE_DOC.into(),
                        id: invoiced.invoice.0,
                        line: Some(invoiced.invoice_line),
                    },
                })]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::*;
    use crate::ids::{BookId, EventId, ItemId, PartnerId, PurchaseInvoiceId, PurchaseOrderId, WarehouseId};
    use crate::purchasing::invoice::{PurchaseInvoiceBooked, PurchaseInvoiceLine};
    use crate::purchasing::order::PurchaseOrderLineInvoiced;
    use crate::time::Timestamp;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn context() -> EventContext {
        EventContext {
            event_id: EventId(Uuid::from_u128(5)),
            stream_id: "purchase-invoice-x".into(),
            book: BookId(Uuid::from_u128(1)),
            correlation_id: Uuid::from_u128(6),
            occurred_at: Timestamp(7),
        }
    }

    fn booked(revalues_stock: bool) -> PurchaseInvoiceBooked {
        PurchaseInvoiceBooked {
            id: PurchaseInvoiceId(Uuid::from_u128(3)),
            supplier: PartnerId(Uuid::from_u128(4)),
            number: "No.1".into(),
            lines: vec![PurchaseInvoiceLine {
                po: PurchaseOrderId(Uuid::from_u128(2)),
                po_line: 1,
                item: ItemId(Uuid::from_u128(9)),
                qty: d("10"),
                unit_price: d("12.30"),
                vat_rate: d("0.13"),
                amount_net: d("123.00"),
                amount_tax: d("15.99"),
                ordered_price: d("12.00"),
                received_qty: d("10"),
            }],
            amount_net: d("123.00"),
            amount_tax: d("15.99"),
            amount_gross: d("138.99"),
            revalues_stock,
        }
    }

    #[test]
    fn a_booked_invoice_records_each_line_on_its_order_with_its_price_difference() {
        let input = PriceDifferenceInput::PurchaseInvoice(PurchaseInvoiceEvent::Booked(booked(true)));
        let asked = PriceDifferences.react(&input, &context());
        assert_eq!(
            asked,
            vec![PriceDifferenceCommand::PurchaseOrder(PurchaseOrderCommand::RecordInvoiced {
                id: PurchaseOrderId(Uuid::from_u128(2)),
                invoice: PurchaseInvoiceId(Uuid::from_u128(3)),
                invoice_line: 0,
                line: 1,
                qty: d("10"),
                difference: d("3.00"),
            })]
        );
        let v1 = PriceDifferenceInput::PurchaseInvoice(PurchaseInvoiceEvent::Booked(booked(false)));
        assert!(PriceDifferences.react(&v1, &context()).is_empty(), "a v1 invoice expensed its difference");
    }

    #[test]
    fn an_invoiced_line_with_a_difference_revalues_the_stock_it_went_into_and_one_without_does_not() {
        let invoiced = |difference: &str| {
            PriceDifferenceInput::PurchaseOrder(PurchaseOrderEvent::LineInvoiced(PurchaseOrderLineInvoiced {
                invoice: PurchaseInvoiceId(Uuid::from_u128(3)),
                invoice_line: 0,
                line: 1,
                item: ItemId(Uuid::from_u128(9)),
                warehouse: WarehouseId(Uuid::from_u128(8)),
                qty: d("10"),
                difference: d(difference),
            }))
        };
        let asked = PriceDifferences.react(&invoiced("3.00"), &context());
        let [PriceDifferenceCommand::Stock(StockCommand::Revalue { key, amount, source, .. })] =
            asked.as_slice()
        else {
            panic!("{asked:?}")
        };
        assert_eq!(
            (key.warehouse, *amount, source.line),
            (WarehouseId(Uuid::from_u128(8)), d("3.00"), Some(0))
        );
        assert!(PriceDifferences.react(&invoiced("0"), &context()).is_empty());
    }
}
