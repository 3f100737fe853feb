//! Process managers: pure functions from an event to the commands it calls for.
//!
//! They chain aggregates ("a stocktake approved → adjust each stock item → record each adjustment on
//! the stocktake"). A process manager holds no state of its own: whatever it needs travels in the event.
//! The runner in command-api feeds it the log from its checkpoint and executes what it answers; the
//! command ids are derived from the causing event id, the process manager's name and the command's
//! index ([`reaction_meta`]), so re-reading an event after a crash issues the very same commands, which
//! the command bus recognises as already done.

pub mod auto_vouchers;
pub mod customer_accounts;
pub mod order_fulfilment;
pub mod price_differences;
pub mod production;
pub mod receipt_allocation;
pub mod receiving;
pub mod replenishment;
pub mod returns;
pub mod shipping;
pub mod stocktake_posting;
pub mod supplier_payment;
pub mod transfers;

use serde::Deserializer;
use uuid::Uuid;

use crate::command::CommandMeta;
use crate::event::{DomainEvent, EventDecodeError};
use crate::ids::{BookId, CommandId, EventId};
use crate::time::Timestamp;

/// Where an event came from: what a reaction needs to derive its commands' metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventContext {
    pub event_id: EventId,
    pub stream_id: String,
    pub book: BookId,
    pub correlation_id: Uuid,
    pub occurred_at: Timestamp,
}

/// The events a process manager listens to: one aggregate's event enum, or a union of several.
pub trait ProcessInput: Sized {
    /// Whether events of this stored type name are input.
    fn listens_to(name: &str) -> bool;
    fn decode<'de, D: Deserializer<'de>>(
        name: &str,
        version: u16,
        deserializer: D,
    ) -> Result<Self, EventDecodeError<D::Error>>;
}

impl<E: DomainEvent> ProcessInput for E {
    fn listens_to(name: &str) -> bool {
        E::TYPES.iter().any(|t| t.name == name)
    }

    fn decode<'de, D: Deserializer<'de>>(
        name: &str,
        version: u16,
        deserializer: D,
    ) -> Result<Self, EventDecodeError<D::Error>> {
        E::deserialize_payload(name, version, deserializer)
    }
}

pub trait ProcessManager: Send + Sync + 'static {
    /// Stable name: part of every derived command id and of the checkpoint's name. Never change it.
    const NAME: &'static str;
    type Input: ProcessInput + Send;
    type Output: Send;

    /// The commands `event` calls for, in order. Pure: same event, same answer.
    fn react(&self, event: &Self::Input, context: &EventContext) -> Vec<Self::Output>;
}

/// Metadata of the `index`-th command process manager `name` issues in reaction to an event.
pub fn reaction_meta(name: &str, context: &EventContext, index: u32) -> CommandMeta {
    let command_name = format!("{name}/{index}");
    CommandMeta {
        command_id: CommandId(Uuid::new_v5(&context.event_id.0, command_name.as_bytes())),
        actor: format!("process:{name}"),
        book: context.book,
        occurred_at: context.occurred_at,
        correlation_id: context.correlation_id,
        causation_id: context.event_id.0,
        roles: Vec::new(),
    }
}

/// Declares an enum over several event enums, as the input of a process manager.
#[macro_export]
macro_rules! process_input {
    ($(#[$meta:meta])* pub enum $name:ident { $( $variant:ident($inner:ty) ),* $(,)? }) => {
        $(#[$meta])*
        pub enum $name {
            $( $variant($inner), )*
        }

        impl $crate::process::ProcessInput for $name {
            fn listens_to(name: &str) -> bool {
                false $( || <$inner as $crate::event::DomainEvent>::TYPES.iter().any(|t| t.name == name) )*
            }

            fn decode<'de, D: $crate::__serde::Deserializer<'de>>(
                name: &str,
                version: u16,
                deserializer: D,
            ) -> Result<Self, $crate::event::EventDecodeError<D::Error>> {
                $(
                    if <$inner as $crate::event::DomainEvent>::TYPES.iter().any(|t| t.name == name) {
                        return <$inner as $crate::event::DomainEvent>::deserialize_payload(name, version, deserializer)
                            .map($name::$variant);
                    }
                )*
                Err($crate::event::EventDecodeError::Unknown { name: name.to_string(), version })
            }
        }
    };
}
