//! PurchaseRequisition (请购单). This increment holds the draft that order fulfilment raises for a
//! shortage; submission, approval above an amount by someone other than the requester, and conversion
//! to a purchase order come with the purchasing increment.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, PartnerId, RequisitionId};
use crate::inventory::DocRef;
use crate::values::Quantity;

#[derive(Clone, Debug, PartialEq)]
pub enum RequisitionCommand {
    /// A draft for `qty` of `item`, from `supplier` if known, for the document line in `source`.
    Draft { id: RequisitionId, item: ItemId, qty: Quantity, supplier: Option<PartnerId>, source: DocRef },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequisitionDrafted {
    pub id: RequisitionId,
    pub item: ItemId,
    pub qty: Decimal,
    pub supplier: Option<PartnerId>,
    pub source: DocRef,
    pub requested_by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum RequisitionEvent {
        Drafted(RequisitionDrafted) = "purchasing.RequisitionDrafted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequisitionRejection {
    #[error("the requisition already exists")]
    AlreadyExists,
}

impl Rejection for RequisitionRejection {
    fn code(&self) -> &'static str {
        match self {
            RequisitionRejection::AlreadyExists => "requisition.already_exists",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequisitionStatus {
    #[default]
    New,
    Draft,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurchaseRequisition {
    pub status: RequisitionStatus,
    pub drafted: Option<RequisitionDrafted>,
}

impl Aggregate for PurchaseRequisition {
    type Command = RequisitionCommand;
    type Event = RequisitionEvent;
    type Rejection = RequisitionRejection;

    fn stream_id(command: &RequisitionCommand) -> String {
        let RequisitionCommand::Draft { id, .. } = command;
        format!("requisition-{id}")
    }

    fn evolve(&mut self, event: &RequisitionEvent) {
        let RequisitionEvent::Drafted(drafted) = event;
        self.status = RequisitionStatus::Draft;
        self.drafted = Some(drafted.clone());
    }

    fn decide(
        &self,
        command: &RequisitionCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<RequisitionEvent>, RequisitionRejection> {
        let RequisitionCommand::Draft { id, item, qty, supplier, source } = command;
        if self.status != RequisitionStatus::New {
            return Err(RequisitionRejection::AlreadyExists);
        }
        Ok(vec![RequisitionEvent::Drafted(RequisitionDrafted {
            id: *id,
            item: *item,
            qty: qty.get(),
            supplier: *supplier,
            source: source.clone(),
            requested_by: meta.actor.clone(),
        })])
    }
}
