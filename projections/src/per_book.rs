//! One read model per book (账套): a company's stock, receivables, documents, dashboard, process
//! metrics and audit trail never mix with another company's kept in the same log. Every event goes to
//! the model of the book it was recorded in (its envelope says which); a query names its book.

use domain::BookId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::fact::Fact;
use crate::runtime::ReadModel;

/// Added to a model's code version when it is kept per book: the snapshot of the per-book form is
/// another format than the single model's.
pub const PER_BOOK_VERSION: u32 = 1_000;

/// `M` kept apart for each book.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound = "M: Serialize + DeserializeOwned + Default")]
pub struct PerBook<M> {
    /// Sorted by book: a lookup is a binary search (one comparison for the usual single book).
    books: Vec<(BookId, M)>,
    /// What a book with no events reads as.
    #[serde(skip)]
    empty: M,
}

impl<M: ReadModel> PerBook<M> {
    /// The model of `book` (empty when the book has recorded nothing).
    pub fn book(&self, book: BookId) -> &M {
        match self.books.binary_search_by_key(&book, |(b, _)| *b) {
            Ok(i) => &self.books[i].1,
            Err(_) => &self.empty,
        }
    }

    /// The books that have recorded something, with their models.
    pub fn books(&self) -> impl Iterator<Item = (BookId, &M)> {
        self.books.iter().map(|(b, m)| (*b, m))
    }

    fn book_mut(&mut self, book: BookId) -> &mut M {
        let i = match self.books.binary_search_by_key(&book, |(b, _)| *b) {
            Ok(i) => i,
            Err(i) => {
                self.books.insert(i, (book, M::default()));
                i
            }
        };
        &mut self.books[i].1
    }
}

impl<M: ReadModel> ReadModel for PerBook<M> {
    const NAME: &'static str = M::NAME;
    const VERSION: u32 = M::VERSION + PER_BOOK_VERSION;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        self.book_mut(event.book).apply(event, fact);
    }
}

#[cfg(test)]
mod tests {
    use domain::{CommandId, EventId, Timestamp};
    use infra::{EventMetadata, EventType, RecordedEvent, StreamId};
    use uuid::Uuid;

    use super::*;
    use crate::audit::{Audit, AuditFilter};

    fn recorded(position: u64, book: u128) -> RecordedEvent {
        RecordedEvent {
            position,
            stream_id: StreamId::new("s").unwrap(),
            stream_version: position - 1,
            event_id: EventId(Uuid::from_u128(position.into())),
            event_type: EventType::new("test.Happened", 1).unwrap(),
            metadata: EventMetadata {
                book: BookId(Uuid::from_u128(book)),
                actor: "li".into(),
                command_id: CommandId(Uuid::nil()),
                correlation_id: Uuid::nil(),
                causation_id: Uuid::nil(),
                occurred_at: Timestamp(0),
            },
            recorded_at: Timestamp(0),
            payload: Vec::new(),
            prev_hash: infra::ChainHash::GENESIS,
        }
    }

    #[test]
    fn each_book_sees_only_the_events_recorded_in_it() {
        let mut audit = PerBook::<Audit>::default();
        for (position, book) in [(1, 2), (2, 1), (3, 2), (4, 3)] {
            audit.apply(&recorded(position, book).envelope(), &Fact::Other);
        }
        let by_li = AuditFilter { actor: Some("li".into()), ..Default::default() };
        let of = |book: u128| audit.book(BookId(Uuid::from_u128(book))).positions(&by_li, 0, 10);
        assert_eq!((of(1), of(2), of(3)), (Some(vec![2]), Some(vec![1, 3]), Some(vec![4])));
        assert_eq!(of(9), Some(vec![]), "a book with nothing reads as empty");
        let books: Vec<u128> = audit.books().map(|(b, _)| b.0.as_u128()).collect();
        assert_eq!(books, vec![1, 2, 3]);
    }
}
