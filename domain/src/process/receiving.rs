//! Receiving: goods received against a purchase order → each line received into stock in the order's
//! warehouse, bin and lot, at the price the receipt carries (the order's net unit price, or the
//! invoice's when the invoice came with the goods); and such an invoice becomes an open purchase
//! invoice that payments can pay.

use super::{EventContext, ProcessManager};
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::purchasing::{GOODS_RECEIPT_DOC, PurchaseInvoiceCommand, PurchaseOrderEvent};
use crate::values::{Code, Quantity, UnitAmount};

#[derive(Clone, Debug, PartialEq)]
pub enum ReceivingCommand {
    Stock(StockCommand),
    Invoice(PurchaseInvoiceCommand),
}

pub struct Receiving;

impl ProcessManager for Receiving {
    const NAME: &'static str = "receiving";
    type Input = PurchaseOrderEvent;
    type Output = ReceivingCommand;

    fn react(&self, event: &PurchaseOrderEvent, _context: &EventContext) -> Vec<ReceivingCommand> {
        let PurchaseOrderEvent::Received(received) = event else { return Vec::new() };
        let mut commands: Vec<ReceivingCommand> = received
            .lines
            .iter()
            .filter_map(|line| {
                Some(ReceivingCommand::Stock(StockCommand::Receive {
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
                }))
            })
            .collect();
        if let Some(invoice) = &received.invoice {
            commands.push(ReceivingCommand::Invoice(PurchaseInvoiceCommand::RecordWithGoods {
                id: invoice.id,
                supplier: received.supplier,
                po: received.id,
                receipt: received.receipt,
                invoice: invoice.clone(),
            }));
        }
        commands
    }
}
