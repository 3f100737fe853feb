//! ProductionOrder (生产订单): make a quantity of a product from materials, in one warehouse.
//!
//! release (with the materials it takes and what of each is available now) → the production process
//! manager issues each material from stock (生产领料) and records on the order the cost each issue took
//! → complete (完工入库) once every material is issued: the product is received into stock at the
//! order's cost, the materials' cost plus the conversion cost (labour and overhead, 直接人工和制造费用)
//! applied out of 生产成本. The vouchers come from the stock events: an issue for production is
//! Dr 生产成本 / Cr 原材料 (or 库存商品 for a bought-in part), the receipt Dr 库存商品 / Cr 生产成本.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, ProductionOrderId, WarehouseId};
use crate::inventory::StockPolicy;
use crate::values::{DOCUMENT_AMOUNT_MAX, Quantity};

/// The document kind production's stock movements carry.
pub const PRODUCTION_ORDER_DOC: &str = "production.ProductionOrder";

/// Most materials on one order.
pub const MATERIALS_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct MaterialInput {
    pub item: ItemId,
    /// For the whole order.
    pub qty: Quantity,
    /// What of the material is available in the warehouse now (read at the edge): an order is not
    /// released for materials that are not there.
    pub available_now: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProductionOrderCommand {
    Release {
        id: ProductionOrderId,
        product: ItemId,
        qty: Quantity,
        warehouse: WarehouseId,
        materials: Vec<MaterialInput>,
        /// How the product's stock is kept (read from the item master and the book at the edge).
        product_policy: StockPolicy,
        /// Whether the product, the warehouse and every material are active masters (read at the edge).
        masters_usable: bool,
    },
    /// From the production process manager: material `line` was issued at `value`.
    RecordIssue { id: ProductionOrderId, line: u32, qty: Decimal, value: Decimal },
    /// 完工入库: the product is done; `conversion_cost` of labour and overhead joins the materials' cost.
    Complete { id: ProductionOrderId, conversion_cost: Decimal },
}

impl ProductionOrderCommand {
    pub fn id(&self) -> ProductionOrderId {
        match self {
            ProductionOrderCommand::Release { id, .. }
            | ProductionOrderCommand::RecordIssue { id, .. }
            | ProductionOrderCommand::Complete { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductionOrderReleased {
    pub id: ProductionOrderId,
    pub product: ItemId,
    pub qty: Decimal,
    pub warehouse: WarehouseId,
    pub materials: Vec<MaterialLine>,
    pub product_policy: StockPolicy,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductionMaterialIssued {
    pub line: u32,
    pub qty: Decimal,
    /// The cost the stock issue took.
    pub value: Decimal,
}

/// Everything the product's stock receipt needs travels here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductionOrderCompleted {
    pub id: ProductionOrderId,
    pub product: ItemId,
    pub warehouse: WarehouseId,
    pub qty: Decimal,
    pub product_policy: StockPolicy,
    pub material_cost: Decimal,
    pub conversion_cost: Decimal,
    /// `material_cost + conversion_cost`: what the product goes into stock at.
    pub cost: Decimal,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ProductionOrderEvent {
        Released(ProductionOrderReleased) = "production.ProductionOrderReleased" v 1,
        MaterialIssued(ProductionMaterialIssued) = "production.ProductionMaterialIssued" v 1,
        Completed(ProductionOrderCompleted) = "production.ProductionOrderCompleted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductionRejection {
    #[error("the production order already exists")]
    AlreadyExists,
    #[error("the production order does not exist")]
    NotFound,
    #[error("a production order takes 1 to {MATERIALS_MAX} distinct materials, none of them the product")]
    InvalidMaterials,
    #[error("the product, the warehouse or a material is deactivated")]
    MasterUnusable,
    #[error("material {item}: {needed} needed, {available} available")]
    MaterialShort { item: ItemId, needed: Decimal, available: Decimal },
    #[error("the production order is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("{0} materials are not issued yet")]
    NotAllIssued(usize),
    #[error("material line {0} does not exist")]
    UnknownLine(u32),
    #[error("a conversion cost is an amount in cents, not negative, below 10^15")]
    InvalidConversionCost,
}

impl Rejection for ProductionRejection {
    fn code(&self) -> &'static str {
        match self {
            ProductionRejection::AlreadyExists => "production.already_exists",
            ProductionRejection::NotFound => "production.not_found",
            ProductionRejection::InvalidMaterials => "production.invalid_materials",
            ProductionRejection::MasterUnusable => "production.master_unusable",
            ProductionRejection::MaterialShort { .. } => "production.material_short",
            ProductionRejection::WrongStatus(_) => "production.wrong_status",
            ProductionRejection::NotAllIssued(_) => "production.not_all_issued",
            ProductionRejection::UnknownLine(_) => "production.unknown_line",
            ProductionRejection::InvalidConversionCost => "production.invalid_conversion_cost",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProductionStatus {
    #[default]
    New,
    Released,
    Completed,
}

impl ProductionStatus {
    fn name(self) -> &'static str {
        match self {
            ProductionStatus::New => "new",
            ProductionStatus::Released => "released",
            ProductionStatus::Completed => "completed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductionOrder {
    pub status: ProductionStatus,
    pub released: Option<ProductionOrderReleased>,
    /// Per material line, the cost its issue took (none until issued).
    pub issued: Vec<Option<Decimal>>,
}

impl ProductionOrder {
    /// The stream of the production order `id`: the one place its name is made.
    pub fn stream(id: ProductionOrderId) -> String {
        format!("production-order-{id}")
    }
}

impl Aggregate for ProductionOrder {
    type Command = ProductionOrderCommand;
    type Event = ProductionOrderEvent;
    type Rejection = ProductionRejection;

    fn stream_id(command: &ProductionOrderCommand) -> String {
        ProductionOrder::stream(command.id())
    }

    fn evolve(&mut self, event: &ProductionOrderEvent) {
        match event {
            ProductionOrderEvent::Released(e) => {
                self.status = ProductionStatus::Released;
                self.issued = vec![None; e.materials.len()];
                self.released = Some(e.clone());
            }
            ProductionOrderEvent::MaterialIssued(e) => self.issued[e.line as usize] = Some(e.value),
            ProductionOrderEvent::Completed(_) => self.status = ProductionStatus::Completed,
        }
    }

    fn decide(
        &self,
        command: &ProductionOrderCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<ProductionOrderEvent>, ProductionRejection> {
        use ProductionRejection as R;
        use ProductionStatus as S;
        let wrong = || if self.status == S::New { R::NotFound } else { R::WrongStatus(self.status.name()) };
        match command {
            ProductionOrderCommand::Release {
                id,
                product,
                qty,
                warehouse,
                materials,
                product_policy,
                masters_usable,
            } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                let mut items: Vec<ItemId> = materials.iter().map(|m| m.item).collect();
                items.sort();
                items.dedup();
                if materials.is_empty()
                    || materials.len() > MATERIALS_MAX
                    || items.len() != materials.len()
                    || items.contains(product)
                {
                    return Err(R::InvalidMaterials);
                }
                if let Some(short) = materials.iter().find(|m| m.available_now < m.qty.get()) {
                    return Err(R::MaterialShort {
                        item: short.item,
                        needed: short.qty.get(),
                        available: short.available_now,
                    });
                }
                Ok(vec![ProductionOrderEvent::Released(ProductionOrderReleased {
                    id: *id,
                    product: *product,
                    qty: qty.get(),
                    warehouse: *warehouse,
                    materials: materials
                        .iter()
                        .enumerate()
                        .map(|(i, m)| MaterialLine { line: i as u32, item: m.item, qty: m.qty.get() })
                        .collect(),
                    product_policy: product_policy.clone(),
                    by: meta.actor.clone(),
                })])
            }
            ProductionOrderCommand::RecordIssue { line, qty, value, .. } => {
                if self.status != S::Released {
                    return Err(wrong());
                }
                match self.issued.get(*line as usize) {
                    None => Err(R::UnknownLine(*line)),
                    // Recorded before: a re-read issue.
                    Some(Some(_)) => Ok(Vec::new()),
                    Some(None) => Ok(vec![ProductionOrderEvent::MaterialIssued(ProductionMaterialIssued {
                        line: *line,
                        qty: *qty,
                        value: *value,
                    })]),
                }
            }
            ProductionOrderCommand::Complete { id, conversion_cost } => {
                if self.status != S::Released {
                    return Err(wrong());
                }
                if *conversion_cost < Decimal::ZERO
                    || conversion_cost.scale() > 2
                    || *conversion_cost >= DOCUMENT_AMOUNT_MAX
                {
                    return Err(R::InvalidConversionCost);
                }
                let missing = self.issued.iter().filter(|v| v.is_none()).count();
                if missing > 0 {
                    return Err(R::NotAllIssued(missing));
                }
                let released = self.released.as_ref().expect("released");
                let material_cost: Decimal = self.issued.iter().flatten().sum();
                Ok(vec![ProductionOrderEvent::Completed(ProductionOrderCompleted {
                    id: *id,
                    product: released.product,
                    warehouse: released.warehouse,
                    qty: released.qty,
                    product_policy: released.product_policy.clone(),
                    material_cost,
                    conversion_cost: *conversion_cost,
                    cost: material_cost + conversion_cost,
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::inventory::CostingMethod;
    use crate::testing::{self, given};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn id() -> ProductionOrderId {
        ProductionOrderId(Uuid::from_u128(1))
    }

    fn material(item: u128, qty: u32, available: &str) -> MaterialInput {
        MaterialInput {
            item: ItemId(Uuid::from_u128(item)),
            qty: Quantity::units(qty),
            available_now: d(available),
        }
    }

    fn release(materials: Vec<MaterialInput>) -> ProductionOrderCommand {
        ProductionOrderCommand::Release {
            id: id(),
            product: ItemId(Uuid::from_u128(100)),
            qty: Quantity::units(10),
            warehouse: WarehouseId(Uuid::from_u128(20)),
            materials,
            product_policy: StockPolicy {
                costing: CostingMethod::MovingAverage,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            masters_usable: true,
        }
    }

    fn issue(line: u32, value: &str) -> ProductionOrderCommand {
        ProductionOrderCommand::RecordIssue { id: id(), line, qty: d("1"), value: d(value) }
    }

    #[test]
    fn an_order_is_released_only_for_distinct_materials_that_are_there() {
        let meta = testing::meta("li");
        given::<ProductionOrder>(&[]).when(&meta, &release(vec![])).rejected("production.invalid_materials");
        given::<ProductionOrder>(&[])
            .when(&meta, &release(vec![material(1, 5, "9"), material(1, 5, "9")]))
            .rejected("production.invalid_materials");
        given::<ProductionOrder>(&[])
            .when(&meta, &release(vec![material(100, 5, "9")]))
            .rejected("production.invalid_materials");
        given::<ProductionOrder>(&[])
            .when(&meta, &release(vec![material(1, 5, "9"), material(2, 20, "19.5")]))
            .rejected("production.material_short");
        let released = given::<ProductionOrder>(&[(meta.clone(), release(vec![material(1, 5, "9")]))]);
        released.when(&meta, &release(vec![material(1, 5, "9")])).rejected("production.already_exists");
    }

    #[test]
    fn completion_waits_for_every_material_and_costs_the_product_at_materials_plus_conversion() {
        let meta = testing::meta("li");
        let released = given::<ProductionOrder>(&[(
            meta.clone(),
            release(vec![material(1, 5, "9"), material(2, 2, "2")]),
        )]);
        let complete = |cost: &str| ProductionOrderCommand::Complete { id: id(), conversion_cost: d(cost) };
        released.when(&meta, &complete("50.00")).rejected("production.not_all_issued");
        released.when(&meta, &issue(7, "1")).rejected("production.unknown_line");
        let issued = given::<ProductionOrder>(&[
            (meta.clone(), release(vec![material(1, 5, "9"), material(2, 2, "2")])),
            (meta.clone(), issue(0, "100.00")),
            (meta.clone(), issue(1, "30.50")),
        ]);
        assert!(issued.when(&meta, &issue(1, "30.50")).events().is_empty(), "an issue is recorded once");
        issued.when(&meta, &complete("-1")).rejected("production.invalid_conversion_cost");
        let done = issued.when(&meta, &complete("50.00"));
        let [ProductionOrderEvent::Completed(c)] = done.events() else { panic!("{:?}", done.events()) };
        assert_eq!((c.material_cost, c.cost, c.qty), (d("130.50"), d("180.50"), d("10")));
        done.after.decide(&complete("0"), &meta).expect_err("completed once");
    }
}
