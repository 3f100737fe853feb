//! The domain event catalogue as a stored schema: every event type's payload is pinned by golden bytes,
//! round-trips through the codec, and every type the domain declares has a sample here.

use std::collections::BTreeMap;

use domain::DomainEvent;
use domain::inventory::stock::{
    ReservationReleased, StockAdjusted, StockFellBelowSafety, StockIssued, StockItemOpened,
    StockPolicyChanged, StockReceived, StockReserved, StockTransferredIn, StockTransferredOut,
};
use domain::inventory::{CostingMethod, DocRef, LotTake, StockEvent, StockPolicy};
use domain::{ItemId, ReservationId, TransferId, WarehouseId};
use infra::codec::{decode_domain_event, encode_domain_event};
use rust_decimal::Decimal;
use uuid::Uuid;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn doc() -> DocRef {
    DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(3) }
}

fn take() -> LotTake {
    LotTake { lot: Some("L1".into()), qty: d("2"), value: d("5.10") }
}

fn stock_samples() -> Vec<StockEvent> {
    let policy = StockPolicy { costing: CostingMethod::Fifo, safety_stock: d("5"), allow_negative: false };
    vec![
        StockEvent::Opened(StockItemOpened {
            item: ItemId(Uuid::from_u128(1)),
            warehouse: WarehouseId(Uuid::from_u128(2)),
            policy: policy.clone(),
        }),
        StockEvent::Received(StockReceived {
            qty: d("10"),
            unit_cost: d("2.55"),
            value: d("25.50"),
            lot: Some("L1".into()),
            bin: Some("A-01".into()),
            source: doc(),
        }),
        StockEvent::Reserved(StockReserved { reservation: ReservationId(Uuid::from_u128(4)), qty: d("1.5") }),
        StockEvent::Released(ReservationReleased {
            reservation: ReservationId(Uuid::from_u128(4)),
            qty: d("1.5"),
        }),
        StockEvent::Issued(StockIssued {
            qty: d("2"),
            value: d("5.10"),
            takes: vec![take()],
            uncovered_qty: d("0"),
            reservation: Some(ReservationId(Uuid::from_u128(4))),
            reservation_consumed: d("1.5"),
            source: doc(),
        }),
        StockEvent::TransferredOut(StockTransferredOut {
            transfer: TransferId(Uuid::from_u128(5)),
            to: WarehouseId(Uuid::from_u128(6)),
            qty: d("2"),
            value: d("5.10"),
            takes: vec![take()],
            uncovered_qty: d("0"),
        }),
        StockEvent::TransferredIn(StockTransferredIn {
            transfer: TransferId(Uuid::from_u128(5)),
            from: WarehouseId(Uuid::from_u128(2)),
            qty: d("2"),
            value: d("5.10"),
            lots: vec![take()],
        }),
        StockEvent::Adjusted(StockAdjusted {
            qty_delta: d("-1"),
            value_delta: d("-2.55"),
            unit_cost: d("2.55"),
            takes: vec![LotTake { lot: None, qty: d("1"), value: d("2.55") }],
            reason: "stocktake".into(),
            source: doc(),
        }),
        StockEvent::PolicyChanged(StockPolicyChanged { policy }),
        StockEvent::FellBelowSafety(StockFellBelowSafety { available: d("4"), safety_stock: d("5") }),
    ]
}

/// Golden payloads: a change here means stored events would no longer read back. Add a new version
/// instead of changing a stored type.
fn golden() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from(GOLDEN)
}

const GOLDEN: [(&str, &str); 10] = [
    (
        "inventory.StockItemOpened",
        "1000000000000000000000000000000001100000000000000000000000000000000201013500",
    ),
    (
        "inventory.StockReceived",
        "02313004322e35350532352e353001024c310104412d30310e73616c65732e536869706d656e741000000000000000000000000000000003",
    ),
    ("inventory.StockReserved", "100000000000000000000000000000000403312e35"),
    ("inventory.ReservationReleased", "100000000000000000000000000000000403312e35"),
    (
        "inventory.StockIssued",
        "013204352e31300101024c31013204352e3130013001100000000000000000000000000000000403312e350e73616c65732e536869706d656e741000000000000000000000000000000003",
    ),
    (
        "inventory.StockTransferredOut",
        "10000000000000000000000000000000051000000000000000000000000000000006013204352e31300101024c31013204352e31300130",
    ),
    (
        "inventory.StockTransferredIn",
        "10000000000000000000000000000000051000000000000000000000000000000002013204352e31300101024c31013204352e3130",
    ),
    (
        "inventory.StockAdjusted",
        "022d31052d322e353504322e35350100013104322e35350973746f636b74616b650e73616c65732e536869706d656e741000000000000000000000000000000003",
    ),
    ("inventory.StockPolicyChanged", "01013500"),
    ("inventory.StockFellBelowSafety", "01340135"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_stock_event_type_has_a_golden_sample() {
    let sampled: Vec<_> = stock_samples().iter().map(|e| e.name()).collect();
    for declared in StockEvent::TYPES {
        assert!(sampled.contains(declared), "no golden sample for {} v{}", declared.name, declared.version);
    }
}

#[test]
fn stock_event_payloads_match_their_golden_bytes() {
    let golden = golden();
    let mut mismatches = Vec::new();
    for event in stock_samples() {
        let (event_type, payload) = encode_domain_event(&event).unwrap();
        let key = event_type.name().to_string();
        let got = hex(&payload);
        match golden.get(key.as_str()) {
            Some(want) if *want == got => {}
            _ => mismatches.push(format!("(\"{key}\", \"{got}\"),")),
        }
    }
    assert!(mismatches.is_empty(), "payloads differ from their golden bytes:\n{}", mismatches.join("\n"));
}

#[test]
fn stock_events_round_trip_through_the_codec() {
    for event in stock_samples() {
        let (event_type, payload) = encode_domain_event(&event).unwrap();
        assert_eq!(event_type.version(), event.name().version);
        let back: StockEvent = decode_domain_event(&event_type, &payload).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn an_unknown_event_type_or_trailing_bytes_are_decode_errors() {
    let (event_type, mut payload) = encode_domain_event(&stock_samples()[2]).unwrap();
    let unknown = infra::EventType::new("inventory.StockTeleported", 1).unwrap();
    let err = decode_domain_event::<StockEvent>(&unknown, &payload).unwrap_err();
    assert_eq!(err.code(), "store.decode");
    payload.push(0);
    assert!(decode_domain_event::<StockEvent>(&event_type, &payload).is_err());
}
