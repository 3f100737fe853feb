//! Domain events as a stored schema, independent of the byte format.
//!
//! Each aggregate has an event enum; each variant is one stored event type with a name such as
//! `inventory.StockReserved` and a schema version. The enum knows how to write a variant's payload and
//! how to read any stored (name, version) back, upcasting old versions through typed `From` chains, with
//! any serde format: infra plugs in postcard. The rules of stored types hold here: never reorder, insert
//! or remove fields; add a new version instead, keep the old type frozen, and upcast.

use serde::{Deserializer, Serializer};

/// The stored name and schema version of one event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventName {
    pub name: &'static str,
    pub version: u16,
}

/// Why a stored event could not be read as a domain event.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError<E> {
    #[error("unknown event type {name} v{version}")]
    Unknown { name: String, version: u16 },
    #[error("bad payload: {0}")]
    Payload(E),
}

/// An aggregate's event enum.
pub trait DomainEvent: Sized {
    /// Every (name, current version) this enum writes, for catalogues and golden tests.
    const TYPES: &'static [EventName];
    fn name(&self) -> EventName;
    /// Writes the payload of this variant (the variant's struct, not the enum).
    fn serialize_payload<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
    /// Reads a stored payload of type `name` at `version`, upcasting old versions.
    fn deserialize_payload<'de, D: Deserializer<'de>>(
        name: &str,
        version: u16,
        deserializer: D,
    ) -> Result<Self, EventDecodeError<D::Error>>;
}

/// Declares an aggregate's event enum with the stored name and version of each variant, and the frozen
/// older versions each one upcasts from:
///
/// ```text
/// domain_events! {
///     pub enum StockEvent {
///         Received(StockReceived) = "inventory.StockReceived" v 1,
///         Reserved(StockReserved) = "inventory.StockReserved" v 2 upcast [1 => StockReservedV1],
///     }
/// }
/// ```
#[macro_export]
macro_rules! domain_events {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $( $variant:ident($payload:ty) = $name:literal v $version:literal
                $( upcast [ $( $old_version:literal => $old:ty ),* $(,)? ] )? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $enum {
            $( $variant($payload), )*
        }

        impl $crate::event::DomainEvent for $enum {
            const TYPES: &'static [$crate::event::EventName] = &[
                $( $crate::event::EventName { name: $name, version: $version }, )*
            ];

            fn name(&self) -> $crate::event::EventName {
                match self {
                    $( $enum::$variant(_) => $crate::event::EventName { name: $name, version: $version }, )*
                }
            }

            fn serialize_payload<S: $crate::__serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $enum::$variant(payload) => $crate::__serde::Serialize::serialize(payload, serializer), )*
                }
            }

            fn deserialize_payload<'de, D: $crate::__serde::Deserializer<'de>>(
                name: &str,
                version: u16,
                deserializer: D,
            ) -> Result<Self, $crate::event::EventDecodeError<D::Error>> {
                match (name, version) {
                    $(
                        ($name, $version) => <$payload as $crate::__serde::Deserialize>::deserialize(deserializer)
                            .map($enum::$variant)
                            .map_err($crate::event::EventDecodeError::Payload),
                        $($(
                            ($name, $old_version) => <$old as $crate::__serde::Deserialize>::deserialize(deserializer)
                                .map(|old| $enum::$variant(<$payload as ::core::convert::From<$old>>::from(old)))
                                .map_err($crate::event::EventDecodeError::Payload),
                        )*)?
                    )*
                    _ => Err($crate::event::EventDecodeError::Unknown { name: name.to_string(), version }),
                }
            }
        }
    };
}
