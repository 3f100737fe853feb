//! Master data: items, warehouses and partners. Each is created, changed, deactivated and reactivated;
//! a deactivated master cannot be used by new documents (documents check [`Usable`] facts handed to
//! them with the command, since an aggregate never reads another).
//!
//! The three share one life cycle, written once by [`master_aggregate!`]; what differs is the details
//! and their validation.

pub mod item;
pub mod partner;
pub mod warehouse;

pub use item::{Item, ItemCommand, ItemDetails, ItemEvent, ItemKind};
pub use partner::{Partner, PartnerCommand, PartnerDetails, PartnerEvent, PartnerRoles};
pub use warehouse::{Warehouse, WarehouseCommand, WarehouseDetails, WarehouseEvent};

use crate::command::Rejection;

/// Whether a master may be named by a new document.
pub trait Usable {
    fn is_usable(&self) -> bool;
}

/// Why a master-data command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterRejection {
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} does not exist")]
    NotFound(&'static str),
    #[error("{0} is deactivated; reactivate it first")]
    Deactivated(&'static str),
    #[error("{0} is already active")]
    AlreadyActive(&'static str),
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
}

impl Rejection for MasterRejection {
    fn code(&self) -> &'static str {
        match self {
            MasterRejection::AlreadyExists(_) => "master.already_exists",
            MasterRejection::NotFound(_) => "master.not_found",
            MasterRejection::Deactivated(_) => "master.deactivated",
            MasterRejection::AlreadyActive(_) => "master.already_active",
            MasterRejection::Invalid { .. } => "master.invalid",
        }
    }
}

/// Declares a master-data aggregate: its commands, its events (with stored names) and decide/evolve
/// for the shared life cycle. `$details` must provide `fn validate(&self) -> Result<(), MasterRejection>`.
macro_rules! master_aggregate {
    (
        $aggregate:ident, $command:ident, $event:ident, $id:ty, $details:ty, $what:literal, $stream:literal,
        created = $created:literal, changed = $changed:literal,
        deactivated = $deactivated:literal, reactivated = $reactivated:literal
    ) => {
        master_aggregate!(
            $aggregate, $command, $event, $id, $details, $what, $stream,
            created = $created, changed = $changed,
            deactivated = $deactivated, reactivated = $reactivated,
            details_version = 1, upcast = []
        );
    };
    (
        $aggregate:ident, $command:ident, $event:ident, $id:ty, $details:ty, $what:literal, $stream:literal,
        created = $created:literal, changed = $changed:literal,
        deactivated = $deactivated:literal, reactivated = $reactivated:literal,
        details_version = $version:literal, upcast = [ $( $old_version:literal => $old:ty ),* ]
    ) => {
        #[derive(Clone, Debug, PartialEq)]
        pub enum $command {
            Create { id: $id, details: $details },
            Change { id: $id, details: $details },
            Deactivate { id: $id },
            Reactivate { id: $id },
        }

        impl $command {
            pub fn id(&self) -> $id {
                match self {
                    $command::Create { id, .. }
                    | $command::Change { id, .. }
                    | $command::Deactivate { id }
                    | $command::Reactivate { id } => *id,
                }
            }
        }

        /// Marks a stored life-cycle event that carries no data.
        #[derive(Clone, Debug, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct Marker {}

        $crate::domain_events! {
            #[derive(Clone, Debug, PartialEq)]
            pub enum $event {
                Created($details) = $created v $version upcast [ $( $old_version => $old ),* ],
                Changed($details) = $changed v $version upcast [ $( $old_version => $old ),* ],
                Deactivated(Marker) = $deactivated v 1,
                Reactivated(Marker) = $reactivated v 1,
            }
        }

        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $aggregate {
            pub details: Option<$details>,
            pub active: bool,
        }

        impl $aggregate {
            /// The stream of the master `id`: the one place its name is made.
            pub fn stream(id: $id) -> String {
                format!(concat!($stream, "-{}"), id)
            }
        }

        impl $crate::master::Usable for $aggregate {
            fn is_usable(&self) -> bool {
                self.details.is_some() && self.active
            }
        }

        impl $crate::aggregate::Aggregate for $aggregate {
            type Command = $command;
            type Event = $event;
            type Rejection = $crate::master::MasterRejection;

            fn stream_id(command: &$command) -> String {
                $aggregate::stream(command.id())
            }

            fn evolve(&mut self, event: &$event) {
                match event {
                    $event::Created(details) => {
                        self.details = Some(details.clone());
                        self.active = true;
                    }
                    $event::Changed(details) => self.details = Some(details.clone()),
                    $event::Deactivated(_) => self.active = false,
                    $event::Reactivated(_) => self.active = true,
                }
            }

            fn decide(
                &self,
                command: &$command,
                _meta: &$crate::command::CommandMeta,
            ) -> Result<Vec<$event>, $crate::master::MasterRejection> {
                use $crate::master::MasterRejection as R;
                let exists = self.details.is_some();
                match command {
                    $command::Create { details, .. } => {
                        if exists {
                            return Err(R::AlreadyExists($what));
                        }
                        details.validate()?;
                        Ok(vec![$event::Created(details.clone())])
                    }
                    $command::Change { details, .. } => {
                        if !exists {
                            return Err(R::NotFound($what));
                        }
                        if !self.active {
                            return Err(R::Deactivated($what));
                        }
                        details.validate()?;
                        if self.details.as_ref() == Some(details) {
                            return Ok(Vec::new());
                        }
                        Ok(vec![$event::Changed(details.clone())])
                    }
                    $command::Deactivate { .. } => {
                        if !exists {
                            return Err(R::NotFound($what));
                        }
                        if !self.active {
                            return Ok(Vec::new());
                        }
                        Ok(vec![$event::Deactivated(Marker {})])
                    }
                    $command::Reactivate { .. } => {
                        if !exists {
                            return Err(R::NotFound($what));
                        }
                        if self.active {
                            return Err(R::AlreadyActive($what));
                        }
                        Ok(vec![$event::Reactivated(Marker {})])
                    }
                }
            }
        }
    };
}

pub(crate) use master_aggregate;

/// Checks a required text field: trimmed, non-empty, at most `max` characters.
pub(crate) fn check_text(what: &'static str, value: &str, max: usize) -> Result<(), MasterRejection> {
    if value.trim().is_empty() {
        return Err(MasterRejection::Invalid { what, reason: "must not be empty".into() });
    }
    if value.chars().count() > max {
        return Err(MasterRejection::Invalid { what, reason: format!("longer than {max} characters") });
    }
    Ok(())
}

/// Checks a quantity or amount field that must not be negative.
pub(crate) fn check_not_negative(
    what: &'static str,
    value: rust_decimal::Decimal,
) -> Result<(), MasterRejection> {
    if value < rust_decimal::Decimal::ZERO {
        return Err(MasterRejection::Invalid { what, reason: format!("must not be negative, got {value}") });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
