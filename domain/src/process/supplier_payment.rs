//! Supplier payment: each allocation of a payment is recorded on its purchase invoice.

use super::{EventContext, ProcessManager};
use crate::purchasing::PurchaseInvoiceCommand;
use crate::purchasing::payment::SupplierPaymentEvent;

pub struct SupplierPaymentAllocation;

impl ProcessManager for SupplierPaymentAllocation {
    const NAME: &'static str = "supplier-payment-allocation";
    type Input = SupplierPaymentEvent;
    type Output = PurchaseInvoiceCommand;

    fn react(&self, event: &SupplierPaymentEvent, _context: &EventContext) -> Vec<PurchaseInvoiceCommand> {
        let SupplierPaymentEvent::Paid(paid) = event;
        paid.allocations
            .iter()
            .map(|(invoice, amount)| PurchaseInvoiceCommand::RecordPayment {
                id: *invoice,
                payment: paid.id,
                amount: *amount,
            })
            .collect()
    }
}
