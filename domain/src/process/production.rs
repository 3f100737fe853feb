//! Production: a released production order → each material issued from stock (生产领料), each issue
//! recorded on the order with the cost it took; a completed order → the product received into stock at
//! the order's cost (完工入库).

use super::{EventContext, ProcessManager};
use crate::ids::ProductionOrderId;
use crate::inventory::stock::StockEvent;
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::production::{PRODUCTION_ORDER_DOC, ProductionOrderCommand, ProductionOrderEvent};
use crate::values::{Quantity, UnitAmount};

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum ProductionInput {
        Order(ProductionOrderEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProductionCommand {
    Stock(StockCommand),
    Order(ProductionOrderCommand),
}

pub struct Production;

impl ProcessManager for Production {
    const NAME: &'static str = "production";
    type Input = ProductionInput;
    type Output = ProductionCommand;

    fn react(&self, event: &ProductionInput, _context: &EventContext) -> Vec<ProductionCommand> {
        match event {
            ProductionInput::Order(ProductionOrderEvent::Released(released)) => released
                .materials
                .iter()
                .filter_map(|m| {
                    Some(ProductionCommand::Stock(StockCommand::Issue {
                        key: StockKey { item: m.item, warehouse: released.warehouse },
                        qty: Quantity::new(m.qty).ok()?,
                        reservation: None,
                        lot: None,
                        source: DocRef {
                            kind: PRODUCTION_ORDER_DOC.into(),
                            id: released.id.0,
                            line: Some(m.line),
                        },
                    }))
                })
                .collect(),
            ProductionInput::Stock(StockEvent::Issued(issued))
                if issued.source.kind == PRODUCTION_ORDER_DOC =>
            {
                let Some(line) = issued.source.line else { return Vec::new() };
                vec![ProductionCommand::Order(ProductionOrderCommand::RecordIssue {
                    id: ProductionOrderId(issued.source.id),
                    line,
                    qty: issued.qty,
                    value: issued.value,
                })]
            }
            ProductionInput::Order(ProductionOrderEvent::Completed(done)) => {
                // Unit cost unrounded, so the stock takes round(qty × cost ÷ qty) = cost exactly.
                let (Ok(qty), Ok(unit_cost)) =
                    (Quantity::new(done.qty), UnitAmount::new(done.cost / done.qty))
                else {
                    return Vec::new();
                };
                debug_assert_eq!(crate::values::round_money(done.qty * unit_cost.get()), done.cost);
                vec![ProductionCommand::Stock(StockCommand::Receive {
                    key: StockKey { item: done.product, warehouse: done.warehouse },
                    policy: done.product_policy.clone(),
                    qty,
                    unit_cost,
                    lot: None,
                    bin: None,
                    source: DocRef { kind: PRODUCTION_ORDER_DOC.into(), id: done.id.0, line: None },
                })]
            }
            _ => Vec::new(),
        }
    }
}
