//! The books as the finance tests read them: the whole log folded once into the ledger and the open
//! items, with every posted voucher's month and number.

use domain::finance::journal::{JournalEvent, VoucherPosted};
use domain::time::Period;
use infra::codec::decode_domain_event;
use infra::{EventStore, RecordedEvent};
use projections::fact::Fact;
use projections::ledger::{Entry, Ledger, entries};
use projections::open_items::OpenItems;

/// Every event of the log, in order.
pub async fn whole_log<S: EventStore>(store: &S) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    loop {
        let from = events.last().map_or(1, |e: &RecordedEvent| e.position + 1);
        let page = store.read_all(from, 10_000).await.expect("read the log");
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

/// The folds a finance test checks.
#[derive(Default)]
pub struct Books {
    pub ledger: Ledger,
    pub open_items: OpenItems,
    /// (month, number) of every posted voucher, in posting order.
    pub vouchers: Vec<(Period, u32)>,
    /// Every posting, by log position: what the ledger's detail points at.
    pub postings: std::collections::HashMap<u64, VoucherPosted>,
}

impl Books {
    /// The posted lines of an account in `months` (明细账), read back from the postings the ledger's
    /// detail points at, as the query API does from the log.
    pub fn detail(&self, code: &str, months: std::ops::RangeInclusive<Period>) -> Vec<Entry> {
        self.ledger
            .detail(code, months)
            .into_iter()
            .flat_map(|position| entries(code, position, &self.postings[&position]))
            .collect()
    }
}

/// Folds the whole log into [`Books`].
pub async fn fold_books<S: EventStore>(store: &S) -> Books {
    let mut books = Books::default();
    for event in whole_log(store).await {
        let name = event.event_type.name();
        if name == "finance.VoucherPosted" {
            let posted: JournalEvent =
                decode_domain_event(&event.event_type, &event.payload).expect("decode");
            if let JournalEvent::Posted(p) = &posted {
                books.vouchers.push((p.period, p.number));
                books.postings.insert(event.position, p.clone());
            }
            books.ledger.apply(&posted, event.position);
        }
        let fact = Fact::decode(&event).expect("decode");
        books.open_items.apply(&fact, event.metadata.occurred_at);
    }
    books
}
