//! Shipping: goods shipped → each line issued from stock under its reservation (stock chooses the lots,
//! oldest first, and reports the cost it took) and recorded on the sales order → each issue's cost
//! recorded on the shipment, which is costed when all lines are.

use super::{EventContext, ProcessManager};
use crate::ids::ShipmentId;
use crate::inventory::stock::StockEvent;
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::sales::{SHIPMENT_DOC, SalesOrderCommand, ShipmentCommand, ShipmentEvent};
use crate::values::Quantity;

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum ShippingInput {
        Shipment(ShipmentEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ShippingCommand {
    Stock(StockCommand),
    Sales(SalesOrderCommand),
    Shipment(ShipmentCommand),
}

pub struct Shipping;

impl ProcessManager for Shipping {
    const NAME: &'static str = "shipping";
    type Input = ShippingInput;
    type Output = ShippingCommand;

    fn react(&self, event: &ShippingInput, _context: &EventContext) -> Vec<ShippingCommand> {
        match event {
            ShippingInput::Shipment(ShipmentEvent::Shipped(shipped)) => {
                let mut commands = Vec::with_capacity(shipped.lines.len() * 2);
                for line in &shipped.lines {
                    let Ok(qty) = Quantity::new(line.qty) else { continue };
                    commands.push(ShippingCommand::Stock(StockCommand::Issue {
                        key: StockKey { item: line.item, warehouse: shipped.warehouse },
                        qty,
                        reservation: line.reservation,
                        lot: None,
                        source: DocRef { kind: SHIPMENT_DOC.into(), id: shipped.id.0, line: Some(line.line) },
                    }));
                    commands.push(ShippingCommand::Sales(SalesOrderCommand::RecordShipment {
                        id: shipped.order,
                        line: line.order_line,
                        qty: line.qty,
                    }));
                }
                commands
            }
            ShippingInput::Stock(StockEvent::Issued(issued)) if issued.source.kind == SHIPMENT_DOC => {
                match issued.source.line {
                    Some(line) => vec![ShippingCommand::Shipment(ShipmentCommand::RecordIssued {
                        id: ShipmentId(issued.source.id),
                        line,
                        value: issued.value,
                    })],
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}
