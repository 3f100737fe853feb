//! The books as the finance tests read them: the whole log folded once into the ledger and the open
//! items, with every posted voucher's month and number.

use domain::finance::journal::JournalEvent;
use domain::process::ProcessInput;
use domain::time::Period;
use infra::codec::{decode_domain_event, decode_process_input};
use infra::{EventStore, RecordedEvent};
use projections::ledger::Ledger;
use projections::open_items::{OpenItems, OpenItemsInput};

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
            }
            books.ledger.apply(&posted);
        }
        if OpenItemsInput::listens_to(name) {
            let input: OpenItemsInput =
                decode_process_input(&event.event_type, &event.payload).expect("decode");
            books.open_items.apply(&input, event.metadata.occurred_at);
        }
    }
    books
}
