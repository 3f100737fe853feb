//! Returns with the facts their rules need, read from the documents returned against, so that a client
//! names only what comes back and how much: a customer return takes each line's item, price and VAT
//! rate from the sales order the shipment shipped, and the unit cost the goods left stock with from the
//! shipment; a return to a supplier takes the supplier, the item, price and VAT rate from the purchase
//! order. Both read each item's stock policy and whether the masters are usable.

use domain::inventory::DocRef;
use domain::master::{Partner, Usable, Warehouse};
use domain::purchasing::PurchaseOrder;
use domain::returns::{
    Return, ReturnCommand, ReturnDirection, ReturnEvent, ReturnLineInput, ReturnRejection,
};
use domain::sales::{SalesOrder, SalesOrderCommand, Shipment, ShipmentCommand};
use domain::values::{Quantity, UnitAmount};
use domain::{Aggregate, BookId, CommandMeta, PartnerId, PurchaseOrderId, ReturnId, ShipmentId, WarehouseId};
use infra::{EventStore, StoreError};

use crate::bus::{BusError, CommandBus, Executed};
use crate::inventory::{item_policy, placeholder_policy};
use crate::purchasing::BookSettings;

/// A return as a clerk enters it: the document's lines (shipment lines, or purchase order lines) and
/// the quantity of each that comes back.
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnDraft {
    pub id: ReturnId,
    pub lines: Vec<(u32, Quantity)>,
    pub reason: String,
    /// Where the goods go back into (a customer return) or leave from (a supplier return), when not
    /// the document's own warehouse.
    pub warehouse: Option<WarehouseId>,
}

fn unknown_line(line: u32) -> BusError<ReturnRejection> {
    BusError::Rejected(ReturnRejection::UnknownLine(line))
}

async fn partner_usable<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    partner: PartnerId,
    customer: bool,
) -> Result<bool, StoreError> {
    bus.inspect_in::<Partner, bool>(book, &Partner::stream(partner), |p| {
        p.is_usable()
            && p.details.as_ref().is_some_and(|d| if customer { d.roles.customer } else { d.roles.supplier })
    })
    .await
}

/// Goods coming back from `customer` against `shipment`'s lines: each at the price of its sales order
/// line and at the cost it left stock with. A line that was not shipped, or whose cost stock has not
/// reported yet, is unknown.
pub async fn create_customer_return<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    customer: PartnerId,
    shipment: ShipmentId,
    draft: &ReturnDraft,
    settings: &BookSettings,
) -> Result<Executed<ReturnEvent>, BusError<ReturnRejection>> {
    let shipped: Shipment =
        bus.load_in(meta.book, &Shipment::stream_id(&ShipmentCommand::Ship { id: shipment })).await?;
    let Some(order_id) = shipped.order else {
        return Err(unknown_line(draft.lines.first().map_or(0, |(l, _)| *l)));
    };
    let Some(warehouse) = draft.warehouse.or(shipped.warehouse) else {
        return Err(unknown_line(draft.lines.first().map_or(0, |(l, _)| *l)));
    };
    let order: SalesOrder =
        bus.load_in(meta.book, &SalesOrder::stream_id(&SalesOrderCommand::Close { id: order_id })).await?;
    if order.customer != Some(customer) {
        return Err(BusError::Rejected(ReturnRejection::NotThisCustomer));
    }
    let mut usable = partner_usable(bus, meta.book, customer, true).await?
        && bus
            .inspect_in::<Warehouse, bool>(meta.book, &Warehouse::stream(warehouse), |w| w.is_usable())
            .await?;
    let mut lines = Vec::with_capacity(draft.lines.len());
    for (line, qty) in &draft.lines {
        let Some(sent) = shipped.shipped.iter().find(|l| l.line == *line) else {
            return Err(unknown_line(*line));
        };
        let Some(ordered) = order.lines.iter().find(|l| l.line == sent.order_line) else {
            return Err(unknown_line(*line));
        };
        // The cost the line left with, per unit (unrounded: a whole line returned brings back exactly
        // the value it took).
        let unit_cost = shipped
            .costs
            .iter()
            .find(|(l, _)| l == line)
            .filter(|_| !sent.qty.is_zero())
            .and_then(|(_, value)| UnitAmount::new((*value / sent.qty).normalize()).ok());
        let policy = item_policy(bus, meta.book, sent.item, settings).await?;
        usable &= policy.is_some();
        lines.push(ReturnLineInput {
            item: sent.item,
            qty: *qty,
            unit_price: UnitAmount::new(ordered.unit_price).map_err(|_| unknown_line(*line))?,
            vat_rate: ordered.vat_rate,
            unit_cost,
            policy: policy.unwrap_or_else(placeholder_policy),
        });
    }
    let create = ReturnCommand::Create {
        id: draft.id,
        direction: ReturnDirection::FromCustomer,
        partner: customer,
        warehouse,
        original: DocRef { kind: domain::sales::SHIPMENT_DOC.into(), id: shipment.0, line: None },
        lines,
        reason: draft.reason.clone(),
        masters_usable: usable,
    };
    bus.execute::<Return>(meta, &create).await
}

/// Goods going back to the supplier of `order`, against its lines, at the order's prices; they leave
/// stock at the stock's own cost.
pub async fn create_supplier_return<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    order: PurchaseOrderId,
    draft: &ReturnDraft,
    settings: &BookSettings,
) -> Result<Executed<ReturnEvent>, BusError<ReturnRejection>> {
    let po: PurchaseOrder = bus.load_in(meta.book, &PurchaseOrder::stream(order)).await?;
    let Some(placed) = po.placed.as_ref() else {
        return Err(unknown_line(draft.lines.first().map_or(0, |(l, _)| *l)));
    };
    let warehouse = draft.warehouse.unwrap_or(placed.warehouse);
    let mut usable = partner_usable(bus, meta.book, placed.supplier, false).await?
        && bus
            .inspect_in::<Warehouse, bool>(meta.book, &Warehouse::stream(warehouse), |w| w.is_usable())
            .await?;
    let mut lines = Vec::with_capacity(draft.lines.len());
    for (line, qty) in &draft.lines {
        let Some(ordered) = po.lines.iter().find(|l| l.line == *line) else {
            return Err(unknown_line(*line));
        };
        let policy = item_policy(bus, meta.book, ordered.item, settings).await?;
        usable &= policy.is_some();
        lines.push(ReturnLineInput {
            item: ordered.item,
            qty: *qty,
            unit_price: UnitAmount::new(ordered.unit_price).map_err(|_| unknown_line(*line))?,
            vat_rate: ordered.vat_rate,
            unit_cost: None,
            policy: policy.unwrap_or_else(placeholder_policy),
        });
    }
    let create = ReturnCommand::Create {
        id: draft.id,
        direction: ReturnDirection::ToSupplier,
        partner: placed.supplier,
        warehouse,
        original: DocRef { kind: "purchasing.PurchaseOrder".into(), id: order.0, line: None },
        lines,
        reason: draft.reason.clone(),
        masters_usable: usable,
    };
    bus.execute::<Return>(meta, &create).await
}
