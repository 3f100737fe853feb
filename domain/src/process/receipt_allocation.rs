//! Receipt allocation (核销): a recorded customer receipt pays each invoice it was allocated to; an
//! invoice that owed less than it was given hands the excess back, and the receipt keeps it as advance.

use super::{EventContext, ProcessManager};
use crate::sales::{CustomerReceiptCommand, CustomerReceiptEvent, SalesInvoiceCommand, SalesInvoiceEvent};

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum AllocationInput {
        Receipt(CustomerReceiptEvent),
        Invoice(SalesInvoiceEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum AllocationCommand {
    Invoice(SalesInvoiceCommand),
    Receipt(CustomerReceiptCommand),
}

pub struct ReceiptAllocation;

impl ProcessManager for ReceiptAllocation {
    const NAME: &'static str = "receipt-allocation";
    type Input = AllocationInput;
    type Output = AllocationCommand;

    fn react(&self, event: &AllocationInput, _context: &EventContext) -> Vec<AllocationCommand> {
        match event {
            AllocationInput::Receipt(CustomerReceiptEvent::Recorded(recorded)) => recorded
                .allocations
                .iter()
                .map(|(invoice, amount)| {
                    AllocationCommand::Invoice(SalesInvoiceCommand::AllocatePayment {
                        id: *invoice,
                        receipt: recorded.id,
                        amount: *amount,
                    })
                })
                .collect(),
            AllocationInput::Receipt(CustomerReceiptEvent::AdvanceApplied(applied)) => {
                vec![AllocationCommand::Invoice(SalesInvoiceCommand::AllocatePayment {
                    id: applied.invoice,
                    receipt: applied.id,
                    amount: applied.amount,
                })]
            }
            AllocationInput::Invoice(SalesInvoiceEvent::PaymentAllocated(allocated))
                if !allocated.excess.is_zero() =>
            {
                vec![AllocationCommand::Receipt(CustomerReceiptCommand::MoveToAdvance {
                    id: allocated.receipt,
                    invoice: allocated.invoice,
                    amount: allocated.excess,
                })]
            }
            _ => Vec::new(),
        }
    }
}
