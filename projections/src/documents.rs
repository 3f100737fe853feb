//! Document lists (单据列表): sales orders, purchase orders, shipments, sales and purchase invoices,
//! customer receipts and supplier payments, each with its partner, amount, status and dates, filtered by
//! kind, status, partner and date, newest first.
//!
//! The status is the document's own word for where it stands, folded from its events: a sales order is
//! placed, backordered, ready to pick, shipped, cancelled or closed; a purchase order awaiting budget,
//! placed, approved, partially received, received or closed; an invoice issued (or registered, in match
//! exception, matched), partially paid or paid.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;

use domain::purchasing::{PurchaseInvoiceEvent, PurchaseOrderEvent, SupplierPaymentEvent};
use domain::sales::{CustomerReceiptEvent, SalesInvoiceEvent, SalesOrderEvent, ShipmentEvent};
use domain::{PartnerId, Timestamp};
use rust_decimal::Decimal;

use crate::arena::Rows;
use crate::fact::Fact;
use serde::{Deserialize, Serialize};

use crate::id_in;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DocumentKind {
    SalesOrder,
    Shipment,
    SalesInvoice,
    CustomerReceipt,
    PurchaseOrder,
    PurchaseInvoice,
    SupplierPayment,
    /// 采购入库单: goods received against a purchase order.
    GoodsReceipt,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::SalesOrder,
        DocumentKind::Shipment,
        DocumentKind::SalesInvoice,
        DocumentKind::CustomerReceipt,
        DocumentKind::PurchaseOrder,
        DocumentKind::PurchaseInvoice,
        DocumentKind::SupplierPayment,
        DocumentKind::GoodsReceipt,
    ];
}

/// Where a document stands, in its own word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Placed,
    Backordered,
    ReadyToPick,
    Confirmed,
    Shipped,
    Cancelled,
    Closed,
    Created,
    Picked,
    Issued,
    PartiallyPaid,
    Paid,
    Recorded,
    AwaitingBudget,
    Approved,
    PartiallyReceived,
    Received,
    Registered,
    Exception,
    Matched,
}

impl Status {
    const WORDS: [(Status, &'static str); 20] = [
        (Status::Placed, "placed"),
        (Status::Backordered, "backordered"),
        (Status::ReadyToPick, "ready_to_pick"),
        (Status::Confirmed, "confirmed"),
        (Status::Shipped, "shipped"),
        (Status::Cancelled, "cancelled"),
        (Status::Closed, "closed"),
        (Status::Created, "created"),
        (Status::Picked, "picked"),
        (Status::Issued, "issued"),
        (Status::PartiallyPaid, "partially_paid"),
        (Status::Paid, "paid"),
        (Status::Recorded, "recorded"),
        (Status::AwaitingBudget, "awaiting_budget"),
        (Status::Approved, "approved"),
        (Status::PartiallyReceived, "partially_received"),
        (Status::Received, "received"),
        (Status::Registered, "registered"),
        (Status::Exception, "exception"),
        (Status::Matched, "matched"),
    ];

    /// The status as lists show it (`ready_to_pick`, `partially_paid`, ...).
    pub fn word(self) -> &'static str {
        Status::WORDS.iter().find(|(s, _)| *s == self).map_or("", |(_, w)| w)
    }

    /// The status a word names, if any.
    pub fn parse(word: &str) -> Option<Status> {
        Status::WORDS.iter().find(|(_, w)| *w == word).map(|(s, _)| *s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// One document as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    pub id: Uuid,
    pub partner: Option<PartnerId>,
    /// Gross for sales documents and invoices, net for purchase orders and goods receipts (at the
    /// order's prices), the money for receipts and payments; zero for shipments.
    pub amount: Decimal,
    pub status: Status,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// The document it belongs to (a shipment's or a goods receipt's order), where there is one.
    pub reference: Option<Uuid>,
}

/// Which documents a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    pub kind: Option<DocumentKind>,
    pub status: Option<Status>,
    pub partner: Option<PartnerId>,
    /// Created in [from, to).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// A place in a newest-first list: (created, id, kind), compared in that order.
pub type ListKey = (Timestamp, Uuid, DocumentKind);

/// A document's place in the model's own indexes: (created, row number). Half the bytes of a
/// [`ListKey`], kept twice per document (by kind, by partner); documents created at the same instant
/// come in the order they were recorded.
type Place = (Timestamp, u32);

/// The document lists, with two orderings kept as the documents arrive, so a page of any list is a
/// walk down an index, never a sort of every document: by kind, and by partner.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct Documents {
    /// Every document once, in the order opened; `rows` finds one by kind and id. Millions of them
    /// live here, so the indexes hold row numbers, not documents (ADR 0012).
    documents: Rows<Document>,
    /// Not stored: rebuilt from `documents` when a snapshot is read.
    #[serde(skip_serializing)]
    rows: RowTable,
    by_kind: BTreeMap<DocumentKind, BTreeSet<Place>>,
    by_partner: HashMap<PartnerId, BTreeSet<Place>>,
    /// For purchase orders: quantity ordered and received so far (the received status comes of it).
    quantities: HashMap<Uuid, (Decimal, Decimal)>,
}

/// What a snapshot holds: [`Documents`] without the row table, field for field.
#[derive(Deserialize)]
struct Stored {
    documents: Rows<Document>,
    by_kind: BTreeMap<DocumentKind, BTreeSet<Place>>,
    by_partner: HashMap<PartnerId, BTreeSet<Place>>,
    quantities: HashMap<Uuid, (Decimal, Decimal)>,
}

impl From<Stored> for Documents {
    fn from(stored: Stored) -> Documents {
        let mut rows = RowTable::default();
        for (row, document) in stored.documents.iter().enumerate() {
            rows.insert(&stored.documents, document.kind, document.id, row as u32);
        }
        Documents {
            documents: stored.documents,
            rows,
            by_kind: stored.by_kind,
            by_partner: stored.by_partner,
            quantities: stored.quantities,
        }
    }
}

impl PartialEq for Documents {
    /// The row table follows from the documents.
    fn eq(&self, other: &Documents) -> bool {
        self.documents == other.documents
            && self.by_kind == other.by_kind
            && self.by_partner == other.by_partner
            && self.quantities == other.quantities
    }
}

/// Row numbers found by a hash of (kind, id), compared against the rows themselves: four bytes a
/// document where a map keyed by (kind, id) held twenty-four (50 MB at a million documents).
#[derive(Clone, Default)]
struct RowTable {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for RowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowTable({} rows)", self.table.len())
    }
}

impl RowTable {
    fn find(&self, documents: &Rows<Document>, kind: DocumentKind, id: Uuid) -> Option<u32> {
        let hash = self.hasher.hash_one((kind, id));
        let same = |&row: &u32| documents.get(row).is_some_and(|d| d.kind == kind && d.id == id);
        self.table.find(hash, same).copied()
    }

    fn insert(&mut self, documents: &Rows<Document>, kind: DocumentKind, id: Uuid, row: u32) {
        let RowTable { table, hasher } = self;
        let rehash = |&row: &u32| documents.get(row).map_or(0, |d| hasher.hash_one((d.kind, d.id)));
        table.insert_unique(hasher.hash_one((kind, id)), row, rehash);
    }
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

impl Documents {
    fn open(
        &mut self,
        kind: DocumentKind,
        id: Uuid,
        partner: Option<PartnerId>,
        amount: Decimal,
        at: Timestamp,
    ) -> Option<&mut Document> {
        if self.rows.find(&self.documents, kind, id).is_none() {
            let row = self.documents.push(Document {
                kind,
                id,
                partner,
                amount,
                status: Status::Created,
                created: at,
                updated: at,
                reference: None,
            });
            self.rows.insert(&self.documents, kind, id, row);
            self.by_kind.entry(kind).or_default().insert((at, row));
            if let Some(partner) = partner {
                self.by_partner.entry(partner).or_default().insert((at, row));
            }
        }
        self.document_mut(kind, id)
    }

    fn document_mut(&mut self, kind: DocumentKind, id: Uuid) -> Option<&mut Document> {
        let row = self.rows.find(&self.documents, kind, id)?;
        self.documents.get_mut(row)
    }

    fn set(&mut self, kind: DocumentKind, id: Option<Uuid>, status: Status, at: Timestamp) {
        if let Some(document) = id.and_then(|id| self.document_mut(kind, id)) {
            document.status = status;
            document.updated = at;
        }
    }

    /// Folds one event recorded in `stream` with business time `at`.
    pub fn apply(&mut self, input: &Fact, stream: &str, at: Timestamp) {
        use DocumentKind as K;
        match input {
            Fact::SalesOrder(event) => {
                let id = id_in(stream, "sales-order-");
                match event {
                    SalesOrderEvent::Placed(e) => {
                        self.open(K::SalesOrder, e.id.0, Some(e.customer), e.amount_gross, at);
                        self.set(K::SalesOrder, Some(e.id.0), Status::Placed, at);
                    }
                    SalesOrderEvent::LineBackordered(_) => {
                        self.set(K::SalesOrder, id, Status::Backordered, at)
                    }
                    SalesOrderEvent::ReadyToPick(_) => self.set(K::SalesOrder, id, Status::ReadyToPick, at),
                    SalesOrderEvent::Confirmed(_) => self.set(K::SalesOrder, id, Status::Confirmed, at),
                    SalesOrderEvent::Shipped(_) => self.set(K::SalesOrder, id, Status::Shipped, at),
                    SalesOrderEvent::Cancelled(_) => self.set(K::SalesOrder, id, Status::Cancelled, at),
                    SalesOrderEvent::Closed(_) => self.set(K::SalesOrder, id, Status::Closed, at),
                    _ => {}
                }
            }
            Fact::Shipment(event) => {
                let id = id_in(stream, "shipment-");
                match event {
                    ShipmentEvent::Created(e) => {
                        if let Some(d) = self.open(K::Shipment, e.id.0, None, Decimal::ZERO, at) {
                            d.reference = Some(e.order.0);
                        }
                        self.set(K::Shipment, Some(e.id.0), Status::Created, at);
                    }
                    ShipmentEvent::Picked(_) => self.set(K::Shipment, id, Status::Picked, at),
                    ShipmentEvent::Shipped(_) => self.set(K::Shipment, id, Status::Shipped, at),
                    _ => {}
                }
            }
            Fact::SalesInvoice(event) => match event {
                SalesInvoiceEvent::Issued(e) => {
                    self.open(K::SalesInvoice, e.id.0, Some(e.customer), e.amount_gross, at);
                    self.set(K::SalesInvoice, Some(e.id.0), Status::Issued, at);
                }
                SalesInvoiceEvent::OpenedFromOpeningBalance(e) => {
                    self.open(K::SalesInvoice, e.id.0, Some(e.customer), e.amount_gross, e.issued_at);
                    self.set(K::SalesInvoice, Some(e.id.0), Status::Issued, at);
                }
                SalesInvoiceEvent::PaymentAllocated(e) if !e.open_after.is_zero() => {
                    self.set(K::SalesInvoice, Some(e.invoice.0), Status::PartiallyPaid, at);
                }
                SalesInvoiceEvent::Paid(e) => self.set(K::SalesInvoice, Some(e.id.0), Status::Paid, at),
                _ => {}
            },
            Fact::CustomerReceipt(CustomerReceiptEvent::Recorded(e)) => {
                self.open(K::CustomerReceipt, e.id.0, Some(e.customer), e.amount, at);
                self.set(K::CustomerReceipt, Some(e.id.0), Status::Recorded, at);
            }
            Fact::CustomerReceipt(_) => {}
            Fact::PurchaseOrder(event) => {
                let id = id_in(stream, "purchase-order-");
                match event {
                    PurchaseOrderEvent::Placed(e) => {
                        self.open(K::PurchaseOrder, e.id.0, Some(e.supplier), e.amount_net, at);
                        self.quantities.entry(e.id.0).or_default().0 = e.lines.iter().map(|l| l.qty).sum();
                        let status = if e.over_budget { Status::AwaitingBudget } else { Status::Placed };
                        self.set(K::PurchaseOrder, Some(e.id.0), status, at);
                    }
                    PurchaseOrderEvent::Amended(e) => {
                        if let Some(id) = id {
                            if let Some(d) = self.document_mut(K::PurchaseOrder, id) {
                                d.amount = e.amount_net;
                            }
                            self.quantities.entry(id).or_default().0 = e.lines.iter().map(|l| l.qty).sum();
                        }
                        let status = if e.over_budget { Status::AwaitingBudget } else { Status::Placed };
                        self.set(K::PurchaseOrder, id, status, at);
                    }
                    PurchaseOrderEvent::BudgetApproved(_) => {
                        self.set(K::PurchaseOrder, id, Status::Placed, at)
                    }
                    PurchaseOrderEvent::Approved(_) => self.set(K::PurchaseOrder, id, Status::Approved, at),
                    PurchaseOrderEvent::Received(e) => {
                        let amount = e.lines.iter().map(|l| l.qty * l.unit_price).sum();
                        if let Some(d) = self.open(K::GoodsReceipt, e.receipt.0, Some(e.supplier), amount, at)
                        {
                            d.reference = Some(e.id.0);
                        }
                        self.set(K::GoodsReceipt, Some(e.receipt.0), Status::Received, at);
                        let received: Decimal = e.lines.iter().map(|l| l.qty).sum();
                        let Some((ordered, so_far)) = self.quantities.get_mut(&e.id.0) else { return };
                        *so_far += received;
                        let status =
                            if *so_far >= *ordered { Status::Received } else { Status::PartiallyReceived };
                        self.set(K::PurchaseOrder, Some(e.id.0), status, at);
                    }
                    PurchaseOrderEvent::RemainderCancelled(_) => {
                        self.set(K::PurchaseOrder, id, Status::Received, at)
                    }
                    PurchaseOrderEvent::Closed(_) => self.set(K::PurchaseOrder, id, Status::Closed, at),
                    _ => {}
                }
            }
            Fact::PurchaseInvoice(event) => {
                let id = id_in(stream, "purchase-invoice-");
                match event {
                    PurchaseInvoiceEvent::Registered(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), Status::Registered, at);
                    }
                    PurchaseInvoiceEvent::MatchFailed(_) => {
                        self.set(K::PurchaseInvoice, id, Status::Exception, at)
                    }
                    PurchaseInvoiceEvent::Matched(_) => self.set(K::PurchaseInvoice, id, Status::Matched, at),
                    PurchaseInvoiceEvent::RecordedWithGoods(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), Status::Matched, at);
                    }
                    PurchaseInvoiceEvent::FreightBooked(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.carrier), e.amount_gross, at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), Status::Matched, at);
                    }
                    PurchaseInvoiceEvent::OpenedFromOpeningBalance(e) => {
                        self.open(K::PurchaseInvoice, e.id.0, Some(e.supplier), e.amount_gross, e.issued_at);
                        self.set(K::PurchaseInvoice, Some(e.id.0), Status::Matched, at);
                    }
                    PurchaseInvoiceEvent::PaymentRecorded(e) if !e.open_after.is_zero() => {
                        self.set(K::PurchaseInvoice, id, Status::PartiallyPaid, at);
                    }
                    PurchaseInvoiceEvent::Paid(_) => self.set(K::PurchaseInvoice, id, Status::Paid, at),
                    _ => {}
                }
            }
            Fact::SupplierPayment(SupplierPaymentEvent::Paid(e)) => {
                self.open(K::SupplierPayment, e.id.0, Some(e.supplier), e.amount, at);
                self.set(K::SupplierPayment, Some(e.id.0), Status::Paid, at);
            }
            _ => {}
        }
    }

    /// One document.
    pub fn get(&self, kind: DocumentKind, id: Uuid) -> Option<&Document> {
        self.documents.get(self.rows.find(&self.documents, kind, id)?)
    }

    /// The documents `filter` admits, newest first (by creation, then the order recorded), after the
    /// place `after` names (a cursor from an earlier page), at most `first`. Walks the partner's index
    /// when a partner is named, else the kind's (or every kind's, merged), from the cursor or the end of
    /// the date range down: the cost is the documents skipped by the other criteria, not all documents.
    pub fn list<'a>(
        &'a self,
        filter: &DocumentFilter,
        after: Option<ListKey>,
        first: usize,
    ) -> Vec<&'a Document> {
        use std::ops::Bound::{Excluded, Unbounded};
        // Strictly before the cursor and before `to` (documents created in [from, to)). A cursor naming
        // no document (it was not one this list gave) is taken as the start of its instant.
        let cursor = after.map(|(at, id, kind)| (at, self.rows.find(&self.documents, kind, id).unwrap_or(0)));
        let end_of_range = filter.to.map(|to| (to, 0));
        let upper = match (cursor, end_of_range) {
            (Some(cursor), Some(end)) => Excluded(cursor.min(end)),
            (Some(bound), None) | (None, Some(bound)) => Excluded(bound),
            (None, None) => Unbounded,
        };
        let below = |index: &'a BTreeSet<Place>| -> Box<dyn Iterator<Item = &'a Place> + 'a> {
            Box::new(index.range((Unbounded, upper)).rev())
        };
        let walks: Vec<Box<dyn Iterator<Item = &'a Place> + 'a>> = match (filter.partner, filter.kind) {
            (Some(partner), _) => self.by_partner.get(&partner).into_iter().map(below).collect(),
            (None, Some(kind)) => self.by_kind.get(&kind).into_iter().map(below).collect(),
            (None, None) => self.by_kind.values().map(below).collect(),
        };
        let mut merged = Merged { walks: walks.into_iter().map(|w| w.peekable()).collect() };
        let mut out = Vec::new();
        while out.len() < first {
            let Some(&(created, row)) = merged.next() else { break };
            if filter.from.is_some_and(|from| created < from) {
                break;
            }
            let Some(document) = self.documents.get(row) else { continue };
            if filter.kind.is_none_or(|k| document.kind == k)
                && filter.status.is_none_or(|s| document.status == s)
                && filter.partner.is_none_or(|p| document.partner == Some(p))
            {
                out.push(document);
            }
        }
        out
    }
}

/// Several newest-first walks merged into one, still newest first.
struct Merged<'a> {
    walks: Vec<std::iter::Peekable<Box<dyn Iterator<Item = &'a Place> + 'a>>>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = &'a Place;

    fn next(&mut self) -> Option<&'a Place> {
        let newest = self
            .walks
            .iter_mut()
            .enumerate()
            .filter_map(|(i, walk)| walk.peek().map(|key| (i, **key)))
            .max_by_key(|(_, key)| *key)?
            .0;
        self.walks[newest].next()
    }
}

impl crate::runtime::ReadModel for Documents {
    const NAME: &'static str = "documents";
    /// 4: lists keyed by (created, row) and the row table rebuilt on load, not stored.
    const VERSION: u32 = 4;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        Documents::apply(self, fact, event.stream_id, event.occurred_at);
    }
}
