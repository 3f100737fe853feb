//! PurchaseInvoice (采购发票): registered with lines and VAT, three-way matched against the order and
//! the receipts; a mismatch beyond the tolerances goes to an exception that needs an approval; supplier
//! payments are recorded against it until it is paid.
//!
//! The match compares, per line, what the order says (quantity, price) and what was received, as facts
//! read from purchasing when the invoice is registered: quantity invoiced so far plus this invoice may not
//! exceed the received quantity by more than the quantity tolerance, and the price may not differ from
//! the order's by more than the price tolerance.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId, PurchaseOrderId, SupplierPaymentId};
use crate::purchasing::order::ReceivedInvoice;
use crate::time::Timestamp;
use crate::values::{Quantity, UnitAmount, line_amounts};

/// Most lines on one purchase invoice.
pub const PURCHASE_INVOICE_LINES_MAX: usize = 2_000;

#[derive(Clone, Debug, PartialEq)]
pub struct PurchaseInvoiceLineInput {
    pub po: PurchaseOrderId,
    pub po_line: u32,
    pub item: ItemId,
    pub qty: Quantity,
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
}

/// What purchasing knows about an order line when the invoice is registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLineFacts {
    pub po: PurchaseOrderId,
    pub po_line: u32,
    pub ordered_price: Decimal,
    pub received_qty: Decimal,
    pub invoiced_qty: Decimal,
}

/// The book's matching tolerances, as fractions (0.02 = 2 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerances {
    pub qty: Decimal,
    pub price: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PurchaseInvoiceCommand {
    Register {
        id: PurchaseInvoiceId,
        supplier: PartnerId,
        /// The supplier's invoice number (发票号码).
        number: String,
        lines: Vec<PurchaseInvoiceLineInput>,
        facts: Vec<OrderLineFacts>,
        tolerances: Tolerances,
        /// Whether the supplier and every item are active masters (read at the edge).
        masters_usable: bool,
    },
    /// Accepts a mismatch: finance or purchasing, not the person who registered the invoice.
    ApproveException { id: PurchaseInvoiceId, reason: String },
    /// From the payment flow: part of a supplier payment pays this invoice.
    RecordPayment { id: PurchaseInvoiceId, payment: SupplierPaymentId, amount: Decimal },
    /// From the receiving flow: the invoice that came with the goods, booked with the receipt, now open
    /// for payments.
    RecordWithGoods {
        id: PurchaseInvoiceId,
        supplier: PartnerId,
        po: PurchaseOrderId,
        receipt: GoodsReceiptId,
        invoice: ReceivedInvoice,
    },
    /// A carrier's freight invoice (运费) for an order's goods: expensed (trading companies, the
    /// small-enterprise rule for wholesale and retail) or capitalized into the goods' cost
    /// (manufacturers), as the book chose.
    RegisterFreight {
        id: PurchaseInvoiceId,
        carrier: PartnerId,
        number: String,
        po: PurchaseOrderId,
        amount_net: Decimal,
        vat_rate: Decimal,
        /// The book's choice (read at the edge).
        capitalize: bool,
        /// Whether `po` is an order purchasing knows (read at the edge): freight is spread over its
        /// goods.
        po_known: bool,
    },
    /// An invoice still unpaid when the book started (from its opening balances), so payments can pay it.
    OpenFromOpeningBalance {
        id: PurchaseInvoiceId,
        supplier: PartnerId,
        reference: String,
        amount_gross: Decimal,
        issued_at: Timestamp,
        due_at: Timestamp,
    },
}

impl PurchaseInvoiceCommand {
    pub fn id(&self) -> PurchaseInvoiceId {
        match self {
            PurchaseInvoiceCommand::Register { id, .. }
            | PurchaseInvoiceCommand::ApproveException { id, .. }
            | PurchaseInvoiceCommand::RecordPayment { id, .. }
            | PurchaseInvoiceCommand::RecordWithGoods { id, .. }
            | PurchaseInvoiceCommand::RegisterFreight { id, .. }
            | PurchaseInvoiceCommand::OpenFromOpeningBalance { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceLine {
    pub po: PurchaseOrderId,
    pub po_line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    /// The order's price and what was received, as matched.
    pub ordered_price: Decimal,
    pub received_qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceRegistered {
    pub id: PurchaseInvoiceId,
    pub supplier: PartnerId,
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
    pub by: String,
}

/// One line that did not match, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchMismatch {
    pub line: u32,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceMatched {
    pub id: PurchaseInvoiceId,
    /// None when it matched by itself; the approver when an exception was accepted.
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

/// A matched invoice as the books take it (payables, input VAT, the estimate it clears): recorded with
/// the match, so its voucher needs nothing but this event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceBooked {
    pub id: PurchaseInvoiceId,
    pub supplier: PartnerId,
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
    /// Since v2 (always true from then on): the price differences are left in GRNI for the stock
    /// they fall on to take (the price-difference flow revalues it and books the part on goods already
    /// gone to cost of sales). A v1 invoice booked its differences straight to cost of sales.
    pub revalues_stock: bool,
}

/// `purchasing.PurchaseInvoiceBooked` v1: price differences went to cost of sales.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceBookedV1 {
    pub id: PurchaseInvoiceId,
    pub supplier: PartnerId,
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
}

impl From<PurchaseInvoiceBookedV1> for PurchaseInvoiceBooked {
    fn from(v1: PurchaseInvoiceBookedV1) -> Self {
        PurchaseInvoiceBooked {
            id: v1.id,
            supplier: v1.supplier,
            number: v1.number,
            lines: v1.lines,
            amount_net: v1.amount_net,
            amount_tax: v1.amount_tax,
            amount_gross: v1.amount_gross,
            revalues_stock: false,
        }
    }
}

impl PurchaseInvoiceBooked {
    fn of(registered: &PurchaseInvoiceRegistered) -> Self {
        PurchaseInvoiceBooked {
            id: registered.id,
            supplier: registered.supplier,
            number: registered.number.clone(),
            lines: registered.lines.clone(),
            amount_net: registered.amount_net,
            amount_tax: registered.amount_tax,
            amount_gross: registered.amount_gross,
            revalues_stock: true,
        }
    }
}

impl PurchaseInvoiceLine {
    /// What the goods were estimated at when received: the order price × qty, rounded half-up.
    pub fn estimate(&self) -> Decimal {
        crate::values::round_money(self.qty * self.ordered_price)
    }

    /// The invoiced net less the estimate: the price difference of this line.
    pub fn difference(&self) -> Decimal {
        self.amount_net - self.estimate()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceMatchFailed {
    pub mismatches: Vec<MatchMismatch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierPaymentRecorded {
    pub payment: SupplierPaymentId,
    pub amount: Decimal,
    pub open_after: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoicePaid {
    pub id: PurchaseInvoiceId,
}

/// An invoice that came with the goods: booked with the receipt (its voucher debits the stock, not the
/// estimate), open for payments from here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceRecordedWithGoods {
    pub id: PurchaseInvoiceId,
    pub supplier: PartnerId,
    pub po: PurchaseOrderId,
    pub receipt: GoodsReceiptId,
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
}

/// A freight invoice booked: Dr selling expense (or, capitalized, GRNI until the goods' stock takes
/// it) + Dr input VAT / Cr payables to the carrier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseFreightBooked {
    pub id: PurchaseInvoiceId,
    pub carrier: PartnerId,
    pub number: String,
    pub po: PurchaseOrderId,
    pub vat_rate: Decimal,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
    /// Whether the freight becomes part of the goods' cost (spread over the order's received lines).
    pub capitalized: bool,
}

/// An invoice carried over from before the book started: in the opening balances already, so it books
/// nothing; it is open for payments from the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseInvoiceOpened {
    pub id: PurchaseInvoiceId,
    pub supplier: PartnerId,
    /// The invoice's number in the previous system.
    pub reference: String,
    pub amount_gross: Decimal,
    pub issued_at: Timestamp,
    pub due_at: Timestamp,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PurchaseInvoiceEvent {
        Registered(PurchaseInvoiceRegistered) = "purchasing.PurchaseInvoiceRegistered" v 1,
        Matched(PurchaseInvoiceMatched) = "purchasing.PurchaseInvoiceMatched" v 1,
        MatchFailed(PurchaseInvoiceMatchFailed) = "purchasing.PurchaseInvoiceMatchFailed" v 1,
        PaymentRecorded(SupplierPaymentRecorded) = "purchasing.SupplierPaymentRecorded" v 1,
        Paid(PurchaseInvoicePaid) = "purchasing.PurchaseInvoicePaid" v 1,
        Booked(PurchaseInvoiceBooked) = "purchasing.PurchaseInvoiceBooked" v 2 upcast [1 => PurchaseInvoiceBookedV1],
        OpenedFromOpeningBalance(PurchaseInvoiceOpened) = "purchasing.PurchaseInvoiceOpenedFromOpeningBalance" v 1,
        RecordedWithGoods(PurchaseInvoiceRecordedWithGoods) = "purchasing.PurchaseInvoiceRecordedWithGoods" v 1,
        FreightBooked(PurchaseFreightBooked) = "purchasing.PurchaseFreightBooked" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseInvoiceRejection {
    #[error("the purchase invoice already exists")]
    AlreadyExists,
    #[error("the purchase invoice does not exist")]
    NotFound,
    #[error("an invoice has a number and 1 to {PURCHASE_INVOICE_LINES_MAX} lines with valid VAT rates")]
    InvalidLines,
    #[error("line {0} names an order line purchasing knows nothing about")]
    UnknownOrderLine(u32),
    #[error("the invoice is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("accepting a mismatch needs the finance or purchasing role")]
    NotAllowed,
    #[error("{0} registered this invoice and cannot accept its mismatch")]
    OwnInvoice(String),
    #[error("a payment of {amount} is more than the {open} still open")]
    Overpaid { amount: Decimal, open: Decimal },
    #[error("a payment must be a positive amount")]
    InvalidAmount,
    #[error("the supplier or an item is deactivated")]
    MasterUnusable,
    #[error("purchase order {0} does not exist")]
    UnknownOrder(PurchaseOrderId),
}

impl Rejection for PurchaseInvoiceRejection {
    fn code(&self) -> &'static str {
        match self {
            PurchaseInvoiceRejection::AlreadyExists => "purchase_invoice.already_exists",
            PurchaseInvoiceRejection::NotFound => "purchase_invoice.not_found",
            PurchaseInvoiceRejection::InvalidLines => "purchase_invoice.invalid_lines",
            PurchaseInvoiceRejection::UnknownOrderLine(_) => "purchase_invoice.unknown_order_line",
            PurchaseInvoiceRejection::WrongStatus(_) => "purchase_invoice.wrong_status",
            PurchaseInvoiceRejection::NotAllowed => "purchase_invoice.not_allowed",
            PurchaseInvoiceRejection::OwnInvoice(_) => "purchase_invoice.own_invoice",
            PurchaseInvoiceRejection::Overpaid { .. } => "purchase_invoice.overpaid",
            PurchaseInvoiceRejection::InvalidAmount => "purchase_invoice.invalid_amount",
            PurchaseInvoiceRejection::MasterUnusable => "purchase_invoice.master_unusable",
            PurchaseInvoiceRejection::UnknownOrder(_) => "purchase_invoice.unknown_order",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PurchaseInvoiceStatus {
    #[default]
    New,
    /// Mismatched beyond tolerance: waits for an approval.
    Exception,
    Matched,
    Paid,
}

impl PurchaseInvoiceStatus {
    fn name(self) -> &'static str {
        match self {
            PurchaseInvoiceStatus::New => "new",
            PurchaseInvoiceStatus::Exception => "in match exception",
            PurchaseInvoiceStatus::Matched => "matched",
            PurchaseInvoiceStatus::Paid => "paid",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurchaseInvoice {
    pub status: PurchaseInvoiceStatus,
    pub registered: Option<PurchaseInvoiceRegistered>,
    pub open: Decimal,
    pub payments: Vec<SupplierPaymentId>,
}

/// Prices and matches the lines: the registered lines and the mismatches, if any.
fn match_lines(
    lines: &[PurchaseInvoiceLineInput],
    facts: &[OrderLineFacts],
    tolerances: Tolerances,
) -> Result<(Vec<PurchaseInvoiceLine>, Vec<MatchMismatch>), PurchaseInvoiceRejection> {
    let mut registered = Vec::with_capacity(lines.len());
    let mut mismatches = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !crate::values::is_vat_rate(line.vat_rate) {
            return Err(PurchaseInvoiceRejection::InvalidLines);
        }
        let fact = facts
            .iter()
            .find(|f| f.po == line.po && f.po_line == line.po_line)
            .ok_or(PurchaseInvoiceRejection::UnknownOrderLine(i as u32))?;
        let qty = line.qty.get();
        let price = line.unit_price.get();
        let invoiced_after = fact.invoiced_qty + qty;
        if invoiced_after > fact.received_qty * (Decimal::ONE + tolerances.qty) {
            mismatches.push(MatchMismatch {
                line: i as u32,
                reason: format!("invoiced {invoiced_after} in all, received {}", fact.received_qty),
            });
        }
        if (price - fact.ordered_price).abs() > fact.ordered_price * tolerances.price {
            mismatches.push(MatchMismatch {
                line: i as u32,
                reason: format!("price {price}, ordered at {}", fact.ordered_price),
            });
        }
        let (amount_net, amount_tax) = line_amounts(qty, price, line.vat_rate);
        registered.push(PurchaseInvoiceLine {
            po: line.po,
            po_line: line.po_line,
            item: line.item,
            qty,
            unit_price: price,
            vat_rate: line.vat_rate,
            amount_net,
            amount_tax,
            ordered_price: fact.ordered_price,
            received_qty: fact.received_qty,
        });
    }
    Ok((registered, mismatches))
}

impl Aggregate for PurchaseInvoice {
    type Command = PurchaseInvoiceCommand;
    type Event = PurchaseInvoiceEvent;
    type Rejection = PurchaseInvoiceRejection;

    fn stream_id(command: &PurchaseInvoiceCommand) -> String {
        format!("purchase-invoice-{}", command.id())
    }

    fn evolve(&mut self, event: &PurchaseInvoiceEvent) {
        match event {
            PurchaseInvoiceEvent::Registered(e) => {
                self.open = e.amount_gross;
                self.registered = Some(e.clone());
            }
            PurchaseInvoiceEvent::Matched(_) => self.status = PurchaseInvoiceStatus::Matched,
            PurchaseInvoiceEvent::MatchFailed(_) => self.status = PurchaseInvoiceStatus::Exception,
            PurchaseInvoiceEvent::PaymentRecorded(e) => {
                self.open -= e.amount;
                self.payments.push(e.payment);
            }
            PurchaseInvoiceEvent::Paid(_) => self.status = PurchaseInvoiceStatus::Paid,
            PurchaseInvoiceEvent::Booked(_) => {}
            PurchaseInvoiceEvent::OpenedFromOpeningBalance(e) => {
                self.open = e.amount_gross;
                self.status = PurchaseInvoiceStatus::Matched;
            }
            PurchaseInvoiceEvent::RecordedWithGoods(e) => {
                self.open = e.amount_gross;
                self.status = PurchaseInvoiceStatus::Matched;
            }
            PurchaseInvoiceEvent::FreightBooked(e) => {
                self.open = e.amount_gross;
                self.status = PurchaseInvoiceStatus::Matched;
            }
        }
        assert!(self.open >= Decimal::ZERO, "an invoice is never paid beyond its amount");
    }

    fn decide(
        &self,
        command: &PurchaseInvoiceCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<PurchaseInvoiceEvent>, PurchaseInvoiceRejection> {
        use PurchaseInvoiceRejection as R;
        use PurchaseInvoiceStatus as S;
        let wrong = || if self.status == S::New { R::NotFound } else { R::WrongStatus(self.status.name()) };
        match command {
            PurchaseInvoiceCommand::Register {
                id,
                supplier,
                number,
                lines,
                facts,
                tolerances,
                masters_usable,
            } => {
                if self.registered.is_some() || self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                if number.trim().is_empty() || lines.is_empty() || lines.len() > PURCHASE_INVOICE_LINES_MAX {
                    return Err(R::InvalidLines);
                }
                let (lines, mismatches) = match_lines(lines, facts, *tolerances)?;
                let amount_net: Decimal = lines.iter().map(|l| l.amount_net).sum();
                let amount_tax: Decimal = lines.iter().map(|l| l.amount_tax).sum();
                let registered = PurchaseInvoiceRegistered {
                    id: *id,
                    supplier: *supplier,
                    number: number.trim().to_string(),
                    lines,
                    amount_net,
                    amount_tax,
                    amount_gross: amount_net + amount_tax,
                    by: meta.actor.clone(),
                };
                let booked = PurchaseInvoiceBooked::of(&registered);
                let mut events = vec![PurchaseInvoiceEvent::Registered(registered)];
                if mismatches.is_empty() {
                    events.push(PurchaseInvoiceEvent::Matched(PurchaseInvoiceMatched {
                        id: *id,
                        approved_by: None,
                        reason: None,
                    }));
                    events.push(PurchaseInvoiceEvent::Booked(booked));
                } else {
                    events.push(PurchaseInvoiceEvent::MatchFailed(PurchaseInvoiceMatchFailed { mismatches }));
                }
                Ok(events)
            }
            PurchaseInvoiceCommand::ApproveException { id, reason } => {
                if self.status != S::Exception {
                    return Err(wrong());
                }
                if !meta.has_role(Role::Finance) && !meta.has_role(Role::Purchasing) {
                    return Err(R::NotAllowed);
                }
                let registrant = self.registered.as_ref().map(|r| r.by.clone()).unwrap_or_default();
                if registrant == meta.actor {
                    return Err(R::OwnInvoice(registrant));
                }
                let registered = self.registered.as_ref().expect("an exception was registered");
                Ok(vec![
                    PurchaseInvoiceEvent::Matched(PurchaseInvoiceMatched {
                        id: *id,
                        approved_by: Some(meta.actor.clone()),
                        reason: Some(reason.clone()),
                    }),
                    PurchaseInvoiceEvent::Booked(PurchaseInvoiceBooked::of(registered)),
                ])
            }
            PurchaseInvoiceCommand::RecordWithGoods { id, supplier, po, receipt, invoice } => {
                // A re-read receipt repeats its command id, which the command bus recognises; another
                // document under this invoice's id is a mistake.
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                Ok(vec![PurchaseInvoiceEvent::RecordedWithGoods(PurchaseInvoiceRecordedWithGoods {
                    id: *id,
                    supplier: *supplier,
                    po: *po,
                    receipt: *receipt,
                    number: invoice.number.clone(),
                    lines: invoice.lines.clone(),
                    amount_net: invoice.amount_net,
                    amount_tax: invoice.amount_tax,
                    amount_gross: invoice.amount_gross,
                })])
            }
            PurchaseInvoiceCommand::RegisterFreight {
                id,
                carrier,
                number,
                po,
                amount_net,
                vat_rate,
                capitalize,
                po_known,
            } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if !po_known {
                    return Err(R::UnknownOrder(*po));
                }
                let number = number.trim();
                if number.is_empty() || number.len() > 64 || !crate::values::is_vat_rate(*vat_rate) {
                    return Err(R::InvalidLines);
                }
                if *amount_net <= Decimal::ZERO
                    || amount_net.scale() > 2
                    || *amount_net >= crate::values::DOCUMENT_AMOUNT_MAX
                {
                    return Err(R::InvalidAmount);
                }
                // Freight is one line: its VAT is rounded half-up on the net amount.
                let amount_tax = crate::values::round_money(*amount_net * vat_rate);
                Ok(vec![PurchaseInvoiceEvent::FreightBooked(PurchaseFreightBooked {
                    id: *id,
                    carrier: *carrier,
                    number: number.to_string(),
                    po: *po,
                    vat_rate: *vat_rate,
                    amount_net: *amount_net,
                    amount_tax,
                    amount_gross: *amount_net + amount_tax,
                    capitalized: *capitalize,
                })])
            }
            PurchaseInvoiceCommand::OpenFromOpeningBalance {
                id,
                supplier,
                reference,
                amount_gross,
                issued_at,
                due_at,
            } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if *amount_gross <= Decimal::ZERO
                    || amount_gross.scale() > 2
                    || *amount_gross > crate::values::DOCUMENT_AMOUNT_MAX
                {
                    return Err(R::InvalidAmount);
                }
                Ok(vec![PurchaseInvoiceEvent::OpenedFromOpeningBalance(PurchaseInvoiceOpened {
                    id: *id,
                    supplier: *supplier,
                    reference: reference.clone(),
                    amount_gross: *amount_gross,
                    issued_at: *issued_at,
                    due_at: *due_at,
                })])
            }
            PurchaseInvoiceCommand::RecordPayment { id, payment, amount } => {
                if self.status != S::Matched {
                    // Unmatched invoices are not paid; paid ones take nothing more.
                    return Err(wrong());
                }
                if self.payments.contains(payment) {
                    return Ok(Vec::new());
                }
                if *amount <= Decimal::ZERO {
                    return Err(R::InvalidAmount);
                }
                if *amount > self.open {
                    return Err(R::Overpaid { amount: *amount, open: self.open });
                }
                let mut events = vec![PurchaseInvoiceEvent::PaymentRecorded(SupplierPaymentRecorded {
                    payment: *payment,
                    amount: *amount,
                    open_after: self.open - amount,
                })];
                if self.open == *amount {
                    events.push(PurchaseInvoiceEvent::Paid(PurchaseInvoicePaid { id: *id }));
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

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn id() -> PurchaseInvoiceId {
        PurchaseInvoiceId(Uuid::from_u128(1))
    }

    fn po() -> PurchaseOrderId {
        PurchaseOrderId(Uuid::from_u128(2))
    }

    fn register(qty: u32, price: &str, received: &str, invoiced: &str) -> PurchaseInvoiceCommand {
        PurchaseInvoiceCommand::Register {
            id: id(),
            supplier: PartnerId(Uuid::from_u128(3)),
            number: "No.04512399".into(),
            lines: vec![PurchaseInvoiceLineInput {
                po: po(),
                po_line: 0,
                item: ItemId(Uuid::from_u128(4)),
                qty: Quantity::units(qty),
                unit_price: UnitAmount::new(d(price)).unwrap(),
                vat_rate: d("0.13"),
            }],
            facts: vec![OrderLineFacts {
                po: po(),
                po_line: 0,
                ordered_price: d("2.50"),
                received_qty: d(received),
                invoiced_qty: d(invoiced),
            }],
            tolerances: Tolerances { qty: d("0.02"), price: d("0.01") },
            masters_usable: true,
        }
    }

    #[test]
    fn an_invoice_matching_order_and_receipts_within_tolerance_is_matched_at_once() {
        let outcome =
            given::<PurchaseInvoice>(&[]).when(&testing::meta("li"), &register(100, "2.52", "100", "0"));
        assert!(matches!(&outcome.events()[1], PurchaseInvoiceEvent::Matched(m) if m.approved_by.is_none()));
        let PurchaseInvoiceEvent::Registered(r) = &outcome.events()[0] else { panic!() };
        assert_eq!((r.amount_net, r.amount_tax, r.amount_gross), (d("252.00"), d("32.76"), d("284.76")));
    }

    #[test]
    fn more_invoiced_than_received_or_a_price_off_the_order_is_a_match_exception() {
        let over =
            given::<PurchaseInvoice>(&[]).when(&testing::meta("li"), &register(60, "2.50", "100", "50"));
        assert!(
            matches!(&over.events()[1], PurchaseInvoiceEvent::MatchFailed(f) if f.mismatches[0].reason.contains("received"))
        );
        assert_eq!(over.after.status, PurchaseInvoiceStatus::Exception);
        let price =
            given::<PurchaseInvoice>(&[]).when(&testing::meta("li"), &register(10, "2.60", "100", "0"));
        assert!(
            matches!(&price.events()[1], PurchaseInvoiceEvent::MatchFailed(f) if f.mismatches[0].reason.contains("price"))
        );
    }

    #[test]
    fn a_match_exception_is_accepted_by_finance_not_by_who_registered_it() {
        let exception = given::<PurchaseInvoice>(&[(testing::meta("li"), register(10, "2.60", "100", "0"))]);
        let approve = PurchaseInvoiceCommand::ApproveException {
            id: id(),
            reason: "price rise agreed by phone".into(),
        };
        exception
            .when(&testing::meta_with("li", &[Role::Finance]), &approve)
            .rejected("purchase_invoice.own_invoice");
        exception
            .when(&testing::meta_with("zhao", &[Role::Sales]), &approve)
            .rejected("purchase_invoice.not_allowed");
        let outcome = exception.when(&testing::meta_with("zhao", &[Role::Finance]), &approve);
        assert_eq!(outcome.after.status, PurchaseInvoiceStatus::Matched);
    }

    #[test]
    fn an_invoice_from_the_opening_balances_is_open_for_payments_once_and_books_nothing_more() {
        let open = |amount: &str| PurchaseInvoiceCommand::OpenFromOpeningBalance {
            id: id(),
            supplier: PartnerId(Uuid::from_u128(3)),
            reference: "SUP-0007".into(),
            amount_gross: d(amount),
            issued_at: Timestamp(1),
            due_at: Timestamp(2),
        };
        given::<PurchaseInvoice>(&[])
            .when(&testing::meta("li"), &open("0"))
            .rejected("purchase_invoice.invalid_amount");
        given::<PurchaseInvoice>(&[])
            .when(&testing::meta("li"), &open("1.001"))
            .rejected("purchase_invoice.invalid_amount");
        let opened = given::<PurchaseInvoice>(&[(testing::meta("li"), open("565.00"))]);
        assert_eq!((opened.state.status, opened.state.open), (PurchaseInvoiceStatus::Matched, d("565.00")));
        opened.when(&testing::meta("li"), &open("565.00")).rejected("purchase_invoice.already_exists");
        opened
            .when(&testing::meta("li"), &register(1, "2.50", "1", "0"))
            .rejected("purchase_invoice.already_exists");
        let pay = PurchaseInvoiceCommand::RecordPayment {
            id: id(),
            payment: SupplierPaymentId(Uuid::from_u128(9)),
            amount: d("565.00"),
        };
        let paid = opened.when(&testing::meta("p"), &pay);
        assert_eq!(paid.after.status, PurchaseInvoiceStatus::Paid);
    }

    #[test]
    fn payments_are_recorded_until_paid_and_never_beyond() {
        let pay = |n: u128, amount: &str| PurchaseInvoiceCommand::RecordPayment {
            id: id(),
            payment: SupplierPaymentId(Uuid::from_u128(n)),
            amount: d(amount),
        };
        let exception = given::<PurchaseInvoice>(&[(testing::meta("li"), register(10, "2.60", "100", "0"))]);
        exception.when(&testing::meta("p"), &pay(1, "1")).rejected("purchase_invoice.wrong_status");
        let matched = given::<PurchaseInvoice>(&[
            (testing::meta("li"), register(100, "2.50", "100", "0")),
            (testing::meta("p"), pay(1, "200")),
        ]);
        matched.when(&testing::meta("p"), &pay(2, "82.51")).rejected("purchase_invoice.overpaid");
        assert!(
            matched.when(&testing::meta("p"), &pay(1, "200")).events().is_empty(),
            "a repeated payment is a no-op"
        );
        let outcome = matched.when(&testing::meta("p"), &pay(2, "82.50"));
        assert!(matches!(outcome.events().last(), Some(PurchaseInvoiceEvent::Paid(_))));
    }

    #[test]
    fn an_invoice_line_must_name_a_known_order_line() {
        let PurchaseInvoiceCommand::Register { id, supplier, number, lines, tolerances, .. } =
            register(1, "2.5", "1", "0")
        else {
            panic!()
        };
        let unknown = PurchaseInvoiceCommand::Register {
            id,
            supplier,
            number,
            lines,
            facts: vec![],
            tolerances,
            masters_usable: true,
        };
        given::<PurchaseInvoice>(&[])
            .when(&testing::meta("li"), &unknown)
            .rejected("purchase_invoice.unknown_order_line");
    }

    #[test]
    fn an_invoice_from_a_deactivated_supplier_is_rejected() {
        let PurchaseInvoiceCommand::Register { id, supplier, number, lines, facts, tolerances, .. } =
            register(1, "2.5", "1", "0")
        else {
            panic!()
        };
        let register = PurchaseInvoiceCommand::Register {
            id,
            supplier,
            number,
            lines,
            facts,
            tolerances,
            masters_usable: false,
        };
        given::<PurchaseInvoice>(&[])
            .when(&testing::meta("li"), &register)
            .rejected("purchase_invoice.master_unusable");
    }
}
