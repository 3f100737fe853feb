//! Order fulfilment: a placed order reserves each line in its warehouse; what stock held and what it
//! could not are recorded on the order; a backordered line raises a draft purchase requisition from the
//! item's default supplier.
//!
//! placed → `ReserveForDocument` per line → `StockReserved` / `StockReservationShort` →
//! `RecordReservation` on the order → `SalesOrderLineBackordered` → requisition `Draft`; a cancelled
//! order releases the reservations of the lines still holding stock.

use uuid::Uuid;

use super::{EventContext, ProcessManager};
use crate::ids::{RequisitionId, ReservationId, SalesOrderId};
use crate::inventory::stock::StockEvent;
use crate::inventory::{DocRef, StockCommand, StockKey};
use crate::purchasing::RequisitionCommand;
use crate::sales::{SALES_ORDER_DOC, SalesOrderCommand, SalesOrderEvent};
use crate::values::Quantity;

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum FulfilmentInput {
        Sales(SalesOrderEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FulfilmentCommand {
    Stock(StockCommand),
    Sales(SalesOrderCommand),
    Purchasing(RequisitionCommand),
}

/// The reservation of one order line: derived, so a re-issued command names the same reservation.
pub fn line_reservation(order: SalesOrderId, line: u32) -> ReservationId {
    ReservationId(Uuid::new_v5(&order.0, format!("reservation/{line}").as_bytes()))
}

/// The requisition raised for one order line's shortage.
pub fn line_requisition(order: SalesOrderId, line: u32) -> RequisitionId {
    RequisitionId(Uuid::new_v5(&order.0, format!("requisition/{line}").as_bytes()))
}

pub struct OrderFulfilment;

impl ProcessManager for OrderFulfilment {
    const NAME: &'static str = "order-fulfilment";
    type Input = FulfilmentInput;
    type Output = FulfilmentCommand;

    fn react(&self, event: &FulfilmentInput, _context: &EventContext) -> Vec<FulfilmentCommand> {
        match event {
            FulfilmentInput::Sales(SalesOrderEvent::Placed(placed)) => placed
                .lines
                .iter()
                .filter_map(|line| {
                    let qty = Quantity::new(line.qty).ok()?;
                    Some(FulfilmentCommand::Stock(StockCommand::ReserveForDocument {
                        key: StockKey { item: line.item, warehouse: line.warehouse },
                        reservation: line_reservation(placed.id, line.line),
                        qty,
                        for_doc: DocRef {
                            kind: SALES_ORDER_DOC.into(),
                            id: placed.id.0,
                            line: Some(line.line),
                        },
                    }))
                })
                .collect(),
            FulfilmentInput::Stock(StockEvent::Reserved(reserved)) => match &reserved.for_doc {
                Some(doc) if doc.kind == SALES_ORDER_DOC => {
                    vec![FulfilmentCommand::Sales(SalesOrderCommand::RecordReservation {
                        id: SalesOrderId(doc.id),
                        line: doc.line.unwrap_or(0),
                        reserved: reserved.qty,
                        backordered: rust_decimal::Decimal::ZERO,
                    })]
                }
                _ => Vec::new(),
            },
            FulfilmentInput::Stock(StockEvent::ReservationShort(short))
                if short.for_doc.kind == SALES_ORDER_DOC =>
            {
                vec![FulfilmentCommand::Sales(SalesOrderCommand::RecordReservation {
                    id: SalesOrderId(short.for_doc.id),
                    line: short.for_doc.line.unwrap_or(0),
                    reserved: rust_decimal::Decimal::ZERO,
                    backordered: short.short,
                })]
            }
            FulfilmentInput::Sales(SalesOrderEvent::Cancelled(cancelled)) => cancelled
                .held
                .iter()
                .map(|held| {
                    FulfilmentCommand::Stock(StockCommand::Release {
                        key: StockKey { item: held.item, warehouse: held.warehouse },
                        reservation: line_reservation(cancelled.id, held.line),
                    })
                })
                .collect(),
            FulfilmentInput::Sales(SalesOrderEvent::ReservationReturned(returned)) => {
                vec![FulfilmentCommand::Stock(StockCommand::Release {
                    key: StockKey { item: returned.item, warehouse: returned.warehouse },
                    reservation: line_reservation(returned.id, returned.line),
                })]
            }
            FulfilmentInput::Sales(SalesOrderEvent::LineBackordered(backordered)) => {
                let Ok(qty) = Quantity::new(backordered.qty) else { return Vec::new() };
                vec![FulfilmentCommand::Purchasing(RequisitionCommand::Draft {
                    id: line_requisition(backordered.id, backordered.line),
                    item: backordered.item,
                    qty,
                    supplier: backordered.default_supplier,
                    source: DocRef {
                        kind: SALES_ORDER_DOC.into(),
                        id: backordered.id.0,
                        line: Some(backordered.line),
                    },
                })]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::aggregate::Aggregate;
    use crate::command::Rejection;
    use crate::ids::{BookId, EventId, ItemId, PartnerId, WarehouseId};
    use crate::inventory::stock::{StockReservationShort, StockReserved};
    use crate::process::reaction_meta;
    use crate::purchasing::PurchaseRequisition;
    use crate::sales::Channel;
    use crate::sales::order::{OrderLine, SalesOrderLineBackordered, SalesOrderPlaced};
    use crate::time::Timestamp;

    fn context() -> EventContext {
        EventContext {
            event_id: EventId(Uuid::from_u128(5)),
            stream_id: "sales-order-x".into(),
            book: BookId(Uuid::from_u128(1)),
            correlation_id: Uuid::from_u128(6),
            occurred_at: Timestamp(7),
        }
    }

    fn order() -> SalesOrderId {
        SalesOrderId(Uuid::from_u128(9))
    }

    fn doc(line: u32) -> DocRef {
        DocRef { kind: SALES_ORDER_DOC.into(), id: order().0, line: Some(line) }
    }

    #[test]
    fn a_placed_order_reserves_each_line_in_its_warehouse_under_a_derived_reservation() {
        let line = |n: u32| OrderLine {
            line: n,
            item: ItemId(Uuid::from_u128(n as u128 + 100)),
            qty: Decimal::from(2),
            unit_price: Decimal::ONE,
            vat_rate: Decimal::ZERO,
            amount_net: Decimal::from(2),
            amount_tax: Decimal::ZERO,
            default_supplier: None,
            warehouse: WarehouseId(Uuid::from_u128(2)),
        };
        let placed = SalesOrderEvent::Placed(SalesOrderPlaced {
            id: order(),
            customer: PartnerId(Uuid::from_u128(1)),
            channel: Channel::Direct,
            warehouse: WarehouseId(Uuid::from_u128(2)),
            lines: vec![line(0), line(1)],
            amount_net: Decimal::from(4),
            amount_tax: Decimal::ZERO,
            amount_gross: Decimal::from(4),
        });
        let commands = OrderFulfilment.react(&FulfilmentInput::Sales(placed), &context());
        assert_eq!(commands.len(), 2);
        let FulfilmentCommand::Stock(StockCommand::ReserveForDocument { key, reservation, for_doc, .. }) =
            &commands[1]
        else {
            panic!("{commands:?}")
        };
        assert_eq!(key.warehouse, WarehouseId(Uuid::from_u128(2)));
        assert_eq!(*reservation, line_reservation(order(), 1));
        assert_eq!(*for_doc, doc(1));
    }

    #[test]
    fn a_reservation_the_cancelled_order_handed_back_is_released() {
        let returned =
            SalesOrderEvent::ReservationReturned(crate::sales::order::SalesOrderReservationReturned {
                id: order(),
                line: 1,
                item: ItemId(Uuid::from_u128(101)),
                warehouse: WarehouseId(Uuid::from_u128(2)),
                qty: Decimal::ONE,
            });
        let commands = OrderFulfilment.react(&FulfilmentInput::Sales(returned), &context());
        assert_eq!(
            commands,
            vec![FulfilmentCommand::Stock(StockCommand::Release {
                key: StockKey {
                    item: ItemId(Uuid::from_u128(101)),
                    warehouse: WarehouseId(Uuid::from_u128(2))
                },
                reservation: line_reservation(order(), 1),
            })]
        );
    }

    #[test]
    fn stock_answers_are_recorded_on_the_order_line_they_belong_to() {
        let reserved = StockEvent::Reserved(StockReserved {
            reservation: line_reservation(order(), 0),
            qty: Decimal::ONE,
            for_doc: Some(doc(0)),
        });
        let short = StockEvent::ReservationShort(StockReservationShort {
            reservation: line_reservation(order(), 0),
            requested: Decimal::from(3),
            short: Decimal::from(2),
            for_doc: doc(0),
        });
        let record = |event| OrderFulfilment.react(&FulfilmentInput::Stock(event), &context());
        assert_eq!(
            record(reserved),
            vec![FulfilmentCommand::Sales(SalesOrderCommand::RecordReservation {
                id: order(),
                line: 0,
                reserved: Decimal::ONE,
                backordered: Decimal::ZERO,
            })]
        );
        assert_eq!(
            record(short),
            vec![FulfilmentCommand::Sales(SalesOrderCommand::RecordReservation {
                id: order(),
                line: 0,
                reserved: Decimal::ZERO,
                backordered: Decimal::from(2),
            })]
        );
        let unrelated = StockEvent::Reserved(StockReserved {
            reservation: line_reservation(order(), 0),
            qty: Decimal::ONE,
            for_doc: None,
        });
        assert!(record(unrelated).is_empty());
    }

    #[test]
    fn a_backordered_line_raises_a_draft_requisition_from_the_default_supplier() {
        let backordered = SalesOrderEvent::LineBackordered(SalesOrderLineBackordered {
            id: order(),
            line: 3,
            item: ItemId(Uuid::from_u128(100)),
            qty: Decimal::from(2),
            default_supplier: Some(PartnerId(Uuid::from_u128(40))),
        });
        let commands = OrderFulfilment.react(&FulfilmentInput::Sales(backordered), &context());
        let [FulfilmentCommand::Purchasing(draft)] = commands.as_slice() else { panic!("{commands:?}") };
        let meta = reaction_meta(OrderFulfilment::NAME, &context(), 0);
        let events = PurchaseRequisition::default().decide(draft, &meta).unwrap();
        let crate::purchasing::RequisitionEvent::Drafted(drafted) = &events[0] else { panic!("{events:?}") };
        assert_eq!(drafted.id, line_requisition(order(), 3));
        assert_eq!(drafted.supplier, Some(PartnerId(Uuid::from_u128(40))));
        assert_eq!(drafted.requested_by, "process:order-fulfilment");
        assert_eq!(
            PurchaseRequisition::fold(&events).decide(draft, &meta).unwrap_err().code(),
            "requisition.already_exists"
        );
    }

    #[test]
    fn commands_issued_for_the_same_event_have_the_same_ids_and_other_managers_get_other_ids() {
        let a = reaction_meta(OrderFulfilment::NAME, &context(), 0);
        assert_eq!(a, reaction_meta(OrderFulfilment::NAME, &context(), 0));
        assert_ne!(a.command_id, reaction_meta(OrderFulfilment::NAME, &context(), 1).command_id);
        assert_ne!(a.command_id, reaction_meta("stocktake-posting", &context(), 0).command_id);
        assert_eq!(a.causation_id, context().event_id.0);
        assert_eq!(a.correlation_id, context().correlation_id);
    }
}
