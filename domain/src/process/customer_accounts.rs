//! Customer accounts: every invoice, payment allocated to an invoice and red invoice of a customer's
//! return moves the customer's running balance (`sales::account`), which the credit check reads.

use super::{EventContext, ProcessManager};
use crate::returns::{ReturnDirection, ReturnEvent};
use crate::sales::{CustomerAccountCommand, SalesInvoiceEvent};

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum CustomerAccountInput {
        Invoice(SalesInvoiceEvent),
        Return(ReturnEvent),
    }
}

pub struct CustomerAccounts;

impl ProcessManager for CustomerAccounts {
    const NAME: &'static str = "customer-accounts";
    type Input = CustomerAccountInput;
    type Output = CustomerAccountCommand;

    fn react(&self, event: &CustomerAccountInput, _context: &EventContext) -> Vec<CustomerAccountCommand> {
        let moved = match event {
            CustomerAccountInput::Invoice(SalesInvoiceEvent::Issued(e)) => {
                (e.customer, e.amount_gross, e.id.0)
            }
            CustomerAccountInput::Invoice(SalesInvoiceEvent::OpenedFromOpeningBalance(e)) => {
                (e.customer, e.amount_gross, e.id.0)
            }
            CustomerAccountInput::Invoice(SalesInvoiceEvent::PaymentAllocated(e)) => {
                (e.customer, -e.applied, e.receipt.0)
            }
            CustomerAccountInput::Return(ReturnEvent::Created(e))
                if e.direction == ReturnDirection::FromCustomer =>
            {
                (e.partner, -e.amount_gross, e.id.0)
            }
            _ => return Vec::new(),
        };
        let (customer, amount, document) = moved;
        if amount.is_zero() {
            return Vec::new();
        }
        vec![CustomerAccountCommand::Move { customer, amount, document }]
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::*;
    use crate::ids::{BookId, CustomerReceiptId, EventId, PartnerId, SalesInvoiceId};
    use crate::sales::invoice::PaymentAllocated;
    use crate::time::Timestamp;

    #[test]
    fn a_payment_allocated_to_an_invoice_lowers_the_customers_balance_by_what_the_invoice_took() {
        let context = EventContext {
            event_id: EventId(Uuid::from_u128(1)),
            stream_id: "sales-invoice-x".into(),
            book: BookId(Uuid::from_u128(1)),
            correlation_id: Uuid::from_u128(2),
            occurred_at: Timestamp(0),
        };
        let allocated = PaymentAllocated {
            invoice: SalesInvoiceId(Uuid::from_u128(3)),
            receipt: CustomerReceiptId(Uuid::from_u128(4)),
            customer: PartnerId(Uuid::from_u128(60)),
            applied: Decimal::from(40),
            excess: Decimal::from(5),
            open_after: Decimal::ZERO,
        };
        let commands = CustomerAccounts
            .react(&CustomerAccountInput::Invoice(SalesInvoiceEvent::PaymentAllocated(allocated)), &context);
        assert_eq!(
            commands,
            vec![CustomerAccountCommand::Move {
                customer: PartnerId(Uuid::from_u128(60)),
                amount: Decimal::from(-40),
                document: Uuid::from_u128(4),
            }]
        );
    }
}
