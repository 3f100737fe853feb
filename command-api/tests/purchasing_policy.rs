//! The book's purchasing policy on the embedded store: a requisition's submission is completed with the
//! approval threshold of its own book (5,000 yuan until the book sets one), so the same requisition
//! is approved at once in one book and waits for a buyer in a book with a lower threshold.

use command_api::CommandBus;
use domain::finance::accounts::Standard;
use domain::finance::book::{Book, BookCommand, BookSettings, VatStatus};
use domain::inventory::DocRef;
use domain::purchasing::{PurchaseRequisition, RequisitionCommand, RequisitionEvent};
use domain::time::Period;
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, RequisitionId, Role, Timestamp};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(book: BookId, n: u128, actor: &str, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(book.0.as_u128() << 16 | n)), actor, book, Timestamp(0))
        .with_roles(roles)
}

fn settings() -> BookSettings {
    BookSettings {
        name: "示例商贸".into(),
        standard: Standard::SmallEnterprise,
        first_period: Period::new(2026, 11).unwrap(),
        vat: VatStatus::General,
        allow_negative_stock: false,
        auto_post: true,
        utc_offset_minutes: 480,
    }
}

/// Drafts a requisition of 10 in `book` and submits it at 50.00 each (500.00 yuan); answers the
/// events of the submission.
async fn submit_500_yuan(bus: &CommandBus<EmbeddedStore>, book: BookId) -> Vec<RequisitionEvent> {
    let id = RequisitionId(Uuid::from_u128(book.0.as_u128() << 8 | 1));
    let draft = RequisitionCommand::Draft {
        id,
        item: ItemId(Uuid::from_u128(10)),
        qty: Quantity::units(10),
        supplier: None,
        source: DocRef { kind: "purchasing.PurchaseRequisition".into(), id: id.0, line: None },
    };
    bus.execute::<PurchaseRequisition>(&meta(book, 10, "sun", &[Role::Warehouse]), &draft).await.unwrap();
    let price = UnitAmount::new(Decimal::from(50)).unwrap();
    let submit = command_api::purchasing::requisition_submission(bus, book, id, price).await.unwrap();
    let executed = bus
        .execute::<PurchaseRequisition>(&meta(book, 11, "sun", &[Role::Warehouse]), &submit)
        .await
        .unwrap();
    executed.events
}

#[tokio::test]
async fn a_500_yuan_requisition_waits_for_a_buyer_in_a_book_with_a_threshold_of_100_and_not_in_a_default_book()
 {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store);
    let (default_book, strict_book) = (BookId(Uuid::from_u128(1)), BookId(Uuid::from_u128(2)));
    for book in [default_book, strict_book] {
        let create = BookCommand::Create { id: book, settings: settings() };
        bus.execute::<Book>(&meta(book, 1, "li", &[Role::Finance]), &create).await.unwrap();
    }
    let policy = BookCommand::SetPurchasingPolicy {
        id: strict_book,
        requisition_approval_threshold: Decimal::from(100),
    };
    let set = bus.execute::<Book>(&meta(strict_book, 2, "li", &[Role::Finance]), &policy).await.unwrap();
    assert_eq!(set.events.len(), 1, "the policy is recorded");

    let default = submit_500_yuan(&bus, default_book).await;
    assert!(
        matches!(&default[..], [RequisitionEvent::Submitted(s), RequisitionEvent::Approved(a)]
            if !s.needs_approval && a.automatic && s.estimated_amount == Decimal::from(500)),
        "within the default 5,000, submitting approves it: {default:?}"
    );
    let strict = submit_500_yuan(&bus, strict_book).await;
    assert!(
        matches!(&strict[..], [RequisitionEvent::Submitted(s)] if s.needs_approval),
        "above the book's 100, a buyer approves it: {strict:?}"
    );
}
