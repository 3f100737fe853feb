//! Black-box tests across crates. The library part holds what several test files share: the event store
//! contract suite (run against every adapter), a fresh PostgreSQL schema or KurrentDB namespace per
//! test, and builders for test events.

pub mod books;
pub mod contract;
pub mod crash;
pub mod fixtures;
pub mod kurrentdb;
pub mod postgres;
pub mod read_models;
pub mod scenarios;

use domain::{BookId, CommandId, EventId, Timestamp};
use infra::{EventMetadata, EventType, NewEvent, StreamId};
use uuid::Uuid;

/// Metadata for test events of one command.
pub fn metadata(command: Uuid) -> EventMetadata {
    EventMetadata {
        book: BookId(Uuid::from_u128(0xb00c)),
        actor: "tester".into(),
        command_id: CommandId(command),
        correlation_id: command,
        causation_id: command,
        occurred_at: Timestamp(1_767_225_600_000_000),
    }
}

/// `count` events of one command, with payloads that say which command and index they are.
pub fn events(command: Uuid, count: u32) -> Vec<NewEvent> {
    (0..count)
        .map(|i| NewEvent {
            event_id: EventId::derive(CommandId(command), i),
            event_type: EventType::new("test.Happened", 1).expect("valid type"),
            metadata: metadata(command),
            payload: format!("{command}/{i}").into_bytes(),
        })
        .collect()
}

/// A command id unique within this test run (time, process id and a counter; the domain never draws ids).
pub fn command() -> Uuid {
    Uuid::from_u128(unique_u128())
}

fn unique_u128() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) as u128;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos << 32) ^ (n << 1) ^ (std::process::id() as u128) << 96
}

pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("valid stream id")
}
