//! Receiving: goods received against a purchase order → each line received into stock at the order's
//! net unit price, in the order's warehouse, bin and lot.

use super::{EventContext, ProcessManager};
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::purchasing::{GOODS_RECEIPT_DOC, PurchaseOrderEvent};
use crate::values::{Code, Quantity, UnitAmount};

pub struct Receiving;

impl ProcessManager for Receiving {
    const NAME: &'static str = "receiving";
    type Input = PurchaseOrderEvent;
    type Output = StockCommand;

    fn react(&self, event: &PurchaseOrderEvent, _context: &EventContext) -> Vec<StockCommand> {
        let PurchaseOrderEvent::Received(received) = event else { return Vec::new() };
        received
            .lines
            .iter()
            .filter_map(|line| {
                Some(StockCommand::Receive {
                    key: StockKey { item: line.item, warehouse: received.warehouse },
                    policy: line.policy.clone(),
                    qty: Quantity::new(line.qty).ok()?,
                    unit_cost: UnitAmount::new(line.unit_price).ok()?,
                    lot: received.lot.as_deref().and_then(|l| Code::new("lot", l).ok()),
                    bin: received.bin.as_deref().and_then(|b| Code::new("bin", b).ok()),
                    source: DocRef {
                        kind: GOODS_RECEIPT_DOC.into(),
                        id: received.receipt.0,
                        line: Some(line.line),
                    },
                })
            })
            .collect()
    }
}
