//! Production (生产): releasing an order against the materials in its warehouse, and completing it.

use domain::ProductionOrderId;
use domain::production::{ProductionOrder, ProductionOrderCommand};

use super::*;
use crate::production::ProductionOrderDraft;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaterialIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    /// For the whole order.
    pub qty: Decimal,
}

/// A production order (生产订单): make `qty` of a product in a warehouse from materials there; they
/// are issued from stock automatically (生产领料).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseProductionOrder {
    #[schemars(with = "Uuid")]
    pub id: ProductionOrderId,
    #[schemars(with = "Uuid")]
    pub product: ItemId,
    pub qty: Decimal,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub materials: Vec<MaterialIn>,
}

impl HttpCommand for ReleaseProductionOrder {
    const NAME: &'static str = "release-production-order";
    const SUMMARY: &'static str = "Releases a production order; its materials are issued automatically.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut materials = Vec::with_capacity(self.materials.len());
        for (i, m) in self.materials.into_iter().enumerate() {
            materials.push((m.item, qty(&format!("materials[{i}].qty"), m.qty)?));
        }
        let draft = ProductionOrderDraft {
            id: self.id,
            product: self.product,
            qty: qty("qty", self.qty)?,
            warehouse: self.warehouse,
            materials,
        };
        let settings = purchasing_settings(&ctx).await?;
        let executed = crate::production::release_production_order(&ctx.bus, &ctx.meta, &draft, &settings)
            .await
            .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, ProductionOrder::stream(self.id), executed))
    }
}

/// The product is done (完工入库): received into stock at its materials' cost plus the conversion cost
/// (labour and overhead) applied.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteProductionOrder {
    #[schemars(with = "Uuid")]
    pub id: ProductionOrderId,
    /// Labour and overhead (直接人工和制造费用) applied to the product, in yuan.
    #[serde(default)]
    pub conversion_cost: Decimal,
}

impl HttpCommand for CompleteProductionOrder {
    const NAME: &'static str = "complete-production-order";
    const SUMMARY: &'static str = "Completes a production order; the product goes into stock.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let complete = ProductionOrderCommand::Complete {
            id: self.id,
            conversion_cost: money("conversionCost", self.conversion_cost)?,
        };
        run::<ProductionOrder, S>(Self::NAME, &ctx, complete).await
    }
}
