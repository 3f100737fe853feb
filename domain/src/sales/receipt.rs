//! CustomerReceipt (收款单): money received from a customer, allocated (核销) to open invoices, oldest
//! first unless the clerk names them; what is left is kept as the customer's advance (预收).
//!
//! The open invoices are a fact read from receivables when the receipt is recorded. The receipt
//! allocation process manager applies each allocation to its invoice; an invoice that turns out to owe
//! less hands the excess back, and it is moved to the advance here.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{CustomerReceiptId, PartnerId, SalesInvoiceId};
use crate::time::Timestamp;

/// An invoice the customer still owes on, as receivables knew it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenInvoice {
    pub invoice: SalesInvoiceId,
    pub open: Decimal,
    pub issued_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Allocation {
    /// To the customer's oldest open invoices first.
    Automatic { open_invoices: Vec<OpenInvoice> },
    /// To the invoices the clerk names, with amounts.
    Explicit(Vec<(SalesInvoiceId, Decimal)>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum CustomerReceiptCommand {
    Record {
        id: CustomerReceiptId,
        customer: PartnerId,
        amount: Decimal,
        allocation: Allocation,
    },
    /// From allocation: an invoice could not take all it was given.
    MoveToAdvance {
        id: CustomerReceiptId,
        invoice: SalesInvoiceId,
        amount: Decimal,
    },
    /// Applies part of the receipt's advance (预收款) to a later invoice of the customer.
    ApplyAdvance {
        id: CustomerReceiptId,
        invoice: SalesInvoiceId,
        amount: Decimal,
    },
}

impl CustomerReceiptCommand {
    pub fn id(&self) -> CustomerReceiptId {
        match self {
            CustomerReceiptCommand::Record { id, .. }
            | CustomerReceiptCommand::MoveToAdvance { id, .. }
            | CustomerReceiptCommand::ApplyAdvance { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerReceiptRecorded {
    pub id: CustomerReceiptId,
    pub customer: PartnerId,
    pub amount: Decimal,
    pub allocations: Vec<(SalesInvoiceId, Decimal)>,
    /// Money not allocated to any invoice: the customer's advance.
    pub advance: Decimal,
    pub automatic: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptExcessMovedToAdvance {
    pub invoice: SalesInvoiceId,
    pub amount: Decimal,
}

/// Part of the advance applied to an invoice; the allocation process manager pays the invoice with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptAdvanceApplied {
    pub id: CustomerReceiptId,
    pub customer: PartnerId,
    pub invoice: SalesInvoiceId,
    pub amount: Decimal,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum CustomerReceiptEvent {
        Recorded(CustomerReceiptRecorded) = "sales.CustomerReceiptRecorded" v 1,
        ExcessMovedToAdvance(ReceiptExcessMovedToAdvance) = "sales.ReceiptExcessMovedToAdvance" v 1,
        AdvanceApplied(ReceiptAdvanceApplied) = "sales.ReceiptAdvanceApplied" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerReceiptRejection {
    #[error("the receipt already exists")]
    AlreadyExists,
    #[error("the receipt does not exist")]
    NotFound,
    #[error("a receipt is a positive amount with at most two decimals")]
    InvalidAmount,
    #[error("the allocations add up to {allocated}, more than the {amount} received")]
    OverAllocated { allocated: Decimal, amount: Decimal },
    #[error("{0} was not allocated to invoice {1} by this receipt, or was moved already")]
    NothingToMove(Decimal, SalesInvoiceId),
    #[error("{amount} is more than the {advance} of advance left on this receipt")]
    AdvanceExceeded { amount: Decimal, advance: Decimal },
    #[error("this receipt's advance was applied to invoice {0} already")]
    AlreadyApplied(SalesInvoiceId),
}

impl Rejection for CustomerReceiptRejection {
    fn code(&self) -> &'static str {
        match self {
            CustomerReceiptRejection::AlreadyExists => "receipt.already_exists",
            CustomerReceiptRejection::NotFound => "receipt.not_found",
            CustomerReceiptRejection::InvalidAmount => "receipt.invalid_amount",
            CustomerReceiptRejection::OverAllocated { .. } => "receipt.over_allocated",
            CustomerReceiptRejection::NothingToMove(..) => "receipt.nothing_to_move",
            CustomerReceiptRejection::AdvanceExceeded { .. } => "receipt.advance_exceeded",
            CustomerReceiptRejection::AlreadyApplied(_) => "receipt.already_applied",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerReceipt {
    pub recorded: Option<CustomerReceiptRecorded>,
    pub advance: Decimal,
    pub moved: Vec<SalesInvoiceId>,
    /// Advance applied to later invoices.
    pub applied: Vec<(SalesInvoiceId, Decimal)>,
}

impl CustomerReceipt {
    /// The stream of the customerreceipt `id`: the one place its name is made.
    pub fn stream(id: CustomerReceiptId) -> String {
        format!("customer-receipt-{id}")
    }
}

impl Aggregate for CustomerReceipt {
    type Command = CustomerReceiptCommand;
    type Event = CustomerReceiptEvent;
    type Rejection = CustomerReceiptRejection;

    fn stream_id(command: &CustomerReceiptCommand) -> String {
        CustomerReceipt::stream(command.id())
    }

    fn evolve(&mut self, event: &CustomerReceiptEvent) {
        match event {
            CustomerReceiptEvent::Recorded(e) => {
                self.advance = e.advance;
                self.recorded = Some(e.clone());
            }
            CustomerReceiptEvent::ExcessMovedToAdvance(e) => {
                self.advance += e.amount;
                self.moved.push(e.invoice);
            }
            CustomerReceiptEvent::AdvanceApplied(e) => {
                self.advance -= e.amount;
                self.applied.push((e.invoice, e.amount));
            }
        }
        assert!(self.advance >= Decimal::ZERO, "an advance is never applied beyond what is left");
    }

    fn decide(
        &self,
        command: &CustomerReceiptCommand,
        _meta: &CommandMeta,
    ) -> Result<Vec<CustomerReceiptEvent>, CustomerReceiptRejection> {
        use CustomerReceiptRejection as R;
        match command {
            CustomerReceiptCommand::Record { id, customer, amount, allocation } => {
                if self.recorded.is_some() {
                    return Err(R::AlreadyExists);
                }
                if *amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
                    return Err(R::InvalidAmount);
                }
                let (allocations, automatic) = match allocation {
                    Allocation::Automatic { open_invoices } => {
                        let mut oldest_first = open_invoices.clone();
                        oldest_first.sort_by_key(|i| (i.issued_at, i.invoice));
                        let mut left = *amount;
                        let mut allocations = Vec::new();
                        for invoice in oldest_first.iter().filter(|i| i.open > Decimal::ZERO) {
                            if left.is_zero() {
                                break;
                            }
                            let applied = left.min(invoice.open);
                            allocations.push((invoice.invoice, applied));
                            left -= applied;
                        }
                        (allocations, true)
                    }
                    Allocation::Explicit(allocations) => {
                        if allocations.iter().any(|(_, a)| *a <= Decimal::ZERO) {
                            return Err(R::InvalidAmount);
                        }
                        let allocated: Decimal = allocations.iter().map(|(_, a)| *a).sum();
                        if allocated > *amount {
                            return Err(R::OverAllocated { allocated, amount: *amount });
                        }
                        (allocations.clone(), false)
                    }
                };
                let allocated: Decimal = allocations.iter().map(|(_, a)| *a).sum();
                Ok(vec![CustomerReceiptEvent::Recorded(CustomerReceiptRecorded {
                    id: *id,
                    customer: *customer,
                    amount: *amount,
                    allocations,
                    advance: amount - allocated,
                    automatic,
                })])
            }
            CustomerReceiptCommand::MoveToAdvance { invoice, amount, .. } => {
                let recorded = self.recorded.as_ref().ok_or(R::NotFound)?;
                let allocated = recorded
                    .allocations
                    .iter()
                    .chain(&self.applied)
                    .find(|(i, _)| i == invoice)
                    .map(|(_, a)| *a);
                if allocated.is_none_or(|a| *amount > a || *amount <= Decimal::ZERO)
                    || self.moved.contains(invoice)
                {
                    return Err(R::NothingToMove(*amount, *invoice));
                }
                Ok(vec![CustomerReceiptEvent::ExcessMovedToAdvance(ReceiptExcessMovedToAdvance {
                    invoice: *invoice,
                    amount: *amount,
                })])
            }
            CustomerReceiptCommand::ApplyAdvance { id, invoice, amount } => {
                let recorded = self.recorded.as_ref().ok_or(R::NotFound)?;
                if *amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
                    return Err(R::InvalidAmount);
                }
                if *amount > self.advance {
                    return Err(R::AdvanceExceeded { amount: *amount, advance: self.advance });
                }
                // The invoice takes one allocation per receipt: the advance goes to it once.
                if recorded.allocations.iter().chain(&self.applied).any(|(i, _)| i == invoice) {
                    return Err(R::AlreadyApplied(*invoice));
                }
                Ok(vec![CustomerReceiptEvent::AdvanceApplied(ReceiptAdvanceApplied {
                    id: *id,
                    customer: recorded.customer,
                    invoice: *invoice,
                    amount: *amount,
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, given};
    use uuid::Uuid;

    #[test]
    fn an_advance_is_applied_to_a_later_invoice_once_and_never_beyond_what_is_left() {
        let receipt = given::<CustomerReceipt>(&[(
            testing::meta("cashier"),
            record("100", Allocation::Explicit(vec![(invoice(1), d("60"))])),
        )]);
        let apply = |n: u128, amount: &str| CustomerReceiptCommand::ApplyAdvance {
            id: CustomerReceiptId(Uuid::from_u128(1)),
            invoice: invoice(n),
            amount: d(amount),
        };
        let cashier = testing::meta("cashier");
        assert_eq!(
            receipt.when(&cashier, &apply(2, "40.01")).result.unwrap_err().code(),
            "receipt.advance_exceeded"
        );
        assert_eq!(
            receipt.when(&cashier, &apply(1, "10")).result.unwrap_err().code(),
            "receipt.already_applied"
        );
        assert_eq!(
            receipt.when(&cashier, &apply(2, "0")).result.unwrap_err().code(),
            "receipt.invalid_amount"
        );
        let applied = receipt.when(&cashier, &apply(2, "25"));
        assert!(
            matches!(applied.events(), [CustomerReceiptEvent::AdvanceApplied(a)] if a.amount == d("25") && a.customer == PartnerId(Uuid::from_u128(2)))
        );
        assert_eq!(applied.after.advance, d("15"));
        assert_eq!(
            applied.after.decide(&apply(2, "1"), &cashier).unwrap_err().code(),
            "receipt.already_applied"
        );
        // What invoice 2 could not take comes back as advance.
        let back = CustomerReceiptCommand::MoveToAdvance {
            id: CustomerReceiptId(Uuid::from_u128(1)),
            invoice: invoice(2),
            amount: d("5"),
        };
        assert!(matches!(
            applied.after.decide(&back, &cashier).unwrap()[..],
            [CustomerReceiptEvent::ExcessMovedToAdvance(_)]
        ));
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn invoice(n: u128) -> SalesInvoiceId {
        SalesInvoiceId(Uuid::from_u128(n))
    }

    fn record(amount: &str, allocation: Allocation) -> CustomerReceiptCommand {
        CustomerReceiptCommand::Record {
            id: CustomerReceiptId(Uuid::from_u128(1)),
            customer: PartnerId(Uuid::from_u128(2)),
            amount: d(amount),
            allocation,
        }
    }

    fn open(n: u128, amount: &str, at: i64) -> OpenInvoice {
        OpenInvoice { invoice: invoice(n), open: d(amount), issued_at: Timestamp(at) }
    }

    #[test]
    fn an_automatic_receipt_pays_the_oldest_invoices_first_and_keeps_the_rest_as_advance() {
        let auto = Allocation::Automatic {
            open_invoices: vec![open(3, "50", 30), open(1, "100", 10), open(2, "80", 20)],
        };
        let outcome = given::<CustomerReceipt>(&[]).when(&testing::meta("cashier"), &record("200", auto));
        let CustomerReceiptEvent::Recorded(r) = &outcome.events()[0] else { panic!() };
        assert_eq!(r.allocations, vec![(invoice(1), d("100")), (invoice(2), d("80")), (invoice(3), d("20"))]);
        assert_eq!(r.advance, d("0"));
        let more = Allocation::Automatic { open_invoices: vec![open(1, "100", 10)] };
        let outcome = given::<CustomerReceipt>(&[]).when(&testing::meta("cashier"), &record("130", more));
        assert_eq!(outcome.after.advance, d("30"));
    }

    #[test]
    fn explicit_allocations_cannot_exceed_the_receipt() {
        let explicit = Allocation::Explicit(vec![(invoice(1), d("60")), (invoice(2), d("50"))]);
        given::<CustomerReceipt>(&[])
            .when(&testing::meta("c"), &record("100", explicit))
            .rejected("receipt.over_allocated");
        given::<CustomerReceipt>(&[])
            .when(&testing::meta("c"), &record("-1", Allocation::Explicit(vec![])))
            .rejected("receipt.invalid_amount");
        given::<CustomerReceipt>(&[])
            .when(&testing::meta("c"), &record("1.001", Allocation::Explicit(vec![])))
            .rejected("receipt.invalid_amount");
    }

    #[test]
    fn an_excess_handed_back_by_an_invoice_moves_to_the_advance_once() {
        let explicit = Allocation::Explicit(vec![(invoice(1), d("60"))]);
        let receipt = testing::given_by::<CustomerReceipt>("c", &[record("100", explicit)]);
        let id = CustomerReceiptId(Uuid::from_u128(1));
        let outcome = receipt.when(
            &testing::meta("p"),
            &CustomerReceiptCommand::MoveToAdvance { id, invoice: invoice(1), amount: d("10") },
        );
        assert_eq!(outcome.after.advance, d("50"));
        receipt
            .when(
                &testing::meta("p"),
                &CustomerReceiptCommand::MoveToAdvance { id, invoice: invoice(2), amount: d("1") },
            )
            .rejected("receipt.nothing_to_move");
        receipt
            .when(
                &testing::meta("p"),
                &CustomerReceiptCommand::MoveToAdvance { id, invoice: invoice(1), amount: d("61") },
            )
            .rejected("receipt.nothing_to_move");
    }
}
