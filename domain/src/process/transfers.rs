//! Transfers: a dispatched transfer takes each line out of the sending stock; what stock took (cost and
//! lots) is recorded on the transfer; a received transfer brings each line into the receiving stock at
//! that cost and those lots; each arrival is recorded until the transfer completes.

use super::{EventContext, ProcessManager};
use crate::inventory::stock::StockEvent;
use crate::inventory::transfer::{TransferCommand, TransferEvent};
use crate::inventory::{StockCommand, StockKey};
use crate::values::Quantity;

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum TransferInput {
        Transfer(TransferEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TransferFlowCommand {
    Stock(StockCommand),
    Transfer(TransferCommand),
}

pub struct Transfers;

impl ProcessManager for Transfers {
    const NAME: &'static str = "transfers";
    type Input = TransferInput;
    type Output = TransferFlowCommand;

    fn react(&self, event: &TransferInput, _context: &EventContext) -> Vec<TransferFlowCommand> {
        match event {
            TransferInput::Transfer(TransferEvent::Dispatched(dispatched)) => dispatched
                .lines
                .iter()
                .filter_map(|line| {
                    Some(TransferFlowCommand::Stock(StockCommand::TransferOut {
                        key: StockKey { item: line.item, warehouse: dispatched.from },
                        transfer: dispatched.id,
                        line: line.line,
                        to: dispatched.to,
                        qty: Quantity::new(line.qty).ok()?,
                    }))
                })
                .collect(),
            TransferInput::Stock(StockEvent::TransferredOut(out)) => {
                vec![TransferFlowCommand::Transfer(TransferCommand::RecordOut {
                    id: out.transfer,
                    line: out.line,
                    value: out.value,
                    lots: out.takes.clone(),
                })]
            }
            TransferInput::Transfer(TransferEvent::Received(received)) => received
                .lines
                .iter()
                .filter_map(|line| {
                    Some(TransferFlowCommand::Stock(StockCommand::TransferIn {
                        key: StockKey { item: line.item, warehouse: received.to },
                        policy: line.policy.clone(),
                        transfer: received.id,
                        line: line.line,
                        from: received.from,
                        qty: Quantity::new(line.qty).ok()?,
                        value: line.value,
                        lots: line.lots.clone(),
                    }))
                })
                .collect(),
            TransferInput::Stock(StockEvent::TransferredIn(arrived)) => {
                vec![TransferFlowCommand::Transfer(TransferCommand::RecordIn {
                    id: arrived.transfer,
                    line: arrived.line,
                })]
            }
            _ => Vec::new(),
        }
    }
}
