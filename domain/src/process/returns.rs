//! Returns: a completed customer return goes back into stock at the cost it left with; a completed
//! return to a supplier leaves stock at the stock's own cost, which is recorded back on the return.

use super::{EventContext, ProcessManager};
use crate::ids::ReturnId;
use crate::inventory::stock::StockEvent;
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::returns::{PURCHASE_RETURN_DOC, ReturnCommand, ReturnDirection, ReturnEvent, SALES_RETURN_DOC};
use crate::values::{Code, Quantity, UnitAmount};

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum ReturnsInput {
        Return(ReturnEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReturnsCommand {
    Stock(StockCommand),
    Return(ReturnCommand),
}

pub struct Returns;

impl ProcessManager for Returns {
    const NAME: &'static str = "returns";
    type Input = ReturnsInput;
    type Output = ReturnsCommand;

    fn react(&self, event: &ReturnsInput, _context: &EventContext) -> Vec<ReturnsCommand> {
        let completed = match event {
            ReturnsInput::Return(ReturnEvent::Completed(completed)) => completed,
            ReturnsInput::Stock(StockEvent::Issued(issued)) if issued.source.kind == PURCHASE_RETURN_DOC => {
                let Some(line) = issued.source.line else { return Vec::new() };
                return vec![ReturnsCommand::Return(ReturnCommand::RecordIssue {
                    id: ReturnId(issued.source.id),
                    line,
                    value: issued.value,
                })];
            }
            _ => return Vec::new(),
        };
        completed
            .lines
            .iter()
            .filter_map(|line| {
                let key = StockKey { item: line.item, warehouse: completed.warehouse };
                let qty = Quantity::new(line.qty).ok()?;
                Some(ReturnsCommand::Stock(match completed.direction {
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
                }))
            })
            .collect()
    }
}
