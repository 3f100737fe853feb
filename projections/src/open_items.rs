//! Receivables and payables as open items (往来明细), a fold over the sales and purchasing events: each
//! invoice open until payments are allocated to it (核销), each advance (预收 / 预付) and each red invoice
//! of a return kept as a credit of the partner; aging at any date, from the business dates of the events.
//!
//! The subledgers reconcile to the ledger: receivables less customers' advances and credits equal
//! 1122 + 2203, payables less prepayments equal 2202-supplier + 1123 (tested on a whole flow in
//! `tests/tests/finance_flow.rs`).

use std::collections::{BTreeMap, BTreeSet};

use domain::finance::opening::{OpeningEvent, OpeningItem as Opened};
use domain::purchasing::{PurchaseInvoiceEvent, SupplierPaymentEvent};
use domain::returns::{ReturnDirection, ReturnEvent};
use domain::sales::{CustomerReceiptEvent, SalesInvoiceEvent};
use domain::{PartnerId, Timestamp};
use rust_decimal::Decimal;

use crate::fact::Fact;
use uuid::Uuid;

/// Which subledger an item belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Ledger {
    Receivable,
    Payable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ItemKind {
    Invoice,
    /// Money received or paid ahead of an invoice (a credit of the partner).
    Advance,
    /// A red invoice of a return (a credit of the partner).
    Credit,
}

impl ItemKind {
    /// What an item of this kind adds to the partner's balance per unit open: an invoice raises it,
    /// an advance or a credit lowers it.
    pub fn sign(self) -> Decimal {
        if self == ItemKind::Invoice { Decimal::ONE } else { Decimal::NEGATIVE_ONE }
    }
}

/// One open item: an invoice's amount and the payments allocated to it with their dates.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenItem {
    pub ledger: Ledger,
    pub kind: ItemKind,
    pub document: Uuid,
    pub partner: PartnerId,
    pub dated: Timestamp,
    pub due: Timestamp,
    pub amount: Decimal,
    pub settlements: Vec<(Timestamp, Decimal)>,
}

impl OpenItem {
    /// What is still open at `at` (for an advance or credit: what the partner still has with us).
    pub fn open_at(&self, at: Timestamp) -> Decimal {
        if self.dated > at {
            return Decimal::ZERO;
        }
        self.amount
            - self.settlements.iter().filter(|(when, _)| *when <= at).map(|(_, a)| *a).sum::<Decimal>()
    }
}

/// Aging buckets of what is open and past due (days past the due date).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aging {
    pub not_due: Decimal,
    pub days_0_30: Decimal,
    pub days_31_60: Decimal,
    pub days_61_90: Decimal,
    pub over_90: Decimal,
}

impl Aging {
    pub fn total(&self) -> Decimal {
        self.not_due + self.days_0_30 + self.days_31_60 + self.days_61_90 + self.over_90
    }
}

const DAY_MICROS: i64 = 86_400_000_000;

/// One line of a partner statement (对账单).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    pub date: Timestamp,
    /// The invoice, advance or credit the line is about.
    pub document: Uuid,
    pub kind: ItemKind,
    /// `true` for the document itself, `false` for a settlement of it (a payment allocated to an
    /// invoice, an advance used up).
    pub opened: bool,
    /// Signed: what it adds to what the partner owes us (receivables) or we owe them (payables).
    pub amount: Decimal,
    /// The balance after the line.
    pub balance: Decimal,
}

/// A partner's statement over a date range: the balance brought forward, every line, the balance after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub opening: Decimal,
    pub lines: Vec<StatementLine>,
    pub closing: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenItems {
    items: HashMap<(Ledger, Uuid), OpenItem>,
    /// The items open now (every settlement counted), ordered: balances and aging as of now read
    /// these, not every item ever opened.
    open: BTreeSet<(Ledger, Uuid)>,
    /// Every item of a partner, in the order they were opened: statements and the use of advances.
    by_partner: HashMap<(Ledger, PartnerId), Vec<Uuid>>,
    /// The latest business time of any item or settlement: a date at or after it sees every item as
    /// it is now.
    latest: Option<Timestamp>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

impl OpenItems {
    /// Folds one event recorded with business time `at`.
    pub fn apply(&mut self, event: &Fact, at: Timestamp) {
        use Fact as I;
        match event {
            I::SalesInvoice(SalesInvoiceEvent::Issued(e)) => self.open(OpenItem {
                ledger: Ledger::Receivable,
                kind: ItemKind::Invoice,
                document: e.id.0,
                partner: e.customer,
                dated: e.issued_at,
                due: e.due_at,
                amount: e.amount_gross,
                settlements: Vec::new(),
            }),
            I::SalesInvoice(SalesInvoiceEvent::PaymentAllocated(e)) => {
                self.settle(Ledger::Receivable, e.invoice.0, at, e.applied);
            }
            I::CustomerReceipt(CustomerReceiptEvent::Recorded(e)) if !e.advance.is_zero() => {
                self.credit(Ledger::Receivable, ItemKind::Advance, e.id.0, e.customer, at, e.advance);
            }
            I::CustomerReceipt(CustomerReceiptEvent::AdvanceApplied(e)) => {
                // The customer's advances are used up by that much (oldest first); the invoice is paid
                // by the allocation that follows.
                self.settle_advances(Ledger::Receivable, e.customer, at, e.amount);
            }
            I::CustomerReceipt(CustomerReceiptEvent::ExcessMovedToAdvance(e)) => {
                // The excess came back from an invoice: it is the receipt's customer's, found on the invoice.
                let customer = self.items.get(&(Ledger::Receivable, e.invoice.0)).map(|i| i.partner);
                if let Some(customer) = customer {
                    let key = Uuid::new_v5(&e.invoice.0, b"excess");
                    self.credit(Ledger::Receivable, ItemKind::Advance, key, customer, at, e.amount);
                }
            }
            I::PurchaseInvoice(PurchaseInvoiceEvent::Booked(e)) => {
                self.bill(e.id.0, e.supplier, at, e.amount_gross);
            }
            I::PurchaseInvoice(PurchaseInvoiceEvent::RecordedWithGoods(e)) => {
                self.bill(e.id.0, e.supplier, at, e.amount_gross);
            }
            I::PurchaseInvoice(PurchaseInvoiceEvent::FreightBooked(e)) => {
                self.bill(e.id.0, e.carrier, at, e.amount_gross);
            }
            I::SupplierPayment(SupplierPaymentEvent::Paid(e)) => {
                for (invoice, amount) in &e.allocations {
                    self.settle(Ledger::Payable, invoice.0, at, *amount);
                }
                if !e.prepayment.is_zero() {
                    self.credit(Ledger::Payable, ItemKind::Advance, e.id.0, e.supplier, at, e.prepayment);
                }
            }
            I::Return(ReturnEvent::Created(e)) => {
                let ledger = match e.direction {
                    ReturnDirection::FromCustomer => Ledger::Receivable,
                    ReturnDirection::ToSupplier => Ledger::Payable,
                };
                self.credit(ledger, ItemKind::Credit, e.id.0, e.partner, at, e.amount_gross);
            }
            I::Opening(OpeningEvent::Entered(e)) => {
                for (ledger, items) in [(Ledger::Receivable, &e.receivables), (Ledger::Payable, &e.payables)]
                {
                    for (n, item) in items.iter().enumerate() {
                        self.opening_item(ledger, e.book.0, n, item);
                    }
                }
            }
            _ => {}
        }
    }

    /// A supplier's invoice payable from `at` (due at once: payment terms on bills are not kept yet).
    fn bill(&mut self, document: Uuid, supplier: PartnerId, at: Timestamp, amount: Decimal) {
        self.open(OpenItem {
            ledger: Ledger::Payable,
            kind: ItemKind::Invoice,
            document,
            partner: supplier,
            dated: at,
            due: at,
            amount,
            settlements: Vec::new(),
        });
    }

    /// An item open when the book started: an invoice, or (negative) an advance.
    fn opening_item(&mut self, ledger: Ledger, book: Uuid, n: usize, item: &Opened) {
        let document =
            domain::finance::opening::opening_document(domain::BookId(book), ledger == Ledger::Receivable, n);
        let (kind, amount) = if item.amount > Decimal::ZERO {
            (ItemKind::Invoice, item.amount)
        } else {
            (ItemKind::Advance, -item.amount)
        };
        self.open(OpenItem {
            ledger,
            kind,
            document,
            partner: item.partner,
            dated: item.dated,
            due: item.due,
            amount,
            settlements: Vec::new(),
        });
    }

    fn open(&mut self, item: OpenItem) {
        let key = (item.ledger, item.document);
        let std::collections::hash_map::Entry::Vacant(vacant) = self.items.entry(key) else { return };
        self.latest = self.latest.max(Some(item.dated));
        self.by_partner.entry((item.ledger, item.partner)).or_default().push(item.document);
        if !item.amount.is_zero() {
            self.open.insert(key);
        }
        vacant.insert(item);
    }

    /// Records a settlement of an item and keeps the open set true.
    fn settle(&mut self, ledger: Ledger, document: Uuid, at: Timestamp, amount: Decimal) {
        let key = (ledger, document);
        let Some(item) = self.items.get_mut(&key) else { return };
        item.settlements.push((at, amount));
        self.latest = self.latest.max(Some(at));
        if item.open_at(Timestamp(i64::MAX)).is_zero() {
            self.open.remove(&key);
        } else {
            self.open.insert(key);
        }
    }

    fn credit(
        &mut self,
        ledger: Ledger,
        kind: ItemKind,
        document: Uuid,
        partner: PartnerId,
        at: Timestamp,
        amount: Decimal,
    ) {
        self.open(OpenItem {
            ledger,
            kind,
            document,
            partner,
            dated: at,
            due: at,
            amount,
            settlements: Vec::new(),
        });
    }

    fn settle_advances(&mut self, ledger: Ledger, partner: PartnerId, at: Timestamp, amount: Decimal) {
        let mut left = amount;
        let mut advances: Vec<(Timestamp, Uuid, Decimal)> = self
            .partner_items(ledger, partner)
            .filter(|i| i.kind == ItemKind::Advance)
            .map(|i| (i.dated, i.document, i.open_at(at)))
            .collect();
        advances.sort_by_key(|(dated, document, _)| (*dated, *document));
        for (_, document, open) in advances {
            if left.is_zero() || open <= Decimal::ZERO {
                continue;
            }
            let used = left.min(open);
            self.settle(ledger, document, at, used);
            left -= used;
        }
    }

    /// Every item of a partner, in the order they were opened.
    fn partner_items(&self, ledger: Ledger, partner: PartnerId) -> impl Iterator<Item = &OpenItem> {
        self.by_partner
            .get(&(ledger, partner))
            .into_iter()
            .flatten()
            .filter_map(move |document| self.items.get(&(ledger, *document)))
    }

    /// The items that may be open at `at`: those open now when `at` is at or after every business time
    /// seen (the usual question, answered from the open set), else every item of the ledger.
    fn candidates(&self, ledger: Ledger, at: Timestamp) -> Box<dyn Iterator<Item = &OpenItem> + '_> {
        if self.latest.is_none_or(|latest| at >= latest) {
            let range = (ledger, Uuid::nil())..=(ledger, Uuid::max());
            Box::new(self.open.range(range).filter_map(|key| self.items.get(key)))
        } else {
            Box::new(self.items.values().filter(move |i| i.ledger == ledger))
        }
    }

    /// The items of a partner with something open at `at`, oldest first.
    pub fn open_items(&self, ledger: Ledger, partner: PartnerId, at: Timestamp) -> Vec<&OpenItem> {
        let mut items: Vec<_> =
            self.partner_items(ledger, partner).filter(|i| !i.open_at(at).is_zero()).collect();
        items.sort_by_key(|i| (i.dated, i.document));
        items
    }

    /// A partner's statement (对账单) over the business days [`from`, `to`] (instants: `from` inclusive,
    /// `to` inclusive): the balance before `from`, each invoice, advance or credit opened and each
    /// settlement in the range with the running balance, and the balance at `to`.
    pub fn statement(&self, ledger: Ledger, partner: PartnerId, from: Timestamp, to: Timestamp) -> Statement {
        let before = Timestamp(from.0 - 1);
        let mut opening = Decimal::ZERO;
        let mut lines = Vec::new();
        for item in self.partner_items(ledger, partner) {
            let s = item.kind.sign();
            opening += s * item.open_at(before);
            let line = |date, opened, amount| StatementLine {
                date,
                document: item.document,
                kind: item.kind,
                opened,
                amount,
                balance: Decimal::ZERO,
            };
            if (from..=to).contains(&item.dated) {
                lines.push(line(item.dated, true, s * item.amount));
            }
            for (when, amount) in &item.settlements {
                // A settlement before the item's own date counts from that date (as `open_at` does).
                let effective = (*when).max(item.dated);
                if (from..=to).contains(&effective) {
                    lines.push(line(effective, false, -s * *amount));
                }
            }
        }
        // By date; on one date, in the order the items were opened, each followed by its settlements
        // (a stable sort keeps the order they were visited in).
        lines.sort_by_key(|l| l.date);
        let mut balance = opening;
        for line in &mut lines {
            balance += line.amount;
            line.balance = balance;
        }
        Statement { opening, lines, closing: balance }
    }

    /// What partners owe (receivables) or are owed (payables) at `at`: open invoices less advances and
    /// credits, per partner.
    pub fn balances(&self, ledger: Ledger, at: Timestamp) -> BTreeMap<PartnerId, Decimal> {
        let mut balances = BTreeMap::new();
        for item in self.candidates(ledger, at) {
            *balances.entry(item.partner).or_insert(Decimal::ZERO) += item.kind.sign() * item.open_at(at);
        }
        balances.retain(|_, b: &mut Decimal| !b.is_zero());
        balances
    }

    /// Aging of the open invoices at `at` (advances and credits are not aged).
    pub fn aging(&self, ledger: Ledger, at: Timestamp) -> Aging {
        let mut aging = Aging::default();
        for item in self.candidates(ledger, at).filter(|i| i.kind == ItemKind::Invoice) {
            let open = item.open_at(at);
            if open.is_zero() {
                continue;
            }
            let days_past_due = (at.0 - item.due.0).div_euclid(DAY_MICROS);
            let bucket = match days_past_due {
                d if d < 0 => &mut aging.not_due,
                0..=30 => &mut aging.days_0_30,
                31..=60 => &mut aging.days_31_60,
                61..=90 => &mut aging.days_61_90,
                _ => &mut aging.over_90,
            };
            *bucket += open;
        }
        aging
    }
}

impl crate::runtime::ReadModel for OpenItems {
    const NAME: &'static str = "open-items";
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        OpenItems::apply(self, fact, event.occurred_at);
    }
}

#[cfg(test)]
mod tests {
    use domain::sales::invoice::{PaymentAllocated, SalesInvoiceIssued};
    use domain::sales::receipt::CustomerReceiptRecorded;
    use domain::{CustomerReceiptId, SalesInvoiceId};

    use super::*;

    fn day(n: i64) -> Timestamp {
        Timestamp(1_794_000_000_000_000 + n * DAY_MICROS)
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    const CUSTOMER: PartnerId = PartnerId(Uuid::from_u128(60));

    fn issued(n: u128, issued: i64, due: i64, amount: &str) -> Fact {
        Fact::SalesInvoice(SalesInvoiceEvent::Issued(SalesInvoiceIssued {
            id: SalesInvoiceId(Uuid::from_u128(n)),
            customer: CUSTOMER,
            shipments: Vec::new(),
            lines: Vec::new(),
            amount_net: d(amount),
            amount_tax: Decimal::ZERO,
            amount_gross: d(amount),
            issued_at: day(issued),
            due_at: day(due),
        }))
    }

    fn allocated(n: u128, amount: &str) -> Fact {
        Fact::SalesInvoice(SalesInvoiceEvent::PaymentAllocated(PaymentAllocated {
            invoice: SalesInvoiceId(Uuid::from_u128(n)),
            receipt: CustomerReceiptId(Uuid::from_u128(90)),
            customer: CUSTOMER,
            applied: d(amount),
            excess: Decimal::ZERO,
            open_after: Decimal::ZERO,
        }))
    }

    #[test]
    fn invoices_age_by_days_past_due_as_of_any_date_and_payments_count_from_their_own_date() {
        let mut items = OpenItems::default();
        items.apply(&issued(1, 0, 30, "100"), day(0));
        items.apply(&issued(2, 10, 40, "200"), day(10));
        items.apply(&issued(3, 100, 130, "50"), day(100));
        items.apply(&allocated(1, "60"), day(70));
        // Day 65: invoice 1 is 35 days past due (nothing paid yet), invoice 2 is 25, invoice 3 not issued.
        let at65 = items.aging(Ledger::Receivable, day(65));
        assert_eq!((at65.days_31_60, at65.days_0_30, at65.not_due), (d("100"), d("200"), d("0")));
        // Day 135: 40 left on invoice 1 (105 days past due), 200 on invoice 2 (95), invoice 3 is 5 days late.
        let at135 = items.aging(Ledger::Receivable, day(135));
        assert_eq!((at135.over_90, at135.days_0_30, at135.total()), (d("240"), d("50"), d("290")));
        assert_eq!(items.open_items(Ledger::Receivable, CUSTOMER, day(135)).len(), 3);
        assert_eq!(items.balances(Ledger::Receivable, day(135))[&CUSTOMER], d("290"));
    }

    #[test]
    fn an_advance_is_the_customers_credit_and_lowers_what_they_owe() {
        let mut items = OpenItems::default();
        items.apply(&issued(1, 0, 30, "67.46"), day(0));
        items.apply(&allocated(1, "67.46"), day(1));
        let receipt = CustomerReceiptRecorded {
            id: CustomerReceiptId(Uuid::from_u128(90)),
            customer: CUSTOMER,
            amount: d("100"),
            allocations: vec![(SalesInvoiceId(Uuid::from_u128(1)), d("67.46"))],
            advance: d("32.54"),
            automatic: false,
        };
        items.apply(&Fact::CustomerReceipt(CustomerReceiptEvent::Recorded(receipt)), day(1));
        assert_eq!(items.balances(Ledger::Receivable, day(1))[&CUSTOMER], d("-32.54"));
        assert_eq!(items.aging(Ledger::Receivable, day(1)).total(), Decimal::ZERO, "advances are not aged");
        assert_eq!(items.balances(Ledger::Receivable, day(0))[&CUSTOMER], d("67.46"), "as of the day before");
    }

    #[test]
    fn a_partner_statement_brings_the_balance_forward_and_runs_it_through_every_line() {
        let mut items = OpenItems::default();
        items.apply(&issued(1, 0, 30, "100"), day(0));
        items.apply(&issued(2, 10, 40, "200"), day(10));
        items.apply(&allocated(1, "60"), day(70));
        let advance = CustomerReceiptRecorded {
            id: CustomerReceiptId(Uuid::from_u128(91)),
            customer: CUSTOMER,
            amount: d("30"),
            allocations: Vec::new(),
            advance: d("30"),
            automatic: false,
        };
        items.apply(&Fact::CustomerReceipt(CustomerReceiptEvent::Recorded(advance)), day(80));
        let middle = items.statement(Ledger::Receivable, CUSTOMER, day(5), day(75));
        assert_eq!(middle.opening, d("100"), "invoice 1, unpaid before day 5");
        let lines: Vec<_> = middle.lines.iter().map(|l| (l.opened, l.amount, l.balance)).collect();
        assert_eq!(lines, vec![(true, d("200"), d("300")), (false, d("-60"), d("240"))]);
        assert_eq!(middle.closing, d("240"));
        let whole = items.statement(Ledger::Receivable, CUSTOMER, day(0), day(100));
        assert_eq!((whole.opening, whole.lines.len(), whole.closing), (d("0"), 4, d("210")));
        assert_eq!(whole.lines[3].kind, ItemKind::Advance);
        assert_eq!(whole.closing, items.balances(Ledger::Receivable, day(100))[&CUSTOMER]);
    }

    #[test]
    fn balances_and_aging_now_from_the_open_set_equal_a_scan_of_every_item() {
        let mut items = OpenItems::default();
        for n in 0..50u128 {
            items.apply(&issued(n, n as i64, n as i64 + 30, "10"), day(n as i64));
        }
        for n in (0..50u128).step_by(3) {
            items.apply(&allocated(n, "10"), day(60));
        }
        items.apply(&allocated(1, "4"), day(61));
        assert_eq!(items.open.len(), 50 - 17, "fully paid invoices leave the open set");
        let now = Timestamp(i64::MAX);
        let scanned: Decimal = items.items.values().map(|i| i.open_at(now)).sum();
        assert_eq!(items.balances(Ledger::Receivable, now)[&CUSTOMER], scanned);
        assert_eq!(items.aging(Ledger::Receivable, day(200)).total(), scanned);
        // A past date is answered from every item, open now or not.
        assert_eq!(items.aging(Ledger::Receivable, day(59)).total(), d("500"));
    }
}
