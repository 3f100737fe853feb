//! PurchaseRequisition (请购单): draft → submitted → approved / rejected → converted to a purchase order.
//!
//! A requisition whose estimated amount is within the book's approval threshold is approved
//! automatically on submission (and marked so); above it, approval needs the purchasing role and must
//! come from someone other than the requester (who submitted it). Order fulfilment raises drafts for
//! shortages.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{ItemId, PartnerId, PurchaseOrderId, RequisitionId};
use crate::inventory::DocRef;
use crate::values::Quantity;

#[derive(Clone, Debug, PartialEq)]
pub enum RequisitionCommand {
    /// A draft for `qty` of `item`, from `supplier` if known, for the document line in `source`.
    Draft {
        id: RequisitionId,
        item: ItemId,
        qty: Quantity,
        supplier: Option<PartnerId>,
        source: DocRef,
    },
    /// Submits for approval; `approval_threshold` is the book's setting, `estimated_amount` the expected
    /// net cost (both facts read at the edge).
    Submit {
        id: RequisitionId,
        estimated_amount: Decimal,
        approval_threshold: Decimal,
    },
    Approve {
        id: RequisitionId,
    },
    Reject {
        id: RequisitionId,
        reason: String,
    },
    Convert {
        id: RequisitionId,
        purchase_order: PurchaseOrderId,
        /// Whether that purchase order is placed (in the requisition's book) and names this requisition
        /// or none, as the service read it from the order.
        order_placed: bool,
    },
}

impl RequisitionCommand {
    pub fn id(&self) -> RequisitionId {
        match self {
            RequisitionCommand::Draft { id, .. }
            | RequisitionCommand::Submit { id, .. }
            | RequisitionCommand::Approve { id }
            | RequisitionCommand::Reject { id, .. }
            | RequisitionCommand::Convert { id, .. } => *id,
        }
    }
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequisitionSubmitted {
    pub by: String,
    pub estimated_amount: Decimal,
    pub needs_approval: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequisitionApproved {
    pub by: String,
    /// True when the amount was within the threshold and nobody had to approve.
    pub automatic: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequisitionRejected {
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequisitionConverted {
    pub purchase_order: PurchaseOrderId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum RequisitionEvent {
        Drafted(RequisitionDrafted) = "purchasing.RequisitionDrafted" v 1,
        Submitted(RequisitionSubmitted) = "purchasing.RequisitionSubmitted" v 1,
        Approved(RequisitionApproved) = "purchasing.RequisitionApproved" v 1,
        Rejected(RequisitionRejected) = "purchasing.RequisitionRejected" v 1,
        Converted(RequisitionConverted) = "purchasing.RequisitionConverted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequisitionRejection {
    #[error("the requisition already exists")]
    AlreadyExists,
    #[error("the requisition does not exist")]
    NotFound,
    #[error("the requisition is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("approving a requisition needs the purchasing role")]
    NotAllowed,
    #[error("{0} requested this requisition and cannot approve or reject it")]
    OwnRequest(String),
    #[error("amounts must not be negative")]
    NegativeAmount,
    #[error("the purchase order is not placed, or was placed for another requisition")]
    UnknownOrder,
}

impl Rejection for RequisitionRejection {
    fn code(&self) -> &'static str {
        match self {
            RequisitionRejection::AlreadyExists => "requisition.already_exists",
            RequisitionRejection::NotFound => "requisition.not_found",
            RequisitionRejection::WrongStatus(_) => "requisition.wrong_status",
            RequisitionRejection::NotAllowed => "requisition.not_allowed",
            RequisitionRejection::OwnRequest(_) => "requisition.own_request",
            RequisitionRejection::NegativeAmount => "requisition.negative_amount",
            RequisitionRejection::UnknownOrder => "requisition.unknown_order",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequisitionStatus {
    #[default]
    New,
    Draft,
    Submitted,
    Approved,
    Rejected,
    Converted,
}

impl RequisitionStatus {
    fn name(self) -> &'static str {
        match self {
            RequisitionStatus::New => "new",
            RequisitionStatus::Draft => "draft",
            RequisitionStatus::Submitted => "submitted",
            RequisitionStatus::Approved => "approved",
            RequisitionStatus::Rejected => "rejected",
            RequisitionStatus::Converted => "converted",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurchaseRequisition {
    pub status: RequisitionStatus,
    pub drafted: Option<RequisitionDrafted>,
    pub requester: Option<String>,
    pub purchase_order: Option<PurchaseOrderId>,
}

impl Aggregate for PurchaseRequisition {
    type Command = RequisitionCommand;
    type Event = RequisitionEvent;
    type Rejection = RequisitionRejection;

    fn stream_id(command: &RequisitionCommand) -> String {
        format!("requisition-{}", command.id())
    }

    fn evolve(&mut self, event: &RequisitionEvent) {
        match event {
            RequisitionEvent::Drafted(drafted) => {
                self.status = RequisitionStatus::Draft;
                self.drafted = Some(drafted.clone());
            }
            RequisitionEvent::Submitted(submitted) => {
                self.status = RequisitionStatus::Submitted;
                self.requester = Some(submitted.by.clone());
            }
            RequisitionEvent::Approved(_) => self.status = RequisitionStatus::Approved,
            RequisitionEvent::Rejected(_) => self.status = RequisitionStatus::Rejected,
            RequisitionEvent::Converted(converted) => {
                self.status = RequisitionStatus::Converted;
                self.purchase_order = Some(converted.purchase_order);
            }
        }
    }

    fn decide(
        &self,
        command: &RequisitionCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<RequisitionEvent>, RequisitionRejection> {
        use RequisitionRejection as R;
        use RequisitionStatus as S;
        let expect = |wanted: S| match self.status {
            status if status == wanted => Ok(()),
            S::New => Err(R::NotFound),
            status => Err(R::WrongStatus(status.name())),
        };
        let approver = || {
            if !meta.has_role(Role::Purchasing) {
                return Err(R::NotAllowed);
            }
            match &self.requester {
                Some(requester) if *requester == meta.actor => Err(R::OwnRequest(requester.clone())),
                _ => Ok(()),
            }
        };
        match command {
            RequisitionCommand::Draft { id, item, qty, supplier, source } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
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
            RequisitionCommand::Submit { estimated_amount, approval_threshold, .. } => {
                expect(S::Draft)?;
                if *estimated_amount < Decimal::ZERO || *approval_threshold < Decimal::ZERO {
                    return Err(R::NegativeAmount);
                }
                let needs_approval = estimated_amount > approval_threshold;
                let mut events = vec![RequisitionEvent::Submitted(RequisitionSubmitted {
                    by: meta.actor.clone(),
                    estimated_amount: *estimated_amount,
                    needs_approval,
                })];
                if !needs_approval {
                    events.push(RequisitionEvent::Approved(RequisitionApproved {
                        by: meta.actor.clone(),
                        automatic: true,
                    }));
                }
                Ok(events)
            }
            RequisitionCommand::Approve { .. } => {
                expect(S::Submitted)?;
                approver()?;
                Ok(vec![RequisitionEvent::Approved(RequisitionApproved {
                    by: meta.actor.clone(),
                    automatic: false,
                })])
            }
            RequisitionCommand::Reject { reason, .. } => {
                expect(S::Submitted)?;
                approver()?;
                Ok(vec![RequisitionEvent::Rejected(RequisitionRejected {
                    by: meta.actor.clone(),
                    reason: reason.clone(),
                })])
            }
            RequisitionCommand::Convert { purchase_order, order_placed, .. } => {
                expect(S::Approved)?;
                if !order_placed {
                    return Err(RequisitionRejection::UnknownOrder);
                }
                Ok(vec![RequisitionEvent::Converted(RequisitionConverted {
                    purchase_order: *purchase_order,
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn meta(actor: &str, roles: &[Role]) -> CommandMeta {
        crate::testing::meta_with(actor, roles)
    }

    fn id() -> RequisitionId {
        RequisitionId(Uuid::from_u128(3))
    }

    fn draft() -> RequisitionCommand {
        RequisitionCommand::Draft {
            id: id(),
            item: ItemId(Uuid::from_u128(4)),
            qty: Quantity::units(10),
            supplier: None,
            source: DocRef { kind: "sales.SalesOrder".into(), id: Uuid::from_u128(5), line: Some(0) },
        }
    }

    fn submit(amount: i64) -> RequisitionCommand {
        RequisitionCommand::Submit {
            id: id(),
            estimated_amount: Decimal::from(amount),
            approval_threshold: Decimal::from(5_000),
        }
    }

    fn run(
        steps: &[(CommandMeta, RequisitionCommand)],
    ) -> (PurchaseRequisition, Result<Vec<RequisitionEvent>, RequisitionRejection>) {
        let mut state = PurchaseRequisition::default();
        let mut last = Ok(Vec::new());
        for (meta, command) in steps {
            last = state.decide(command, meta);
            if let Ok(events) = &last {
                for event in events {
                    state.evolve(event);
                }
            }
        }
        (state, last)
    }

    #[test]
    fn a_requisition_within_the_threshold_is_approved_automatically_and_marked_so() {
        let (state, result) = run(&[(meta("li", &[]), draft()), (meta("li", &[]), submit(4_000))]);
        assert!(matches!(result.unwrap().last(), Some(RequisitionEvent::Approved(a)) if a.automatic));
        assert_eq!(state.status, RequisitionStatus::Approved);
    }

    #[test]
    fn above_the_threshold_it_waits_for_purchasing_and_the_requester_cannot_approve_it() {
        let submitted = [(meta("li", &[]), draft()), (meta("li", &[Role::Purchasing]), submit(9_000))];
        let (state, _) = run(&submitted);
        assert_eq!(state.status, RequisitionStatus::Submitted);
        let approve = RequisitionCommand::Approve { id: id() };
        assert_eq!(
            state.decide(&approve, &meta("li", &[Role::Purchasing])).unwrap_err().code(),
            "requisition.own_request"
        );
        assert_eq!(
            state.decide(&approve, &meta("zhao", &[Role::Sales])).unwrap_err().code(),
            "requisition.not_allowed"
        );
        let events = state.decide(&approve, &meta("wang", &[Role::Purchasing])).unwrap();
        assert!(matches!(&events[0], RequisitionEvent::Approved(a) if !a.automatic && a.by == "wang"));
        assert!(
            state
                .decide(
                    &RequisitionCommand::Reject { id: id(), reason: "no".into() },
                    &meta("boss", &[Role::Admin])
                )
                .is_ok()
        );
    }

    #[test]
    fn only_an_approved_requisition_converts_to_a_purchase_order() {
        let po = PurchaseOrderId(Uuid::from_u128(9));
        let (_, early) = run(&[
            (meta("li", &[]), draft()),
            (
                meta("li", &[]),
                RequisitionCommand::Convert { id: id(), purchase_order: po, order_placed: true },
            ),
        ]);
        assert_eq!(early.unwrap_err().code(), "requisition.wrong_status");
        let (_, unknown) = run(&[
            (meta("li", &[]), draft()),
            (meta("li", &[]), submit(10)),
            (
                meta("li", &[]),
                RequisitionCommand::Convert { id: id(), purchase_order: po, order_placed: false },
            ),
        ]);
        assert_eq!(unknown.unwrap_err().code(), "requisition.unknown_order");
        let (state, _) = run(&[
            (meta("li", &[]), draft()),
            (meta("li", &[]), submit(10)),
            (
                meta("li", &[]),
                RequisitionCommand::Convert { id: id(), purchase_order: po, order_placed: true },
            ),
        ]);
        assert_eq!((state.status, state.purchase_order), (RequisitionStatus::Converted, Some(po)));
        let (_, missing) = run(&[(meta("li", &[]), submit(10))]);
        assert_eq!(missing.unwrap_err().code(), "requisition.not_found");
        let (_, twice) = run(&[(meta("li", &[]), draft()), (meta("li", &[]), draft())]);
        assert_eq!(twice.unwrap_err().code(), "requisition.already_exists");
    }
}
