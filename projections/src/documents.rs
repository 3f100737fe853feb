//! Document lists (单据列表): sales orders, purchase orders, shipments, sales and purchase invoices,
//! customer receipts and supplier payments, each with its partner, amount, status and dates, filtered by
//! kind, status, partner and date, newest first.
//!
//! The status is the document's own word for where it stands, folded from its events: a sales order is
//! placed, backordered, ready to pick, shipped, cancelled or closed; a purchase order awaiting budget,
//! placed, approved, partially received, received or closed; an invoice issued (or registered, in match
//! exception, matched), partially paid or paid.

use std::collections::BTreeMap;

use domain::purchasing::{PurchaseInvoiceEvent, PurchaseOrderEvent, SupplierPaymentEvent};
use domain::sales::{CustomerReceiptEvent, SalesInvoiceEvent, SalesOrderEvent, ShipmentEvent};
use domain::{PartnerId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id_in;
use uuid::Uuid;

domain::process_input! {
    /// The events the document lists fold.
    #[derive(Clone, Debug, PartialEq)]
    pub enum DocumentsInput {
        SalesOrder(SalesOrderEvent),
        Shipment(ShipmentEvent),
        SalesInvoice(SalesInvoiceEvent),
        CustomerReceipt(CustomerReceiptEvent),
        PurchaseOrder(PurchaseOrderEvent),
        PurchaseInvoice(PurchaseInvoiceEvent),
        SupplierPayment(SupplierPaymentEvent),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DocumentKind {
    SalesOrder,
    Shipment,
    SalesInvoice,
    CustomerReceipt,
    PurchaseOrder,
    PurchaseInvoice,
    SupplierPayment,
}

/// One document as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    pub id: Uuid,
    pub partner: Option<PartnerId>,
    /// Gross for sales documents and invoices, net for purchase orders, the money for receipts and
    /// payments; zero for shipments.
    pub amount: Decimal,
    pub status: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// The document it belongs to (a shipment's order), where there is one.
    pub reference: Option<Uuid>,
    /// For purchase orders: quantity ordered and received so far.
    ordered: Decimal,
    received: Decimal,
}

/// Which documents a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    pub kind: Option<DocumentKind>,
    pub status: Option<String>,
    pub partner: Option<PartnerId>,
    /// Created in [from, to).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Documents {
    documents: BTreeMap<(DocumentKind, Uuid), Document>,
}

impl Documents {
    fn open(
        &mut self,
        kind: DocumentKind,
        id: Uuid,
        partner: Option<PartnerId>,
        amount: Decimal,
        at: Timestamp,
    ) {
        self.documents.entry((kind, id)).or_insert(Document {
            kind,
            id,
            partner,
            amount,
            status: String::new(),
            created: at,
            updated: at,
            reference: None,
            ordered: Decimal::ZERO,
            received: Decimal::ZERO,
        });
    }

    fn set(&mut self, kind: DocumentKind, id: Option<Uuid>, status: &str, at: Timestamp) {
        if let Some(document) = id.and_then(|id| self.documents.get_mut(&(kind, id))) {
            document.status = status.to_string();
            document.updated = at;
        }
    }

    /// Folds one event recorded in `stream` with business time `at`.
    pub fn apply(&mut self, input: &DocumentsInput, stream: &str, at: Timestamp) {
        use DocumentKind as K;
        match input {
            DocumentsInput::SalesOrder(event) => {
                let id = id_in(stream, "sales-order-");
                match event {
                    SalesOrderEvent::Placed(e) => {
                        self.open(K::SalesOrder, e.id.0, Some(e.customer), e.amount_gross, at);
                        self.set(K::SalesOrder, Some(e.id.0), "placed", at);
                    }
                    SalesOrderEvent::LineBackordered(_) => self.set(K::SalesOrder, id, "backordered", at),
                    SalesOrderEvent::ReadyToPick(_) => self.set(K::SalesOrder, id, "ready_to_pick", at),
                    SalesOrderEvent::Confirmed(_) => self.set(K::SalesOrder, id, "confirmed", at),
                    SalesOrderEvent::Shipped(_) => self.set(K::SalesOrder, id, "shipped", at),
                    SalesOrderEvent::Cancelled(_) => self.set(K::SalesOrder, id, "cancelled", at),
                    SalesOrderEvent::Closed(_) => self.set(K::SalesOrder, id, "closed", at),
                    _ => {}
                }
            }
            DocumentsInput::Shipment(event) => {
                let id = id_in(stream, "shipment-");
                match event {
                    ShipmentEvent::Created(e) => {
                        self.open(K::Shipment, e.id.0, None, Decimal::ZERO, at);
                        if let Some(d) = self.documents.get_mut(&(K::Shipment, e.id.0)) {
                            d.reference = Some(e.order.0);
                        }
                        self.set(K::Shipment, Some(e.id.0), "created", at);
                    }
                    ShipmentEvent::Picked(_) => self.set(K::Shipment, id, "picked", at),
                    ShipmentEvent::Shipped(_) => self.set(K::Shipment, id, "shipped", at),
                    _ => {}
                }
            }
            DocumentsInput::SalesInvoice(event) => match event {
                SalesInvoiceEvent::Issued(e) => {
                    self.open(K::SalesInvoice, e.id.0, Some(e.customer), e.amount_gross, at);
                    self.set(K::SalesInvoice, Some(e.id.0), "issued", at);
                }
                SalesInvoiceEvent::OpenedFromOpeningBalance(e) => {
                    self.open(K::SalesInvoice, e.id.0, Some(e.customer), e.amount_gross, e.issued_at);
                    self.set(K::SalesInvoice, Some(e.id.0), "issued", at);
                }
                SalesInvoiceEvent::PaymentAllocated(e) if !e.open_after.is_zero() => {
                    self.set(K::SalesInvoice, Some(e.invoice.0), "partially_paid", at);
                }
                SalesInvoiceEvent::Paid(e) => self.set(K::SalesInvoice, Some(e.id.0), "paid", at),
                _ => {}
            },
            DocumentsInput::CustomerReceipt(CustomerReceiptEvent::Recorded(e)) => {
                self.open(K::CustomerReceipt, e.id.0, Some(e.customer), e.amount, at);
                self.set(K::CustomerReceipt, Some(e.id.0), "recorded", at);
            }
            DocumentsInput::CustomerReceipt(_) => {}
            DocumentsInput::PurchaseOrder(event) => {
                let id = id_in(stream, "purchase-order-");
                match event {
                    PurchaseOrderEvent::Placed(e) => {
                        self.open(K::PurchaseOrder, e.id.0, Some(e.supplier), e.amount_net, at);
                        if let Some(d) = self.documents.get_mut(&(K::PurchaseOrder, e.id.0)) {
                            d.ordered = e.lines.iter().map(|l| l.qty).sum();
                        }
                        let status = if e.over_budget { "awaiting_budget" } else { "placed" };
                        self.set(K::PurchaseOrder, Some(e.id.0), status, at);
                    }
                    PurchaseOrderEvent::Amended(e) => {
                        if let Some(d) = id.and_then(|id| self.documents.get_mut(&(K::PurchaseOrder, id))) {
                            d.amount = e.amount_net;
                            d.ordered = e.lines.iter().map(|l| l.qty).sum();
                        }
                        let status = if e.over_budget { "awaiting_budget" } else { "placed" };
                        self.set(K::PurchaseOrder, id, status, at);
                    }
                    PurchaseOrderEvent::BudgetApproved(_) => self.set(K::PurchaseOrder, id, "placed", at),
                    PurchaseOrderEvent::Approved(_) => self.set(K::PurchaseOrder, id, "approved", at),
                    PurchaseOrderEvent::Received(e) => {
                        let received: Decimal = e.lines.iter().map(|l| l.qty).sum();
                        let status = match self.documents.get_mut(&(K::PurchaseOrder, e.id.0)) {
                            Some(d) => {
                                d.received += received;
                                if d.received >= d.ordered { "received" } else { "partially_received" }
                            }
                            None => return,
                        };
                        self.set(K::PurchaseOrder, Some(e.id.0), status, at);
                    }
                    PurchaseOrderEvent::RemainderCancelled(_) => {
                        self.set(K::PurchaseOrder, id, "received", at)
                    }
                    PurchaseOrderEvent::Closed(_) => self.set(K::PurchaseOrder, id, "closed", at),
                    _ => {}
                }
            }
            DocumentsInput::PurchaseInvoice(event) => {
                let id = id_in(stream, "purchase-invoice-");
                match event {
                    PurchaseInvoiceEvent::Registered(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), "registered", at);
                    }
                    PurchaseInvoiceEvent::MatchFailed(_) => self.set(K::PurchaseInvoice, id, "exception", at),
                    PurchaseInvoiceEvent::Matched(_) => self.set(K::PurchaseInvoice, id, "matched", at),
                    PurchaseInvoiceEvent::RecordedWithGoods(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), "matched", at);
                    }
                    PurchaseInvoiceEvent::FreightBooked(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.carrier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), "matched", at);
                    }
                    PurchaseInvoiceEvent::OpenedFromOpeningBalance(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, e.issued_at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), "matched", at);
                    }
                    PurchaseInvoiceEvent::PaymentRecorded(e) if !e.open_after.is_zero() => {
                        self.set(K::PurchaseInvoice, id, "partially_paid", at);
                    }
                    PurchaseInvoiceEvent::Paid(_) => self.set(K::PurchaseInvoice, id, "paid", at),
                    _ => {}
                }
            }
            DocumentsInput::SupplierPayment(SupplierPaymentEvent::Paid(e)) => {
                self.open(K::SupplierPayment, e.id.0, Some(e.supplier), e.amount, at);
                self.set(K::SupplierPayment, Some(e.id.0), "paid", at);
            }
        }
    }

    /// One document.
    pub fn get(&self, kind: DocumentKind, id: Uuid) -> Option<&Document> {
        self.documents.get(&(kind, id))
    }

    /// The documents `filter` admits, newest first (by creation, then id), after the document `after`
    /// names (a cursor from an earlier page), at most `first`.
    pub fn list(
        &self,
        filter: &DocumentFilter,
        after: Option<(Timestamp, Uuid)>,
        first: usize,
    ) -> Vec<&Document> {
        let mut matching: Vec<&Document> = self
            .documents
            .values()
            .filter(|d| filter.kind.is_none_or(|k| d.kind == k))
            .filter(|d| filter.status.as_ref().is_none_or(|s| d.status == *s))
            .filter(|d| filter.partner.is_none_or(|p| d.partner == Some(p)))
            .filter(|d| filter.from.is_none_or(|f| d.created >= f) && filter.to.is_none_or(|t| d.created < t))
            .collect();
        matching.sort_by_key(|d| std::cmp::Reverse((d.created, d.id)));
        matching
            .into_iter()
            .filter(|d| after.is_none_or(|(at, id)| (d.created, d.id) < (at, id)))
            .take(first)
            .collect()
    }
}

impl crate::runtime::ReadModel for Documents {
    const NAME: &'static str = "documents";
    const VERSION: u32 = 1;

    fn listens_to(event_type: &str) -> bool {
        <DocumentsInput as domain::process::ProcessInput>::listens_to(event_type)
    }

    fn apply(&mut self, event: &infra::RecordedEvent) -> Result<(), infra::StoreError> {
        let input: DocumentsInput = infra::codec::decode_process_input(&event.event_type, &event.payload)?;
        Documents::apply(self, &input, event.stream_id.as_str(), event.metadata.occurred_at);
        Ok(())
    }
}
