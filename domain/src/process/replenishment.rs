//! Replenishment: stock falling below its safety level raises a suggestion for the buyer.

use super::{EventContext, ProcessManager};
use crate::ids::{ItemId, WarehouseId};
use crate::inventory::StockKey;
use crate::inventory::replenishment::ReplenishmentCommand;
use crate::inventory::stock::StockEvent;

pub struct Replenishing;

/// The stock item a stock event belongs to, from its stream id (`stock-{item}-{warehouse}`).
fn stock_key(stream_id: &str) -> Option<StockKey> {
    let rest = stream_id.strip_prefix("stock-")?;
    // Both ids are 36-character hyphenated UUIDs.
    let (item, warehouse) = (rest.get(..36)?, rest.get(37..)?);
    Some(StockKey {
        item: ItemId(uuid::Uuid::parse_str(item).ok()?),
        warehouse: WarehouseId(uuid::Uuid::parse_str(warehouse).ok()?),
    })
}

impl ProcessManager for Replenishing {
    const NAME: &'static str = "replenishment";
    type Input = StockEvent;
    type Output = ReplenishmentCommand;

    fn react(&self, event: &StockEvent, context: &EventContext) -> Vec<ReplenishmentCommand> {
        let StockEvent::FellBelowSafety(fell) = event else { return Vec::new() };
        let Some(key) = stock_key(&context.stream_id) else { return Vec::new() };
        vec![ReplenishmentCommand::Suggest {
            key,
            available: fell.available,
            safety_stock: fell.safety_stock,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_stock_item_is_read_back_from_its_stream_id() {
        let key = StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WarehouseId(Uuid::from_u128(2)) };
        assert_eq!(stock_key(&key.stream_id()), Some(key));
        assert_eq!(stock_key("order-1"), None);
    }
}
