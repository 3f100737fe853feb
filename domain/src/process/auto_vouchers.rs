//! Automatic vouchers: every business event that moves value asks for its voucher (posting rules in
//! `finance::rules`). The voucher's id is derived from the event's, so a re-read event asks for the same
//! voucher and nothing is booked twice; its date is the event's business time; its source names the
//! document and the event, so any balance can be followed back to what caused it.

use super::{EventContext, ProcessManager};
use crate::finance::accounts::AccountRole;
use crate::finance::payroll::PayrollEvent;
use crate::finance::rules::{self, AutoVoucher, RoleLine};
use crate::finance::voucher::{VoucherSource, VoucherWord};
use crate::inventory::StockKey;
use crate::inventory::stock::StockEvent;
use crate::production::PRODUCTION_ORDER_DOC;
use crate::purchasing::{GOODS_RECEIPT_DOC, PurchaseInvoiceEvent, PurchaseOrderEvent, SupplierPaymentEvent};
use crate::returns::{PURCHASE_RETURN_DOC, ReturnDirection, ReturnEvent, SALES_RETURN_DOC};
use crate::sales::{CustomerReceiptEvent, SHIPMENT_DOC, SalesInvoiceEvent, ShipmentEvent};
use uuid::Uuid;

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum AutoVoucherInput {
        PurchaseOrder(PurchaseOrderEvent),
        PurchaseInvoice(PurchaseInvoiceEvent),
        Shipment(ShipmentEvent),
        SalesInvoice(SalesInvoiceEvent),
        CustomerReceipt(CustomerReceiptEvent),
        SupplierPayment(SupplierPaymentEvent),
        Stock(StockEvent),
        Return(ReturnEvent),
        Payroll(PayrollEvent),
    }
}

pub struct AutoVouchers;

fn return_doc(direction: ReturnDirection) -> &'static str {
    match direction {
        ReturnDirection::FromCustomer => SALES_RETURN_DOC,
        ReturnDirection::ToSupplier => PURCHASE_RETURN_DOC,
    }
}

impl ProcessManager for AutoVouchers {
    const NAME: &'static str = "auto-vouchers";
    type Input = AutoVoucherInput;
    type Output = AutoVoucher;

    fn react(&self, event: &AutoVoucherInput, context: &EventContext) -> Vec<AutoVoucher> {
        use AutoVoucherInput as I;
        let (kind, id, lines): (&str, Uuid, Vec<RoleLine>) = match event {
            I::PurchaseOrder(PurchaseOrderEvent::Received(e)) => {
                (GOODS_RECEIPT_DOC, e.receipt.0, rules::goods_received(e))
            }
            I::PurchaseInvoice(PurchaseInvoiceEvent::Booked(e)) => {
                ("purchasing.PurchaseInvoice", e.id.0, rules::purchase_invoice_booked(e))
            }
            I::PurchaseInvoice(PurchaseInvoiceEvent::FreightBooked(e)) => {
                ("purchasing.PurchaseInvoice", e.id.0, rules::purchase_freight_booked(e))
            }
            I::Shipment(ShipmentEvent::Costed(e)) => (SHIPMENT_DOC, e.id.0, rules::shipment_costed(e)),
            I::SalesInvoice(SalesInvoiceEvent::Issued(e)) => {
                ("sales.SalesInvoice", e.id.0, rules::sales_invoice_issued(e))
            }
            I::CustomerReceipt(CustomerReceiptEvent::Recorded(e)) => {
                ("sales.CustomerReceipt", e.id.0, rules::customer_receipt(e))
            }
            I::CustomerReceipt(CustomerReceiptEvent::AdvanceApplied(e)) => {
                ("sales.CustomerReceipt", e.id.0, rules::advance_applied(e))
            }
            I::CustomerReceipt(CustomerReceiptEvent::ExcessMovedToAdvance(e)) => {
                ("sales.SalesInvoice", e.invoice.0, rules::receipt_excess(e))
            }
            I::Stock(StockEvent::Adjusted(e)) => {
                (e.source.kind.as_str(), e.source.id, rules::stock_adjusted(e))
            }
            I::Stock(StockEvent::Issued(e)) if e.source.kind == PRODUCTION_ORDER_DOC => {
                (PRODUCTION_ORDER_DOC, e.source.id, rules::production_issue(e))
            }
            I::Stock(StockEvent::Received(e)) if e.source.kind == PRODUCTION_ORDER_DOC => {
                (PRODUCTION_ORDER_DOC, e.source.id, rules::production_receipt(e))
            }
            I::Stock(StockEvent::Revalued(e)) => {
                (e.source.kind.as_str(), e.source.id, rules::stock_revalued(e))
            }
            I::Return(ReturnEvent::Created(e)) => (return_doc(e.direction), e.id.0, rules::return_created(e)),
            I::Return(ReturnEvent::Completed(e)) => {
                (return_doc(e.direction), e.id.0, rules::return_completed(e))
            }
            I::Return(ReturnEvent::LineIssued(e)) => {
                (PURCHASE_RETURN_DOC, e.id.0, rules::return_line_issued(e))
            }
            I::Payroll(PayrollEvent::Accrued(e)) => ("finance.Payroll", e.book.0, rules::payroll_accrued(e)),
            I::Payroll(PayrollEvent::Paid(e)) => ("finance.Payroll", e.book.0, rules::payroll_paid(e)),
            I::SupplierPayment(SupplierPaymentEvent::Paid(e)) => {
                ("purchasing.SupplierPayment", e.id.0, rules::supplier_paid(e))
            }
            _ => return Vec::new(),
        };
        if lines.is_empty() {
            return Vec::new();
        }
        // A stock item's own events name their item on the stock lines, through the stream they are
        // in: the book's chart then says which stock account (库存商品, 原材料) the item's kind uses.
        let mut lines = lines;
        if let (I::Stock(_), Some(key)) = (event, StockKey::from_stream_id(&context.stream_id)) {
            for line in lines.iter_mut().filter(|l| l.role == AccountRole::Inventory && l.item.is_none()) {
                line.item = Some(key.item);
            }
        }
        vec![AutoVoucher {
            id: rules::voucher_for(context.event_id),
            book: context.book,
            word: VoucherWord::Ji,
            date: context.occurred_at,
            lines,
            source: VoucherSource { kind: kind.to_string(), id, event: context.event_id },
        }]
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::ids::{BookId, EventId, ShipmentId};
    use crate::sales::shipment::ShipmentCosted;
    use crate::time::Timestamp;

    fn context() -> EventContext {
        EventContext {
            event_id: EventId(Uuid::from_u128(5)),
            stream_id: "shipment-x".into(),
            book: BookId(Uuid::from_u128(1)),
            correlation_id: Uuid::from_u128(6),
            occurred_at: Timestamp(7),
        }
    }

    #[test]
    fn a_costed_shipment_asks_for_its_cogs_voucher_named_after_the_event_and_dated_by_it() {
        let costed = ShipmentCosted { id: ShipmentId(Uuid::from_u128(9)), value: Decimal::from(72) };
        let asked =
            AutoVouchers.react(&AutoVoucherInput::Shipment(ShipmentEvent::Costed(costed)), &context());
        let [voucher] = asked.as_slice() else { panic!("{asked:?}") };
        assert_eq!(voucher.id, rules::voucher_for(EventId(Uuid::from_u128(5))));
        assert_eq!((voucher.book, voucher.date), (BookId(Uuid::from_u128(1)), Timestamp(7)));
        assert_eq!(voucher.source.kind, "sales.Shipment");
        assert_eq!(voucher.source.id, Uuid::from_u128(9));
        assert_eq!(voucher.source.event, EventId(Uuid::from_u128(5)));
        assert_eq!(voucher.lines.len(), 2);
    }

    #[test]
    fn events_that_move_no_value_ask_for_nothing() {
        let zero = ShipmentCosted { id: ShipmentId(Uuid::from_u128(9)), value: Decimal::ZERO };
        assert!(
            AutoVouchers
                .react(&AutoVoucherInput::Shipment(ShipmentEvent::Costed(zero)), &context())
                .is_empty()
        );
    }
}
