//! Stock documents with the facts their rules need, read from the aggregates that own them: transfers
//! (the masters are usable, each item's stock policy should the receiving warehouse not hold it yet),
//! stocktakes (each line's book quantity and policy as the count opens, from its stock item, so no
//! client can say what the books hold), a stock item's policy (the book's setting for negative
//! stock kept) and a replenishment suggestion taken up by a requisition (the requisition's item read
//! from it).

use domain::inventory::{
    CostingMethod, StockItem, StockKey, StockPolicy, StockTransfer, Stocktake, StocktakeCommand,
    StocktakeEvent, StocktakeLine, StocktakeRejection, TransferCommand, TransferEvent, TransferLineInput,
    TransferRejection,
};
use domain::master::{Item, Usable, Warehouse};
use domain::values::{Quantity, UnitAmount};
use domain::{Aggregate, BookId, CommandId, CommandMeta, ItemId, StocktakeId, TransferId, WarehouseId};
use infra::{EventStore, StoreError};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};
use crate::purchasing::BookSettings;

/// How an item's stock is kept, from the item master and the book: `None` when the item is not an
/// active master.
pub async fn item_policy<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    item: ItemId,
    settings: &BookSettings,
) -> Result<Option<StockPolicy>, StoreError> {
    bus.inspect_in::<Item, _>(book, &Item::stream(item), |i| {
        let details = i.details.as_ref().filter(|_| i.is_usable())?;
        Some(StockPolicy {
            costing: details.costing,
            safety_stock: details.safety_stock,
            allow_negative: settings.allow_negative_stock,
        })
    })
    .await
}

/// The policy used where an item is not a usable master: the command is refused for that anyway.
pub(crate) fn placeholder_policy() -> StockPolicy {
    StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: Decimal::ZERO, allow_negative: false }
}

/// A transfer as a warehouse clerk enters it.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferDraft {
    pub id: TransferId,
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub lines: Vec<(ItemId, Quantity)>,
}

/// The transfer's create command, completed with whether both warehouses and every item are active
/// masters and with each item's stock policy.
pub async fn transfer_command<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    draft: &TransferDraft,
    settings: &BookSettings,
) -> Result<TransferCommand, StoreError> {
    let mut usable = true;
    for warehouse in [draft.from, draft.to] {
        usable &=
            bus.inspect_in::<Warehouse, bool>(book, &Warehouse::stream(warehouse), |w| w.is_usable()).await?;
    }
    let mut lines = Vec::with_capacity(draft.lines.len());
    for (item, qty) in &draft.lines {
        let policy = item_policy(bus, book, *item, settings).await?;
        usable &= policy.is_some();
        lines.push(TransferLineInput {
            item: *item,
            qty: *qty,
            policy: policy.unwrap_or_else(placeholder_policy),
        });
    }
    Ok(TransferCommand::Create {
        id: draft.id,
        from: draft.from,
        to: draft.to,
        lines,
        masters_usable: usable,
    })
}

/// Creates a transfer with the facts of [`transfer_command`].
pub async fn create_transfer<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    draft: &TransferDraft,
    settings: &BookSettings,
) -> Result<Executed<TransferEvent>, BusError<TransferRejection>> {
    let create = transfer_command(bus, meta.book, draft, settings).await?;
    bus.execute::<StockTransfer>(meta, &create).await
}

/// What the books hold of an opened stock item, as a stocktake line: its quantity on hand and its
/// policy (`None` when the warehouse never held the item).
pub async fn book_line<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    key: StockKey,
) -> Result<Option<StocktakeLine>, StoreError> {
    bus.inspect_in::<StockItem, _>(book, &key.stream_id(), |s| {
        s.policy.clone().map(|policy| StocktakeLine {
            item: key.item,
            book_qty: s.on_hand,
            policy,
            unit_cost: None,
        })
    })
    .await
}

/// Opens a stocktake of `items` in `warehouse`: each line's book quantity and policy read from its
/// stock item; an item the warehouse never held is counted against a book quantity of zero, with the
/// item master's policy and the unit cost given for it (a gain needs one). An item that is neither
/// held nor an active master makes the lines invalid.
pub async fn stocktake_command<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    id: StocktakeId,
    warehouse: WarehouseId,
    items: &[(ItemId, Option<UnitAmount>)],
    settings: &BookSettings,
) -> Result<StocktakeCommand, BusError<StocktakeRejection>> {
    let mut lines = Vec::with_capacity(items.len());
    for (item, unit_cost) in items {
        let unit_cost = unit_cost.map(UnitAmount::get);
        let line = match book_line(bus, book, StockKey { item: *item, warehouse }).await? {
            Some(line) => StocktakeLine { unit_cost, ..line },
            None => match item_policy(bus, book, *item, settings).await? {
                Some(policy) => StocktakeLine { item: *item, book_qty: Decimal::ZERO, policy, unit_cost },
                None => return Err(BusError::Rejected(StocktakeRejection::InvalidLines)),
            },
        };
        lines.push(line);
    }
    Ok(StocktakeCommand::Open { id, warehouse, lines })
}

/// Records the counts of a stocktake's lines, all or none: an unknown line, a negative count or a
/// stocktake no longer counting refuses them all, and nothing is appended; each count under an id
/// derived from `meta`'s.
pub async fn record_counts<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    id: StocktakeId,
    counts: &[(u32, Decimal)],
) -> Result<Vec<Executed<StocktakeEvent>>, BusError<StocktakeRejection>> {
    let commands: Vec<StocktakeCommand> = counts
        .iter()
        .map(|(line, counted)| StocktakeCommand::Count { id, line: *line, counted: *counted })
        .collect();
    let metas: Vec<CommandMeta> = (0..commands.len())
        .map(|n| CommandMeta {
            command_id: CommandId(Uuid::new_v5(&meta.command_id.0, format!("count/{n}").as_bytes())),
            ..meta.clone()
        })
        .collect();
    let steps: Vec<(&CommandMeta, &StocktakeCommand)> = metas.iter().zip(&commands).collect();
    bus.execute_together::<Stocktake>(&steps).await
}

/// A stock item's new safety stock, its costing method and the book's setting for negative stock
/// kept (a stock item that was never opened has no policy to change: the stock says so).
pub async fn stock_policy_command<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    key: StockKey,
    safety_stock: Decimal,
    settings: &BookSettings,
) -> Result<domain::inventory::StockCommand, StoreError> {
    let current = bus.inspect_in::<StockItem, _>(book, &key.stream_id(), |s| s.policy.clone()).await?;
    let costing = match current {
        Some(policy) => policy.costing,
        None => item_policy(bus, book, key.item, settings)
            .await?
            .map_or(CostingMethod::MovingAverage, |p| p.costing),
    };
    Ok(domain::inventory::StockCommand::ChangePolicy {
        key,
        policy: StockPolicy { costing, safety_stock, allow_negative: settings.allow_negative_stock },
    })
}

/// Taking up the replenishment suggestion of `key` with `requisition`, with the requisition's item as
/// its stream says (`None` when no such requisition was drafted), which the suggestion's rule checks.
pub async fn replenishment_take_up<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    key: StockKey,
    requisition: domain::RequisitionId,
) -> Result<domain::inventory::ReplenishmentCommand, StoreError> {
    use domain::purchasing::{PurchaseRequisition, RequisitionCommand};
    let stream = PurchaseRequisition::stream_id(&RequisitionCommand::Approve { id: requisition });
    let requisition_item = bus
        .inspect_in::<PurchaseRequisition, _>(book, &stream, |r| r.drafted.as_ref().map(|d| d.item))
        .await?;
    Ok(domain::inventory::ReplenishmentCommand::TakeUp { key, requisition, requisition_item })
}
