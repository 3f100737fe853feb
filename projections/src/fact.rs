//! One decoded event for every read model: the runtime decodes each stored event once and hands the
//! same [`Fact`] to every model, instead of each model decoding its own copy (ADR 0012).
//!
//! A fact is one of the event enums some read model folds, or [`Fact::Other`] for a stored type none of
//! them folds (the audit index still sees its envelope): only the families a model reads belong here,
//! since every one listed is decoded for every event of it (a voucher's own events, a quarter of a
//! flow's, are not: the ledger reads the postings). The stored type name is looked up in a table
//! built once from the enums' own type lists, so finding the decoder costs one hash of the name, not a
//! scan of every type name of every enum.

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::event::{DomainEvent, EventDecodeError, EventName};
use domain::finance::journal::JournalEvent;
use domain::finance::opening::OpeningEvent;
use domain::inventory::ReplenishmentEvent;
use domain::inventory::stock::StockEvent;
use domain::master::{ItemEvent, PartnerEvent};
use domain::purchasing::{PurchaseInvoiceEvent, PurchaseOrderEvent, RequisitionEvent, SupplierPaymentEvent};
use domain::returns::ReturnEvent;
use domain::sales::{CustomerReceiptEvent, SalesInvoiceEvent, SalesOrderEvent, ShipmentEvent};
use infra::{LogPage, RecordedEvent, StoreError};

macro_rules! facts {
    ($( $(#[$doc:meta])* $variant:ident($inner:ty) ),* $(,)?) => {
        /// A decoded event, as the read models fold it.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Fact {
            $( $(#[$doc])* $variant($inner), )*
            /// A stored type no read model folds.
            Other,
        }

        /// The type names each variant's enum reads, in variant order.
        const FAMILIES: &[&[EventName]] = &[ $( <$inner as DomainEvent>::TYPES, )* ];

        impl domain::process::ProcessInput for Fact {
            fn listens_to(name: &str) -> bool {
                FAMILY_OF.contains_key(name)
            }

            fn decode<'de, D: serde::Deserializer<'de>>(
                name: &str,
                version: u16,
                deserializer: D,
            ) -> Result<Fact, EventDecodeError<D::Error>> {
                let Some(&family) = FAMILY_OF.get(name) else {
                    return Err(EventDecodeError::Unknown { name: name.to_string(), version });
                };
                let mut index = 0;
                $(
                    if family == index {
                        return <$inner as DomainEvent>::deserialize_payload(name, version, deserializer)
                            .map(Fact::$variant);
                    }
                    index += 1;
                )*
                let _ = index;
                Err(EventDecodeError::Unknown { name: name.to_string(), version })
            }
        }
    };
}

facts! {
    Stock(StockEvent),
    PurchaseOrder(PurchaseOrderEvent),
    Item(ItemEvent),
    Partner(PartnerEvent),
    Journal(JournalEvent),
    Opening(OpeningEvent),
    SalesOrder(SalesOrderEvent),
    Shipment(ShipmentEvent),
    SalesInvoice(SalesInvoiceEvent),
    CustomerReceipt(CustomerReceiptEvent),
    Requisition(RequisitionEvent),
    PurchaseInvoice(PurchaseInvoiceEvent),
    SupplierPayment(SupplierPaymentEvent),
    Return(ReturnEvent),
    Replenishment(ReplenishmentEvent),
}

/// Stored type name → the family that decodes it.
/// (foldhash: every event's type name is looked up here, and SipHash was a visible share of decoding.)
static FAMILY_OF: LazyLock<HashMap<&'static str, usize, foldhash::fast::FixedState>> = LazyLock::new(|| {
    let mut map = HashMap::default();
    for (family, names) in FAMILIES.iter().enumerate() {
        for name in *names {
            let earlier = map.insert(name.name, family);
            assert!(earlier.is_none(), "event type {} belongs to two enums", name.name);
        }
    }
    map
});

impl Fact {
    /// Whether some read model folds events of this stored type.
    pub fn is_folded(event_type: &str) -> bool {
        FAMILY_OF.contains_key(event_type)
    }

    /// Decodes `event` (old schema versions upcast), or [`Fact::Other`] when no read model folds its
    /// type. A payload that does not decode is an error: a model that skipped it would answer wrongly.
    pub fn decode(event: &RecordedEvent) -> Result<Fact, StoreError> {
        Fact::decode_parts(event.event_type.name(), event.event_type.version(), &event.payload)
    }

    /// [`Fact::decode`] from a type name, its version and the payload.
    pub fn decode_parts(event_type: &str, version: u16, payload: &[u8]) -> Result<Fact, StoreError> {
        if !Fact::is_folded(event_type) {
            return Ok(Fact::Other);
        }
        infra::codec::decode_process_input_parts(event_type, version, payload)
    }

    /// One fact per event of `page`, in order, into `facts` (replacing what it holds).
    pub fn decode_page_into(page: &LogPage, facts: &mut Vec<Fact>) -> Result<(), StoreError> {
        // A plain loop into a vector reused page after page: collecting through `Result` moved every
        // fact (up to 272 bytes) several times more, and a fresh vector was a megabyte a page to zero.
        facts.clear();
        facts.reserve(page.len());
        for (event_type, version, payload) in page.payloads() {
            facts.push(Fact::decode_parts(event_type, version, payload)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use domain::inventory::stock::StockReserved;
    use domain::{BookId, CommandId, ReservationId, Timestamp};
    use infra::{EventMetadata, EventType, StreamId};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::*;

    fn recorded(event_type: EventType, payload: Vec<u8>) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            stream_id: StreamId::new("stock-x").unwrap(),
            stream_version: 0,
            event_id: domain::EventId(Uuid::nil()),
            event_type,
            metadata: EventMetadata {
                book: BookId(Uuid::nil()),
                actor: "test".into(),
                command_id: CommandId(Uuid::nil()),
                correlation_id: Uuid::nil(),
                causation_id: Uuid::nil(),
                occurred_at: Timestamp(0),
            },
            recorded_at: Timestamp(0),
            payload,
            prev_hash: infra::ChainHash::GENESIS,
        }
    }

    #[test]
    fn an_event_a_model_folds_decodes_once_into_its_family() {
        let event = StockEvent::Reserved(StockReserved {
            reservation: ReservationId(Uuid::from_u128(7)),
            qty: Decimal::ONE,
            for_doc: None,
        });
        let (event_type, payload) = infra::codec::encode_domain_event(&event).unwrap();
        let fact = Fact::decode(&recorded(event_type, payload)).unwrap();
        assert_eq!(fact, Fact::Stock(event));
    }

    #[test]
    fn a_type_no_model_folds_is_other_and_a_bad_payload_is_an_error() {
        let unknown = recorded(EventType::new("test.Unfolded", 1).unwrap(), vec![1, 2, 3]);
        assert_eq!(Fact::decode(&unknown).unwrap(), Fact::Other);
        let bad = recorded(EventType::new("inventory.StockReserved", 1).unwrap(), vec![0xff]);
        assert!(Fact::decode(&bad).is_err());
    }

    #[test]
    fn every_stored_type_belongs_to_at_most_one_family() {
        // Building the table asserts it.
        assert!(Fact::is_folded("finance.VoucherPosted"));
        assert!(!Fact::is_folded("test.Unfolded"));
    }
}
