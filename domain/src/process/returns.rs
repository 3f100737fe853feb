//! Returns: a completed customer return goes back into stock at the cost it left with; a completed
//! return to a supplier leaves stock at the stock's own cost.

use super::{EventContext, ProcessManager};
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::returns::{PURCHASE_RETURN_DOC, ReturnDirection, ReturnEvent, SALES_RETURN_DOC};
use crate::values::{Code, Quantity, UnitAmount};

pub struct Returns;

impl ProcessManager for Returns {
    const NAME: &'static str = "returns";
    type Input = ReturnEvent;
    type Output = StockCommand;

    fn react(&self, event: &ReturnEvent, _context: &EventContext) -> Vec<StockCommand> {
        let ReturnEvent::Completed(completed) = event else { return Vec::new() };
        completed
            .lines
            .iter()
            .filter_map(|line| {
                let key = StockKey { item: line.item, warehouse: completed.warehouse };
                let qty = Quantity::new(line.qty).ok()?;
                Some(match completed.direction {
                    ReturnDirection::FromCustomer => StockCommand::Receive {
                        key,
                        policy: line.policy.clone(),
                        qty,
                        unit_cost: UnitAmount::new(line.unit_cost?).ok()?,
                        lot: None,
                        bin: Some(Code::new("bin", "returns").expect("a fixed bin code is valid")),
                        source: DocRef {
                            kind: SALES_RETURN_DOC.into(),
                            id: completed.id.0,
                            line: Some(line.line),
                        },
                    },
                    ReturnDirection::ToSupplier => StockCommand::Issue {
                        key,
                        qty,
                        reservation: None,
                        lot: None,
                        source: DocRef {
                            kind: PURCHASE_RETURN_DOC.into(),
                            id: completed.id.0,
                            line: Some(line.line),
                        },
                    },
                })
            })
            .collect()
    }
}
