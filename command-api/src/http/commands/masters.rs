//! Masters: items, partners and warehouses.

use domain::inventory::CostingMethod;
use domain::master::{
    Item, ItemCommand, ItemDetails, ItemKind, Partner, PartnerCommand, PartnerDetails, PartnerRoles,
    Warehouse, WarehouseCommand, WarehouseDetails,
};

use super::*;

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Costing {
    #[default]
    MovingAverage,
    Fifo,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Goods,
    RawMaterial,
}

/// An item (物料/商品) of the item master.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateItem {
    #[schemars(with = "Uuid")]
    pub id: ItemId,
    pub sku: String,
    pub name: String,
    /// Unit of measure: 个, 箱, kg ...
    pub unit: String,
    pub barcode: Option<String>,
    /// VAT rate as a fraction: "0.13", "0.09", "0.06", "0.03" or "0".
    pub vat_rate: Decimal,
    #[serde(default)]
    pub costing: Costing,
    #[serde(default)]
    pub safety_stock: Decimal,
    #[serde(default)]
    pub reorder_qty: Decimal,
    #[schemars(with = "Option<Uuid>")]
    pub default_supplier: Option<PartnerId>,
    #[serde(default, deserialize_with = "whole")]
    pub lead_time_days: u32,
    #[serde(default)]
    pub kind: Kind,
}

impl HttpCommand for CreateItem {
    const NAME: &'static str = "create-item";
    const SUMMARY: &'static str = "Creates an item in the item master.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = ItemDetails {
            sku: self.sku,
            name: self.name,
            unit: self.unit,
            barcode: self.barcode,
            vat_rate: self.vat_rate,
            costing: match self.costing {
                Costing::MovingAverage => CostingMethod::MovingAverage,
                Costing::Fifo => CostingMethod::Fifo,
            },
            safety_stock: self.safety_stock,
            reorder_qty: self.reorder_qty,
            default_supplier: self.default_supplier,
            lead_time_days: self.lead_time_days,
            kind: match self.kind {
                Kind::Goods => ItemKind::Goods,
                Kind::RawMaterial => ItemKind::RawMaterial,
            },
        };
        run::<Item, S>(Self::NAME, &ctx, ItemCommand::Create { id: self.id, details }).await
    }
}

/// A business partner: a customer, a supplier, or both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePartner {
    #[schemars(with = "Uuid")]
    pub id: PartnerId,
    pub name: String,
    #[serde(default)]
    pub customer: bool,
    #[serde(default)]
    pub supplier: bool,
    /// Unified social credit code (统一社会信用代码) or other tax id.
    pub tax_id: Option<String>,
    /// Most a customer may owe; zero means cash only.
    #[serde(default)]
    pub credit_limit: Decimal,
    #[serde(default, deserialize_with = "whole")]
    pub payment_terms_days: u32,
    pub region: String,
}

impl HttpCommand for CreatePartner {
    const NAME: &'static str = "create-partner";
    const SUMMARY: &'static str = "Creates a customer or supplier in the partner master.";
    const ROLES: &'static [Role] = &[Role::Sales, Role::Purchasing, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = PartnerDetails {
            name: self.name,
            roles: PartnerRoles { customer: self.customer, supplier: self.supplier },
            tax_id: self.tax_id,
            credit_limit: money("creditLimit", self.credit_limit)?,
            payment_terms_days: self.payment_terms_days,
            region: self.region,
        };
        run::<Partner, S>(Self::NAME, &ctx, PartnerCommand::Create { id: self.id, details }).await
    }
}

/// A warehouse with its bins (货位).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWarehouse {
    #[schemars(with = "Uuid")]
    pub id: WarehouseId,
    pub code: String,
    pub name: String,
    pub city: String,
    /// Degrees, WGS 84 (orders are routed to the nearest warehouse with stock).
    pub latitude: Decimal,
    pub longitude: Decimal,
    #[serde(default)]
    pub bins: Vec<String>,
}

impl HttpCommand for CreateWarehouse {
    const NAME: &'static str = "create-warehouse";
    const SUMMARY: &'static str = "Creates a warehouse.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = WarehouseDetails {
            code: self.code,
            name: self.name,
            city: self.city,
            latitude: self.latitude,
            longitude: self.longitude,
            bins: self.bins,
        };
        run::<Warehouse, S>(Self::NAME, &ctx, WarehouseCommand::Create { id: self.id, details }).await
    }
}
