//! SalesInvoice (销售发票): bills one or more shipments of a customer; receipts are allocated to it
//! (核销) until it is paid.
//!
//! Every shipment is claimed for the invoice before the invoice is issued (`command-api::sales`), so a
//! shipment is billed once. VAT is computed and rounded half-up per line. An allocation larger than what
//! is still open applies what is open and hands the excess back (it becomes the customer's advance).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{CustomerReceiptId, ItemId, PartnerId, SalesInvoiceId, ShipmentId};
use crate::time::Timestamp;
use crate::values::{Quantity, UnitAmount, line_amounts};

/// Most lines on one invoice (a VAT special invoice holds far fewer; a list attachment more).
pub const INVOICE_LINES_MAX: usize = 2_000;

#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLineInput {
    pub shipment: ShipmentId,
    pub item: ItemId,
    pub qty: Quantity,
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SalesInvoiceCommand {
    Issue {
        id: SalesInvoiceId,
        customer: PartnerId,
        lines: Vec<InvoiceLineInput>,
        due_at: Timestamp,
        /// Whether the customer and every item are active masters (read at the edge).
        masters_usable: bool,
    },
    /// From receipt allocation: part of a customer receipt pays this invoice.
    AllocatePayment { id: SalesInvoiceId, receipt: CustomerReceiptId, amount: Decimal },
    /// An invoice open when the book started (from its opening balances), so receipts can pay it.
    OpenFromOpeningBalance {
        id: SalesInvoiceId,
        customer: PartnerId,
        reference: String,
        amount_gross: Decimal,
        issued_at: Timestamp,
        due_at: Timestamp,
    },
}

impl SalesInvoiceCommand {
    pub fn id(&self) -> SalesInvoiceId {
        match self {
            SalesInvoiceCommand::Issue { id, .. }
            | SalesInvoiceCommand::AllocatePayment { id, .. }
            | SalesInvoiceCommand::OpenFromOpeningBalance { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub shipment: ShipmentId,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesInvoiceIssued {
    pub id: SalesInvoiceId,
    pub customer: PartnerId,
    pub shipments: Vec<ShipmentId>,
    pub lines: Vec<InvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
    pub issued_at: Timestamp,
    pub due_at: Timestamp,
}

/// 核销: part of a receipt applied to the invoice; `excess` is what did not fit and stays an advance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAllocated {
    pub invoice: SalesInvoiceId,
    pub receipt: CustomerReceiptId,
    pub customer: PartnerId,
    pub applied: Decimal,
    pub excess: Decimal,
    pub open_after: Decimal,
}

/// An invoice carried over from before the book started: already in the opening balances, so it books
/// nothing; it only takes payments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesInvoiceOpened {
    pub id: SalesInvoiceId,
    pub customer: PartnerId,
    pub reference: String,
    pub amount_gross: Decimal,
    pub issued_at: Timestamp,
    pub due_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesInvoicePaid {
    pub id: SalesInvoiceId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum SalesInvoiceEvent {
        Issued(SalesInvoiceIssued) = "sales.SalesInvoiceIssued" v 1,
        PaymentAllocated(PaymentAllocated) = "sales.PaymentAllocated" v 1,
        Paid(SalesInvoicePaid) = "sales.SalesInvoicePaid" v 1,
        OpenedFromOpeningBalance(SalesInvoiceOpened) = "sales.SalesInvoiceOpenedFromOpeningBalance" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesInvoiceRejection {
    #[error("the invoice already exists")]
    AlreadyExists,
    #[error("the invoice does not exist")]
    NotFound,
    #[error("an invoice has 1 to {INVOICE_LINES_MAX} lines with valid VAT rates")]
    InvalidLines,
    #[error("an allocation must be a positive amount")]
    InvalidAmount,
    #[error("the customer or an item is deactivated")]
    MasterUnusable,
}

impl Rejection for SalesInvoiceRejection {
    fn code(&self) -> &'static str {
        match self {
            SalesInvoiceRejection::AlreadyExists => "invoice.already_exists",
            SalesInvoiceRejection::NotFound => "invoice.not_found",
            SalesInvoiceRejection::InvalidLines => "invoice.invalid_lines",
            SalesInvoiceRejection::InvalidAmount => "invoice.invalid_amount",
            SalesInvoiceRejection::MasterUnusable => "invoice.master_unusable",
        }
    }
}

/// Prices the lines of an invoice: what `Issue` would record, checked before shipments are claimed.
pub fn price_invoice_lines(lines: &[InvoiceLineInput]) -> Result<Vec<InvoiceLine>, SalesInvoiceRejection> {
    if lines.is_empty() || lines.len() > INVOICE_LINES_MAX {
        return Err(SalesInvoiceRejection::InvalidLines);
    }
    lines
        .iter()
        .map(|l| {
            if !crate::values::is_vat_rate(l.vat_rate) {
                return Err(SalesInvoiceRejection::InvalidLines);
            }
            let (amount_net, amount_tax) = line_amounts(l.qty.get(), l.unit_price.get(), l.vat_rate);
            Ok(InvoiceLine {
                shipment: l.shipment,
                item: l.item,
                qty: l.qty.get(),
                unit_price: l.unit_price.get(),
                vat_rate: l.vat_rate,
                amount_net,
                amount_tax,
            })
        })
        .collect()
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalesInvoice {
    pub issued: Option<SalesInvoiceIssued>,
    pub open: Decimal,
    pub allocations: Vec<(CustomerReceiptId, Decimal)>,
    pub paid: bool,
}

impl Aggregate for SalesInvoice {
    type Command = SalesInvoiceCommand;
    type Event = SalesInvoiceEvent;
    type Rejection = SalesInvoiceRejection;

    fn stream_id(command: &SalesInvoiceCommand) -> String {
        format!("sales-invoice-{}", command.id())
    }

    fn evolve(&mut self, event: &SalesInvoiceEvent) {
        match event {
            SalesInvoiceEvent::Issued(e) => {
                self.open = e.amount_gross;
                self.issued = Some(e.clone());
            }
            SalesInvoiceEvent::PaymentAllocated(e) => {
                self.open -= e.applied;
                self.allocations.push((e.receipt, e.applied));
            }
            SalesInvoiceEvent::Paid(_) => self.paid = true,
            SalesInvoiceEvent::OpenedFromOpeningBalance(e) => {
                // Held as an invoice without lines, so allocations treat it like any other.
                self.open = e.amount_gross;
                self.issued = Some(SalesInvoiceIssued {
                    id: e.id,
                    customer: e.customer,
                    shipments: Vec::new(),
                    lines: Vec::new(),
                    amount_net: e.amount_gross,
                    amount_tax: Decimal::ZERO,
                    amount_gross: e.amount_gross,
                    issued_at: e.issued_at,
                    due_at: e.due_at,
                });
            }
        }
        assert!(self.open >= Decimal::ZERO, "an invoice is never paid beyond its amount");
    }

    fn decide(
        &self,
        command: &SalesInvoiceCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<SalesInvoiceEvent>, SalesInvoiceRejection> {
        use SalesInvoiceRejection as R;
        match command {
            SalesInvoiceCommand::OpenFromOpeningBalance {
                id,
                customer,
                reference,
                amount_gross,
                issued_at,
                due_at,
            } => {
                if self.issued.is_some() {
                    return Err(R::AlreadyExists);
                }
                if *amount_gross <= Decimal::ZERO || amount_gross.scale() > 2 {
                    return Err(R::InvalidAmount);
                }
                Ok(vec![SalesInvoiceEvent::OpenedFromOpeningBalance(SalesInvoiceOpened {
                    id: *id,
                    customer: *customer,
                    reference: reference.clone(),
                    amount_gross: *amount_gross,
                    issued_at: *issued_at,
                    due_at: *due_at,
                })])
            }
            SalesInvoiceCommand::Issue { id, customer, lines, due_at, masters_usable } => {
                if self.issued.is_some() {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                let lines = price_invoice_lines(lines)?;
                let amount_net: Decimal = lines.iter().map(|l| l.amount_net).sum();
                let amount_tax: Decimal = lines.iter().map(|l| l.amount_tax).sum();
                let mut shipments: Vec<ShipmentId> = lines.iter().map(|l| l.shipment).collect();
                shipments.sort();
                shipments.dedup();
                Ok(vec![SalesInvoiceEvent::Issued(SalesInvoiceIssued {
                    id: *id,
                    customer: *customer,
                    shipments,
                    lines,
                    amount_net,
                    amount_tax,
                    amount_gross: amount_net + amount_tax,
                    issued_at: meta.occurred_at,
                    due_at: *due_at,
                })])
            }
            SalesInvoiceCommand::AllocatePayment { id, receipt, amount } => {
                let issued = self.issued.as_ref().ok_or(R::NotFound)?;
                if *amount <= Decimal::ZERO {
                    return Err(R::InvalidAmount);
                }
                if self.allocations.iter().any(|(r, _)| r == receipt) {
                    // One allocation per receipt and invoice: a repeated one changes nothing.
                    return Ok(Vec::new());
                }
                let applied = (*amount).min(self.open);
                let mut events = vec![SalesInvoiceEvent::PaymentAllocated(PaymentAllocated {
                    invoice: *id,
                    receipt: *receipt,
                    customer: issued.customer,
                    applied,
                    excess: amount - applied,
                    open_after: self.open - applied,
                })];
                if self.open - applied == Decimal::ZERO && !self.paid {
                    events.push(SalesInvoiceEvent::Paid(SalesInvoicePaid { id: *id }));
                }
                Ok(events)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, given};
    use uuid::Uuid;

    fn id() -> SalesInvoiceId {
        SalesInvoiceId(Uuid::from_u128(1))
    }

    fn line(price: &str, qty: u32) -> InvoiceLineInput {
        InvoiceLineInput {
            shipment: ShipmentId(Uuid::from_u128(2)),
            item: ItemId(Uuid::from_u128(3)),
            qty: Quantity::units(qty),
            unit_price: UnitAmount::new(price.parse().unwrap()).unwrap(),
            vat_rate: "0.13".parse().unwrap(),
        }
    }

    fn issue() -> SalesInvoiceCommand {
        SalesInvoiceCommand::Issue {
            id: id(),
            customer: PartnerId(Uuid::from_u128(4)),
            lines: vec![line("10.005", 3), line("99.99", 1)],
            due_at: Timestamp(30),
            masters_usable: true,
        }
    }

    fn allocate(receipt: u128, amount: &str) -> SalesInvoiceCommand {
        SalesInvoiceCommand::AllocatePayment {
            id: id(),
            receipt: CustomerReceiptId(Uuid::from_u128(receipt)),
            amount: amount.parse().unwrap(),
        }
    }

    #[test]
    fn an_invoice_rounds_vat_per_line_and_is_open_for_its_gross_amount() {
        let outcome = testing::given_by::<SalesInvoice>("clerk", &[]).when(&testing::meta("clerk"), &issue());
        let SalesInvoiceEvent::Issued(issued) = &outcome.events()[0] else { panic!() };
        assert_eq!(issued.amount_gross, "146.91".parse::<Decimal>().unwrap());
        assert_eq!(issued.shipments.len(), 1);
        assert_eq!(outcome.after.open, issued.amount_gross);
    }

    #[test]
    fn allocations_reduce_what_is_open_and_the_last_one_pays_the_invoice() {
        let state = testing::given_by::<SalesInvoice>("clerk", &[issue(), allocate(10, "100")]);
        assert_eq!(state.state.open, "46.91".parse::<Decimal>().unwrap());
        let outcome = state.when(&testing::meta("p"), &allocate(11, "50"));
        let SalesInvoiceEvent::PaymentAllocated(a) = &outcome.events()[0] else { panic!() };
        assert_eq!((a.applied, a.excess), ("46.91".parse().unwrap(), "3.09".parse().unwrap()));
        assert!(matches!(outcome.events().last(), Some(SalesInvoiceEvent::Paid(_))));
        assert!(
            state.when(&testing::meta("p"), &allocate(10, "100")).events().is_empty(),
            "a repeated allocation is a no-op"
        );
    }

    #[test]
    fn allocations_need_an_issued_invoice_and_a_positive_amount() {
        given::<SalesInvoice>(&[])
            .when(&testing::meta("p"), &allocate(10, "1"))
            .rejected("invoice.not_found");
        testing::given_by::<SalesInvoice>("clerk", &[issue()])
            .when(&testing::meta("p"), &allocate(10, "0"))
            .rejected("invoice.invalid_amount");
        testing::given_by::<SalesInvoice>("clerk", &[issue()])
            .when(&testing::meta("p"), &issue())
            .rejected("invoice.already_exists");
        let mut bad = line("1", 1);
        bad.vat_rate = "0.17".parse().unwrap();
        let command = SalesInvoiceCommand::Issue {
            id: id(),
            customer: PartnerId(Uuid::from_u128(4)),
            lines: vec![bad],
            due_at: Timestamp(0),
            masters_usable: true,
        };
        given::<SalesInvoice>(&[]).when(&testing::meta("p"), &command).rejected("invoice.invalid_lines");
    }

    #[test]
    fn an_invoice_to_a_deactivated_customer_is_rejected() {
        let SalesInvoiceCommand::Issue { id, customer, lines, due_at, .. } = issue() else { panic!() };
        let issue = SalesInvoiceCommand::Issue { id, customer, lines, due_at, masters_usable: false };
        given::<SalesInvoice>(&[]).when(&testing::meta("clerk"), &issue).rejected("invoice.master_unusable");
    }
}
