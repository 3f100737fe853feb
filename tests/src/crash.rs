//! The events the crash-test child writes, derived from stream and version alone, so the parent can
//! recompute every acknowledged event byte for byte.

use domain::{CommandId, EventId};
use infra::{EventType, NewEvent};
use uuid::Uuid;

/// The command id of the append that starts at `first_version` of `stream`.
pub fn command_id(stream: &str, first_version: u64) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{stream}@{first_version}").as_bytes())
}

/// The payload of the event at `version` of `stream`: about 200 bytes.
pub fn payload(stream: &str, version: u64) -> Vec<u8> {
    let mut payload = format!("{stream}#{version}:").into_bytes();
    payload.extend((0..180u64).map(|i| (version.wrapping_mul(31).wrapping_add(i) % 251) as u8));
    payload
}

/// The `count` events of the append that starts at `first_version` of `stream`.
pub fn events(stream: &str, first_version: u64, count: u32) -> Vec<NewEvent> {
    let command = command_id(stream, first_version);
    (0..count)
        .map(|i| NewEvent {
            event_id: EventId::derive(CommandId(command), i),
            event_type: EventType::new("test.CrashProbe", 1).expect("valid type"),
            metadata: crate::metadata(command),
            payload: payload(stream, first_version + i as u64),
        })
        .collect()
}
