//! Replenishment: stock falling below its safety level raises a suggestion for the buyer.

use super::{EventContext, ProcessManager};
use crate::inventory::replenishment::ReplenishmentCommand;
use crate::inventory::stock::StockEvent;

pub struct Replenishing;

impl ProcessManager for Replenishing {
    const NAME: &'static str = "replenishment";
    type Input = StockEvent;
    type Output = ReplenishmentCommand;

    fn react(&self, event: &StockEvent, _context: &EventContext) -> Vec<ReplenishmentCommand> {
        let StockEvent::FellBelowSafety(fell) = event else { return Vec::new() };
        vec![ReplenishmentCommand::Suggest {
            key: fell.key,
            available: fell.available,
            safety_stock: fell.safety_stock,
        }]
    }
}
