//! Production orders with their checks: what a planner enters is completed with the facts the order's
//! rules need (the masters are usable, what of each material is in the warehouse now, how the product's
//! stock is kept), read from the aggregates that own them.

use domain::inventory::{StockItem, StockKey, StockPolicy};
use domain::master::{Item, Usable, Warehouse};
use domain::production::{
    MaterialInput, ProductionOrder, ProductionOrderCommand, ProductionOrderEvent, ProductionRejection,
};
use domain::values::Quantity;
use domain::{CommandMeta, ItemId, ProductionOrderId, WarehouseId};
use infra::EventStore;
use rust_decimal::Decimal;

use crate::bus::{BusError, CommandBus, Executed};
use crate::purchasing::BookSettings;

/// A production order as a planner enters it: make `qty` of `product` in `warehouse` from these
/// materials (quantities for the whole order).
#[derive(Clone, Debug, PartialEq)]
pub struct ProductionOrderDraft {
    pub id: ProductionOrderId,
    pub product: ItemId,
    pub qty: Quantity,
    pub warehouse: WarehouseId,
    pub materials: Vec<(ItemId, Quantity)>,
}

/// Releases a production order: the product, the warehouse and every material must be active masters
/// and every material available in the warehouse now; the production process manager then issues them.
pub async fn release_production_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    draft: &ProductionOrderDraft,
    settings: &BookSettings,
) -> Result<Executed<ProductionOrderEvent>, BusError<ProductionRejection>> {
    let product: Item = bus.load_in(meta.book, &Item::stream(draft.product)).await?;
    let warehouse: Warehouse = bus.load_in(meta.book, &Warehouse::stream(draft.warehouse)).await?;
    let mut usable = product.is_usable() && warehouse.is_usable();
    let mut materials = Vec::with_capacity(draft.materials.len());
    for (item, qty) in &draft.materials {
        usable &= bus.load_in::<Item>(meta.book, &Item::stream(*item)).await?.is_usable();
        let available_now = bus
            .inspect_in::<StockItem, Decimal>(
                meta.book,
                &StockKey { item: *item, warehouse: draft.warehouse }.stream_id(),
                |s| s.available(),
            )
            .await?;
        materials.push(MaterialInput { item: *item, qty: *qty, available_now });
    }
    let (costing, safety_stock) = product
        .details
        .as_ref()
        .map_or((domain::inventory::CostingMethod::MovingAverage, Decimal::ZERO), |d| {
            (d.costing, d.safety_stock)
        });
    let release = ProductionOrderCommand::Release {
        id: draft.id,
        product: draft.product,
        qty: draft.qty,
        warehouse: draft.warehouse,
        materials,
        product_policy: StockPolicy { costing, safety_stock, allow_negative: settings.allow_negative_stock },
        masters_usable: usable,
    };
    bus.execute::<ProductionOrder>(meta, &release).await
}
