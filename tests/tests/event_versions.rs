//! Schema versions end to end: an event stored under an old version is read back through the store and
//! upcast to the current type; new events are written under the current version.

use infra::codec::StoredEvent;
use infra::{EmbeddedStore, EventStore, EventType, ExpectedVersion, NewEvent};
use serde::{Deserialize, Serialize};

/// Version 1 of a stock count note, frozen as it was first stored.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct CountNotedV1 {
    sku: String,
    counted: i64,
}

/// Version 2 added the bin the count was taken in; v1 counts were taken in the default bin.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct CountNoted {
    sku: String,
    counted: i64,
    bin: String,
}

impl From<CountNotedV1> for CountNoted {
    fn from(v1: CountNotedV1) -> Self {
        CountNoted { sku: v1.sku, counted: v1.counted, bin: "default".into() }
    }
}

infra::stored_event!(CountNoted { name: "test.CountNoted", version: 2, upcast: [1 => CountNotedV1] });

#[tokio::test]
async fn an_event_stored_as_v1_is_read_back_as_the_current_v2() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let command = tests::command();
    // What an older release wrote: the v1 payload under the v1 type.
    let old = NewEvent {
        event_id: domain::EventId::derive(domain::CommandId(command), 0),
        event_type: EventType::new("test.CountNoted", 1).unwrap(),
        metadata: tests::metadata(command),
        payload: infra::codec::encode_payload(&CountNotedV1 { sku: "SKU-1".into(), counted: 7 }).unwrap(),
    };
    // What the current release writes.
    let current = CountNoted { sku: "SKU-2".into(), counted: 3, bin: "A-01".into() };
    let new = NewEvent::from_event(&current, 1, tests::metadata(command)).unwrap();
    assert_eq!(new.event_type.version(), 2);
    let stream = tests::stream("stocktake-1");
    store.append(&stream, ExpectedVersion::NoStream, vec![old, new]).await.unwrap().unwrap();
    drop(store);

    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let read = store.read_stream(&stream, 0, 10).await.unwrap();
    let decoded: Vec<CountNoted> = read
        .iter()
        .map(|e| {
            assert_eq!(e.event_type.name(), CountNoted::TYPE_NAME);
            CountNoted::decode_stored(e.event_type.version(), &e.payload).unwrap()
        })
        .collect();
    assert_eq!(decoded[0], CountNoted { sku: "SKU-1".into(), counted: 7, bin: "default".into() });
    assert_eq!(decoded[1], current);
}
