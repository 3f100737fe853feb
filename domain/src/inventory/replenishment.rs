//! Replenishment suggestions (库存预警 → 补货建议): when available stock of an item in a warehouse falls
//! below its safety stock, a suggestion is raised for the buyer, one at a time per stock item, until it
//! is taken up (a requisition) or dismissed.
//!
//! The stream is named after the stock item's ids (UUIDs, never a business key), so it needs no book
//! of its own (ADR 0014): the bus keeps it in the book of its first event.
//!
//! The suggested quantity brings available stock back to the safety level; the buyer rounds it to the
//! item's reorder quantity and supplier when turning it into a requisition. Suggestions from sales
//! history and stock in transit (智能补货) build on this with the read models.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::stock::StockKey;
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, RequisitionId};

#[derive(Clone, Debug, PartialEq)]
pub enum ReplenishmentCommand {
    /// From the replenishment process manager: stock fell below safety.
    Suggest {
        key: StockKey,
        available: Decimal,
        safety_stock: Decimal,
    },
    /// The buyer raised a requisition for it. `requisition_item` is that requisition's item as the
    /// service read it (`None`: no such requisition), a fact the rule checks.
    TakeUp {
        key: StockKey,
        requisition: RequisitionId,
        requisition_item: Option<ItemId>,
    },
    Dismiss {
        key: StockKey,
        reason: String,
    },
}

impl ReplenishmentCommand {
    pub fn key(&self) -> &StockKey {
        match self {
            ReplenishmentCommand::Suggest { key, .. }
            | ReplenishmentCommand::TakeUp { key, .. }
            | ReplenishmentCommand::Dismiss { key, .. } => key,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplenishmentSuggested {
    pub key: StockKey,
    pub available: Decimal,
    pub safety_stock: Decimal,
    pub suggested_qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplenishmentTakenUp {
    pub requisition: RequisitionId,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplenishmentDismissed {
    pub reason: String,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ReplenishmentEvent {
        Suggested(ReplenishmentSuggested) = "inventory.ReplenishmentSuggested" v 1,
        TakenUp(ReplenishmentTakenUp) = "inventory.ReplenishmentTakenUp" v 1,
        Dismissed(ReplenishmentDismissed) = "inventory.ReplenishmentDismissed" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplenishmentRejection {
    #[error("there is no open suggestion for this stock item")]
    NoOpenSuggestion,
    #[error("a suggestion is taken up by a requisition for its item, drafted before")]
    RequisitionMismatch,
}

impl Rejection for ReplenishmentRejection {
    fn code(&self) -> &'static str {
        match self {
            ReplenishmentRejection::NoOpenSuggestion => "replenishment.no_open_suggestion",
            ReplenishmentRejection::RequisitionMismatch => "replenishment.requisition_mismatch",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replenishment {
    pub open: Option<ReplenishmentSuggested>,
    pub suggestions: u32,
}

impl Replenishment {
    /// The stream of the suggestions for the stock item `key`: the one place its name is made.
    pub fn stream(key: StockKey) -> String {
        format!("replenishment-{}-{}", key.item, key.warehouse)
    }

    /// The stock item a suggestions stream is named after ([`Replenishment::stream`]), or `None` for
    /// another stream: how a read model knows which suggestion a taking up or a dismissal closes.
    pub fn key_of_stream(stream: &str) -> Option<StockKey> {
        StockKey::from_ids(stream.strip_prefix("replenishment-")?)
    }
}

impl Aggregate for Replenishment {
    type Command = ReplenishmentCommand;
    type Event = ReplenishmentEvent;
    type Rejection = ReplenishmentRejection;

    fn stream_id(command: &ReplenishmentCommand) -> String {
        Replenishment::stream(*command.key())
    }

    fn evolve(&mut self, event: &ReplenishmentEvent) {
        match event {
            ReplenishmentEvent::Suggested(e) => {
                self.open = Some(e.clone());
                self.suggestions += 1;
            }
            ReplenishmentEvent::TakenUp(_) | ReplenishmentEvent::Dismissed(_) => self.open = None,
        }
    }

    fn decide(
        &self,
        command: &ReplenishmentCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<ReplenishmentEvent>, ReplenishmentRejection> {
        match command {
            ReplenishmentCommand::Suggest { key, available, safety_stock } => {
                // One open suggestion per stock item: the buyer sees one line, not one per dip.
                if self.open.is_some() || available >= safety_stock {
                    return Ok(Vec::new());
                }
                Ok(vec![ReplenishmentEvent::Suggested(ReplenishmentSuggested {
                    key: *key,
                    available: *available,
                    safety_stock: *safety_stock,
                    suggested_qty: safety_stock - available,
                })])
            }
            ReplenishmentCommand::TakeUp { key, requisition, requisition_item } => {
                if self.open.is_none() {
                    return Err(ReplenishmentRejection::NoOpenSuggestion);
                }
                if *requisition_item != Some(key.item) {
                    return Err(ReplenishmentRejection::RequisitionMismatch);
                }
                Ok(vec![ReplenishmentEvent::TakenUp(ReplenishmentTakenUp {
                    requisition: *requisition,
                    by: meta.actor.clone(),
                })])
            }
            ReplenishmentCommand::Dismiss { reason, .. } => {
                if self.open.is_none() {
                    return Err(ReplenishmentRejection::NoOpenSuggestion);
                }
                Ok(vec![ReplenishmentEvent::Dismissed(ReplenishmentDismissed {
                    reason: reason.clone(),
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::WarehouseId;
    use crate::testing::{self, given};
    use uuid::Uuid;

    fn key() -> StockKey {
        StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WarehouseId(Uuid::from_u128(2)) }
    }

    fn suggest(available: i64) -> ReplenishmentCommand {
        ReplenishmentCommand::Suggest {
            key: key(),
            available: Decimal::from(available),
            safety_stock: Decimal::from(20),
        }
    }

    #[test]
    fn a_suggestions_stream_names_its_stock_item_and_no_other_stream_does() {
        assert_eq!(Replenishment::key_of_stream(&Replenishment::stream(key())), Some(key()));
        assert_eq!(Replenishment::key_of_stream(&key().stream_id()), None, "a stock stream");
        assert_eq!(Replenishment::key_of_stream("replenishment-1-2"), None);
    }

    #[test]
    fn a_dip_below_safety_raises_one_suggestion_for_the_shortfall_until_it_is_taken_up() {
        let outcome = given::<Replenishment>(&[]).when(&testing::meta("p"), &suggest(5));
        assert!(
            matches!(&outcome.events()[0], ReplenishmentEvent::Suggested(s) if s.suggested_qty == Decimal::from(15))
        );
        let open = testing::given_by::<Replenishment>("p", &[suggest(5)]);
        assert!(
            open.when(&testing::meta("p"), &suggest(3)).events().is_empty(),
            "one open suggestion at a time"
        );
        let take_up = ReplenishmentCommand::TakeUp {
            key: key(),
            requisition: RequisitionId(Uuid::from_u128(9)),
            requisition_item: Some(key().item),
        };
        let taken = testing::given_by::<Replenishment>("p", &[suggest(5), take_up.clone()]);
        assert_eq!(
            taken.when(&testing::meta("p"), &suggest(3)).events().len(),
            1,
            "a new dip after the take-up suggests again"
        );
        taken.when(&testing::meta("li"), &take_up).rejected("replenishment.no_open_suggestion");
    }

    #[test]
    fn a_suggestion_is_taken_up_only_by_a_requisition_for_its_item() {
        let open = testing::given_by::<Replenishment>("p", &[suggest(5)]);
        let by = |item: Option<ItemId>| ReplenishmentCommand::TakeUp {
            key: key(),
            requisition: RequisitionId(Uuid::from_u128(9)),
            requisition_item: item,
        };
        open.when(&testing::meta("li"), &by(None)).rejected("replenishment.requisition_mismatch");
        open.when(&testing::meta("li"), &by(Some(ItemId(Uuid::from_u128(7)))))
            .rejected("replenishment.requisition_mismatch");
        let taken = open.when(&testing::meta("li"), &by(Some(key().item)));
        assert!(
            matches!(taken.events(), [ReplenishmentEvent::TakenUp(t)] if t.by == "li" && t.requisition.0 == Uuid::from_u128(9))
        );
        assert!(taken.after.open.is_none());
    }

    #[test]
    fn a_suggestion_can_be_dismissed_and_nothing_is_suggested_at_or_above_safety() {
        assert!(given::<Replenishment>(&[]).when(&testing::meta("p"), &suggest(20)).events().is_empty());
        let dismiss = ReplenishmentCommand::Dismiss { key: key(), reason: "seasonal item".into() };
        given::<Replenishment>(&[])
            .when(&testing::meta("li"), &dismiss)
            .rejected("replenishment.no_open_suggestion");
        let outcome =
            testing::given_by::<Replenishment>("p", &[suggest(5)]).when(&testing::meta("li"), &dismiss);
        assert!(outcome.after.open.is_none());
    }
}
